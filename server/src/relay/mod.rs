//! The relay: the server reps' devices sync through (`fieldbook serve`).
//!
//! - [`serve`]: HTTP (axum): token check at the WebSocket upgrade, per-connection limits,
//!   `/healthz`, `/readyz`, `/metrics`, the web app's files.
//! - [`listen`]: the accept loop (hyper): header and idle timeouts and a cap for connections
//!   that have not become a WebSocket; [`tls`] the built-in TLS, reloaded on SIGHUP.
//! - [`engine`]: one thread owning the core's sync `Hub`, the documents in memory, access
//!   state and storage; persists each batch before it acknowledges or forwards; writes the
//!   members' index documents.
//! - [`access`]: who may see which document (the hub's `Policy`), from the team document and
//!   each lead's owner.
//! - [`store`]: storage behind the [`store::RelayStore`] trait; SQLite by default.
//! - [`token`]: tokens the relay signs (HMAC-SHA256).
//! - [`admin`]: the admin commands (`fieldbook team|member|token`) on a store; [`demo`] the
//!   demo team.
//! - [`metrics`]: Prometheus text.

pub mod access;
pub mod admin;
pub mod demo;
pub mod engine;
pub mod listen;
pub mod metrics;
pub mod serve;
pub mod store;
pub mod tls;
pub mod token;
