//! A write to a lead document, judged from the document before and after it (see the module
//! table in [`crate::write`]): [`judge_change`] for an existing lead or a new one, from the
//! Automerge document and the heads before the writer's changes.

use super::{Limits, Refusal, may_create_for, may_own, may_record, may_write_lead};
use crate::doc::lead::{self as lead_doc, LeadChanges, LeadDocument};
use crate::facts::LeadFacts;
use crate::ids::MemberId;
use crate::lead::EventKind;
use crate::team::Team;
use automerge::{Automerge, ChangeHash, ROOT, ReadDoc};

/// Lead fields any writer of the lead may edit (the rest never change, or only as the module
/// table says).
pub const EDITABLE: [&str; 11] = [
    "company",
    "contact",
    "phone",
    "email",
    "address",
    "source",
    "products",
    "deal_size",
    "do_not_contact",
    "account",
    "custom",
];

/// Fields set when the lead is created that never change.
const IMMUTABLE: [&str; 4] = ["id", "created_at", "schema", "type"];

/// An accepted write: the lead as it reads now and its facts, so the caller does not read it
/// again (the relay takes the owner from them).
#[derive(Debug)]
pub struct Accepted {
    /// The lead after the write.
    pub lead: LeadDocument,
    /// Its facts, folded with the team's playbook.
    pub facts: LeadFacts,
}

/// Judges the changes `writer` made to the lead document `doc` since the heads `before`
/// (empty for a document the changes created). `before_owner` is the lead's owner before the
/// write (`None` for a new lead). On success the document's new state is returned read.
pub fn judge_change(
    team: &Team,
    writer: &MemberId,
    limits: &Limits<'_>,
    before_owner: Option<&MemberId>,
    doc: &Automerge,
    before: &[ChangeHash],
) -> Result<Accepted, Refusal> {
    let changes = lead_doc::changes_since(doc, before);
    if let Some(event) = changes.touched_events.iter().next() {
        return Err(Refusal::EventChanged {
            event: event.clone(),
        });
    }
    if changes.events_replaced {
        return Err(Refusal::EventChanged {
            event: "(all)".to_owned(),
        });
    }
    let read = read(doc)?;
    unknown_root_keys(doc)?;
    if before_owner.is_some() {
        if let Some(field) = changes
            .fields
            .iter()
            .find(|f| IMMUTABLE.contains(&f.as_str()))
        {
            return Err(Refusal::FieldImmutable {
                field: field.clone(),
            });
        }
    } else if !read
        .lead
        .events
        .iter()
        .any(|e| e.kind == EventKind::Created)
    {
        return Err(Refusal::NoCreatedEvent);
    }
    judge_new_events(team, writer, &read, &changes)?;
    if before_owner.is_some() && changes.fields.contains("owner") && !assigns(&read, &changes) {
        return Err(Refusal::OwnerWithoutAssignment);
    }
    let facts = LeadFacts::from_lead(&team.playbook, &read.lead);
    if read.lead.owner != facts.owner {
        return Err(Refusal::OwnerMismatch {
            field: read.lead.owner.clone(),
            folded: facts.owner.clone(),
        });
    }
    match before_owner {
        None => {
            may_create_for(team, writer, &facts.owner)?;
            limits.room_for(&facts.owner)?;
        }
        Some(before) => {
            if !may_write_lead(team, writer, before) {
                return Err(Refusal::ReadOnly {
                    writer: writer.clone(),
                });
            }
            if *before != facts.owner {
                may_own(team, &facts.owner)?;
                limits.room_for(&facts.owner)?;
            }
        }
    }
    Ok(Accepted { lead: read, facts })
}

/// Whether the write added an event that decides the owner (an assignment, or a resolution a
/// manager made of an owner conflict).
fn assigns(read: &LeadDocument, changes: &LeadChanges) -> bool {
    read.lead.events.iter().any(|e| {
        changes.added_events.contains(e.id.as_str())
            && match &e.kind {
                EventKind::Assigned { .. } => true,
                EventKind::ConflictResolved { conflict, .. } => conflict.starts_with("owner:"),
                _ => false,
            }
    })
}

fn read(doc: &Automerge) -> Result<LeadDocument, Refusal> {
    let read = lead_doc::read_lead(doc).map_err(|e| match e {
        crate::doc::DocError::NewerSchema { found, supported } => Refusal::NewerSchema {
            found,
            known: supported,
        },
        other => Refusal::NotReadable {
            kind: "lead".to_owned(),
            reason: other.to_string(),
        },
    })?;
    if read.schema > lead_doc::SCHEMA {
        return Err(Refusal::NewerSchema {
            found: read.schema,
            known: lead_doc::SCHEMA,
        });
    }
    Ok(read)
}

/// A key at the root this version does not know (a newer client's: the relay serves the app,
/// so both upgrade together).
fn unknown_root_keys(doc: &Automerge) -> Result<(), Refusal> {
    for key in doc.keys(ROOT) {
        let known = key == "events"
            || key == "schema"
            || key == "type"
            || lead_doc::lead_fields().any(|f| f == key);
        if !known {
            return Err(Refusal::UnknownField { field: key });
        }
    }
    Ok(())
}

/// Every event the write added decodes, is the writer's, and is of a kind they may record.
fn judge_new_events(
    team: &Team,
    writer: &MemberId,
    read: &LeadDocument,
    changes: &LeadChanges,
) -> Result<(), Refusal> {
    if let Some(bad) = read
        .undecodable
        .iter()
        .find(|u| changes.added_events.contains(&u.id))
    {
        return Err(match event_type(bad) {
            Some(kind) => Refusal::UnknownEventKind {
                event: bad.id.clone(),
                kind,
            },
            None => Refusal::BadEvent {
                event: bad.id.clone(),
                reason: bad.error.to_string(),
            },
        });
    }
    for event in read
        .lead
        .events
        .iter()
        .filter(|e| changes.added_events.contains(e.id.as_str()))
    {
        if &event.by != writer {
            return Err(Refusal::WrongAuthor {
                event: event.id.clone(),
                by: event.by.clone(),
                writer: writer.clone(),
            });
        }
        may_record(team, writer, &event.kind)?;
    }
    Ok(())
}

/// The `type` of an undecodable event when it is a kind this version does not know (rather
/// than a known kind with a bad value).
fn event_type(bad: &lead_doc::UndecodableEvent) -> Option<String> {
    bad.kind
        .as_ref()
        .filter(|kind| !EventKind::TYPE_NAMES.contains(&kind.as_str()))
        .cloned()
}
