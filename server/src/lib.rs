//! The `fieldbook` command line as a library, so that tests call its commands directly:
//! [`eval`] evaluates a team and its leads at a moment from one JSON file; [`relay`] is the sync
//! server and its admin commands; [`time_input`] says why a typed time or date does not parse.

pub mod chunks;
pub mod cli;
pub mod device_store;
pub mod eval;
pub mod relay;
pub mod time_input;
