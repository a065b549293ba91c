//! Sealed heads: the relay's proof that it once held a document at some heads.
//!
//! Every index entry the relay writes carries, beside the document's heads, a seal: an HMAC of
//! the document id and those heads under a key only the relay knows ([`SealKey`], derived
//! from its stored secret, so a relay restored from a backup still knows it). A device keeps
//! the seals of its index; when the relay has lost changes (restored from an older backup),
//! the device sends each document with the seal of the newest heads it saw
//! ([`crate::sync::wire::Sealed`] on its `sync` messages), and the relay takes back, from any
//! member who may write the document, every change within those heads without judging who
//! wrote it — it judged them when it first took them. What the device adds beyond the sealed
//! heads is judged as its own write. Without seals the relay could take those changes only
//! from their authors' devices, and interleaved authors (a rep's attempt after the manager's
//! review after the rep's call) would wait for each other forever.

use crate::doc::DocumentId;
use automerge::ChangeHash;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Bytes of the HMAC kept in a seal (128 bits).
const SEAL_BYTES: usize = 16;

/// The relay's key for seals.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// The key derived from the relay's stored secret (so tokens and seals use different keys).
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        let mut mac = mac(secret);
        mac.update(b"fieldbook index seal v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac.finalize().into_bytes());
        Self(key)
    }

    /// A fixed key, for tests and simulations.
    pub const fn fixed(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The seal of `doc` at `heads` (in any order), as lowercase hex.
    pub fn seal(&self, doc: &DocumentId, heads: &[ChangeHash]) -> String {
        let bytes = self.digest(doc, heads).finalize().into_bytes();
        bytes[..SEAL_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `seal` is this key's seal of `doc` at `heads` (compared in constant time).
    pub fn verify(&self, doc: &DocumentId, heads: &[ChangeHash], seal: &str) -> bool {
        if seal.len() != SEAL_BYTES * 2 {
            return false;
        }
        let Some(bytes) = (0..SEAL_BYTES)
            .map(|i| u8::from_str_radix(seal.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        self.digest(doc, heads)
            .verify_truncated_left(&bytes)
            .is_ok()
    }

    fn digest(&self, doc: &DocumentId, heads: &[ChangeHash]) -> Hmac<Sha256> {
        let mut heads = heads.to_vec();
        heads.sort_unstable();
        heads.dedup();
        let mut mac = mac(&self.0);
        mac.update(doc.as_bytes());
        for head in &heads {
            mac.update(&head.0);
        }
        mac
    }
}

fn mac(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_seal_verifies_only_for_its_document_heads_and_key() {
        let key = SealKey::from_secret(&[7; 32]);
        let doc = DocumentId::from_random([1; 16]);
        let (a, b) = (ChangeHash([1; 32]), ChangeHash([2; 32]));
        let seal = key.seal(&doc, &[a, b]);
        assert_eq!(seal.len(), 32);
        assert!(key.verify(&doc, &[b, a], &seal), "heads in any order");
        assert!(!key.verify(&doc, &[a], &seal), "other heads");
        assert!(!key.verify(&DocumentId::from_random([2; 16]), &[a, b], &seal));
        assert!(!SealKey::from_secret(&[8; 32]).verify(&doc, &[a, b], &seal));
        assert!(!key.verify(&doc, &[a, b], &seal[..30]), "truncated");
        assert!(!key.verify(&doc, &[a, b], &"zz".repeat(16)), "not hex");
        assert_ne!(SealKey::from_secret(&[7; 32]), SealKey::fixed([7; 32]));
    }
}
