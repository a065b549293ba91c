//! Who may see which document (SPEC §5), as the core's [`Policy`]: computed from the team
//! document (roles, each rep's manager) and each lead's owner, both kept up to date by the
//! engine as changes arrive, so a reassignment moves access at once.
//!
//! | document | rep | manager | admin |
//! |---|---|---|---|
//! | team | read | read-write | read-write |
//! | own index | read | read | read |
//! | lead owned by the member | read-write | read-write | read-write |
//! | lead owned by one of the manager's reps | — | read-write | read-write |
//! | other lead of the team | — | — | read-write |
//! | anything of another team, another member's index | — | — | — |
//!
//! A member no longer in the team document sees nothing. A document the relay has never
//! stored is [`Access::ReadWrite`] so that the hub can take a lead created offline; the engine
//! then checks the created document ([`Acl::check_new_lead`]) before it is stored or
//! acknowledged.

use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::sync::hub::{Access, ConnId, Policy};
use fieldbook_core::sync::wire::PeerId;
use fieldbook_core::team::{Role, Team};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// Why a new lead document is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NewLeadRefusal {
    /// The document is not a lead document (or does not decode).
    #[error("not a lead document: {0}")]
    NotALead(String),
    /// The lead's owner is not a member of the creator's team.
    #[error("owner {0} is not a member of the team")]
    OwnerNotInTeam(MemberId),
    /// The creator may not create leads for that owner.
    #[error("{creator} ({role:?}) may not create a lead owned by {owner}")]
    NotTheirs {
        /// Who sent it.
        creator: MemberId,
        /// Their role.
        role: Role,
        /// The lead's owner.
        owner: MemberId,
    },
    /// The owner has reached the documents-per-member limit.
    #[error("{owner} already owns {count} leads (limit {limit})")]
    TooManyDocuments {
        /// The owner.
        owner: MemberId,
        /// Leads owned.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// A member's role and manager, as the team document says.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Standing {
    role: Role,
    manager: Option<MemberId>,
}

/// The relay's access state.
#[derive(Debug, Default)]
pub struct Acl {
    teams: HashMap<TeamId, (DocumentId, Team)>,
    /// Each team's members by id (a team's member list is searched linearly, and access is
    /// asked for every frame and every index entry).
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
    /// New documents refused on a connection: they stay missing for it.
    refused: HashSet<(ConnId, DocumentId)>,
    /// Checks answered [`Access::None`] (a metric).
    denied: Cell<u64>,
}

impl Acl {
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
        self.refused.retain(|(c, _)| *c != conn);
    }

    /// Makes a refused new document missing for a connection.
    pub fn refuse(&mut self, conn: ConnId, doc: DocumentId) {
        self.refused.insert((conn, doc));
    }

    /// The member a connection authenticated as.
    pub fn member_of(&self, conn: ConnId) -> Option<&(TeamId, MemberId)> {
        self.conns.get(&conn)
    }

    /// How many access checks answered `None` so far.
    pub fn denied(&self) -> u64 {
        self.denied.get()
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
            // Never stored: a lead created offline, checked once its changes are applied.
            None => Access::ReadWrite,
        }
    }

    /// Whether a connection's member may create a lead owned by `owner` (and the owner has
    /// room for one more).
    pub fn check_new_lead(
        &self,
        conn: ConnId,
        owner: &MemberId,
        limit: usize,
    ) -> Result<(), NewLeadRefusal> {
        let Some((team, creator)) = self.conns.get(&conn) else {
            return Err(NewLeadRefusal::NotALead("connection closed".into()));
        };
        let Some((_, t)) = self.teams.get(team) else {
            return Err(NewLeadRefusal::OwnerNotInTeam(owner.clone()));
        };
        let Some(role) = t.member(creator).map(|m| m.role) else {
            return Err(NewLeadRefusal::OwnerNotInTeam(creator.clone()));
        };
        if t.member(owner).is_none() {
            return Err(NewLeadRefusal::OwnerNotInTeam(owner.clone()));
        }
        let allowed = match role {
            Role::Rep => owner == creator,
            Role::Manager => owner == creator || t.manager_of(owner) == Some(creator),
            Role::Admin => true,
        };
        if !allowed {
            return Err(NewLeadRefusal::NotTheirs {
                creator: creator.clone(),
                role,
                owner: owner.clone(),
            });
        }
        let count = self
            .owned
            .get(&(team.clone(), owner.clone()))
            .copied()
            .unwrap_or(0);
        if count >= limit {
            return Err(NewLeadRefusal::TooManyDocuments {
                owner: owner.clone(),
                count,
                limit,
            });
        }
        Ok(())
    }
}

impl Policy for Acl {
    fn access(&self, conn: ConnId, _peer: &PeerId, doc: &DocumentId) -> Access {
        let access = match self.conns.get(&conn) {
            Some(_) if self.refused.contains(&(conn, *doc)) => Access::None,
            Some((team, member)) => self.member_access(team, member, doc),
            None => Access::None,
        };
        if access == Access::None {
            self.denied.set(self.denied.get() + 1);
        }
        access
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::playbook::Playbook;
    use fieldbook_core::team::Member;

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
        DocumentId::from_bytes([n; 16])
    }

    fn acl() -> Acl {
        let mut acl = Acl::default();
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
    fn the_table_of_the_module_doc() {
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
        acl.connect(ConnId(1), t.clone(), "r3".into());
        assert_eq!(
            acl.check_new_lead(ConnId(1), &"r3".into(), 2),
            Err(NewLeadRefusal::TooManyDocuments {
                owner: "r3".into(),
                count: 2,
                limit: 2
            })
        );
        assert_eq!(acl.check_new_lead(ConnId(1), &"r3".into(), 3), Ok(()));
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
    fn new_leads_only_for_oneself_or_ones_reps() {
        let mut acl = acl();
        let t = TeamId::from("t");
        for (conn, m) in [(1, "r1"), (2, "m1"), (3, "adm")] {
            acl.connect(ConnId(conn), t.clone(), m.into());
        }
        let check = |conn: u64, owner: &str| acl.check_new_lead(ConnId(conn), &owner.into(), 100);
        assert_eq!(check(1, "r1"), Ok(()));
        assert!(matches!(
            check(1, "r2"),
            Err(NewLeadRefusal::NotTheirs { .. })
        ));
        assert_eq!(check(2, "r2"), Ok(()));
        assert!(matches!(
            check(2, "r3"),
            Err(NewLeadRefusal::NotTheirs { .. })
        ));
        assert_eq!(check(3, "r3"), Ok(()));
        assert_eq!(
            check(3, "ghost"),
            Err(NewLeadRefusal::OwnerNotInTeam("ghost".into()))
        );
        acl.refuse(ConnId(1), doc(99));
        let peer = PeerId::new("p");
        assert_eq!(acl.access(ConnId(1), &peer, &doc(99)), Access::None);
        assert_eq!(acl.access(ConnId(3), &peer, &doc(99)), Access::ReadWrite);
        assert_eq!(acl.access(ConnId(7), &peer, &doc(20)), Access::None);
        assert_eq!(acl.denied(), 2);
    }
}
