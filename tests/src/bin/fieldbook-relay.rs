//! The `fieldbook` command line, built inside the tests package so that the end-to-end tests
//! can start it as a child process and kill it.

fn main() -> std::process::ExitCode {
    fieldbook_server::cli::main()
}
