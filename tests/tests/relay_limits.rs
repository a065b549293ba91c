//! Authentication at the upgrade and the relay's limits: every refusal says why, is counted,
//! and harms no other connection.

use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::LeadCommand;
use fieldbook_core::sync::wire::{self, Message};
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_server::relay::store::{Durability, RelayStore, SqliteStore};
use fieldbook_server::relay::{admin, token};
use fieldbook_tests::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {text}"))
}

fn denials(text: &str, reason: &str) -> u64 {
    metric(
        text,
        &format!("fieldbook_denials_total{{reason=\"{reason}\"}}"),
    )
}

fn error_message(frame: &[u8]) -> String {
    match wire::decode(frame, Default::default()).unwrap() {
        Message::Error { message, .. } => message,
        other => panic!("expected an error message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_get_401_with_the_reason() {
    let dir = data_dir("auth");
    let tokens = demo_team(&dir, 2);
    let mut config = test_config(&dir);
    config.engine.max_conns_per_member = 2;
    let relay = Relay::start(config).await;
    assert_eq!(http_get(relay.addr, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(http_get(relay.addr, "/readyz").await.0, 200);

    let mut store = SqliteStore::open_dir(&dir, Durability::Normal).unwrap();
    let secret = store.secret().unwrap();
    let claims = |exp: i64| token::Claims {
        id: "made-up".into(),
        team: TeamId::from("demo"),
        member: MemberId::from("a-admin"),
        role: fieldbook_core::team::Role::Admin,
        exp,
    };
    let now = now().timestamp();
    let (revocable, record) = admin::issue_token(
        &mut store,
        &TeamId::from("demo"),
        &MemberId::from("r-ioana"),
        chrono::TimeDelta::hours(1),
        now_utc(),
    )
    .unwrap();
    admin::revoke_token(&mut store, &record.id, now_utc()).unwrap();
    let cases = [
        ("".to_owned(), "missing token"),
        (
            "nonsense".to_owned(),
            "malformed token: expected fb1.<payload>.<signature>",
        ),
        (token::sign(&claims(now + 60), &[1; 32]), "forged token"),
        (
            token::sign(&claims(now - 60), &secret),
            "expired token: expired at",
        ),
        // Signed with the relay's secret but never issued: no record, so refused.
        (
            token::sign(&claims(now + 60), &secret),
            "revoked token made-up",
        ),
        (revocable, &format!("revoked token {}", record.id)),
    ];
    for (token, reason) in &cases {
        let (status, body) = open_ws(&relay.sync_url(token)).await.unwrap_err();
        assert_eq!(status, 401, "{token}");
        assert!(
            body.starts_with(reason),
            "{body:?} should start with {reason:?}"
        );
    }
    // The header works as well as the query parameter.
    let mut request = format!("ws://{}/sync", relay.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", tokens["r-yossi"]).parse().unwrap(),
    );
    let (mut by_header, _) = tokio_tungstenite::connect_async(request).await.unwrap();

    // A third connection of one member is over the limit of two.
    let second = open_ws(&relay.sync_url(&tokens["r-yossi"])).await.unwrap();
    let mut third = open_ws(&relay.sync_url(&tokens["r-yossi"])).await.unwrap();
    let (frames, close) = read_until_closed(&mut third).await;
    let close = close.unwrap();
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(
        close.reason.as_str(),
        "too many connections for member r-yossi (limit 2)"
    );
    assert_eq!(error_message(&frames[0]), close.reason.as_str());

    // Revoking a token closes its open connections.
    let (live, live_record) = admin::issue_token(
        &mut store,
        &TeamId::from("demo"),
        &MemberId::from("m-dana"),
        chrono::TimeDelta::hours(1),
        now_utc(),
    )
    .unwrap();
    let mut dana = RawPeer::join(relay.addr, &live, "m-dana/raw").await;
    admin::revoke_token(&mut store, &live_record.id, now_utc()).unwrap();
    let (_, close) = read_until_closed(&mut dana.ws).await;
    let close = close.unwrap();
    assert_eq!(
        close.reason.as_str(),
        format!("token {} revoked", live_record.id)
    );

    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(denials(&metrics, "token_missing"), 1);
    assert_eq!(denials(&metrics, "token_malformed"), 1);
    assert_eq!(denials(&metrics, "token_forged"), 1);
    assert_eq!(denials(&metrics, "token_expired"), 1);
    assert_eq!(denials(&metrics, "token_revoked"), 3);
    assert_eq!(denials(&metrics, "connections_per_member"), 1);
    by_header.close(None).await.unwrap();
    drop(second);
    relay.stop().await;
}

fn now_utc() -> chrono::DateTime<chrono::Utc> {
    now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_are_refused_without_harm_to_others() {
    let dir = data_dir("frames");
    let tokens = demo_team(&dir, 6);
    let mut config = test_config(&dir);
    config.conn.messages_per_second = 50;
    config.conn.message_burst = 100;
    let relay = Relay::start(config).await;
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 2);
    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    until(&mut [&mut yossi, &mut dana], "the first sync", |d| {
        d[0].settled() && d[1].settled() && d[1].leads().len() == 6
    })
    .await;

    // Not CBOR: the hub answers `error` and closes with a protocol error.
    let mut garbage = open_ws(&relay.sync_url(&tokens["r-ioana"])).await.unwrap();
    garbage
        .send(WsMessage::Binary(vec![0xff, 0x00, 0x13].into()))
        .await
        .unwrap();
    let (frames, close) = read_until_closed(&mut garbage).await;
    let close = close.unwrap();
    assert_eq!(u16::from(close.code), 1002);
    assert!(close.reason.starts_with("malformed message"), "{close:?}");
    assert!(error_message(&frames[0]).starts_with("malformed message"));

    // Over the 256 KiB limit of the test relay: `error`, then 1009 with the sizes.
    let mut big = open_ws(&relay.sync_url(&tokens["r-ioana"])).await.unwrap();
    big.send(WsMessage::Binary(vec![0u8; 300 * 1024].into()))
        .await
        .unwrap();
    let (frames, close) = read_until_closed(&mut big).await;
    let close = close.unwrap();
    assert_eq!(u16::from(close.code), 1009);
    assert_eq!(
        close.reason.as_str(),
        "frame of 307200 bytes exceeds the limit of 262144 bytes"
    );
    assert_eq!(error_message(&frames[0]), close.reason.as_str());

    // Text is not part of the protocol.
    let mut text = open_ws(&relay.sync_url(&tokens["r-ioana"])).await.unwrap();
    text.send(WsMessage::Text("{\"type\":\"join\"}".into()))
        .await
        .unwrap();
    let (_, close) = read_until_closed(&mut text).await;
    assert_eq!(u16::from(close.unwrap().code), 1003);

    // A message storm: over the burst of 100, closed with 1008.
    let mut storm = open_ws(&relay.sync_url(&tokens["r-ioana"])).await.unwrap();
    let harmless = wire::encode(&Message::RemoteSubscriptionChange {
        sender_id: wire::PeerId::new("storm"),
        target_id: wire::PeerId::new("relay"),
        add: None,
        remove: None,
    });
    for _ in 0..150 {
        if storm
            .send(WsMessage::Binary(harmless.clone().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let (frames, close) = read_until_closed(&mut storm).await;
    let close = close.unwrap();
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "more than 50 messages per second");
    assert_eq!(error_message(frames.last().unwrap()), close.reason.as_str());

    // The devices still sync.
    let lead: DocumentId = demo_lead_id(&TeamId::from("demo"), 0);
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
    until(
        &mut [&mut yossi, &mut dana],
        "the change to reach Dana",
        |d| d[0].settled() && d[0].heads(&lead) == d[1].heads(&lead),
    )
    .await;
    let metrics = http_get(relay.addr, "/metrics").await.1;
    assert_eq!(denials(&metrics, "malformed_frame"), 2);
    assert_eq!(denials(&metrics, "frame_too_large"), 1);
    assert_eq!(denials(&metrics, "message_rate"), 1);
    assert!(metric(&metrics, "fieldbook_frames_received_total") > 10);
    assert_eq!(metric(&metrics, "fieldbook_connections"), 2);
    relay.stop().await;
}
