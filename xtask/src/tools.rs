//! Tool checks for `cargo xtask test`: each tool is found on PATH or installed, and a
//! missing tool that cannot be installed here fails with what to do about it.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::test::{cargo, run_checked};

/// The target the core's tests also run on (ARCHITECTURE.md: the core runs in the browser).
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Makes sure rustfmt, clippy, the wasm32 target, `wasm-bindgen-test-runner` (same version
/// as the `wasm-bindgen` crate in Cargo.lock) and `node` are available.
pub fn ensure_all(root: &Path) -> Result<()> {
    ensure_rustup_parts()?;
    ensure_wasm_bindgen_test_runner(root)?;
    ensure_node()
}

pub fn ensure_rustup_parts() -> Result<()> {
    let components = output_of(Command::new("rustup").args(["component", "list", "--installed"]))
        .context(
        "`rustup` is needed to manage the toolchain: install Rust via https://rustup.rs",
    )?;
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|c| !components.lines().any(|line| line.starts_with(c)))
        .collect();
    if missing.is_empty() {
        println!("    rustfmt, clippy: installed");
    } else {
        let mut cmd = Command::new("rustup");
        cmd.args(["component", "add"]).args(&missing);
        run_checked(&mut cmd, "installing rustup components failed")?;
    }

    let targets = output_of(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if targets.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("    target {WASM_TARGET}: installed");
    } else {
        run_checked(
            Command::new("rustup").args(["target", "add", WASM_TARGET]),
            "installing the wasm32 target failed (rustup downloads it from the Rust \
             distribution server: a machine that cannot reach it needs the target in its image)",
        )?;
    }
    Ok(())
}

pub fn ensure_wasm_bindgen_test_runner(root: &Path) -> Result<()> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .context("reading Cargo.lock (the runner's version is pinned by it)")?;
    let wanted = locked_version(&lock, "wasm-bindgen")
        .context("Cargo.lock has no `wasm-bindgen` package: cannot pin wasm-bindgen-test-runner")?;
    let found = output_of(Command::new("wasm-bindgen-test-runner").arg("--version")).ok();
    let found_version = found
        .as_deref()
        .and_then(|out| out.split_whitespace().nth(1))
        .map(str::to_owned);
    if found_version.as_deref() == Some(wanted.as_str()) {
        println!("    wasm-bindgen-test-runner {wanted}: installed");
        return Ok(());
    }
    let why = match &found_version {
        Some(v) => format!(
            "wasm-bindgen-test-runner {v} is on PATH but Cargo.lock has wasm-bindgen {wanted}"
        ),
        None => "wasm-bindgen-test-runner is not on PATH".to_owned(),
    };
    println!(
        "    {why}: installing wasm-bindgen-cli {wanted} (the runner must match the crate \
         version exactly; this compiles for a few minutes, once)"
    );
    let mut locked = cargo();
    locked.args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &wanted,
        "--locked",
    ]);
    if run_checked(
        &mut locked,
        "installing wasm-bindgen-cli with --locked failed",
    )
    .is_err()
    {
        // The lockfile published with wasm-bindgen-cli can pin a dependency version the
        // registry no longer serves (yanked): then resolve its dependencies afresh. The
        // runner's own version stays pinned, which is what must match the crate.
        println!(
            "    the locked install failed (see above; usually a dependency version pinned by \
             wasm-bindgen-cli's own lockfile is no longer in the registry): retrying without \
             --locked"
        );
        let mut unlocked = cargo();
        unlocked.args(["install", "wasm-bindgen-cli", "--version", &wanted]);
        run_checked(&mut unlocked, "installing wasm-bindgen-cli failed")?;
    }

    let after = output_of(Command::new("wasm-bindgen-test-runner").arg("--version")).context(
        "wasm-bindgen-test-runner was installed but is not on PATH: add `$CARGO_HOME/bin` \
         (usually ~/.cargo/bin) to PATH",
    )?;
    if !after.contains(&wanted) {
        bail!(
            "after installing, `wasm-bindgen-test-runner --version` says {after:?}, expected {wanted}: another copy earlier on PATH?"
        );
    }
    Ok(())
}

pub fn ensure_node() -> Result<()> {
    match output_of(Command::new("node").arg("--version")) {
        Ok(version) => {
            println!("    node {}: on PATH (runs the wasm tests)", version.trim());
            Ok(())
        }
        Err(_) => bail!(
            "`node` is not on PATH and the wasm tests run under it: \
             install Node.js 20 (e.g. apt-get install nodejs)"
        ),
    }
}

/// The version of package `name` in a Cargo.lock (the first one if several are locked).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted_name = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted_name {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

/// Stdout of a command that must succeed; an error if it cannot start or fails.
fn output_of(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn reads_the_locked_version_of_a_package() {
        let lock = "[[package]]\nname = \"wasm-bindgen-test\"\nversion = \"0.3.80\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(lock, "wasm-bindgen-test").as_deref(),
            Some("0.3.80")
        );
        assert_eq!(locked_version(lock, "serde"), None);
    }
}
