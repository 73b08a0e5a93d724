//! Assembling the processes: the API server, the relay and the projectors, each stopping
//! gracefully when the shared shutdown token is cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use commands::audit::Notary;
use commands::embeddings::cache::CachedEmbedder;
use commands::embeddings::local::LocalEmbedder;
use commands::embeddings::openai::{OpenAiEmbedder, OpenAiEmbedderConfig};
use commands::embeddings::{Embedder, EmbeddingError};
use commands::health::{Health, PartHealth};
use commands::privacy::MasterKeys;
use commands::providers::local::LocalWriter;
use commands::providers::openai::{OpenAiConfig, OpenAiWriter};
use commands::providers::DocumentWriter;
use commands::relay::{KafkaClient, KafkaConfig, Relay, RelayConfig};
use commands::CommandService;
use futures::FutureExt as _;
use projections::applications::ApplicationsProjector;
use projections::conversations::ConversationsProjector;
use projections::documents::DocumentsProjector;
use projections::jobs::JobsProjector;
use projections::ledger::LedgerProjector;
use projections::matches::MatchesProjector;
use projections::matching::feeds::JobSearch;
use projections::matching::{MatchingConfig, MatchingProjector};
use projections::notifications::NotificationsProjector;
use projections::profiles::ProfilesProjector;
use projections::progress::Progress;
use projections::reactors::{DocumentRefunds, DocumentWorker, Reactor, RetryPolicy};
use projections::rebuild::{RebuildHandle, RebuildProgress};
#[cfg(feature = "embedded-index")]
use projections::vectors::edge::EdgeIndex;
use projections::vectors::server::ServerIndex;
use projections::vectors::VectorIndex;
use projections::{Projection, Projector, ProjectorConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::{self, HttpLimits};
use crate::auth::{Authenticator, TokenKeys};
use crate::consumer::Consumer;
use crate::rate_limit::RateLimit;
use crate::routes::payments::WebhookVerifier;
use crate::settings::{LlmProvider, Settings};
use crate::state::AppState;

/// The read models that have not applied every event at or before global position
/// `through`, with how many they miss.
pub async fn read_models_behind(
    pool: &PgPool,
    through: i64,
) -> Result<Vec<(&'static str, i64)>, projections::Error> {
    let mut behind = Vec::new();
    for (name, types) in Consumer::read_models() {
        let missing = projections::progress::unapplied(pool, name, types, through).await?;
        if missing > 0 {
            behind.push((name, missing));
        }
    }
    Ok(behind)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Commands(#[from] commands::Error),
    #[error(transparent)]
    Projections(#[from] projections::Error),
    #[error(transparent)]
    PublicSecret(#[from] crate::settings::PublicSecret),
    #[error("HIRESTREAM_AUDIT__SIGNING_KEY: {0}")]
    AuditKey(#[from] commands::audit::notary::BadKey),
    #[error("HIRESTREAM_PRIVACY__MASTER_KEY or HIRESTREAM_PRIVACY__PREVIOUS_MASTER_KEYS: {0}")]
    MasterKey(#[from] commands::privacy::BadMasterKey),
    #[error("HIRESTREAM_MAIL__SMTP_URL or HIRESTREAM_MAIL__FROM: {0}")]
    Mailer(#[from] commands::accounts::mail::MailerError),
}

/// A part of the process stopped with an error (logged where it happened).
#[derive(Debug, thiserror::Error)]
#[error("{0} failed")]
pub struct PartFailed(pub String);

pub fn kafka_client(settings: &Settings) -> KafkaClient {
    KafkaClient {
        brokers: settings.kafka.brokers.clone(),
        properties: settings.kafka.properties.clone(),
    }
}

pub fn kafka_config(settings: &Settings) -> KafkaConfig {
    KafkaConfig {
        client: kafka_client(settings),
        topic_prefix: settings.kafka.topic_prefix.clone(),
        partitions: settings.kafka.partitions,
        replication_factor: settings.kafka.replication_factor,
        message_timeout: Duration::from_millis(settings.kafka.message_timeout_ms),
    }
}

pub fn relay_config(settings: &Settings) -> RelayConfig {
    RelayConfig {
        name: settings.relay.name.clone(),
        kafka: kafka_config(settings),
        batch_size: settings.relay.batch_size,
        idle_poll: Duration::from_millis(settings.relay.idle_poll_ms),
        retry_backoff: Duration::from_millis(settings.relay.retry_backoff_ms),
    }
}

pub fn projector_config(settings: &Settings) -> ProjectorConfig {
    ProjectorConfig {
        stall_after: Duration::from_millis(settings.projector.stall_after_ms),
        kafka: kafka_client(settings),
        topic_prefix: settings.kafka.topic_prefix.clone(),
        batch_size: settings.projector.batch_size,
        retry_backoff: Duration::from_millis(settings.projector.retry_backoff_ms),
        master_keys: master_keys(settings),
    }
}

/// The configured master keys; [`start`] refuses to run with keys that do not parse, so the
/// development key stands in only where nothing started (a unit test of the settings).
pub fn master_keys(settings: &Settings) -> MasterKeys {
    settings
        .privacy
        .master_keys()
        .unwrap_or_else(|_| MasterKeys::development())
}

/// The command service with the configured master keys.
pub fn command_service(settings: &Settings, pool: PgPool) -> Arc<CommandService> {
    Arc::new(
        CommandService::new(
            pool,
            commands::service::DEFAULT_MAX_ATTEMPTS,
            master_keys(settings),
        )
        .with_account_policy(settings.auth.account_policy()),
    )
}

/// The verifier of every kind of token the settings accept.
pub fn authenticator(settings: &Settings) -> Authenticator {
    Authenticator {
        local: TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes()),
        issuers: settings.auth.issuers(),
        access_ttl_secs: settings.auth.access_token_ttl_secs,
    }
}

pub async fn connect(settings: &Settings) -> Result<PgPool, commands::Error> {
    commands::db::connect(
        settings.database.url.expose(),
        settings.database.max_connections,
    )
    .await
}

pub fn app_state(
    settings: &Settings,
    pool: PgPool,
    matching: Option<&Matching>,
    health: Health,
    rebuilds: Rebuilds,
    shutdown: CancellationToken,
) -> AppState {
    AppState {
        health,
        rebuilds,
        shutdown,
        search: matching.map(|m| JobSearch {
            index: Arc::clone(&m.index),
            embedder: Arc::clone(&m.model),
        }),
        commands: command_service(settings, pool.clone()),
        progress: Progress::listen(pool.clone()),
        pool,
        auth: Arc::new(authenticator(settings)),
        key_limits: crate::api_keys::limiter(),
        suspensions: Default::default(),
        consistency_wait: settings.consistency_wait(),
        imports: Arc::new(settings.imports.fetch_policy()),
        audit_key: settings.audit.signer().ok().map(|s| s.public_key()),
        webhook: Arc::new(WebhookVerifier::new(
            settings.payments.webhook_secret.expose().as_bytes(),
            Duration::from_secs(settings.payments.tolerance_secs),
        )),
    }
}

/// Binds the API's address; port 0 picks a free one.
pub async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.to_owned(),
            source,
        })
}

/// Serves the API until shutdown; requests in flight are finished first.
pub async fn serve(
    listener: TcpListener,
    settings: &Settings,
    pool: PgPool,
    matching: Option<&Matching>,
    health: Health,
    rebuilds: Rebuilds,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = HttpLimits {
        request_timeout: Duration::from_millis(settings.http.request_timeout_ms),
        body_limit_bytes: settings.http.body_limit_bytes,
        cors_origins: settings.http.cors_origins.clone(),
        rate_limit: (settings.http.rate_limit_per_second > 0.0).then(|| RateLimit {
            per_second: settings.http.rate_limit_per_second,
            burst: settings.http.rate_limit_burst.max(1.0),
        }),
    };
    let state = app_state(settings, pool, matching, health, rebuilds, shutdown.clone());
    let router = app::router(state, limits);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening");
    }
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}

/// What matching needs, opened once per process and shared by the matching projector and
/// the API's search: the vector index and the embedding model.
#[derive(Debug, Clone)]
pub struct Matching {
    pub index: Arc<dyn VectorIndex>,
    /// The model itself, for search queries.
    pub model: Arc<dyn Embedder>,
    /// The model behind the embedding cache, for profiles and jobs.
    pub cached: Arc<dyn Embedder>,
}

impl Matching {
    /// Loads the embedding model and opens the index the settings choose: a Qdrant server
    /// when one is configured, else the embedded engine in the data directory.
    pub async fn open(settings: &Settings, pool: PgPool) -> Result<Self, projections::Error> {
        let model = embedder(settings)?;
        let m = &settings.matching;
        let dimensions = model.dimensions();
        let index: Arc<dyn VectorIndex> = if m.qdrant_url.is_empty() {
            embedded_index(&m.data_dir, dimensions)?
        } else {
            let api_key = Some(m.qdrant_api_key.expose().to_owned()).filter(|k| !k.is_empty());
            Arc::new(
                ServerIndex::connect(&m.qdrant_url, api_key, &m.collection_prefix, dimensions)
                    .await?,
            )
        };
        Ok(Self {
            index,
            cached: Arc::new(CachedEmbedder::new(Arc::clone(&model), pool)),
            model,
        })
    }
}

#[cfg(feature = "embedded-index")]
fn embedded_index(
    dir: &str,
    dimensions: usize,
) -> Result<Arc<dyn VectorIndex>, projections::Error> {
    Ok(Arc::new(EdgeIndex::open(
        std::path::Path::new(dir),
        dimensions,
    )?))
}

#[cfg(not(feature = "embedded-index"))]
fn embedded_index(
    dir: &str,
    _dimensions: usize,
) -> Result<Arc<dyn VectorIndex>, projections::Error> {
    Err(projections::vectors::IndexError::Open {
        path: dir.to_owned(),
        reason: "this binary is built without the embedded engine (feature embedded-index): \
                 set QDRANT_URL to a Qdrant server"
            .into(),
    }
    .into())
}

pub fn matching_config(settings: &Settings) -> MatchingConfig {
    MatchingConfig {
        neighbours: settings.matching.neighbours.max(1),
        feed_size: settings.matching.feed_size.max(1),
        refill_below: settings.matching.refill_below,
    }
}

/// Where a replay reads the history from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReplaySource {
    /// The PostgreSQL event store, in the relay's order, then the topics from where it ends.
    #[default]
    Store,
    /// The Kafka topics from their start, with a new consumer group.
    Kafka,
}

/// A rebuild of a projection from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replay {
    pub from: ReplaySource,
    /// Stop once the rebuild has caught up instead of going on consuming.
    pub until_caught_up: bool,
}

/// Runs `consumer`; with `replay`, rebuilds its read model from zero first (a reactor has
/// none: asking it to replay is an error). The matching projector uses `matching` when
/// given, else opens its own.
pub async fn run_projector(
    consumer: Consumer,
    settings: &Settings,
    pool: PgPool,
    replay: Option<Replay>,
    matching: Option<Matching>,
    part: Part,
    shutdown: CancellationToken,
) -> Result<(), projections::Error> {
    let config = projector_config(settings);
    let Part { health, rebuild } = part;
    let run_args = RunArgs {
        pool: pool.clone(),
        config: config.clone(),
        replay,
        health: health.clone(),
        rebuild,
        shutdown: shutdown.clone(),
    };
    match consumer {
        Consumer::Matches => run(MatchesProjector, run_args).await,
        Consumer::Matching => {
            let matching = match matching {
                Some(matching) => matching,
                None => Matching::open(settings, pool.clone()).await?,
            };
            let projector =
                MatchingProjector::new(matching.index, matching.cached, matching_config(settings));
            run(projector, run_args).await
        }
        Consumer::Ledger => run(LedgerProjector, run_args).await,
        Consumer::Profiles => run(ProfilesProjector, run_args).await,
        Consumer::Jobs => run(JobsProjector, run_args).await,
        Consumer::Applications => run(ApplicationsProjector, run_args).await,
        Consumer::Documents => run(DocumentsProjector, run_args).await,
        Consumer::Conversations => run(ConversationsProjector, run_args).await,
        Consumer::Notifications => {
            let projector = NotificationsProjector::default();
            run(projector, run_args).await
        }
        Consumer::DocumentWorker | Consumer::DocumentRefunds if replay.is_some() => {
            Err(projections::Error::UnknownProjection(format!(
                "{consumer} (a reactor keeps no read model to replay)"
            )))
        }
        Consumer::DocumentWorker => {
            let worker = DocumentWorker::new(
                command_service(settings, pool),
                writer(settings),
                retry_policy(settings),
            );
            Reactor::new(worker, config)
                .with_health(health)
                .run(shutdown)
                .await
        }
        Consumer::DocumentRefunds => {
            let refunds = DocumentRefunds::new(command_service(settings, pool));
            Reactor::new(refunds, config)
                .with_health(health)
                .run(shutdown)
                .await
        }
    }
}

/// The document writer the settings choose.
pub fn writer(settings: &Settings) -> Arc<dyn DocumentWriter> {
    let llm = &settings.llm;
    match llm.provider {
        LlmProvider::Local => Arc::new(LocalWriter),
        LlmProvider::Openai => Arc::new(OpenAiWriter::new(OpenAiConfig {
            base_url: llm.base_url.clone(),
            api_key: llm.api_key.expose().to_owned(),
            model: llm.model.clone(),
            timeout: Duration::from_millis(llm.timeout_ms),
            input_micros_per_1k: llm.input_micros_per_1k,
            output_micros_per_1k: llm.output_micros_per_1k,
        })),
    }
}

/// The embedding model the settings choose; the local one is loaded from its files.
pub fn embedder(settings: &Settings) -> Result<Arc<dyn Embedder>, EmbeddingError> {
    let e = &settings.embeddings;
    Ok(match e.provider {
        LlmProvider::Local => Arc::new(LocalEmbedder::load(std::path::Path::new(&e.model_dir))?),
        LlmProvider::Openai => Arc::new(OpenAiEmbedder::new(OpenAiEmbedderConfig {
            base_url: e.base_url.clone(),
            api_key: e.api_key.expose().to_owned(),
            model: e.model.clone(),
            dimensions: e.dimensions,
            timeout: Duration::from_millis(e.timeout_ms),
        })),
    })
}

pub fn retry_policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_attempts: settings.llm.max_attempts.max(1),
        first_backoff: Duration::from_millis(settings.llm.first_backoff_ms),
        max_backoff: Duration::from_millis(settings.llm.max_backoff_ms),
    }
}

/// What running one projection takes, beside the projection.
struct RunArgs {
    pool: PgPool,
    config: ProjectorConfig,
    replay: Option<Replay>,
    health: PartHealth,
    rebuild: Option<RebuildHandle>,
    shutdown: CancellationToken,
}

async fn run<P: Projection>(projection: P, args: RunArgs) -> Result<(), projections::Error> {
    let RunArgs {
        pool,
        config,
        replay,
        health,
        rebuild,
        shutdown,
    } = args;
    let mut projector = Projector::new(projection, pool, config).with_health(health);
    if let Some(handle) = rebuild {
        projector = projector.with_rebuilds(handle);
    }
    if let Some(replay) = replay {
        let mut report = ProgressReport::new(P::NAME);
        let done = match replay.from {
            ReplaySource::Store => {
                projector
                    .rebuild_from_store(|progress| report.show(progress))
                    .await?
            }
            ReplaySource::Kafka => {
                projector
                    .rebuild_from_kafka(&shutdown, |progress| report.show(progress))
                    .await?
            }
        };
        report.finish(&done);
        if replay.until_caught_up {
            return Ok(());
        }
    }
    projector.run(shutdown).await
}

/// Shows a rebuild's progress: a line redrawn in place on a terminal, a log line every few
/// seconds otherwise.
#[derive(Debug)]
struct ProgressReport {
    name: &'static str,
    terminal: bool,
    last: Option<std::time::Instant>,
}

impl ProgressReport {
    fn new(name: &'static str) -> Self {
        use std::io::IsTerminal;
        Self {
            name,
            terminal: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn show(&mut self, progress: &RebuildProgress) {
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.is_some_and(|last| last.elapsed() < every) {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let left = progress.remaining().map_or_else(
            || "-".to_owned(),
            |left| format!("{:.0} s", left.as_secs_f64()),
        );
        let line = format!(
            "{}: {} of {} events, {:.0} events/s, {left} left",
            self.name,
            progress.read,
            progress.total,
            progress.rate()
        );
        if self.terminal {
            eprint!("\r{line}\x1b[K");
        } else {
            tracing::info!("{line}");
        }
    }

    fn finish(&self, progress: &RebuildProgress) {
        if self.terminal {
            eprintln!();
        }
        tracing::info!(
            projection = self.name,
            events = progress.read,
            seconds = progress.elapsed.as_secs_f64(),
            events_per_second = progress.rate(),
            "rebuild caught up"
        );
    }
}

/// What ties a projector to the process it runs in: its health, and the handle through which
/// an admin may ask it to rebuild (none for a one-off replay).
#[derive(Debug, Clone)]
pub struct Part {
    pub health: PartHealth,
    pub rebuild: Option<RebuildHandle>,
}

/// The rebuild handles of the projectors this process runs, by projection name.
#[derive(Debug, Clone, Default)]
pub struct Rebuilds(Arc<std::collections::BTreeMap<&'static str, RebuildHandle>>);

impl Rebuilds {
    pub fn of(&self, projection: &str) -> Option<&RebuildHandle> {
        self.0.get(projection)
    }
}

/// What one process runs.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub api: bool,
    pub relay: bool,
    pub projectors: Vec<Consumer>,
}

impl Parts {
    pub fn everything() -> Self {
        Self {
            api: true,
            relay: true,
            projectors: Consumer::ALL.to_vec(),
        }
    }
}

/// Running parts of a process.
#[derive(Debug)]
pub struct Started {
    /// Where the API listens, when it runs.
    pub addr: Option<SocketAddr>,
    tasks: JoinSet<Result<(), PartFailed>>,
}

impl Started {
    /// Waits until every part has stopped (after shutdown was requested, or a failure).
    pub async fn wait(self) {
        self.outcome().await.ok();
    }

    /// Waits like [`Started::wait`], then tells a clean stop from a part that failed (or
    /// panicked): the first failure, if any.
    pub async fn outcome(mut self) -> Result<(), PartFailed> {
        let mut outcome = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            let stopped = joined.unwrap_or_else(|e| Err(PartFailed(format!("a task ({e})"))));
            outcome = outcome.and(stopped);
        }
        outcome
    }
}

/// Starts the given parts against a migrated database; topics are created when missing.
pub async fn start(
    settings: &Settings,
    pool: PgPool,
    parts: Parts,
    shutdown: CancellationToken,
) -> Result<Started, StartError> {
    if parts.api {
        settings.refuse_public_secrets()?;
    }
    let signer = settings.audit.signer()?;
    settings.privacy.master_keys()?;
    if parts.relay {
        settings.refuse_public_audit_key()?;
    }
    if parts.relay || !parts.projectors.is_empty() {
        kafka_config(settings)
            .ensure_topics(domain::AGGREGATE_TYPES)
            .await?;
    }
    // The embedded index belongs to one process: the one that runs the matching projector,
    // whose API (if any) searches it too. With a Qdrant server, every API can search.
    let runs_matching = parts.projectors.contains(&Consumer::Matching);
    let matching = if runs_matching || (parts.api && !settings.matching.qdrant_url.is_empty()) {
        Some(Matching::open(settings, pool.clone()).await?)
    } else {
        None
    };
    let mut tasks = JoinSet::new();
    let mut addr = None;
    crate::metrics::handle();
    tasks.spawn(crate::metrics::upkeep(shutdown.clone()).map(Ok));
    let metrics_addr = &settings.telemetry.metrics_addr;
    if !parts.api && !metrics_addr.is_empty() {
        let listener = bind(metrics_addr).await?;
        tracing::info!(addr = %metrics_addr, "serving /metrics");
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            crate::metrics::serve(listener, shutdown)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "metrics server failed");
                    PartFailed("the metrics server".into())
                })
        });
    }
    let health = Health::default();
    let handles: std::collections::BTreeMap<&'static str, RebuildHandle> = parts
        .projectors
        .iter()
        .filter(|c| c.read_model().is_some())
        .map(|c| (c.name(), RebuildHandle::default()))
        .collect();
    let rebuilds = Rebuilds(Arc::new(handles));
    if parts.api {
        let listener = bind(&settings.http.addr).await?;
        addr = listener.local_addr().ok();
        let (settings, pool, shutdown) = (settings.clone(), pool.clone(), shutdown.clone());
        let (matching, health, rebuilds) = (matching.clone(), health.clone(), rebuilds.clone());
        tasks.spawn(async move {
            if let Err(error) = serve(
                listener,
                &settings,
                pool,
                matching.as_ref(),
                health,
                rebuilds,
                shutdown.clone(),
            )
            .await
            {
                tracing::error!(%error, "API server failed");
                shutdown.cancel();
                return Err(PartFailed("the API server".into()));
            }
            Ok(())
        });
    }
    if parts.relay {
        let relay =
            Relay::new(pool.clone(), relay_config(settings)).with_health(health.part("relay"));
        let notary = Notary::new(pool.clone(), signer, settings.audit.notary_config())
            .with_health(health.part("notary"));
        let (relay_shutdown, notary_shutdown) = (shutdown.clone(), shutdown.clone());
        tasks.spawn(async move {
            relay.run(relay_shutdown).await;
            Ok(())
        });
        tasks.spawn(async move {
            notary.run(notary_shutdown).await;
            Ok(())
        });
        // The outbox of emails is sent beside the outbox of events.
        let mailer = settings.mail.mailer()?;
        tasks.spawn(commands::accounts::mail::run(pool.clone(), mailer, shutdown.clone()).map(Ok));
    }
    for consumer in parts.projectors {
        let (settings, pool, shutdown) = (settings.clone(), pool.clone(), shutdown.clone());
        let matching = matching.clone();
        let part = health.part(consumer.name());
        let rebuild = rebuilds.of(consumer.name()).cloned();
        tasks.spawn(async move {
            let hooks = Part {
                health: part.clone(),
                rebuild,
            };
            let result = run_projector(
                consumer,
                &settings,
                pool,
                None,
                matching,
                hooks,
                shutdown.clone(),
            )
            .await;
            if let Err(error) = result {
                let error = domain::error_chain(&error);
                part.failed(error.clone());
                tracing::error!(projection = %consumer, %error, "projector failed");
                shutdown.cancel();
                return Err(PartFailed(format!("projector {consumer}")));
            }
            Ok(())
        });
    }
    Ok(Started { addr, tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(outcomes: Vec<Result<(), PartFailed>>) -> Started {
        let mut tasks = JoinSet::new();
        for outcome in outcomes {
            tasks.spawn(async move { outcome });
        }
        Started { addr: None, tasks }
    }

    #[tokio::test]
    async fn the_outcome_tells_a_failed_or_panicked_part_from_a_clean_stop() {
        assert!(started(vec![Ok(()), Ok(())]).outcome().await.is_ok());
        let failed = started(vec![Ok(()), Err(PartFailed("projector ledger".into()))]);
        assert_eq!(
            failed.outcome().await.expect_err("failed").to_string(),
            "projector ledger failed"
        );
        let mut tasks = JoinSet::new();
        tasks.spawn(async { panic!("a bug") });
        let panicked = Started { addr: None, tasks };
        assert!(panicked.outcome().await.is_err());
    }
}
