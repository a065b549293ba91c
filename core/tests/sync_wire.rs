//! Decoding is total: random bytes, truncated and mutated frames, and mutated automerge sync
//! payloads give errors (or ignored messages), never a panic, on the decoder, the client and
//! the hub.

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use chrono::{DateTime, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::sync::client::Client;
use fieldbook_core::sync::hub::{Access, ConnId, Hub, Policy};
use fieldbook_core::sync::wire::{self, HeadsInfo, Limits, Message, PeerId, PeerMetadata, Sealed};
use fieldbook_core::sync::{DocSlot, Docs};
use std::collections::BTreeMap;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn doc_id() -> DocumentId {
    DocumentId::from_bytes([3; 16])
}

fn samples() -> Vec<Message> {
    vec![
        Message::Join {
            sender_id: "device".into(),
            supported_protocol_versions: Some(vec!["1".into()]),
            peer_metadata: Some(PeerMetadata {
                storage_id: Some("storage".into()),
                is_ephemeral: false,
            }),
        },
        Message::Sync {
            sender_id: "device".into(),
            target_id: "relay".into(),
            document_id: doc_id(),
            data: vec![0x42, 0, 1, 2, 3],
            sealed: None,
        },
        Message::RemoteHeadsChanged {
            sender_id: "device".into(),
            target_id: "relay".into(),
            document_id: doc_id(),
            new_heads: [(
                "s".to_string(),
                HeadsInfo {
                    heads: vec!["h1".into(), "h2".into()],
                    timestamp: 1_764_000_000_000,
                },
            )]
            .into(),
        },
    ]
}

/// A real sync exchange's first payloads, to mutate.
fn sync_payloads() -> Vec<Vec<u8>> {
    let mut a = Automerge::new().with_actor(ActorId::from([1u8; 16]));
    a.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "company", "Acme")?;
        tx.put(ROOT, "size", 12)?;
        Ok(())
    })
    .expect("edit");
    let mut b = Automerge::new().with_actor(ActorId::from([2u8; 16]));
    let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
    let mut payloads = Vec::new();
    for _ in 0..4 {
        if let Some(m) = a.generate_sync_message(&mut sa) {
            payloads.push(m.clone().encode());
            b.receive_sync_message(&mut sb, m).expect("receive");
        }
        if let Some(m) = b.generate_sync_message(&mut sb) {
            payloads.push(m.clone().encode());
            a.receive_sync_message(&mut sa, m).expect("receive");
        }
    }
    payloads
}

struct OneDoc(BTreeMap<DocumentId, Automerge>);

impl Docs for OneDoc {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        self.0.get_mut(id).map_or(DocSlot::Absent, DocSlot::Loaded)
    }
    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        Some(
            self.0
                .entry(*id)
                .or_insert_with(|| Automerge::new().with_actor(ActorId::from([9u8; 16]))),
        )
    }
}

struct Everyone;

impl Policy for Everyone {
    fn access(&self, _: ConnId, _: &PeerId, _: &DocumentId) -> Access {
        Access::ReadWrite
    }
}

fn now() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// A joined hub and a connected client, both holding an empty copy of the document.
fn endpoints() -> (Hub, OneDoc, Client, OneDoc) {
    let mut hub = Hub::new("relay".into(), PeerMetadata::default());
    let mut hub_docs = OneDoc(BTreeMap::new());
    hub_docs.create(&doc_id());
    hub.add_connection(ConnId(1), now());
    let mut client = Client::new("device".into(), PeerMetadata::default());
    let mut client_docs = OneDoc(BTreeMap::new());
    client_docs.create(&doc_id());
    let join = client.connect(now()).frames.remove(0);
    let out = hub.receive(ConnId(1), &join, &mut hub_docs, &Everyone);
    client.receive(&out.frames[0].1, &mut client_docs, now());
    assert!(client.server().is_some());
    (hub, hub_docs, client, client_docs)
}

fn sync_frame(data: Vec<u8>, from_device: bool) -> Vec<u8> {
    let (sender, target) = if from_device {
        ("device", "relay")
    } else {
        ("relay", "device")
    };
    wire::encode(&Message::Sync {
        sender_id: sender.into(),
        target_id: target.into(),
        document_id: doc_id(),
        data,
        sealed: None,
    })
}

#[test]
fn every_truncation_of_a_valid_frame_is_an_error() {
    for message in samples() {
        let frame = wire::encode(&message);
        assert_eq!(wire::decode(&frame, Limits::default()), Ok(message));
        for len in 0..frame.len() {
            assert!(wire::decode(&frame[..len], Limits::default()).is_err());
        }
    }
}

#[test]
fn every_single_byte_change_of_a_sync_payload_is_survived() {
    let (mut hub, mut hub_docs, mut client, mut client_docs) = endpoints();
    for payload in sync_payloads() {
        for at in 0..payload.len() {
            for value in [0x00, 0xff, payload[at] ^ 0x01] {
                let mut bad = payload.clone();
                bad[at] = value;
                hub.receive(
                    ConnId(1),
                    &sync_frame(bad.clone(), true),
                    &mut hub_docs,
                    &Everyone,
                );
                client.receive(&sync_frame(bad, false), &mut client_docs, now());
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod random {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9-]{0,12}"
    }

    fn message() -> impl Strategy<Value = Message> {
        let id = any::<[u8; 16]>().prop_map(DocumentId::from_bytes);
        let bytes = proptest::collection::vec(any::<u8>(), 0..64);
        prop_oneof![
            (
                text(),
                proptest::option::of(proptest::collection::vec(text(), 0..3)),
                proptest::option::of((proptest::option::of(text()), any::<bool>()))
            )
                .prop_map(|(s, v, m)| Message::Join {
                    sender_id: PeerId::new(s),
                    supported_protocol_versions: v,
                    peer_metadata: m.map(|(storage_id, is_ephemeral)| PeerMetadata {
                        storage_id,
                        is_ephemeral
                    }),
                }),
            (text(), text(), text()).prop_map(|(s, t, v)| Message::Peer {
                sender_id: PeerId::new(s),
                target_id: PeerId::new(t),
                selected_protocol_version: v,
                peer_metadata: None,
            }),
            (text(), text(), id.clone(), bytes.clone()).prop_map(|(s, t, d, data)| Message::Sync {
                sender_id: PeerId::new(s),
                target_id: PeerId::new(t),
                document_id: d,
                data,
                sealed: None,
            }),
            (
                text(),
                text(),
                id.clone(),
                bytes.clone(),
                proptest::option::of((proptest::collection::vec(text(), 0..3), text()))
            )
                .prop_map(|(s, t, d, data, sealed)| Message::Request {
                    sender_id: PeerId::new(s),
                    target_id: PeerId::new(t),
                    document_id: d,
                    data,
                    sealed: sealed.map(|(heads, seal)| Sealed { heads, seal }),
                }),
            (text(), text(), id.clone()).prop_map(|(s, t, d)| Message::DocUnavailable {
                sender_id: PeerId::new(s),
                target_id: PeerId::new(t),
                document_id: d,
            }),
            (text(), text(), id.clone(), any::<u64>(), text(), bytes).prop_map(
                |(s, t, d, count, session_id, data)| Message::Ephemeral {
                    sender_id: PeerId::new(s),
                    target_id: PeerId::new(t),
                    document_id: d,
                    count,
                    session_id,
                    data,
                }
            ),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                text(),
                proptest::option::of(id.clone()),
                proptest::option::of(text()),
            )
                .prop_map(|(s, t, m, d, r)| Message::Error {
                    sender_id: s.map(PeerId::new),
                    target_id: t.map(PeerId::new),
                    message: m,
                    document_id: d,
                    refusal: r,
                }),
            (
                text(),
                text(),
                id,
                proptest::collection::btree_map(
                    text(),
                    (proptest::collection::vec(text(), 0..3), any::<u64>()),
                    0..3
                )
            )
                .prop_map(|(s, t, d, heads)| Message::RemoteHeadsChanged {
                    sender_id: PeerId::new(s),
                    target_id: PeerId::new(t),
                    document_id: d,
                    new_heads: heads
                        .into_iter()
                        .map(|(k, (heads, timestamp))| (k, HeadsInfo { heads, timestamp }))
                        .collect(),
                }),
        ]
    }

    #[derive(Clone, Debug)]
    enum Mutation {
        Set(usize, u8),
        Insert(usize, u8),
        Remove(usize),
        Truncate(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (
                any::<usize>(),
                prop_oneof![
                    any::<u8>(),
                    Just(0x1b),
                    Just(0x5b),
                    Just(0x9b),
                    Just(0xbb),
                    Just(0xff),
                    Just(0x9f)
                ]
            )
                .prop_map(|(at, v)| Mutation::Set(at, v)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, v)| Mutation::Insert(at, v)),
            any::<usize>().prop_map(Mutation::Remove),
            any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    fn mutate(frame: &mut Vec<u8>, mutation: &Mutation) {
        if frame.is_empty() {
            return;
        }
        match *mutation {
            Mutation::Set(at, v) => {
                let at = at % frame.len();
                frame[at] = v;
            }
            Mutation::Insert(at, v) => frame.insert(at % (frame.len() + 1), v),
            Mutation::Remove(at) => {
                frame.remove(at % frame.len());
            }
            Mutation::Truncate(at) => frame.truncate(at % frame.len()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn decode_is_total_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = wire::decode(&bytes, Limits::default());
        }

        #[test]
        fn decode_is_total_on_mutated_frames(
            message in message(),
            mutations in proptest::collection::vec(mutation(), 1..6),
        ) {
            let mut frame = wire::encode(&message);
            for m in &mutations {
                mutate(&mut frame, m);
            }
            if let Ok(decoded) = wire::decode(&frame, Limits::default()) {
                // Whatever decodes re-encodes to something that decodes the same.
                prop_assert_eq!(wire::decode(&wire::encode(&decoded), Limits::default()), Ok(decoded));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        #[test]
        fn encode_then_decode_is_the_identity(message in message()) {
            prop_assert_eq!(wire::decode(&wire::encode(&message), Limits::default()), Ok(message));
        }

        #[test]
        fn hub_and_client_survive_mutated_frames_and_payloads(
            pick in any::<usize>(),
            mutations in proptest::collection::vec(mutation(), 1..8),
            in_payload in any::<bool>(),
        ) {
            let payloads = sync_payloads();
            let payload = payloads[pick % payloads.len()].clone();
            let (mut hub, mut hub_docs, mut client, mut client_docs) = endpoints();
            let (up, down) = if in_payload {
                let mut bad = payload;
                for m in &mutations {
                    mutate(&mut bad, m);
                }
                (sync_frame(bad.clone(), true), sync_frame(bad, false))
            } else {
                let (mut up, mut down) = (sync_frame(payload.clone(), true), sync_frame(payload, false));
                for m in &mutations {
                    mutate(&mut up, m);
                    mutate(&mut down, m);
                }
                (up, down)
            };
            hub.receive(ConnId(1), &up, &mut hub_docs, &Everyone);
            client.receive(&down, &mut client_docs, now());
        }
    }
}
