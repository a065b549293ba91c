//! The relay: the server reps' devices sync through (`fieldbook serve`).
//!
//! - [`serve`]: HTTP (axum): token check at the WebSocket upgrade, per-connection limits,
//!   `/healthz`, `/readyz`, `/metrics`, the web app's files.
//! - [`engine`]: the host of the core's sans-IO relay (`fieldbook_core::relay`: the sync hub,
//!   access, the write model's judgement of every write, index documents): one thread owning
//!   it and the store's write connection, the clock and the metrics; persists each batch before
//!   it acknowledges or forwards.
//! - [`listen`]: the accept loop (hyper): header and idle timeouts and a cap for connections
//!   that have not become a WebSocket; [`tls`] the built-in TLS, reloaded on SIGHUP.
//! - [`store`]: storage behind the [`store::RelayStore`] trait; SQLite by default.
//! - [`token`]: tokens the relay signs (HMAC-SHA256).
//! - [`admin`]: the admin commands (`fieldbook team|member|token`) on a store; [`demo`] the
//!   demo team.
//! - [`backup`]: `fieldbook backup` (a consistent copy while serving) and `fieldbook
//!   restore`, and the data directory's lock that a serving relay holds.
//! - [`metrics`]: Prometheus text.

pub mod admin;
pub mod backup;
pub mod demo;
pub mod engine;
pub mod listen;
pub mod metrics;
pub mod serve;
pub mod store;
pub mod tls;
pub mod token;
