//! The device replica: the documents a member may see, a summary per lead for the rules, and
//! the client side of sync, with every storage operation handed to the host as [`Write`]s.

pub mod store;

pub use store::Write;
