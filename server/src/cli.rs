//! The `fieldbook` command line (parsed with clap): `eval`, the relay's `serve`, and the admin
//! commands `team`, `member`, `token`, `demo`, `backup` and `restore` on the relay's data
//! directory. It lives in the library so that the end-to-end tests can run the very same
//! command as a child process.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fieldbook_core::ids::{MemberId, TeamId};
use fieldbook_core::playbook::Playbook;
use fieldbook_core::team::{Member, Role};

use crate::relay::admin;
use crate::relay::backup;
use crate::relay::demo;
use crate::relay::store::{Durability, RelayStore, SqliteStore, role_name};

/// Fieldbook: offline-first lead pipeline for travelling sales reps.
///
/// The relay keeps everything in one data directory (`--data`, default ./data, created on
/// first use): `fieldbook demo` fills it with a demo team, `fieldbook serve` serves it.
#[derive(Debug, Parser)]
#[command(name = "fieldbook", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct DataArg {
    /// The relay's data directory (SQLite file relay.sqlite inside).
    #[arg(long, env = "FIELDBOOK_DATA", default_value = "data", global = true)]
    data: PathBuf,
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
    /// Run the relay: WebSocket sync at /sync?token=..., /healthz, /readyz, /metrics, and
    /// the web app from --web when it is built.
    ///
    /// Every flag can also be set with the environment variable shown. Logs go to stderr
    /// (filter with FIELDBOOK_LOG, e.g. `info` or `fieldbook_server=debug`); the first line
    /// on stdout is `listening on ADDR`. SIGINT or SIGTERM closes every connection (1001),
    /// writes the pending index documents and exits. With --tls-cert and --tls-key it serves
    /// HTTPS and WSS; SIGHUP reads the certificate and key again (new handshakes use them,
    /// open connections stay).
    Serve(ServeArgs),
    /// Create or list teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Add, list or remove the members of a team.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Issue, list or revoke access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy the relay's database to OUT while the relay serves: a consistent snapshot
    /// (SQLite `VACUUM INTO`), checked with `PRAGMA integrity_check`, written to a temporary
    /// file beside OUT and renamed into place. Prints the path, size, documents and tokens.
    Backup {
        #[command(flatten)]
        data: DataArg,
        /// The backup file to write, e.g. relay-2026-11-22.sqlite.
        out: PathBuf,
        /// Overwrite OUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Restore a backup into the data directory. Refused while a relay serves it (stop the
    /// relay first) and when the directory already holds a database, unless --force: the old
    /// file is then kept as relay.sqlite.before-restore-<time>. Devices that connect afterwards
    /// send the relay what the backup lacked.
    Restore {
        #[command(flatten)]
        data: DataArg,
        /// The backup file (from `fieldbook backup`).
        backup: PathBuf,
        /// Replace an existing database (kept under another name).
        #[arg(long)]
        force: bool,
    },
    /// Create a demo team: admin `a-admin`, manager `m-dana`, reps `r-yossi` and `r-ioana`,
    /// and generated leads in every stage; prints a token per member.
    Demo {
        #[command(flatten)]
        data: DataArg,
        /// Team id of the demo team.
        #[arg(long, default_value = "demo")]
        team: String,
        /// How many leads to generate (split between the two reps).
        #[arg(long, default_value_t = 300)]
        leads: usize,
        /// How long the printed tokens are valid (30d, 12h, 90m, 3600s).
        #[arg(long, default_value = "30d", value_parser = admin::parse_ttl)]
        ttl: chrono::TimeDelta,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// Address to listen on (port 0: any free port).
    #[arg(long, env = "FIELDBOOK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The web app's built files, served when the directory exists.
    #[arg(long, env = "FIELDBOOK_WEB", default_value = "web-demo/dist")]
    web: PathBuf,
    /// How hard a commit is made durable: `full` survives a power cut, `normal` a killed
    /// process.
    #[arg(long, env = "FIELDBOOK_DURABILITY", value_enum, default_value_t = Durability::Full)]
    durability: Durability,
    /// The largest WebSocket message accepted, in bytes.
    #[arg(long, env = "FIELDBOOK_MAX_FRAME_BYTES", default_value_t = 8 * 1024 * 1024)]
    max_frame_bytes: usize,
    /// Sustained messages per second per connection.
    #[arg(long, env = "FIELDBOOK_MAX_MESSAGES_PER_SECOND", default_value_t = 500)]
    max_messages_per_second: u32,
    /// Messages a connection may send at once above the rate (a reconnect syncs many
    /// documents).
    #[arg(long, env = "FIELDBOOK_MESSAGE_BURST", default_value_t = 5_000)]
    message_burst: u32,
    /// Connections one member may hold at once.
    #[arg(
        long,
        env = "FIELDBOOK_MAX_CONNECTIONS_PER_MEMBER",
        default_value_t = 8
    )]
    max_connections_per_member: usize,
    /// Leads one member may own; a new lead beyond is refused.
    #[arg(
        long,
        env = "FIELDBOOK_MAX_DOCUMENTS_PER_MEMBER",
        default_value_t = 20_000
    )]
    max_documents_per_member: usize,
    /// Lead documents kept in memory (least recently used beyond are dropped).
    #[arg(long, env = "FIELDBOOK_MAX_LOADED_DOCUMENTS", default_value_t = 20_000)]
    max_loaded_documents: usize,
    /// Milliseconds changes settle before index documents are rewritten.
    #[arg(long, env = "FIELDBOOK_INDEX_DEBOUNCE_MS", default_value_t = 75)]
    index_debounce_ms: u64,
    /// How long a client may take to send a request's headers, from the connection's start
    /// or the previous response (and, with TLS, to complete its handshake): 10s, 500ms, 1m.
    #[arg(long, env = "FIELDBOOK_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    header_timeout: std::time::Duration,
    /// How long a connection that has not become a sync WebSocket may send and receive
    /// nothing before it is closed.
    #[arg(long, env = "FIELDBOOK_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    idle_timeout: std::time::Duration,
    /// Connections at once that have not become a sync WebSocket (requests, handshakes);
    /// beyond, a new connection is answered 503 and closed.
    #[arg(long, env = "FIELDBOOK_MAX_UNAUTHENTICATED", default_value_t = 1024)]
    max_unauthenticated: u64,
    /// Serve HTTPS and WSS with this PEM certificate chain (leaf first); re-read on SIGHUP.
    #[arg(long, env = "FIELDBOOK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert; re-read on SIGHUP.
    #[arg(long, env = "FIELDBOOK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "FIELDBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    /// Create a team with no members and the default playbook (its team document).
    Create {
        #[command(flatten)]
        data: DataArg,
        /// Team id (no spaces, no '/').
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The playbook to start from.
        #[arg(long, value_enum, default_value_t = PlaybookChoice::Default)]
        playbook: PlaybookChoice,
        /// The team currency (ISO 4217, e.g. ILS): orderings and totals are in it. Default:
        /// ILS with `--playbook israeli`, else EUR. Managers add exchange rates in the app.
        #[arg(long)]
        currency: Option<String>,
    },
    /// List the teams in the data directory.
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PlaybookChoice {
    /// SPEC's defaults, Monday–Friday, in EUR.
    Default,
    /// The defaults with a Sunday–Thursday week, in ILS.
    Israeli,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Rep,
    Manager,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Rep => Role::Rep,
            RoleArg::Manager => Role::Manager,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Add a member to a team (written into the team document).
    Add {
        #[command(flatten)]
        data: DataArg,
        /// The team.
        #[arg(long)]
        team: String,
        /// Member id (no spaces, no '/').
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role: a rep works their own leads, a manager their reps' leads, an admin all.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The rep's manager (a manager or admin of the team).
        #[arg(long)]
        manager: Option<String>,
        /// IANA time zone, e.g. Asia/Jerusalem.
        #[arg(long, default_value = "UTC", value_parser = parse_zone)]
        time_zone: chrono_tz::Tz,
        /// BCP 47 locale, e.g. he-IL.
        #[arg(long, default_value = "en-US")]
        locale: String,
    },
    /// List a team's members.
    List {
        #[command(flatten)]
        data: DataArg,
        /// The team.
        #[arg(long)]
        team: String,
    },
    /// Remove a member from a team and revoke their tokens (refused while they own leads).
    Remove {
        #[command(flatten)]
        data: DataArg,
        /// The team.
        #[arg(long)]
        team: String,
        /// Member id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token for a member; prints only the token on stdout (details on stderr).
    Issue {
        #[command(flatten)]
        data: DataArg,
        /// The team.
        #[arg(long)]
        team: String,
        /// The member.
        #[arg(long)]
        member: String,
        /// How long it is valid (30d, 12h, 90m, 3600s).
        #[arg(long, default_value = "30d", value_parser = admin::parse_ttl)]
        ttl: chrono::TimeDelta,
    },
    /// List issued tokens (ids, members, expiry, revocation), never the tokens themselves.
    List {
        #[command(flatten)]
        data: DataArg,
        /// Only this team's.
        #[arg(long)]
        team: Option<String>,
    },
    /// Revoke a token by id: refused from now on, its connections closed.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// The token id (from `token issue` or `token list`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// A positive duration: a number and `ms`, `s` or `m` (10s, 500ms, 2m).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{text:?}: the unit is ms, s or m, e.g. 10s")),
    };
    if duration.is_zero() {
        return Err(format!("{text:?} is not a positive duration"));
    }
    Ok(duration)
}

fn parse_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IANA time zone such as Asia/Jerusalem"))
}

/// Runs the command line; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn open_store(dir: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open_dir(dir, Durability::Full)
        .with_context(|| format!("--data {}", dir.display()))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn format_time(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| unix.to_string())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Eval { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let output =
                crate::eval::run_eval(&text).with_context(|| format!("{}", file.display()))?;
            write!(out, "{output}")?;
        }
        Command::Serve(args) => serve(args)?,
        Command::Team(TeamCommand::Create {
            data,
            id,
            name,
            playbook,
            currency,
        }) => {
            let mut store = open_store(&data.data)?;
            let mut playbook = match playbook {
                PlaybookChoice::Default => Playbook::default(),
                PlaybookChoice::Israeli => Playbook::israeli(),
            };
            if let Some(currency) = currency {
                playbook.currency = currency;
            }
            let doc = admin::create_team(&mut store, &TeamId(id.clone()), &name, playbook, now)?;
            writeln!(out, "created team {id} (team document {doc})")?;
        }
        Command::Team(TeamCommand::List { data }) => {
            let mut store = open_store(&data.data)?;
            for record in store.records()? {
                if record.kind == crate::relay::store::StoredKind::Team {
                    let loaded = admin::load_team(&mut store, &record.team, admin::random_actor())?;
                    writeln!(
                        out,
                        "{}\t{}\t{} members",
                        loaded.team.id,
                        loaded.team.name,
                        loaded.team.members.len()
                    )?;
                }
            }
        }
        Command::Member(MemberCommand::Add {
            data,
            team,
            id,
            name,
            role,
            manager,
            time_zone,
            locale,
        }) => {
            let mut store = open_store(&data.data)?;
            let member = Member {
                id: MemberId(id.clone()),
                name,
                role: role.into(),
                manager: manager.map(MemberId),
                time_zone,
                working_week: None,
                locale,
            };
            admin::add_member(&mut store, &TeamId(team.clone()), &member, now)?;
            writeln!(out, "added {id} to team {team}")?;
        }
        Command::Member(MemberCommand::List { data, team }) => {
            let mut store = open_store(&data.data)?;
            let loaded = admin::load_team(&mut store, &TeamId(team), admin::random_actor())?;
            writeln!(out, "id\trole\tmanager\ttime zone\tname")?;
            for m in &loaded.team.members {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    m.id,
                    role_name(m.role),
                    m.manager.as_ref().map_or("-", MemberId::as_str),
                    m.time_zone,
                    m.name
                )?;
            }
        }
        Command::Member(MemberCommand::Remove { data, team, id }) => {
            let mut store = open_store(&data.data)?;
            let revoked = admin::remove_member(
                &mut store,
                &TeamId(team.clone()),
                &MemberId(id.clone()),
                now,
            )?;
            writeln!(
                out,
                "removed {id} from team {team}; revoked {revoked} token(s)"
            )?;
        }
        Command::Token(TokenCommand::Issue {
            data,
            team,
            member,
            ttl,
        }) => {
            let mut store = open_store(&data.data)?;
            let (token, record) =
                admin::issue_token(&mut store, &TeamId(team), &MemberId(member), ttl, now)?;
            eprintln!(
                "token {} for {} ({}) of team {}, expires {}",
                record.id,
                record.member,
                role_name(record.role),
                record.team,
                format_time(record.expires_at)
            );
            writeln!(out, "{token}")?;
        }
        Command::Token(TokenCommand::List { data, team }) => {
            let mut store = open_store(&data.data)?;
            writeln!(out, "id\tteam\tmember\trole\texpires\tstatus")?;
            for t in store.tokens(team.map(TeamId).as_ref())? {
                let status = match t.revoked_at {
                    Some(at) => format!("revoked {}", format_time(at)),
                    None if t.expires_at <= now.timestamp() => "expired".to_owned(),
                    None => "valid".to_owned(),
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.team,
                    t.member,
                    role_name(t.role),
                    format_time(t.expires_at),
                    status
                )?;
            }
        }
        Command::Token(TokenCommand::Revoke { data, id }) => {
            let mut store = open_store(&data.data)?;
            let record = admin::revoke_token(&mut store, &id, now)?;
            writeln!(
                out,
                "revoked token {} of {} (team {})",
                record.id, record.member, record.team
            )?;
        }
        Command::Backup {
            data,
            out: path,
            force,
        } => {
            let started = std::time::Instant::now();
            let contents = backup::backup(&data.data, &path, force, |written, total| {
                eprintln!(
                    "backup: {:.1} MiB written (the database is {:.1} MiB)",
                    mib(written),
                    mib(total)
                );
            })?;
            eprintln!(
                "backup: checked and written in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            writeln!(out, "{}: {contents}", path.display())?;
        }
        Command::Restore {
            data,
            backup: path,
            force,
        } => {
            let restored = backup::restore(&data.data, &path, force, now)?;
            let target = data.data.join(crate::relay::store::DB_FILE);
            match &restored.previous {
                Some(kept) => writeln!(
                    out,
                    "restored {} into {}: {}; the previous database is kept as {}",
                    path.display(),
                    target.display(),
                    restored.contents,
                    kept.display()
                )?,
                None => writeln!(
                    out,
                    "restored {} into {}: {}",
                    path.display(),
                    target.display(),
                    restored.contents
                )?,
            }
        }
        Command::Demo {
            data,
            team,
            leads,
            ttl,
        } => {
            let mut store = open_store(&data.data)?;
            let team = TeamId(team);
            let created = demo::create_demo(&mut store, &team, leads, now)?;
            writeln!(
                out,
                "created demo team {} with {} leads in {}",
                created.team,
                created.leads.len(),
                data.data.display()
            )?;
            writeln!(out, "tokens (valid for {} days):", ttl.num_days())?;
            for member in &created.members {
                let (token, _) = admin::issue_token(&mut store, &team, &member.id, ttl, now)?;
                writeln!(out, "{}\t{}\t{token}", member.id, role_name(member.role))?;
            }
        }
    }
    Ok(())
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FIELDBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    use crate::relay::engine::EngineConfig;
    use crate::relay::listen::HttpLimits;
    use crate::relay::serve::{ConnLimits, ServeConfig};
    use crate::relay::tls::TlsFiles;
    init_logs(args.log_format);
    let config = ServeConfig {
        data: args.data.data,
        web: Some(args.web),
        durability: args.durability,
        conn: ConnLimits {
            max_frame_bytes: args.max_frame_bytes,
            messages_per_second: args.max_messages_per_second,
            message_burst: args.message_burst,
            ..ConnLimits::default()
        },
        http: HttpLimits {
            header_timeout: args.header_timeout,
            idle_timeout: args.idle_timeout,
            max_unauthenticated: args.max_unauthenticated,
        },
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        engine: EngineConfig {
            max_docs_per_member: args.max_documents_per_member,
            max_conns_per_member: args.max_connections_per_member,
            max_loaded_docs: args.max_loaded_documents,
            index_debounce: std::time::Duration::from_millis(args.index_debounce_ms),
            ..EngineConfig::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if let Some(files) = &config.tls {
        // Before `listening on`: a pair that does not load stops the relay at once.
        crate::relay::tls::load(files)?;
    }
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
        let addr = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {addr}")?;
            out.flush()?;
        }
        crate::relay::serve::serve(listener, config, shutdown_signal()).await
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_take_ms_s_or_m() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").unwrap_err().contains("unit"));
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(parse_duration("soon").unwrap_err().contains("10s"));
    }
}
