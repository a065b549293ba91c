//! Project automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`): the one
//! test command and, later, the one command that serves the relay with the web app.

mod test;
mod tools;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  test    the project's one test command: checks/installs the tools it needs (wasm32 target,
          rustfmt, clippy, wasm-bindgen-test-runner pinned to Cargo.lock, node), then runs
          cargo fmt --check, cargo clippy -D warnings, the native tests of the workspace and
          the core's tests on wasm32-unknown-unknown under node
  serve   not yet: arrives with the relay (exits with code 2)
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
        Some("serve") => {
            eprintln!(
                "cargo xtask serve: not available yet. The relay (sync server + web app) \
                 arrives with the relay issue; nothing was started."
            );
            ExitCode::from(2)
        }
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
