//! Figures of the relay with simulated devices over loopback (ignored by default; run with
//! `cargo test --release -p fieldbook-tests --test relay_measure -- --ignored --nocapture`).
//! Prints: the manager's first sync of the whole demo book, a reconnect with nothing changed,
//! and the latency of a rep's change to the manager's device.

use fieldbook_core::ids::TeamId;
use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::LeadCommand;
use fieldbook_server::relay::demo::demo_lead_id;
use fieldbook_tests::*;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn measure_first_sync_reconnect_and_propagation() {
    let n_leads: usize = std::env::var("FIELDBOOK_MEASURE_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = data_dir("measure");
    let tokens = demo_team(&dir, n_leads);
    let mut config = test_config(&dir);
    config.engine.index_debounce = std::time::Duration::from_millis(75);
    let relay = Relay::start(config).await;
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 2);
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);

    let started = Instant::now();
    dana.connect(relay.addr).await;
    until(&mut [&mut dana], "the manager's first sync", |d| {
        d[0].settled() && d[0].leads().len() == n_leads
    })
    .await;
    let first = started.elapsed();

    dana.disconnect();
    let started = Instant::now();
    dana.connect(relay.addr).await;
    until(&mut [&mut dana], "a reconnect", |d| {
        d[0].settled() && d[0].index().is_some()
    })
    .await;
    let reconnect = started.elapsed();

    yossi.connect(relay.addr).await;
    until(&mut [&mut yossi, &mut dana], "Yossi's first sync", |d| {
        d[0].settled() && d[0].leads().len() == n_leads / 2
    })
    .await;
    let mut latencies = Vec::new();
    for i in 0..50 {
        let lead = demo_lead_id(&TeamId::from("demo"), (i * 2) % n_leads);
        // Dana holds the lead in memory, as a manager looking at it would.
        dana.ensure_loaded(&lead);
        let started = Instant::now();
        yossi
            .command(
                lead,
                LeadCommand::LogAttempt {
                    channel: Channel::Call,
                    outcome: AttemptOutcome::NoAnswer,
                },
            )
            .await
            .unwrap();
        until(&mut [&mut yossi, &mut dana], "the change at Dana's", |d| {
            d[1].heads(&lead) == d[0].heads(&lead)
        })
        .await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let metrics = http_get(relay.addr, "/metrics").await.1;
    let rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("")
        .to_owned();
    println!(
        "leads {n_leads}: manager first sync {first:.2?}; reconnect, nothing changed {reconnect:.2?}; \
         rep change -> manager device p50 {:.2?} p90 {:.2?} max {:.2?} (50 changes); \
         test process {rss}",
        latencies[24], latencies[44], latencies[49]
    );
    for line in metrics.lines().filter(|l| {
        l.starts_with("fieldbook_frames")
            || l.starts_with("fieldbook_bytes")
            || l.starts_with("fieldbook_sync_latency_seconds_")
    }) {
        println!("  {line}");
    }
    relay.stop().await;
}
