//! The web side of the xtasks: npm installs, the web app's build, the browser end-to-end
//! tests, and `cargo xtask serve` (build everything, start the relay with the demo team, print
//! the login links).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::test::{announce, cargo, run_checked};

/// Debian's Chromium, where the browser tests look for it unless `CHROMIUM` says otherwise.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// `npm ci` in `dir`, unless its `node_modules` was installed from the current lockfile.
/// Browsers are never downloaded by npm (the tests use the system's Chromium).
pub fn npm_ci(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (modified(&lock), modified(&installed)) {
        (Some(lock), Some(installed)) => installed >= lock,
        _ => false,
    };
    if fresh {
        println!("    {}: node_modules up to date", dir.display());
        return Ok(());
    }
    run_checked(
        Command::new("npm")
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .current_dir(dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        &format!(
            "`npm ci` failed in {}: it needs Node.js 20 with npm and the npm registry",
            dir.display()
        ),
    )
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Builds the wasm core (`cargo xtask wasm`'s work) and then the web app into
/// `web-demo/dist`.
pub fn build_app(root: &Path) -> Result<()> {
    crate::wasm::build(root)?;
    let web = root.join("web-demo");
    npm_ci(&web)?;
    run_checked(
        Command::new("npm").args(["run", "build"]).current_dir(&web),
        "the web app's build failed (npm run build in web-demo), see above",
    )
}

/// The Chromium the browser tests drive: `$CHROMIUM` or Debian's `/usr/bin/chromium`.
pub fn chromium() -> Result<PathBuf> {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    if path.is_file() {
        println!("    chromium: {}", path.display());
        Ok(path)
    } else {
        bail!(
            "no Chromium at {}: the browser tests need Debian's chromium \
             (`sudo apt-get install -y chromium`), or set CHROMIUM to a Chromium binary",
            path.display()
        )
    }
}

/// The browser end-to-end tests: the built app in headless Chromium against relays (the debug
/// `fieldbook` binary; one with built-in TLS and a certificate from the `test-cert` binary)
/// that the tests start on 127.0.0.1.
pub fn browser_tests(root: &Path, chromium: &Path) -> Result<()> {
    run_checked(
        cargo().current_dir(root).args([
            "build",
            "-p",
            "fieldbook-server",
            "--bin",
            "fieldbook",
            "-p",
            "fieldbook-tests",
            "--bin",
            "test-cert",
        ]),
        "building the relay and the test certificate generator for the browser tests failed",
    )?;
    let target = target_dir(root);
    run_checked(
        Command::new("npm")
            .args(["run", "test:e2e"])
            .current_dir(root.join("web-demo"))
            .env("FIELDBOOK_BIN", target.join("debug/fieldbook"))
            .env("FIELDBOOK_TEST_CERT_BIN", target.join("debug/test-cert"))
            .env("CHROMIUM", chromium)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        "the browser end-to-end tests failed, see above (report: web-demo/playwright-report)",
    )
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// `cargo xtask serve`: builds the wasm core, the web app and the relay, creates the demo team
/// in ./data on first use, issues a login link per demo member, and runs the relay in the
/// foreground on 127.0.0.1:8080 (or `--listen ADDR` among `extra`).
pub fn serve(root: &Path, extra: &[String]) -> Result<ExitCode> {
    crate::tools::ensure_node()?;
    build_app(root)?;
    announce("building the relay (release)");
    run_checked(
        cargo().current_dir(root).args([
            "build",
            "--release",
            "-q",
            "-p",
            "fieldbook-server",
            "--bin",
            "fieldbook",
        ]),
        "building the relay failed, see above",
    )?;
    let bin = target_dir(root).join("release/fieldbook");
    let fieldbook = |args: &[&str]| -> Result<String> {
        let out = Command::new(&bin)
            .args(args)
            .current_dir(root)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "fieldbook {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };

    if !root.join("data/relay.sqlite").exists() {
        announce("no ./data/relay.sqlite: creating the demo team (fieldbook demo --data data)");
        let created = fieldbook(&["demo", "--data", "data"])?;
        println!("{}", created.lines().next().unwrap_or_default());
    }
    let listen = listen_arg(extra).unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let base = format!("http://{}", browser_host(&listen));
    let members = fieldbook(&["member", "list", "--data", "data", "--team", "demo"])?;
    let mut links = Vec::new();
    for line in members.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(id), Some(role)) = (cols.first(), cols.get(1)) else {
            continue;
        };
        let token = fieldbook(&[
            "token", "issue", "--data", "data", "--team", "demo", "--member", id, "--ttl", "30d",
        ])?;
        links.push(format!(
            "  {role:<8} {id:<10} {base}/#token={}",
            token.trim()
        ));
    }

    let mut args: Vec<&str> = vec!["serve", "--data", "data", "--web", "web-demo/dist"];
    args.extend(extra.iter().map(String::as_str));
    if listen_arg(extra).is_none() {
        args.extend(["--listen", "127.0.0.1:8080"]);
    }
    println!("\n==> Fieldbook is at {base}/  (Ctrl-C stops the relay)");
    println!("    open a login link (valid 30 days) in a browser:");
    for link in &links {
        println!("{link}");
    }
    println!();
    let status = Command::new(&bin)
        .args(&args)
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The value of `--listen ADDR` or `--listen=ADDR` among the extra arguments.
fn listen_arg(extra: &[String]) -> Option<String> {
    let mut it = extra.iter();
    while let Some(arg) = it.next() {
        if arg == "--listen" {
            return it.next().cloned();
        }
        if let Some(value) = arg.strip_prefix("--listen=") {
            return Some(value.to_owned());
        }
    }
    None
}

/// The host a browser on this machine uses for a listen address (0.0.0.0 → 127.0.0.1).
fn browser_host(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("0.0.0.0" | "[::]", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{browser_host, listen_arg};

    #[test]
    fn finds_the_listen_address_in_both_spellings() {
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            listen_arg(&args(&["--listen", "0.0.0.0:9000"])).as_deref(),
            Some("0.0.0.0:9000")
        );
        assert_eq!(
            listen_arg(&args(&["--durability", "normal", "--listen=127.0.0.1:81"])).as_deref(),
            Some("127.0.0.1:81")
        );
        assert_eq!(listen_arg(&args(&["--durability", "normal"])), None);
        assert_eq!(browser_host("0.0.0.0:9000"), "127.0.0.1:9000");
        assert_eq!(browser_host("127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
