//! Built-in TLS (issue 11, item 6): devices sync over `wss://` with a certificate generated in
//! the test, and SIGHUP makes the real relay read its certificate again without dropping the
//! connections it has: new handshakes get the new certificate.

use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::LeadCommand;
use fieldbook_tests::*;
use std::path::Path;
use std::time::Instant;

const BINARY: &str = env!("CARGO_BIN_EXE_fieldbook-relay");

fn attempt() -> LeadCommand {
    LeadCommand::LogAttempt {
        channel: Channel::Visit,
        outcome: AttemptOutcome::Reached,
    }
}

/// A rep changes a lead; the manager sees it.
async fn change_reaches_the_manager(yossi: &mut Device, dana: &mut Device) {
    let lead = yossi.leads()[0];
    yossi.command(lead, attempt()).await.unwrap();
    until(&mut [yossi, dana], "the change to reach Dana", |d| {
        d[0].settled() && d[1].settled() && d[0].heads(&lead) == d[1].heads(&lead)
    })
    .await;
}

async fn first_sync(yossi: &mut Device, dana: &mut Device) {
    until(&mut [yossi, dana], "the first sync over wss", |d| {
        d[0].settled() && d[1].settled() && !d[0].leads().is_empty() && d[1].leads().len() == 4
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_sync_over_wss_with_the_relays_certificate() {
    let dir = data_dir("tls");
    let tokens = demo_team(&dir, 4);
    let cert = TestCert::generate(&dir, "relay");
    let mut config = test_config(&dir);
    config.tls = Some(cert.files());
    let relay = Relay::start(config).await;

    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 2);
    yossi.tls = Some(cert.client());
    dana.tls = Some(cert.client());
    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    first_sync(&mut yossi, &mut dana).await;
    change_reaches_the_manager(&mut yossi, &mut dana).await;

    let url = format!("wss://{}/sync?token={}", relay.addr, tokens["r-ioana"]);
    let ws = try_open_ws(&url, Some(&cert.client())).await.unwrap();
    assert_eq!(peer_certificate(&ws), Some(cert.der.clone()));
    // A client that does not trust the certificate fails its handshake.
    let stranger = TestCert::generate(&dir, "stranger");
    let refused = try_open_ws(&url, Some(&stranger.client())).await;
    assert!(
        refused.is_err(),
        "a handshake with an untrusted certificate"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(try_http_get(relay.addr, "/healthz").await.is_err());
    relay.stop().await;
}

fn install(cert: &TestCert, live: &TestCert) {
    // Each file replaced at once (a rename), as certificate renewal tools do.
    for (from, to) in [(&cert.key, &live.key), (&cert.cert, &live.cert)] {
        let tmp = to.with_extension("new");
        std::fs::copy(from, &tmp).unwrap();
        std::fs::rename(&tmp, to).unwrap();
    }
}

fn hangup(relay: &ChildRelay) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Connects with `cert` trusted until the handshake succeeds (the relay reloads when it
/// handles the signal).
async fn open_trusting(url: &str, cert: &TestCert) -> Ws {
    let deadline = Instant::now() + WAIT;
    loop {
        match try_open_ws(url, Some(&cert.client())).await {
            Ok(ws) => return ws,
            Err(e) if Instant::now() > deadline => {
                panic!("no handshake with the new certificate: {e}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_keeps_open_connections() {
    let dir = data_dir("tls-reload");
    let tokens = demo_team(&dir, 4);
    let old = TestCert::generate(&dir, "old");
    let new = TestCert::generate(&dir, "new");
    let live = TestCert::generate(&dir, "live");
    install(&old, &live);
    let arg = |p: &Path| p.to_str().unwrap().to_owned();
    let (cert_arg, key_arg) = (arg(&live.cert), arg(&live.key));
    let mut relay = ChildRelay::start_with(
        BINARY,
        &dir,
        &[
            "--index-debounce-ms",
            "20",
            "--tls-cert",
            &cert_arg,
            "--tls-key",
            &key_arg,
        ],
    );
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 2);
    yossi.tls = Some(old.client());
    dana.tls = Some(old.client());
    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    first_sync(&mut yossi, &mut dana).await;

    install(&new, &live);
    hangup(&relay);
    let url = format!("wss://{}/sync?token={}", relay.addr, tokens["r-ioana"]);
    let ws = open_trusting(&url, &new).await;
    assert_eq!(peer_certificate(&ws), Some(new.der.clone()));
    drop(ws);
    assert!(
        try_open_ws(&url, Some(&old.client())).await.is_err(),
        "a new handshake still got the old certificate"
    );
    // The connections made before the reload keep working.
    assert!(yossi.online() && dana.online());
    change_reaches_the_manager(&mut yossi, &mut dana).await;

    // Files that do not load leave the current certificate in place.
    std::fs::write(&live.cert, "not a certificate").unwrap();
    hangup(&relay);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ws = open_trusting(&url, &new).await;
    assert_eq!(peer_certificate(&ws), Some(new.der.clone()));
    assert!(
        relay.child.try_wait().unwrap().is_none(),
        "the relay exited"
    );
    change_reaches_the_manager(&mut yossi, &mut dana).await;
    relay.child.kill().unwrap();
    relay.child.wait().unwrap();
}
