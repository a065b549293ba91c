//! The relay killed with SIGKILL in the middle of a sync: everything it acknowledged is in
//! storage, and after a restart the devices converge. The relay is the real `fieldbook serve`
//! command run as a child process.

use automerge::ReadDoc;
use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::{self, DocumentId};
use fieldbook_tests::*;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_fieldbook-relay");
const N_NEW: usize = 300;

/// Leads whose every head the relay has acknowledged (their sync state's shared heads).
fn acknowledged(device: &Device) -> Vec<(DocumentId, Vec<String>)> {
    device
        .leads()
        .into_iter()
        .filter_map(|id| {
            let s = device.replica.summary(&id)?;
            (!s.synced.is_empty() && s.heads == s.synced).then(|| (id, s.synced.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_sync_loses_nothing_acknowledged_and_devices_converge() {
    let dir = data_dir("sigkill");
    let tokens = demo_team(&dir, 4);
    let mut relay = ChildRelay::start(BINARY, &dir);
    let mut yossi = Device::new("yossi", "r-yossi", &tokens["r-yossi"], 1);
    yossi.connect(relay.addr).await;
    until(&mut [&mut yossi], "the first sync", |d| {
        d[0].settled() && d[0].leads().len() == 2
    })
    .await;

    // A day offline: many new leads, then the connection comes back.
    yossi.disconnect();
    let mut created = Vec::new();
    for i in 0..N_NEW {
        let input = NewLead {
            company: format!("Offline Customer {i}"),
            contact: "Rina".into(),
            ..NewLead::default()
        };
        created.push(yossi.create(input).await.unwrap());
    }
    yossi.connect(relay.addr).await;
    until(
        &mut [&mut yossi],
        "part of the upload to be acknowledged",
        |d| acknowledged(d[0]).len() >= 2 + 30,
    )
    .await;
    relay.child.kill().unwrap(); // SIGKILL
    relay.child.wait().unwrap();
    let acked = acknowledged(&yossi);
    assert!(
        acked.len() < 2 + N_NEW,
        "killed in the middle: {} of {} acknowledged",
        acked.len(),
        2 + N_NEW
    );
    eprintln!(
        "killed with {} of {} leads acknowledged",
        acked.len(),
        2 + N_NEW
    );
    yossi.disconnect();

    // Every acknowledged change is in the relay's storage.
    for (id, heads) in &acked {
        let stored =
            stored_doc(&dir, id).unwrap_or_else(|| panic!("{id} acknowledged, not stored"));
        for head in doc::heads_from_hex(heads).unwrap() {
            assert!(
                stored.get_change_by_hash(&head).is_some(),
                "{id}: {head} lost"
            );
        }
    }

    // Restarted, the relay takes the rest; the manager's device receives everything.
    let relay = ChildRelay::start(BINARY, &dir);
    let mut dana = Device::new("dana", "m-dana", &tokens["m-dana"], 2);
    yossi.connect(relay.addr).await;
    dana.connect(relay.addr).await;
    until(
        &mut [&mut yossi, &mut dana],
        "convergence after the restart",
        |d| {
            d[0].settled()
                && d[1].settled()
                && created
                    .iter()
                    .all(|id| d[1].heads(id).is_some() && d[1].heads(id) == d[0].heads(id))
        },
    )
    .await;
    assert_eq!(dana.leads().len(), 4 + N_NEW);

    // SIGTERM: a graceful stop with exit code 0.
    let mut relay = relay;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = relay.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
