//! The write model's table, case by case: a writer's changes to a real Automerge document,
//! judged as the relay judges them.

use super::*;
use crate::doc::lead::{self as lead_doc, append_events, put_fields};
use crate::doc::{self, commit_options, team as team_doc};
use crate::lead::{Event, Lead, ReviewDecision};
use crate::playbook::Reassignment;
use crate::testing::{LeadBuilder, t, team};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, ROOT, ReadDoc};
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: &str = "2026-11-24T09:00:00Z";

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

/// Dana's lead (her manager is `mgr`; `ion` is another rep of `mgr`; `ada` is the admin).
fn dana_lead() -> (Automerge, Vec<ChangeHash>) {
    let lead = LeadBuilder::new("L", "dana", "2026-11-20T08:00:00Z")
        .no_answer("2026-11-20T09:00:00Z")
        .build();
    let doc = lead_doc::create_lead(&lead, actor(1), t(NOW)).unwrap();
    let heads = doc.get_heads();
    (doc, heads)
}

fn event(id: &str, by: &str, kind: EventKind) -> Event {
    Event {
        id: id.into(),
        at: t(NOW),
        by: by.into(),
        after: None,
        kind,
    }
}

/// `writer` appends `events` (and sets `fields`) on Dana's lead; the verdict.
fn write(
    writer: &str,
    team: &Team,
    events: &[Event],
    fields: &[(&str, serde_json::Value)],
) -> Result<String, Refusal> {
    let (mut doc, before) = dana_lead();
    let mut tx = doc.transaction();
    append_events(&mut tx, events).unwrap();
    let fields: Vec<(String, serde_json::Value)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    put_fields(&mut tx, &fields).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    lead::judge_change(
        team,
        &writer.into(),
        &Limits::none(),
        Some(&"dana".into()),
        &doc,
        &before,
    )
    .map(|a| a.facts.owner.to_string())
}

fn attempt() -> EventKind {
    EventKind::Attempt {
        channel: crate::lead::Channel::Call,
        outcome: crate::lead::AttemptOutcome::Reached,
    }
}

fn assigned(owner: &str) -> EventKind {
    EventKind::Assigned {
        owner: owner.into(),
    }
}

fn validated() -> EventKind {
    EventKind::ReviewDecision {
        decision: ReviewDecision::RefusalValidated,
        note: String::new(),
    }
}

#[test]
fn the_owner_their_manager_and_admins_append_events_and_edit_details() {
    let team = team();
    for writer in ["dana", "mgr", "ada"] {
        let e = event("e1", writer, attempt());
        assert_eq!(
            write(writer, &team, &[e], &[("company", json!("Acme 2"))]),
            Ok("dana".to_owned()),
            "{writer}"
        );
    }
    // Another rep may not, even an event in their own name.
    assert_eq!(
        write("ion", &team, &[event("e1", "ion", attempt())], &[]),
        Err(Refusal::ReadOnly {
            writer: "ion".into()
        })
    );
    assert!(matches!(
        write("ghost", &team, &[], &[("company", json!("x"))]),
        Err(Refusal::ReadOnly { .. })
    ));
}

#[test]
fn events_are_appended_in_the_writers_name_only() {
    let team = team();
    assert_eq!(
        write("dana", &team, &[event("e1", "mgr", attempt())], &[]),
        Err(Refusal::WrongAuthor {
            event: "e1".into(),
            by: "mgr".into(),
            writer: "dana".into()
        })
    );
}

#[test]
fn managers_decisions_are_the_managers() {
    let team = team();
    let rep = write("dana", &team, &[event("e1", "dana", validated())], &[]);
    assert!(
        matches!(&rep, Err(Refusal::KindNotAllowed { kind, .. }) if kind == "review_decision"),
        "{rep:?}"
    );
    assert!(write("mgr", &team, &[event("e1", "mgr", validated())], &[]).is_ok());
}

#[test]
fn the_owner_changes_only_through_an_assignment_the_playbook_allows_to_someone_who_may_own() {
    let mut team = team();
    // The field alone: refused, it must follow the events.
    assert_eq!(
        write("mgr", &team, &[], &[("owner", json!("ion"))]),
        Err(Refusal::OwnerWithoutAssignment)
    );
    // The manager assigns (event and field in one change): accepted, the new owner.
    assert_eq!(
        write(
            "mgr",
            &team,
            &[event("e1", "mgr", assigned("ion"))],
            &[("owner", json!("ion"))]
        ),
        Ok("ion".to_owned())
    );
    // The event without the field: refused (simple readers would see the old owner).
    assert!(matches!(
        write("mgr", &team, &[event("e1", "mgr", assigned("ion"))], &[]),
        Err(Refusal::OwnerMismatch { .. })
    ));
    // To an admin or a stranger: refused.
    for (to, why) in [
        ("ada", OwnerProblem::Admin),
        ("ghost", OwnerProblem::NotAMember),
    ] {
        assert_eq!(
            write(
                "mgr",
                &team,
                &[event("e1", "mgr", assigned(to))],
                &[("owner", json!(to))]
            ),
            Err(Refusal::MayNotOwn {
                owner: to.into(),
                why
            })
        );
    }
    // A rep hands over their own lead only when the playbook says owners may.
    let handover = |team: &Team| {
        write(
            "dana",
            team,
            &[event("e1", "dana", assigned("ion"))],
            &[("owner", json!("ion"))],
        )
    };
    assert_eq!(
        handover(&team),
        Err(Refusal::MayNotReassign {
            writer: "dana".into(),
            role: Role::Rep,
            allowed: Reassignment::Managers
        })
    );
    team.playbook.reassignment = Reassignment::Owners;
    assert_eq!(handover(&team), Ok("ion".to_owned()));
    team.playbook.reassignment = Reassignment::Admins;
    assert!(matches!(
        write(
            "mgr",
            &team,
            &[event("e1", "mgr", assigned("ion"))],
            &[("owner", json!("ion"))]
        ),
        Err(Refusal::MayNotReassign { .. })
    ));
}

#[test]
fn a_reassignment_respects_the_new_owners_limit() {
    let team = team();
    let (mut doc, before) = dana_lead();
    let mut tx = doc.transaction();
    append_events(&mut tx, &[event("e1", "mgr", assigned("ion"))]).unwrap();
    put_fields(&mut tx, &[("owner".into(), json!("ion"))]).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    let owned = |m: &MemberId| if m.as_str() == "ion" { 2 } else { 0 };
    let judge = |max| {
        lead::judge_change(
            &team,
            &"mgr".into(),
            &Limits::new(max, &owned),
            Some(&"dana".into()),
            &doc,
            &before,
        )
        .map(|_| ())
    };
    assert_eq!(
        judge(2),
        Err(Refusal::TooManyLeads {
            owner: "ion".into(),
            count: 2,
            limit: 2
        })
    );
    assert_eq!(judge(3), Ok(()));
}

/// Applies `edit` to Dana's lead as raw Automerge operations and judges it as Dana's write.
fn raw(edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) -> Result<(), Refusal> {
    let team = team();
    let (mut doc, before) = dana_lead();
    let mut tx = doc.transaction();
    edit(&mut tx);
    tx.commit_with(commit_options(t(NOW)));
    lead::judge_change(
        &team,
        &"dana".into(),
        &Limits::none(),
        Some(&"dana".into()),
        &doc,
        &before,
    )
    .map(|_| ())
}

fn events_obj(tx: &automerge::transaction::Transaction<'_>) -> automerge::ObjId {
    tx.get(ROOT, "events").unwrap().unwrap().1
}

#[test]
fn history_is_append_only_and_keys_are_known() {
    // Deleting an event, editing one, replacing them all.
    assert_eq!(
        raw(|tx| {
            let events = events_obj(tx);
            tx.delete(&events, "L-e001").unwrap();
        }),
        Err(Refusal::EventChanged {
            event: "L-e001".into()
        })
    );
    assert_eq!(
        raw(|tx| {
            let events = events_obj(tx);
            let e = tx.get(&events, "L-e001").unwrap().unwrap().1;
            tx.put(&e, "outcome", "reached").unwrap();
        }),
        Err(Refusal::EventChanged {
            event: "L-e001".into()
        })
    );
    assert!(matches!(
        raw(|tx| {
            tx.put_object(ROOT, "events", automerge::ObjType::Map)
                .unwrap();
        }),
        Err(Refusal::EventChanged { .. })
    ));
    // Fields that never change, and keys this version does not know.
    assert_eq!(
        raw(|tx| tx.put(ROOT, "created_at", "2020-01-01T00:00:00Z").unwrap()),
        Err(Refusal::FieldImmutable {
            field: "created_at".into()
        })
    );
    assert_eq!(
        raw(|tx| tx.put(ROOT, "check_in", "here").unwrap()),
        Err(Refusal::UnknownField {
            field: "check_in".into()
        })
    );
    // An event of a kind from a newer version, and a known kind with a bad value.
    let put_event = |kind: &'static str, extra: (&'static str, &'static str)| {
        move |tx: &mut automerge::transaction::Transaction<'_>| {
            let events = events_obj(tx);
            let e = tx
                .put_object(&events, "new", automerge::ObjType::Map)
                .unwrap();
            tx.put(&e, "type", kind).unwrap();
            tx.put(&e, "at", NOW).unwrap();
            tx.put(&e, "by", "dana").unwrap();
            tx.put(&e, extra.0, extra.1).unwrap();
        }
    };
    assert_eq!(
        raw(put_event("check_in", ("place", "Haifa"))),
        Err(Refusal::UnknownEventKind {
            event: "new".into(),
            kind: "check_in".into()
        })
    );
    assert!(matches!(
        raw(put_event("attempt", ("channel", "pigeon"))),
        Err(Refusal::BadEvent { .. })
    ));
    assert_eq!(raw(|tx| tx.put(ROOT, "phone", "+972").unwrap()), Ok(()));
}

#[test]
fn a_new_lead_is_its_creators_for_an_owner_they_may_create_for() {
    let team = team();
    let judge = |creator: &str, lead: &Lead| {
        let doc = lead_doc::create_lead(lead, actor(2), t(NOW)).unwrap();
        lead::judge_change(&team, &creator.into(), &Limits::none(), None, &doc, &[])
            .map(|a| a.facts.owner.to_string())
    };
    let own = LeadBuilder::new("N", "dana", NOW).by("dana").build();
    assert_eq!(judge("dana", &own), Ok("dana".into()));
    // A manager for their rep; an admin for anyone; a rep not for another rep.
    let mut ions = LeadBuilder::new("N", "ion", NOW).build();
    ions.events[0].by = "mgr".into();
    assert_eq!(judge("mgr", &ions), Ok("ion".into()));
    let mut by_ada = LeadBuilder::new("N", "ion", NOW).build();
    by_ada.events[0].by = "ada".into();
    assert_eq!(judge("ada", &by_ada), Ok("ion".into()));
    let mut theirs = LeadBuilder::new("N", "ion", NOW).build();
    theirs.events[0].by = "dana".into();
    assert!(matches!(
        judge("dana", &theirs),
        Err(Refusal::NotTheirs { .. })
    ));
    // Owned by an admin: nobody owns it then.
    let mut admins = LeadBuilder::new("N", "ada", NOW).build();
    admins.events[0].by = "ada".into();
    assert!(matches!(
        judge("ada", &admins),
        Err(Refusal::MayNotOwn {
            why: OwnerProblem::Admin,
            ..
        })
    ));
    // Without its created event.
    let mut bare = LeadBuilder::new("N", "dana", NOW).build();
    bare.events.clear();
    assert_eq!(judge("dana", &bare), Err(Refusal::NoCreatedEvent));
    // At an id of the relay's space.
    assert_eq!(
        check_not_reserved(&team_doc::team_document_id(&team.id)),
        Err(Refusal::ReservedId {
            doc: team_doc::team_document_id(&team.id)
        })
    );
    assert_eq!(
        check_not_reserved(&DocumentId::from_random([7; 16])),
        Ok(())
    );
}

#[test]
fn the_team_document_by_role() {
    let before = team();
    let change = |edit: &dyn Fn(&mut Team)| {
        let mut after = before.clone();
        edit(&mut after);
        team_doc::create_team(&after, actor(3), t(NOW)).unwrap()
    };
    let none = Limits::none();
    let judge = |writer: &str, doc: &Automerge, limits: &Limits<'_>| {
        team::judge_change(&before, &writer.into(), limits, doc).map(|_| ())
    };
    let playbook = change(&|t| t.playbook.nurture_every_days = 60);
    assert_eq!(judge("mgr", &playbook, &none), Ok(()));
    assert_eq!(judge("ada", &playbook, &none), Ok(()));
    assert_eq!(
        judge("dana", &playbook, &none),
        Err(Refusal::ReadOnly {
            writer: "dana".into()
        })
    );
    let renamed = change(&|t| t.name = "Other".into());
    assert_eq!(judge("mgr", &renamed, &none), Err(Refusal::ManagerTeamEdit));
    assert_eq!(judge("ada", &renamed, &none), Ok(()));
    // An admin removes a member, or makes them an admin, only when they own no leads.
    let without_ion = change(&|t| t.members.retain(|m| m.id.as_str() != "ion"));
    let promoted = change(&|t| {
        for m in &mut t.members {
            if m.id.as_str() == "ion" {
                m.role = Role::Admin;
            }
        }
    });
    let owned = |m: &MemberId| usize::from(m.as_str() == "ion") * 3;
    let counts = Limits::new(100, &owned);
    for doc in [&without_ion, &promoted] {
        assert_eq!(
            judge("ada", doc, &counts),
            Err(Refusal::MemberOwnsLeads {
                member: "ion".into(),
                count: 3
            })
        );
        assert_eq!(judge("ada", doc, &none), Ok(()));
    }
    // A playbook that does not validate, and a key this version does not know.
    let mut bad = before.clone();
    bad.playbook.cadence.max_attempts = 0;
    let mut doc = team_doc::create_team(&before, actor(3), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    let pb = tx.get(ROOT, "playbook").unwrap().unwrap().1;
    let cadence = tx.get(&pb, "cadence").unwrap().unwrap().1;
    tx.put(&cadence, "max_attempts", 0).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    assert!(matches!(
        judge("ada", &doc, &none),
        Err(Refusal::InvalidPlaybook { field, .. }) if field == "cadence.max_attempts"
    ));
    let mut doc = team_doc::create_team(&before, actor(3), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    tx.put(ROOT, "billing", "x").unwrap();
    tx.commit_with(commit_options(t(NOW)));
    assert_eq!(
        judge("ada", &doc, &none),
        Err(Refusal::UnknownField {
            field: "billing".into()
        })
    );
    let _ = doc::new_document(actor(4));
}

#[test]
fn actions_follow_the_same_rules() {
    let mut team = team();
    let lead = LeadBuilder::new("L", "dana", "2026-11-20T08:00:00Z")
        .refusal("2026-11-21T08:00:00Z", "price", "crm", Some(100))
        .build();
    let facts = crate::facts::LeadFacts::from_lead(&team.playbook, &lead);
    let of = |team: &Team, m: &str| actions(team, &m.into(), &facts);
    let dana = of(&team, "dana");
    assert!(dana.work && !dana.review && !dana.override_status);
    assert!(dana.reassign_to.is_empty());
    let mgr = of(&team, "mgr");
    assert!(mgr.work && mgr.review && mgr.override_status && !mgr.resolve_conflicts);
    let names: Vec<&str> = mgr.reassign_to.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, ["mgr", "ion"]);
    assert_eq!(of(&team, "ion"), LeadActions::default());
    team.playbook.reassignment = Reassignment::Owners;
    assert!(!of(&team, "dana").reassign_to.is_empty());
}
