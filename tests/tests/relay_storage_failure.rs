//! The relay when its storage fails: a change it cannot commit is never acknowledged, every
//! connection is closed with 1011, `/readyz` stops answering ready and the process exits with
//! an error (for a supervisor to restart it). The failure is real: the test holds SQLite's
//! write lock, so the relay's commit fails once its busy timeout (10 s) runs out.

use automerge::sync::{Message as SyncMessage, State, SyncDoc};
use chrono::Utc;
use fieldbook_core::doc::lead::append_events;
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, Event, EventKind};
use fieldbook_core::sync::wire::{Message, PeerId};
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_server::relay::engine::RELAY_PEER;
use fieldbook_server::relay::store::DB_FILE;
use fieldbook_tests::*;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BINARY: &str = env!("CARGO_BIN_EXE_fieldbook-relay");
/// The relay's SQLite busy timeout plus room for the rest.
const STORAGE_WAIT: Duration = Duration::from_secs(30);

async fn ready(addr: std::net::SocketAddr) -> bool {
    // A relay that stopped refuses the connection; one stopping answers 503.
    matches!(try_http_get(addr, "/readyz").await, Ok((200, _)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_stops_the_relay_without_acknowledging() {
    let dir = data_dir("storage-failure");
    let tokens = demo_team(&dir, 4);
    let mut relay = ChildRelay::start(BINARY, &dir);
    assert!(ready(relay.addr).await);
    // Demo leads alternate between r-yossi (even) and r-ioana (odd).
    let lead = demo_lead_id(&TeamId::from("demo"), 0);
    let mut doc = stored_doc(&dir, &lead).unwrap();
    let before = doc.get_heads();
    let mut yossi = RawPeer::join(relay.addr, &tokens["r-yossi"], "r-yossi/script").await;
    assert_eq!(yossi.sync_doc(lead, &mut doc).await, RawOutcome::Synced);
    let mut ioana = RawPeer::join(relay.addr, &tokens["r-ioana"], "r-ioana/script").await;

    // Another process holds the database's write lock: the relay's next commit fails.
    let lock = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut tx = doc.transaction();
    append_events(
        &mut tx,
        &[Event {
            id: EventId("lost-1".into()),
            at: Utc::now(),
            by: MemberId::from("r-yossi"),
            after: None,
            kind: EventKind::Attempt {
                channel: Channel::Call,
                outcome: AttemptOutcome::Reached,
            },
        }],
    )
    .unwrap();
    tx.commit();
    let change = doc.get_heads();
    let mut state = State::new();
    let relay_peer = PeerId::new(RELAY_PEER);
    let close = loop {
        if let Some(message) = doc.generate_sync_message(&mut state) {
            yossi
                .send(&Message::Sync {
                    sender_id: yossi.peer.clone(),
                    target_id: relay_peer.clone(),
                    document_id: lead,
                    data: message.encode(),
                    sealed: None,
                })
                .await;
        }
        match tokio::time::timeout(STORAGE_WAIT, yossi.ws.next()).await {
            Err(_) => panic!("the relay neither acknowledged nor closed in {STORAGE_WAIT:?}"),
            Ok(Some(Ok(WsMessage::Binary(frame)))) => {
                let Message::Sync { data, .. } =
                    fieldbook_core::sync::wire::decode(&frame, Default::default()).unwrap()
                else {
                    continue;
                };
                let message = SyncMessage::decode(&data).unwrap();
                assert!(
                    message.heads.iter().all(|h| !change.contains(h)),
                    "the relay acknowledged a change it could not store"
                );
                doc.receive_sync_message(&mut state, message).unwrap();
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended without a close frame: {other:?}"),
        }
    };
    let close = close.expect("a close frame with a reason");
    assert_eq!(u16::from(close.code), 1011);
    assert_eq!(close.reason.as_str(), "relay storage failure");
    // The other connection is closed too.
    let (_, other) = read_until_closed(&mut ioana.ws).await;
    assert_eq!(u16::from(other.expect("a close frame").code), 1011);

    // No longer ready, and the process ends with an error.
    let deadline = Instant::now() + WAIT;
    while ready(relay.addr).await {
        assert!(Instant::now() < deadline, "/readyz still answers ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = loop {
        if let Some(status) = relay.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the relay did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success(), "{status}");

    // Nothing unacknowledged was stored; once storage works the relay serves again.
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eq!(stored_doc(&dir, &lead).unwrap().get_heads(), before);
    let mut relay = ChildRelay::start(BINARY, &dir);
    assert!(ready(relay.addr).await);
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}
