//! `hirestream bench matching`: a synthetic market (employers, jobs and candidates with
//! skills drawn from a vocabulary of real role families) is embedded, indexed and scored by
//! the matching projector, through the same code path the Kafka consumer drives, minus the
//! broker (`bench import` measures that). Then: feed reads, semantic searches, and the cost of
//! updating one job and one profile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use commands::embeddings::cache::CachedEmbedder;
use commands::embeddings::Embedder;
use cqrs_es::{Aggregate, DomainEvent};
use domain::candidate::{Candidate, CandidateEvent, CandidateProfile};
use domain::employer::{Employer, EmployerEvent, EmployerProfile};
use domain::job::{Job, JobDetails, JobEvent, JobSource};
use domain::matching::{candidate_text, job_text};
use domain::profile::{
    CompanySize, MinimumSalary, Pace, Proficiency, SalaryRange, Skill, WorkArrangement,
};
use domain::published::PublishedEvent;
use projections::matching::feeds::{self, JobSearch, SearchError, SearchFilter};
use projections::matching::MatchingProjector;
use projections::vectors::edge::EdgeIndex;
use projections::vectors::VectorIndex;
use projections::Projector;
use uuid::Uuid;

use api::settings::Settings;

use crate::report::{Latency, Throughput};
use crate::scratch::Scratch;

#[derive(Debug, Clone, Copy)]
pub struct MatchingBench {
    pub jobs: usize,
    pub candidates: usize,
    /// Feed reads and searches measured.
    pub samples: usize,
    /// Job and profile updates measured.
    pub updates: usize,
}

#[derive(Debug)]
pub struct MatchingReport {
    /// The model alone, uncached.
    pub embedding: Throughput,
    /// Every text of the market through the embedding cache (computed unless cached).
    pub cache_fill: Duration,
    pub index_jobs: Throughput,
    pub index_candidates: Throughput,
    pub optimize: Duration,
    pub candidate_feed_rows: i64,
    pub job_feed_rows: i64,
    pub candidate_feed: Latency,
    pub job_feed: Latency,
    pub search: Latency,
    pub job_update: Latency,
    pub job_update_pairs: f64,
    pub profile_update: Latency,
    pub profile_update_pairs: f64,
}

impl std::fmt::Display for MatchingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "embedding model alone: {}", self.embedding)?;
        writeln!(
            f,
            "every text through the embedding cache: {:.2?}",
            self.cache_fill
        )?;
        writeln!(f, "jobs indexed: {}", self.index_jobs)?;
        writeln!(
            f,
            "candidates indexed and scored: {}",
            self.index_candidates
        )?;
        writeln!(
            f,
            "index optimisation (search graphs): {:.2?}",
            self.optimize
        )?;
        writeln!(
            f,
            "feed rows: {} in candidates' feeds, {} in jobs' feeds",
            self.candidate_feed_rows, self.job_feed_rows
        )?;
        writeln!(f, "candidate feed read (20 jobs): {}", self.candidate_feed)?;
        writeln!(f, "job feed read (20 candidates): {}", self.job_feed)?;
        writeln!(
            f,
            "semantic search (embed + index + rows, 20 hits): {}",
            self.search
        )?;
        writeln!(
            f,
            "job update (embed, index, score, feeds): {}, {:.0} pairs scored each",
            self.job_update, self.job_update_pairs
        )?;
        write!(
            f,
            "profile update: {}, {:.0} pairs scored each",
            self.profile_update, self.profile_update_pairs
        )
    }
}

pub async fn matching(
    settings: &Settings,
    bench: MatchingBench,
) -> Result<MatchingReport, projections::Error> {
    let server = settings.database.url.expose().to_owned();
    let scratch = Scratch::create(settings, "matching").await?;
    let dir = scratch.settings.matching.data_dir.clone();
    let result = async {
        let pool = commands::db::connect(scratch.settings.database.url.expose(), 8).await?;
        let model = api::process::embedder(settings)?;
        // Embeddings are remembered in the configured database's cache when it has one (they
        // depend only on the model and the text), so that a second run does not compute the
        // market's texts again; else in the benchmark's own database.
        let main = commands::db::connect(&server, 2).await?;
        let shared: bool = sqlx::query_scalar("SELECT to_regclass('embedding_cache') IS NOT NULL")
            .fetch_one(&main)
            .await?;
        let cache_pool = if shared { main } else { pool.clone() };
        let cached: Arc<dyn Embedder> = Arc::new(CachedEmbedder::new(model.clone(), cache_pool));
        let edge = EdgeIndex::open(dir.as_ref(), model.dimensions())?;
        let index: Arc<dyn VectorIndex> = Arc::new(edge.clone());
        let projector = Projector::new(
            MatchingProjector::new(
                index.clone(),
                cached.clone(),
                api::process::matching_config(settings),
            ),
            pool.clone(),
            api::process::projector_config(settings),
        );
        let market = Market::generate(bench.jobs, bench.candidates);
        let batch = settings.projector.batch_size.max(1);

        // The model alone, on the market's first texts of each kind.
        let sample: Vec<String> = market
            .jobs
            .iter()
            .take(128)
            .map(|j| job_text(&j.details))
            .chain(
                market
                    .candidates
                    .iter()
                    .take(128)
                    .map(|c| candidate_text(&c.profile)),
            )
            .collect();
        let started = Instant::now();
        model.embed(&sample).await?;
        let embedding = Throughput {
            count: sample.len(),
            unit: "texts",
            elapsed: started.elapsed(),
        };
        // Then every text once through the cache, so that indexing measures the index.
        let texts: Vec<String> = market
            .jobs
            .iter()
            .map(|j| job_text(&j.details))
            .chain(market.candidates.iter().map(|c| candidate_text(&c.profile)))
            .collect();
        let started = Instant::now();
        for (n, chunk) in texts.chunks(512).enumerate() {
            cached.embed(chunk).await?;
            if n % 10 == 9 {
                tracing::info!(embedded = (n + 1) * 512, of = texts.len(), "embedding");
            }
        }
        let cache_fill = started.elapsed();
        tracing::info!(%embedding, ?cache_fill, "market embedded");

        let mut events = EventLog::default();
        for employer in &market.employers {
            events.employer(employer);
        }
        apply(&projector, events.take(), batch).await?;
        for job in &market.jobs {
            events.job_posted(job);
        }
        let started = Instant::now();
        apply(&projector, events.take(), batch).await?;
        let index_jobs = Throughput {
            count: market.jobs.len(),
            unit: "jobs",
            elapsed: started.elapsed(),
        };
        tracing::info!(%index_jobs, "jobs indexed");
        let started = Instant::now();
        edge.optimize().await?;
        let mut optimize = started.elapsed();

        for candidate in &market.candidates {
            events.candidate(candidate);
        }
        let started = Instant::now();
        apply(&projector, events.take(), batch).await?;
        let index_candidates = Throughput {
            count: market.candidates.len(),
            unit: "candidates",
            elapsed: started.elapsed(),
        };
        tracing::info!(%index_candidates, "candidates indexed and scored");
        let started = Instant::now();
        edge.optimize().await?;
        optimize += started.elapsed();

        let count = |table: &str| {
            let pool = pool.clone();
            let query = format!("SELECT count(*) FROM {table}");
            async move { sqlx::query_scalar::<_, i64>(&query).fetch_one(&pool).await }
        };
        let candidate_feed_rows = count("candidate_feed").await?;
        let job_feed_rows = count("job_feed").await?;

        let mut rng = Rng(7);
        let mut samples = Vec::new();
        for _ in 0..bench.samples {
            let candidate = &market.candidates[rng.below(market.candidates.len())];
            let started = Instant::now();
            feeds::candidate_feed(&pool, candidate.id, 20).await?;
            samples.push(started.elapsed());
        }
        let candidate_feed = Latency::of(std::mem::take(&mut samples));
        for _ in 0..bench.samples {
            let job = &market.jobs[rng.below(market.jobs.len())];
            let started = Instant::now();
            feeds::job_feed(&pool, job.id, 20).await?;
            samples.push(started.elapsed());
        }
        let job_feed = Latency::of(std::mem::take(&mut samples));

        let search = JobSearch {
            index: index.clone(),
            embedder: model.clone(),
        };
        for n in 0..bench.samples {
            let family = &FAMILIES[rng.below(FAMILIES.len())];
            let text = format!(
                "{} working with {} and {}",
                family.titles[rng.below(family.titles.len())],
                family.skills[rng.below(family.skills.len())],
                family.skills[rng.below(family.skills.len())]
            );
            let filter = match n % 3 {
                0 => SearchFilter::default(),
                1 => SearchFilter {
                    remote: Some(WorkArrangement::Remote),
                    ..SearchFilter::default()
                },
                _ => SearchFilter {
                    location: Some(CITIES[rng.below(CITIES.len())].0.to_owned()),
                    ..SearchFilter::default()
                },
            };
            let started = Instant::now();
            search
                .search(&pool, &text, &filter, 20)
                .await
                .map_err(|e| -> projections::Error {
                    match e {
                        SearchError::Database(e) => e.into(),
                        SearchError::Embedding(e) => e.into(),
                        SearchError::Index(e) => e.into(),
                    }
                })?;
            samples.push(started.elapsed());
        }
        let search = Latency::of(std::mem::take(&mut samples));

        let mut pairs = 0;
        for n in 0..bench.updates {
            let job = &market.jobs[rng.below(market.jobs.len())];
            let mut details = job.details.clone();
            details
                .description
                .push_str(&format!(" Update {n}: the team is growing."));
            events.job_updated(job, details);
            let started = Instant::now();
            projector.apply_events(&events.take()).await?;
            samples.push(started.elapsed());
            pairs += projector.projection().last_rescored().pairs_scored;
        }
        let job_update_pairs = pairs as f64 / bench.updates.max(1) as f64;
        let job_update = Latency::of(std::mem::take(&mut samples));

        let mut pairs = 0;
        for n in 0..bench.updates {
            let candidate = &market.candidates[rng.below(market.candidates.len())];
            let mut updated = candidate.clone();
            updated
                .profile
                .summary
                .push_str(&format!(" Update {n}: open to new roles."));
            events.candidate_profile(&updated);
            let started = Instant::now();
            projector.apply_events(&events.take()).await?;
            samples.push(started.elapsed());
            pairs += projector.projection().last_rescored().pairs_scored;
        }
        let profile_update_pairs = pairs as f64 / bench.updates.max(1) as f64;
        let profile_update = Latency::of(samples);

        drop(projector);
        pool.close().await;
        Ok(MatchingReport {
            embedding,
            cache_fill,
            index_jobs,
            index_candidates,
            optimize,
            candidate_feed_rows,
            job_feed_rows,
            candidate_feed,
            job_feed,
            search,
            job_update,
            job_update_pairs,
            profile_update,
            profile_update_pairs,
        })
    }
    .await;
    scratch.drop_database().await?;
    result
}

async fn apply(
    projector: &Projector<MatchingProjector>,
    events: Vec<PublishedEvent>,
    batch: usize,
) -> Result<(), projections::Error> {
    for (n, chunk) in events.chunks(batch).enumerate() {
        projector.apply_events(chunk).await?;
        if n % 10 == 9 {
            tracing::info!(applied = (n + 1) * batch, of = events.len(), "applying");
        }
    }
    Ok(())
}

/// Published events as the relay would deliver them, numbered in order.
#[derive(Debug, Default)]
struct EventLog {
    position: i64,
    versions: HashMap<Uuid, i64>,
    pending: Vec<PublishedEvent>,
}

impl EventLog {
    fn push<E: DomainEvent>(&mut self, aggregate_type: &str, id: Uuid, event: E) {
        self.position += 1;
        let sequence = self.versions.entry(id).or_default();
        *sequence += 1;
        self.pending.push(PublishedEvent {
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: id.to_string(),
            sequence: *sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(&event).unwrap_or_default(),
            metadata: HashMap::new(),
            global_position: self.position,
            recorded_at: Utc::now(),
        });
    }

    fn take(&mut self) -> Vec<PublishedEvent> {
        std::mem::take(&mut self.pending)
    }

    fn employer(&mut self, employer: &SyntheticEmployer) {
        let employer_id = employer.id;
        self.push(
            Employer::TYPE,
            employer_id,
            EmployerEvent::EmployerRegistered {
                employer_id,
                name: employer.profile.name.clone(),
            },
        );
        self.push(
            Employer::TYPE,
            employer_id,
            EmployerEvent::EmployerProfileUpdated {
                employer_id,
                profile: employer.profile.clone(),
            },
        );
    }

    fn job_posted(&mut self, job: &SyntheticJob) {
        let event = JobEvent::JobPosted {
            job_id: job.id,
            employer_id: job.employer_id,
            details: job.details.clone(),
        };
        self.push(Job::TYPE, job.id, event);
    }

    fn job_updated(&mut self, job: &SyntheticJob, details: JobDetails) {
        let event = JobEvent::JobUpdated {
            job_id: job.id,
            employer_id: job.employer_id,
            details,
        };
        self.push(Job::TYPE, job.id, event);
    }

    fn candidate(&mut self, candidate: &SyntheticCandidate) {
        let event = CandidateEvent::CandidateRegistered {
            candidate_id: candidate.id,
            name: format!("Candidate {}", candidate.id.simple()),
            email: format!("{}@example.com", candidate.id.simple()),
        };
        self.push(Candidate::TYPE, candidate.id, event);
        self.candidate_profile(candidate);
    }

    fn candidate_profile(&mut self, candidate: &SyntheticCandidate) {
        let event = CandidateEvent::CandidateProfileUpdated {
            candidate_id: candidate.id,
            profile: Box::new(candidate.profile.clone()),
        };
        self.push(Candidate::TYPE, candidate.id, event);
    }
}

/// A role family: its titles and the skills it asks for, most common first.
#[derive(Debug)]
struct Family {
    titles: &'static [&'static str],
    skills: &'static [&'static str],
    work: &'static [&'static str],
}

const FAMILIES: &[Family] = &[
    Family {
        titles: &[
            "Backend Engineer",
            "Software Engineer, Platform",
            "API Engineer",
            "Distributed Systems Engineer",
        ],
        skills: &[
            "Go",
            "Java",
            "Python",
            "PostgreSQL",
            "Rust",
            "Kafka",
            "Redis",
            "gRPC",
            "Docker",
            "Kubernetes",
            "AWS",
            "Microservices",
        ],
        work: &[
            "design and run the services behind our payments platform",
            "scale the APIs that serve millions of requests a day",
            "own the event pipeline between our products",
        ],
    },
    Family {
        titles: &["Frontend Engineer", "Web Developer", "UI Engineer"],
        skills: &[
            "JavaScript",
            "TypeScript",
            "React",
            "CSS",
            "HTML",
            "Next.js",
            "GraphQL",
            "Vue.js",
            "Accessibility",
            "Webpack",
        ],
        work: &[
            "build the web app our customers use every day",
            "turn designs into fast, accessible interfaces",
            "own our design system's components",
        ],
    },
    Family {
        titles: &["Data Engineer", "Analytics Engineer", "Big Data Engineer"],
        skills: &[
            "SQL",
            "Python",
            "Spark",
            "Airflow",
            "dbt",
            "Kafka",
            "Snowflake",
            "BigQuery",
            "Scala",
            "Data modeling",
        ],
        work: &[
            "build the pipelines that feed our warehouse",
            "model data for analysts and product teams",
            "move batch jobs to streaming",
        ],
    },
    Family {
        titles: &[
            "Machine Learning Engineer",
            "Data Scientist",
            "Applied Scientist",
        ],
        skills: &[
            "Python",
            "PyTorch",
            "scikit-learn",
            "Pandas",
            "Statistics",
            "TensorFlow",
            "NLP",
            "LLMs",
            "MLOps",
            "Computer vision",
        ],
        work: &[
            "train and ship ranking models",
            "bring language models into production",
            "run experiments that shape the product",
        ],
    },
    Family {
        titles: &[
            "Site Reliability Engineer",
            "DevOps Engineer",
            "Cloud Infrastructure Engineer",
        ],
        skills: &[
            "Kubernetes",
            "Terraform",
            "AWS",
            "Linux",
            "Prometheus",
            "CI/CD",
            "GCP",
            "Ansible",
            "Bash",
            "Networking",
        ],
        work: &[
            "keep our platform up and our deploys boring",
            "automate the infrastructure of three regions",
            "run observability for every service",
        ],
    },
    Family {
        titles: &["iOS Engineer", "Android Engineer", "Mobile Developer"],
        skills: &[
            "Swift",
            "Kotlin",
            "iOS",
            "Android",
            "React Native",
            "Flutter",
            "Objective-C",
            "Mobile UX",
        ],
        work: &[
            "build our mobile apps used by a million riders",
            "ship features to the App Store every week",
            "make the app fast on low-end phones",
        ],
    },
    Family {
        titles: &[
            "Security Engineer",
            "Application Security Engineer",
            "Cloud Security Engineer",
        ],
        skills: &[
            "Threat modeling",
            "Penetration testing",
            "Cloud security",
            "IAM",
            "Python",
            "OWASP",
            "Incident response",
            "SIEM",
        ],
        work: &[
            "secure our cloud and our code",
            "lead incident response and threat modeling",
            "build security tooling for engineers",
        ],
    },
    Family {
        titles: &["Product Designer", "UX Designer", "Interaction Designer"],
        skills: &[
            "Figma",
            "User research",
            "Prototyping",
            "Design systems",
            "Interaction design",
            "Usability testing",
        ],
        work: &[
            "design flows from research to pixels",
            "own the design system",
            "run usability studies with customers",
        ],
    },
    Family {
        titles: &[
            "Product Manager",
            "Technical Product Manager",
            "Product Owner",
        ],
        skills: &[
            "Roadmapping",
            "Analytics",
            "A/B testing",
            "Stakeholder management",
            "Agile",
            "SQL",
            "User stories",
        ],
        work: &[
            "own the roadmap of our marketplace",
            "turn customer problems into shipped features",
            "run discovery with design and engineering",
        ],
    },
    Family {
        titles: &[
            "Data Analyst",
            "Business Intelligence Analyst",
            "Business Analyst",
        ],
        skills: &[
            "SQL",
            "Excel",
            "Tableau",
            "Power BI",
            "Python",
            "Statistics",
            "Looker",
            "Dashboards",
        ],
        work: &[
            "answer the business's questions with data",
            "build dashboards leadership reads weekly",
            "analyse funnels and retention",
        ],
    },
    Family {
        titles: &[
            "Account Executive",
            "Sales Development Representative",
            "Account Manager",
        ],
        skills: &[
            "Salesforce",
            "Negotiation",
            "Prospecting",
            "SaaS sales",
            "CRM",
            "Account management",
            "Cold calling",
        ],
        work: &[
            "close mid-market deals",
            "open new accounts in the DACH region",
            "grow our largest customers",
        ],
    },
    Family {
        titles: &["Marketing Manager", "Content Marketer", "Growth Marketer"],
        skills: &[
            "SEO",
            "Content marketing",
            "Google Analytics",
            "Copywriting",
            "Social media",
            "HubSpot",
            "Paid ads",
        ],
        work: &[
            "grow our organic traffic",
            "run campaigns across paid channels",
            "write the stories our customers share",
        ],
    },
    Family {
        titles: &["Financial Analyst", "Accountant", "Finance Manager"],
        skills: &[
            "Financial modeling",
            "Excel",
            "Accounting",
            "IFRS",
            "Budgeting",
            "SAP",
            "Forecasting",
        ],
        work: &[
            "own the monthly close",
            "build the models behind our budget",
            "forecast revenue across markets",
        ],
    },
    Family {
        titles: &[
            "Embedded Software Engineer",
            "Firmware Engineer",
            "Robotics Software Engineer",
        ],
        skills: &[
            "C",
            "C++",
            "RTOS",
            "Embedded Linux",
            "Microcontrollers",
            "Firmware",
            "Rust",
            "Hardware debugging",
        ],
        work: &[
            "write firmware for our sensors",
            "bring up new boards and drivers",
            "control robot arms in real time",
        ],
    },
    Family {
        titles: &[
            "QA Engineer",
            "Test Automation Engineer",
            "Software Engineer in Test",
        ],
        skills: &[
            "Test automation",
            "Cypress",
            "Selenium",
            "Playwright",
            "API testing",
            "Python",
            "Java",
        ],
        work: &[
            "automate our end-to-end tests",
            "own release quality",
            "build the test harness for our APIs",
        ],
    },
    Family {
        titles: &[
            "Customer Success Manager",
            "Support Engineer",
            "Onboarding Specialist",
        ],
        skills: &[
            "Customer success",
            "Zendesk",
            "Troubleshooting",
            "Communication",
            "SaaS",
            "Onboarding",
        ],
        work: &[
            "help customers get value in their first month",
            "solve technical tickets",
            "run onboarding for enterprise accounts",
        ],
    },
];

/// Employers in every market; jobs are spread over them.
const EMPLOYERS: usize = 2_000;

const SENIORITY: [(&str, i32, i64); 5] = [
    ("Junior", 0, 45_000),
    ("", 2, 65_000),
    ("Senior", 5, 85_000),
    ("Staff", 8, 110_000),
    ("Lead", 8, 105_000),
];

/// A place and its currency.
const CITIES: [(&str, &str); 20] = [
    ("Berlin, Germany", "EUR"),
    ("Munich, Germany", "EUR"),
    ("Hamburg, Germany", "EUR"),
    ("London, United Kingdom", "GBP"),
    ("Manchester, United Kingdom", "GBP"),
    ("Paris, France", "EUR"),
    ("Amsterdam, Netherlands", "EUR"),
    ("Lisbon, Portugal", "EUR"),
    ("Madrid, Spain", "EUR"),
    ("Barcelona, Spain", "EUR"),
    ("Warsaw, Poland", "EUR"),
    ("Stockholm, Sweden", "EUR"),
    ("Dublin, Ireland", "EUR"),
    ("Vienna, Austria", "EUR"),
    ("New York, United States", "USD"),
    ("San Francisco, United States", "USD"),
    ("Austin, United States", "USD"),
    ("Seattle, United States", "USD"),
    ("Boston, United States", "USD"),
    ("Toronto, Canada", "USD"),
];

const INDUSTRIES: [&str; 10] = [
    "fintech",
    "logistics",
    "healthcare",
    "e-commerce",
    "mobility",
    "climate tech",
    "media",
    "education",
    "gaming",
    "cybersecurity",
];

/// splitmix64: a small, fast, reproducible generator, so every run builds the same market.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// An index below `n`, small ones more likely (popular skills come first).
    fn popular(&mut self, n: usize) -> usize {
        self.below(n).min(self.below(n))
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn id(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(
            ((u128::from(self.next()) << 64) | u128::from(self.next())).to_le_bytes(),
        )
        .into_uuid()
    }
}

#[derive(Debug)]
struct SyntheticEmployer {
    id: Uuid,
    profile: EmployerProfile,
}

#[derive(Debug)]
struct SyntheticJob {
    id: Uuid,
    employer_id: Uuid,
    details: JobDetails,
}

#[derive(Debug, Clone)]
struct SyntheticCandidate {
    id: Uuid,
    profile: CandidateProfile,
}

#[derive(Debug)]
struct Market {
    employers: Vec<SyntheticEmployer>,
    jobs: Vec<SyntheticJob>,
    candidates: Vec<SyntheticCandidate>,
}

fn pick_skills(rng: &mut Rng, family: &Family, count: usize) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    while names.len() < count.min(family.skills.len()) {
        let name = family.skills[rng.popular(family.skills.len())];
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn proficiency(rng: &mut Rng) -> Proficiency {
    match rng.below(10) {
        0..=2 => Proficiency::Expert,
        3..=7 => Proficiency::Working,
        _ => Proficiency::Learning,
    }
}

fn arrangement(rng: &mut Rng) -> WorkArrangement {
    match rng.below(10) {
        0..=3 => WorkArrangement::Remote,
        4..=6 => WorkArrangement::Hybrid,
        _ => WorkArrangement::Onsite,
    }
}

impl Market {
    /// The same seed gives the same market, and a larger market starts with a smaller one's
    /// jobs and candidates (each has a stream of its own).
    fn generate(jobs: usize, candidates: usize) -> Self {
        let mut rng = Rng(2026);
        let sizes = [
            CompanySize::Startup,
            CompanySize::Small,
            CompanySize::Medium,
            CompanySize::Large,
            CompanySize::Enterprise,
        ];
        let paces = [Pace::Steady, Pace::Balanced, Pace::Fast];
        let employers: Vec<SyntheticEmployer> = (0..EMPLOYERS)
            .map(|n| SyntheticEmployer {
                id: rng.id(),
                profile: EmployerProfile {
                    name: format!("Company {n}"),
                    size: Some(sizes[rng.below(sizes.len())]),
                    industry: Some(INDUSTRIES[rng.below(INDUSTRIES.len())].to_owned()),
                    pace: Some(paces[rng.below(paces.len())]),
                    website: None,
                },
            })
            .collect();
        let mut rng = Rng(2027);
        let jobs = (0..jobs)
            .map(|n| {
                let employer = &employers[rng.below(employers.len())];
                let family = &FAMILIES[rng.popular(FAMILIES.len())];
                let (level, min_years, base) = SENIORITY[rng.below(SENIORITY.len())];
                let title = family.titles[rng.below(family.titles.len())];
                let (city, currency) = CITIES[rng.below(CITIES.len())];
                let count = 3 + rng.below(3);
                let skills = pick_skills(&mut rng, family, count);
                let industry = employer.profile.industry.clone().unwrap_or_default();
                let description = format!(
                    "We are a {industry} company. As {title} in team {n} you will {} using {}. \
                     {} years of experience or more.",
                    family.work[rng.below(family.work.len())],
                    skills.join(", "),
                    min_years,
                );
                let min = base + 5_000 * rng.below(5) as i64;
                SyntheticJob {
                    id: rng.id(),
                    employer_id: employer.id,
                    details: JobDetails {
                        title: format!("{level} {title}").trim().to_owned(),
                        description,
                        skills: skills
                            .into_iter()
                            .map(|name| Skill {
                                name: name.to_owned(),
                                proficiency: if rng.chance(30) {
                                    Proficiency::Expert
                                } else {
                                    Proficiency::Working
                                },
                            })
                            .collect(),
                        min_years,
                        salary: Some(SalaryRange {
                            min,
                            max: min + 20_000,
                            currency: currency.to_owned(),
                        }),
                        locations: vec![city.to_owned()],
                        remote: arrangement(&mut rng),
                        work_authorizations: Vec::new(),
                        department: None,
                        employment_type: Some("full-time".into()),
                        source: JobSource::default(),
                    },
                }
            })
            .collect();
        let mut rng = Rng(2028);
        let candidates = (0..candidates)
            .map(|_| {
                let family = &FAMILIES[rng.popular(FAMILIES.len())];
                let (level, _, base) = SENIORITY[rng.below(SENIORITY.len())];
                let years = rng.below(16) as i32;
                let title = family.titles[rng.below(family.titles.len())];
                let (city, currency) = CITIES[rng.below(CITIES.len())];
                let count = 4 + rng.below(4);
                let mut skills: Vec<Skill> = pick_skills(&mut rng, family, count)
                    .into_iter()
                    .map(|name| Skill {
                        name: name.to_owned(),
                        proficiency: proficiency(&mut rng),
                    })
                    .collect();
                if rng.chance(40) {
                    let other = &FAMILIES[rng.below(FAMILIES.len())];
                    let name = other.skills[rng.below(other.skills.len())];
                    if !skills.iter().any(|s| s.name == name) {
                        skills.push(Skill {
                            name: name.to_owned(),
                            proficiency: Proficiency::Learning,
                        });
                    }
                }
                let industry = INDUSTRIES[rng.below(INDUSTRIES.len())];
                SyntheticCandidate {
                    id: rng.id(),
                    profile: CandidateProfile {
                        headline: format!("{level} {title}").trim().to_owned(),
                        summary: format!(
                            "{years} years of experience; I {} in {industry}.",
                            family.work[rng.below(family.work.len())]
                        ),
                        skills,
                        years_experience: years,
                        industries: vec![industry.to_owned()],
                        target_titles: vec![title.to_owned()],
                        min_salary: rng.chance(70).then(|| MinimumSalary {
                            amount: base - 10_000 + 5_000 * rng.below(4) as i64,
                            currency: currency.to_owned(),
                        }),
                        locations: vec![city.to_owned()],
                        remote: arrangement(&mut rng),
                        work_authorizations: Vec::new(),
                        company_size: rng.chance(60).then(|| sizes[rng.below(sizes.len())]),
                        pace: rng.chance(60).then(|| paces[rng.below(paces.len())]),
                        experience: Vec::new(),
                        education: Vec::new(),
                    },
                }
            })
            .collect();
        Self {
            employers,
            jobs,
            candidates,
        }
    }
}
