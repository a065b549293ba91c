//! The automerge-repo wire protocol, version "1": one CBOR map per binary WebSocket frame.
//!
//! Shapes follow these sources (field names are camelCase, `data` is a CBOR byte string, ids
//! are text):
//! - automerge-repo `packages/automerge-repo/src/network/messages.ts` (`sync`, `request`,
//!   `doc-unavailable`, `ephemeral` with `count` and `sessionId`,
//!   `remote-subscription-change` with optional `add`/`remove`, `remote-heads-changed` with
//!   `newHeads: { [storageId]: { heads: string[], timestamp: number } }`);
//! - automerge-repo `packages/automerge-repo-network-websocket/src/messages.ts` (`join` with
//!   `peerMetadata` and `supportedProtocolVersions`, `peer` with `peerMetadata`,
//!   `selectedProtocolVersion` and `targetId`, `error` with `message`, `leave`), and
//!   `WebSocketServerAdapter.ts` (a `join` without `supportedProtocolVersions` means "1");
//! - `packages/automerge-repo/src/helpers/cbor.ts`: cbor-x with `tagUint8Array: false,
//!   useRecords: false`, so objects are plain maps (cbor-x writes a map16 header) and
//!   `Uint8Array`s untagged byte strings; cbor-x writes numbers above `u32::MAX` as float64 and
//!   `undefined` as simple value 23;
//! - samod-core `src/network/wire_protocol.rs` (the Rust automerge-repo): the same shapes; it
//!   also accepts `metadata` for `peerMetadata`, a byte-string `documentId`, floats for `count`
//!   and `timestamp`, and `undefined` for `add`/`remove`/`storageId`, and sends `error` with
//!   only `type` and `message`.
//!
//! [`decode`] is total: any input gives a [`Message`] or a [`WireError`], never a panic. The
//! frame size is checked before parsing, nesting is bounded by ciborium's recursion limit, byte
//! and text strings are read in 4 KiB chunks (a length prefix claiming gigabytes fails at the
//! end of the input), and arrays and maps are never preallocated from their claimed length.
//! Unknown message types decode to [`Message::Unknown`], which receivers ignore as the JS
//! `NetworkSubsystem` does (provided the fields they share with known types, such as `data`,
//! have the usual CBOR types; fields with other names are skipped unread).

use crate::doc::DocumentId;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The only protocol version automerge-repo speaks today.
pub const PROTOCOL_V1: &str = "1";

/// An automerge-repo peer id: any string the peer chooses (the host supplies ours).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

impl PeerId {
    /// The peer id with this text.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The text of the id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({:?})", self.0)
    }
}

impl From<&str> for PeerId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// What a peer says about itself in `join` and `peer` (`PeerMetadata` in automerge-repo's
/// `NetworkAdapterInterface.ts`): the id of its storage, under which the other side may keep
/// sync states, and whether it will come back with that storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// `storageId`: absent (or `undefined`) for a peer without storage.
    pub storage_id: Option<String>,
    /// `isEphemeral`: an absent field reads as `false`.
    pub is_ephemeral: bool,
}

/// One entry of `remote-heads-changed`'s `newHeads`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadsInfo {
    /// The document's heads in that storage, as automerge-repo writes them (strings).
    pub heads: Vec<String>,
    /// Milliseconds since the Unix epoch on the peer that first sent the message.
    pub timestamp: u64,
}

/// A protocol message. `sender_id`/`target_id` are the `senderId`/`targetId` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `join`: the client's first message.
    Join {
        /// The client.
        sender_id: PeerId,
        /// `supportedProtocolVersions`; `None` when absent (the JS server then selects "1").
        supported_protocol_versions: Option<Vec<String>>,
        /// `peerMetadata`.
        peer_metadata: Option<PeerMetadata>,
    },
    /// `peer`: the server's answer to `join`.
    Peer {
        /// The server.
        sender_id: PeerId,
        /// The client.
        target_id: PeerId,
        /// `selectedProtocolVersion`.
        selected_protocol_version: String,
        /// `peerMetadata`.
        peer_metadata: Option<PeerMetadata>,
    },
    /// `leave`: the sender is disconnecting.
    Leave {
        /// The peer leaving.
        sender_id: PeerId,
    },
    /// `error`: without a document, the sender closes the connection after it. Fieldbook's
    /// relay also sends one naming a document whose write it refused (`documentId`, and the
    /// refusal as JSON in `refusal`); the connection goes on. The published JS client's
    /// WebSocket adapter logs an `error` message and drops it.
    Error {
        /// `senderId` (the JS server sends it, samod does not).
        sender_id: Option<PeerId>,
        /// `targetId` (the JS server sends it, samod does not).
        target_id: Option<PeerId>,
        /// `message`.
        message: String,
        /// `documentId`: the document whose write was refused (Fieldbook's relay).
        document_id: Option<DocumentId>,
        /// `refusal`: why, as the JSON of the core's `write::Refusal` (Fieldbook's relay).
        refusal: Option<String>,
    },
    /// `request`: a sync message from a peer that does not have the document.
    Request {
        /// The sender.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `documentId`.
        document_id: DocumentId,
        /// `data`: an encoded automerge sync message.
        data: Vec<u8>,
        /// `sealedHeads` and `seal` (Fieldbook's devices, to a relay restored from a backup).
        sealed: Option<Sealed>,
    },
    /// `sync`: an automerge sync message for one document.
    Sync {
        /// The sender.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `documentId`.
        document_id: DocumentId,
        /// `data`: an encoded automerge sync message.
        data: Vec<u8>,
        /// `sealedHeads` and `seal` (Fieldbook's devices, to a relay restored from a backup).
        sealed: Option<Sealed>,
    },
    /// `doc-unavailable`: the sender does not have the document (or may not share it).
    DocUnavailable {
        /// The sender.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `documentId`.
        document_id: DocumentId,
    },
    /// `ephemeral`: application data gossiped about a document, never stored.
    Ephemeral {
        /// The peer that first sent it.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `documentId`.
        document_id: DocumentId,
        /// `count`: increases with each message of a session.
        count: u64,
        /// `sessionId`.
        session_id: String,
        /// `data`.
        data: Vec<u8>,
    },
    /// `remote-subscription-change`: storage ids whose heads the sender wants to hear about.
    RemoteSubscriptionChange {
        /// The sender.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `add`.
        add: Option<Vec<String>>,
        /// `remove`.
        remove: Option<Vec<String>>,
    },
    /// `remote-heads-changed`: a document's heads in other storages.
    RemoteHeadsChanged {
        /// The sender.
        sender_id: PeerId,
        /// The recipient.
        target_id: PeerId,
        /// `documentId`.
        document_id: DocumentId,
        /// `newHeads`, by storage id.
        new_heads: BTreeMap<String, HeadsInfo>,
    },
    /// A message of a type this implementation does not know; receivers ignore it.
    Unknown {
        /// Its `type`.
        message_type: String,
    },
}

impl Message {
    /// The `type` field.
    pub fn message_type(&self) -> &str {
        match self {
            Self::Join { .. } => "join",
            Self::Peer { .. } => "peer",
            Self::Leave { .. } => "leave",
            Self::Error { .. } => "error",
            Self::Request { .. } => "request",
            Self::Sync { .. } => "sync",
            Self::DocUnavailable { .. } => "doc-unavailable",
            Self::Ephemeral { .. } => "ephemeral",
            Self::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Self::RemoteHeadsChanged { .. } => "remote-heads-changed",
            Self::Unknown { message_type } => message_type,
        }
    }
}

/// Heads of a document the relay sealed in an index entry ([`crate::relay::seal`]), sent back
/// by a device beside its sync messages (`sealedHeads`, hex change hashes, and `seal`): the
/// relay takes every change within them from any member who may write the document. Other
/// peers ignore the fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The heads, as hex change hashes.
    pub heads: Vec<String>,
    /// The relay's seal of them.
    pub seal: String,
}

/// Bounds on what [`decode`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// The deepest nesting of CBOR arrays, maps and tags accepted (the messages need 4).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 8 MiB frames (a lead is ~2 KB; the first sync of a large team document stays far
    /// below), nesting 16.
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024 * 1024,
            max_depth: 16,
        }
    }
}

/// Why a frame is not a protocol message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The frame is larger than [`Limits::max_frame_bytes`]; it was not parsed.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The frame is empty.
    #[error("empty frame")]
    Empty,
    /// Not CBOR, truncated, or a value of the wrong CBOR type for its field.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Nested deeper than [`Limits::max_depth`].
    #[error("message nested too deeply")]
    TooDeep,
    /// Bytes follow the message.
    #[error("{0} bytes after the message")]
    TrailingBytes(usize),
    /// The map has no `type`.
    #[error("message without a type")]
    MissingType,
    /// A field the message type requires is missing.
    #[error("{message_type} message without {field}")]
    MissingField {
        /// The message's type.
        message_type: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// `documentId` is not an automerge-repo document id.
    #[error("invalid documentId {0:?}")]
    InvalidDocumentId(String),
}

/// Encodes a message as CBOR.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every value here is serializable.
    ciborium::ser::into_writer(message, &mut out).expect("encoding to a Vec cannot fail");
    out
}

/// Decodes one message from a frame.
pub fn decode(frame: &[u8], limits: Limits) -> Result<Message, WireError> {
    if frame.len() > limits.max_frame_bytes {
        return Err(WireError::TooLarge {
            size: frame.len(),
            max: limits.max_frame_bytes,
        });
    }
    if frame.is_empty() {
        return Err(WireError::Empty);
    }
    let mut rest = frame;
    let raw: Raw = ciborium::de::from_reader_with_recursion_limit(&mut rest, limits.max_depth)
        .map_err(|error| match error {
            ciborium::de::Error::RecursionLimitExceeded => WireError::TooDeep,
            ciborium::de::Error::Io(_) => WireError::Malformed("truncated".into()),
            ciborium::de::Error::Syntax(offset) => {
                WireError::Malformed(format!("invalid CBOR at byte {offset}"))
            }
            ciborium::de::Error::Semantic(_, text) => WireError::Malformed(text),
        })?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes(rest.len()));
    }
    raw.into_message()
}

// ---- encoding ----

struct ByteString<'a>(&'a [u8]);

impl Serialize for ByteString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// A number as cbor-x writes a JS number: an unsigned integer up to `u32::MAX`, a float64 up
/// to 2^53 (JS numbers are exact that far). Larger values, which only a non-JS peer can send,
/// stay exact as a CBOR uint64.
struct JsNumber(u64);

impl Serialize for JsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 <= u64::from(u32::MAX) || self.0 > 1 << 53 {
            serializer.serialize_u64(self.0)
        } else {
            serializer.serialize_f64(self.0 as f64)
        }
    }
}

struct MetadataOut<'a>(&'a PeerMetadata);

impl Serialize for MetadataOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let meta = self.0;
        let mut map = serializer.serialize_map(Some(1 + usize::from(meta.storage_id.is_some())))?;
        if let Some(storage_id) = &meta.storage_id {
            map.serialize_entry("storageId", storage_id)?;
        }
        map.serialize_entry("isEphemeral", &meta.is_ephemeral)?;
        map.end()
    }
}

struct HeadsOut<'a>(&'a HeadsInfo);

impl Serialize for HeadsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("heads", &self.0.heads)?;
        map.serialize_entry("timestamp", &JsNumber(self.0.timestamp))?;
        map.end()
    }
}

struct NewHeadsOut<'a>(&'a BTreeMap<String, HeadsInfo>);

impl Serialize for NewHeadsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (storage_id, info) in self.0 {
            map.serialize_entry(storage_id, &HeadsOut(info))?;
        }
        map.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let optional = |present: bool| usize::from(present);
        match self {
            Self::Join {
                sender_id,
                supported_protocol_versions,
                peer_metadata,
            } => {
                let n = 2
                    + optional(supported_protocol_versions.is_some())
                    + optional(peer_metadata.is_some());
                let mut map = serializer.serialize_map(Some(n))?;
                map.serialize_entry("type", "join")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                if let Some(meta) = peer_metadata {
                    map.serialize_entry("peerMetadata", &MetadataOut(meta))?;
                }
                if let Some(versions) = supported_protocol_versions {
                    map.serialize_entry("supportedProtocolVersions", versions)?;
                }
                map.end()
            }
            Self::Peer {
                sender_id,
                target_id,
                selected_protocol_version,
                peer_metadata,
            } => {
                let mut map =
                    serializer.serialize_map(Some(4 + optional(peer_metadata.is_some())))?;
                map.serialize_entry("type", "peer")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                if let Some(meta) = peer_metadata {
                    map.serialize_entry("peerMetadata", &MetadataOut(meta))?;
                }
                map.serialize_entry("selectedProtocolVersion", selected_protocol_version)?;
                map.serialize_entry("targetId", target_id.as_str())?;
                map.end()
            }
            Self::Leave { sender_id } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "leave")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.end()
            }
            Self::Error {
                sender_id,
                target_id,
                message,
                document_id,
                refusal,
            } => {
                let n = 2
                    + optional(sender_id.is_some())
                    + optional(target_id.is_some())
                    + optional(document_id.is_some())
                    + optional(refusal.is_some());
                let mut map = serializer.serialize_map(Some(n))?;
                map.serialize_entry("type", "error")?;
                if let Some(sender_id) = sender_id {
                    map.serialize_entry("senderId", sender_id.as_str())?;
                }
                map.serialize_entry("message", message)?;
                if let Some(target_id) = target_id {
                    map.serialize_entry("targetId", target_id.as_str())?;
                }
                if let Some(document_id) = document_id {
                    map.serialize_entry("documentId", &document_id.to_string())?;
                }
                if let Some(refusal) = refusal {
                    map.serialize_entry("refusal", refusal)?;
                }
                map.end()
            }
            Self::Request {
                sender_id,
                target_id,
                document_id,
                data,
                sealed,
            }
            | Self::Sync {
                sender_id,
                target_id,
                document_id,
                data,
                sealed,
            } => {
                let n = 5 + 2 * optional(sealed.is_some());
                let mut map = serializer.serialize_map(Some(n))?;
                map.serialize_entry("type", self.message_type())?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.serialize_entry("targetId", target_id.as_str())?;
                map.serialize_entry("documentId", &document_id.to_string())?;
                map.serialize_entry("data", &ByteString(data))?;
                if let Some(sealed) = sealed {
                    map.serialize_entry("sealedHeads", &sealed.heads)?;
                    map.serialize_entry("seal", &sealed.seal)?;
                }
                map.end()
            }
            Self::DocUnavailable {
                sender_id,
                target_id,
                document_id,
            } => {
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("type", "doc-unavailable")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.serialize_entry("targetId", target_id.as_str())?;
                map.serialize_entry("documentId", &document_id.to_string())?;
                map.end()
            }
            Self::Ephemeral {
                sender_id,
                target_id,
                document_id,
                count,
                session_id,
                data,
            } => {
                let mut map = serializer.serialize_map(Some(7))?;
                map.serialize_entry("type", "ephemeral")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.serialize_entry("targetId", target_id.as_str())?;
                map.serialize_entry("count", &JsNumber(*count))?;
                map.serialize_entry("sessionId", session_id)?;
                map.serialize_entry("documentId", &document_id.to_string())?;
                map.serialize_entry("data", &ByteString(data))?;
                map.end()
            }
            Self::RemoteSubscriptionChange {
                sender_id,
                target_id,
                add,
                remove,
            } => {
                let n = 3 + optional(add.is_some()) + optional(remove.is_some());
                let mut map = serializer.serialize_map(Some(n))?;
                map.serialize_entry("type", "remote-subscription-change")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.serialize_entry("targetId", target_id.as_str())?;
                if let Some(add) = add {
                    map.serialize_entry("add", add)?;
                }
                if let Some(remove) = remove {
                    map.serialize_entry("remove", remove)?;
                }
                map.end()
            }
            Self::RemoteHeadsChanged {
                sender_id,
                target_id,
                document_id,
                new_heads,
            } => {
                let mut map = serializer.serialize_map(Some(5))?;
                map.serialize_entry("type", "remote-heads-changed")?;
                map.serialize_entry("senderId", sender_id.as_str())?;
                map.serialize_entry("targetId", target_id.as_str())?;
                map.serialize_entry("documentId", &document_id.to_string())?;
                map.serialize_entry("newHeads", &NewHeadsOut(new_heads))?;
                map.end()
            }
            Self::Unknown { message_type } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("type", message_type)?;
                map.end()
            }
        }
    }
}

// ---- decoding ----

/// Every field any message type has, each optional; the message type decides which it needs.
/// Unknown fields are skipped without being kept.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(rename = "type")]
    message_type: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<RawDocumentId>,
    data: Option<Bytes>,
    supported_protocol_versions: Option<Strings>,
    selected_protocol_version: Option<String>,
    #[serde(alias = "metadata")]
    peer_metadata: Option<RawMetadata>,
    message: Option<String>,
    refusal: Option<String>,
    count: Option<JsInteger>,
    session_id: Option<String>,
    add: Option<Strings>,
    remove: Option<Strings>,
    new_heads: Option<NewHeads>,
    sealed_heads: Option<Strings>,
    seal: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    storage_id: Option<String>,
    is_ephemeral: Option<bool>,
}

#[derive(Deserialize)]
struct RawHeads {
    heads: Option<Strings>,
    timestamp: Option<JsInteger>,
}

impl Raw {
    fn into_message(self) -> Result<Message, WireError> {
        let message_type = self.message_type.clone().ok_or(WireError::MissingType)?;
        let kind: &'static str = match message_type.as_str() {
            "join" => "join",
            "peer" => "peer",
            "leave" => "leave",
            "error" => "error",
            "request" => "request",
            "sync" => "sync",
            "doc-unavailable" => "doc-unavailable",
            "ephemeral" => "ephemeral",
            "remote-subscription-change" => "remote-subscription-change",
            "remote-heads-changed" => "remote-heads-changed",
            _ => return Ok(Message::Unknown { message_type }),
        };
        let missing = |field| WireError::MissingField {
            message_type: kind,
            field,
        };
        let peer = |id: Option<String>, field| id.map(PeerId).ok_or_else(|| missing(field));
        let document =
            |id: Option<RawDocumentId>| id.ok_or_else(|| missing("documentId"))?.into_document_id();
        let metadata = |meta: Option<RawMetadata>| {
            meta.map(|meta| PeerMetadata {
                storage_id: meta.storage_id,
                is_ephemeral: meta.is_ephemeral.unwrap_or(false),
            })
        };
        Ok(match kind {
            "join" => Message::Join {
                sender_id: peer(self.sender_id, "senderId")?,
                supported_protocol_versions: self.supported_protocol_versions.map(|s| s.0),
                peer_metadata: metadata(self.peer_metadata),
            },
            "peer" => Message::Peer {
                sender_id: peer(self.sender_id, "senderId")?,
                target_id: peer(self.target_id, "targetId")?,
                selected_protocol_version: self
                    .selected_protocol_version
                    .ok_or_else(|| missing("selectedProtocolVersion"))?,
                peer_metadata: metadata(self.peer_metadata),
            },
            "leave" => Message::Leave {
                sender_id: peer(self.sender_id, "senderId")?,
            },
            "error" => Message::Error {
                sender_id: self.sender_id.map(PeerId),
                target_id: self.target_id.map(PeerId),
                message: self.message.ok_or_else(|| missing("message"))?,
                document_id: self
                    .document_id
                    .map(RawDocumentId::into_document_id)
                    .transpose()?,
                refusal: self.refusal,
            },
            "request" | "sync" => {
                let sender_id = peer(self.sender_id, "senderId")?;
                let target_id = peer(self.target_id, "targetId")?;
                let document_id = document(self.document_id)?;
                let data = self.data.ok_or_else(|| missing("data"))?.0;
                let sealed = match (self.sealed_heads, self.seal) {
                    (Some(heads), Some(seal)) => Some(Sealed {
                        heads: heads.0,
                        seal,
                    }),
                    _ => None,
                };
                if kind == "sync" {
                    Message::Sync {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                        sealed,
                    }
                } else {
                    Message::Request {
                        sender_id,
                        target_id,
                        document_id,
                        data,
                        sealed,
                    }
                }
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: peer(self.sender_id, "senderId")?,
                target_id: peer(self.target_id, "targetId")?,
                document_id: document(self.document_id)?,
            },
            "ephemeral" => Message::Ephemeral {
                sender_id: peer(self.sender_id, "senderId")?,
                target_id: peer(self.target_id, "targetId")?,
                document_id: document(self.document_id)?,
                count: self.count.ok_or_else(|| missing("count"))?.0,
                session_id: self.session_id.ok_or_else(|| missing("sessionId"))?,
                data: self.data.ok_or_else(|| missing("data"))?.0,
            },
            "remote-subscription-change" => Message::RemoteSubscriptionChange {
                sender_id: peer(self.sender_id, "senderId")?,
                target_id: peer(self.target_id, "targetId")?,
                add: self.add.map(|s| s.0),
                remove: self.remove.map(|s| s.0),
            },
            _ => Message::RemoteHeadsChanged {
                sender_id: peer(self.sender_id, "senderId")?,
                target_id: peer(self.target_id, "targetId")?,
                document_id: document(self.document_id)?,
                new_heads: self.new_heads.ok_or_else(|| missing("newHeads"))?.0,
            },
        })
    }
}

/// A `documentId` as sent: text (automerge-repo) or its 16 raw bytes (accepted by samod).
enum RawDocumentId {
    Text(String),
    Bytes(Vec<u8>),
}

impl RawDocumentId {
    fn into_document_id(self) -> Result<DocumentId, WireError> {
        match self {
            Self::Text(text) => text.parse().map_err(|_| WireError::InvalidDocumentId(text)),
            Self::Bytes(bytes) => <[u8; 16]>::try_from(bytes.as_slice())
                .map(DocumentId::from_bytes)
                .map_err(|_| WireError::InvalidDocumentId(format!("{} raw bytes", bytes.len()))),
        }
    }
}

impl<'de> Deserialize<'de> for RawDocumentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDocumentId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a document id (text or bytes)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawDocumentId::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(RawDocumentId::Text(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(RawDocumentId::Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(RawDocumentId::Bytes(v))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A CBOR byte string (not an array of numbers).
struct Bytes(Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(Bytes(v))
            }
        }
        deserializer.deserialize_byte_buf(V)
    }
}

/// An array of text strings, grown one element at a time (never preallocated from the
/// array's claimed length).
struct Strings(Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(Strings(out))
            }
        }
        deserializer.deserialize_seq(V)
    }
}

/// `newHeads`: a map from storage id to heads, grown one entry at a time.
struct NewHeads(BTreeMap<String, HeadsInfo>);

impl<'de> Deserialize<'de> for NewHeads {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NewHeads;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of storage ids to heads")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((storage_id, raw)) = map.next_entry::<String, RawHeads>()? {
                    out.insert(
                        storage_id,
                        HeadsInfo {
                            heads: raw.heads.map(|s| s.0).unwrap_or_default(),
                            timestamp: raw.timestamp.map(|t| t.0).unwrap_or(0),
                        },
                    );
                }
                Ok(NewHeads(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A non-negative integer written by JS: a CBOR unsigned integer, or a float64 with an integral
/// value (cbor-x writes numbers above `u32::MAX` as floats).
struct JsInteger(u64);

impl<'de> Deserialize<'de> for JsInteger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = JsInteger;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsInteger(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(JsInteger)
                    .map_err(|_| E::custom("negative integer"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // 2^64 as f64; integral floats below it convert exactly.
                if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0
                {
                    Ok(JsInteger(v as u64))
                } else {
                    Err(E::custom("not a non-negative integer"))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Builds CBOR the way cbor-x does for a plain JS object with `useRecords: false`: a map16
    /// header (0xb9 + 2 length bytes), then keys and values in insertion order.
    struct CborX(Vec<u8>);

    impl CborX {
        fn map(n: u16) -> Self {
            let mut out = vec![0xb9];
            out.extend_from_slice(&n.to_be_bytes());
            Self(out)
        }
        fn head(&mut self, major: u8, len: usize) {
            let major = major << 5;
            if len < 24 {
                self.0.push(major | len as u8);
            } else if len < 0x100 {
                self.0.extend([major | 24, len as u8]);
            } else {
                self.0.push(major | 25);
                self.0.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        fn text(mut self, s: &str) -> Self {
            self.head(3, s.len());
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn bytes(mut self, b: &[u8]) -> Self {
            self.head(2, b.len());
            self.0.extend_from_slice(b);
            self
        }
        fn array(mut self, n: usize) -> Self {
            self.head(4, n);
            self
        }
        fn raw(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
        fn nested_map(self, n: u16) -> Self {
            let mut inner = Self::map(n);
            let mut out = self.0;
            out.append(&mut inner.0);
            Self(out)
        }
    }

    fn doc_id() -> DocumentId {
        DocumentId::from_bytes([7; 16])
    }

    fn decode_ok(bytes: &[u8]) -> Message {
        decode(bytes, Limits::default()).expect("decodes")
    }

    #[test]
    fn decodes_a_js_join_with_metadata_and_undefined_storage_id() {
        // WebSocketClientAdapter's joinMessage(): { type, senderId, peerMetadata,
        // supportedProtocolVersions }; a browser repo without storage has storageId undefined.
        let frame = CborX::map(4)
            .text("type")
            .text("join")
            .text("senderId")
            .text("peer-abc")
            .text("peerMetadata")
            .nested_map(2)
            .text("storageId")
            .raw(&[0xf7])
            .text("isEphemeral")
            .raw(&[0xf5])
            .text("supportedProtocolVersions")
            .array(1)
            .text("1");
        assert_eq!(
            decode_ok(&frame.0),
            Message::Join {
                sender_id: "peer-abc".into(),
                supported_protocol_versions: Some(vec!["1".into()]),
                peer_metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true
                }),
            }
        );
    }

    #[test]
    fn decodes_a_js_peer_and_error() {
        // WebSocketServerAdapter: { type, senderId, peerMetadata, selectedProtocolVersion,
        // targetId } and { type, senderId, message, targetId }.
        let frame = CborX::map(5)
            .text("type")
            .text("peer")
            .text("senderId")
            .text("server")
            .text("peerMetadata")
            .nested_map(2)
            .text("storageId")
            .text("s-1")
            .text("isEphemeral")
            .raw(&[0xf4])
            .text("selectedProtocolVersion")
            .text("1")
            .text("targetId")
            .text("peer-abc");
        assert_eq!(
            decode_ok(&frame.0),
            Message::Peer {
                sender_id: "server".into(),
                target_id: "peer-abc".into(),
                selected_protocol_version: "1".into(),
                peer_metadata: Some(PeerMetadata {
                    storage_id: Some("s-1".into()),
                    is_ephemeral: false
                }),
            }
        );
        let frame = CborX::map(4)
            .text("type")
            .text("error")
            .text("senderId")
            .text("server")
            .text("message")
            .text("unsupported protocol version")
            .text("targetId")
            .text("peer-abc");
        assert_eq!(
            decode_ok(&frame.0),
            Message::Error {
                sender_id: Some("server".into()),
                target_id: Some("peer-abc".into()),
                message: "unsupported protocol version".into(),
                document_id: None,
                refusal: None,
            }
        );
    }

    #[test]
    fn decodes_js_sync_request_and_unavailable_in_js_key_order() {
        // DocSynchronizer emits { type, targetId, data, documentId } and NetworkSubsystem
        // appends senderId; `data` is an untagged byte string (tagUint8Array: false).
        let id = doc_id().to_string();
        let sync = CborX::map(5)
            .text("type")
            .text("sync")
            .text("targetId")
            .text("server")
            .text("data")
            .bytes(&[0x42, 0, 0])
            .text("documentId")
            .text(&id)
            .text("senderId")
            .text("peer-abc");
        assert_eq!(
            decode_ok(&sync.0),
            Message::Sync {
                sender_id: "peer-abc".into(),
                target_id: "server".into(),
                document_id: doc_id(),
                data: vec![0x42, 0, 0],
                sealed: None,
            }
        );
        let request = CborX::map(5)
            .text("type")
            .text("request")
            .text("targetId")
            .text("server")
            .text("documentId")
            .text(&id)
            .text("data")
            .bytes(&[1, 2])
            .text("senderId")
            .text("peer-abc");
        assert!(matches!(decode_ok(&request.0), Message::Request { data, .. } if data == [1, 2]));
        let unavailable = CborX::map(4)
            .text("type")
            .text("doc-unavailable")
            .text("documentId")
            .text(&id)
            .text("targetId")
            .text("peer-abc")
            .text("senderId")
            .text("server");
        assert_eq!(
            decode_ok(&unavailable.0),
            Message::DocUnavailable {
                sender_id: "server".into(),
                target_id: "peer-abc".into(),
                document_id: doc_id(),
            }
        );
    }

    #[test]
    fn decodes_ephemeral_with_a_float_count_and_remote_heads_with_a_float_timestamp() {
        let id = doc_id().to_string();
        let mut big = vec![0xfb];
        big.extend_from_slice(&5_000_000_000f64.to_be_bytes());
        let ephemeral = CborX::map(7)
            .text("type")
            .text("ephemeral")
            .text("targetId")
            .text("server")
            .text("documentId")
            .text(&id)
            .text("data")
            .bytes(&[0xa0])
            .text("count")
            .raw(&big)
            .text("sessionId")
            .text("k3j2")
            .text("senderId")
            .text("peer-abc");
        assert_eq!(
            decode_ok(&ephemeral.0),
            Message::Ephemeral {
                sender_id: "peer-abc".into(),
                target_id: "server".into(),
                document_id: doc_id(),
                count: 5_000_000_000,
                session_id: "k3j2".into(),
                data: vec![0xa0],
            }
        );
        let mut stamp = vec![0xfb];
        stamp.extend_from_slice(&1_764_000_000_000f64.to_be_bytes());
        let heads = CborX::map(5)
            .text("type")
            .text("remote-heads-changed")
            .text("targetId")
            .text("peer-abc")
            .text("documentId")
            .text(&id)
            .text("newHeads")
            .nested_map(1)
            .text("storage-1")
            .nested_map(2)
            .text("heads")
            .array(1)
            .text("abcd")
            .text("timestamp")
            .raw(&stamp)
            .text("senderId")
            .text("server");
        let Message::RemoteHeadsChanged { new_heads, .. } = decode_ok(&heads.0) else {
            panic!("not remote-heads-changed")
        };
        assert_eq!(
            new_heads["storage-1"],
            HeadsInfo {
                heads: vec!["abcd".into()],
                timestamp: 1_764_000_000_000
            }
        );
    }

    #[test]
    fn decodes_subscription_change_with_undefined_remove_and_unknown_types() {
        let frame = CborX::map(5)
            .text("type")
            .text("remote-subscription-change")
            .text("targetId")
            .text("server")
            .text("add")
            .array(1)
            .text("storage-1")
            .text("remove")
            .raw(&[0xf7])
            .text("senderId")
            .text("peer-abc");
        assert_eq!(
            decode_ok(&frame.0),
            Message::RemoteSubscriptionChange {
                sender_id: "peer-abc".into(),
                target_id: "server".into(),
                add: Some(vec!["storage-1".into()]),
                remove: None,
            }
        );
        let frame = CborX::map(2)
            .text("type")
            .text("future-thing")
            .text("payload")
            .array(2)
            .text("whatever")
            .raw(&[0xf6]);
        assert_eq!(
            decode_ok(&frame.0),
            Message::Unknown {
                message_type: "future-thing".into()
            }
        );
    }

    #[test]
    fn encodes_exact_bytes() {
        // {"type": "doc-unavailable", "senderId": "s", "targetId": "c", "documentId": id}
        let id = doc_id().to_string();
        let message = Message::DocUnavailable {
            sender_id: "s".into(),
            target_id: "c".into(),
            document_id: doc_id(),
        };
        let mut expected = vec![0xa4];
        for (k, v) in [
            ("type", "doc-unavailable"),
            ("senderId", "s"),
            ("targetId", "c"),
            ("documentId", id.as_str()),
        ] {
            for s in [k, v] {
                if s.len() < 24 {
                    expected.push(0x60 | s.len() as u8);
                } else {
                    expected.extend([0x78, s.len() as u8]);
                }
                expected.extend_from_slice(s.as_bytes());
            }
        }
        assert_eq!(id.len(), 27);
        assert_eq!(encode(&message), expected);

        // data is a byte string (major type 2), not an array.
        let sync = encode(&Message::Sync {
            sender_id: "s".into(),
            target_id: "c".into(),
            document_id: doc_id(),
            data: vec![0x42, 1],
            sealed: None,
        });
        assert!(sync.ends_with(&[0x64, b'd', b'a', b't', b'a', 0x42, 0x42, 1]));

        // Numbers above u32::MAX are float64, as cbor-x writes them.
        let ephemeral = encode(&Message::Ephemeral {
            sender_id: "s".into(),
            target_id: "c".into(),
            document_id: doc_id(),
            count: 7,
            session_id: "x".into(),
            data: vec![],
        });
        assert!(
            ephemeral
                .windows(7)
                .any(|w| w == [0x65, b'c', b'o', b'u', b'n', b't', 7])
        );
        let count_bytes = |count: u64| {
            let frame = encode(&Message::Ephemeral {
                sender_id: "s".into(),
                target_id: "c".into(),
                document_id: doc_id(),
                count,
                session_id: "x".into(),
                data: vec![],
            });
            let at = frame
                .windows(6)
                .position(|w| w == [0x65, b'c', b'o', b'u', b'n', b't'])
                .expect("count key")
                + 6;
            frame[at..at + 9].to_vec()
        };
        // Above u32::MAX cbor-x writes a float64 (ciborium shortens it when exact as f32).
        let big = count_bytes(1_764_000_000_000);
        assert!(matches!(big[0], 0xfa | 0xfb), "{big:x?}");
        // Beyond 2^53 no JS number is exact: an exact uint64.
        assert_eq!(count_bytes(u64::MAX)[0], 0x1b);
    }

    #[test]
    fn round_trips_every_message_type() {
        let meta = Some(PeerMetadata {
            storage_id: Some("st".into()),
            is_ephemeral: false,
        });
        let messages = vec![
            Message::Join {
                sender_id: "c".into(),
                supported_protocol_versions: Some(vec!["1".into()]),
                peer_metadata: meta.clone(),
            },
            Message::Join {
                sender_id: "c".into(),
                supported_protocol_versions: None,
                peer_metadata: None,
            },
            Message::Peer {
                sender_id: "s".into(),
                target_id: "c".into(),
                selected_protocol_version: "1".into(),
                peer_metadata: meta,
            },
            Message::Leave {
                sender_id: "c".into(),
            },
            Message::Error {
                sender_id: None,
                target_id: None,
                message: "no".into(),
                document_id: None,
                refusal: None,
            },
            Message::Error {
                sender_id: Some("relay".into()),
                target_id: Some("c".into()),
                message: "refused".into(),
                document_id: Some(doc_id()),
                refusal: Some(r#"{"code":"no_created_event"}"#.into()),
            },
            Message::Request {
                sender_id: "c".into(),
                target_id: "s".into(),
                document_id: doc_id(),
                data: vec![1, 2, 3],
                sealed: Some(Sealed {
                    heads: vec!["ab".repeat(32)],
                    seal: "5e".repeat(16),
                }),
            },
            Message::Ephemeral {
                sender_id: "c".into(),
                target_id: "s".into(),
                document_id: doc_id(),
                count: 1 << 40,
                session_id: "sess".into(),
                data: vec![9],
            },
            Message::RemoteSubscriptionChange {
                sender_id: "c".into(),
                target_id: "s".into(),
                add: None,
                remove: Some(vec!["a".into()]),
            },
            Message::RemoteHeadsChanged {
                sender_id: "c".into(),
                target_id: "s".into(),
                document_id: doc_id(),
                new_heads: [(
                    "st".to_string(),
                    HeadsInfo {
                        heads: vec!["h".into()],
                        timestamp: 1_764_000_000_123,
                    },
                )]
                .into(),
            },
        ];
        for message in messages {
            assert_eq!(decode_ok(&encode(&message)), message);
        }
    }

    #[test]
    fn rejects_bad_frames_with_typed_errors() {
        let limits = Limits::default();
        assert_eq!(decode(&[], limits), Err(WireError::Empty));
        let small = Limits {
            max_frame_bytes: 4,
            max_depth: 16,
        };
        assert_eq!(
            decode(&[0; 5], small),
            Err(WireError::TooLarge { size: 5, max: 4 })
        );
        // A byte string claiming 2^63 bytes in a 10-byte frame.
        let huge = [0xa1, 0x64, b'd', b'a', b't', b'a', 0x5b, 0x7f, 0xff, 0xff];
        assert!(matches!(
            decode(&huge, limits),
            Err(WireError::Malformed(_))
        ));
        // An array claiming 2^32 elements.
        let wide = CborX::map(2)
            .text("type")
            .text("join")
            .text("supportedProtocolVersions")
            .raw(&[0x9a, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decode(&wide.0, limits),
            Err(WireError::Malformed(_))
        ));
        // 10,000 nested arrays in an unknown field.
        let mut deep = CborX::map(1).text("x").0;
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        deep.push(0);
        assert_eq!(decode(&deep, limits), Err(WireError::TooDeep));
        // Wrong types.
        let wrong = CborX::map(1).text("type").raw(&[0x01]);
        assert!(matches!(
            decode(&wrong.0, limits),
            Err(WireError::Malformed(_))
        ));
        let data_as_text = CborX::map(5)
            .text("type")
            .text("sync")
            .text("senderId")
            .text("a")
            .text("targetId")
            .text("b")
            .text("documentId")
            .text(&doc_id().to_string())
            .text("data")
            .text("oops");
        assert!(matches!(
            decode(&data_as_text.0, limits),
            Err(WireError::Malformed(_))
        ));
        let no_data = CborX::map(2)
            .text("type")
            .text("sync")
            .text("senderId")
            .text("a");
        assert!(matches!(
            decode(&no_data.0, limits),
            Err(WireError::MissingField { .. })
        ));
        let bad_id = CborX::map(4)
            .text("type")
            .text("doc-unavailable")
            .text("senderId")
            .text("a")
            .text("targetId")
            .text("b")
            .text("documentId")
            .text("not-an-id");
        assert!(matches!(
            decode(&bad_id.0, limits),
            Err(WireError::InvalidDocumentId(_))
        ));
        assert_eq!(decode(&[0xa0], limits), Err(WireError::MissingType));
        let mut trailing = encode(&Message::Leave {
            sender_id: "c".into(),
        });
        trailing.push(0);
        assert_eq!(decode(&trailing, limits), Err(WireError::TrailingBytes(1)));
        assert!(matches!(
            decode(&[0x82, 1, 2], limits),
            Err(WireError::Malformed(_))
        ));
    }
}
