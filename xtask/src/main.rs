//! Project automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`): the one
//! test command, the one command that runs the product (relay + web app), and the wasm build.

mod test;
mod tools;
mod wasm;
mod web;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

Tasks:
  test    the project's one test command: checks/installs the tools it needs (wasm32 target,
          rustfmt, clippy, wasm-bindgen-cli pinned to Cargo.lock, node, Debian's chromium,
          npm ci of web-demo and tests/interop), then runs cargo fmt --check, cargo clippy
          -D warnings, the native tests of the workspace (relay end-to-end and JS interop
          included), the core's and the binding's tests on wasm32 under node, the web app's
          build, type check and unit tests, and the browser end-to-end tests in headless
          Chromium
  serve   the product: builds the wasm core, the web app and the relay (release), creates the
          demo team in ./data on first use, prints the URL and a login link per demo member,
          and runs the relay on 127.0.0.1:8080 in the foreground; extra arguments go to
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
        Some("serve") => match web::serve(&test::repo_root(), &args[1..]) {
            Ok(code) => code,
            Err(err) => {
                eprintln!("\nxtask serve FAILED: {err:#}");
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
