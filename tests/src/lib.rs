//! End-to-end test support: a real relay on 127.0.0.1 (in-process, or the `fieldbook` command
//! as a child process that can be killed), and simulated devices — the core's [`Replica`] with
//! an in-memory host — talking to it over real WebSockets. Waits are for conditions, bounded in
//! time, never fixed sleeps. The `fieldbook eval` end-to-end test lives in `server/tests/`.

use automerge::Automerge;
use chrono::{DateTime, Utc};
use fieldbook_core::commands::NewLead;
use fieldbook_core::doc::index::{self, Index};
use fieldbook_core::doc::{self, DocumentId};
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::replica::{Effects, LeadCommand, Replica, ReplicaConfig, ReplicaError};
use fieldbook_server::relay::admin;
use fieldbook_server::relay::demo;
use fieldbook_server::relay::engine::EngineConfig;
use fieldbook_server::relay::listen::HttpLimits;
use fieldbook_server::relay::serve::{ConnLimits, ServeConfig};
use fieldbook_server::relay::store::{Durability, RelayStore, SqliteStore};
use futures_util::{SinkExt, StreamExt};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod node;
pub mod peer;
pub mod samod_server;

/// How long any wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// A fresh data directory under the system temp directory.
pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldbook-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo team with `n_leads` leads in `dir`; returns a token per member id.
pub fn demo_team(dir: &Path, n_leads: usize) -> BTreeMap<String, String> {
    let mut store = SqliteStore::open_dir(dir, Durability::Normal).unwrap();
    let now = Utc::now();
    let team = TeamId::from("demo");
    let created = demo::create_demo(&mut store, &team, n_leads, now).unwrap();
    created
        .members
        .iter()
        .map(|m| {
            let (token, _) =
                admin::issue_token(&mut store, &team, &m.id, chrono::TimeDelta::hours(1), now)
                    .unwrap();
            (m.id.to_string(), token)
        })
        .collect()
}

/// The relay configuration the tests use: fast index writes and notice polls, small frames.
pub fn test_config(dir: &Path) -> ServeConfig {
    ServeConfig {
        data: dir.to_owned(),
        web: None,
        durability: Durability::Normal,
        conn: ConnLimits {
            max_frame_bytes: 256 * 1024,
            ..ConnLimits::default()
        },
        http: HttpLimits::default(),
        tls: None,
        engine: EngineConfig {
            index_debounce: Duration::from_millis(20),
            notice_poll: Duration::from_millis(50),
            ..EngineConfig::default()
        },
    }
}

/// A relay serving in this process.
#[derive(Debug)]
pub struct Relay {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Relay {
    /// Starts a relay on 127.0.0.1:0.
    pub async fn start(config: ServeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(fieldbook_server::relay::serve::serve(
            listener,
            config,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// A URL of the relay.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The sync URL with a token.
    pub fn sync_url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }

    /// Shuts down gracefully and waits (bounded).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("the relay stops in time")
            .unwrap()
            .unwrap();
    }
}

/// A `GET` over plain HTTP/1.1: status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    try_http_get(addr, path)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// A `GET` over plain HTTP/1.1: status and body, or why there was no answer (a relay that
/// stopped refuses the connection).
pub async fn try_http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Bodies may be chunked; the tests look for substrings, which chunk sizes do not break
    // for these small bodies.
    Ok((status, body.to_owned()))
}

/// A WebSocket to the relay.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a sync WebSocket; `Err` carries the HTTP status and body of a refusal.
pub async fn open_ws(url: &str) -> Result<Ws, (u16, String)> {
    open_ws_with(url, None).await
}

/// Opens a WebSocket, `wss://` with this TLS client configuration; any failure is returned.
pub async fn try_open_ws(
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let connector = tls.map(|config| tokio_tungstenite::Connector::Rustls(config.clone()));
    tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
        .await
        .map(|(ws, _)| ws)
}

/// Opens a sync WebSocket (`wss://` with `tls`); `Err` carries the HTTP status and body of a
/// refusal.
pub async fn open_ws_with(
    url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Ws, (u16, String)> {
    match try_open_ws(url, tls).await {
        Ok(ws) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("cannot connect to {url}: {e}"),
    }
}

/// What a raw socket received until it closed: binary frames, and the close frame. Answers
/// the close frame as a client does (the relay waits for that answer, briefly).
pub async fn read_until_closed(ws: &mut Ws) -> (Vec<Vec<u8>>, Option<CloseFrame>) {
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => panic!("the relay did not close the socket in time"),
            Ok(Some(Ok(WsMessage::Binary(b)))) => frames.push(b.to_vec()),
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                // Polling again sends the answer and sees the socket end.
                let _ = tokio::time::timeout(WAIT, ws.next()).await;
                return (frames, frame);
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return (frames, None),
        }
    }
}

/// The in-memory host of the core.
pub type MemHost = fieldbook_core::replica::MemoryStore;

/// A simulated device: the core's replica, an in-memory host, and a WebSocket when online.
#[derive(Debug)]
pub struct Device {
    /// For messages.
    pub name: String,
    /// The replica.
    pub replica: Replica,
    /// Its storage.
    pub host: MemHost,
    /// The token it connects with.
    pub token: String,
    ws: Option<Ws>,
    outbox: Vec<Vec<u8>>,
    next_event: u64,
    seed: u8,
    next_doc: u64,
    /// Protocol errors the replica reported.
    pub errors: Vec<String>,
    /// Writes the relay refused, as the replica reported them.
    pub refused: Vec<fieldbook_core::replica::RefusedChange>,
    /// Frames sent to the relay, and received from it.
    pub frames: (u64, u64),
    /// Connect over `wss://` with this TLS client configuration.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Device {
    /// A fresh device of `member` in team `demo`.
    pub fn new(name: &str, member: &str, token: &str, seed: u8) -> Self {
        let config = ReplicaConfig {
            team: TeamId::from("demo"),
            member: MemberId::from(member),
            actor: [seed; 16],
            peer_id: format!("{member}/{name}"),
        };
        let (replica, effects) = Replica::open(config, None, false, &[], &[]).unwrap();
        assert!(effects.need_load.is_empty());
        Self {
            name: name.to_owned(),
            replica,
            host: MemHost::default(),
            token: token.to_owned(),
            ws: None,
            outbox: Vec::new(),
            next_event: 0,
            seed,
            next_doc: 0,
            errors: Vec::new(),
            refused: Vec::new(),
            frames: (0, 0),
            tls: None,
        }
    }

    /// Whether a socket is open.
    pub fn online(&self) -> bool {
        self.ws.is_some()
    }

    /// Connects to the relay and sends `join`.
    pub async fn connect(&mut self, relay_addr: SocketAddr) {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let url = format!("{scheme}://{relay_addr}/sync?token={}", self.token);
        let ws = open_ws_with(&url, self.tls.as_ref())
            .await
            .unwrap_or_else(|(s, b)| panic!("{}: refused {s}: {b}", self.name));
        self.ws = Some(ws);
        let effects = self.replica.connect(Utc::now());
        self.carry_out(effects);
        self.send_outbox().await;
    }

    /// Drops the socket (as when the network goes away).
    pub fn disconnect(&mut self) {
        self.ws = None;
        self.outbox.clear();
        self.replica.disconnected();
    }

    /// Carries out effects as a host does: writes, then frames (queued), then loads.
    pub fn carry_out(&mut self, effects: Effects) {
        let mut pending = VecDeque::from([effects]);
        while let Some(effects) = pending.pop_front() {
            self.host.apply(&effects.writes);
            self.outbox.extend(effects.frames);
            self.errors.extend(effects.errors);
            self.refused.extend(effects.refused);
            if effects.close {
                self.ws = None;
                self.outbox.clear();
                self.replica.disconnected();
            }
            for id in effects.need_load {
                let bytes = self
                    .host
                    .load(&id)
                    .unwrap_or_else(|| panic!("{}: asked to load {id}, not stored", self.name));
                pending.push_back(self.replica.loaded(id, &bytes, Utc::now()).unwrap());
            }
        }
    }

    async fn send_outbox(&mut self) {
        let frames = std::mem::take(&mut self.outbox);
        if let Some(ws) = self.ws.as_mut() {
            for frame in frames {
                if ws.send(WsMessage::Binary(frame.into())).await.is_err() {
                    self.ws = None;
                    self.replica.disconnected();
                    break;
                }
                self.frames.0 += 1;
            }
        }
    }

    fn receive(
        &mut self,
        message: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) {
        match message {
            Some(Ok(WsMessage::Binary(frame))) => {
                self.frames.1 += 1;
                let effects = self.replica.receive(&frame, Utc::now()).unwrap();
                self.carry_out(effects);
            }
            Some(Ok(WsMessage::Close(_)) | Err(_)) | None => {
                self.ws = None;
                self.outbox.clear();
                self.replica.disconnected();
            }
            Some(Ok(_)) => {}
        }
    }

    /// Makes sure a lead is in memory (as the app does before a command).
    pub fn ensure_loaded(&mut self, id: &DocumentId) {
        if !self.replica.is_loaded(id) {
            let bytes = self.host.load(id).expect("stored");
            let effects = self.replica.loaded(*id, &bytes, Utc::now()).unwrap();
            self.carry_out(effects);
        }
    }

    /// Applies a command (the lead is loaded first); frames go out on the next pump.
    pub async fn command(
        &mut self,
        id: DocumentId,
        command: LeadCommand,
    ) -> Result<(), ReplicaError> {
        self.ensure_loaded(&id);
        let Self {
            name,
            replica,
            next_event,
            ..
        } = self;
        let mut ids = || {
            *next_event += 1;
            EventId(format!("{name}-e{next_event}"))
        };
        let effects = replica.apply(id, command, Utc::now(), &mut ids)?;
        self.carry_out(effects);
        self.send_outbox().await;
        Ok(())
    }

    /// Creates a lead on this device.
    pub async fn create(&mut self, input: NewLead) -> Result<DocumentId, ReplicaError> {
        self.next_doc += 1;
        let mut bytes = [0u8; 16];
        bytes[0] = self.seed;
        bytes[1] = 0xd0;
        bytes[8..].copy_from_slice(&self.next_doc.to_be_bytes());
        let Self {
            name,
            replica,
            next_event,
            ..
        } = self;
        let mut ids = || {
            *next_event += 1;
            EventId(format!("{name}-e{next_event}"))
        };
        let (id, effects) = replica.create_lead(bytes, input, Utc::now(), &mut ids)?;
        self.carry_out(effects);
        self.send_outbox().await;
        Ok(id)
    }

    /// The member's index as last synced.
    pub fn index(&self) -> Option<Index> {
        let doc = self.replica.document(&self.replica.index_doc_id())?;
        index::read_index(doc).ok()
    }

    /// The heads of a lead as this device holds it (from its summary).
    pub fn heads(&self, id: &DocumentId) -> Option<Vec<String>> {
        self.replica.summary(id).map(|s| {
            let mut h = s.heads.clone();
            h.sort();
            h
        })
    }

    /// The leads this device holds.
    pub fn leads(&self) -> Vec<DocumentId> {
        let mut ids: Vec<DocumentId> = self.replica.lead_docs().copied().collect();
        ids.sort();
        ids
    }

    /// Whether every lead on the device is acknowledged by the relay and nothing is in flight.
    pub fn settled(&self) -> bool {
        let status = self.replica.sync_status();
        status.state == "online" && status.unsynced == 0 && status.in_flight == 0
    }
}

/// Pumps frames between the devices and the relay until `done` holds; panics after [`WAIT`]
/// naming `what`.
pub async fn until<F>(devices: &mut [&mut Device], what: &str, done: F)
where
    F: FnMut(&[&mut Device]) -> bool,
{
    pump(devices, what, done, None).await;
}

/// Pumps frames between the devices and the relay for `time`.
pub async fn pump_for(devices: &mut [&mut Device], time: Duration) {
    let end = tokio::time::Instant::now() + time;
    let what = format!("{time:?} to pass");
    pump(
        devices,
        &what,
        |_| tokio::time::Instant::now() >= end,
        Some(end),
    )
    .await;
}

async fn pump<F>(
    devices: &mut [&mut Device],
    what: &str,
    mut done: F,
    wake: Option<tokio::time::Instant>,
) where
    F: FnMut(&[&mut Device]) -> bool,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for d in devices.iter_mut() {
            if let Some(at) = d.replica.next_deadline()
                && at <= Utc::now()
            {
                let effects = d.replica.poll(Utc::now()).unwrap();
                d.carry_out(effects);
            }
            d.send_outbox().await;
        }
        if done(devices) {
            return;
        }
        let received = {
            let futures: Vec<_> = devices
                .iter_mut()
                .enumerate()
                .filter_map(|(i, d)| d.ws.as_mut().map(|ws| (i, ws)))
                .map(|(i, ws)| Box::pin(async move { (i, ws.next().await) }))
                .collect();
            if futures.is_empty() {
                panic!("waiting for {what}, but no device is online");
            }
            // Replica deadlines (request timeouts) are at least a second away; wake up to
            // poll them.
            let poll_at = tokio::time::Instant::now() + Duration::from_millis(500);
            tokio::time::timeout_at(
                deadline.min(poll_at).min(wake.unwrap_or(poll_at)),
                futures_util::future::select_all(futures),
            )
            .await
        };
        match received {
            Ok(((i, message), _, _)) => devices[i].receive(message),
            Err(_) if tokio::time::Instant::now() >= deadline => {
                let states: Vec<String> = devices
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: {:?} errors {:?}",
                            d.name,
                            d.replica.sync_status(),
                            d.errors
                        )
                    })
                    .collect();
                panic!("timed out waiting for {what}; {states:?}");
            }
            Err(_) => {}
        }
    }
}

/// A stored relay document, read straight from the data directory.
pub fn stored_doc(dir: &Path, id: &DocumentId) -> Option<Automerge> {
    let mut store = SqliteStore::open_dir(dir, Durability::Normal).unwrap();
    let bytes = store.load(id).unwrap()?;
    Some(doc::load(&bytes, admin::random_actor()).unwrap())
}

/// Now, for commands.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The `fieldbook` command as a child process serving `dir` on 127.0.0.1:0.
#[derive(Debug)]
pub struct ChildRelay {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ChildRelay {
    /// Starts `binary serve --data dir --listen 127.0.0.1:0 --index-debounce-ms 20` and reads
    /// the address it prints.
    pub fn start(binary: &str, dir: &Path) -> Self {
        Self::start_with(binary, dir, &["--index-debounce-ms", "20"])
    }

    /// Starts `binary serve --data dir --listen 127.0.0.1:0 ARGS...` (warnings only in its
    /// logs) and reads the address it prints.
    pub fn start_with(binary: &str, dir: &Path, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data")
            .arg(dir)
            .env("FIELDBOOK_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the relay starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Self { child, addr }
    }
}

/// A client speaking the protocol by hand (for what a well-behaved device never sends).
#[derive(Debug)]
pub struct RawPeer {
    /// The socket.
    pub ws: Ws,
    /// Its peer id.
    pub peer: fieldbook_core::sync::wire::PeerId,
}

/// How a hand-driven sync of one document ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RawOutcome {
    /// The relay holds the document's heads.
    Synced,
    /// The relay answered `doc-unavailable`.
    Unavailable,
    /// The relay refused the write: `error` naming the document, with the refusal's JSON.
    Refused(String),
}

impl RawPeer {
    /// Connects with `token` and joins as `peer`.
    pub async fn join(relay: SocketAddr, token: &str, peer: &str) -> Self {
        use fieldbook_core::sync::wire::{Message, PeerId};
        let ws = open_ws(&format!("ws://{relay}/sync?token={token}"))
            .await
            .unwrap_or_else(|(s, b)| panic!("refused {s}: {b}"));
        let mut raw = Self {
            ws,
            peer: PeerId::new(peer),
        };
        raw.send(&Message::Join {
            sender_id: raw.peer.clone(),
            supported_protocol_versions: Some(vec!["1".into()]),
            peer_metadata: None,
        })
        .await;
        match raw.recv().await {
            Message::Peer { .. } => raw,
            other => panic!("expected peer, got {other:?}"),
        }
    }

    /// Sends a message.
    pub async fn send(&mut self, message: &fieldbook_core::sync::wire::Message) {
        let frame = fieldbook_core::sync::wire::encode(message);
        self.ws.send(WsMessage::Binary(frame.into())).await.unwrap();
    }

    /// The next frame.
    pub async fn recv_frame(&mut self) -> Vec<u8> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(WsMessage::Binary(b)))) => return b.to_vec(),
                Ok(Some(Ok(WsMessage::Close(c)))) => panic!("closed: {c:?}"),
                Ok(Some(Ok(_))) => {}
                other => panic!("no frame: {other:?}"),
            }
        }
    }

    /// The next message.
    pub async fn recv(&mut self) -> fieldbook_core::sync::wire::Message {
        let frame = self.recv_frame().await;
        fieldbook_core::sync::wire::decode(&frame, Default::default()).unwrap()
    }

    /// Syncs `doc` as document `id` with the relay by the automerge sync protocol until the
    /// relay has everything or answers `doc-unavailable`.
    pub async fn sync_doc(&mut self, id: DocumentId, doc: &mut Automerge) -> RawOutcome {
        use automerge::sync::{Message as SyncMessage, State, SyncDoc};
        use fieldbook_core::sync::wire::{Message, PeerId};
        let mut state = State::new();
        let relay = PeerId::new(fieldbook_server::relay::engine::RELAY_PEER);
        loop {
            if let Some(message) = doc.generate_sync_message(&mut state) {
                self.send(&Message::Sync {
                    sender_id: self.peer.clone(),
                    target_id: relay.clone(),
                    document_id: id,
                    data: message.encode(),
                    sealed: None,
                })
                .await;
            }
            if state.their_heads.as_deref() == Some(&doc.get_heads()[..]) {
                return RawOutcome::Synced;
            }
            match self.recv().await {
                Message::Sync {
                    document_id, data, ..
                } if document_id == id => {
                    let message = SyncMessage::decode(&data).unwrap();
                    doc.receive_sync_message(&mut state, message).unwrap();
                }
                Message::DocUnavailable { document_id, .. } if document_id == id => {
                    return RawOutcome::Unavailable;
                }
                Message::Error {
                    document_id: Some(document_id),
                    refusal,
                    message,
                    ..
                } if document_id == id => {
                    return RawOutcome::Refused(refusal.unwrap_or(message));
                }
                _ => {}
            }
        }
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost (rcgen), as PEM files.
#[derive(Debug)]
pub struct TestCert {
    /// The certificate file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
    /// The certificate (DER).
    pub der: Vec<u8>,
}

impl TestCert {
    /// A new certificate and key, written to `dir/NAME.cert.pem` and `dir/NAME.key.pem`.
    pub fn generate(dir: &Path, name: &str) -> Self {
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names).expect("a certificate");
        let cert = dir.join(format!("{name}.cert.pem"));
        let key = dir.join(format!("{name}.key.pem"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        Self {
            cert,
            key,
            der: certified.cert.der().to_vec(),
        }
    }

    /// The relay's `--tls-cert`/`--tls-key`.
    pub fn files(&self) -> fieldbook_server::relay::tls::TlsFiles {
        fieldbook_server::relay::tls::TlsFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }

    /// A TLS client configuration that trusts this certificate and no other.
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(self.der.clone()))
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// The certificate the server presented on a `wss://` socket (DER).
pub fn peer_certificate(ws: &Ws) -> Option<Vec<u8>> {
    match ws.get_ref() {
        MaybeTlsStream::Rustls(tls) => {
            let (_, session) = tls.get_ref();
            Some(session.peer_certificates()?.first()?.to_vec())
        }
        _ => None,
    }
}
