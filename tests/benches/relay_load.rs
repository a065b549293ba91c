//! Load benchmark of the relay (issue 4, item 9): N light devices (1 manager + N−1 reps, the
//! core's sync `Client` over loopback WebSockets) against the real `fieldbook serve` as a child
//! process, then the same run against the published JS sync server (node, from
//! `tests/interop`) and against samod, the Rust automerge-repo (`src/bin/samod-server.rs`).
//! Each rep owns one lead and appends an event to it every period; the manager syncs every
//! lead in its connection. Prints the propagation latency from a rep's change to the manager's
//! device (p50/p99/max), the server's CPU over the run (/proc/PID/stat), its RSS per
//! connection (/proc/PID/status, before the devices connect vs with all of them connected and
//! synced), and message counts.
//!
//! `cargo bench -p fieldbook-tests --bench relay_load` runs N = 100 then N = 1000, 30 s each.
//! Environment: `FIELDBOOK_LOAD_N` (e.g. `100,1000`), `FIELDBOOK_LOAD_SECS` (30),
//! `FIELDBOOK_LOAD_PERIOD_MS` (5000: each rep's change period), `FIELDBOOK_LOAD_SERVERS`
//! (`relay,js,samod`), `FIELDBOOK_LOAD_DURABILITY` (`full` or `normal`, the relay's),
//! `FIELDBOOK_LOAD_RELAY_BIN` (another relay binary, e.g. an older build, to compare).
//!
//! **Rate sweep**: `FIELDBOOK_LOAD_RATES=250,500,1000,2000` runs each server at each total
//! change rate (changes per second over all reps, instead of the period) and reports, per
//! rate, whether the server sustained it: every change delivered to the manager within the
//! grace, p99 under 100 ms, nobody disconnected; then the highest rate each sustained. A
//! device the server disconnects is counted, not fatal, in a sweep.
//!
//! Everything is on 127.0.0.1, bounded in time, and stops by itself.

use automerge::{Automerge, ChangeHash};
use chrono::{SecondsFormat, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::doc::lead::{append_events, create_lead};
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::lead::{AttemptOutcome, Channel, Event, EventKind, Lead};
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::Member;
use fieldbook_server::relay::admin;
use fieldbook_server::relay::store::{Durability, SqliteStore};
use fieldbook_tests::node::{JsSyncServer, interop_dir};
use fieldbook_tests::peer::{Peer, PeerLog};
use fieldbook_tests::samod_server::SamodServer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// Longest any setup phase may take before the benchmark gives up.
const SETUP_LIMIT: Duration = Duration::from_secs(120);
/// How long devices keep reading after the last change, for changes in flight.
const GRACE: Duration = Duration::from_secs(5);
/// Devices connecting at once.
const CONNECT_AT_ONCE: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Relay,
    Js,
    Samod,
}

impl Server {
    fn key(self) -> &'static str {
        match self {
            Self::Relay => "relay",
            Self::Js => "js",
            Self::Samod => "samod",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Relay => "fieldbook relay",
            Self::Js => "JS sync server",
            Self::Samod => "samod",
        }
    }
}

#[derive(Debug)]
struct Config {
    sizes: Vec<usize>,
    run: Duration,
    period: Duration,
    servers: Vec<Server>,
    durability: String,
    /// Total change rates to sweep (changes per second); empty: one run at `period`.
    rates: Vec<f64>,
    relay_bin: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

impl Config {
    fn from_env() -> Self {
        let sizes = env_or("FIELDBOOK_LOAD_N", "100,1000")
            .split(',')
            .map(|n| n.trim().parse().expect("FIELDBOOK_LOAD_N: numbers"))
            .collect::<Vec<usize>>();
        assert!(
            sizes.iter().all(|n| *n >= 2),
            "FIELDBOOK_LOAD_N: at least 2"
        );
        let servers = env_or("FIELDBOOK_LOAD_SERVERS", "relay,js,samod")
            .split(',')
            .map(|s| match s.trim() {
                "relay" => Server::Relay,
                "js" => Server::Js,
                "samod" => Server::Samod,
                other => panic!("FIELDBOOK_LOAD_SERVERS: unknown {other:?} (relay, js, samod)"),
            })
            .collect();
        Self {
            sizes,
            run: Duration::from_secs(env_or("FIELDBOOK_LOAD_SECS", "30").parse().unwrap()),
            period: Duration::from_millis(
                env_or("FIELDBOOK_LOAD_PERIOD_MS", "5000").parse().unwrap(),
            ),
            servers,
            durability: env_or("FIELDBOOK_LOAD_DURABILITY", "full"),
            rates: std::env::var("FIELDBOOK_LOAD_RATES")
                .ok()
                .map(|r| {
                    r.split(',')
                        .map(|x| x.trim().parse().expect("FIELDBOOK_LOAD_RATES: numbers"))
                        .collect()
                })
                .unwrap_or_default(),
            relay_bin: env_or(
                "FIELDBOOK_LOAD_RELAY_BIN",
                env!("CARGO_BIN_EXE_fieldbook-relay"),
            ),
        }
    }
}

/// Clock ticks per second of /proc/PID/stat.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: &str, ticks: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may contain spaces) end with ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let utime: f64 = fields[11].parse().unwrap();
    let stime: f64 = fields[12].parse().unwrap();
    (utime + stime) / ticks
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A document id whose bytes are a version 4 UUID (automerge-repo 1.x, the JS server's,
/// accepts no other).
fn lead_id(n: usize, i: usize) -> DocumentId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
    bytes[8..].copy_from_slice(&(i as u64).to_be_bytes());
    bytes[0] = b'L';
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DocumentId::from_bytes(bytes)
}

fn rep_id(i: usize) -> String {
    format!("r-{i}")
}

const MANAGER: &str = "m-0";

fn lead_doc(id: DocumentId, owner: &str) -> Automerge {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let lead: Lead = serde_json::from_value(serde_json::json!({
        "id": id.to_string(), "company": format!("Company of {owner}"), "owner": owner,
        "created_at": now,
        "events": [{"id": "c", "type": "created", "at": now, "by": owner}],
    }))
    .unwrap();
    create_lead(&lead, admin::random_actor(), Utc::now()).unwrap()
}

/// A team "load" with manager `m-0` and reps `r-1`… in `dir`; returns a token per device
/// (index 0: the manager).
fn relay_team(dir: &Path, n: usize) -> Vec<String> {
    let mut store = SqliteStore::open_dir(dir, Durability::Normal).unwrap();
    let team = TeamId::from("load");
    let now = Utc::now();
    admin::create_team(&mut store, &team, "Load", Playbook::default(), now).unwrap();
    let member = |id: &str, role: &str, manager: Option<&str>| -> Member {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "role": role, "manager": manager,
            "time_zone": "Asia/Jerusalem",
        }))
        .unwrap()
    };
    let members: Vec<Member> = std::iter::once(member(MANAGER, "manager", None))
        .chain((1..n).map(|i| member(&rep_id(i), "rep", Some(MANAGER))))
        .collect();
    admin::edit_team(&mut store, &team, now, |tx| {
        for m in &members {
            fieldbook_core::doc::team::put_member(tx, m)?;
        }
        Ok(())
    })
    .unwrap();
    members
        .iter()
        .map(|m| {
            admin::issue_token(&mut store, &team, &m.id, chrono::TimeDelta::hours(2), now)
                .unwrap()
                .0
        })
        .collect()
}

/// A server under test, killed on drop.
enum Running {
    Relay(std::process::Child, String),
    Js(Box<JsSyncServer>),
    Samod(SamodServer),
}

impl Running {
    fn pid(&self) -> String {
        match self {
            Self::Relay(child, _) => child.id().to_string(),
            Self::Js(server) => server.process.pid().to_string(),
            Self::Samod(server) => server.pid().to_string(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Self::Relay(child, _) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_relay(bin: &str, dir: &Path, durability: &str) -> Running {
    let relay = fieldbook_tests::ChildRelay::start_with(bin, dir, &["--durability", durability]);
    Running::Relay(relay.child, relay.addr.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Setup,
    Run { start: Instant, end: Instant },
}

/// What the devices share.
struct Shared {
    phase: watch::Receiver<Phase>,
    uploaded: AtomicUsize,
    changes: AtomicU64,
    /// Changes made and not yet seen at the manager's: per lead, (change, when made).
    pending: Mutex<HashMap<DocumentId, Vec<(ChangeHash, Instant)>>>,
    connect: Semaphore,
    /// Devices the server disconnected during the run (a sweep goes on; a single run stops).
    disconnected: AtomicUsize,
    /// Whether a disconnection ends the benchmark.
    fatal_disconnect: bool,
}

/// Keeps reading (answering pings, taking pushed documents) until the phase leaves `Setup`.
async fn idle_until_run(peer: &mut Peer, shared: &Shared) -> (Instant, Instant) {
    let mut phase = shared.phase.clone();
    loop {
        if let Phase::Run { start, end } = *phase.borrow_and_update() {
            return (start, end);
        }
        peer.step(Instant::now() + Duration::from_millis(100)).await;
    }
}

async fn rep(i: usize, n: usize, url: String, period: Duration, shared: Arc<Shared>) -> PeerLog {
    let member = rep_id(i);
    let mut peer = Peer::new(&member, &format!("{member}/bench"));
    {
        let _permit = shared.connect.acquire().await.unwrap();
        peer.connect(&url).await;
    }
    let id = lead_id(n, i);
    peer.insert(id, lead_doc(id, &member));
    peer.sync(id).await;
    // Some servers take long to take a thousand new documents at once: wait up to the setup
    // limit, answering pings meanwhile.
    let deadline = Instant::now() + SETUP_LIMIT;
    while !peer.log.synced.contains(&id) {
        if Instant::now() >= deadline || !peer.connected() {
            // The run reports the setup as unfinished.
            return peer.log;
        }
        peer.step(Instant::now() + Duration::from_millis(100)).await;
    }
    shared.uploaded.fetch_add(1, Ordering::SeqCst);
    let (start, end) = idle_until_run(&mut peer, &shared).await;
    // Changes spread evenly over the period.
    let mut next = start + period.mul_f64(i as f64 / n as f64);
    let mut k = 0u64;
    while Instant::now() < end + GRACE {
        let until = if next < end { next } else { end + GRACE };
        peer.step(until).await;
        if !peer.connected() {
            assert!(
                !shared.fatal_disconnect,
                "{member}: disconnected during the run: {:?}",
                peer.log
            );
            shared.disconnected.fetch_add(1, Ordering::SeqCst);
            return peer.log;
        }
        if Instant::now() >= next && next < end {
            k += 1;
            let event = Event {
                id: EventId(format!("{member}-{k}")),
                at: Utc::now(),
                by: MemberId::from(member.as_str()),
                after: None,
                kind: EventKind::Attempt {
                    channel: Channel::Call,
                    outcome: AttemptOutcome::NoAnswer,
                },
            };
            peer.change(&id, |tx| append_events(tx, &[event]).unwrap());
            let hash = peer.docs.docs[&id]
                .get_last_local_change()
                .expect("a local change")
                .hash();
            shared
                .pending
                .lock()
                .unwrap()
                .entry(id)
                .or_default()
                .push((hash, Instant::now()));
            shared.changes.fetch_add(1, Ordering::SeqCst);
            peer.sync(id).await;
            next += period;
        }
    }
    peer.disconnect();
    peer.log
}

/// The manager's device: subscribes to every lead, then measures when changes arrive.
async fn manager(
    n: usize,
    url: String,
    shared: Arc<Shared>,
    subscribed: tokio::sync::oneshot::Sender<()>,
) -> (PeerLog, Vec<Duration>) {
    let mut peer = Peer::new(MANAGER, &format!("{MANAGER}/bench"));
    peer.connect(&url).await;
    let ids: Vec<DocumentId> = (1..n).map(|i| lead_id(n, i)).collect();
    for id in &ids {
        peer.sync(*id).await;
    }
    let deadline = Instant::now() + SETUP_LIMIT;
    while !ids.iter().all(|id| peer.doc(id).is_some()) {
        assert!(
            Instant::now() < deadline,
            "the manager did not get every lead in {SETUP_LIMIT:?}: {:?}",
            peer.log
        );
        peer.step(Instant::now() + Duration::from_millis(100)).await;
    }
    subscribed.send(()).unwrap();
    // Changes are looked for from now on: the first ones of the run may arrive before this
    // task sees the phase change.
    let mut latencies = Vec::new();
    loop {
        let phase = *shared.phase.borrow();
        let deadline = match phase {
            Phase::Setup => Instant::now() + Duration::from_millis(100),
            Phase::Run { end, .. } if Instant::now() < end + GRACE => end + GRACE,
            Phase::Run { .. } => break,
        };
        let Some(changed) = peer.step(deadline).await else {
            if !peer.connected() {
                assert!(
                    !shared.fatal_disconnect,
                    "the manager was disconnected: {:?}",
                    peer.log
                );
                shared.disconnected.fetch_add(1, Ordering::SeqCst);
                break;
            }
            continue;
        };
        if changed.is_empty() {
            continue;
        }
        let arrived = Instant::now();
        let mut pending = shared.pending.lock().unwrap();
        for id in changed {
            let (Some(waiting), Some(doc)) = (pending.get_mut(&id), peer.doc(&id)) else {
                continue;
            };
            waiting.retain(|(hash, made)| {
                if doc.get_change_meta_by_hash(hash).is_some() {
                    latencies.push(arrived - *made);
                    false
                } else {
                    true
                }
            });
        }
    }
    peer.disconnect();
    (peer.log, latencies)
}

#[derive(Debug)]
struct Figures {
    server: Server,
    n: usize,
    /// Changes per second over all reps.
    rate: f64,
    /// Devices disconnected by the server during the run.
    disconnected: usize,
    setup: Duration,
    latencies: Vec<Duration>,
    changes: u64,
    run: Duration,
    cpu: f64,
    generator_cpu: f64,
    rss_idle: u64,
    rss_loaded: u64,
    frames_out: u64,
    frames_in: u64,
    errors: usize,
    /// For the relay, after a restart on the run's data: from the start to a device's first
    /// answered sync, and a device's wait while the start's index refresh runs.
    restart: Option<(Duration, Duration)>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// One run, each rep changing its lead every `period`; `Err` when the server did not let the
/// devices set up within [`SETUP_LIMIT`].
async fn run_one(
    server: Server,
    n: usize,
    period: Duration,
    config: &Config,
    ticks: f64,
) -> Result<Figures, String> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "fieldbook-load-{}-{n}-{}",
        server.key(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let setup_started = Instant::now();
    let (running, urls): (Running, Vec<String>) = match server {
        Server::Relay => {
            let tokens = relay_team(&dir, n);
            let running = start_relay(&config.relay_bin, &dir, &config.durability);
            let Running::Relay(_, addr) = &running else {
                unreachable!()
            };
            let urls = tokens
                .iter()
                .map(|t| format!("ws://{addr}/sync?token={t}"))
                .collect();
            (running, urls)
        }
        Server::Js => {
            let js = JsSyncServer::start(&dir).await;
            let url = js.url();
            (Running::Js(Box::new(js)), vec![url; n])
        }
        Server::Samod => {
            let samod = SamodServer::start(env!("CARGO_BIN_EXE_samod-server"), &dir).await;
            let url = samod.url();
            (Running::Samod(samod), vec![url; n])
        }
    };
    let pid = running.pid();
    // Let the server finish starting (the relay writes every member's index document).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(&pid);

    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let shared = Arc::new(Shared {
        phase: phase_rx,
        uploaded: AtomicUsize::new(0),
        changes: AtomicU64::new(0),
        pending: Mutex::new(HashMap::new()),
        connect: Semaphore::new(CONNECT_AT_ONCE),
        disconnected: AtomicUsize::new(0),
        fatal_disconnect: config.rates.is_empty(),
    });
    let reps: Vec<_> = (1..n)
        .map(|i| tokio::spawn(rep(i, n, urls[i].clone(), period, shared.clone())))
        .collect();
    let deadline = Instant::now() + SETUP_LIMIT;
    while shared.uploaded.load(Ordering::SeqCst) < n - 1 {
        if Instant::now() >= deadline {
            reps.iter().for_each(|r| r.abort());
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "setup did not finish: {} of {} reps had uploaded their lead after {SETUP_LIMIT:?}",
                shared.uploaded.load(Ordering::SeqCst),
                n - 1
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
    let manager = tokio::spawn(manager(n, urls[0].clone(), shared.clone(), subscribed_tx));
    if !matches!(
        tokio::time::timeout(SETUP_LIMIT, subscribed_rx).await,
        Ok(Ok(()))
    ) {
        reps.iter().for_each(|r| r.abort());
        manager.abort();
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "setup did not finish: the manager did not get every lead in {SETUP_LIMIT:?}"
        ));
    }
    let setup = setup_started.elapsed();
    // Let the index writes of the setup settle before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_loaded = rss_kib(&pid);

    let cpu_before = cpu_seconds(&pid, ticks);
    let generator_before = cpu_seconds("self", ticks);
    let start = Instant::now();
    let end = start + config.run;
    phase_tx.send(Phase::Run { start, end }).unwrap();
    tokio::time::sleep_until(end).await;
    let cpu = cpu_seconds(&pid, ticks) - cpu_before;
    let generator_cpu = cpu_seconds("self", ticks) - generator_before;

    let mut frames_out = 0;
    let mut frames_in = 0;
    let mut errors = 0;
    for rep in reps {
        let log = rep.await.expect("a rep's device ran to the end");
        frames_out += log.frames_out;
        frames_in += log.frames_in;
        errors += log.errors.len();
    }
    let (log, mut latencies) = manager.await.expect("the manager's device ran to the end");
    frames_out += log.frames_out;
    frames_in += log.frames_in;
    errors += log.errors.len();
    latencies.sort();
    drop(running);
    let restart = match server {
        Server::Relay if config.rates.is_empty() => {
            Some(restart_answers(&config.relay_bin, &dir, n, &config.durability, &urls).await?)
        }
        _ => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Figures {
        server,
        n,
        rate: (n - 1) as f64 / period.as_secs_f64(),
        disconnected: shared.disconnected.load(Ordering::SeqCst),
        setup,
        latencies,
        changes: shared.changes.load(Ordering::SeqCst),
        run: config.run,
        cpu,
        generator_cpu,
        rss_idle,
        rss_loaded,
        frames_out,
        frames_in,
        errors,
        restart,
    })
}

/// Restarts the relay on a run's data (N members, N−1 leads) and times how long a rep's fresh
/// device waits for its lead: right after the start, then once the start's refresh of every
/// index entry (after the index debounce) is under way. Returns both.
async fn restart_answers(
    bin: &str,
    dir: &Path,
    n: usize,
    durability: &str,
    urls: &[String],
) -> Result<(Duration, Duration), String> {
    async fn fetch(url: &str, name: &str, id: DocumentId) -> Result<Duration, String> {
        let started = Instant::now();
        let mut peer = Peer::new(name, &format!("{name}/restart"));
        peer.connect(url).await;
        peer.sync(id).await;
        let deadline = Instant::now() + SETUP_LIMIT;
        while peer.doc(&id).is_none() {
            if Instant::now() >= deadline || !peer.connected() {
                return Err(format!("no answer {SETUP_LIMIT:?} after a restart"));
            }
            peer.step(Instant::now() + Duration::from_millis(100)).await;
        }
        Ok(started.elapsed())
    }
    let started = Instant::now();
    let running = start_relay(bin, dir, durability);
    let Running::Relay(_, addr) = &running else {
        unreachable!()
    };
    let url = |i: usize| {
        let old = urls[i].split('/').nth(2).expect("ws://ADDR/sync?token=…");
        urls[i].replace(old, addr)
    };
    fetch(&url(1), &rep_id(1), lead_id(n, 1)).await?;
    let first = started.elapsed();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let during = fetch(&url(2), &rep_id(2), lead_id(n, 2)).await?;
    Ok((first, during))
}

fn print(f: &Figures) {
    let l = &f.latencies;
    println!(
        "{:<15} N={:<5} {:>6.0} changes/s: changes {:>6} seen by the manager {:>6} | disconnected {} | latency p50 {:>7.1?} p99 {:>7.1?} max {:>7.1?}, {} over 250 ms | \
         server CPU {:>5.2} s = {:>3.0} % of a core | RSS {:>4} MiB idle, {:>4} MiB loaded, {:>5.1} KiB/connection | \
         load generator CPU {:>3.0} % of a core | frames out {} in {} | setup {:.1?} | client errors {}",
        f.server.name(),
        f.n,
        f.rate,
        f.changes,
        l.len(),
        f.disconnected,
        percentile(l, 0.50),
        percentile(l, 0.99),
        l.last().copied().unwrap_or_default(),
        l.iter()
            .filter(|d| **d > Duration::from_millis(250))
            .count(),
        f.cpu,
        100.0 * f.cpu / f.run.as_secs_f64(),
        f.rss_idle / 1024,
        f.rss_loaded / 1024,
        (f.rss_loaded.saturating_sub(f.rss_idle)) as f64 / f.n as f64,
        100.0 * f.generator_cpu / f.run.as_secs_f64(),
        f.frames_out,
        f.frames_in,
        f.setup,
        f.errors,
    );
    if let Some((first, during)) = f.restart {
        println!(
            "{:<15} N={:<5} restart on this data ({} members, {} leads): first sync answered {first:.1?} after the start; \
             a device connecting once the start's index refresh runs waits {during:.1?}",
            f.server.name(),
            f.n,
            f.n,
            f.n - 1
        );
    }
}

/// Whether a sweep's run sustained its rate: every change delivered to the manager within the
/// grace, p99 under 100 ms, nobody disconnected.
fn sustained(f: &Figures) -> bool {
    f.disconnected == 0
        && f.latencies.len() as u64 == f.changes
        && percentile(&f.latencies, 0.99) < Duration::from_millis(100)
}

fn sweep_summary(all: &[Figures], config: &Config) {
    for &n in &config.sizes {
        for &server in &config.servers {
            let runs: Vec<&Figures> = all
                .iter()
                .filter(|f| f.n == n && f.server == server)
                .collect();
            for f in &runs {
                println!(
                    "sweep N={n} {:<15} {:>6.0} changes/s: {} (delivered {}/{}, p99 {:.1?}, disconnected {}, server {:.0} % of a core, load generator {:.0} %)",
                    server.name(),
                    f.rate,
                    if sustained(f) {
                        "sustained"
                    } else {
                        "NOT sustained"
                    },
                    f.latencies.len(),
                    f.changes,
                    percentile(&f.latencies, 0.99),
                    f.disconnected,
                    100.0 * f.cpu / f.run.as_secs_f64(),
                    100.0 * f.generator_cpu / f.run.as_secs_f64(),
                );
            }
            let best = runs
                .iter()
                .filter(|f| sustained(f))
                .map(|f| f.rate)
                .fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.max(r))));
            match best {
                Some(rate) => println!(
                    "sweep N={n} {}: highest rate sustained {rate:.0} changes/s",
                    server.name()
                ),
                None => println!("sweep N={n} {}: no rate sustained", server.name()),
            }
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing else we use.
    let config = Config::from_env();
    if config.servers.contains(&Server::Js) {
        interop_dir();
    }
    let ticks = clock_ticks();
    println!(
        "relay_load: {:?} devices (1 manager + reps), one change per rep every {:?} (or at the \
         rates {:?} per second), {:?} per run, relay {} with durability {}; servers {:?}.",
        config.sizes,
        config.period,
        config.rates,
        config.run,
        config.relay_bin,
        config.durability,
        config.servers.iter().map(|s| s.name()).collect::<Vec<_>>()
    );
    println!(
        "Note: {} cores; the load generator (every device, one process) and the server share them, \
         so latency and CPU include that contention.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut all = Vec::new();
    for &n in &config.sizes {
        let periods: Vec<Duration> = if config.rates.is_empty() {
            vec![config.period]
        } else {
            config
                .rates
                .iter()
                .map(|rate| Duration::from_secs_f64((n - 1) as f64 / rate))
                .collect()
        };
        for period in periods {
            for &server in &config.servers {
                match runtime.block_on(run_one(server, n, period, &config, ticks)) {
                    Ok(figures) => {
                        print(&figures);
                        all.push(figures);
                    }
                    Err(reason) => println!("{:<15} N={n:<5} {reason}", server.name()),
                }
            }
        }
    }
    if !config.rates.is_empty() {
        sweep_summary(&all, &config);
        return;
    }
    for &n in &config.sizes {
        let find = |s| all.iter().find(|f| f.n == n && f.server == s);
        let Some(relay) = find(Server::Relay) else {
            continue;
        };
        for other in [Server::Js, Server::Samod] {
            let Some(other_figures) = find(other) else {
                continue;
            };
            let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
            println!(
                "N={n}: {} / fieldbook relay: latency p50 ×{:.2}, p99 ×{:.2}; server CPU ×{:.2}; RSS per connection ×{:.2}",
                other.name(),
                ratio(
                    percentile(&relay.latencies, 0.5),
                    percentile(&other_figures.latencies, 0.5)
                ),
                ratio(
                    percentile(&relay.latencies, 0.99),
                    percentile(&other_figures.latencies, 0.99)
                ),
                other_figures.cpu / relay.cpu.max(1e-9),
                (other_figures
                    .rss_loaded
                    .saturating_sub(other_figures.rss_idle)) as f64
                    / (relay.rss_loaded.saturating_sub(relay.rss_idle)).max(1) as f64,
            );
        }
    }
    if let Some(relay) = all
        .iter()
        .find(|f| f.server == Server::Relay && f.n == 1000)
    {
        let p99 = percentile(&relay.latencies, 0.99);
        println!(
            "goal (issue 4): p99 under 250 ms at 1,000 devices: {} (p99 {p99:.1?})",
            if p99 < Duration::from_millis(250) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}
