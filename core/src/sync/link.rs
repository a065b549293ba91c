//! The sync of one document with one peer, shared by the client and the hub: automerge's sync
//! state, what we know of the peer's copy, and the rules for `request` versus `sync` and for
//! "in sync" (automerge-repo's `DocSynchronizer.ts` decides the same way).

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

/// What we know of the peer's copy of the document (`PeerDocumentStatus` in automerge-repo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Remote {
    /// Nothing yet.
    Unknown,
    /// It sent heads, so it has the document.
    Has,
    /// It asked for the document with `request`.
    Wants,
    /// It answered `doc-unavailable`.
    Unavailable,
}

/// Which message carries a generated sync message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sync,
    Request,
}

/// The outcome of applying a received sync message.
#[derive(Debug)]
pub(crate) struct Received {
    /// The heads before, when the document changed (for `save_after`).
    pub(crate) changed_from: Option<Vec<ChangeHash>>,
    /// Why the message was (partly) rejected.
    pub(crate) error: Option<String>,
    /// The message carried changes that a read-only link did not apply.
    pub(crate) ignored_changes: bool,
}

#[derive(Debug)]
pub(crate) struct Link {
    state: sync::State,
    pub(crate) remote: Remote,
    /// The encoded state the host last received (or restored), to report only changes.
    saved: Vec<u8>,
    /// The heads at which "synced" was last reported.
    synced_heads: Option<Vec<ChangeHash>>,
    /// Whether a message went either way in this session.
    pub(crate) active: bool,
}

impl Link {
    pub(crate) fn new() -> Self {
        let state = sync::State::new();
        Self {
            saved: state.encode(),
            state,
            remote: Remote::Unknown,
            synced_heads: None,
            active: false,
        }
    }

    /// A link whose state the host persisted: only the shared heads survive, as automerge's
    /// `State::decode` resets every per-session field.
    pub(crate) fn restored(bytes: &[u8]) -> Result<Self, String> {
        let state = sync::State::decode(bytes).map_err(|e| e.to_string())?;
        Ok(Self {
            saved: state.encode(),
            state,
            remote: Remote::Unknown,
            synced_heads: None,
            active: false,
        })
    }

    /// Forgets the connection that ended: in-flight messages and what the peer said are gone,
    /// the shared heads stay (automerge-repo round-trips the state through its encoding the
    /// same way in `DocSynchronizer.beginSync`).
    pub(crate) fn reset_session(&mut self) {
        self.state = sync::State::decode(&self.state.encode()).unwrap_or_default();
        self.remote = Remote::Unknown;
        self.active = false;
    }

    /// Applies a `sync` or `request` payload. With `read_only`, automerge ignores the peer's
    /// changes (and tells the peer so with its read-only flag) but still sends ours.
    pub(crate) fn receive(
        &mut self,
        doc: &mut Automerge,
        data: &[u8],
        request: bool,
        read_only: bool,
    ) -> Received {
        self.active = true;
        let message = match sync::Message::decode(data)
            .map_err(|error| error.to_string())
            .and_then(|message| check_blooms(&message).map(|()| message))
        {
            Ok(message) => message,
            Err(error) => {
                return Received {
                    changed_from: None,
                    error: Some(error),
                    ignored_changes: false,
                };
            }
        };
        if request {
            self.remote = Remote::Wants;
        }
        if !message.heads.is_empty() {
            self.remote = Remote::Has;
        }
        if is_reset(&message) {
            // The peer does not hold the shared heads we named: it lost data (a relay restored
            // from a backup). Automerge expects us to answer with every change; a peer that
            // will not take them (read-only) and has changes we lack then answers each of our
            // messages, which still name those heads, with another reset, forever. Forget them.
            self.state.shared_heads.clear();
        }
        self.state.set_read_only(read_only);
        // A read-only link never takes the peer's changes, and automerge stops sending them
        // once it knows; heads the peer holds that this side lacks are such changes too.
        let ignored_changes = read_only
            && (!message.changes.is_empty()
                || message
                    .heads
                    .iter()
                    .any(|h| doc.get_change_by_hash(h).is_none()));
        let needed = message.need.clone();
        let before = doc.get_heads();
        let error = doc
            .receive_sync_message(&mut self.state, message)
            .err()
            .map(|e| e.to_string());
        // automerge never sends a change twice in a session (`sent_hashes`), even when the
        // peer says it needs it. A peer that dropped a change it could not apply yet (its
        // document was evicted or reloaded while the change waited for a dependency) would
        // then ask forever while both sides ping-pong; sending it again ends that.
        for hash in &needed {
            self.state.sent_hashes.remove(hash);
        }
        let changed_from = (doc.get_heads() != before).then_some(before);
        Received {
            changed_from,
            error,
            ignored_changes,
        }
    }

    /// The next message for the peer, if any. `may_request`: a peer without the document asks
    /// for it with `request` (the hub never asks).
    pub(crate) fn generate(
        &mut self,
        doc: &Automerge,
        read_only: bool,
        may_request: bool,
    ) -> Option<(Kind, Vec<u8>)> {
        self.state.set_read_only(read_only);
        self.assume_peer_has_shared_heads(doc);
        let message = doc.generate_sync_message(&mut self.state)?;
        self.active = true;
        let kind = if may_request
            && message.heads.is_empty()
            && self.state.shared_heads.is_empty()
            && self.remote == Remote::Unknown
        {
            Kind::Request
        } else {
            Kind::Sync
        };
        Some((kind, message.encode()))
    }

    /// On the first message of a session with a restored state and local changes since the
    /// shared heads: take the peer to hold exactly the shared heads it acknowledged in an
    /// earlier session, so that this first message already carries the changes made since.
    /// Automerge would otherwise send only heads and a Bloom filter, wait for the peer's, and
    /// push the changes a round later: 4 messages for an offline edit instead of 2. If the
    /// peer lost what it had acknowledged, the changes arrive with missing dependencies, the
    /// peer says what it needs, and the exchange goes on as usual.
    fn assume_peer_has_shared_heads(&mut self, doc: &Automerge) {
        // A decoded state has `their_have: Some([])` and `their_need: None`.
        let peer_said_something = self.state.their_need.is_some()
            || self
                .state
                .their_have
                .as_ref()
                .is_some_and(|have| !have.is_empty());
        if self.active || peer_said_something || self.state.shared_heads.is_empty() {
            return;
        }
        let shared = self.state.shared_heads.clone();
        let mut ours = doc.get_heads();
        ours.sort();
        let mut sorted = shared.clone();
        sorted.sort();
        if ours == sorted
            || !shared
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some())
        {
            return;
        }
        self.state.their_heads = Some(shared.clone());
        self.state.their_need = Some(Vec::new());
        self.state.their_have = Some(vec![sync::Have {
            last_sync: shared,
            bloom: sync::BloomFilter::default(),
        }]);
    }

    /// The heads the peer last announced in this session.
    pub(crate) fn their_heads(&self) -> Option<&[ChangeHash]> {
        self.state.their_heads.as_deref()
    }

    /// Both sides hold the same changes: the peer's last heads are ours.
    pub(crate) fn in_sync(&self, doc: &Automerge) -> bool {
        match &self.state.their_heads {
            Some(theirs) => {
                let mut theirs = theirs.clone();
                theirs.sort();
                let mut ours = doc.get_heads();
                ours.sort();
                theirs == ours
            }
            None => false,
        }
    }

    /// Whether to report "synced" now: in sync, and either the host asked (`asked`) or the
    /// heads moved since the last report (so duplicates do not report twice).
    pub(crate) fn take_synced(&mut self, doc: &Automerge, asked: bool) -> bool {
        if !self.in_sync(doc) {
            return false;
        }
        let heads = doc.get_heads();
        if asked || self.synced_heads.as_ref() != Some(&heads) {
            self.synced_heads = Some(heads);
            true
        } else {
            false
        }
    }

    /// The encoded state, when it differs from what the host last received.
    /// The heads both sides are known to share.
    pub(crate) fn shared_heads(&self) -> Vec<ChangeHash> {
        self.state.shared_heads.clone()
    }

    pub(crate) fn take_state(&mut self) -> Option<Vec<u8>> {
        let encoded = self.state.encode();
        if encoded == self.saved {
            None
        } else {
            self.saved.clone_from(&encoded);
            Some(encoded)
        }
    }
}

/// Whether a sync payload carries heads (its sender has the document); false if malformed.
pub(crate) fn carries_heads(data: &[u8]) -> bool {
    sync::Message::decode(data).is_ok_and(|message| !message.heads.is_empty())
}

/// The most hash functions a Bloom filter may claim (automerge uses 7).
const MAX_BLOOM_PROBES: u64 = 64;

/// Automerge's reset: the peer's heads and one empty `have` (no shared heads, no Bloom filter),
/// sent when our `have` names heads the peer does not hold. An ordinary message of a peer
/// with changes has a Bloom filter of them, or no `have` while it needs changes.
fn is_reset(message: &sync::Message) -> bool {
    !message.heads.is_empty()
        && message.need.is_empty()
        && message.have.len() == 1
        && message.have[0] == sync::Have::default()
}

/// Rejects Bloom filters automerge 0.12 would panic on later: entries but no bits (a modulo by
/// zero in `BloomFilter::get_probes`), or billions of probes (an allocation of that many).
/// The filter's fields are private; its wire form is `leb128 entries, bits per entry, probes`
/// then the bits (`automerge/src/sync/bloom.rs`).
fn check_blooms(message: &sync::Message) -> Result<(), String> {
    for have in &message.have {
        let bytes = have.bloom.to_bytes();
        if bytes.is_empty() {
            continue;
        }
        let mut input = bytes.as_slice();
        let entries = read_leb128(&mut input)?;
        let _bits_per_entry = read_leb128(&mut input)?;
        let probes = read_leb128(&mut input)?;
        if entries != 0 && input.is_empty() {
            return Err("Bloom filter with entries but no bits".into());
        }
        if probes > MAX_BLOOM_PROBES {
            return Err(format!("Bloom filter with {probes} probes"));
        }
    }
    Ok(())
}

fn read_leb128(input: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first().ok_or("truncated Bloom filter")?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("Bloom filter number too long".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{BloomFilter, Have, Message};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn with_bloom(bloom: &[u8]) -> Vec<u8> {
        let bloom = BloomFilter::try_from(bloom).expect("parses");
        let mut message = Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .expect("a first message");
        message.have = vec![Have {
            last_sync: vec![],
            bloom,
        }];
        Message::encode(message)
    }

    #[test]
    fn bloom_filters_automerge_would_panic_on_are_rejected() {
        let mut doc = Automerge::new();
        // One entry, zero bits per entry: no bits, and automerge divides by their number.
        let received = Link::new().receive(&mut doc, &with_bloom(&[1, 0, 7]), false, false);
        assert_eq!(
            received.error.as_deref(),
            Some("Bloom filter with entries but no bits")
        );
        // 2^32 - 1 probes: automerge allocates a vector of that many.
        let received = Link::new().receive(
            &mut doc,
            &with_bloom(&[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]),
            false,
            false,
        );
        assert_eq!(
            received.error.as_deref(),
            Some("Bloom filter with 4294967295 probes")
        );
        // automerge's own filters pass.
        let received =
            Link::new().receive(&mut doc, &with_bloom(&[1, 10, 7, 0xff, 0xff]), false, false);
        assert_eq!(received.error, None);
    }

    /// A device synced change `b` with the relay; the relay was then restored from a backup
    /// without it and wrote `c`; the device may not write the document (read-only). Automerge
    /// answers the device's stale shared heads with a reset, and without forgetting them the
    /// two would exchange resets forever.
    #[test]
    fn a_reset_from_a_read_only_peer_that_lost_data_ends_the_exchange() {
        use automerge::transaction::Transactable;
        let put = |doc: &mut Automerge, key: &str| {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, key, 1).unwrap();
            tx.commit();
        };
        let mut backup = Automerge::new();
        put(&mut backup, "a");
        let mut device = backup.fork();
        put(&mut device, "b");
        let mut relay = backup.fork();
        put(&mut relay, "c");
        let mut state = sync::State::new();
        state.shared_heads = device.get_heads();
        let mut device_link = Link::restored(&state.encode()).unwrap();
        let mut relay_link = Link::new();
        let mut messages = 0;
        loop {
            let mut moved = false;
            if let Some((_, data)) = device_link.generate(&device, false, true) {
                relay_link.receive(&mut relay, &data, false, true);
                messages += 1;
                moved = true;
            }
            if let Some((_, data)) = relay_link.generate(&relay, true, false) {
                device_link.receive(&mut device, &data, false, false);
                messages += 1;
                moved = true;
            }
            assert!(messages < 20, "still exchanging after {messages} messages");
            if !moved {
                break;
            }
        }
        assert!(
            device
                .get_change_meta_by_hash(&relay.get_heads()[0])
                .is_some()
        );
    }
}
