//! Jobs imported per second, from a synthetic Greenhouse feed until they are projected.

use std::time::{Duration, Instant};

use api::consumer::Consumer;
use api::process::{self, Parts, StartError};
use api::settings::Settings;
use commands::CommandService;
use domain::{Actor, Role};
use uuid::Uuid;

use crate::credits::context;
use crate::scratch::Scratch;

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
pub async fn import(settings: &Settings, bench: ImportBench) -> Result<ImportReport, StartError> {
    use commands::import;
    use domain::employer::RegisterEmployer;

    let scratch = Scratch::create(settings, "import").await?;
    let settings = scratch.settings.clone();
    let result = async {
        let pool = process::connect(&settings).await?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let parts = Parts {
            relay: true,
            projectors: vec![Consumer::Jobs],
            ..Default::default()
        };
        let started = process::start(&settings, pool.clone(), parts, shutdown.clone()).await?;
        let service = CommandService::new(
            pool.clone(),
            commands::service::DEFAULT_MAX_ATTEMPTS,
            commands::privacy::MasterKeys::development(),
        );
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
