//! `cargo xtask test`: the project's one test command. Each step is announced with `==>`,
//! stops the run on failure, and is timed; a summary line ends a successful run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::tools::{self, WASM_TARGET};
use crate::web;

/// Runs every step in order, failing fast.
pub fn run() -> Result<()> {
    let root = repo_root();
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let start = Instant::now();
        f().with_context(|| format!("step `{name}`"))?;
        timings.push((name, start.elapsed()));
        Ok(())
    };

    let mut chromium = PathBuf::new();
    step("tools", &mut || {
        announce(
            "checking tools: rustfmt, clippy, wasm32 target, wasm-bindgen-test-runner, node, \
             chromium; npm ci of web-demo and tests/interop",
        );
        tools::ensure_all(&root)?;
        chromium = web::chromium()?;
        web::npm_ci(&root.join("web-demo"))?;
        web::npm_ci(&root.join("tests/interop"))
    })?;
    step("fmt", &mut || {
        run_checked(
            cargo().current_dir(&root).args(["fmt", "--all", "--check"]),
            "code is not formatted: run `cargo fmt --all` and commit the result",
        )
    })?;
    step("clippy", &mut || {
        run_checked(
            cargo().current_dir(&root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            "clippy found warnings (denied): fix them, see above",
        )
    })?;
    step("native tests", &mut || {
        run_checked(
            cargo().current_dir(&root).args(["test", "--workspace"]),
            "native tests failed, see above",
        )
    })?;
    step("wasm tests", &mut || wasm_tests(&root))?;
    // The relay end-to-end tests (simulated devices against a real relay on 127.0.0.1,
    // including a SIGKILLed child relay) and the interop tests (the JS automerge-repo client
    // and sync server from tests/interop) are ordinary tests of `fieldbook-tests` and ran in
    // "native tests" above.
    step("web app", &mut || {
        web::build_app(&root)?;
        let web = root.join("web-demo");
        run_checked(
            Command::new("npm")
                .args(["run", "typecheck"])
                .current_dir(&web),
            "the web app does not type-check (npm run typecheck in web-demo), see above",
        )?;
        run_checked(
            Command::new("npm").args(["test"]).current_dir(&web),
            "the web app's unit tests failed (npm test in web-demo), see above",
        )
    })?;
    step("browser end-to-end", &mut || {
        web::browser_tests(&root, &chromium)
    })?;

    let total: Duration = timings.iter().map(|(_, d)| *d).sum();
    let parts: Vec<String> = timings
        .iter()
        .map(|(name, d)| format!("{name} {:.1}s", d.as_secs_f64()))
        .collect();
    println!(
        "\nxtask test: OK in {:.1}s ({})",
        total.as_secs_f64(),
        parts.join(", ")
    );
    Ok(())
}

/// The core's and the browser binding's tests on wasm32 under node (runner configured in
/// .cargo/config.toml). The runner's output is echoed and its test counts summed: a run of 0
/// tests means the tests were not registered with wasm-bindgen-test, which must fail rather
/// than pass silently.
fn wasm_tests(root: &Path) -> Result<()> {
    let mut cmd = cargo();
    cmd.current_dir(root).args([
        "test",
        "-p",
        "fieldbook-core",
        "-p",
        "fieldbook-wasm",
        "--target",
        WASM_TARGET,
    ]);
    announce_cmd(&cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut n_passed = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        n_passed += passed_count(&line).unwrap_or(0);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("wasm tests failed ({status}), see above");
    }
    if n_passed == 0 {
        bail!(
            "the wasm test run passed 0 tests: test modules in core must register their tests \
             with wasm-bindgen-test (`#[cfg(target_arch = \"wasm32\")] use \
             wasm_bindgen_test::wasm_bindgen_test as test;`)"
        );
    }
    println!("    {n_passed} tests passed on {WASM_TARGET}");
    Ok(())
}

/// `N` from a libtest/wasm-bindgen-test summary line `test result: ok. N passed; ...`.
fn passed_count(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, rest) = rest.split_once(". ")?;
    rest.split_once(" passed")?.0.trim().parse().ok()
}

/// `cargo` of the toolchain running this xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Prints a step header: `==> what`.
pub fn announce(what: &str) {
    println!("\n==> {what}");
}

fn announce_cmd(cmd: &Command) {
    let program = Path::new(cmd.get_program()).file_name().map_or_else(
        || cmd.get_program().to_string_lossy(),
        |n| n.to_string_lossy(),
    );
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    announce(&format!("{program} {}", args.join(" ")));
}

/// Announces and runs a command with inherited output; on failure, an error with `hint`.
pub fn run_checked(cmd: &mut Command, hint: &str) -> Result<()> {
    announce_cmd(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{hint} ({status})");
    }
    Ok(())
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a folder of the repository")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::passed_count;

    #[test]
    fn counts_passed_tests_of_libtest_and_wasm_bindgen_test() {
        let line =
            "test result: ok. 12 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.01s";
        assert_eq!(passed_count(line), Some(12));
        assert_eq!(
            passed_count("test result: FAILED. 3 passed; 1 failed;"),
            Some(3)
        );
        assert_eq!(passed_count("running 12 tests"), None);
    }
}
