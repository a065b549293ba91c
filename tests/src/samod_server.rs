//! samod (the Rust automerge-repo) as a sync server: `src/bin/samod-server.rs` run as a child
//! process on 127.0.0.1, killed on drop, ending by itself when its stdin closes.

use crate::WAIT;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running samod server.
#[derive(Debug)]
pub struct SamodServer {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl SamodServer {
    /// Starts `binary DATA_DIR` (the test's `CARGO_BIN_EXE_samod-server`) and waits until it
    /// listens.
    pub async fn start(binary: &str, data: &Path) -> Self {
        let mut child = Command::new(binary)
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the samod server starts");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::time::timeout(WAIT, BufReader::new(stdout).lines().next_line())
            .await
            .expect("the samod server says where it listens")
            .unwrap()
            .unwrap_or_default();
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("samod-server said {line:?}"))
            .parse()
            .unwrap();
        Self { child, addr }
    }

    /// The WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}
