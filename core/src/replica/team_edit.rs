//! Edits of the team document on the device: the settings screen's playbook. Validated by the
//! core first, written as one Automerge change, persisted and synced like a lead command.
//! Reps may not edit the team document (the relay gives them read-only access too).

use super::{Effects, Replica, ReplicaError, Write};
use crate::commands::{CommandError, Problem};
use crate::doc::{self, team as team_doc};
use crate::playbook::Playbook;
use crate::team::Role;
use crate::write::{self, Limits};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A command on the team document, as the app sends it (JSON with a `type` tag).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TeamCommand {
    /// Replace the playbook (statuses, cadence, reasons, weights, ...).
    SetPlaybook {
        /// The new playbook, checked with [`Playbook::validate`].
        playbook: Playbook,
    },
}

impl Replica {
    /// Applies a command to the team document. Only a manager or an admin may; an invalid
    /// playbook is refused with the offending field (`playbook.<path>`) and writes nothing.
    /// Every summary folded with the old playbook is folded again (or its document asked for).
    pub fn apply_team(
        &mut self,
        command: TeamCommand,
        now: DateTime<Utc>,
    ) -> Result<Effects, ReplicaError> {
        let team = self.team.as_ref().ok_or(ReplicaError::NoTeam)?;
        if write::role_of(team, &self.member).map_err(CommandError::from)? == Role::Rep {
            return Err(CommandError::from(write::Refusal::ReadOnly {
                writer: self.member.clone(),
            })
            .into());
        }
        let TeamCommand::SetPlaybook { playbook } = command;
        playbook.validate().map_err(|e| CommandError::Invalid {
            field: format!("playbook.{}", e.field),
            problem: Problem::Playbook {
                playbook: e.problem,
            },
        })?;
        let id = self.store.team_doc;
        let doc = self
            .store
            .loaded
            .get_mut(&id)
            .ok_or(ReplicaError::NotLoaded(id))?;
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        if let Err(error) = team_doc::put_playbook(&mut tx, &playbook) {
            tx.rollback();
            return Err(error.into());
        }
        tx.commit_with(doc::commit_options(now));
        let mut effects = Effects::default();
        if doc.get_heads() == before {
            return Ok(effects); // the same playbook: nothing to write or send
        }
        // The write model has the last word, exactly as on the relay.
        if let Err(refusal) = write::team::judge_change(team, &self.member, &Limits::none(), doc) {
            super::roll_back(doc, &before)?;
            return Err(CommandError::from(refusal).into());
        }
        effects.writes.push(Write::AppendChunk {
            doc: id,
            bytes: doc.save_after(&before),
        });
        self.count_chunks(id, 1, &mut effects);
        self.reload_team(&mut effects)?;
        self.offer_local_change(id, now, &mut effects)?;
        Ok(effects)
    }
}
