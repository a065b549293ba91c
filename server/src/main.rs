//! The `fieldbook` binary: the command line of [`fieldbook_server::cli`].

fn main() -> std::process::ExitCode {
    fieldbook_server::cli::main()
}
