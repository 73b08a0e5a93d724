//! `hirestream bench …`: throughput and latency measurements, each in a database of its own
//! that is dropped afterwards. Matching has a module of its own.

pub mod broker;
pub mod faults;
pub mod matching;
pub mod pipeline;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use commands::{CommandContext, CommandService};
use domain::candidate::RegisterCandidate;
use domain::wallet::{ChargeCredits, GrantCredits};
use domain::{Actor, Role};
use uuid::Uuid;

use crate::settings::Settings;

/// Percentiles of a latency sample.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub samples: usize,
}

impl Latency {
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            samples: samples.len(),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2?}, p99 {:.2?} ({} samples)",
            self.p50, self.p99, self.samples
        )
    }
}

/// A database of a benchmark's own, with settings pointing at it and a topic prefix and
/// vector-index directory of its own; dropped with `drop_database`.
#[derive(Debug)]
pub struct Scratch {
    pub settings: Settings,
    server: String,
    name: String,
}

impl Scratch {
    pub async fn create(settings: &Settings, what: &str) -> Result<Self, commands::Error> {
        let server = settings.database.url.expose().to_owned();
        let id = Uuid::new_v4().simple().to_string();
        let name = format!("hirestream_bench_{what}_{}", &id[..12]);
        let url = commands::db::create_database(&server, &name).await?;
        let mut settings = settings.clone();
        settings.database.url = crate::settings::Secret::new(url);
        settings.kafka.topic_prefix = format!("bench{}", &id[..12]);
        settings.matching.data_dir = std::env::temp_dir()
            .join(format!("hirestream-bench-{id}"))
            .display()
            .to_string();
        Ok(Self {
            settings,
            server,
            name,
        })
    }

    pub async fn drop_database(&self) -> Result<(), commands::Error> {
        std::fs::remove_dir_all(&self.settings.matching.data_dir).ok();
        commands::db::drop_database(&self.server, &self.name).await
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CreditsBench {
    pub charges: usize,
    pub wallets: usize,
    pub concurrency: usize,
}

/// How many of something (`unit`) took how long.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub count: usize,
    pub unit: &'static str,
    pub elapsed: Duration,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for Throughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} in {:.2?}: {:.0} {}/s",
            self.count,
            self.unit,
            self.elapsed,
            self.per_second(),
            self.unit
        )
    }
}

#[derive(Debug)]
pub struct CreditsReport {
    pub one_wallet: Throughput,
    pub many_wallets: Throughput,
}

pub async fn credits(
    settings: &Settings,
    bench: CreditsBench,
) -> Result<CreditsReport, commands::Error> {
    let server = settings.database.url.expose();
    let name = format!("hirestream_bench_{}", Uuid::new_v4().simple());
    let url = commands::db::create_database(server, &name).await?;
    let result = async {
        let pool = commands::db::connect(&url, (bench.concurrency as u32 + 4).max(8)).await?;
        commands::db::migrate(&pool).await?;
        let service = Arc::new(CommandService::new(
            pool.clone(),
            commands::service::DEFAULT_MAX_ATTEMPTS,
        ));
        // One wallet for the first run, the others for the second.
        let wallets = market(&service, bench.wallets.max(1) + 1, bench.charges as i64).await?;
        let one_wallet = charge(&service, &wallets[..1], bench).await?;
        let many_wallets = charge(&service, &wallets[1..], bench).await?;
        pool.close().await;
        Ok(CreditsReport {
            one_wallet,
            many_wallets,
        })
    }
    .await;
    commands::db::drop_database(server, &name).await?;
    result
}

fn context(actor: Actor) -> CommandContext {
    CommandContext::for_request(actor, Uuid::new_v4().to_string(), None)
}

/// Registers the candidates and grants each enough credits for every charge.
async fn market(
    service: &CommandService,
    wallets: usize,
    credits: i64,
) -> Result<Vec<Uuid>, commands::Error> {
    let admin = context(Actor::new(Uuid::new_v4(), Role::Admin));
    let mut ids = Vec::with_capacity(wallets);
    for n in 0..wallets {
        let id = Uuid::new_v4();
        let register = RegisterCandidate {
            candidate_id: id,
            name: format!("Bench candidate {n}"),
            email: format!("bench{n}@example.com"),
        };
        service.register_candidate(&admin, register).await?;
        let grant = GrantCredits {
            wallet_id: id,
            grant_id: Uuid::new_v4(),
            credits: credits.max(1),
            reason: "benchmark".into(),
            granted_by: admin.actor,
        };
        service.grant_credits(&admin, grant).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// `bench.charges` charges of one credit, spread round-robin over `wallets`, by
/// `bench.concurrency` concurrent callers.
async fn charge(
    service: &Arc<CommandService>,
    wallets: &[Uuid],
    bench: CreditsBench,
) -> Result<Throughput, commands::Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let wallets: Arc<[Uuid]> = wallets.into();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..bench.concurrency.max(1) {
        let (service, next, wallets) = (service.clone(), next.clone(), wallets.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= bench.charges {
                    return Ok::<_, commands::Error>(());
                }
                let wallet_id = wallets[n % wallets.len()];
                let ctx = context(Actor::new(wallet_id, Role::Candidate));
                let command = ChargeCredits {
                    wallet_id,
                    charge_id: Uuid::new_v4(),
                    credits: 1,
                    purpose: "benchmark".into(),
                    charged_by: ctx.actor,
                };
                service.charge_credits(&ctx, command).await?;
            }
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker.map_err(|e| commands::Error::Store(Box::new(e)))??;
    }
    Ok(Throughput {
        count: bench.charges,
        unit: "charges",
        elapsed: started.elapsed(),
    })
}

#[derive(Debug, Clone, Copy)]
pub struct ImportBench {
    pub postings: usize,
}

#[derive(Debug)]
pub struct ImportReport {
    pub postings: usize,
    /// Parsing the feed and appending every JobPosted.
    pub appended: Duration,
    /// From the start until the jobs read model holds every posting.
    pub projected: Duration,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |d: Duration| self.postings as f64 / d.as_secs_f64();
        write!(
            f,
            "{} postings: appended in {:.2?} ({:.0}/s), appended and projected in {:.2?} ({:.0}/s)",
            self.postings,
            self.appended,
            rate(self.appended),
            self.projected,
            rate(self.projected)
        )
    }
}

/// Imports a synthetic Greenhouse feed with a relay and the jobs projector running, in a
/// scratch database and under a topic prefix of its own.
pub async fn import(
    settings: &Settings,
    bench: ImportBench,
) -> Result<ImportReport, crate::process::StartError> {
    use commands::import;
    use domain::employer::RegisterEmployer;

    let scratch = Scratch::create(settings, "import").await?;
    let settings = scratch.settings.clone();
    let result = async {
        let pool = crate::process::connect(&settings).await?;
        commands::db::migrate(&pool).await?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let parts = crate::process::Parts {
            relay: true,
            projectors: vec!["jobs".into()],
            ..Default::default()
        };
        let started =
            crate::process::start(&settings, pool.clone(), parts, shutdown.clone()).await?;
        let service = CommandService::new(pool.clone(), commands::service::DEFAULT_MAX_ATTEMPTS);
        let employer = Uuid::new_v4();
        let ctx = context(Actor::new(employer, Role::Employer));
        service
            .register_employer(
                &ctx,
                RegisterEmployer {
                    employer_id: employer,
                    name: "Bench Inc".into(),
                },
            )
            .await?;

        let feed = synthetic_greenhouse_feed(bench.postings);
        let started_at = Instant::now();
        let postings = import::parse(domain::job::SourceKind::Greenhouse, &feed)
            .map_err(|e| commands::Error::Store(Box::new(e)))?;
        service
            .import_jobs(
                &ctx,
                employer,
                domain::job::SourceKind::Greenhouse,
                postings,
            )
            .await?;
        let appended = started_at.elapsed();
        loop {
            let projected: i64 =
                sqlx::query_scalar("SELECT count(*) FROM job_view WHERE employer_id = $1")
                    .bind(employer)
                    .fetch_one(&pool)
                    .await
                    .map_err(commands::Error::from)?;
            if projected as usize >= bench.postings {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let projected = started_at.elapsed();
        shutdown.cancel();
        started.wait().await;
        pool.close().await;
        Ok(ImportReport {
            postings: bench.postings,
            appended,
            projected,
        })
    }
    .await;
    scratch.drop_database().await?;
    result
}

/// A Greenhouse board of `count` postings with realistic titles, HTML and locations.
pub fn synthetic_greenhouse_feed(count: usize) -> Vec<u8> {
    const TITLES: [&str; 8] = [
        "Senior Rust Engineer",
        "Data Analyst",
        "Frontend Engineer (React)",
        "Site Reliability Engineer",
        "Machine Learning Engineer",
        "Product Designer",
        "Backend Engineer, Payments",
        "Account Executive",
    ];
    const SKILLS: [&str; 10] = [
        "Rust",
        "Python",
        "Kafka",
        "PostgreSQL",
        "Kubernetes",
        "React",
        "TypeScript",
        "AWS",
        "SQL",
        "Terraform",
    ];
    const PLACES: [&str; 6] = [
        "Berlin",
        "Remote - EU",
        "London (Hybrid)",
        "New York",
        "Lisbon",
        "Remote - US",
    ];
    let jobs: Vec<serde_json::Value> = (0..count)
        .map(|n| {
            let title = TITLES[n % TITLES.len()];
            let (a, b) = (SKILLS[n % SKILLS.len()], SKILLS[(n * 7 + 3) % SKILLS.len()]);
            let html = format!(
                "<p>Join team {n}.</p><ul><li>{} years of experience</li><li>Deep expertise in {a}</li><li>Nice to have: {b}</li></ul>",
                2 + n % 6
            );
            // Escaped once more, as the board serves it.
            let content = html.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let content = content.replace('&', "&amp;");
            serde_json::json!({
                "id": 4_000_000_000_000u64 + n as u64,
                "internal_job_id": n,
                "title": format!("{title} {n}"),
                "updated_at": "2026-11-01T10:00:00-05:00",
                "location": {"name": PLACES[n % PLACES.len()]},
                "absolute_url": format!("https://boards.greenhouse.io/bench/jobs/{n}"),
                "metadata": null,
                "content": content,
                "departments": [{"id": 1, "name": "Engineering"}],
                "offices": []
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"jobs": jobs, "meta": {"total": count}}))
        .unwrap_or_default()
}

/// Texts embedded per second by the configured model, on job-posting-like texts.
pub async fn embeddings(
    settings: &Settings,
    texts: usize,
) -> Result<Throughput, commands::embeddings::EmbeddingError> {
    let embedder = crate::process::embedder(settings)?;
    let feed: serde_json::Value =
        serde_json::from_slice(&synthetic_greenhouse_feed(texts)).unwrap_or_default();
    let texts: Vec<String> = feed["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|job| {
            let content = job["content"].as_str().unwrap_or_default();
            let html = commands::import::text::decode_entities(
                &commands::import::text::decode_entities(content),
            );
            format!(
                "{}. {}",
                job["title"].as_str().unwrap_or_default(),
                commands::import::text::html_to_text(&html)
            )
        })
        .collect();
    // Warm up: the first call pays for lazy initialisation.
    embedder.embed(&texts[..texts.len().min(8)]).await?;
    let started = Instant::now();
    embedder.embed(&texts).await?;
    Ok(Throughput {
        count: texts.len(),
        unit: "texts",
        elapsed: started.elapsed(),
    })
}
