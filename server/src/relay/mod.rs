//! The relay: the server reps' devices sync through.
//!
//! - [`store`]: storage behind the [`store::RelayStore`] trait; SQLite by default.
//! - [`token`]: tokens the relay signs (HMAC-SHA256) and checks at the WebSocket upgrade.
//! - [`admin`]: the admin commands (`fieldbook team|member|token`) on a store; [`demo`] the
//!   demo team.

pub mod admin;
pub mod demo;
pub mod store;
pub mod token;
