//! Who may see which document (SPEC §5) and whether a write stands, as the hub's [`Policy`]:
//! computed from the team documents (roles, each rep's manager) and each lead's owner, kept up
//! to date by the relay core as changes arrive, so a reassignment moves access at once. The
//! table is ARCHITECTURE.md's "Who may do what" (a manager's team access is read-write at the
//! protocol level; the write model lets managers change only the playbook and the products).
//!
//! A member no longer in the team document sees nothing. A document the relay has never
//! stored is [`Access::ReadWrite`] so that the hub can take a lead created offline; the write
//! model judges it ([`Policy::admit`]) before anything is stored or acknowledged. Every write a
//! connection makes is judged by [`crate::write`] with the owners' lead counts against the
//! documents-per-member limit; what it accepts is queued for the relay core ([`Admitted`]).

use super::SealKey;
use crate::doc::{self, DocumentId, lead as lead_doc, team as team_doc};
use crate::facts::LeadFacts;
use crate::ids::{MemberId, TeamId};
use crate::sync::hub::{Access, ConnId, Policy};
use crate::sync::wire::{PeerId, Sealed};
use crate::team::{Role, Team};
use crate::write::{self, Limits, Refusal};
use automerge::{Automerge, ChangeHash, ReadDoc};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A member's role and manager, as the team document says.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Standing {
    role: Role,
    manager: Option<MemberId>,
}

/// A write the model accepted, for the relay core to record.
#[derive(Clone, Debug, PartialEq)]
pub enum Admitted {
    /// A new lead of `team` owned by `owner`, created by `by`.
    NewLead {
        /// The document.
        doc: DocumentId,
        /// Its team.
        team: TeamId,
        /// Its owner.
        owner: MemberId,
        /// Its creator.
        by: MemberId,
    },
    /// A lead's owner changed.
    Owner {
        /// The document.
        doc: DocumentId,
        /// The new owner.
        owner: MemberId,
    },
    /// A team document changed.
    Team {
        /// The document.
        doc: DocumentId,
    },
}

/// The relay's access state.
#[derive(Debug)]
pub struct Acl {
    teams: HashMap<TeamId, (DocumentId, Team)>,
    /// Each team's members by id (access is asked for every frame and every index entry).
    standings: HashMap<TeamId, HashMap<MemberId, Standing>>,
    /// Each team's admins (they see every lead of the team).
    admins: HashMap<TeamId, Vec<MemberId>>,
    /// Members who saw a lead before its owner changed, until the index writer takes them.
    former_viewers: HashMap<DocumentId, Vec<MemberId>>,
    team_docs: HashMap<DocumentId, TeamId>,
    index_docs: HashMap<DocumentId, (TeamId, MemberId)>,
    leads: HashMap<DocumentId, (TeamId, MemberId)>,
    owned: HashMap<(TeamId, MemberId), usize>,
    conns: HashMap<ConnId, (TeamId, MemberId)>,
    /// Leads one member may own.
    max_docs_per_member: usize,
    /// The key of the relay's seals ([`super::seal`]).
    seal_key: SealKey,
    /// Writes accepted since the relay core last took them.
    admitted: RefCell<Vec<Admitted>>,
    /// Checks answered [`Access::None`] (a metric).
    denied: Cell<u64>,
}

impl Acl {
    /// An empty state with the documents-per-member limit and the key of the relay's seals.
    pub fn new(max_docs_per_member: usize, seal_key: SealKey) -> Self {
        Self {
            teams: HashMap::new(),
            standings: HashMap::new(),
            admins: HashMap::new(),
            former_viewers: HashMap::new(),
            team_docs: HashMap::new(),
            index_docs: HashMap::new(),
            leads: HashMap::new(),
            owned: HashMap::new(),
            conns: HashMap::new(),
            max_docs_per_member,
            seal_key,
            admitted: RefCell::new(Vec::new()),
            denied: Cell::new(0),
        }
    }

    /// Sets (or replaces) a team read from its document.
    pub fn set_team(&mut self, doc: DocumentId, team: Team) {
        self.team_docs.insert(doc, team.id.clone());
        self.standings.insert(
            team.id.clone(),
            team.members
                .iter()
                .map(|m| {
                    let standing = Standing {
                        role: m.role,
                        manager: m.manager.clone(),
                    };
                    (m.id.clone(), standing)
                })
                .collect(),
        );
        self.admins.insert(
            team.id.clone(),
            team.members
                .iter()
                .filter(|m| m.role == Role::Admin)
                .map(|m| m.id.clone())
                .collect(),
        );
        self.teams.insert(team.id.clone(), (doc, team));
    }

    /// The team, if known.
    pub fn team(&self, id: &TeamId) -> Option<&Team> {
        self.teams.get(id).map(|(_, team)| team)
    }

    /// Every team id.
    pub fn team_ids(&self) -> Vec<TeamId> {
        self.teams.keys().cloned().collect()
    }

    /// The team a team document belongs to.
    pub fn team_of_doc(&self, doc: &DocumentId) -> Option<&TeamId> {
        self.team_docs.get(doc)
    }

    /// Records a member's index document.
    pub fn set_index(&mut self, doc: DocumentId, team: TeamId, member: MemberId) {
        self.index_docs.insert(doc, (team, member));
    }

    /// Whether `doc` is an index document.
    pub fn is_index(&self, doc: &DocumentId) -> bool {
        self.index_docs.contains_key(doc)
    }

    /// Sets a lead's owner; returns the previous owner if it changed.
    pub fn set_owner(
        &mut self,
        doc: DocumentId,
        team: TeamId,
        owner: MemberId,
    ) -> Option<MemberId> {
        let previous = self.leads.insert(doc, (team.clone(), owner.clone()));
        if previous.as_ref().map(|(_, o)| o) == Some(&owner) {
            return None;
        }
        *self.owned.entry((team, owner)).or_default() += 1;
        if let Some((team, old)) = previous {
            let manager = self.standing(&team, &old).and_then(|s| s.manager.clone());
            let former = self.former_viewers.entry(doc).or_default();
            former.push(old.clone());
            former.extend(manager);
            if let Some(n) = self.owned.get_mut(&(team, old.clone())) {
                *n = n.saturating_sub(1);
            }
            return Some(old);
        }
        None
    }

    /// How many leads `member` of `team` owns.
    pub fn owned(&self, team: &TeamId, member: &MemberId) -> usize {
        self.owned
            .get(&(team.clone(), member.clone()))
            .copied()
            .unwrap_or(0)
    }

    fn standing(&self, team: &TeamId, member: &MemberId) -> Option<&Standing> {
        self.standings.get(team)?.get(member)
    }

    /// The members whose index may need an entry for lead `doc` changed or removed: those who
    /// may see it now (its owner, the owner's manager, the team's admins) and those who saw it
    /// before its owner last changed (taken: asked once per index write). A superset: the
    /// index writer still asks [`Acl::member_access`] for each.
    pub fn take_index_candidates(&mut self, doc: &DocumentId) -> Vec<MemberId> {
        let mut members = self.former_viewers.remove(doc).unwrap_or_default();
        if let Some((team, owner)) = self.leads.get(doc) {
            members.push(owner.clone());
            if let Some(manager) = self.standing(team, owner).and_then(|s| s.manager.clone()) {
                members.push(manager);
            }
            members.extend(self.admins.get(team).into_iter().flatten().cloned());
        }
        members.sort();
        members.dedup();
        members
    }

    /// A lead's team and owner.
    pub fn lead(&self, doc: &DocumentId) -> Option<&(TeamId, MemberId)> {
        self.leads.get(doc)
    }

    /// The lead documents of a team.
    pub fn leads_of(&self, team: &TeamId) -> Vec<DocumentId> {
        self.leads
            .iter()
            .filter(|(_, (t, _))| t == team)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Binds a connection to the member its token names.
    pub fn connect(&mut self, conn: ConnId, team: TeamId, member: MemberId) {
        self.conns.insert(conn, (team, member));
    }

    /// Forgets a connection.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// The member a connection authenticated as.
    pub fn member_of(&self, conn: ConnId) -> Option<&(TeamId, MemberId)> {
        self.conns.get(&conn)
    }

    /// How many access checks answered `None` so far.
    pub fn denied(&self) -> u64 {
        self.denied.get()
    }

    /// The writes accepted since the last call.
    pub fn take_admitted(&mut self) -> Vec<Admitted> {
        std::mem::take(self.admitted.get_mut())
    }

    /// What member `member` of team `team` may do with `doc`.
    pub fn member_access(&self, team: &TeamId, member: &MemberId, doc: &DocumentId) -> Access {
        let Some((team_doc, _)) = self.teams.get(team) else {
            return Access::None;
        };
        let Some(role) = self.standing(team, member).map(|s| s.role) else {
            return Access::None;
        };
        if doc == team_doc {
            return if role == Role::Rep {
                Access::Read
            } else {
                Access::ReadWrite
            };
        }
        if let Some((index_team, index_member)) = self.index_docs.get(doc) {
            return if index_team == team && index_member == member {
                Access::Read
            } else {
                Access::None
            };
        }
        if self.team_docs.contains_key(doc) {
            return Access::None; // another team's document
        }
        match self.leads.get(doc) {
            Some((lead_team, owner)) => {
                let sees = lead_team == team
                    && (owner == member
                        || role == Role::Admin
                        || (role == Role::Manager
                            && self.standing(team, owner).and_then(|s| s.manager.as_ref())
                                == Some(member)));
                if sees {
                    Access::ReadWrite
                } else {
                    Access::None
                }
            }
            // Never stored: a lead created offline, judged once its changes are applied.
            None => Access::ReadWrite,
        }
    }

    /// Judges the changes `conn` made to `doc_id` (`doc` now) since `before`; with `sealed`,
    /// the document within heads the relay sealed once ([`Acl::sealed_base`]): those changes
    /// were judged when the relay first took them, and only what lies beyond is judged now, as
    /// the writer's.
    fn judge(
        &self,
        conn: ConnId,
        doc_id: &DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        sealed: Option<&Automerge>,
    ) -> Result<Admitted, Refusal> {
        let (team_id, writer) = self.writer(conn)?;
        let team = self.team(team_id).ok_or_else(|| Refusal::NotAMember {
            writer: writer.clone(),
        })?;
        let owned = |m: &MemberId| self.owned(team_id, m);
        let limits = Limits::new(self.max_docs_per_member, &owned);
        let sealed_heads = sealed.map(Automerge::get_heads);
        // Nothing beyond the sealed heads: nothing to judge.
        let beyond = sealed_heads.as_ref().is_none_or(|h| *h != doc.get_heads());
        let unreadable = |kind: &str, e: doc::DocError| Refusal::NotReadable {
            kind: kind.to_owned(),
            reason: e.to_string(),
        };
        if self.team_docs.get(doc_id) == Some(team_id) {
            if beyond {
                let sealed_team = sealed
                    .map(team_doc::read_team)
                    .transpose()
                    .map_err(|e| unreadable("team", e))?;
                write::team::judge_change(
                    sealed_team.as_ref().unwrap_or(team),
                    writer,
                    &limits,
                    doc,
                )?;
            }
            return Ok(Admitted::Team { doc: *doc_id });
        }
        if self.index_docs.contains_key(doc_id) {
            return Err(Refusal::ReadOnly {
                writer: writer.clone(),
            });
        }
        let stored = self.leads.get(doc_id).map(|(_, owner)| owner);
        if stored.is_none() {
            write::check_not_reserved(doc_id)?;
        }
        let (owner_before, heads_before) = match sealed {
            Some(base) => {
                let lead = lead_doc::read_lead(base).map_err(|e| unreadable("lead", e))?;
                let owner = LeadFacts::from_lead(&team.playbook, &lead.lead).owner;
                (Some(owner), sealed_heads.unwrap_or_default())
            }
            // A lead never stored is judged whole, as new.
            None if stored.is_none() => (None, Vec::new()),
            None => (stored.cloned(), before.to_vec()),
        };
        let owner = if beyond {
            write::lead::judge_change(
                team,
                writer,
                &limits,
                owner_before.as_ref(),
                doc,
                &heads_before,
            )?
            .facts
            .owner
        } else {
            owner_before.unwrap_or_else(|| writer.clone())
        };
        Ok(match stored {
            Some(_) => Admitted::Owner {
                doc: *doc_id,
                owner,
            },
            None => Admitted::NewLead {
                doc: *doc_id,
                team: team_id.clone(),
                owner,
                by: writer.clone(),
            },
        })
    }

    fn writer(&self, conn: ConnId) -> Result<(&TeamId, &MemberId), Refusal> {
        self.conns
            .get(&conn)
            .map(|(team, member)| (team, member))
            .ok_or_else(|| Refusal::NotAMember {
                writer: MemberId::from("(closed connection)"),
            })
    }

    /// The heads of `doc` within what the relay once held, by a seal it made: `before` and the
    /// sealed heads together. `None` when the seal does not verify or the message did not
    /// bring every sealed change.
    fn sealed_base(
        &self,
        doc_id: &DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        sealed: &Sealed,
    ) -> Option<Automerge> {
        let heads = doc::heads_from_hex(&sealed.heads).ok()?;
        if heads.is_empty()
            || !self.seal_key.verify(doc_id, &heads, &sealed.seal)
            || heads.iter().any(|h| doc.get_change_by_hash(h).is_none())
        {
            return None;
        }
        let mut union = heads;
        union.extend_from_slice(before);
        doc.fork_at(&union).ok()
    }
}

impl Policy for Acl {
    fn access(&self, conn: ConnId, _peer: &PeerId, doc: &DocumentId) -> Access {
        let access = match self.conns.get(&conn) {
            Some((team, member)) => self.member_access(team, member, doc),
            None => Access::None,
        };
        if access == Access::None {
            self.denied.set(self.denied.get() + 1);
        }
        access
    }

    fn admit(
        &self,
        conn: ConnId,
        doc_id: &DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        sealed: Option<&Sealed>,
    ) -> Result<(), Refusal> {
        let admitted = match self.judge(conn, doc_id, doc, before, None) {
            Ok(admitted) => admitted,
            // Changes the relay lost (restored from a backup), brought back under its seal.
            Err(refusal) => match sealed.and_then(|s| self.sealed_base(doc_id, doc, before, s)) {
                Some(base) => self.judge(conn, doc_id, doc, before, Some(&base))?,
                None => return Err(refusal),
            },
        };
        self.admitted.borrow_mut().push(admitted);
        Ok(())
    }

    fn read_only(&self, conn: ConnId, peer: &PeerId, _doc: &DocumentId) -> Refusal {
        let writer = match self.conns.get(&conn) {
            Some((_, member)) => member.clone(),
            None => MemberId::from(peer.as_str()),
        };
        Refusal::ReadOnly { writer }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Playbook;
    use crate::team::Member;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn member(id: &str, role: Role, manager: Option<&str>) -> Member {
        Member {
            id: id.into(),
            name: id.into(),
            role,
            manager: manager.map(MemberId::from),
            time_zone: chrono_tz::UTC,
            working_week: None,
            locale: "en-US".into(),
        }
    }

    fn doc(n: u8) -> DocumentId {
        DocumentId::from_random([n; 16])
    }

    fn acl() -> Acl {
        let mut acl = Acl::new(100, SealKey::fixed([1; 32]));
        let team = Team {
            id: "t".into(),
            name: "T".into(),
            members: vec![
                member("adm", Role::Admin, None),
                member("m1", Role::Manager, None),
                member("m2", Role::Manager, None),
                member("r1", Role::Rep, Some("m1")),
                member("r2", Role::Rep, Some("m1")),
                member("r3", Role::Rep, Some("m2")),
            ],
            products: vec![],
            playbook: Playbook::default(),
        };
        acl.set_team(doc(1), team);
        let other = Team {
            id: "u".into(),
            name: "U".into(),
            members: vec![member("r1", Role::Admin, None)],
            products: vec![],
            playbook: Playbook::default(),
        };
        acl.set_team(doc(2), other);
        acl.set_index(doc(10), "t".into(), "r1".into());
        acl.set_owner(doc(20), "t".into(), "r1".into());
        acl.set_owner(doc(21), "t".into(), "r2".into());
        acl.set_owner(doc(22), "t".into(), "r3".into());
        acl.set_owner(doc(23), "u".into(), "r1".into());
        acl
    }

    #[test]
    fn the_permission_table_of_architecture_md() {
        let acl = acl();
        let t = TeamId::from("t");
        let see = |m: &str, d: u8| acl.member_access(&t, &m.into(), &doc(d));
        use Access::{None as N, Read as R, ReadWrite as W};
        // team doc, own index, r1's, r2's, r3's lead, other team's lead and team doc
        assert_eq!(
            [1, 10, 20, 21, 22, 23, 2].map(|d| see("r1", d)),
            [R, R, W, N, N, N, N]
        );
        assert_eq!(
            [1, 10, 20, 21, 22, 23, 2].map(|d| see("r2", d)),
            [R, N, N, W, N, N, N]
        );
        assert_eq!(
            [1, 10, 20, 21, 22, 23, 2].map(|d| see("m1", d)),
            [W, N, W, W, N, N, N]
        );
        assert_eq!(
            [1, 10, 20, 21, 22, 23, 2].map(|d| see("m2", d)),
            [W, N, N, N, W, N, N]
        );
        assert_eq!(
            [1, 10, 20, 21, 22, 23, 2].map(|d| see("adm", d)),
            [W, N, W, W, W, N, N]
        );
        // A stranger and a document never stored.
        assert_eq!(see("zz", 20), N);
        assert_eq!(see("r2", 99), W);
    }

    #[test]
    fn reassignment_moves_access_and_counts() {
        let mut acl = acl();
        let t = TeamId::from("t");
        assert_eq!(
            acl.set_owner(doc(20), t.clone(), "r3".into()),
            Some("r1".into())
        );
        assert_eq!(acl.set_owner(doc(20), t.clone(), "r3".into()), None);
        assert_eq!(acl.member_access(&t, &"r1".into(), &doc(20)), Access::None);
        assert_eq!(acl.member_access(&t, &"m1".into(), &doc(20)), Access::None);
        assert_eq!(
            acl.member_access(&t, &"m2".into(), &doc(20)),
            Access::ReadWrite
        );
        assert_eq!(acl.owned(&t, &"r3".into()), 2);
        assert_eq!(acl.owned(&t, &"r1".into()), 0);
    }

    #[test]
    fn index_candidates_are_those_who_see_a_lead_and_those_who_saw_it() {
        let mut acl = acl();
        let t = TeamId::from("t");
        let ids = |v: &[&str]| v.iter().map(|m| MemberId::from(*m)).collect::<Vec<_>>();
        // r1's lead: r1, their manager m1, the admin.
        assert_eq!(
            acl.take_index_candidates(&doc(20)),
            ids(&["adm", "m1", "r1"])
        );
        // Moved to r3 (manager m2): r1 and m1 are asked once more, to lose the entry.
        acl.set_owner(doc(20), t.clone(), "r3".into());
        assert_eq!(
            acl.take_index_candidates(&doc(20)),
            ids(&["adm", "m1", "m2", "r1", "r3"])
        );
        assert_eq!(
            acl.take_index_candidates(&doc(20)),
            ids(&["adm", "m2", "r3"])
        );
        // Every candidate the access check says sees the lead is one.
        for member in ["adm", "m1", "m2", "r1", "r2", "r3"] {
            let sees = acl.member_access(&t, &member.into(), &doc(20)) != Access::None;
            assert_eq!(sees, ["adm", "m2", "r3"].contains(&member), "{member}");
        }
    }

    #[test]
    fn connections_see_what_their_member_sees() {
        let mut acl = acl();
        let t = TeamId::from("t");
        acl.connect(ConnId(1), t.clone(), "r1".into());
        let peer = PeerId::new("p");
        assert_eq!(acl.access(ConnId(1), &peer, &doc(20)), Access::ReadWrite);
        assert_eq!(acl.access(ConnId(1), &peer, &doc(21)), Access::None);
        assert_eq!(acl.access(ConnId(7), &peer, &doc(20)), Access::None);
        assert_eq!(acl.denied(), 2);
        acl.disconnect(ConnId(1));
        assert_eq!(acl.access(ConnId(1), &peer, &doc(20)), Access::None);
    }
}
