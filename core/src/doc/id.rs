//! Document ids in automerge-repo's format: 16 bytes written as base58check (the Bitcoin
//! alphabet, with the first 4 bytes of a double SHA-256 appended as a checksum). A URL is the
//! id prefixed with `automerge:`. The JS automerge-repo client rejects any other shape, so every
//! Fieldbook document uses this one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// An automerge-repo document id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

/// The first two bytes of every id in the relay's reserved space ([`DocumentId::derived`]).
const RESERVED: [u8; 2] = [0xF1, 0xE1];

/// Why a string is not a document id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentIdError {
    /// Not base58.
    #[error("not a document id: {0:?} is not base58")]
    NotBase58(String),
    /// Wrong length or checksum.
    #[error("not a document id: {0:?} has a bad length or checksum")]
    BadChecksum(String),
}

fn checksum(payload: &[u8]) -> [u8; 4] {
    let once = Sha256::digest(payload);
    let twice = Sha256::digest(once);
    [twice[0], twice[1], twice[2], twice[3]]
}

impl DocumentId {
    /// The id made of these 16 bytes (the host draws them at random for a new document).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// A lead document's id from 16 bytes the host drew at random: shaped as an RFC 4122
    /// version-4 UUID (version and variant bits set), so it is never in the relay's reserved
    /// space ([`DocumentId::is_derived`]) and automerge-repo 1.x clients accept it too.
    pub const fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// A stable id for documents every device must find without being told, reserved for the
    /// documents the relay (or an admin command) creates: the team document
    /// (`derived("team", team_id)`) and each member's index document (`derived("index",
    /// "team/member")`). Access control, not secrecy, protects them.
    ///
    /// The first 16 bytes of SHA-256 of `"fieldbook:" + kind + ":" + key`, stamped with the
    /// reserved marker: bytes 0–1 are `F1 E1` and the id is shaped as an RFC 4122 version-5
    /// (name-based) UUID. A lead id ([`DocumentId::from_random`]) is version 4, so the two
    /// spaces never meet by construction; a random 16 bytes from an older client falls in the
    /// reserved space with a chance of 2⁻²².
    pub fn derived(kind: &str, key: &str) -> Self {
        let mut bytes = Self::sha(&[b"fieldbook:", kind.as_bytes(), b":", key.as_bytes()]);
        bytes[0] = RESERVED[0];
        bytes[1] = RESERVED[1];
        bytes[6] = (bytes[6] & 0x0f) | 0x50;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// Whether the id is in the space reserved for the relay's derived documents (see
    /// [`DocumentId::derived`]): a client may never create a document at such an id.
    pub const fn is_derived(&self) -> bool {
        self.0[0] == RESERVED[0]
            && self.0[1] == RESERVED[1]
            && self.0[6] >> 4 == 5
            && self.0[8] >> 6 == 0b10
    }

    /// A lead id that is the same every time for the same `name` (demo and test data), shaped
    /// as [`DocumentId::from_random`]'s.
    pub fn stable_lead(name: &str) -> Self {
        Self::from_random(Self::sha(&[b"fieldbook-lead:", name.as_bytes()]))
    }

    fn sha(parts: &[&[u8]]) -> [u8; 16] {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes
    }

    /// The id [`DocumentId::derived`] gave before the reserved space (schema 1 data written
    /// before it): a relay moves documents stored at such ids to their new ids.
    pub fn derived_before_reservation(kind: &str, key: &str) -> Self {
        Self(Self::sha(&[
            b"fieldbook:",
            kind.as_bytes(),
            b":",
            key.as_bytes(),
        ]))
    }

    /// The `automerge:` URL of the document.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Parses an id or an `automerge:` URL.
    pub fn parse_url(text: &str) -> Result<Self, DocumentIdError> {
        text.strip_prefix("automerge:").unwrap_or(text).parse()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = [0u8; 20];
        payload[..16].copy_from_slice(&self.0);
        payload[16..].copy_from_slice(&checksum(&self.0));
        f.write_str(&bs58::encode(payload).into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|_| DocumentIdError::NotBase58(text.to_owned()))?;
        if bytes.len() != 20 || checksum(&bytes[..16]) != bytes[16..] {
            return Err(DocumentIdError::BadChecksum(text.to_owned()));
        }
        let mut id = [0; 16];
        id.copy_from_slice(&bytes[..16]);
        Ok(Self(id))
    }
}

impl Serialize for DocumentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn round_trips_and_rejects_bad_checksums() {
        let id = DocumentId::from_bytes([7; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<DocumentId>(), Ok(id));
        assert_eq!(DocumentId::parse_url(&id.url()), Ok(id));
        let mut broken = text.clone().into_bytes();
        let last = broken.len() - 1;
        broken[last] = if broken[last] == b'2' { b'3' } else { b'2' };
        let broken = String::from_utf8(broken).unwrap();
        assert!(matches!(
            broken.parse::<DocumentId>(),
            Err(DocumentIdError::BadChecksum(_))
        ));
        assert!(matches!(
            "0OIl".parse::<DocumentId>(),
            Err(DocumentIdError::NotBase58(_))
        ));
    }

    #[test]
    fn matches_an_independent_bs58check() {
        // The UUID 00000000-0000-4000-8000-000000000000 encoded by a separate Python
        // bs58check (double SHA-256 checksum, Bitcoin alphabet).
        let mut bytes = [0u8; 16];
        bytes[6] = 0x40;
        bytes[8] = 0x80;
        let id = DocumentId::from_bytes(bytes);
        assert_eq!(id.to_string(), "111111QXhYZza3GqLStHjsryD");
        assert_ne!(
            DocumentId::derived("team", "t1"),
            DocumentId::derived("index", "t1")
        );
    }

    #[test]
    fn derived_ids_and_lead_ids_never_meet() {
        let team = DocumentId::derived("team", "t1");
        assert!(team.is_derived());
        assert!(DocumentId::derived("index", "t1/dana").is_derived());
        // Shaped as UUIDs (automerge-repo 1.x checks): version 5 and 4, variant 10.
        assert_eq!(team.as_bytes()[6] >> 4, 5);
        assert_eq!(team.as_bytes()[8] >> 6, 0b10);
        for bytes in [[0u8; 16], [0xff; 16], [0xF1; 16], *team.as_bytes()] {
            let lead = DocumentId::from_random(bytes);
            assert!(!lead.is_derived(), "{bytes:?}");
            assert_eq!(lead.as_bytes()[6] >> 4, 4);
            assert_eq!(lead.as_bytes()[8] >> 6, 0b10);
        }
        assert!(!DocumentId::stable_lead("demo/1").is_derived());
        assert_eq!(
            DocumentId::stable_lead("demo/1"),
            DocumentId::stable_lead("demo/1")
        );
        // The old derivation (before the reserved space) is kept for migrating stored data.
        assert_ne!(DocumentId::derived_before_reservation("team", "t1"), team);
        assert!(!DocumentId::derived_before_reservation("team", "t1").is_derived());
    }
}
