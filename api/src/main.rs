//! `hirestream`: the one binary. `hirestream up` runs everything in one process; the other
//! subcommands run one part each, for deployments that scale them separately.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use api::process::{self, Parts};
use api::settings::{Settings, CONFIG_FILE_VARIABLE};
use api::{auth::TokenKeys, telemetry};
use clap::{Parser, Subcommand};
use domain::{Actor, Role};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "hirestream",
    version,
    about = "Event-sourced backend of the Hirestream marketplace"
)]
struct Cli {
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
    /// Run one projector.
    Project {
        /// The projection: matches.
        name: String,
        /// Delete the read model and rebuild it from zero first.
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
    /// Audit the credit ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Measure throughput, in a database of the benchmark's own.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Print a bearer token for local use.
    Token {
        /// The caller's id: a candidate's or an employer's id, any id for an admin.
        #[arg(long)]
        subject: Uuid,
        /// candidate, employer or admin.
        #[arg(long)]
        role: Role,
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

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// ChargeCredits throughput on one wallet, then across many.
    Credits {
        #[arg(long, default_value_t = 2_000)]
        charges: usize,
        #[arg(long, default_value_t = 200)]
        wallets: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Jobs imported per second, from a synthetic Greenhouse feed until they are projected.
    Import {
        #[arg(long, default_value_t = 2_000)]
        postings: usize,
    },
    /// The whole spine: ChargeCredits over HTTP through the API, relay, Kafka and the ledger
    /// projector in this process, beside a raw PostgreSQL append baseline; then idle CPU.
    Pipeline {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        wallets: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Commands per second across all clients; flat out when absent.
        #[arg(long)]
        rate: Option<f64>,
        /// The idle window whose CPU use is reported.
        #[arg(long, default_value_t = 30)]
        idle_seconds: u64,
    },
    /// ChargeCredits over HTTP against `hirestream up` run as a child process, with the
    /// process and the broker (one of the run's own) killed with SIGKILL in turn; then
    /// acknowledged, lost and duplicated charges, catch-up times, reconcile and a rebuild.
    Faults {
        /// How long to run: rounds of 30 s, alternating a kill of the process and of the
        /// broker.
        #[arg(long, default_value_t = 2)]
        minutes: u64,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        wallets: usize,
    },
    /// Rebuilding the ledger from the event store and from Kafka.
    Replay {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        #[arg(long, default_value_t = 100)]
        wallets: usize,
    },
    /// Texts embedded per second by the configured embedding model.
    Embeddings {
        #[arg(long, default_value_t = 1_000)]
        texts: usize,
    },
    /// Matching on a synthetic market: indexing, feed reads, semantic search, update costs.
    Matching {
        #[arg(long, default_value_t = 20_000)]
        jobs: usize,
        #[arg(long, default_value_t = 50_000)]
        candidates: usize,
        /// Feed reads and searches timed.
        #[arg(long, default_value_t = 1_000)]
        samples: usize,
        /// Job and profile updates timed.
        #[arg(long, default_value_t = 50)]
        updates: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading settings")?;
    if let Command::Token {
        subject,
        role,
        ttl_secs,
    } = cli.command
    {
        let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
        let ttl = ttl_secs.unwrap_or(settings.auth.token_ttl_secs);
        println!(
            "{}",
            keys.mint(
                Actor::new(subject, role),
                chrono::Utc::now().timestamp(),
                ttl
            )
        );
        return Ok(());
    }

    telemetry::init(&settings.log);
    if settings.dev_mode {
        tracing::warn!("development mode: the public development secrets are accepted");
    } else if matches!(cli.command, Command::Up | Command::Serve) {
        // Before anything else: a server anyone can forge tokens and payments for must not run.
        settings.refuse_public_secrets()?;
    }
    let pool = process::connect(&settings)
        .await
        .context("connecting to PostgreSQL")?;
    let shutdown = CancellationToken::new();
    // Long-running parts stop gracefully on a signal; one-shot commands just end.
    if matches!(
        cli.command,
        Command::Up | Command::Serve | Command::Relay | Command::Project { .. }
    ) {
        tokio::spawn(stop_on_signal(shutdown.clone()));
    }

    let parts = match cli.command {
        Command::Import {
            source,
            location,
            employer,
        } => {
            use commands::import;
            let kind = import::source_kind(&source)?;
            let postings = import::parse(
                kind,
                &import::fetch(&settings.imports.fetch_policy(), &location).await?,
            )?;
            let service =
                commands::CommandService::new(pool, commands::service::DEFAULT_MAX_ATTEMPTS);
            let actor = Actor::system(import::COMMAND_LINE_IMPORTER);
            let context =
                commands::CommandContext::for_request(actor, Uuid::now_v7().to_string(), None);
            let report = service
                .import_jobs(&context, employer, kind, postings)
                .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        Command::Ledger {
            command: LedgerCommand::Reconcile { wait_secs },
        } => return reconcile(&pool, Duration::from_secs(wait_secs)).await,
        Command::Bench {
            what:
                BenchCommand::Credits {
                    charges,
                    wallets,
                    concurrency,
                },
        } => {
            let bench = api::bench::CreditsBench {
                charges,
                wallets,
                concurrency,
            };
            let report = api::bench::credits(&settings, bench).await?;
            println!("ChargeCredits, one wallet:         {}", report.one_wallet);
            println!("ChargeCredits, {wallets} wallets: {}", report.many_wallets);
            return Ok(());
        }
        Command::Bench {
            what:
                BenchCommand::Pipeline {
                    clients,
                    wallets,
                    seconds,
                    rate,
                    idle_seconds,
                },
        } => {
            let bench = api::bench::pipeline::PipelineBench {
                clients,
                wallets,
                seconds,
                rate,
                idle_seconds,
            };
            let report = api::bench::pipeline::pipeline(&settings, bench)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{report}");
            return Ok(());
        }
        Command::Bench {
            what: BenchCommand::Replay { events, wallets },
        } => {
            let bench = api::bench::pipeline::ReplayBench { events, wallets };
            let report = api::bench::pipeline::replay(&settings, bench)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{report}");
            return Ok(());
        }
        Command::Bench {
            what:
                BenchCommand::Faults {
                    minutes,
                    clients,
                    wallets,
                },
        } => {
            const ROUND: Duration = Duration::from_secs(30);
            let bench = api::bench::faults::FaultBench {
                binary: std::env::current_exe().context("locating this binary")?,
                clients,
                wallets,
                rounds: (minutes * 60 / ROUND.as_secs()).max(2) as usize,
                round: ROUND,
                catch_up_bound: Duration::from_secs(30),
            };
            let report = api::bench::faults::faults(&settings, bench)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{report}");
            if !report.problems().is_empty() {
                bail!("the fault run failed its checks");
            }
            return Ok(());
        }
        Command::Bench {
            what: BenchCommand::Embeddings { texts },
        } => {
            println!(
                "embeddings: {}",
                api::bench::embeddings(&settings, texts).await?
            );
            return Ok(());
        }
        Command::Bench {
            what:
                BenchCommand::Matching {
                    jobs,
                    candidates,
                    samples,
                    updates,
                },
        } => {
            let bench = api::bench::matching::MatchingBench {
                jobs,
                candidates,
                samples: samples.max(1),
                updates: updates.max(1),
            };
            println!(
                "{}",
                api::bench::matching::matching(&settings, bench).await?
            );
            return Ok(());
        }
        Command::Bench {
            what: BenchCommand::Import { postings },
        } => {
            let report =
                api::bench::import(&settings, api::bench::ImportBench { postings }).await?;
            println!("import: {report}");
            return Ok(());
        }
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
            replay,
            from,
            until_caught_up,
        } => {
            if !process::PROJECTIONS.contains(&name.as_str()) {
                bail!(
                    "unknown projection `{name}`; known: {}",
                    process::PROJECTIONS.join(", ")
                );
            }
            if replay {
                commands::relay::KafkaConfig::ensure_topics(
                    &process::kafka_config(&settings),
                    domain::AGGREGATE_TYPES,
                )
                .await?;
                let replay = process::Replay {
                    from,
                    until_caught_up,
                };
                return Ok(process::run_projector(
                    &name,
                    &settings,
                    pool,
                    Some(replay),
                    None,
                    commands::health::PartHealth::detached(name.clone()),
                    shutdown,
                )
                .await?);
            }
            Parts {
                projectors: vec![name],
                ..Parts::default()
            }
        }
        Command::Token { .. } => unreachable!("handled above"),
    };
    let started = process::start(&settings, pool, parts, shutdown.clone()).await?;
    // A part that failed makes the process exit non-zero, so a supervisor tells a crash from
    // a clean stop.
    started.outcome().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits (bounded) for the ledger to catch up with the store, then compares them.
async fn reconcile(pool: &sqlx::PgPool, wait: Duration) -> anyhow::Result<()> {
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
