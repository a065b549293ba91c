//! Transport hardening (issue 11, findings 5, 6 and 8): connections that never send a request
//! head are closed by the header timeout, stalled ones by the idle timeout, and beyond the cap
//! on connections that have not become a WebSocket new ones get `503`; a flooding client
//! receives the `error` message and the close frame although it keeps sending; and the rate
//! limit spares a device that answers what the relay forwards to it, but not one that sends
//! on its own beyond the rate.

use fieldbook_core::doc::DocumentId;
use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::LeadCommand;
use fieldbook_core::sync::wire::{self, Message, PeerId};
use fieldbook_tests::*;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn denials(text: &str, reason: &str) -> u64 {
    metric(
        text,
        &format!("fieldbook_denials_total{{reason=\"{reason}\"}}"),
    )
}

/// Reads until the relay closes the socket; returns what arrived and when it closed.
async fn read_until_eof(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => panic!("the relay kept the connection open for {WAIT:?}"),
            Ok(Ok(0) | Err(_)) => return (received, Instant::now()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_request_head_are_closed_by_the_header_timeout() {
    let dir = data_dir("slowloris");
    demo_team(&dir, 1);
    let mut config = test_config(&dir);
    let timeout = Duration::from_millis(500);
    config.http.header_timeout = timeout;
    let relay = Relay::start(config).await;

    let start = Instant::now();
    let mut silent = TcpStream::connect(relay.addr).await.unwrap();
    let mut half = TcpStream::connect(relay.addr).await.unwrap();
    half.write_all(b"GET /healthz HT").await.unwrap();
    // A byte every 100 ms: never idle, never a whole head.
    let mut dribble = TcpStream::connect(relay.addr).await.unwrap();
    let (mut dribble_read, mut dribble_write) = dribble.split();
    let dribbling = async {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if dribble_write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let dribble_closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(WAIT, dribble_read.read(&mut buf)).await {
                Err(_) => panic!("the relay kept the dribbling connection open for {WAIT:?}"),
                Ok(Ok(0) | Err(_)) => return Instant::now(),
                Ok(Ok(_)) => {}
            }
        }
    };
    let (silent_closed, half_closed, (dribble_closed, ())) = tokio::join!(
        async { read_until_eof(&mut silent).await.1 },
        async { read_until_eof(&mut half).await.1 },
        async { tokio::join!(dribble_closed, dribbling) },
    );
    for (what, closed) in [
        ("silent", silent_closed),
        ("half a request line", half_closed),
        ("dribbling", dribble_closed),
    ] {
        let after = closed - start;
        assert!(
            after >= timeout.mul_f32(0.9) && after < timeout + Duration::from_secs(2),
            "{what}: closed after {after:?}, the header timeout is {timeout:?}"
        );
    }
    // A real request is unaffected.
    assert_eq!(http_get(relay.addr, "/healthz").await, (200, "ok\n".into()));
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(metric(&metrics, "fieldbook_http_header_timeouts_total"), 3);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_a_response_is_closed_by_the_idle_timeout() {
    let dir = data_dir("idle");
    demo_team(&dir, 1);
    let web = dir.join("web");
    std::fs::create_dir_all(&web).unwrap();
    // Larger than what the loopback socket buffers hold.
    let size = 32 * 1024 * 1024;
    std::fs::write(web.join("big.bin"), vec![7u8; size]).unwrap();
    let mut config = test_config(&dir);
    config.web = Some(web);
    config.http.idle_timeout = Duration::from_millis(500);
    let relay = Relay::start(config).await;

    let mut stalled = TcpStream::connect(relay.addr).await.unwrap();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // Not reading: the relay's writes stall once the buffers are full.
    let deadline = Instant::now() + WAIT;
    let metrics = loop {
        let metrics = http_get(relay.addr, "/metrics").await.1;
        if metrics.contains("\nfieldbook_http_idle_timeouts_total 1\n") {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no idle timeout: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (received, _) = read_until_eof(&mut stalled).await;
    assert!(
        received.len() < size,
        "the whole response arrived ({} bytes): the connection was not cut",
        received.len()
    );
    assert_eq!(metric(&metrics, "fieldbook_http_header_timeouts_total"), 0);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_on_unauthenticated_connections_new_ones_get_503() {
    let dir = data_dir("unauth-cap");
    let tokens = demo_team(&dir, 2);
    let mut config = test_config(&dir);
    config.http.max_unauthenticated = 3;
    let relay = Relay::start(config).await;

    // A device's WebSocket has authenticated: it does not hold a place.
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    yossi.connect(relay.addr).await;
    until(&mut [&mut yossi], "the first sync", |d| {
        d[0].settled() && !d[0].leads().is_empty()
    })
    .await;
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(
        metric(&metrics, "fieldbook_http_connections"),
        1,
        "{metrics}"
    );

    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(relay.addr).await.unwrap());
    }
    let asked = Instant::now();
    let (status, body) = http_get(relay.addr, "/healthz").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        "too many connections waiting to authenticate: retry\n"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );

    // One leaves: there is room again.
    drop(silent.pop());
    let deadline = Instant::now() + WAIT;
    while http_get(relay.addr, "/healthz").await.0 != 200 {
        assert!(Instant::now() < deadline, "no room after a connection left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert!(denials(&metrics, "unauthenticated_connections") >= 1);
    // The device still syncs.
    let lead = yossi.leads()[0];
    yossi
        .command(
            lead,
            LeadCommand::LogAttempt {
                channel: Channel::Call,
                outcome: AttemptOutcome::Reached,
            },
        )
        .await
        .unwrap();
    until(&mut [&mut yossi], "the change to be acknowledged", |d| {
        d[0].settled()
    })
    .await;
    assert!(yossi.online());
    drop(silent);
    relay.stop().await;
}

fn harmless(peer: &str) -> Vec<u8> {
    wire::encode(&Message::RemoteSubscriptionChange {
        sender_id: PeerId::new(peer),
        target_id: PeerId::new(fieldbook_server::relay::engine::RELAY_PEER),
        add: None,
        remove: None,
    })
}

fn error_message(frame: &[u8]) -> String {
    match wire::decode(frame, Default::default()).unwrap() {
        Message::Error { message, .. } => message,
        other => panic!("expected an error message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_receives_the_error_and_the_close_frame() {
    let dir = data_dir("flood");
    let tokens = demo_team(&dir, 2);
    let mut config = test_config(&dir);
    config.conn.messages_per_second = 50;
    config.conn.message_burst = 100;
    let relay = Relay::start(config).await;
    for round in 0..5 {
        let raw = RawPeer::join(
            relay.addr,
            &tokens["r-ioana"],
            &format!("r-ioana/flood{round}"),
        )
        .await;
        let (mut sink, mut stream) = raw.ws.split();
        let frame = harmless(&format!("r-ioana/flood{round}"));
        // Keeps sending while the relay closes it, as a client busy writing does, until the
        // socket refuses: after the closing handshake, not by a reset.
        let flood = tokio::spawn(async move {
            let started = Instant::now();
            while started.elapsed() < WAIT {
                if let Err(e) = sink.send(WsMessage::Binary(frame.clone().into())).await {
                    return e;
                }
            }
            panic!("still sending after {WAIT:?}");
        });
        let mut frames = Vec::new();
        let close = loop {
            match tokio::time::timeout(WAIT, stream.next()).await {
                Err(_) => panic!("round {round}: not closed in time"),
                Ok(Some(Ok(WsMessage::Binary(b)))) => frames.push(b.to_vec()),
                Ok(Some(Ok(WsMessage::Close(frame)))) => break frame,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("round {round}: {e} instead of the close frame"),
                Ok(None) => panic!("round {round}: the socket ended without a close frame"),
            }
        };
        let close = close.unwrap_or_else(|| panic!("round {round}: a close frame without a code"));
        assert_eq!(u16::from(close.code), 1008, "round {round}");
        assert_eq!(close.reason.as_str(), "more than 50 messages per second");
        assert_eq!(error_message(frames.last().unwrap()), close.reason.as_str());
        let refused = tokio::time::timeout(WAIT, flood).await.unwrap().unwrap();
        assert!(
            !matches!(refused, tungstenite::Error::Io(_)),
            "round {round}: the relay reset the connection: {refused}"
        );
    }
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(denials(&metrics, "message_rate"), 5);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_forwarded_changes_is_not_limited_but_sending_beyond_the_rate_is() {
    let dir = data_dir("credits");
    let tokens = demo_team(&dir, 6);
    let mut config = test_config(&dir);
    config.conn.messages_per_second = 10;
    config.conn.message_burst = 30;
    let relay = Relay::start(config).await;
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 1);
    let mut senders = vec![
        Device::new("yossi-1", "r-yossi", &tokens["r-yossi"], 2),
        Device::new("yossi-2", "r-yossi", &tokens["r-yossi"], 3),
        Device::new("yossi-3", "r-yossi", &tokens["r-yossi"], 4),
        Device::new("ioana-1", "r-ioana", &tokens["r-ioana"], 5),
        Device::new("ioana-2", "r-ioana", &tokens["r-ioana"], 6),
        Device::new("ioana-3", "r-ioana", &tokens["r-ioana"], 7),
    ];
    dana.connect(relay.addr).await;
    for s in &mut senders {
        s.connect(relay.addr).await;
    }
    {
        let mut all: Vec<&mut Device> = std::iter::once(&mut dana).chain(&mut senders).collect();
        until(&mut all, "the first sync", |d| {
            // 6 leads: Dana sees all, each rep's devices their 3.
            d.iter().all(|d| d.settled())
                && d[0].leads().len() == 6
                && d[1..].iter().all(|s| s.leads().len() == 3)
        })
        .await;
    }
    // Each sender changes one of its leads 5 times a second (within the rate of 10): Dana
    // receives 30 changes a second and answers each (with the index updates, more than one
    // frame a change), several times the rate.
    let mut made = 0;
    let before = dana.frames.0;
    let started = Instant::now();
    for tick in 0..20 {
        for (i, s) in senders.iter_mut().enumerate() {
            let lead = s.leads()[i % 3];
            s.command(
                lead,
                LeadCommand::LogAttempt {
                    channel: Channel::Call,
                    outcome: AttemptOutcome::NoAnswer,
                },
            )
            .await
            .unwrap();
            made += 1;
        }
        let mut all: Vec<&mut Device> = std::iter::once(&mut dana).chain(&mut senders).collect();
        pump_for(&mut all, Duration::from_millis(200)).await;
        assert!(dana.online(), "Dana was disconnected at tick {tick}");
    }
    {
        let mut all: Vec<&mut Device> = std::iter::once(&mut dana).chain(&mut senders).collect();
        until(&mut all, "Dana to hold every change", |d| {
            d.iter().all(|d| d.settled())
                && d[1..]
                    .iter()
                    .all(|s| s.leads().iter().all(|l| s.heads(l) == d[0].heads(l)))
        })
        .await;
    }
    // More than the bucket alone allows over the run.
    let answered = dana.frames.0 - before;
    let bucket = 30 + (10.0 * started.elapsed().as_secs_f64()) as u64;
    assert!(
        answered > bucket,
        "Dana sent {answered} frames for {made} changes, within the bucket's {bucket}"
    );
    assert!(dana.online() && senders.iter().all(Device::online));
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(denials(&metrics, "message_rate"), 0, "{made} changes");

    // Requests the relay answers (`doc-unavailable`) earn nothing: one after the other, as
    // fast as the answers come, they are closed at the rate.
    let mut raw = RawPeer::join(relay.addr, &tokens["r-ioana"], "r-ioana/asking").await;
    let empty_request = {
        use automerge::sync::{State, SyncDoc};
        let doc = automerge::Automerge::new();
        doc.generate_sync_message(&mut State::new())
            .unwrap()
            .encode()
    };
    let mut asked = 0u32;
    let close = loop {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&asked.to_be_bytes());
        id[4] = 0xee;
        let frame = wire::encode(&Message::Request {
            sender_id: raw.peer.clone(),
            target_id: PeerId::new(fieldbook_server::relay::engine::RELAY_PEER),
            document_id: DocumentId::from_bytes(id),
            data: empty_request.clone(),
            sealed: None,
        });
        raw.ws.send(WsMessage::Binary(frame.into())).await.unwrap();
        asked += 1;
        assert!(asked <= 200, "200 requests without being closed");
        match tokio::time::timeout(WAIT, raw.ws.next()).await.unwrap() {
            Some(Ok(WsMessage::Binary(b))) => match wire::decode(&b, Default::default()).unwrap() {
                Message::DocUnavailable { .. } => {}
                Message::Error { message, .. } => {
                    assert_eq!(message, "more than 10 messages per second");
                    let (_, close) = read_until_closed(&mut raw.ws).await;
                    break close.unwrap();
                }
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "more than 10 messages per second");
    // The burst of 30 and what the rate adds while they are answered.
    assert!((28..=60).contains(&asked), "closed after {asked} requests");
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(denials(&metrics, "message_rate"), 1);
    relay.stop().await;
}
