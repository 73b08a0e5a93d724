//! Faults under load: `hirestream bench faults` (and the suite's fault test) runs `hirestream
//! up` as a child process against a broker of its own, drives ChargeCredits over HTTP, and in
//! each round kills the process or the broker with SIGKILL and starts it again. Then it
//! checks what an operator relies on: every acknowledged charge is in the store exactly once,
//! every read model catches up (and how long that takes after the restart), the ledger
//! reconciles with the store, no part of the process is stuck, and a rebuild from zero equals
//! the live ledger.
//!
//! Clients behave as a payment client should: a request that gets no answer is sent again
//! with the same `charge_id` until it is answered.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Actor, Role};
use projections::ledger::{self, LedgerProjector};
use projections::Projector;
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use api::auth::TokenKeys;
use api::process;
use api::settings::Settings;

use crate::broker::LocalBroker;
use crate::child::UpProcess;
use crate::credits::market;
use crate::pipeline::BenchError;
use crate::scratch::Scratch;

/// Pause between two sends of an unanswered request.
const RESEND_AFTER: Duration = Duration::from_millis(50);
/// How long the broker stays down in a broker round.
const BROKER_DOWN: Duration = Duration::from_secs(2);
/// How long the read models may take to drain once the load has stopped.
const DRAIN_BOUND: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct FaultBench {
    /// The `hirestream` binary run as `up`.
    pub binary: PathBuf,
    pub clients: usize,
    pub wallets: usize,
    /// Rounds alternate: the process is killed in the first, the broker in the second, …
    pub rounds: usize,
    /// The load of one round; the fault comes a third of the way in.
    pub round: Duration,
    /// How long after a restart every read model may take to apply what was committed
    /// before it.
    pub catch_up_bound: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Process,
    Broker,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fault::Process => "kill -9 of hirestream up",
            Fault::Broker => "kill -9 of the broker",
        })
    }
}

#[derive(Debug, Clone)]
pub struct RoundReport {
    pub fault: Fault,
    pub acknowledged: usize,
    /// From the restart until the restarted process or broker answered.
    pub up_in: Duration,
    /// From the restart until every read model applied what was committed before it;
    /// `None` when that took longer than the bound.
    pub caught_up_in: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct FaultReport {
    pub bench: FaultBench,
    pub rounds: Vec<RoundReport>,
    pub acknowledged: usize,
    /// Acknowledged charges missing from the store.
    pub lost: usize,
    /// Charges stored more than once.
    pub duplicated: usize,
    /// Answers other than 201 to a charge: server errors and refusals.
    pub refused: usize,
    /// From the end of the load until every read model applied everything.
    pub drained_in: Option<Duration>,
    /// Wallets whose ledger differs from the store.
    pub mismatches: usize,
    /// Parts `/readyz` does not report running at the end, with their state.
    pub parts_not_running: Vec<String>,
    pub rebuild_equals_live: bool,
}

impl FaultReport {
    /// The checks that failed; empty when the run held.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.acknowledged == 0 {
            problems.push("no charge was acknowledged".to_owned());
        }
        if self.lost > 0 {
            problems.push(format!("{} acknowledged charges lost", self.lost));
        }
        if self.duplicated > 0 {
            problems.push(format!("{} charges stored twice", self.duplicated));
        }
        if self.refused > 0 {
            problems.push(format!("{} charges refused", self.refused));
        }
        for round in &self.rounds {
            if round.caught_up_in.is_none() {
                problems.push(format!(
                    "after a {}, the read models took longer than {:?} to catch up",
                    round.fault, self.bench.catch_up_bound
                ));
            }
        }
        if self.drained_in.is_none() {
            problems.push(format!(
                "the read models did not drain within {DRAIN_BOUND:?}"
            ));
        }
        if self.mismatches > 0 {
            problems.push(format!(
                "{} wallets do not reconcile with the store",
                self.mismatches
            ));
        }
        if !self.parts_not_running.is_empty() {
            problems.push(format!(
                "parts not running: {}",
                self.parts_not_running.join(", ")
            ));
        }
        if !self.rebuild_equals_live {
            problems.push("a rebuild from zero differs from the live ledger".to_owned());
        }
        problems
    }
}

impl std::fmt::Display for FaultReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.bench;
        writeln!(
            f,
            "ChargeCredits over HTTP, {} clients, {} wallets, {} rounds of {:.0?}:",
            b.clients,
            b.wallets,
            self.rounds.len(),
            b.round
        )?;
        for (n, round) in self.rounds.iter().enumerate() {
            writeln!(
                f,
                "  round {}: {}: {} acknowledged; up again {:.1?} after the restart, read models caught up {}",
                n + 1,
                round.fault,
                round.acknowledged,
                round.up_in,
                round.caught_up_in.map_or_else(
                    || format!("not within {:?}", b.catch_up_bound),
                    |d| format!("{:.1?} after the restart", d)
                )
            )?;
        }
        writeln!(
            f,
            "  acknowledged {}, lost {}, duplicated {}, refused {}",
            self.acknowledged, self.lost, self.duplicated, self.refused
        )?;
        writeln!(
            f,
            "  read models drained {} after the load",
            self.drained_in.map_or_else(
                || format!("not within {DRAIN_BOUND:?}"),
                |d| format!("{d:.1?}")
            )
        )?;
        writeln!(
            f,
            "  ledger reconcile: {}; rebuild from zero equals the live ledger: {}",
            if self.mismatches == 0 {
                "clean".to_owned()
            } else {
                format!("{} wallets differ", self.mismatches)
            },
            if self.rebuild_equals_live {
                "yes"
            } else {
                "no"
            }
        )?;
        let problems = self.problems();
        if problems.is_empty() {
            write!(f, "  every check held")
        } else {
            write!(f, "  FAILED: {}", problems.join("; "))
        }
    }
}

pub async fn faults(settings: &Settings, bench: FaultBench) -> Result<FaultReport, BenchError> {
    let mut broker = LocalBroker::start().await?;
    let scratch = Scratch::create(settings, "faults").await?;
    let result = run(&scratch, &mut broker, bench).await;
    scratch.drop_database().await?;
    result
}

async fn run(
    scratch: &Scratch,
    broker: &mut LocalBroker,
    bench: FaultBench,
) -> Result<FaultReport, BenchError> {
    let mut settings = scratch.settings.clone();
    settings.kafka.brokers = broker.brokers.clone();
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
    let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
    let now = chrono::Utc::now().timestamp();
    let clients: Arc<[(Uuid, String)]> = wallets
        .iter()
        .map(|w| (*w, keys.mint(Actor::new(*w, Role::Candidate), now, 86_400)))
        .collect();

    let mut up = UpProcess::new(&settings, &bench.binary, bench.clients + 24)?;
    up.start();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    up.wait_ready(&http).await?;

    let mut rounds = Vec::new();
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..bench.rounds.max(1) {
        let fault = if n % 2 == 0 {
            Fault::Process
        } else {
            Fault::Broker
        };
        let load = Load {
            http: http.clone(),
            base: up.base.clone(),
            clients: clients.clone(),
        };
        let deadline = Instant::now() + bench.round;
        let running = tokio::spawn(load.run(bench.clients, deadline));
        tokio::time::sleep(bench.round / 3).await;
        let (restarted, through, up_in) = match fault {
            Fault::Process => {
                up.kill();
                let through = last_position(&pool).await?;
                let restarted = Instant::now();
                up.start();
                up.wait_ready(&http).await?;
                (restarted, through, restarted.elapsed())
            }
            Fault::Broker => {
                broker.kill();
                tokio::time::sleep(BROKER_DOWN).await;
                let through = last_position(&pool).await?;
                let restarted = Instant::now();
                broker.restart().await?;
                (restarted, through, restarted.elapsed())
            }
        };
        let caught_up_in = caught_up(&pool, through, restarted, bench.catch_up_bound).await?;
        let (acked, round_refused) = running.await?;
        rounds.push(RoundReport {
            fault,
            acknowledged: acked.len(),
            up_in,
            caught_up_in,
        });
        acknowledged.extend(acked);
        refused += round_refused;
    }

    let load_ended = Instant::now();
    let through = last_position(&pool).await?;
    let drained_in = caught_up(&pool, through, load_ended, DRAIN_BOUND).await?;
    let (lost, duplicated) = stored_once(&pool, &acknowledged).await?;
    let mismatches = ledger::reconcile(&pool).await?.len();
    let parts_not_running = up.parts_not_running(&http).await?;
    up.kill();

    let live = ledger::all_entries(&pool).await?;
    Projector::new(
        LedgerProjector,
        pool.clone(),
        process::projector_config(&settings),
    )
    .rebuild_from_store(|_| {})
    .await?;
    let rebuild_equals_live = ledger::all_entries(&pool).await? == live;
    pool.close().await;
    Ok(FaultReport {
        bench,
        rounds,
        acknowledged: acknowledged.len(),
        lost,
        duplicated,
        refused,
        drained_in,
        mismatches,
        parts_not_running,
        rebuild_equals_live,
    })
}

#[derive(Debug, Clone)]
struct Load {
    http: reqwest::Client,
    base: String,
    clients: Arc<[(Uuid, String)]>,
}

impl Load {
    /// `clients` concurrent clients until `deadline`; the acknowledged charge ids and how
    /// many charges were refused.
    async fn run(self, clients: usize, deadline: Instant) -> (Vec<Uuid>, usize) {
        let mut tasks = JoinSet::new();
        for client in 0..clients.max(1) {
            let load = self.clone();
            tasks.spawn(async move {
                let (mut acked, mut refused) = (Vec::new(), 0);
                let mut n = client;
                while Instant::now() < deadline {
                    let (wallet, token) = &load.clients[n % load.clients.len()];
                    n += clients;
                    let charge_id = Uuid::new_v4();
                    match load.charge_until_answered(*wallet, token, charge_id).await {
                        Some(true) => acked.push(charge_id),
                        Some(false) => refused += 1,
                        None => {}
                    }
                }
                (acked, refused)
            });
        }
        let (mut acked, mut refused) = (Vec::new(), 0);
        while let Some(Ok((a, r))) = tasks.join_next().await {
            acked.extend(a);
            refused += r;
        }
        (acked, refused)
    }

    /// Sends the charge, and again with the same id while it gets no answer (for at most a
    /// minute): whether it was acknowledged, `None` when it never got an answer.
    async fn charge_until_answered(
        &self,
        wallet: Uuid,
        token: &str,
        charge_id: Uuid,
    ) -> Option<bool> {
        let give_up = Instant::now() + Duration::from_secs(60);
        while Instant::now() < give_up {
            let sent = self
                .http
                .post(format!("{}/wallets/{wallet}/charges", self.base))
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "charge_id": charge_id,
                    "credits": 1,
                    "purpose": "fault benchmark",
                }))
                .send()
                .await;
            match sent {
                Ok(response) => return Some(response.status() == reqwest::StatusCode::CREATED),
                Err(_) => tokio::time::sleep(RESEND_AFTER).await,
            }
        }
        None
    }
}

async fn last_position(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(max(global_position), 0) FROM events")
        .fetch_one(pool)
        .await
}

/// Waits until every read model applied every event at or before `through`; the time since
/// `since` when they had, `None` past `bound`.
async fn caught_up(
    pool: &PgPool,
    through: i64,
    since: Instant,
    bound: Duration,
) -> Result<Option<Duration>, BenchError> {
    loop {
        if process::read_models_behind(pool, through).await?.is_empty() {
            return Ok(Some(since.elapsed()));
        }
        if since.elapsed() > bound {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Of the acknowledged charges: how many the store lacks, and how many charges it holds more
/// than once.
async fn stored_once(pool: &PgPool, acknowledged: &[Uuid]) -> Result<(usize, usize), BenchError> {
    let stored: Vec<(Option<Uuid>, i64)> = sqlx::query_as(
        "SELECT (payload->'CreditsCharged'->>'charge_id')::uuid, count(*) FROM events
          WHERE aggregate_type = 'wallet' AND event_type = 'CreditsCharged'
          GROUP BY 1",
    )
    .fetch_all(pool)
    .await?;
    let stored: HashMap<Uuid, i64> = stored
        .into_iter()
        .filter_map(|(id, count)| Some((id?, count)))
        .collect();
    let lost = acknowledged
        .iter()
        .filter(|id| !stored.contains_key(id))
        .count();
    let duplicated = stored.values().filter(|count| **count > 1).count();
    Ok((lost, duplicated))
}
