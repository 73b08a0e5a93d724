//! `hirestream-bench`: the benchmarks, each in a scratch world of its own. `hirestream bench
//! …` runs this binary with the same arguments.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use api::settings::{Settings, CONFIG_FILE_VARIABLE};
use clap::{Parser, Subcommand};
use hirestream_bench::{
    audit, auth, credits, embeddings, faults, import, matching, notifications, pipeline, privacy,
};

#[derive(Debug, Parser)]
#[command(
    name = "hirestream-bench",
    version,
    about = "Measure Hirestream, in a database of the benchmark's own"
)]
struct Cli {
    /// A TOML settings file; `HIRESTREAM_*` variables override it.
    #[arg(long, global = true, env = CONFIG_FILE_VARIABLE)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    what: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
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
        /// The `hirestream` binary to run; by default the one beside this binary.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Rebuilding the ledger from the event store and from Kafka.
    Replay {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        #[arg(long, default_value_t = 100)]
        wallets: usize,
    },
    /// The verifiable history: ChargeCredits with and without the hash chain, and `audit
    /// verify` over a store of `events` beside a plain read of the same rows.
    Audit {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        #[arg(long, default_value_t = 2_000)]
        charges: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Personal data: the commands that write personal fields, sealed and in clear, and the
    /// profiles rebuilt from each store.
    Privacy {
        #[arg(long, default_value_t = 2_000)]
        candidates: usize,
        #[arg(long, default_value_t = 4)]
        updates: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Live notifications: `hirestream up` as a child process holding one stream per
    /// candidate; the latency of a match's notification idle and beside a ChargeCredits load,
    /// and the memory one stream costs.
    Notifications {
        #[arg(long, default_value_t = 1_000)]
        connections: usize,
        #[arg(long, default_value_t = 200)]
        matches: usize,
        #[arg(long, default_value_t = 16)]
        load_clients: usize,
        /// The `hirestream` binary to run; by default the one beside this binary.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Signing in: a password sign-in over HTTP beside a request that checks nothing, and an
    /// access token's verification beside reading it unchecked.
    Auth {
        #[arg(long, default_value_t = 200)]
        sign_ins: usize,
        #[arg(long, default_value_t = 20_000)]
        verifications: usize,
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
    let telemetry = api::telemetry::init(&settings.log, &settings.telemetry);
    let result = cli.what.run(&settings).await;
    telemetry.shutdown();
    result
}

impl Bench {
    async fn run(self, settings: &Settings) -> anyhow::Result<()> {
        match self {
            Bench::Credits {
                charges,
                wallets,
                concurrency,
            } => {
                let bench = credits::CreditsBench {
                    charges,
                    wallets,
                    concurrency,
                };
                let report = credits::credits(settings, bench).await?;
                println!("ChargeCredits, one wallet:         {}", report.one_wallet);
                println!("ChargeCredits, {wallets} wallets: {}", report.many_wallets);
            }
            Bench::Import { postings } => {
                let report = import::import(settings, import::ImportBench { postings }).await?;
                println!("import: {report}");
            }
            Bench::Pipeline {
                clients,
                wallets,
                seconds,
                rate,
                idle_seconds,
            } => {
                let bench = pipeline::PipelineBench {
                    clients,
                    wallets,
                    seconds,
                    rate,
                    idle_seconds,
                };
                let report = pipeline::pipeline(settings, bench).await;
                println!("{}", report.map_err(anyhow::Error::from_boxed)?);
            }
            Bench::Faults {
                minutes,
                clients,
                wallets,
                binary,
            } => {
                const ROUND: Duration = Duration::from_secs(30);
                let binary = match binary {
                    Some(binary) => binary,
                    None => std::env::current_exe()
                        .context("locating this binary")?
                        .with_file_name("hirestream"),
                };
                let bench = faults::FaultBench {
                    binary,
                    clients,
                    wallets,
                    rounds: (minutes * 60 / ROUND.as_secs()).max(2) as usize,
                    round: ROUND,
                    catch_up_bound: Duration::from_secs(30),
                };
                let report = faults::faults(settings, bench)
                    .await
                    .map_err(anyhow::Error::from_boxed)?;
                println!("{report}");
                if !report.problems().is_empty() {
                    bail!("the fault run failed its checks");
                }
            }
            Bench::Replay { events, wallets } => {
                let bench = pipeline::ReplayBench { events, wallets };
                let report = pipeline::replay(settings, bench).await;
                println!("{}", report.map_err(anyhow::Error::from_boxed)?);
            }
            Bench::Notifications {
                connections,
                matches,
                load_clients,
                binary,
            } => {
                let binary = match binary {
                    Some(binary) => binary,
                    None => std::env::current_exe()
                        .context("locating this binary")?
                        .with_file_name("hirestream"),
                };
                let bench = notifications::NotificationBench {
                    binary,
                    connections,
                    matches,
                    load_clients,
                };
                let report = notifications::notifications(settings, bench).await;
                println!("{}", report.map_err(anyhow::Error::from_boxed)?);
            }
            Bench::Auth {
                sign_ins,
                verifications,
            } => {
                let bench = auth::AuthBench {
                    sign_ins,
                    verifications,
                };
                let report = auth::auth(settings, bench).await;
                println!("{}", report.map_err(anyhow::Error::from_boxed)?);
            }
            Bench::Privacy {
                candidates,
                updates,
                concurrency,
            } => {
                let bench = privacy::PrivacyBench {
                    candidates,
                    updates,
                    concurrency,
                };
                let report = privacy::privacy(settings, bench).await;
                println!("{}", report.map_err(anyhow::Error::from_boxed)?);
            }
            Bench::Audit {
                events,
                charges,
                concurrency,
            } => {
                let bench = audit::AuditBench {
                    events,
                    charges,
                    concurrency,
                };
                println!("{}", audit::audit(settings, bench).await?);
            }
            Bench::Embeddings { texts } => {
                println!(
                    "embeddings: {}",
                    embeddings::embeddings(settings, texts).await?
                );
            }
            Bench::Matching {
                jobs,
                candidates,
                samples,
                updates,
            } => {
                let bench = matching::MatchingBench {
                    jobs,
                    candidates,
                    samples: samples.max(1),
                    updates: updates.max(1),
                };
                println!("{}", matching::matching(settings, bench).await?);
            }
        }
        Ok(())
    }
}
