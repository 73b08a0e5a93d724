//! The spine end to end: `hirestream bench pipeline` drives ChargeCredits over HTTP through
//! the API, the relay, Kafka and the ledger projector in one process, and `hirestream bench
//! replay` times rebuilding the ledger from the store and from Kafka. Each runs in a scratch
//! database under a topic prefix of its own, beside a baseline measured in the same run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{Actor, Role};
use projections::ledger::LedgerProjector;
use projections::progress::Progress;
use projections::Projector;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use api::auth::TokenKeys;
use api::process::{self, Parts};
use api::settings::Settings;

use crate::credits::market;
use crate::report::Latency;
use crate::scratch::Scratch;

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct PipelineBench {
    pub clients: usize,
    pub wallets: usize,
    pub seconds: u64,
    /// Commands per second across all clients; flat out when `None`.
    pub rate: Option<f64>,
    pub idle_seconds: u64,
}

#[derive(Debug)]
pub struct PipelineReport {
    pub bench: PipelineBench,
    pub commands: usize,
    pub failed: usize,
    pub elapsed: Duration,
    pub command_latency: Latency,
    pub visible_latency: Latency,
    pub idle_visible_latency: Latency,
    pub relay_lag_at_end: i64,
    pub ledger_lag_at_end: i64,
    pub drained_in: Option<Duration>,
    pub process_cpu: f64,
    pub broker_cpu: Option<f64>,
    /// Share of one core used by this process and the broker with no traffic.
    pub idle_cpu: Option<f64>,
    pub baseline_per_second: f64,
}

impl std::fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = self.commands as f64 / self.elapsed.as_secs_f64();
        let b = &self.bench;
        writeln!(
            f,
            "ChargeCredits over HTTP, {} clients, {} wallets, {:.0} s{}:",
            b.clients,
            b.wallets,
            self.elapsed.as_secs_f64(),
            b.rate
                .map_or(" flat out".to_owned(), |r| format!(" at {r:.0}/s"))
        )?;
        writeln!(
            f,
            "  commands:            {} acknowledged, {} failed, {rate:.0}/s",
            self.commands, self.failed
        )?;
        writeln!(
            f,
            "  raw append baseline: {:.0} tx/s (one event per transaction, {} clients); ratio {:.2}x",
            self.baseline_per_second,
            b.clients,
            rate / self.baseline_per_second
        )?;
        writeln!(f, "  command latency:     {}", self.command_latency)?;
        writeln!(
            f,
            "  commit -> visible (ledger), under load: {}",
            self.visible_latency
        )?;
        writeln!(
            f,
            "  commit -> visible (ledger), idle:       {}",
            self.idle_visible_latency
        )?;
        writeln!(
            f,
            "  at the end of the load: relay {} events behind, ledger {} events behind; drained in {}",
            self.relay_lag_at_end,
            self.ledger_lag_at_end,
            self.drained_in
                .map_or("more than 60 s".to_owned(), |d| format!("{:.0?}", d))
        )?;
        writeln!(
            f,
            "  CPU during the load: hirestream {:.1} s, broker {}",
            self.process_cpu,
            self.broker_cpu
                .map_or("not found".to_owned(), |s| format!("{s:.1} s"))
        )?;
        write!(
            f,
            "  idle CPU over {} s (hirestream + broker): {}",
            b.idle_seconds,
            self.idle_cpu
                .map_or("broker not found".to_owned(), |c| format!(
                    "{:.1}% of one core",
                    c * 100.0
                ))
        )
    }
}

pub async fn pipeline(
    settings: &Settings,
    bench: PipelineBench,
) -> Result<PipelineReport, BenchError> {
    let baseline_per_second = raw_append(settings, bench.clients, Duration::from_secs(10)).await?;
    let scratch = Scratch::create(settings, "pipeline").await?;
    let result = run_pipeline(&scratch, bench, baseline_per_second).await;
    scratch.drop_database().await?;
    result
}

async fn run_pipeline(
    scratch: &Scratch,
    bench: PipelineBench,
    baseline_per_second: f64,
) -> Result<PipelineReport, BenchError> {
    let mut settings = scratch.settings.clone();
    settings.database.max_connections = (bench.clients as u32 + 24).max(32);
    settings.http.addr = "127.0.0.1:0".into();
    let pool = process::connect(&settings).await?;
    let service = commands::CommandService::new(
        pool.clone(),
        commands::service::DEFAULT_MAX_ATTEMPTS,
        commands::privacy::MasterKeys::development(),
    );
    let wallets = market(
        &service,
        bench.wallets.max(1),
        domain::wallet::MAX_CREDITS_PER_COMMAND,
    )
    .await?;

    let shutdown = CancellationToken::new();
    let started = process::start(
        &settings,
        pool.clone(),
        Parts::everything(),
        shutdown.clone(),
    )
    .await?;
    let addr = started.addr.ok_or("the API did not start")?;
    let progress = Progress::listen(pool.clone());
    drained(&pool, Duration::from_secs(120)).await;

    let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
    let now = chrono::Utc::now().timestamp();
    let clients: Vec<(Uuid, String)> = wallets
        .iter()
        .map(|w| (*w, keys.mint(Actor::new(*w, Role::Candidate), now, 3_600)))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(bench.clients)
        .build()?;

    let broker = broker_pid(&settings.kafka.brokers);
    let cpu_before = (
        cpu_seconds(std::process::id()),
        broker.and_then(cpu_seconds),
    );
    let load = Load {
        http: http.clone(),
        base: format!("http://{addr}"),
        clients: Arc::new(clients),
        latest: Arc::new(Mutex::new(None)),
    };
    let deadline = Instant::now() + Duration::from_secs(bench.seconds);
    let sampler = spawn_sampler(
        load.latest.clone(),
        progress.clone(),
        pool.clone(),
        deadline,
    );
    let load_started = Instant::now();
    let (latencies, failed) = load.run(bench, deadline).await;
    let elapsed = load_started.elapsed();
    let cpu_after = (
        cpu_seconds(std::process::id()),
        broker.and_then(cpu_seconds),
    );
    let relay_lag_at_end = relay_lag(&pool).await?;
    let ledger_lag_at_end = ledger_lag(&pool).await?;
    let drain_started = Instant::now();
    let drained_in = drained(&pool, Duration::from_secs(60))
        .await
        .then(|| drain_started.elapsed());
    let visible = sampler.await?;

    // Idle: one command at a time, then nothing at all.
    let mut idle_visible = Vec::new();
    for n in 0..20 {
        let (wallet, token) = &load.clients[n % load.clients.len()];
        if let Ok(Some(version)) = load.charge(*wallet, token).await {
            let acked = Instant::now();
            let reached = progress
                .wait_for_version::<LedgerProjector>(
                    &pool,
                    "wallet",
                    &wallet.to_string(),
                    version,
                    Duration::from_secs(10),
                )
                .await?;
            if reached {
                idle_visible.push(acked.elapsed());
            }
        }
    }
    let idle_cpu = match broker {
        Some(broker) => {
            tokio::time::sleep(Duration::from_secs(2)).await; // let the last batch settle
            let before = cpu_seconds(std::process::id()).zip(cpu_seconds(broker));
            let window = Duration::from_secs(bench.idle_seconds.max(1));
            tokio::time::sleep(window).await;
            let after = cpu_seconds(std::process::id()).zip(cpu_seconds(broker));
            before
                .zip(after)
                .map(|(b, a)| ((a.0 - b.0) + (a.1 - b.1)) / window.as_secs_f64())
        }
        None => None,
    };

    shutdown.cancel();
    started.wait().await;
    pool.close().await;
    let delta = |before: Option<f64>, after: Option<f64>| before.zip(after).map(|(b, a)| a - b);
    Ok(PipelineReport {
        bench,
        commands: latencies.len(),
        failed,
        elapsed,
        command_latency: Latency::of(latencies),
        visible_latency: Latency::of(visible),
        idle_visible_latency: Latency::of(idle_visible),
        relay_lag_at_end,
        ledger_lag_at_end,
        drained_in,
        process_cpu: delta(cpu_before.0, cpu_after.0).unwrap_or_default(),
        broker_cpu: delta(cpu_before.1, cpu_after.1),
        idle_cpu,
        baseline_per_second,
    })
}

/// The acknowledged charge a sampler looks at next: wallet, version, when acknowledged.
type Acked = Arc<Mutex<Option<(Uuid, i64, Instant)>>>;

#[derive(Debug, Clone)]
struct Load {
    http: reqwest::Client,
    base: String,
    clients: Arc<Vec<(Uuid, String)>>,
    latest: Acked,
}

impl Load {
    /// Sends one charge; its new wallet version when acknowledged.
    async fn charge(&self, wallet: Uuid, token: &str) -> Result<Option<i64>, reqwest::Error> {
        let response = self
            .http
            .post(format!("{}/wallets/{wallet}/charges", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "charge_id": Uuid::new_v4(),
                "credits": 1,
                "purpose": "benchmark",
            }))
            .send()
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let body: serde_json::Value = response.json().await?;
        Ok(body["version"].as_i64())
    }

    /// Runs the clients until `deadline`; the latency of every acknowledged command and the
    /// number that failed.
    async fn run(&self, bench: PipelineBench, deadline: Instant) -> (Vec<Duration>, usize) {
        let clients = bench.clients.max(1);
        let interval = bench
            .rate
            .map(|rate| Duration::from_secs_f64(clients as f64 / rate.max(0.1)));
        let mut tasks = JoinSet::new();
        for client in 0..clients {
            let load = self.clone();
            tasks.spawn(async move {
                let (mut latencies, mut failed) = (Vec::new(), 0);
                let mut next = tokio::time::Instant::now();
                let mut n = client;
                while Instant::now() < deadline {
                    if let Some(interval) = interval {
                        tokio::time::sleep_until(next).await;
                        next += interval;
                    }
                    let (wallet, token) = &load.clients[n % load.clients.len()];
                    n += clients;
                    let sent = Instant::now();
                    match load.charge(*wallet, token).await {
                        Ok(Some(version)) => {
                            let acked = Instant::now();
                            latencies.push(acked - sent);
                            *load.latest.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some((*wallet, version, acked));
                        }
                        _ => failed += 1,
                    }
                }
                (latencies, failed)
            });
        }
        let (mut all, mut failed) = (Vec::new(), 0);
        while let Some(Ok((latencies, f))) = tasks.join_next().await {
            all.extend(latencies);
            failed += f;
        }
        (all, failed)
    }
}

/// Every 20 ms until `deadline`, takes the latest acknowledged charge and measures how long
/// until the ledger shows it.
fn spawn_sampler(
    latest: Acked,
    progress: Progress,
    pool: PgPool,
    deadline: Instant,
) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let mut waits = JoinSet::new();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let Some((wallet, version, acked)) =
                latest.lock().unwrap_or_else(|p| p.into_inner()).take()
            else {
                continue;
            };
            let (progress, pool) = (progress.clone(), pool.clone());
            waits.spawn(async move {
                let reached = progress
                    .wait_for_version::<LedgerProjector>(
                        &pool,
                        "wallet",
                        &wallet.to_string(),
                        version,
                        Duration::from_secs(60),
                    )
                    .await;
                matches!(reached, Ok(true)).then(|| acked.elapsed())
            });
        }
        let mut visible = Vec::new();
        while let Some(Ok(Some(latency))) = waits.join_next().await {
            visible.push(latency);
        }
        visible
    })
}

/// Events committed and not yet published, in the relay's order.
async fn relay_lag(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM events e, relay_checkpoint c
          WHERE (e.tx_id, e.global_position) > (c.tx_id, c.global_position)",
    )
    .fetch_one(pool)
    .await
}

/// Wallet events the ledger has not applied yet.
async fn ledger_lag(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_type = 'wallet')
              - COALESCE((SELECT events_applied FROM projection_checkpoint WHERE projection = 'ledger'), 0)",
    )
    .fetch_one(pool)
    .await
}

/// Waits until the relay and the ledger have nothing left; whether they got there in time.
async fn drained(pool: &PgPool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let relay = relay_lag(pool).await.unwrap_or(1);
        let ledger = ledger_lag(pool).await.unwrap_or(1);
        if relay == 0 && ledger == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// The append rate PostgreSQL itself allows: `clients` connections each inserting one event
/// per transaction into an events table of the same shape, in a scratch database.
async fn raw_append(
    settings: &Settings,
    clients: usize,
    duration: Duration,
) -> Result<f64, BenchError> {
    let scratch = Scratch::create(settings, "append").await?;
    let result = async {
        let pool = commands::db::connect(scratch.settings.database.url.expose(), clients as u32 + 2).await?;
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..clients.max(1) {
            let pool = pool.clone();
            tasks.spawn(async move {
                let id = Uuid::new_v4().to_string();
                let mut sequence = 0_i64;
                while Instant::now() < deadline {
                    sequence += 1;
                    sqlx::query(
                        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                             event_version, payload, metadata)
                         VALUES ('wallet', $1, $2, 'CreditsCharged', '1.0', $3, $4)",
                    )
                    .bind(&id)
                    .bind(sequence)
                    .bind(serde_json::json!({"CreditsCharged": {"credits": 1, "purpose": "benchmark"}}))
                    .bind(serde_json::json!({"command": "ChargeCredits"}))
                    .execute(&pool)
                    .await?;
                }
                Ok::<_, sqlx::Error>(sequence)
            });
        }
        let mut appended = 0;
        while let Some(done) = tasks.join_next().await {
            appended += done??;
        }
        let rate = appended as f64 / started.elapsed().as_secs_f64();
        pool.close().await;
        Ok::<_, BenchError>(rate)
    }
    .await;
    scratch.drop_database().await?;
    result
}

#[derive(Debug, Clone, Copy)]
pub struct ReplayBench {
    pub events: usize,
    pub wallets: usize,
}

#[derive(Debug)]
pub struct ReplayReport {
    pub events: usize,
    pub from_store: Duration,
    pub from_kafka: Duration,
    /// Reading the same events from the store without applying them.
    pub read_only: Duration,
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |d: Duration| self.events as f64 / d.as_secs_f64();
        writeln!(
            f,
            "rebuild of the ledger from {} wallet events:",
            self.events
        )?;
        writeln!(
            f,
            "  from the event store: {:.2?}, {:.0} events/s",
            self.from_store,
            rate(self.from_store)
        )?;
        writeln!(
            f,
            "  from Kafka:           {:.2?}, {:.0} events/s",
            self.from_kafka,
            rate(self.from_kafka)
        )?;
        write!(
            f,
            "  baseline, reading the store without applying: {:.0} events/s; store rebuild at {:.2}x of it",
            rate(self.read_only),
            self.read_only.as_secs_f64() / self.from_store.as_secs_f64()
        )
    }
}

pub async fn replay(settings: &Settings, bench: ReplayBench) -> Result<ReplayReport, BenchError> {
    let scratch = Scratch::create(settings, "replay").await?;
    let result = run_replay(&scratch, bench).await;
    scratch.drop_database().await?;
    result
}

async fn run_replay(scratch: &Scratch, bench: ReplayBench) -> Result<ReplayReport, BenchError> {
    let settings = &scratch.settings;
    let pool = process::connect(settings).await?;
    let service = commands::CommandService::new(
        pool.clone(),
        commands::service::DEFAULT_MAX_ATTEMPTS,
        commands::privacy::MasterKeys::development(),
    );
    let credits = (bench.events as i64).min(domain::wallet::MAX_CREDITS_PER_COMMAND);
    let wallets = market(&service, bench.wallets.max(1), credits).await?;
    // Charges written straight into the store, as postgres-es writes them: quicker to set up
    // than as many commands, and the same to a rebuild.
    let per_wallet = (bench.events / wallets.len()).max(1) as i64;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT 'wallet', w.id::text, 1 + g, 'CreditsCharged', $3,
                jsonb_build_object('CreditsCharged', jsonb_build_object(
                    'wallet_id', w.id, 'charge_id', gen_random_uuid(), 'credits', 1,
                    'purpose', 'benchmark', 'balance_after', $4 - g)),
                '{\"command\": \"ChargeCredits\"}'::jsonb
           FROM unnest($1::uuid[]) AS w(id), generate_series(1, $2) AS g
          ORDER BY g, w.id",
    )
    .bind(&wallets)
    .bind(per_wallet)
    .bind(domain::FIRST_EVENT_VERSION)
    .bind(bench.events as i64)
    .execute(&pool)
    .await?;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'wallet'")
            .fetch_one(&pool)
            .await?;

    // Publish everything, so that Kafka holds the same history.
    let shutdown = CancellationToken::new();
    let relay = process::start(
        settings,
        pool.clone(),
        Parts {
            relay: true,
            ..Parts::default()
        },
        shutdown.clone(),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while relay_lag(&pool).await? > 0 {
        if Instant::now() > deadline {
            return Err("the relay did not publish the history within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    relay.wait().await;

    let read_started = Instant::now();
    let mut cursor = (0_i64, 0_i64);
    loop {
        let rows: Vec<(i64, i64, serde_json::Value)> = sqlx::query_as(
            "SELECT tx_id::text::bigint, global_position, payload FROM events
              WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2)
              ORDER BY tx_id, global_position LIMIT $3",
        )
        .bind(cursor.0)
        .bind(cursor.1)
        .bind(projections::rebuild::REBUILD_BATCH)
        .fetch_all(&pool)
        .await?;
        let Some(last) = rows.last() else { break };
        cursor = (last.0, last.1);
    }
    let read_only = read_started.elapsed();

    let projector = Projector::new(
        LedgerProjector,
        pool.clone(),
        process::projector_config(settings),
    );
    let from_kafka = projector
        .rebuild_from_kafka(&CancellationToken::new(), |_| {})
        .await?
        .elapsed;
    let from_store = projector.rebuild_from_store(|_| {}).await?.elapsed;
    pool.close().await;
    Ok(ReplayReport {
        events: events as usize,
        from_store,
        from_kafka,
        read_only,
    })
}

/// CPU seconds (user and system) a process has used, from `/proc`; Linux's clock ticks are
/// 100 a second.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The local Kafka broker (`scripts/kafka broker`) that listens on `brokers`, if it runs on
/// this machine.
fn broker_pid(brokers: &str) -> Option<u32> {
    let listener = format!("PLAINTEXT://{}", brokers.split(',').next()?);
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read_to_string(entry.path().join("cmdline")).ok()?;
            let args: Vec<&str> = cmdline.split('\0').collect();
            if !args.contains(&"kafka.Kafka") {
                return None;
            }
            let config =
                std::fs::read_to_string(args.iter().rev().find(|a| !a.is_empty())?).ok()?;
            config
                .lines()
                .any(|line| line.starts_with("listeners=") && line.contains(&listener))
                .then_some(pid)
        })
}
