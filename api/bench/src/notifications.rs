//! Live notifications: `hirestream up` as a child process holds one Server-Sent Events stream
//! per candidate; candidates and an employer then match, one pair at a time, and each match's
//! notification is timed from the notifications projector's transaction (its `now()` in
//! `projection_applied`: the transaction's start, so an upper bound of the time from its
//! commit) and from the answer to the employer's second swipe, to its arrival at the
//! candidate's stream; idle, then beside a ChargeCredits load. The process's resident memory
//! before and after the streams opened gives the cost of one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::auth::TokenKeys;
use api::settings::Settings;
use chrono::{DateTime, Utc};
use domain::{Actor, Role};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::child::UpProcess;
use crate::pipeline::BenchError;
use crate::report::Latency;
use crate::scratch::Scratch;

#[derive(Debug, Clone)]
pub struct NotificationBench {
    pub binary: PathBuf,
    /// Candidates, each holding one stream.
    pub connections: usize,
    /// Matches timed idle, and again under load.
    pub matches: usize,
    /// Concurrent ChargeCredits clients of the load.
    pub load_clients: usize,
}

#[derive(Debug)]
pub struct NotificationReport {
    pub connections: usize,
    pub bytes_per_connection: f64,
    pub idle_commit: Latency,
    pub idle_swipe: Latency,
    pub loaded_commit: Latency,
    pub loaded_swipe: Latency,
    /// The second swipe's own answer time, idle: the baseline.
    pub swipe_answer: Latency,
    pub charges_during_load: usize,
}

impl std::fmt::Display for NotificationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} streams held: {:.1} KiB of resident memory each",
            self.connections,
            self.bytes_per_connection / 1024.0
        )?;
        writeln!(
            f,
            "idle, projector commit -> notification at the client: {}",
            self.idle_commit
        )?;
        writeln!(
            f,
            "idle, second swipe answered -> notification:         {}",
            self.idle_swipe
        )?;
        writeln!(
            f,
            "idle, the second swipe's own answer (baseline):      {}",
            self.swipe_answer
        )?;
        writeln!(
            f,
            "under load ({} charges meanwhile), commit -> notification: {}",
            self.charges_during_load, self.loaded_commit
        )?;
        write!(
            f,
            "under load, second swipe answered -> notification:   {}",
            self.loaded_swipe
        )
    }
}

/// Matches made before the timed ones.
const WARM_UP: usize = 5;

/// When each candidate's notification arrived.
type Arrivals = Arc<Mutex<HashMap<Uuid, (Instant, DateTime<Utc>)>>>;

pub async fn notifications(
    settings: &Settings,
    bench: NotificationBench,
) -> Result<NotificationReport, BenchError> {
    let needed = 2 * bench.matches + WARM_UP;
    if bench.connections < needed {
        return Err(format!(
            "{} matches idle and as many under load take at least {needed} connections",
            bench.matches
        )
        .into());
    }
    let scratch = Scratch::create(settings, "notify").await?;
    let result = run(&scratch, &bench).await;
    scratch.drop_database().await?;
    result
}

async fn run(
    scratch: &Scratch,
    bench: &NotificationBench,
) -> Result<NotificationReport, BenchError> {
    let settings = &scratch.settings;
    let pool = commands::db::connect(settings.database.url.expose(), 4).await?;
    let mut up = UpProcess::new(settings, &bench.binary, bench.load_clients + 24)?;
    up.start();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(bench.load_clients + 8)
        .build()?;
    up.wait_ready(&http).await?;
    let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
    let now = Utc::now().timestamp();
    let token = |id: Uuid, role: Role| keys.mint(Actor::new(id, role), now, 3600);
    let api = Api {
        http: http.clone(),
        base: up.base.clone(),
    };

    let employer = Uuid::new_v4();
    let employer_token = token(employer, Role::Employer);
    api.post(
        &employer_token,
        "/employers",
        json!({"name": "Bench Employer"}),
    )
    .await?;
    let job = api
        .post(
            &employer_token,
            "/jobs",
            json!({"title": "Engineer", "description": "Build it."}),
        )
        .await?["id"]
        .as_str()
        .ok_or("no job id")?
        .to_owned();
    let admin = token(Uuid::new_v4(), Role::Admin);
    let mut candidates = Vec::with_capacity(bench.connections);
    for n in 0..bench.connections {
        let id = Uuid::new_v4();
        let candidate_token = token(id, Role::Candidate);
        api.post(
            &candidate_token,
            "/candidates",
            json!({"name": format!("Candidate {n}"), "email": format!("c{n}@example.com")}),
        )
        .await?;
        candidates.push((id, candidate_token));
    }

    // One stream per candidate, from a client of their own.
    let before = up.resident_bytes().ok_or("no resident memory figure")?;
    let arrivals: Arrivals = Arc::default();
    let (opened, mut ready) = mpsc::channel(bench.connections.max(1));
    let mut streams = JoinSet::new();
    for (id, candidate_token) in &candidates {
        let url = format!("{}/notifications/stream", up.base);
        let (id, candidate_token, arrivals, opened) = (
            *id,
            candidate_token.clone(),
            arrivals.clone(),
            opened.clone(),
        );
        streams.spawn(async move { listen(url, id, candidate_token, arrivals, opened).await });
    }
    for _ in 0..bench.connections {
        ready.recv().await.ok_or("a stream failed to open")??;
    }
    let after = up.resident_bytes().ok_or("no resident memory figure")?;
    let bytes_per_connection =
        after.saturating_sub(before) as f64 / bench.connections.max(1) as f64;

    // The first matches, untimed: the figures leave out the consumers' start.
    let (warm_up, candidates) = candidates.split_at(WARM_UP.min(candidates.len()));
    time_matches(&api, &pool, &job, &employer_token, warm_up, &arrivals).await?;
    let timed = &candidates[..bench.matches.min(candidates.len())];
    let (idle, swipe_answer) =
        time_matches(&api, &pool, &job, &employer_token, timed, &arrivals).await?;

    // Under load: ChargeCredits by other candidates' wallets, for as long as the matches take.
    let loaded_candidates = &candidates[timed.len()..(2 * timed.len()).min(candidates.len())];
    for (id, _) in &candidates[..bench.load_clients.min(candidates.len())] {
        api.post(
            &admin,
            &format!("/wallets/{id}/grants"),
            json!({"grant_id": Uuid::new_v4(), "credits": 1_000_000, "reason": "benchmark"}),
        )
        .await?;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let mut load = JoinSet::new();
    for (id, candidate_token) in candidates.iter().take(bench.load_clients) {
        let (api, stop) = (api.clone(), stop.clone());
        let (id, candidate_token) = (*id, candidate_token.clone());
        load.spawn(async move {
            let mut charges = 0usize;
            while !stop.is_cancelled() {
                let body = json!({"charge_id": Uuid::new_v4(), "credits": 1, "purpose": "load"});
                if api
                    .post(&candidate_token, &format!("/wallets/{id}/charges"), body)
                    .await
                    .is_ok()
                {
                    charges += 1;
                }
            }
            charges
        });
    }
    let loaded = time_matches(
        &api,
        &pool,
        &job,
        &employer_token,
        loaded_candidates,
        &arrivals,
    )
    .await;
    stop.cancel();
    let mut charges_during_load = 0;
    while let Some(done) = load.join_next().await {
        charges_during_load += done.unwrap_or_default();
    }
    let (loaded, _) = loaded?;
    streams.abort_all();
    up.kill();
    pool.close().await;
    Ok(NotificationReport {
        connections: bench.connections,
        bytes_per_connection,
        idle_commit: idle.0,
        idle_swipe: idle.1,
        loaded_commit: loaded.0,
        loaded_swipe: loaded.1,
        swipe_answer,
        charges_during_load,
    })
}

#[derive(Debug, Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn post(&self, token: &str, path: &str, body: Value) -> Result<Value, BenchError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {answer}").into());
        }
        Ok(answer)
    }
}

/// Holds one candidate's stream and records when its `match.created` arrives.
async fn listen(
    url: String,
    candidate: Uuid,
    token: String,
    arrivals: Arrivals,
    opened: mpsc::Sender<Result<(), BenchError>>,
) {
    let client = reqwest::Client::new();
    let response = match client.get(url).bearer_auth(token).send().await {
        Ok(response) if response.status().is_success() => response,
        Ok(response) => {
            let _ = opened
                .send(Err(format!("stream: {}", response.status()).into()))
                .await;
            return;
        }
        Err(error) => {
            let _ = opened.send(Err(error.into())).await;
            return;
        }
    };
    let _ = opened.send(Ok(())).await;
    let mut response = response;
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if buffer.contains("event: match.created") {
            let at = (Instant::now(), Utc::now());
            arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(candidate, at);
            buffer.clear();
        }
    }
}

/// Matches each candidate with the job, one at a time; the latencies from the projector's
/// commit and from the second swipe's answer to the notification, and the second swipe's own
/// answer time.
async fn time_matches(
    api: &Api,
    pool: &PgPool,
    job: &str,
    employer_token: &str,
    candidates: &[(Uuid, String)],
    arrivals: &Arrivals,
) -> Result<((Latency, Latency), Latency), BenchError> {
    let (mut from_commit, mut from_swipe, mut answers) = (Vec::new(), Vec::new(), Vec::new());
    for (candidate, candidate_token) in candidates {
        api.post(
            candidate_token,
            &format!("/jobs/{job}/swipe"),
            json!({"decision": "like"}),
        )
        .await?;
        let sent = Instant::now();
        let written = api
            .post(
                employer_token,
                &format!("/jobs/{job}/candidates/{candidate}/swipe"),
                json!({"decision": "like"}),
            )
            .await?;
        let answered = Instant::now();
        answers.push(answered - sent);
        let pairing = written["id"].as_str().ok_or("no pairing id")?.to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        let (arrived, arrived_at) = loop {
            let found = arrivals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(candidate)
                .copied();
            if let Some(found) = found {
                break found;
            }
            if Instant::now() > deadline {
                return Err(format!("no notification for candidate {candidate}").into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        from_swipe.push(arrived.saturating_duration_since(answered));
        let committed: DateTime<Utc> = sqlx::query_scalar(
            "SELECT applied_at FROM projection_applied
              WHERE projection = 'notifications' AND aggregate_type = 'pairing'
                AND aggregate_id = $1",
        )
        .bind(&pairing)
        .fetch_one(pool)
        .await?;
        from_commit.push((arrived_at - committed).to_std().unwrap_or_default());
    }
    Ok((
        (Latency::of(from_commit), Latency::of(from_swipe)),
        Latency::of(answers),
    ))
}
