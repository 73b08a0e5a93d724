//! The relay: publishes every committed event to Kafka, in commit order, without gaps.
//!
//! It reads only events whose writing transaction is older than every transaction still
//! running that may append events (`tx_id < event_horizon()`, see the migration that defines
//! it: a projector's batch, which never appends, does not count), in `(tx_id,
//! global_position)` order. An event whose transaction commits late, with a smaller global
//! position than events already published, therefore still comes after them in this order and
//! is never skipped.
//!
//! Each event goes to `<prefix>.<aggregate>.events`, keyed by aggregate id, through an
//! idempotent producer, with CloudEvents headers. The checkpoint moves only after the broker
//! acknowledged the whole batch: delivery is at-least-once, and the projectors discard what
//! they have already applied. One relay is active at a time: it holds a PostgreSQL advisory
//! lock on the connection it reads and checkpoints with, so if that connection is lost, the
//! lock is released and the relay cannot record progress it no longer owns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::error_chain;
use domain::published::{topic, PublishedEvent};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use sqlx::postgres::PgListener;
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::health::PartHealth;
use crate::wake::EVENTS_CHANNEL;
use crate::Error;

/// The relay's lag: events committed but not yet published, and the age of the last event
/// published when it was.
fn report_lag(events: i64, seconds: f64) {
    metrics::gauge!("hirestream_relay_lag_events").set(events as f64);
    metrics::gauge!("hirestream_relay_lag_seconds").set(seconds);
}

/// Seconds from `at` to now, never negative.
pub fn seconds_since(at: DateTime<Utc>) -> f64 {
    (Utc::now() - at)
        .num_microseconds()
        .unwrap_or(i64::MAX)
        .max(0) as f64
        / 1e6
}

/// Marks the transaction it runs in as a projector's batch, which writes read models and never
/// appends events (a trigger refuses it any): `event_horizon()` then does not wait for it.
pub const MARK_PROJECTING: &str = "
SELECT set_config('hirestream.projecting', 'on', true),
       pg_advisory_xact_lock_shared(1751740005, 1886547818)";

/// Key of the advisory lock that elects the active relay.
const RELAY_LOCK_KEY: i64 = 0x6869_7265_7265_6c61; // "hirerela"

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Name of the checkpoint row; relays with different names publish independently.
    pub name: String,
    pub kafka: KafkaConfig,
    /// Most events read and published per round trip.
    pub batch_size: i64,
    /// How often to look for events when no notification arrives.
    pub idle_poll: Duration,
    /// Pause before restarting after a failure (broker or database outage).
    pub retry_backoff: Duration,
}

/// How every client reaches the brokers: the bootstrap servers, and any other librdkafka
/// property from the configuration (TLS, SASL, timeouts). A property the spine's guarantees
/// rest on (idempotence, acknowledgements, offset storage) is set after these and wins.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaClient {
    pub brokers: String,
    pub properties: BTreeMap<String, String>,
}

/// Shows the properties, with the value of any password or secret left out.
impl std::fmt::Debug for KafkaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.properties.iter().map(|(key, value)| {
            let secret = key.contains("password") || key.contains("secret");
            (key, if secret { "<redacted>" } else { value.as_str() })
        });
        f.debug_struct("KafkaClient")
            .field("brokers", &self.brokers)
            .field("properties", &shown.collect::<BTreeMap<_, _>>())
            .finish()
    }
}

impl KafkaClient {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            properties: BTreeMap::new(),
        }
    }

    /// A client configuration with the brokers and the configured properties set, for
    /// producers, consumers and admins.
    pub fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("reconnect.backoff.max.ms", RECONNECT_BACKOFF_MAX_MS);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Where the topics live and how they are created.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub client: KafkaClient,
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// How long the producer keeps retrying one message before reporting a failure.
    pub message_timeout: Duration,
}

/// The longest pause a client takes before reconnecting to a broker (librdkafka's default is
/// 10 s): a restarted broker is used again within a second.
pub const RECONNECT_BACKOFF_MAX_MS: &str = "1000";

impl KafkaConfig {
    pub fn client_config(&self) -> ClientConfig {
        self.client.config()
    }

    /// Creates the topic of each aggregate type that does not exist yet. Events are kept
    /// forever (`retention.ms=-1`): the topics are the source projections are rebuilt from.
    pub async fn ensure_topics(&self, aggregate_types: &[&str]) -> Result<(), Error> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let names: Vec<String> = aggregate_types
            .iter()
            .map(|a| topic(&self.topic_prefix, a))
            .collect();
        let topics: Vec<NewTopic> = names
            .iter()
            .map(|name| {
                NewTopic::new(
                    name,
                    self.partitions,
                    TopicReplication::Fixed(self.replication_factor),
                )
                .set("retention.ms", "-1")
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics(&topics, &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    tracing::error!(topic = %name, ?code, "could not create topic");
                    return Err(KafkaError::AdminOp(code).into());
                }
            }
        }
        Ok(())
    }
}

/// One row of the events table, as the relay reads it.
#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    tx_id: i64,
    global_position: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: serde_json::Value,
    metadata: Json<HashMap<String, String>>,
    recorded_at: DateTime<Utc>,
}

/// The last event published, in the relay's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
struct Checkpoint {
    tx_id: i64,
    global_position: i64,
}

const SELECT_COMMITTED: &str = "
SELECT tx_id::text::bigint AS tx_id, global_position, aggregate_type, aggregate_id, sequence,
       event_type, event_version, payload, metadata, recorded_at
  FROM events
 WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2)
   AND tx_id < (SELECT event_horizon())
 ORDER BY tx_id, global_position
 LIMIT $3";

const ANY_UNPUBLISHED: &str = "
SELECT EXISTS (SELECT 1 FROM events WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2))";

/// How many events are newer than the checkpoint, counted by position (a rolled-back append
/// leaves a hole, so this can overcount slightly).
const EVENTS_BEHIND: &str = "
SELECT coalesce(max(global_position), $1) - $1 FROM events";

const INSERT_CHECKPOINT: &str =
    "INSERT INTO relay_checkpoint (relay_name) VALUES ($1) ON CONFLICT (relay_name) DO NOTHING";

const SELECT_CHECKPOINT: &str = "
SELECT tx_id::text::bigint AS tx_id, global_position FROM relay_checkpoint WHERE relay_name = $1";

const UPDATE_CHECKPOINT: &str = "
UPDATE relay_checkpoint
   SET tx_id = $2::bigint::text::xid8, global_position = $3, published = published + $4,
       updated_at = now()
 WHERE relay_name = $1";

const RECORD_FAILURE: &str = "
UPDATE relay_checkpoint SET last_error = $2, last_error_at = now() WHERE relay_name = $1";

#[derive(Debug)]
pub struct Relay {
    pool: PgPool,
    config: RelayConfig,
    health: PartHealth,
}

impl Relay {
    pub fn new(pool: PgPool, config: RelayConfig) -> Self {
        Self {
            pool,
            config,
            health: PartHealth::detached("relay"),
        }
    }

    /// Reports the relay's state to `health`: stuck while it cannot publish.
    pub fn with_health(mut self, health: PartHealth) -> Self {
        self.health = health;
        self
    }

    /// Runs until `shutdown` is cancelled, restarting after any failure: a broker or
    /// database outage stops publication, and it resumes from the checkpoint.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.run_active(&shutdown).await {
                Ok(()) => break,
                Err(error) => {
                    let error = error_chain(&error);
                    tracing::warn!(%error, "relay stopped, restarting");
                    self.health.stuck(error.clone());
                    metrics::counter!("hirestream_relay_failures_total").increment(1);
                    self.record_failure(&error).await;
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(self.config.retry_backoff) => {}
                    }
                }
            }
        }
        tracing::info!(relay = %self.config.name, "relay stopped");
    }

    /// Notes the failure on the checkpoint row, when the database can be reached.
    async fn record_failure(&self, error: &str) {
        let recorded = sqlx::query(RECORD_FAILURE)
            .bind(&self.config.name)
            .bind(error)
            .execute(&self.pool)
            .await;
        if let Err(db_error) = recorded {
            tracing::debug!(%db_error, "relay failure not recorded");
        }
    }

    /// Waits to become the active relay, then publishes until shutdown or a failure.
    async fn run_active(&self, shutdown: &CancellationToken) -> Result<(), Error> {
        let Some(mut conn) = self.acquire_leadership(shutdown).await? else {
            return Ok(());
        };
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;

        let producer = self.producer()?;
        let mut known_topics = HashSet::new();
        sqlx::query(INSERT_CHECKPOINT)
            .bind(&self.config.name)
            .execute(&mut conn)
            .await?;
        let mut checkpoint: Checkpoint = sqlx::query_as(SELECT_CHECKPOINT)
            .bind(&self.config.name)
            .fetch_one(&mut conn)
            .await?;
        tracing::info!(relay = %self.config.name, ?checkpoint, "relay active");
        self.health.running();

        while !shutdown.is_cancelled() {
            let batch: Vec<EventRow> = sqlx::query_as(SELECT_COMMITTED)
                .bind(checkpoint.tx_id)
                .bind(checkpoint.global_position)
                .bind(self.config.batch_size)
                .fetch_all(&mut conn)
                .await?;
            if batch.is_empty() {
                // Events exist that are not yet safe to read: an older transaction is still
                // running. Look again soon rather than waiting for the next notification.
                let pending: bool = sqlx::query_scalar(ANY_UNPUBLISHED)
                    .bind(checkpoint.tx_id)
                    .bind(checkpoint.global_position)
                    .fetch_one(&mut conn)
                    .await?;
                let wait = if pending {
                    Duration::from_millis(5)
                } else {
                    report_lag(0, 0.0);
                    self.config.idle_poll
                };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    notification = listener.recv() => { notification?; }
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }

            let published = async {
                let new_types: Vec<&str> = batch
                    .iter()
                    .map(|e| e.aggregate_type.as_str())
                    .filter(|t| !known_topics.contains(*t))
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                if !new_types.is_empty() {
                    self.config.kafka.ensure_topics(&new_types).await?;
                    known_topics.extend(new_types.into_iter().map(str::to_owned));
                }

                // A batch in flight is finished even when shutdown is requested meanwhile, so
                // its checkpoint is recorded.
                self.publish(&producer, &batch).await?;
                let last = batch.last().map_or(checkpoint, |e| Checkpoint {
                    tx_id: e.tx_id,
                    global_position: e.global_position,
                });
                sqlx::query(UPDATE_CHECKPOINT)
                    .bind(&self.config.name)
                    .bind(last.tx_id)
                    .bind(last.global_position)
                    .bind(batch.len() as i64)
                    .execute(&mut conn)
                    .await?;
                tracing::debug!(checkpoint = ?last, "batch published");
                Ok::<_, Error>(last)
            };
            checkpoint = published
                .instrument(batch_span(&self.config.name, &batch))
                .await?;
            self.health.progressed();
            metrics::counter!("hirestream_relay_published_total").increment(batch.len() as u64);
            // A full batch means more are waiting: count them; otherwise the relay is level.
            let behind = if batch.len() as i64 >= self.config.batch_size {
                sqlx::query_scalar(EVENTS_BEHIND)
                    .bind(checkpoint.global_position)
                    .fetch_one(&mut conn)
                    .await?
            } else {
                0
            };
            let age = batch.last().map_or(0.0, |e| seconds_since(e.recorded_at));
            report_lag(behind, age);
        }
        // Closing the session releases the lock for a standby.
        conn.close().await?;
        Ok(())
    }

    /// Returns a connection holding the relay lock, or `None` if shutdown came first.
    async fn acquire_leadership(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Option<PgConnection>, Error> {
        let mut waiting_logged = false;
        loop {
            let mut conn = self.pool.acquire().await?;
            let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(RELAY_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await?;
            if acquired {
                // The lock lives as long as this session: take the connection out of the
                // pool so that it is closed, not reused, when the relay lets it go.
                return Ok(Some(conn.detach()));
            }
            drop(conn);
            if !waiting_logged {
                tracing::info!("another relay is active; standing by");
                waiting_logged = true;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn producer(&self) -> Result<FutureProducer, Error> {
        let producer = self
            .config
            .kafka
            .client_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Same key-to-partition mapping as the Java client, so every Kafka tool agrees.
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "2")
            .set(
                "message.timeout.ms",
                self.config.kafka.message_timeout.as_millis().to_string(),
            )
            .create()?;
        Ok(producer)
    }

    /// Sends the batch and waits until the broker acknowledged every event of it.
    async fn publish(&self, producer: &FutureProducer, batch: &[EventRow]) -> Result<(), Error> {
        let mut deliveries = Vec::with_capacity(batch.len());
        for row in batch {
            let (value, headers) = encode(row)?;
            let topic = topic(&self.config.kafka.topic_prefix, &row.aggregate_type);
            let record = FutureRecord::to(&topic)
                .key(&row.aggregate_id)
                .payload(&value)
                .headers(headers);
            let delivery = producer.send_result(record).map_err(|(error, _)| error)?;
            deliveries.push(delivery);
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error.into()),
                Err(_cancelled) => return Err(KafkaError::Canceled.into()),
            }
        }
        Ok(())
    }
}

/// The span a batch is published in: the relay, how many events it holds and the global
/// positions of its first and last (in the relay's order); and the aggregate id and
/// correlation id when every event of the batch shares one (a batch that one request wrote).
fn batch_span(relay: &str, batch: &[EventRow]) -> tracing::Span {
    let span = tracing::info_span!(
        "relay_batch",
        relay,
        events = batch.len(),
        first_position = batch.first().map(|e| e.global_position),
        last_position = batch.last().map(|e| e.global_position),
        aggregate_id = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
    );
    if let Some(aggregate_id) = shared(batch, |e| Some(e.aggregate_id.as_str())) {
        span.record("aggregate_id", aggregate_id);
    }
    fn correlation_id(e: &EventRow) -> Option<&str> {
        e.metadata
            .0
            .get(domain::published::metadata::CORRELATION_ID)
            .map(String::as_str)
    }
    if let Some(correlation_id) = shared(batch, correlation_id) {
        span.record("correlation_id", correlation_id);
    }
    crate::trace::continue_or_link(&span, batch.iter().map(traceparent));
    span
}

fn traceparent(row: &EventRow) -> Option<&str> {
    row.metadata
        .0
        .get(crate::trace::TRACEPARENT)
        .map(String::as_str)
}

/// The value every row has, if they all have the same one.
fn shared<'a>(
    batch: &'a [EventRow],
    value: impl Fn(&'a EventRow) -> Option<&'a str>,
) -> Option<&'a str> {
    let (first, rest) = batch.split_first()?;
    let first = value(first)?;
    rest.iter()
        .all(|e| value(e) == Some(first))
        .then_some(first)
}

/// The message value (the event as JSON) and its headers: CloudEvents' Kafka binding plus
/// the aggregate sequence and the global position.
fn encode(row: &EventRow) -> Result<(Vec<u8>, OwnedHeaders), Error> {
    let event = PublishedEvent {
        aggregate_type: row.aggregate_type.clone(),
        aggregate_id: row.aggregate_id.clone(),
        sequence: row.sequence,
        event_type: row.event_type.clone(),
        event_version: row.event_version.clone(),
        payload: row.payload.clone(),
        metadata: row.metadata.0.clone(),
        global_position: row.global_position,
        recorded_at: row.recorded_at,
    };
    let value = serde_json::to_vec(&event).map_err(|source| Error::Encode {
        aggregate_type: row.aggregate_type.clone(),
        aggregate_id: row.aggregate_id.clone(),
        sequence: row.sequence,
        source,
    })?;
    let id = format!(
        "{}/{}/{}",
        row.aggregate_type, row.aggregate_id, row.sequence
    );
    let ce_type = format!("hirestream.{}.{}", row.aggregate_type, row.event_type);
    let source = format!("/hirestream/{}", row.aggregate_type);
    let time = row.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let sequence = row.sequence.to_string();
    let position = row.global_position.to_string();
    let headers = [
        ("ce_specversion", "1.0"),
        ("ce_id", id.as_str()),
        ("ce_type", ce_type.as_str()),
        ("ce_source", source.as_str()),
        ("ce_subject", row.aggregate_id.as_str()),
        ("ce_time", time.as_str()),
        ("content-type", "application/json"),
        ("hirestream_sequence", sequence.as_str()),
        ("hirestream_global_position", position.as_str()),
        ("hirestream_event_version", row.event_version.as_str()),
    ]
    .into_iter()
    // The W3C trace context, as the Kafka instrumentations of OpenTelemetry carry it.
    .chain(traceparent(row).map(|t| (crate::trace::TRACEPARENT, t)))
    .fold(OwnedHeaders::new(), |headers, (key, value)| {
        headers.insert(Header {
            key,
            value: Some(value),
        })
    });
    Ok((value, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_gets_the_configured_properties_and_the_debug_form_hides_secrets() {
        let client = KafkaClient {
            brokers: "broker:9093".into(),
            properties: BTreeMap::from([
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.password".to_owned(), "hunter2".to_owned()),
            ]),
        };
        let config = client.config();
        assert_eq!(config.get("bootstrap.servers"), Some("broker:9093"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.password"), Some("hunter2"));
        let shown = format!("{client:?}");
        assert!(
            shown.contains("SASL_SSL") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
