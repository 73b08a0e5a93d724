//! The subcommands of `hirestream` and what each runs.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::audit::{AuditCommand, EventsCommand, KeysCommand};
use anyhow::{bail, Context};
use api::consumer::Consumer;
use api::process::{self, Parts};
use api::settings::{Settings, CONFIG_FILE_VARIABLE};
use api::{auth::TokenKeys, telemetry};
use clap::{CommandFactory, Parser, Subcommand};
use domain::{Actor, Role};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "hirestream",
    version,
    about = "Event-sourced backend of the Hirestream marketplace"
)]
pub struct Cli {
    /// A TOML settings file; `HIRESTREAM_*` variables override it.
    #[arg(long, global = true, env = CONFIG_FILE_VARIABLE)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, then run the API, the relay and every projector in one process.
    Up,
    /// Run the HTTP API.
    Serve,
    /// Run the relay that publishes committed events to Kafka.
    Relay,
    /// Run one projection or reactor.
    Project {
        #[arg(value_enum)]
        name: Consumer,
        /// Delete the read model and rebuild it from zero first (projections only).
        #[arg(long)]
        replay: bool,
        /// Where the replay reads the history.
        #[arg(long, value_enum, default_value_t, requires = "replay")]
        from: process::ReplaySource,
        /// Exit once the replay has caught up, instead of going on consuming.
        #[arg(long, requires = "replay")]
        until_caught_up: bool,
    },
    /// Apply the database migrations.
    Migrate,
    /// Import an employer's jobs from a Greenhouse or Lever feed (a URL or a file).
    Import {
        /// greenhouse or lever.
        source: String,
        /// An http(s) URL or a file path.
        location: String,
        #[arg(long)]
        employer: Uuid,
    },
    /// Verify the history: every stream's hash chain and every signed checkpoint.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Export the event store.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Keys: the one that signs the history's checkpoints, the master key of personal data.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Audit the credit ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Measure throughput, in a database of the benchmark's own: runs `hirestream-bench`
    /// (installed beside this binary) with these arguments; `hirestream bench --help` lists
    /// the benchmarks.
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print a bearer token for local use.
    Token {
        /// The caller's id: a candidate's or an employer's id, any id for an admin or an
        /// auditor.
        #[arg(long)]
        subject: Uuid,
        #[arg(long, value_enum)]
        role: CallerRole,
        /// Lifetime in seconds; defaults to the configured one.
        #[arg(long)]
        ttl_secs: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Recompute every wallet from the event store and compare it with the ledger; print each
    /// mismatch and exit non-zero if there is one.
    Reconcile {
        /// How long to wait for the ledger to apply events still in flight.
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
}

/// The roles a token can be minted for: every role but the platform's own, which no caller
/// can hold.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CallerRole {
    Candidate,
    Employer,
    Admin,
    /// Reads everything, writes nothing.
    Auditor,
}

impl From<CallerRole> for Role {
    fn from(role: CallerRole) -> Self {
        match role {
            CallerRole::Candidate => Role::Candidate,
            CallerRole::Employer => Role::Employer,
            CallerRole::Admin => Role::Admin,
            CallerRole::Auditor => Role::Auditor,
        }
    }
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        if let Command::Bench { args } = self.command {
            return bench(self.config, args);
        }
        if let Command::Keys { command } = self.command {
            if !command.uses_database() {
                return crate::audit::new_key(command);
            }
        }
        let settings = Settings::load(self.config.as_deref()).context("loading settings")?;
        if let Command::Token {
            subject,
            role,
            ttl_secs,
        } = self.command
        {
            let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
            let ttl = ttl_secs.unwrap_or(settings.auth.token_ttl_secs);
            let now = chrono::Utc::now().timestamp();
            println!("{}", keys.mint(Actor::new(subject, role.into()), now, ttl));
            return Ok(());
        }

        let telemetry = telemetry::init(&settings.log, &settings.telemetry);
        let result = self.command.run(&settings).await;
        telemetry.shutdown();
        result
    }
}

impl Command {
    /// Runs a command that needs the settings, the logs and (most) the database.
    async fn run(self, settings: &Settings) -> anyhow::Result<()> {
        if settings.dev_mode {
            tracing::warn!("development mode: the public development secrets are accepted");
        } else if matches!(self, Command::Up | Command::Serve) {
            // Before anything else: a server anyone can forge tokens and payments for must
            // not run.
            settings.refuse_public_secrets()?;
        }
        let pool = process::connect(settings)
            .await
            .context("connecting to PostgreSQL")?;
        let parts = match self {
            Command::Import {
                source,
                location,
                employer,
            } => return import(settings, pool, &source, &location, employer).await,
            Command::Ledger {
                command: LedgerCommand::Reconcile { wait_secs },
            } => return reconcile(&pool, Duration::from_secs(wait_secs)).await,
            Command::Audit { command } => {
                return crate::audit::audit(settings, &pool, command).await
            }
            Command::Events { command } => return crate::audit::events(&pool, command).await,
            Command::Keys { .. } => return crate::audit::rotate_master(settings, pool).await,
            Command::Migrate => {
                commands::db::migrate(&pool).await.context("migrating")?;
                tracing::info!("database migrated");
                return Ok(());
            }
            Command::Up => {
                commands::db::migrate(&pool).await.context("migrating")?;
                Parts::everything()
            }
            Command::Serve => Parts {
                api: true,
                ..Parts::default()
            },
            Command::Relay => Parts {
                relay: true,
                ..Parts::default()
            },
            Command::Project {
                name,
                replay: true,
                from,
                until_caught_up,
            } => return replay(settings, pool, name, from, until_caught_up).await,
            Command::Project { name, .. } => Parts {
                projectors: vec![name],
                ..Parts::default()
            },
            Command::Token { .. } | Command::Bench { .. } => {
                unreachable!("handled above")
            }
        };
        run(settings, pool, parts).await
    }
}

/// Runs long-running parts until a signal (or a failure) stops them.
async fn run(settings: &Settings, pool: PgPool, parts: Parts) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let started = process::start(settings, pool, parts, shutdown).await?;
    // A part that failed makes the process exit non-zero, so a supervisor tells a crash from
    // a clean stop.
    started.outcome().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Rebuilds a projection from zero, then goes on consuming unless told to stop once caught
/// up.
async fn replay(
    settings: &Settings,
    pool: PgPool,
    consumer: Consumer,
    from: process::ReplaySource,
    until_caught_up: bool,
) -> anyhow::Result<()> {
    if consumer.is_reactor() {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{consumer} is a reactor: it keeps no read model, so it has nothing to replay"
                ),
            )
            .exit();
    }
    commands::relay::KafkaConfig::ensure_topics(
        &process::kafka_config(settings),
        domain::AGGREGATE_TYPES,
    )
    .await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let replay = process::Replay {
        from,
        until_caught_up,
    };
    let part = process::Part {
        health: commands::health::PartHealth::detached(consumer.name()),
        rebuild: None,
    };
    process::run_projector(consumer, settings, pool, Some(replay), None, part, shutdown).await?;
    Ok(())
}

async fn import(
    settings: &Settings,
    pool: PgPool,
    source: &str,
    location: &str,
    employer: Uuid,
) -> anyhow::Result<()> {
    use commands::import;

    let kind = import::source_kind(source)?;
    let feed = import::fetch(&settings.imports.fetch_policy(), location).await?;
    let postings = import::parse(kind, &feed)?;
    settings.privacy.master_keys()?;
    let service = api::process::command_service(settings, pool);
    let actor = Actor::system(import::COMMAND_LINE_IMPORTER);
    let context = commands::CommandContext::for_request(actor, Uuid::now_v7().to_string(), None);
    let report = service
        .import_jobs(&context, employer, kind, postings)
        .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Runs `hirestream-bench` from beside this binary with `args`, and exits as it does.
fn bench(config: Option<PathBuf>, args: Vec<OsString>) -> anyhow::Result<()> {
    let binary = std::env::current_exe()
        .context("locating this binary")?
        .with_file_name("hirestream-bench");
    if !binary.exists() {
        bail!(
            "{} is not built (cargo build -p hirestream-bench)",
            binary.display()
        );
    }
    let mut command = std::process::Command::new(&binary);
    command.args(args);
    if let Some(config) = config {
        command.env(CONFIG_FILE_VARIABLE, config);
    }
    let status = command
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// Waits (bounded) for the ledger to catch up with the store, then compares them.
async fn reconcile(pool: &PgPool, wait: Duration) -> anyhow::Result<()> {
    use projections::ledger;

    let deadline = tokio::time::Instant::now() + wait;
    let mut pending = ledger::pending_events(pool).await?;
    while pending > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pending = ledger::pending_events(pool).await?;
    }
    let mismatches = ledger::reconcile(pool).await?;
    for mismatch in &mismatches {
        println!("wallet {}: {}", mismatch.wallet_id, mismatch.problem);
    }
    if pending > 0 {
        println!("{pending} wallet events are not in the ledger after {wait:?}");
    }
    if mismatches.is_empty() && pending == 0 {
        println!("ledger reconciled: every wallet matches the event store");
        Ok(())
    } else {
        bail!("the ledger does not match the event store")
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested; finishing work in flight");
    shutdown.cancel();
}
