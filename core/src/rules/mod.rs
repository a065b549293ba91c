//! The sales rules of SPEC §4, one file each. Every `apply` reads the lead's facts and the
//! context and adds flags and tasks to the derived state; the small `*_due` functions are
//! shared with the call queue so that both always agree.
//!
//! R4's validation (a conversation must end with a next step, a yes or a no) and R7's (a
//! refusal needs reason, products and budget) run before anything is written: see
//! `crate::commands`. R6 is `crate::queue`, R8 `crate::analytics::refusals`, R10
//! `crate::tiers`, R11 `crate::dayplan`. R14 runs twice: its detection inside the fold
//! (`crate::facts`), its flag and task here.

pub mod r01_speed_to_lead;
pub mod r02_no_answer_cadence;
pub mod r03_first_conversation;
pub mod r04_next_step;
pub mod r05_at_risk;
pub mod r07_refusal_review;
pub mod r09_nurture;
pub mod r12_trust_requests;
pub mod r13_inactive_customers;
pub mod r14_conflicts;

#[cfg(test)]
mod tests;
