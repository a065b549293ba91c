//! The admin operations behind `fieldbook team|member|token|demo`, on a [`RelayStore`]. They
//! write documents the way the relay does (a chunk per change, a record, compaction) and leave a
//! [`Notice`] so that a relay serving from the same data directory picks the change up.
//!
//! Admin changes are written with a fresh random Automerge actor per process: a relay and an
//! admin command writing the team document at the same time then make two concurrent changes
//! that merge, never two changes with the same actor and sequence number.

use super::store::{
    COMPACT_AFTER_CHUNKS, DocRecord, Notice, RelayStore, StoreError, StoreWrite, StoredKind,
    TokenRecord,
};
use super::token::{self, Claims};
use automerge::{ActorId, Automerge};
use chrono::{DateTime, Utc};
use fieldbook_core::doc::{self, DocError, DocumentId, index, lead as lead_doc, team as team_doc};
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::lead::Lead;
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::{Member, Role, Team};

/// Why an admin command failed; the message names the argument.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document does not read.
    #[error("document {id}: {error}")]
    Doc {
        /// The document.
        id: DocumentId,
        /// Why (in the message, not a `source`: the command line prints the chain).
        error: DocError,
    },
    /// The playbook cannot be used (e.g. `--currency` not an ISO 4217 code).
    #[error(transparent)]
    Playbook(#[from] fieldbook_core::playbook::PlaybookError),
    /// No such team in this data directory.
    #[error("no team \"{0}\" in this data directory (create it with `fieldbook team create`)")]
    NoTeam(TeamId),
    /// The team exists already.
    #[error("team \"{0}\" already exists in this data directory")]
    TeamExists(TeamId),
    /// No such member.
    #[error("--member: no member \"{member}\" in team \"{team}\" (see `fieldbook member list`)")]
    NoMember {
        /// Team.
        team: TeamId,
        /// Member.
        member: MemberId,
    },
    /// The member exists already.
    #[error("member \"{member}\" is already in team \"{team}\"")]
    MemberExists {
        /// Team.
        team: TeamId,
        /// Member.
        member: MemberId,
    },
    /// An id argument that cannot be used.
    #[error("{arg}: {reason}")]
    BadArgument {
        /// The argument (e.g. `--manager`).
        arg: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No such token.
    #[error("no token with id {0:?} (see `fieldbook token list`)")]
    NoToken(String),
    /// The id a new team's or member's document derives to is taken by another document.
    #[error(
        "document {id} ({what}) is already stored as a {found} document; nothing was changed \
         (restore the data directory from a backup or choose another id)"
    )]
    IdTaken {
        /// The derived id.
        id: DocumentId,
        /// Whose document it is for, e.g. `member "r-ana"'s index`.
        what: String,
        /// The kind stored there.
        found: &'static str,
    },
    /// The member still owns leads: removing them would leave the leads to nobody.
    #[error(
        "member \"{member}\" owns {count} lead(s) in team \"{team}\": reassign them to another \
         rep or manager first (a manager or an admin does it on each lead in the app); nothing \
         was changed"
    )]
    MemberOwnsLeads {
        /// Team.
        team: TeamId,
        /// Member.
        member: MemberId,
        /// Leads they own.
        count: usize,
    },
}

/// A fresh actor for this process's writes.
pub fn random_actor() -> ActorId {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    ActorId::from(&bytes[..])
}

/// Checks an id given on the command line: non-empty, no `/` (index ids join team and member
/// with it), no whitespace.
pub fn check_id(arg: &'static str, id: &str) -> Result<(), AdminError> {
    let reason = if id.is_empty() {
        "must not be empty"
    } else if id.contains('/') {
        "must not contain '/'"
    } else if id.chars().any(char::is_whitespace) {
        "must not contain spaces"
    } else if id.len() > 64 {
        "must be at most 64 characters"
    } else {
        return Ok(());
    };
    Err(AdminError::BadArgument {
        arg,
        reason: format!("{reason} (got {id:?})"),
    })
}

/// A loaded team document with what is needed to write it back.
#[derive(Debug)]
pub struct TeamDoc {
    /// The document id.
    pub id: DocumentId,
    /// The document.
    pub doc: Automerge,
    /// The team as read.
    pub team: Team,
    record: DocRecord,
}

/// Loads team `team`.
pub fn load_team(
    store: &mut dyn RelayStore,
    team: &TeamId,
    actor: ActorId,
) -> Result<TeamDoc, AdminError> {
    let id = team_doc::team_document_id(team);
    let (Some(bytes), Some(record)) = (store.load(&id)?, store.record(&id)?) else {
        return Err(AdminError::NoTeam(team.clone()));
    };
    let doc = doc::load(&bytes, actor).map_err(|error| AdminError::Doc { id, error })?;
    let read = team_doc::read_team(&doc).map_err(|error| AdminError::Doc { id, error })?;
    Ok(TeamDoc {
        id,
        doc,
        team: read,
        record,
    })
}

/// The writes that store a change made to a loaded document since `before`: one chunk (or a
/// compacted save), the record with the new heads, and a notice for a serving relay.
fn change_writes(
    id: DocumentId,
    doc: &Automerge,
    before: &[automerge::ChangeHash],
    record: &mut DocRecord,
) -> Vec<StoreWrite> {
    let mut writes = Vec::new();
    record.chunks += 1;
    if record.chunks >= COMPACT_AFTER_CHUNKS {
        record.chunks = 1;
        writes.push(StoreWrite::ReplaceDoc {
            doc: id,
            bytes: doc.save(),
        });
    } else {
        writes.push(StoreWrite::AppendChunk {
            doc: id,
            bytes: doc.save_after(before),
        });
    }
    record.heads = sorted_heads(doc);
    writes.push(StoreWrite::PutRecord(record.clone()));
    writes.push(StoreWrite::Notice(Notice::Doc(id)));
    writes
}

pub use fieldbook_core::relay::sorted_heads;

/// Creates team `id` with no members and the default playbook (or `playbook`).
pub fn create_team(
    store: &mut dyn RelayStore,
    id: &TeamId,
    name: &str,
    playbook: Playbook,
    now: DateTime<Utc>,
) -> Result<DocumentId, AdminError> {
    check_id("team id", id.as_str())?;
    playbook.validate()?;
    let doc_id = team_doc::team_document_id(id);
    match store.record(&doc_id)? {
        Some(record) if record.kind == StoredKind::Team => {
            return Err(AdminError::TeamExists(id.clone()));
        }
        Some(record) => {
            return Err(AdminError::IdTaken {
                id: doc_id,
                what: format!("the team document of \"{id}\""),
                found: record.kind.as_str(),
            });
        }
        None => {}
    }
    let team = Team {
        id: id.clone(),
        name: name.to_owned(),
        members: Vec::new(),
        products: Vec::new(),
        playbook,
    };
    let doc = team_doc::create_team(&team, random_actor(), now)
        .map_err(|error| AdminError::Doc { id: doc_id, error })?;
    store.apply(&[
        StoreWrite::ReplaceDoc {
            doc: doc_id,
            bytes: doc.save(),
        },
        StoreWrite::PutRecord(DocRecord {
            id: doc_id,
            team: id.clone(),
            kind: StoredKind::Team,
            member: None,
            heads: sorted_heads(&doc),
            chunks: 1,
        }),
        StoreWrite::Notice(Notice::Doc(doc_id)),
    ])?;
    Ok(doc_id)
}

/// Changes team `team`'s document in one change made by `edit` and stores it.
pub fn edit_team<F>(
    store: &mut dyn RelayStore,
    team: &TeamId,
    now: DateTime<Utc>,
    edit: F,
) -> Result<(), AdminError>
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), DocError>,
{
    let loaded = load_team(store, team, random_actor())?;
    commit_team_change(store, loaded, now, edit)
}

/// Makes `edit` one change of a loaded team document and stores it.
fn commit_team_change<F>(
    store: &mut dyn RelayStore,
    mut loaded: TeamDoc,
    now: DateTime<Utc>,
    edit: F,
) -> Result<(), AdminError>
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), DocError>,
{
    let before = loaded.doc.get_heads();
    let mut tx = loaded.doc.transaction();
    edit(&mut tx).map_err(|error| AdminError::Doc {
        id: loaded.id,
        error,
    })?;
    tx.commit_with(doc::commit_options(now));
    let writes = change_writes(loaded.id, &loaded.doc, &before, &mut loaded.record);
    store.apply(&writes)?;
    Ok(())
}

/// Adds `member` to team `team`. A rep's `manager` must be a manager or admin of the team.
pub fn add_member(
    store: &mut dyn RelayStore,
    team: &TeamId,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    check_id("member id", member.id.as_str())?;
    let loaded = load_team(store, team, random_actor())?;
    if loaded.team.member(&member.id).is_some() {
        return Err(AdminError::MemberExists {
            team: team.clone(),
            member: member.id.clone(),
        });
    }
    // The relay creates the member's index at its derived id: anything else stored there
    // (a document from before the reserved space) would break it.
    let index_id = index::index_document_id(team, &member.id);
    if let Some(record) = store.record(&index_id)?
        && (record.kind != StoredKind::Index || record.member.as_ref() != Some(&member.id))
    {
        return Err(AdminError::IdTaken {
            id: index_id,
            what: format!("member \"{}\"'s index", member.id),
            found: record.kind.as_str(),
        });
    }
    if let Some(manager) = &member.manager {
        match loaded.team.member(manager) {
            Some(m) if m.role != Role::Rep => {}
            Some(_) => {
                return Err(AdminError::BadArgument {
                    arg: "--manager",
                    reason: format!("\"{manager}\" is a rep, not a manager or admin"),
                });
            }
            None => {
                return Err(AdminError::BadArgument {
                    arg: "--manager",
                    reason: format!("no member \"{manager}\" in team \"{team}\""),
                });
            }
        }
    }
    commit_team_change(store, loaded, now, |tx| {
        team_doc::put_member(tx, member).map(drop)
    })
}

/// Removes member `member` from team `team` and revokes their tokens; returns how many tokens
/// were revoked. Refused while they own leads (a lead's owner is always a member who may own
/// leads): reassign those first.
pub fn remove_member(
    store: &mut dyn RelayStore,
    team: &TeamId,
    member: &MemberId,
    now: DateTime<Utc>,
) -> Result<usize, AdminError> {
    let loaded = load_team(store, team, random_actor())?;
    if loaded.team.member(member).is_none() {
        return Err(AdminError::NoMember {
            team: team.clone(),
            member: member.clone(),
        });
    }
    let count = store
        .records()?
        .iter()
        .filter(|r| {
            r.kind == StoredKind::Lead && r.team == *team && r.member.as_ref() == Some(member)
        })
        .count();
    if count > 0 {
        return Err(AdminError::MemberOwnsLeads {
            team: team.clone(),
            member: member.clone(),
            count,
        });
    }
    commit_team_change(store, loaded, now, |tx| {
        team_doc::remove_member(tx, member).map(drop)
    })?;
    let mut revoked = 0;
    for token in store.tokens(Some(team))? {
        if token.member == *member
            && token.revoked_at.is_none()
            && store.revoke_token(&token.id, now.timestamp())?
        {
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// Issues a token for `member` of `team`, valid for `ttl`; returns the token and its record.
pub fn issue_token(
    store: &mut dyn RelayStore,
    team: &TeamId,
    member: &MemberId,
    ttl: chrono::TimeDelta,
    now: DateTime<Utc>,
) -> Result<(String, TokenRecord), AdminError> {
    let loaded = load_team(store, team, random_actor())?;
    let Some(found) = loaded.team.member(member) else {
        return Err(AdminError::NoMember {
            team: team.clone(),
            member: member.clone(),
        });
    };
    if ttl <= chrono::TimeDelta::zero() {
        return Err(AdminError::BadArgument {
            arg: "--ttl",
            reason: "must be positive".into(),
        });
    }
    let record = TokenRecord {
        id: token::new_token_id(),
        team: team.clone(),
        member: member.clone(),
        role: found.role,
        issued_at: now.timestamp(),
        expires_at: (now + ttl).timestamp(),
        revoked_at: None,
    };
    let secret = store.secret()?;
    let signed = token::sign(
        &Claims {
            id: record.id.clone(),
            team: record.team.clone(),
            member: record.member.clone(),
            role: record.role,
            exp: record.expires_at,
        },
        &secret,
    );
    store.put_token(&record)?;
    Ok((signed, record))
}

/// Revokes token `id`: a serving relay refuses it from now on and closes its connections.
pub fn revoke_token(
    store: &mut dyn RelayStore,
    id: &str,
    now: DateTime<Utc>,
) -> Result<TokenRecord, AdminError> {
    let Some(mut record) = store.token(id)? else {
        return Err(AdminError::NoToken(id.to_owned()));
    };
    if store.revoke_token(id, now.timestamp())? {
        record.revoked_at = Some(now.timestamp());
    }
    Ok(record)
}

/// Stores leads as lead documents (the lead's id must be its document id string, as devices
/// create them), written in one batch.
pub fn import_leads(
    store: &mut dyn RelayStore,
    team: &TeamId,
    leads: &[Lead],
    now: DateTime<Utc>,
) -> Result<Vec<DocumentId>, AdminError> {
    let actor = random_actor();
    let mut writes = Vec::with_capacity(leads.len() * 3);
    let mut ids = Vec::with_capacity(leads.len());
    for lead in leads {
        let id: DocumentId = lead
            .id
            .as_str()
            .parse()
            .map_err(|_| AdminError::BadArgument {
                arg: "lead id",
                reason: format!("{:?} is not a document id", lead.id.as_str()),
            })?;
        let doc = lead_doc::create_lead(lead, actor.clone(), now)
            .map_err(|error| AdminError::Doc { id, error })?;
        writes.push(StoreWrite::ReplaceDoc {
            doc: id,
            bytes: doc.save(),
        });
        writes.push(StoreWrite::PutRecord(DocRecord {
            id,
            team: team.clone(),
            kind: StoredKind::Lead,
            member: Some(lead.owner.clone()),
            heads: sorted_heads(&doc),
            chunks: 1,
        }));
        writes.push(StoreWrite::Notice(Notice::Doc(id)));
        ids.push(id);
    }
    store.apply(&writes)?;
    Ok(ids)
}

/// Parses a duration like `30d`, `12h`, `90m` or `3600s`.
pub fn parse_ttl(text: &str) -> Result<chrono::TimeDelta, String> {
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30d, 12h, 90m or 3600s"))?;
    let delta = match unit {
        "d" => chrono::TimeDelta::try_days(n),
        "h" => chrono::TimeDelta::try_hours(n),
        "m" => chrono::TimeDelta::try_minutes(n),
        "s" | "" => chrono::TimeDelta::try_seconds(n),
        _ => None,
    };
    match delta {
        Some(d) if n > 0 => Ok(d),
        _ => Err(format!(
            "{text:?} is not a positive duration like 30d, 12h, 90m or 3600s"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::SqliteStore;
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn member(id: &str, role: Role, manager: Option<&str>) -> Member {
        Member {
            id: id.into(),
            name: id.to_uppercase(),
            role,
            manager: manager.map(MemberId::from),
            time_zone: chrono_tz::Asia::Jerusalem,
            working_week: None,
            locale: "he-IL".into(),
        }
    }

    #[test]
    fn team_members_and_tokens() {
        let mut store = SqliteStore::in_memory().unwrap();
        let team = TeamId::from("acme");
        create_team(&mut store, &team, "Acme", Playbook::default(), now()).unwrap();
        let err = create_team(&mut store, &team, "Acme", Playbook::default(), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "team \"acme\" already exists in this data directory"
        );
        add_member(&mut store, &team, &member("m1", Role::Manager, None), now()).unwrap();
        add_member(
            &mut store,
            &team,
            &member("r1", Role::Rep, Some("m1")),
            now(),
        )
        .unwrap();
        let err = add_member(
            &mut store,
            &team,
            &member("r2", Role::Rep, Some("r1")),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--manager: \"r1\" is a rep, not a manager or admin"
        );
        let err = add_member(&mut store, &team, &member("r1", Role::Rep, None), now()).unwrap_err();
        assert!(matches!(err, AdminError::MemberExists { .. }), "{err}");
        let loaded = load_team(&mut store, &team, random_actor()).unwrap();
        let ids: Vec<&str> = loaded.team.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m1", "r1"]);
        assert_eq!(loaded.team.manager_of(&"r1".into()), Some(&"m1".into()));

        let (signed, record) = issue_token(
            &mut store,
            &team,
            &"r1".into(),
            chrono::TimeDelta::days(1),
            now(),
        )
        .unwrap();
        let secret = store.secret().unwrap();
        let claims = token::verify(&signed, &secret, now().timestamp()).unwrap();
        assert_eq!(claims.member, MemberId::from("r1"));
        assert_eq!(claims.role, Role::Rep);
        assert_eq!(claims.id, record.id);
        let err = issue_token(
            &mut store,
            &team,
            &"zz".into(),
            chrono::TimeDelta::days(1),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--member: no member \"zz\" in team \"acme\" (see `fieldbook member list`)"
        );

        assert_eq!(
            remove_member(&mut store, &team, &"r1".into(), now()).unwrap(),
            1
        );
        assert!(
            store
                .token(&record.id)
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
        let loaded = load_team(&mut store, &team, random_actor()).unwrap();
        assert!(loaded.team.member(&"r1".into()).is_none());
        let err = load_team(&mut store, &"nope".into(), random_actor()).unwrap_err();
        assert!(matches!(err, AdminError::NoTeam(_)));
    }

    #[test]
    fn a_member_who_owns_leads_stays_and_a_taken_derived_id_fails_loudly() {
        let mut store = SqliteStore::in_memory().unwrap();
        let team = TeamId::from("acme");
        create_team(&mut store, &team, "Acme", Playbook::default(), now()).unwrap();
        add_member(&mut store, &team, &member("m1", Role::Manager, None), now()).unwrap();
        add_member(
            &mut store,
            &team,
            &member("r1", Role::Rep, Some("m1")),
            now(),
        )
        .unwrap();
        let id = DocumentId::from_random([3; 16]);
        let lead: Lead = serde_json::from_value(serde_json::json!({
            "id": id.to_string(), "company": "Kinneret Boats", "owner": "r1",
            "created_at": "2026-11-20T09:00:00Z",
            "events": [{"id": "c1", "type": "created", "at": "2026-11-20T09:00:00Z", "by": "r1"}]
        }))
        .unwrap();
        import_leads(&mut store, &team, &[lead], now()).unwrap();
        let err = remove_member(&mut store, &team, &"r1".into(), now()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("member \"r1\" owns 1 lead(s) in team \"acme\""),
            "{err}"
        );
        let loaded = load_team(&mut store, &team, random_actor()).unwrap();
        assert!(
            loaded.team.member(&"r1".into()).is_some(),
            "nothing changed"
        );

        // A document stored where a new member's index or a new team's document derives to
        // (data from before the reserved space): refused with the id, nothing written.
        let lead_doc = store.record(&id).unwrap().unwrap();
        let index_id = index::index_document_id(&team, &"r2".into());
        store
            .apply(&[StoreWrite::PutRecord(DocRecord {
                id: index_id,
                ..lead_doc.clone()
            })])
            .unwrap();
        let err = add_member(
            &mut store,
            &team,
            &member("r2", Role::Rep, Some("m1")),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "document {index_id} (member \"r2\"'s index) is already stored as a lead \
                 document; nothing was changed (restore the data directory from a backup or \
                 choose another id)"
            )
        );
        let other = TeamId::from("other");
        let team_id = team_doc::team_document_id(&other);
        store
            .apply(&[StoreWrite::PutRecord(DocRecord {
                id: team_id,
                ..lead_doc
            })])
            .unwrap();
        let err = create_team(&mut store, &other, "Other", Playbook::default(), now()).unwrap_err();
        assert!(matches!(err, AdminError::IdTaken { id, found: "lead", .. } if id == team_id));
    }

    #[test]
    fn team_changes_compact_after_enough_chunks() {
        let mut store = SqliteStore::in_memory().unwrap();
        let team = TeamId::from("acme");
        let id = create_team(&mut store, &team, "Acme", Playbook::default(), now()).unwrap();
        for i in 0..(COMPACT_AFTER_CHUNKS + 3) {
            let m = member(&format!("r{i}"), Role::Rep, None);
            add_member(&mut store, &team, &m, now()).unwrap();
        }
        // The creation is chunk 1; the 31st change makes 32 and compacts into one save; the
        // last four changes are four more chunks.
        assert_eq!(store.chunk_count(&id).unwrap(), 5);
        let loaded = load_team(&mut store, &team, random_actor()).unwrap();
        assert_eq!(loaded.team.members.len(), COMPACT_AFTER_CHUNKS as usize + 3);
    }

    #[test]
    fn ids_and_durations_are_checked() {
        assert!(check_id("member id", "dana").is_ok());
        assert_eq!(
            check_id("member id", "a/b").unwrap_err().to_string(),
            "member id: must not contain '/' (got \"a/b\")"
        );
        assert_eq!(parse_ttl("30d"), Ok(chrono::TimeDelta::days(30)));
        assert_eq!(parse_ttl("90m"), Ok(chrono::TimeDelta::minutes(90)));
        assert_eq!(parse_ttl("45"), Ok(chrono::TimeDelta::seconds(45)));
        assert!(parse_ttl("0d").is_err());
        assert!(parse_ttl("3w").is_err());
        assert!(parse_ttl("soon").is_err());
    }
}
