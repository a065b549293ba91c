//! `cargo xtask wasm`: builds the browser core (`fieldbook-wasm`) for wasm32 with the
//! `wasm-release` profile, runs `wasm-bindgen --target web` into `web-demo/src/wasm/` and prints
//! the module's size raw and gzipped. `--bench` builds the benchmark variant (feature `bench`)
//! into `target/wasm-bench/` and runs `wasm/bench/queue.mjs` under node.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::test::{announce, cargo, repo_root, run_checked};
use crate::tools::{self, WASM_TARGET};

/// The cargo profile of the browser build (Cargo.toml: `[profile.wasm-release]`).
const PROFILE: &str = "wasm-release";

/// Runs the task; `args` are what follows `wasm`.
pub fn run(args: &[String]) -> Result<()> {
    let bench = match args {
        [] => false,
        [flag] if flag == "--bench" => true,
        _ => bail!(
            "unknown arguments: {} (expected nothing or --bench)",
            args.join(" ")
        ),
    };
    let root = repo_root();
    // The data types' TypeScript comes from the core's serde types: stop before building a
    // module whose .d.ts would disagree with them.
    build_module(&root, bench, true)
}

/// The browser build for `cargo xtask serve` and `cargo xtask test`, without the TypeScript
/// check: the test command makes it in `cargo test --workspace`, and a running product does
/// not need it (it would add a native debug build to a fresh machine's `serve`).
pub fn build(root: &Path) -> Result<()> {
    build_module(root, false, false)
}

fn build_module(root: &Path, bench: bool, check_types: bool) -> Result<()> {
    announce("checking tools: wasm32 target, wasm-bindgen (pinned to Cargo.lock)");
    tools::ensure_rustup_parts()?;
    tools::ensure_wasm_bindgen_test_runner(root)?;
    if bench {
        tools::ensure_node()?;
    }
    if check_types {
        run_checked(
            cargo().current_dir(root).args([
                "test",
                "-q",
                "-p",
                "fieldbook-wasm",
                "--test",
                "ts_types",
            ]),
            "wasm/src/types.d.ts is not what the core's types generate: run \
             `UPDATE_EXPECT=1 cargo test -p fieldbook-wasm --test ts_types` and commit it",
        )?;
    }

    let mut build = cargo();
    build.current_dir(root).args([
        "build",
        "-p",
        "fieldbook-wasm",
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
    ]);
    if bench {
        build.args(["--features", "bench"]);
    }
    run_checked(&mut build, "building fieldbook-wasm for wasm32 failed")?;

    let target_dir = crate::web::target_dir(root);
    let module = target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join("fieldbook_wasm.wasm");
    let out_dir = if bench {
        target_dir.join("wasm-bench")
    } else {
        root.join("web-demo/src/wasm")
    };
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    run_checked(
        std::process::Command::new("wasm-bindgen")
            .args(["--target", "web"])
            // Function names (~250 KB gzipped) only label stack traces: left out.
            .args(["--remove-name-section", "--remove-producers-section"])
            .arg("--out-dir")
            .arg(&out_dir)
            .arg(&module),
        "wasm-bindgen failed",
    )?;

    let bg = out_dir.join("fieldbook_wasm_bg.wasm");
    let bytes = std::fs::read(&bg).with_context(|| format!("reading {}", bg.display()))?;
    let gz = gzip_len(&bytes)?;
    println!(
        "\n{}: {} bytes ({:.1} KiB), gzip -9 {} bytes ({:.1} KiB)",
        bg.strip_prefix(root).unwrap_or(&bg).display(),
        bytes.len(),
        kib(bytes.len()),
        gz,
        kib(gz)
    );

    if bench {
        run_checked(
            std::process::Command::new("node")
                .current_dir(root)
                .arg("wasm/bench/queue.mjs")
                .arg(&out_dir),
            "the wasm benchmark failed",
        )?;
    }
    Ok(())
}

/// Size of `bytes` compressed with gzip at level 9 (as `gzip -9`).
fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

#[allow(clippy::cast_precision_loss)] // sizes of a few MB
fn kib(n: usize) -> f64 {
    n as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::gzip_len;

    #[test]
    fn gzip_shrinks_repetitive_bytes_and_counts_the_header() {
        let zeros = vec![0u8; 100_000];
        let n = gzip_len(&zeros).unwrap();
        assert!(n > 18 && n < 1_000, "{n}");
    }
}
