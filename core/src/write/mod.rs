//! The write model: who may write what, and what a write may change, decided in one place for
//! every writer — the device's commands before they write, the relay after it applies a
//! client's changes (rolling them back when refused), the simulated relay of the tests, and the
//! screens (the actions a member may take on a lead, [`actions()`]). ARCHITECTURE.md's "Who may
//! do what" is the permission table this module implements:
//!
//! | document | who writes | what may change |
//! |---|---|---|
//! | lead | its owner, the owner's manager, admins ([`may_write_lead`]) | events are appended, never changed or removed; each new event is the writer's (`by`) and of a kind the writer may record ([`may_record`]); the fields of [`lead::EDITABLE`]; `owner` only by an `assigned` event (or an owner conflict's resolution) and always equal to the owner folded from the events; nothing of a kind or key this version does not know |
//! | new lead | a member for themselves, a manager for their reps, an admin for anyone who may own leads ([`may_create_for`]) | a lead document with its `created` event, at an id outside the relay's reserved space |
//! | team | admins: anything; managers: the playbook and the products; reps: nothing | the document still reads, the playbook validates, no member who owns leads is removed or made an admin |
//! | index, any reserved id | the relay only | — |
//!
//! Who may own a lead: a rep or a manager of the team ([`may_own`]); admins oversee. Who may
//! reassign: the playbook's [`Reassignment`] (default: managers and admins), always to a member
//! who may own leads and has room for one more ([`Limits`]).
//!
//! Every refusal is a [`Refusal`]: a code with its parameters (translated by the app) and an
//! English message.
//!
//! **Extending the model.** What a lead may hold is what this version reads: its keys are the
//! fields of [`crate::lead::Lead`] (plus `schema`, `type`, `events`), its event kinds the
//! variants of [`crate::lead::EventKind`]. A capability that adds a kind or a field adds it
//! there (and to docs/documents.md), and decides who may record it in [`may_record`], whose
//! match has no catch-all, so the compiler asks. A change carrying a key or kind this version
//! does not know is refused naming it (`unknown_field`, `unknown_event_kind`), and a document
//! of a newer `schema` is not written (`newer_schema`): the relay serves the web app, so the
//! two upgrade together, and an older relay never stores what it cannot judge.
//!
//! ```
//! use fieldbook_core::write::{self, Limits};
//! # fn demo(team: &fieldbook_core::team::Team, doc: &automerge::Automerge,
//! #         before: &[automerge::ChangeHash], before_owner: &fieldbook_core::ids::MemberId) {
//! let writer = "dana".into();
//! let limits = Limits::none();
//! // On the relay, after applying a client's sync message to `doc`:
//! match write::lead::judge_change(team, &writer, &limits, Some(before_owner), doc, before) {
//!     Ok(accepted) => println!("owner now {}", accepted.facts.owner),
//!     Err(refusal) => println!("roll back: {refusal}"),
//! }
//! # }
//! ```

pub mod actions;
pub mod lead;
pub mod team;

pub use actions::{LeadActions, actions};

use crate::doc::DocumentId;
use crate::ids::{EventId, MemberId};
use crate::lead::EventKind;
use crate::playbook::Reassignment;
use crate::team::{Role, Team};
use serde::{Deserialize, Serialize};

/// Why a write is refused: a code with its parameters (`code` in JSON, for the app to
/// translate) and an English message ([`std::fmt::Display`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The writer is not a member of the team.
    #[error("{writer} is not a member of the team")]
    NotAMember {
        /// Who wrote.
        writer: MemberId,
    },
    /// The writer may not write this document at all.
    #[error("{writer} may not change this document (read-only for them)")]
    ReadOnly {
        /// Who wrote.
        writer: MemberId,
    },
    /// A document at an id reserved for the relay's own documents (team, index).
    #[error("{doc} is reserved for the relay's documents")]
    ReservedId {
        /// The document id.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        doc: DocumentId,
    },
    /// The document does not read as a document of its kind.
    #[error("not a {kind} document: {reason}")]
    NotReadable {
        /// `lead` or `team`.
        kind: String,
        /// Why.
        reason: String,
    },
    /// The document's schema is newer than this version writes.
    #[error("schema {found} is newer than {known}, the newest this version knows")]
    NewerSchema {
        /// The document's.
        found: i64,
        /// This version's.
        known: i64,
    },
    /// A key this version does not know.
    #[error("unknown field {field:?}")]
    UnknownField {
        /// The key.
        field: String,
    },
    /// A field that never changes after creation.
    #[error("{field} never changes")]
    FieldImmutable {
        /// The field.
        field: String,
    },
    /// An existing event was changed or removed (events are append-only).
    #[error("event {event} was changed or removed: events are append-only")]
    EventChanged {
        /// The event.
        event: String,
    },
    /// An event of a kind this version does not know.
    #[error("event {event} is of a kind this version does not know: {kind:?}")]
    UnknownEventKind {
        /// The event.
        event: String,
        /// Its `type`.
        kind: String,
    },
    /// An event that does not decode.
    #[error("event {event} does not decode: {reason}")]
    BadEvent {
        /// The event.
        event: String,
        /// Why.
        reason: String,
    },
    /// A new event recorded in someone else's name.
    #[error("event {event} is recorded as {by}, but {writer} wrote it")]
    WrongAuthor {
        /// The event.
        event: EventId,
        /// Its `by`.
        by: MemberId,
        /// The writer.
        writer: MemberId,
    },
    /// A kind of event the writer's role may not record.
    #[error("only a manager or an admin may record a {kind} event; {writer} is a {}", role.as_str())]
    KindNotAllowed {
        /// The writer.
        writer: MemberId,
        /// Their role.
        role: Role,
        /// The event's `type`.
        kind: String,
    },
    /// The playbook does not let the writer reassign leads.
    #[error("the playbook lets {} reassign leads; {writer} is a {}", allowed.who(), role.as_str())]
    MayNotReassign {
        /// The writer.
        writer: MemberId,
        /// Their role.
        role: Role,
        /// The playbook's setting.
        allowed: Reassignment,
    },
    /// A lead given to someone who may not own leads.
    #[error("{owner} may not own leads: {why}")]
    MayNotOwn {
        /// The would-be owner.
        owner: MemberId,
        /// Why.
        why: OwnerProblem,
    },
    /// A lead created for an owner the creator may not create leads for.
    #[error("{creator} (a {}) may not create a lead owned by {owner}", role.as_str())]
    NotTheirs {
        /// The creator.
        creator: MemberId,
        /// Their role.
        role: Role,
        /// The lead's owner.
        owner: MemberId,
    },
    /// The owner has no room for one more lead.
    #[error("{owner} already owns {count} leads (limit {limit})")]
    TooManyLeads {
        /// The owner.
        owner: MemberId,
        /// Leads owned.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The `owner` field differs from the owner folded from the events (it changes only with
    /// an `assigned` event, in the same change).
    #[error("owner {field} does not follow the events, which give {folded}")]
    OwnerMismatch {
        /// The field's value.
        field: MemberId,
        /// The folded owner.
        folded: MemberId,
    },
    /// The `owner` field set without an `assigned` event (the owner changes only by one).
    #[error("the owner changes only by an assigned event")]
    OwnerWithoutAssignment,
    /// A new lead without its `created` event.
    #[error("a new lead must carry its created event")]
    NoCreatedEvent,
    /// A manager changed the team's members, id or name.
    #[error("a manager may change the playbook and the products, not members or the team's name")]
    ManagerTeamEdit,
    /// The playbook does not validate.
    #[error("playbook.{field}: {message}")]
    InvalidPlaybook {
        /// The playbook field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A member who owns leads removed, or made unable to own them.
    #[error("{member} owns {count} leads: reassign them first")]
    MemberOwnsLeads {
        /// The member.
        member: MemberId,
        /// Leads they own.
        count: usize,
    },
}

/// Why a member may not own leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OwnerProblem {
    /// Not a member of the team.
    NotAMember,
    /// An admin (admins oversee, reps and managers own).
    Admin,
}

impl std::fmt::Display for OwnerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OwnerProblem::NotAMember => "not a member of the team",
            OwnerProblem::Admin => "an admin, not a rep or a manager",
        })
    }
}

/// How many leads each member owns and how many they may own (the relay's documents-per-member
/// limit). A device does not know every member's count: it uses [`Limits::none`] and the relay
/// decides.
pub struct Limits<'a> {
    owned: Option<&'a dyn Fn(&MemberId) -> usize>,
    max: usize,
}

impl std::fmt::Debug for Limits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl<'a> Limits<'a> {
    /// No limit (the device's view).
    pub fn none() -> Self {
        Self {
            owned: None,
            max: usize::MAX,
        }
    }

    /// At most `max` leads per member, `owned` telling how many each has now.
    pub fn new(max: usize, owned: &'a dyn Fn(&MemberId) -> usize) -> Self {
        Self {
            owned: Some(owned),
            max,
        }
    }

    /// Whether `owner` has room for one more lead.
    pub fn room_for(&self, owner: &MemberId) -> Result<(), Refusal> {
        let Some(owned) = self.owned else {
            return Ok(());
        };
        let count = owned(owner);
        if count >= self.max {
            return Err(Refusal::TooManyLeads {
                owner: owner.clone(),
                count,
                limit: self.max,
            });
        }
        Ok(())
    }

    /// How many leads `member` owns (0 when unknown).
    pub fn owned(&self, member: &MemberId) -> usize {
        self.owned.map_or(0, |owned| owned(member))
    }
}

/// The writer's role in the team.
pub fn role_of(team: &Team, writer: &MemberId) -> Result<Role, Refusal> {
    team.member(writer)
        .map(|m| m.role)
        .ok_or_else(|| Refusal::NotAMember {
            writer: writer.clone(),
        })
}

/// Whether `member` may own leads: a rep or a manager of the team.
pub fn may_own(team: &Team, member: &MemberId) -> Result<(), Refusal> {
    let why = match team.member(member).map(|m| m.role) {
        None => OwnerProblem::NotAMember,
        Some(Role::Admin) => OwnerProblem::Admin,
        Some(Role::Rep | Role::Manager) => return Ok(()),
    };
    Err(Refusal::MayNotOwn {
        owner: member.clone(),
        why,
    })
}

/// Whether `writer` may write a lead owned by `owner` (and read it): its owner, the owner's
/// manager, or an admin of the team.
pub fn may_write_lead(team: &Team, writer: &MemberId, owner: &MemberId) -> bool {
    match team.member(writer).map(|m| m.role) {
        Some(Role::Admin) => true,
        Some(Role::Manager) => writer == owner || team.manager_of(owner) == Some(writer),
        Some(Role::Rep) => writer == owner,
        None => false,
    }
}

/// Whether `creator` may create a lead owned by `owner`: a rep for themselves, a manager for
/// themselves or their reps, an admin for anyone who may own leads.
pub fn may_create_for(team: &Team, creator: &MemberId, owner: &MemberId) -> Result<(), Refusal> {
    let role = role_of(team, creator)?;
    may_own(team, owner)?;
    let allowed = match role {
        Role::Rep => owner == creator,
        Role::Manager => owner == creator || team.manager_of(owner) == Some(creator),
        Role::Admin => true,
    };
    if !allowed {
        return Err(Refusal::NotTheirs {
            creator: creator.clone(),
            role,
            owner: owner.clone(),
        });
    }
    Ok(())
}

/// Whether `writer` may record an event of `kind` on a lead they may write: the manager's
/// decisions (a review, a status override, a conflict's resolution) are for managers and
/// admins; an assignment follows the playbook's [`Reassignment`]; every other event is for
/// anyone who may write the lead.
pub fn may_record(team: &Team, writer: &MemberId, kind: &EventKind) -> Result<(), Refusal> {
    let role = role_of(team, writer)?;
    let managerial = matches!(role, Role::Manager | Role::Admin);
    let allowed = match kind {
        EventKind::ReviewDecision { .. }
        | EventKind::StatusOverride { .. }
        | EventKind::ConflictResolved { .. } => managerial,
        EventKind::Assigned { owner } => {
            may_reassign(team, writer)?;
            may_own(team, owner)?;
            true
        }
        EventKind::Created
        | EventKind::Attempt { .. }
        | EventKind::Conversation { .. }
        | EventKind::NextStep { .. }
        | EventKind::QuoteSent { .. }
        | EventKind::MaterialsRequested { .. }
        | EventKind::MaterialsSent { .. }
        | EventKind::Refusal { .. }
        | EventKind::Won { .. }
        | EventKind::Order { .. } => true,
    };
    if !allowed {
        return Err(Refusal::KindNotAllowed {
            writer: writer.clone(),
            role,
            kind: kind.type_name().to_owned(),
        });
    }
    Ok(())
}

/// Whether the playbook lets `writer` reassign the leads they may write.
pub fn may_reassign(team: &Team, writer: &MemberId) -> Result<(), Refusal> {
    let role = role_of(team, writer)?;
    let allowed = team.playbook.reassignment;
    let ok = match allowed {
        Reassignment::Admins => role == Role::Admin,
        Reassignment::Managers => matches!(role, Role::Manager | Role::Admin),
        Reassignment::Owners => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Refusal::MayNotReassign {
            writer: writer.clone(),
            role,
            allowed,
        })
    }
}

/// Whether `doc` is in the id space reserved for the relay's documents (team, index, …): see
/// [`DocumentId::is_derived`].
pub fn check_not_reserved(doc: &DocumentId) -> Result<(), Refusal> {
    if doc.is_derived() {
        return Err(Refusal::ReservedId { doc: *doc });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
