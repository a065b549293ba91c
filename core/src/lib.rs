//! Fieldbook's domain core: the team, its playbook, leads and their events, and every sales
//! rule of SPEC.md as pure functions of (playbook, lead, now).
//!
//! The core does no IO, reads no clock and draws no random numbers: time and ids are
//! parameters, so the same code runs natively, in the browser (WASM) and on the relay, and
//! every device computes the same state from the same events.
//!
//! Typical use:
//!
//! ```
//! use fieldbook_core::{facts::LeadFacts, state::derive, team::Team};
//! # fn demo(team: &Team, lead: &fieldbook_core::lead::Lead, now: chrono::DateTime<chrono::Utc>) {
//! let facts = LeadFacts::from_lead(&team.playbook, lead); // when the lead changes
//! let state = derive(team, &facts, now); // whenever it is shown
//! println!("{} {:?}", state.status, state.flags);
//! # }
//! ```

pub mod analytics;
pub mod calendar;
pub mod commands;
pub mod dayplan;
pub mod doc;
pub mod facts;
pub mod ids;
pub mod lead;
pub mod money;
pub mod playbook;
pub mod queue;
pub mod relay;
pub mod replica;
pub mod review;
pub mod rules;
pub mod state;
pub mod sync;
pub mod team;
pub mod tiers;
#[cfg(feature = "ts")]
pub mod ts;
pub mod write;

#[cfg(test)]
pub(crate) mod testing;

/// The version of this crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
