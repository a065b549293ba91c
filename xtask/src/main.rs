//! Project automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`): the one
//! test command and the one command that serves the relay (with the web app once it is built).

mod test;
mod tools;
mod wasm;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  test    the project's one test command: checks/installs the tools it needs (wasm32 target,
          rustfmt, clippy, wasm-bindgen-test-runner pinned to Cargo.lock, node), then runs
          cargo fmt --check, cargo clippy -D warnings, the native tests of the workspace and
          the core's tests on wasm32-unknown-unknown under node
  serve   builds and runs the relay (`fieldbook serve`) on ./data, creating the demo team
          there first when ./data has no relay database; extra arguments go to
          `fieldbook serve` (e.g. cargo xtask serve --listen 0.0.0.0:8080)
  wasm    builds the browser core: fieldbook-wasm for wasm32 (profile wasm-release), then
          wasm-bindgen --target web into web-demo/src/wasm/; prints the module's size raw and
          gzipped. --bench: the benchmark build (feature bench) into target/wasm-bench/, then
          node wasm/bench/queue.mjs (open, call queue and inbox over 10,000 leads)
  help    print this help (also -h, --help)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => match test::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("\nxtask test FAILED: {err:#}");
                ExitCode::FAILURE
            }
        },
        Some("serve") => match serve(&args[1..]) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("xtask serve FAILED: {err}");
                ExitCode::FAILURE
            }
        },
        Some("wasm") => match wasm::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("\nxtask wasm FAILED: {err:#}");
                ExitCode::FAILURE
            }
        },
        None | Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(_) => {
            eprintln!("unknown arguments: {}\n\n{HELP}", args.join(" "));
            ExitCode::from(2)
        }
    }
}

/// `cargo xtask serve`: the demo team on first use, then the relay in the foreground.
fn serve(extra: &[String]) -> std::io::Result<ExitCode> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| {
        std::process::Command::new(&cargo)
            .args(["run", "--release", "-q", "-p", "fieldbook-server", "--"])
            .args(args)
            .status()
    };
    if !std::path::Path::new("data/relay.sqlite").exists() {
        eprintln!("==> no ./data/relay.sqlite: creating the demo team (fieldbook demo)");
        if !run(&["demo", "--data", "data"])?.success() {
            return Ok(ExitCode::FAILURE);
        }
    }
    let mut args = vec!["serve", "--data", "data"];
    args.extend(extra.iter().map(String::as_str));
    eprintln!("==> fieldbook {}", args.join(" "));
    let status = run(&args)?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
