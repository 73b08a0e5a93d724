//! The projector runtime: one Kafka consumer group per projection.
//!
//! Messages are applied in batches, each in one PostgreSQL transaction that also records, per
//! aggregate, the last sequence applied (`projection_applied`). A message whose sequence is
//! not newer than the recorded one is a redelivery (the relay publishes at least once, and a
//! consumer may restart before committing its offsets) and is skipped, so every event takes
//! effect exactly once. Kafka offsets are committed only after the transaction.
//!
//! A replay deletes the read model and the records, then starts a new consumer group (a new
//! generation) that reads every topic from the beginning.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use commands::health::PartHealth;
use commands::privacy::{Keyring, MasterKeys};
use domain::error_chain;
use domain::personal::personal_fields;
use domain::published::{topic, PublishedEvent};
use futures::FutureExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::rebuild::RebuildHandle;
use crate::Error;

/// A read model built from events.
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the key of its checkpoint and part of its consumer group.
    const NAME: &'static str;
    /// The aggregate types whose topics it consumes.
    const AGGREGATE_TYPES: &'static [&'static str];

    /// Applies one event inside the batch's transaction.
    fn apply(
        &self,
        tx: &mut PgConnection,
        event: &PublishedEvent,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Applies the new events of a batch, in order, inside the batch's transaction. The
    /// default applies them one by one; a read model may write them in bulk.
    fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[&PublishedEvent],
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            for event in events {
                self.apply(tx, event)
                    .instrument(event_span(Self::NAME, event))
                    .await?;
            }
            Ok(())
        }
    }

    /// Deletes everything the projection built, before a replay.
    fn reset(&self, tx: &mut PgConnection) -> impl Future<Output = Result<(), Error>> + Send;

    /// Runs once per batch, after its events and in the same transaction: for read models
    /// that derive work from everything the batch changed, done once.
    fn finish_batch(
        &self,
        _tx: &mut PgConnection,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    /// How long a consumer may make no progress while work is pending before it is
    /// replaced.
    pub stall_after: Duration,
    pub kafka: commands::relay::KafkaClient,
    pub topic_prefix: String,
    /// Most messages applied in one transaction.
    pub batch_size: usize,
    /// Pause before retrying a batch after a database failure.
    pub retry_backoff: Duration,
    /// Open the personal fields of events (sealed on the write side) before a read model
    /// sees them.
    pub master_keys: MasterKeys,
}

const ENSURE_CHECKPOINT: &str =
    "INSERT INTO projection_checkpoint (projection) VALUES ($1) ON CONFLICT DO NOTHING";

const SELECT_GENERATION: &str =
    "SELECT generation FROM projection_checkpoint WHERE projection = $1";

/// Makes sure each aggregate of a batch has a row (sequence 0 when new), so that the lock
/// taken next covers aggregates never seen before too.
const ENSURE_APPLIED_ROWS: &str = "
INSERT INTO projection_applied (projection, aggregate_type, aggregate_id, sequence, global_position)
SELECT $1, t.aggregate_type, t.aggregate_id, 0, 0
  FROM unnest($2::text[], $3::text[]) AS t(aggregate_type, aggregate_id)
ON CONFLICT DO NOTHING";

/// The last sequence applied of each aggregate of a batch, locked until the batch commits:
/// a projector sharing the group that receives the same events during a rebalance waits,
/// then sees them applied.
const LOCK_APPLIED: &str = "
SELECT a.aggregate_type, a.aggregate_id, a.sequence
  FROM projection_applied a
  JOIN unnest($2::text[], $3::text[]) AS t(aggregate_type, aggregate_id)
    ON a.aggregate_type = t.aggregate_type AND a.aggregate_id = t.aggregate_id
 WHERE a.projection = $1
 ORDER BY a.aggregate_type, a.aggregate_id
   FOR UPDATE OF a";

/// Records the last sequence the batch applied of each aggregate.
const RECORD_APPLIED: &str = "
UPDATE projection_applied a
   SET sequence = t.sequence, global_position = t.global_position, applied_at = now()
  FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])
       AS t(aggregate_type, aggregate_id, sequence, global_position)
 WHERE a.projection = $1 AND a.aggregate_type = t.aggregate_type
   AND a.aggregate_id = t.aggregate_id";

const ADVANCE_CHECKPOINT: &str = "
UPDATE projection_checkpoint
   SET events_applied = events_applied + $2,
       events_skipped = events_skipped + $4,
       last_position = GREATEST(COALESCE(last_position, 0), $3),
       updated_at = now()
 WHERE projection = $1";

const RESET_CHECKPOINT: &str = "
UPDATE projection_checkpoint
   SET generation = generation + 1, events_applied = 0, events_skipped = 0, last_position = NULL,
       updated_at = now()
 WHERE projection = $1";

/// Runs one projection.
#[derive(Debug)]
pub struct Projector<P> {
    health: PartHealth,
    projection: P,
    pool: PgPool,
    config: ProjectorConfig,
    keyring: Keyring,
    /// Rebuilds asked while it runs, when someone may ask.
    rebuilds: Option<RebuildHandle>,
}

/// How a batch went: events applied, and redeliveries or unreadable messages skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct BatchOutcome {
    applied: usize,
    skipped: usize,
}

impl<P: Projection> Projector<P> {
    pub fn new(projection: P, pool: PgPool, config: ProjectorConfig) -> Self {
        Self {
            health: PartHealth::detached(P::NAME),
            projection,
            keyring: Keyring::new(pool.clone(), config.master_keys.clone()),
            pool,
            config,
            rebuilds: None,
        }
    }

    /// Rebuilds from the event store, while running, whenever `handle` asks.
    pub fn with_rebuilds(mut self, handle: RebuildHandle) -> Self {
        self.rebuilds = Some(handle);
        self
    }

    async fn rebuild_asked(&self) {
        match &self.rebuilds {
            Some(handle) => handle.asked().await,
            None => std::future::pending().await,
        }
    }

    /// A rebuild someone asked for: from the store, reporting to the handle. A failure is
    /// reported and the projector goes on, from the start of the new generation's topics.
    async fn rebuild_on_request(&self) {
        let Some(handle) = &self.rebuilds else {
            return;
        };
        tracing::info!(
            projection = P::NAME,
            "rebuild asked; rebuilding from the event store"
        );
        match self
            .rebuild_from_store(|progress| handle.progressed(progress))
            .await
        {
            Ok(done) => handle.finished(Ok(&done)),
            Err(error) => {
                let error = error_chain(&error);
                tracing::error!(projection = P::NAME, %error, "asked rebuild failed");
                handle.finished(Err(error));
            }
        }
    }

    /// Reports this projector's state to `health`.
    pub fn with_health(mut self, health: PartHealth) -> Self {
        self.health = health;
        self
    }

    pub fn projection(&self) -> &P {
        &self.projection
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn config(&self) -> &ProjectorConfig {
        &self.config
    }

    /// The consumer group of the projection's current generation.
    pub(crate) async fn group(&self) -> Result<String, Error> {
        sqlx::query(ENSURE_CHECKPOINT)
            .bind(P::NAME)
            .execute(&self.pool)
            .await?;
        let generation: i32 = sqlx::query_scalar(SELECT_GENERATION)
            .bind(P::NAME)
            .fetch_one(&self.pool)
            .await?;
        Ok(format!(
            "{}.projector.{}.g{generation}",
            self.config.topic_prefix,
            P::NAME
        ))
    }

    /// Deletes the read model and what it recorded as applied, and moves to a new consumer
    /// group generation, so the next run rebuilds it from the start of every topic.
    pub async fn reset(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(commands::relay::MARK_PROJECTING)
            .execute(&mut *tx)
            .await?;
        sqlx::query(ENSURE_CHECKPOINT)
            .bind(P::NAME)
            .execute(&mut *tx)
            .await?;
        self.projection.reset(&mut tx).await?;
        sqlx::query("DELETE FROM projection_applied WHERE projection = $1")
            .bind(P::NAME)
            .execute(&mut *tx)
            .await?;
        sqlx::query(RESET_CHECKPOINT)
            .bind(P::NAME)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(projection = P::NAME, "projection reset for replay");
        Ok(())
    }

    /// Consumes and applies events until `shutdown` is cancelled. The batch in flight is
    /// finished and its offsets committed before returning.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), Error> {
        self.consume(&shutdown, None, &mut |_| {}).await
    }

    /// Consumes until `shutdown`, or until every partition of `until` has been read up to
    /// its offset; `on_batch` hears how many messages each batch held.
    pub(crate) async fn consume(
        &self,
        shutdown: &CancellationToken,
        until: Option<&TopicPartitionList>,
        on_batch: &mut (dyn FnMut(usize) + Send),
    ) -> Result<(), Error> {
        let mut remaining: HashMap<(String, i32), i64> = until
            .map(|until| {
                until
                    .elements()
                    .iter()
                    .filter_map(|e| {
                        Some(((e.topic().to_owned(), e.partition()), e.offset().to_raw()?))
                    })
                    .filter(|(_, end)| *end > 0)
                    .collect()
            })
            .unwrap_or_default();
        loop {
            match self
                .consume_once(shutdown, until.is_some(), &mut remaining, on_batch)
                .await?
            {
                Consumed::Done => return Ok(()),
                // A consumer that makes no progress while work waits is replaced: the new
                // one joins the group afresh and fetches from the committed offsets.
                Consumed::Stalled => continue,
                // The next consumer joins the rebuild's new generation at its handover.
                Consumed::Rebuild => self.rebuild_on_request().await,
            }
        }
    }

    async fn consume_once(
        &self,
        shutdown: &CancellationToken,
        bounded: bool,
        remaining: &mut HashMap<(String, i32), i64>,
        on_batch: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Consumed, Error> {
        let group = self.group().await?;
        let consumer = Arc::new(subscribe(&self.config, &group, P::AGGREGATE_TYPES)?);
        tracing::info!(projection = P::NAME, %group, "projector started");
        self.health.running();
        let mut watchdog = Watchdog::new(self.config.stall_after);
        let mut check = tokio::time::interval(STALL_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        while !bounded || !remaining.is_empty() {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.rebuild_asked(), if !bounded => {
                    commit(&consumer)?;
                    return Ok(Consumed::Rebuild);
                }
                _ = check.tick() => {
                    let topics = topics(&self.config, P::AGGREGATE_TYPES);
                    let lag = group_lag(Arc::clone(&consumer), topics).await;
                    if let Some(lag) = lag {
                        self.health.lag(lag);
                        metrics::gauge!("hirestream_projector_lag_events", "projection" => P::NAME)
                            .set(lag as f64);
                    }
                    if watchdog.stalled(lag) {
                        let problem = format!(
                            "no progress for {:?} with {} events pending; rejoining the group",
                            self.config.stall_after,
                            lag.unwrap_or_default()
                        );
                        tracing::warn!(projection = P::NAME, %problem, "projector stalled");
                        self.health.stuck(problem);
                        commit(&consumer)?;
                        return Ok(Consumed::Stalled);
                    }
                    continue;
                }
                message = consumer.recv() => match message {
                    Ok(message) => message,
                    Err(error) => {
                        // The client reconnects by itself; report and keep consuming.
                        tracing::warn!(projection = P::NAME, %error, "kafka consumer error");
                        self.health.problem(error.to_string());
                        tokio::time::sleep(self.config.retry_backoff.min(Duration::from_millis(200))).await;
                        continue;
                    }
                },
            };
            let mut batch = vec![first];
            while batch.len() < self.config.batch_size {
                match consumer.recv().now_or_never() {
                    Some(message) => batch.push(message?),
                    None => break,
                }
            }
            self.apply_with_retry(&batch, shutdown).await?;
            for message in &batch {
                store_offset(&consumer, message, P::NAME);
                let key = (message.topic().to_owned(), message.partition());
                if remaining
                    .get(&key)
                    .is_some_and(|end| message.offset() + 1 >= *end)
                {
                    remaining.remove(&key);
                }
            }
            watchdog.progressed();
            self.health.progressed();
            on_batch(batch.len());
        }
        commit(&consumer)?;
        tracing::info!(projection = P::NAME, "projector stopped");
        Ok(Consumed::Done)
    }

    /// Applies a batch, retrying while the database is unavailable. Gives up only when
    /// shutdown is requested; the batch is then redelivered to the next run.
    async fn apply_with_retry(
        &self,
        batch: &[BorrowedMessage<'_>],
        shutdown: &CancellationToken,
    ) -> Result<(), Error> {
        let Ok(events) = batch.iter().map(decode).collect::<Result<Vec<_>, _>>() else {
            return self.apply_one_by_one(batch).await;
        };
        async {
            loop {
                match self.apply_events_counted(&events).await {
                    Ok(outcome) => {
                        tracing::debug!(?outcome, "batch applied");
                        return Ok(());
                    }
                    Err(error) if error.is_transient() => {
                        tracing::warn!(error = %error_chain(&error), "batch failed, retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return Err(error),
                            _ = tokio::time::sleep(self.config.retry_backoff) => {}
                        }
                    }
                    Err(_) => return self.apply_one_by_one(batch).await,
                }
            }
        }
        .instrument(batch_span(P::NAME, &events))
        .await
    }

    /// Applies each message of a batch that holds one that cannot be read or applied, and
    /// skips those: retrying cannot make them readable.
    async fn apply_one_by_one(&self, batch: &[BorrowedMessage<'_>]) -> Result<(), Error> {
        for message in batch {
            let event = match decode(message) {
                Ok(event) => event,
                Err(error) => {
                    tracing::error!(projection = P::NAME, error = %error_chain(&error), "skipping unreadable event");
                    continue;
                }
            };
            let span = event_span(P::NAME, &event);
            let applied = self
                .apply_events_counted(std::slice::from_ref(&event))
                .instrument(span.clone())
                .await;
            match applied {
                Ok(_) => {}
                Err(error) if error.is_transient() => return Err(error),
                Err(error) => span.in_scope(
                    || tracing::error!(error = %error_chain(&error), "skipping unreadable event"),
                ),
            }
        }
        Ok(())
    }

    /// Applies events in one transaction, as a batch read from the topics would be; events
    /// already applied are skipped. Returns how many were applied.
    pub async fn apply_events(&self, events: &[PublishedEvent]) -> Result<usize, Error> {
        let outcome = self
            .apply_events_counted(events)
            .instrument(batch_span(P::NAME, events))
            .await?;
        Ok(outcome.applied)
    }

    /// The events with their personal fields opened: copies of those that have any.
    async fn open<'a>(
        &self,
        events: &[&'a PublishedEvent],
    ) -> Result<Vec<Cow<'a, PublishedEvent>>, Error> {
        let mut opened: Vec<Cow<'a, PublishedEvent>> = events
            .iter()
            .map(|&event| {
                if personal_fields(&event.aggregate_type, &event.event_type).is_some() {
                    Cow::Owned(event.clone())
                } else {
                    Cow::Borrowed(event)
                }
            })
            .collect();
        let sealed = opened.iter_mut().filter_map(|event| match event {
            Cow::Owned(e) => Some((
                e.aggregate_type.as_str(),
                e.event_type.as_str(),
                &mut e.payload,
            )),
            Cow::Borrowed(_) => None,
        });
        self.keyring.open_all(sealed).await?;
        Ok(opened)
    }

    async fn apply_events_counted(&self, events: &[PublishedEvent]) -> Result<BatchOutcome, Error> {
        let started = std::time::Instant::now();
        let outcome = self.apply_events_once(events).await?;
        let projection = P::NAME;
        metrics::counter!("hirestream_projector_events_applied_total", "projection" => projection)
            .increment(outcome.applied as u64);
        metrics::counter!("hirestream_projector_events_skipped_total", "projection" => projection)
            .increment(outcome.skipped as u64);
        metrics::histogram!("hirestream_projector_batch_duration_seconds", "projection" => projection)
            .record(started.elapsed().as_secs_f64());
        if let Some(last) = events.last() {
            metrics::gauge!("hirestream_projector_lag_seconds", "projection" => projection)
                .set(commands::relay::seconds_since(last.recorded_at));
        }
        Ok(outcome)
    }

    async fn apply_events_once(&self, events: &[PublishedEvent]) -> Result<BatchOutcome, Error> {
        let mut outcome = BatchOutcome::default();
        let mut last_position = 0;
        // Each aggregate of the batch once, in one order, so concurrent batches lock alike.
        let aggregates: BTreeSet<(&str, &str)> = events
            .iter()
            .map(|e| (e.aggregate_type.as_str(), e.aggregate_id.as_str()))
            .collect();
        let (types, ids): (Vec<&str>, Vec<&str>) = aggregates.into_iter().unzip();
        let mut tx = self.pool.begin().await?;
        // A long batch (rescoring, a rebuild's) must not hold the relay back.
        sqlx::query(commands::relay::MARK_PROJECTING)
            .execute(&mut *tx)
            .await?;
        sqlx::query(ENSURE_APPLIED_ROWS)
            .bind(P::NAME)
            .bind(&types)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        let locked: Vec<(String, String, i64)> = sqlx::query_as(LOCK_APPLIED)
            .bind(P::NAME)
            .bind(&types)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let mut applied: HashMap<(String, String), (i64, i64)> = locked
            .into_iter()
            .map(|(aggregate_type, aggregate_id, sequence)| {
                ((aggregate_type, aggregate_id), (sequence, 0))
            })
            .collect();
        let mut changed = HashSet::new();
        let mut new_events = Vec::with_capacity(events.len());
        for event in events {
            let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
            let last = applied.entry(key.clone()).or_insert((0, 0));
            if event.sequence <= last.0 {
                outcome.skipped += 1;
                continue;
            }
            *last = (event.sequence, event.global_position);
            changed.insert(key);
            new_events.push(event);
            last_position = last_position.max(event.global_position);
        }
        let opened = self.open(&new_events).await?;
        let new_events: Vec<&PublishedEvent> = opened.iter().map(|e| e.as_ref()).collect();
        self.projection.apply_all(&mut tx, &new_events).await?;
        outcome.applied = new_events.len();
        if !changed.is_empty() {
            let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for key in changed {
                let (sequence, position) = applied[&key];
                columns.0.push(key.0);
                columns.1.push(key.1);
                columns.2.push(sequence);
                columns.3.push(position);
            }
            sqlx::query(RECORD_APPLIED)
                .bind(P::NAME)
                .bind(&columns.0)
                .bind(&columns.1)
                .bind(&columns.2)
                .bind(&columns.3)
                .execute(&mut *tx)
                .await?;
        }
        self.projection.finish_batch(&mut tx).await?;
        if outcome.applied > 0 {
            // Delivered on commit: wakes the queries waiting for these events.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::progress::APPLIED_CHANNEL)
                .bind(P::NAME)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(ADVANCE_CHECKPOINT)
            .bind(P::NAME)
            .bind(outcome.applied as i64)
            .bind(last_position)
            .bind(outcome.skipped as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// How often a consumer checks that it keeps up.
pub(crate) const STALL_CHECK: Duration = Duration::from_secs(10);

/// How a consumer's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumed {
    Done,
    Stalled,
    /// A rebuild was asked for.
    Rebuild,
}

/// Tells a consumer that is stuck from one that is idle: stuck is work pending (a lag the
/// group has not committed past) and no batch for `stall_after`.
#[derive(Debug)]
pub(crate) struct Watchdog {
    stall_after: Duration,
    last_progress: tokio::time::Instant,
}

impl Watchdog {
    pub(crate) fn new(stall_after: Duration) -> Self {
        Self {
            stall_after,
            last_progress: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn progressed(&mut self) {
        self.last_progress = tokio::time::Instant::now();
    }

    /// Whether the consumer is stuck, given the group's lag (unknown when the broker did not
    /// answer: a broker outage is not the consumer's fault).
    pub(crate) fn stalled(&mut self, lag: Option<i64>) -> bool {
        match lag {
            Some(lag) if lag > 0 => self.last_progress.elapsed() >= self.stall_after,
            _ => {
                // Nothing waits: idle, not stuck.
                self.progressed();
                false
            }
        }
    }
}

pub(crate) fn topics(config: &ProjectorConfig, aggregate_types: &[&str]) -> Vec<String> {
    aggregate_types
        .iter()
        .map(|a| topic(&config.topic_prefix, a))
        .collect()
}

/// Messages in the group's topics past its committed offsets; `None` when the broker does
/// not answer in time.
pub(crate) async fn group_lag(consumer: Arc<StreamConsumer>, topics: Vec<String>) -> Option<i64> {
    tokio::task::spawn_blocking(move || {
        const TIMEOUT: Duration = Duration::from_secs(2);
        let mut partitions = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for name in &topics {
            let metadata = consumer.fetch_metadata(Some(name), TIMEOUT).ok()?;
            for found in metadata.topics().iter().filter(|t| t.error().is_none()) {
                for partition in found.partitions() {
                    let (_, high) = consumer
                        .fetch_watermarks(name, partition.id(), TIMEOUT)
                        .ok()?;
                    partitions.add_partition(name, partition.id());
                    ends.insert((name.clone(), partition.id()), high);
                }
            }
        }
        let committed = consumer.committed_offsets(partitions, TIMEOUT).ok()?;
        let lag = committed
            .elements()
            .iter()
            .map(|e| {
                let end = ends[&(e.topic().to_owned(), e.partition())];
                // No commit yet: everything from the start of the partition is pending.
                let done = e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(0);
                (end - done).max(0)
            })
            .sum();
        Some(lag)
    })
    .await
    .ok()
    .flatten()
}

/// The span an event's effects are logged in: the projection, the aggregate and the
/// correlation id that ties it to the request that caused it.
pub fn event_span(projection: &'static str, event: &PublishedEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "project",
        projection,
        aggregate_id = %event.aggregate_id,
        event_type = %event.event_type,
        correlation_id = correlation_id(event),
    );
    commands::trace::continue_trace(&span, traceparent(event));
    span
}

fn traceparent(event: &PublishedEvent) -> Option<&str> {
    event
        .metadata
        .get(commands::trace::TRACEPARENT)
        .map(String::as_str)
}

/// The span a batch is applied in: the projection, how many events it holds and the global
/// positions of its first and last; and the aggregate id and correlation id when every event
/// of the batch shares one (a batch that one request caused), so the lines of its rescoring,
/// retries and failures carry them.
pub fn batch_span(projection: &'static str, events: &[PublishedEvent]) -> tracing::Span {
    let span = tracing::info_span!(
        "project_batch",
        projection,
        events = events.len(),
        first_position = events.first().map(|e| e.global_position),
        last_position = events.last().map(|e| e.global_position),
        aggregate_id = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
    );
    if let Some(aggregate_id) = shared(events, |e| Some(e.aggregate_id.as_str())) {
        span.record("aggregate_id", aggregate_id);
    }
    if let Some(correlation_id) = shared(events, correlation_id) {
        span.record("correlation_id", correlation_id);
    }
    commands::trace::continue_or_link(&span, events.iter().map(traceparent));
    span
}

fn correlation_id(event: &PublishedEvent) -> Option<&str> {
    event
        .metadata
        .get(domain::published::metadata::CORRELATION_ID)
        .map(String::as_str)
}

/// The value every event has, if they all have the same one.
fn shared<'a>(
    events: &'a [PublishedEvent],
    value: impl Fn(&'a PublishedEvent) -> Option<&'a str>,
) -> Option<&'a str> {
    let (first, rest) = events.split_first()?;
    let first = value(first)?;
    rest.iter()
        .all(|e| value(e) == Some(first))
        .then_some(first)
}

/// A consumer in `group` subscribed to the topics of `aggregate_types`, starting from the
/// earliest offset when the group is new. Offsets are stored by the caller once a message's
/// effect is recorded, and committed by the client.
pub(crate) fn subscribe(
    config: &ProjectorConfig,
    group: &str,
    aggregate_types: &[&str],
) -> Result<StreamConsumer, Error> {
    let consumer: StreamConsumer = config
        .kafka
        .config()
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // A member that died without leaving (a crash, a kill -9) holds its partitions until
        // its session expires: the broker's shortest allowed session bounds that wait.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000")
        .set(
            "reconnect.backoff.max.ms",
            commands::relay::RECONNECT_BACKOFF_MAX_MS,
        )
        // The broker answers a fetch as soon as data arrives; the wait only bounds how often
        // an idle consumer asks, so it costs nothing in latency and little when idle.
        .set("fetch.wait.max.ms", "500")
        .create()?;
    let topics: Vec<String> = aggregate_types
        .iter()
        .map(|a| topic(&config.topic_prefix, a))
        .collect();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topic_refs)?;
    Ok(consumer)
}

/// Commits the stored offsets, on the way out.
pub(crate) fn commit(consumer: &StreamConsumer) -> Result<(), Error> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing consumed since the last commit: nothing to record.
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) | Ok(()) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Marks `message` as handled, for the next commit.
pub(crate) fn store_offset(consumer: &StreamConsumer, message: &BorrowedMessage<'_>, owner: &str) {
    // Fails only for a partition revoked meanwhile; its new owner recognises what was
    // already handled, so the offset is not needed.
    if let Err(error) =
        consumer.store_offset(message.topic(), message.partition(), message.offset())
    {
        tracing::debug!(owner, %error, "offset not stored");
    }
}

pub(crate) fn decode(message: &BorrowedMessage<'_>) -> Result<PublishedEvent, Error> {
    serde_json::from_slice(message.payload().unwrap_or_default()).map_err(|source| {
        Error::Envelope {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            source,
        }
    })
}
