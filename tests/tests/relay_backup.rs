//! `fieldbook backup` and `fieldbook restore` end to end: a backup taken while devices keep
//! changing leads through the real relay (a child process) restores into a fresh data
//! directory, a relay serves it, and the devices — the ones from the load run, ahead of the
//! backup, and fresh ones — converge with nothing lost. Then the refusals: an existing output,
//! a serving relay, a file that is not a relay database, and `--force` keeping the old file.

use automerge::ReadDoc;
use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::{self, DocumentId};
use fieldbook_core::lead::{AttemptOutcome, Channel};
use fieldbook_core::replica::LeadCommand;
use fieldbook_tests::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_fieldbook-relay");
/// Demo leads, split between the two reps; the manager and the admin see them all.
const N_LEADS: usize = 40;
/// Load rounds after the backup finished: what the devices hold beyond it.
const ROUNDS_AFTER: usize = 15;

/// A child relay killed when the test ends, even by a panic.
struct Running(ChildRelay);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn fieldbook(args: &[&str], data: &Path) -> Output {
    Command::new(BINARY)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("the fieldbook command runs")
}

fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn refused(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout when refused");
}

/// Every lead a device holds, with its heads.
fn holdings(device: &Device) -> BTreeMap<DocumentId, Vec<String>> {
    device
        .leads()
        .into_iter()
        .filter_map(|id| Some((id, device.heads(&id)?)))
        .collect()
}

/// Every device holds the same heads for every lead it shares with another.
fn converged(devices: &[&mut Device]) -> bool {
    devices.iter().all(|d| d.settled())
        && devices.iter().enumerate().all(|(i, a)| {
            let held = holdings(a);
            devices[i + 1..].iter().all(|b| {
                held.iter()
                    .all(|(id, heads)| b.heads(id).is_none_or(|h| h == *heads))
            })
        })
}

/// The relay's counter `name` from `/metrics`.
async fn counter(relay: &ChildRelay, name: &str) -> u64 {
    let (_, text) = http_get(relay.addr, "/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// One round of load: every device changes one of its leads (in turn), each rep also creates
/// a lead every fifth round; then frames flow for a moment. Returns the commands accepted.
async fn load_round(devices: &mut [&mut Device], round: usize) -> usize {
    let mut accepted = 0;
    for device in devices.iter_mut() {
        let leads = device.leads();
        let id = leads[(round * 7 + device.name.len()) % leads.len()];
        let attempt = LeadCommand::LogAttempt {
            channel: Channel::Call,
            outcome: AttemptOutcome::NoAnswer,
        };
        // A closed lead refuses attempts; the load goes on with the others.
        accepted += usize::from(device.command(id, attempt).await.is_ok());
        if round.is_multiple_of(5) && device.name.starts_with('r') {
            let lead = NewLead {
                company: format!("{} customer {round}", device.name),
                contact: "Noa".into(),
                ..NewLead::default()
            };
            device.create(lead).await.unwrap();
            accepted += 1;
        }
    }
    let pause = Instant::now() + Duration::from_millis(25);
    until(devices, "a load round", |_| Instant::now() >= pause).await;
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_into_a_relay_devices_converge_with() {
    let started = Instant::now();
    let dir = data_dir("backup-load");
    let restored_dir = data_dir("backup-restored");
    let backup_file = dir.with_extension("backup.sqlite");
    let _ = std::fs::remove_file(&backup_file);
    let tokens = demo_team(&dir, N_LEADS);
    let relay = Running(ChildRelay::start(BINARY, &dir));
    let mut yossi = Device::new("r-yossi-phone", "r-yossi", &tokens["r-yossi"], 1);
    let mut ioana = Device::new("r-ioana-phone", "r-ioana", &tokens["r-ioana"], 2);
    let mut dana = Device::new("m-dana-laptop", "m-dana", &tokens["m-dana"], 3);
    let mut admin = Device::new("a-admin-laptop", "a-admin", &tokens["a-admin"], 4);
    let mut devices = [&mut yossi, &mut ioana, &mut dana, &mut admin];
    for device in devices.iter_mut() {
        device.connect(relay.0.addr).await;
    }
    until(&mut devices, "the first sync", |d| {
        d.iter().all(|d| d.settled())
            && d[0].leads().len() == N_LEADS / 2
            && d[1].leads().len() == N_LEADS / 2
            && d[2].leads().len() == N_LEADS
            && d[3].leads().len() == N_LEADS
    })
    .await;

    // Load, then a backup while the load goes on, then more load.
    let mut accepted = 0;
    for round in 0..10 {
        accepted += load_round(&mut devices, round).await;
    }
    let acked_before: Vec<BTreeMap<DocumentId, Vec<String>>> = devices
        .iter()
        .map(|d| {
            d.leads()
                .into_iter()
                .filter_map(|id| {
                    let s = d.replica.summary(&id)?;
                    (!s.synced.is_empty()).then(|| (id, s.synced.clone()))
                })
                .collect()
        })
        .collect();
    let persisted_before = counter(&relay.0, "fieldbook_changes_persisted_total").await;
    let backup_started = Instant::now();
    let mut backup = Command::new(BINARY)
        .args(["backup", "--data"])
        .arg(&dir)
        .arg(&backup_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut round = 10;
    let backup_status = loop {
        accepted += load_round(&mut devices, round).await;
        round += 1;
        if let Some(status) = backup.try_wait().unwrap() {
            break status;
        }
        assert!(backup_started.elapsed() < WAIT, "the backup takes too long");
    };
    let backup_time = backup_started.elapsed();
    let persisted_during = counter(&relay.0, "fieldbook_changes_persisted_total").await;
    let backup_out = backup.wait_with_output().unwrap();
    assert!(
        backup_status.success(),
        "{}",
        String::from_utf8_lossy(&backup_out.stderr)
    );
    let summary = String::from_utf8(backup_out.stdout).unwrap();
    assert!(
        summary.starts_with(&format!("{}: ", backup_file.display()))
            && summary.contains(" documents (")
            && summary.contains(" tokens\n"),
        "{summary}"
    );
    // A small database is copied in a few milliseconds, sometimes before the devices' next
    // frames arrive: only a backup that took a while must have seen commits go on.
    assert!(
        persisted_during > persisted_before || backup_time < Duration::from_millis(250),
        "the relay kept committing while the backup ran ({} ms)",
        backup_time.as_millis()
    );
    for _ in 0..ROUNDS_AFTER {
        accepted += load_round(&mut devices, round).await;
        round += 1;
    }
    until(&mut devices, "the load to settle", converged).await;
    let held: Vec<BTreeMap<DocumentId, Vec<String>>> =
        devices.iter().map(|d| holdings(d)).collect();

    // The relay's disk is lost: the backup goes into a fresh directory.
    drop(relay);
    for device in devices.iter_mut() {
        device.disconnect();
    }
    let restored = succeeded(&fieldbook(
        &["restore", backup_file.to_str().unwrap()],
        &restored_dir,
    ));
    assert!(restored.starts_with("restored "), "{restored}");

    // Consistent: everything acknowledged before the backup started is in it.
    for (device, acked) in devices.iter().zip(&acked_before) {
        for (id, heads) in acked {
            let stored = stored_doc(&restored_dir, id)
                .unwrap_or_else(|| panic!("{}: {id} acknowledged, not in the backup", device.name));
            for head in doc::heads_from_hex(heads).unwrap() {
                assert!(stored.get_change_by_hash(&head).is_some(), "{id}: {head}");
            }
        }
    }
    // Behind the devices: some changes and some whole leads are not in it.
    let mut missing_changes = 0;
    let mut missing_leads = 0;
    for (id, heads) in held.iter().flatten() {
        match stored_doc(&restored_dir, id) {
            None => missing_leads += 1,
            Some(stored) => {
                let heads = doc::heads_from_hex(heads).unwrap();
                missing_changes +=
                    usize::from(heads.iter().any(|h| stored.get_change_by_hash(h).is_none()));
            }
        }
    }
    assert!(
        missing_changes > 0 && missing_leads > 0,
        "the devices are ahead of the backup: {missing_changes} changed, {missing_leads} new"
    );

    // A relay on the restored directory; the devices of the load run and two fresh ones.
    let relay = Running(ChildRelay::start(BINARY, &restored_dir));
    let mut yossi_tablet = Device::new("r-yossi-tablet", "r-yossi", &tokens["r-yossi"], 11);
    let mut dana_phone = Device::new("m-dana-phone", "m-dana", &tokens["m-dana"], 12);
    let [yossi, ioana, dana, admin] = devices;
    let mut everyone = [
        yossi,
        ioana,
        dana,
        admin,
        &mut yossi_tablet,
        &mut dana_phone,
    ];
    for device in everyone.iter_mut() {
        device.connect(relay.0.addr).await;
    }
    let (yossi_leads, dana_leads) = (held[0].len(), held[2].len());
    until(&mut everyone, "convergence with the restored relay", |d| {
        d[4].leads().len() == yossi_leads && d[5].leads().len() == dana_leads && converged(d)
    })
    .await;
    // Nothing a device held is lost, on the devices or on the relay.
    for (device, held) in everyone.iter_mut().zip(&held) {
        for (id, heads) in held {
            device.ensure_loaded(id);
            let doc = device.replica.document(id).unwrap();
            for head in doc::heads_from_hex(heads).unwrap() {
                assert!(
                    doc.get_change_by_hash(&head).is_some(),
                    "{}: {id} lost {head}",
                    device.name
                );
            }
        }
    }
    drop(relay);
    for (id, heads) in held.iter().flatten() {
        let stored = stored_doc(&restored_dir, id).expect("re-sent to the restored relay");
        for head in doc::heads_from_hex(heads).unwrap() {
            assert!(stored.get_change_by_hash(&head).is_some(), "{id}: {head}");
        }
    }
    eprintln!(
        "{accepted} changes in {round} rounds; backup in {:.0} ms while the relay committed {} \
         changes: {}; devices held {missing_changes} leads with changes it lacks and \
         {missing_leads} leads it lacks (counted per device); {:.1} s in all",
        backup_time.as_secs_f64() * 1000.0,
        persisted_during - persisted_before,
        summary.trim(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&restored_dir);
    let _ = std::fs::remove_file(&backup_file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_refuse_what_would_lose_data() {
    let dir = data_dir("backup-refusals");
    let other = data_dir("backup-refusals-other");
    demo_team(&dir, 4);
    let out = dir.with_extension("refusals.sqlite");
    let _ = std::fs::remove_file(&out);
    let out_arg = out.to_str().unwrap();

    // backup: an existing OUT only with --force.
    let first = succeeded(&fieldbook(&["backup", out_arg], &dir));
    assert!(
        first.contains(" 5 documents (4 leads), 4 tokens"),
        "{first}"
    );
    refused(
        &fieldbook(&["backup", out_arg], &dir),
        "already exists; pass --force to overwrite it",
    );
    succeeded(&fieldbook(&["backup", "--force", out_arg], &dir));
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left: {leftovers:?}"
    );

    // restore: refused while a relay serves the directory, the database untouched.
    let relay = Running(ChildRelay::start(BINARY, &dir));
    refused(
        &fieldbook(&["restore", "--force", out_arg], &dir),
        "a relay is serving",
    );
    assert_eq!(http_get(relay.0.addr, "/readyz").await.0, 200);
    drop(relay);
    assert!(
        !dir.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("before-restore")),
        "nothing moved aside"
    );

    // restore: a file that is not a relay database, then one that is not SQLite at all.
    let not_relay = other.join("other.sqlite");
    rusqlite::Connection::open(&not_relay)
        .unwrap()
        .execute_batch("CREATE TABLE meta (key TEXT, value BLOB);")
        .unwrap();
    refused(
        &fieldbook(
            &["restore", not_relay.to_str().unwrap()],
            &other.join("data"),
        ),
        "is not a Fieldbook relay database: no table docs",
    );
    let text = other.join("notes.txt");
    std::fs::write(&text, "not a database, just some text that is long enough").unwrap();
    refused(
        &fieldbook(&["restore", text.to_str().unwrap()], &other.join("data")),
        "is not a Fieldbook relay database: not an SQLite database",
    );
    assert!(
        !other.join("data").exists(),
        "nothing created for a bad backup"
    );

    // restore: an existing database only with --force, which keeps the old file.
    refused(
        &fieldbook(&["restore", out_arg], &dir),
        "already holds a relay database; pass --force",
    );
    let said = succeeded(&fieldbook(&["restore", "--force", out_arg], &dir));
    let kept: Vec<String> = dir
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("relay.sqlite.before-restore-") && !name.contains("-wal"))
        .filter(|name| !name.ends_with("-shm"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(said.contains(&kept[0]), "{said}");
    // The killed relay's WAL moved with its database, none is left beside the restored one.
    assert!(dir.join(format!("{}-wal", kept[0])).exists());
    assert!(!dir.join("relay.sqlite-wal").exists());
    let old = rusqlite::Connection::open(dir.join(&kept[0])).unwrap();
    let docs: i64 = old
        .query_row("SELECT COUNT(*) FROM docs", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        docs,
        5 + 4,
        "the old database, with the index documents the relay wrote"
    );
    drop(old);
    let restored: i64 = rusqlite::Connection::open(dir.join("relay.sqlite"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM docs", [], |row| row.get(0))
        .unwrap();
    assert_eq!(restored, 5, "the backup's documents");
    // The restored directory serves.
    let relay = Running(ChildRelay::start(BINARY, &dir));
    assert_eq!(http_get(relay.0.addr, "/readyz").await.0, 200);
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
    let _ = std::fs::remove_file(&out);
}
