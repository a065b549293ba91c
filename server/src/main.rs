//! The `fieldbook` command line: `fieldbook eval` today; the relay (`serve`) and the admin
//! commands come with the relay issue.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Fieldbook: offline-first lead pipeline for travelling sales reps.
#[derive(Debug, Parser)]
#[command(name = "fieldbook", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate a team and its leads at a moment and print the result as JSON.
    ///
    /// The file holds `now`, `members`, `leads` and optionally `products`, `playbook`,
    /// `team` and `rep` (format: docs/eval.md). Prints the derived state of every lead
    /// (status, flags, tasks), each rep's call queue and day plan, each manager's review
    /// inbox and refusal analytics, the funnel, speed to lead and the customer tiers.
    /// Bad input prints one error naming the field, the lead and the event to stderr,
    /// nothing to stdout, and exits with code 1.
    Eval {
        /// The JSON file to evaluate, e.g. docs/examples/team.json.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Eval { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let output = fieldbook_server::eval::run_eval(&text)
                .with_context(|| format!("{}", file.display()))?;
            print!("{output}");
            Ok(())
        }
    }
}
