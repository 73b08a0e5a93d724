//! The cost of sealing personal data: candidates registered and their profiles replaced (the
//! commands whose events carry personal fields) with every personal field sealed, beside the
//! same load written in clear; then the profiles read model rebuilt from each store, where
//! the sealed one is opened event by event.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use api::process::projector_config;
use api::settings::Settings;
use commands::privacy::{Keyring, MasterKeys};
use commands::CommandService;
use domain::candidate::{CandidateProfile, RegisterCandidate, UpdateCandidateProfile};
use domain::profile::{Experience, Proficiency, Skill, WorkArrangement};
use domain::{Actor, Role};
use projections::profiles::ProfilesProjector;
use projections::Projector;
use uuid::Uuid;

use crate::credits::context;
use crate::report::Throughput;
use crate::scratch::Scratch;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct PrivacyBench {
    pub candidates: usize,
    /// Profile replacements per candidate, after its registration.
    pub updates: usize,
    pub concurrency: usize,
}

#[derive(Debug)]
pub struct PrivacyReport {
    pub sealed: Throughput,
    pub clear: Throughput,
    pub rebuild_sealed: Throughput,
    pub rebuild_clear: Throughput,
}

impl std::fmt::Display for PrivacyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "commands, personal fields sealed:    {}", self.sealed)?;
        writeln!(f, "commands, in clear (baseline):       {}", self.clear)?;
        writeln!(
            f,
            "command path with sealing: {:.2}x the time of the baseline",
            self.clear.per_second() / self.sealed.per_second()
        )?;
        writeln!(
            f,
            "profiles rebuilt, opening each event: {}",
            self.rebuild_sealed
        )?;
        writeln!(
            f,
            "profiles rebuilt, in clear (baseline): {}",
            self.rebuild_clear
        )?;
        write!(
            f,
            "rebuild with opening: {:.2}x the time of the baseline",
            self.rebuild_clear.per_second() / self.rebuild_sealed.per_second()
        )
    }
}

pub async fn privacy(
    settings: &Settings,
    bench: PrivacyBench,
) -> Result<PrivacyReport, BenchError> {
    let (clear, rebuild_clear) = run(settings, bench, false).await?;
    let (sealed, rebuild_sealed) = run(settings, bench, true).await?;
    Ok(PrivacyReport {
        sealed,
        clear,
        rebuild_sealed,
        rebuild_clear,
    })
}

/// The load in a scratch database of its own, then a rebuild of the profiles from it.
async fn run(
    settings: &Settings,
    bench: PrivacyBench,
    sealing: bool,
) -> Result<(Throughput, Throughput), BenchError> {
    let scratch = Scratch::create(settings, "privacy").await?;
    let result = async {
        let url = scratch.settings.database.url.expose();
        let pool = commands::db::connect(url, (bench.concurrency as u32 + 4).max(8)).await?;
        let keyring = if sealing {
            Keyring::new(pool.clone(), MasterKeys::development())
        } else {
            Keyring::unsealed(pool.clone())
        };
        let service = Arc::new(CommandService::with_keyring(
            pool.clone(),
            commands::service::DEFAULT_MAX_ATTEMPTS,
            keyring,
        ));
        let commands = load(&service, bench).await?;
        let projector = Projector::new(
            ProfilesProjector,
            pool.clone(),
            projector_config(&scratch.settings),
        );
        let rebuilt = projector.rebuild_from_store(|_| {}).await?;
        pool.close().await;
        Ok::<_, BenchError>((
            commands,
            Throughput {
                count: rebuilt.read as usize,
                unit: "events",
                elapsed: rebuilt.elapsed,
            },
        ))
    }
    .await;
    scratch.drop_database().await?;
    result
}

/// Each candidate registers, then replaces its profile `updates` times, by `concurrency`
/// callers at once.
async fn load(
    service: &Arc<CommandService>,
    bench: PrivacyBench,
) -> Result<Throughput, BenchError> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..bench.concurrency.max(1) {
        let (service, next) = (service.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= bench.candidates {
                    return Ok::<_, commands::Error>(());
                }
                let candidate_id = Uuid::new_v4();
                let ctx = context(Actor::new(candidate_id, Role::Candidate));
                let register = RegisterCandidate {
                    candidate_id,
                    name: format!("Bench Candidate {n}"),
                    email: format!("bench.candidate.{n}@example.com"),
                };
                service.register_candidate(&ctx, register).await?;
                for version in 0..bench.updates {
                    let update = UpdateCandidateProfile {
                        candidate_id,
                        profile: Box::new(profile(n, version)),
                        updated_by: ctx.actor,
                    };
                    service.update_candidate_profile(&ctx, update).await?;
                }
            }
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker.map_err(|e| commands::Error::Store(Box::new(e)))??;
    }
    Ok(Throughput {
        count: bench.candidates * (1 + bench.updates),
        unit: "commands",
        elapsed: started.elapsed(),
    })
}

/// A profile of typical size: a summary of a few sentences and three positions.
fn profile(n: usize, version: usize) -> CandidateProfile {
    let experience = (0..3)
        .map(|i| Experience {
            title: format!("Engineer {i}"),
            company: format!("Company {n}-{i}"),
            start: chrono::NaiveDate::from_ymd_opt(2015 + i, 1, 1).unwrap_or_default(),
            end: None,
            highlights: vec![
                "Cut the latency of the payments API by half".into(),
                "Led the move from a monolith to event-sourced services".into(),
            ],
        })
        .collect();
    CandidateProfile {
        headline: format!("Backend engineer, version {version}"),
        summary: "Builds event-sourced systems in Rust and Kafka; ten years of backend work, \
                  mostly payments and marketplaces, with a taste for measuring before tuning."
            .into(),
        skills: vec![
            Skill {
                name: "Rust".into(),
                proficiency: Proficiency::Expert,
            },
            Skill {
                name: "Kafka".into(),
                proficiency: Proficiency::Working,
            },
        ],
        years_experience: 10,
        industries: vec!["Fintech".into()],
        target_titles: vec!["Staff engineer".into()],
        min_salary: None,
        locations: vec!["Berlin".into()],
        remote: WorkArrangement::Remote,
        work_authorizations: vec![],
        company_size: None,
        pace: None,
        experience,
        education: vec![],
    }
}
