//! `hirestream`: the one binary. `hirestream up` runs everything in one process; the other
//! subcommands run one part each, for deployments that scale them separately.

use std::path::PathBuf;

use anyhow::{bail, Context};
use api::process::{self, Parts};
use api::settings::{Settings, CONFIG_FILE_VARIABLE, DEVELOPMENT_JWT_SECRET};
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
        /// Delete the read model and rebuild it from the start of the topics first.
        #[arg(long)]
        replay: bool,
    },
    /// Apply the database migrations.
    Migrate,
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
    if settings.auth.jwt_secret.expose() == DEVELOPMENT_JWT_SECRET {
        tracing::warn!(
            "using the development JWT secret; set HIRESTREAM_AUTH__JWT_SECRET in production"
        );
    }
    let pool = process::connect(&settings)
        .await
        .context("connecting to PostgreSQL")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));

    let parts = match cli.command {
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
        Command::Project { name, replay } => {
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
                return Ok(process::run_projector(&name, &settings, pool, true, shutdown).await?);
            }
            Parts {
                projectors: vec![name],
                ..Parts::default()
            }
        }
        Command::Token { .. } => unreachable!("handled above"),
    };
    let started = process::start(&settings, pool, parts, shutdown.clone()).await?;
    started.wait().await;
    tracing::info!("stopped");
    Ok(())
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
