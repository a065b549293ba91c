//! Node.js programs from `tests/interop/` (installed from npm by `npm ci --prefix
//! tests/interop`): the JS automerge-repo client driven over stdin/stdout, and the published JS
//! sync server. Children are killed when dropped, and exit by themselves when their stdin closes.

use crate::WAIT;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// `tests/interop`, after checking that its packages are installed; panics (the test fails)
/// with the command to run if not.
pub fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
    let installed = dir.join("node_modules/@automerge/automerge-repo/package.json");
    assert!(
        installed.exists(),
        "{} is missing: run: npm ci --prefix tests/interop (cargo xtask test does this)",
        dir.join("node_modules").display()
    );
    dir
}

/// A node program from `tests/interop`, killed on drop.
#[derive(Debug)]
pub struct NodeProcess {
    /// The process.
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeProcess {
    /// Starts `node SCRIPT ARGS…` in `tests/interop` with `envs`.
    pub fn spawn(script: &str, args: &[&str], envs: &[(&str, &Path)]) -> Self {
        let dir = interop_dir();
        let mut command = Command::new("node");
        command
            .arg(script)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start node (Node.js 20 is needed for the interop tests): {e}")
        });
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// The next stdout line (bounded by [`WAIT`]).
    pub async fn line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("the node program exited"),
            Ok(Err(e)) => panic!("reading the node program's output: {e}"),
            Err(_) => panic!("the node program said nothing for {WAIT:?}"),
        }
    }

    /// Sends one line to stdin.
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Closes stdin (the programs then exit) and waits for the exit (bounded).
    pub async fn finish(mut self) -> std::process::ExitStatus {
        self.stdin = None;
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the node program exits once its stdin is closed")
            .unwrap()
    }
}

/// The JS automerge-repo client of `tests/interop/client.mjs`.
#[derive(Debug)]
pub struct JsClient(pub NodeProcess);

impl JsClient {
    /// Starts a client connecting to `url` as `peer_id`.
    pub fn start(url: &str, peer_id: &str) -> Self {
        Self(NodeProcess::spawn("client.mjs", &[url, peer_id], &[]))
    }

    /// Sends a command and returns its answer: `Ok(answer)` or `Err(error text)`.
    pub async fn call(&mut self, command: serde_json::Value) -> Result<serde_json::Value, String> {
        self.0.send_line(&command.to_string()).await;
        let line = self.0.line().await;
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("client.mjs answered {line:?}: {e}"));
        if answer["ok"] == serde_json::Value::Bool(true) {
            Ok(answer)
        } else {
            Err(answer["error"].as_str().unwrap_or_default().to_owned())
        }
    }
}

/// The published JS sync server (`@automerge/automerge-repo-sync-server`, through
/// `tests/interop/sync-server.mjs`) on 127.0.0.1, storing in `data`.
#[derive(Debug)]
pub struct JsSyncServer {
    /// The node process.
    pub process: NodeProcess,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl JsSyncServer {
    /// Starts the server and waits until it listens.
    pub async fn start(data: &Path) -> Self {
        let mut process = NodeProcess::spawn("sync-server.mjs", &[], &[("DATA_DIR", data)]);
        let line = process.line().await;
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("sync-server.mjs said {line:?}"))
            .parse()
            .unwrap();
        Self { process, addr }
    }

    /// The WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}
