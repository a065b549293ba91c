//! A write the relay refused: the device puts the document back as the relay holds it (its
//! state at the heads both sides shared), then re-applies, one by one, what this device had
//! written since and the write model still accepts (later offline work is not lost with the
//! refused change), and reports what it dropped. A new lead the relay never took is removed.
//!
//! Only this device's own writes are put back. A refused write that carries changes of
//! another actor — another member's, or another device's, which this device can only have
//! had from a relay — means the relay lost what it once accepted (restored from a backup) and
//! cannot take them from a device that did not write them: the device keeps the document as
//! it is ("held") and offers it again when the relay's copy changes (its author's device
//! re-sent them) or on the next connection. Putting it back would drop changes others hold,
//! and changes re-written under the same actor would collide with theirs.

use super::{Effects, Replica, ReplicaError, Write, mirror_owner, roll_back};
use crate::doc::{self, DocumentId, lead as lead_doc};
use crate::facts::LeadFacts;
use crate::ids::{EventId, LeadId};
use crate::sync::client::RefusedWrite;
use crate::write::{self, Limits, Refusal};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;

/// A write the relay refused, as the device reports it (the app shows it in a banner).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefusedChange {
    /// The document.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub doc: DocumentId,
    /// The lead, when the document is one.
    pub lead: Option<LeadId>,
    /// Its company (or contact), to name it.
    pub name: String,
    /// Why the relay refused it, as a code with parameters (absent from relays that do not say).
    pub refusal: Option<Refusal>,
    /// The relay's message, in English.
    pub message: String,
    /// Events of this device that the write model refuses on the relay's copy: not kept.
    pub dropped_events: Vec<EventId>,
    /// The lead was new and the relay did not take it: it is gone from this device.
    pub removed: bool,
    /// The write carried changes this device did not make (the relay lost them): the device
    /// keeps its copy and offers it again once their author's device has re-sent them.
    pub held: bool,
}

impl Replica {
    /// Puts `refused.doc` back as the relay holds it and keeps what may stand.
    pub(super) fn reset_refused(
        &mut self,
        refused: RefusedWrite,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        let id = refused.doc;
        let mut report = RefusedChange {
            doc: id,
            lead: None,
            name: String::new(),
            refusal: refused.refusal,
            message: refused.message,
            dropped_events: Vec::new(),
            removed: false,
            held: false,
        };
        let Some(local) = self.store.loaded.remove(&id) else {
            // Not in memory (it always is while its sync round runs): the next sync settles it.
            effects.refused.push(report);
            return Ok(());
        };
        let actor = local.get_actor().clone();
        if id != self.store.index_doc
            && local
                .get_changes(&refused.shared)
                .iter()
                .any(|change| change.actor_id() != &actor)
        {
            if let Ok(lead) = lead_doc::read_lead(&local) {
                report.name = lead.lead.display_name().to_owned();
                report.lead = Some(lead.lead.id);
            }
            self.store.loaded.insert(id, local);
            self.session.remove(&id);
            // Offered before the device knew the relay had lost data: once more, with the seal.
            if self.sealed.contains_key(&id) && self.sealed_retried.insert(id) {
                return self.offer_local_change(id, now, effects);
            }
            report.held = true;
            effects.refused.push(report);
            return Ok(());
        }
        if id == self.store.team_doc || id == self.store.index_doc {
            // Only managers edit the team document, as a whole playbook: a refused edit is
            // dropped, never re-applied.
            let base = fork(&local, &refused.shared, actor)?;
            effects.writes.push(Write::ReplaceDoc {
                doc: id,
                bytes: base.save(),
            });
            self.store.loaded.insert(id, base);
            if id == self.store.team_doc {
                self.reload_team(effects)?;
            }
            effects.refused.push(report);
            return self.offer_local_change(id, now, effects);
        }
        let local_lead = lead_doc::read_lead(&local)?.lead;
        report.lead = Some(local_lead.id.clone());
        report.name = local_lead.display_name().to_owned();
        if refused.shared.is_empty() {
            // The relay never took this lead.
            self.forget(id, effects);
            report.removed = true;
            report.dropped_events = local_lead.events.iter().map(|e| e.id.clone()).collect();
            effects.refused.push(report);
            return Ok(());
        }
        let mut base = fork(&local, &refused.shared, actor)?;
        let base_lead = lead_doc::read_lead(&base)?.lead;
        let Some(team) = self.team.clone() else {
            return Err(ReplicaError::NoTeam);
        };
        // A document refused again and again in one connection (the device's view of the team
        // or of the limits differs from the relay's): keep nothing of this device's.
        let refusals = self.refusals.entry(id).or_insert(0);
        *refusals += 1;
        let give_up = *refusals >= MAX_REFUSALS;
        // Re-apply this device's events the relay lacks, in their canonical order, each as a
        // command would write it: judged by the write model on the relay's copy. The events
        // the refusal is about are not.
        let mut mine: Vec<_> = local_lead
            .events
            .iter()
            .filter(|e| !base_lead.events.iter().any(|b| b.id == e.id))
            .collect();
        mine.sort_by(|a, b| a.canonical_cmp(b));
        for event in mine {
            if give_up || report.refusal.as_ref().is_some_and(|r| is_about(r, event)) {
                report.dropped_events.push(event.id.clone());
                continue;
            }
            let owner =
                LeadFacts::from_lead(&team.playbook, &lead_doc::read_lead(&base)?.lead).owner;
            let before = base.get_heads();
            let mut tx = base.transaction();
            let written = lead_doc::append_events(&mut tx, std::slice::from_ref(event))
                .and_then(|()| mirror_owner(&mut tx, &team.playbook));
            if written.is_err() {
                tx.rollback();
                report.dropped_events.push(event.id.clone());
                continue;
            }
            tx.commit_with(doc::commit_options(now));
            let verdict = write::lead::judge_change(
                &team,
                &self.member,
                &Limits::none(),
                Some(&owner),
                &base,
                &before,
            );
            if verdict.is_err() {
                roll_back(&mut base, &before)?;
                report.dropped_events.push(event.id.clone());
            }
        }
        // The edited details that differ from the relay's, as one edit.
        let local_json = serde_json::to_value(&local_lead).unwrap_or(Json::Null);
        let base_json = serde_json::to_value(&base_lead).unwrap_or(Json::Null);
        let edits: Vec<(String, Json)> = write::lead::EDITABLE
            .iter()
            .filter(|f| local_json.get(**f) != base_json.get(**f))
            .filter_map(|f| Some(((*f).to_owned(), local_json.get(*f)?.clone())))
            .collect();
        if !edits.is_empty() && !give_up {
            let owner =
                LeadFacts::from_lead(&team.playbook, &lead_doc::read_lead(&base)?.lead).owner;
            let before = base.get_heads();
            let mut tx = base.transaction();
            if lead_doc::put_fields(&mut tx, &edits).is_ok() {
                tx.commit_with(doc::commit_options(now));
                let verdict = write::lead::judge_change(
                    &team,
                    &self.member,
                    &Limits::none(),
                    Some(&owner),
                    &base,
                    &before,
                );
                if verdict.is_err() {
                    roll_back(&mut base, &before)?;
                }
            } else {
                tx.rollback();
            }
        }
        effects.writes.push(Write::ReplaceDoc {
            doc: id,
            bytes: base.save(),
        });
        self.store.loaded.insert(id, base);
        if let Some(&i) = self.slot.get(&id) {
            self.meta[i].chunks = 0;
        }
        self.refold(id, effects)?;
        effects.refused.push(report);
        self.offer_local_change(id, now, effects)
    }
}

/// Refusals of one document in one connection after which the device keeps nothing of its own
/// changes to it.
const MAX_REFUSALS: u32 = 3;

/// Whether `refusal` is about `event`: the event it names, or, for a refusal of an owner
/// change, the assignment.
fn is_about(refusal: &Refusal, event: &crate::lead::Event) -> bool {
    use crate::lead::EventKind;
    match refusal {
        Refusal::EventChanged { event: id }
        | Refusal::UnknownEventKind { event: id, .. }
        | Refusal::BadEvent { event: id, .. } => event.id.as_str() == id,
        Refusal::WrongAuthor { event: id, .. } => event.id == *id,
        Refusal::KindNotAllowed { kind, .. } => event.kind.type_name() == kind,
        Refusal::MayNotReassign { .. }
        | Refusal::MayNotOwn { .. }
        | Refusal::TooManyLeads { .. }
        | Refusal::OwnerMismatch { .. }
        | Refusal::OwnerWithoutAssignment => matches!(
            event.kind,
            EventKind::Assigned { .. } | EventKind::ConflictResolved { .. }
        ),
        _ => false,
    }
}

/// `local` as it was at `heads` (what the relay holds of it), with `actor`.
fn fork(
    local: &automerge::Automerge,
    heads: &[automerge::ChangeHash],
    actor: automerge::ActorId,
) -> Result<automerge::Automerge, ReplicaError> {
    local
        .fork_at(heads)
        .map(|d| d.with_actor(actor))
        .map_err(|e| {
            ReplicaError::Doc(doc::DocError::Automerge {
                path: "(root)".to_owned(),
                source: Box::new(e),
            })
        })
}
