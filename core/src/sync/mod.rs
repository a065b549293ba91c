//! The automerge-repo sync protocol (version "1"), sans-IO: bytes in, bytes out, deadlines the
//! host polls. [`wire`] encodes and decodes the CBOR messages, [`client::Client`] is a device's
//! side of one connection to the relay, [`hub::Hub`] the relay's side of many connections.
//!
//! Nothing here opens sockets, reads a clock or draws random numbers: the host passes `now`,
//! the peer ids and the documents, carries out what each call returns ([`client::ClientOutput`],
//! [`hub::HubOutput`]) in order — persist, then sync states, then frames — and calls back when
//! a socket closes or a document it was asked to load is in memory.
//!
//! Typical client loop (the device replica):
//!
//! ```
//! use automerge::Automerge;
//! use fieldbook_core::doc::DocumentId;
//! use fieldbook_core::sync::{client::Client, wire::{PeerId, PeerMetadata}, DocSlot, Docs};
//! use std::collections::BTreeMap;
//!
//! struct Replica(BTreeMap<DocumentId, Automerge>);
//! impl Docs for Replica {
//!     fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
//!         self.0.get_mut(id).map_or(DocSlot::Absent, DocSlot::Loaded)
//!     }
//!     fn create(&mut self, _id: &DocumentId) -> Option<&mut Automerge> {
//!         None // this device only syncs documents it already holds
//!     }
//! }
//!
//! # let now = chrono::DateTime::UNIX_EPOCH;
//! let mut replica = Replica(BTreeMap::new());
//! let mut client = Client::new(PeerId::new("device-1"), PeerMetadata::default());
//! let out = client.connect(now); // send out.frames[0] (join) on the new WebSocket
//! # let _ = out;
//! // for each frame received:   let out = client.receive(&frame, &mut replica, now);
//! // after a local change:      let out = client.sync_doc(id, &mut replica, now);
//! // when a document is loaded: let out = client.loaded(id, &mut replica, now);
//! // at client.next_deadline(): let out = client.poll(now);
//! // when the socket closes:    client.disconnected();
//! ```

pub mod client;
pub mod hub;
mod link;
pub mod wire;

use crate::doc::DocumentId;
use automerge::Automerge;

/// A problem with one document's sync, on either side of a connection (the connection goes
/// on). Part of [`client::ClientError`] and [`hub::HubError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocSyncError {
    /// A sync payload automerge rejected (ignored; changes before the error may be applied).
    #[error("bad sync message for {doc}: {reason}")]
    BadSyncMessage {
        /// The document.
        doc: DocumentId,
        /// Automerge's reason.
        reason: String,
    },
    /// Bytes given to `restore_state` that are not an encoded sync state.
    #[error("bad sync state for {doc}: {reason}")]
    BadSyncState {
        /// The document.
        doc: DocumentId,
        /// Automerge's reason.
        reason: String,
    },
    /// More messages arrived for a document being loaded than the peer keeps.
    #[error("dropped a message for {0} while it loads")]
    ParkedOverflow(DocumentId),
}

/// How a document stands on this side, as the host reports it.
#[derive(Debug)]
pub enum DocSlot<'a> {
    /// In memory.
    Loaded(&'a mut Automerge),
    /// In storage but not in memory: the protocol parks the document's messages, asks the host
    /// to load it (`need_load`) and resumes when the host calls `loaded`.
    NotLoaded,
    /// Not held here.
    Absent,
}

/// The documents of one side, implemented by the host (the device replica, the relay), which
/// loads them lazily.
pub trait Docs {
    /// The document, if held.
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_>;

    /// A new empty document to receive a document this side does not hold yet, with the host's
    /// actor id; `None` if the host will not hold it. Called only for [`DocSlot::Absent`]
    /// documents; the host stores the document once it has changes (the output's `changed`).
    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge>;

    /// Forgets a document [`Docs::create`] made whose first changes were refused (the hub's
    /// write gate, [`hub::Policy::admit`]): it never existed.
    fn discard(&mut self, _id: &DocumentId) {}
}
