//! Rebuilding a projection from the PostgreSQL event store, then handing over to Kafka.
//!
//! A rebuild resets the projection (a new consumer group generation), notes the end offset
//! of every partition of its topics, reads the store in the relay's order
//! (`tx_id, global_position`, committed transactions only) and applies it in large batches.
//! Every message below the noted offsets was published before the reading started, so the
//! reading saw its event; the new group therefore starts at those offsets. A message after
//! them whose event the store already gave is recognised by `projection_applied` and skipped:
//! no gap, no double effect.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::published::{topic, PublishedEvent};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use sqlx::types::Json;
use tokio_util::sync::CancellationToken;

use crate::runtime::Projector;
use crate::{Error, Projection};

mod requests;

pub use requests::{RebuildHandle, RebuildState, RebuildStatus};

/// Events read and applied per transaction.
pub const REBUILD_BATCH: i64 = 2_000;

const SELECT_EVENTS: &str = "
SELECT tx_id::text::bigint AS tx_id, global_position, aggregate_type, aggregate_id, sequence,
       event_type, event_version, payload, metadata, recorded_at
  FROM events
 WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2)
   AND tx_id < (SELECT event_horizon())
 ORDER BY tx_id, global_position
 LIMIT $3";

const COUNT_EVENTS: &str = "SELECT count(*) FROM events WHERE aggregate_type = ANY($1)";

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

/// How far a rebuild is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebuildProgress {
    /// Events read from the store.
    pub read: u64,
    /// Events of the projection's aggregate types in the store when it started.
    pub total: u64,
    pub elapsed: Duration,
}

impl RebuildProgress {
    pub fn rate(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The time left at the current rate, while events remain.
    pub fn remaining(&self) -> Option<Duration> {
        let left = self.total.checked_sub(self.read).filter(|left| *left > 0)?;
        let rate = self.rate();
        (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
    }
}

impl<P: Projection> Projector<P> {
    /// Deletes the read model, rebuilds it from the event store and commits the offsets the
    /// next `run` continues from. `report` is called after every batch.
    pub async fn rebuild_from_store(
        &self,
        mut report: impl FnMut(&RebuildProgress) + Send,
    ) -> Result<RebuildProgress, Error> {
        self.reset().await?;
        let (consumer, handover) = self.handover_offsets().await?;

        let types: Vec<&str> = P::AGGREGATE_TYPES.to_vec();
        let total: i64 = sqlx::query_scalar(COUNT_EVENTS)
            .bind(&types)
            .fetch_one(self.pool())
            .await?;
        let started = Instant::now();
        let mut progress = RebuildProgress {
            read: 0,
            total: total.max(0) as u64,
            elapsed: Duration::ZERO,
        };
        let mut cursor = (0_i64, 0_i64);
        loop {
            // Every type is read, in the order of the index the relay reads too, and the
            // others are dropped here: filtering in the query makes PostgreSQL collect and sort
            // every remaining event of the types for each batch.
            let rows: Vec<EventRow> = sqlx::query_as(SELECT_EVENTS)
                .bind(cursor.0)
                .bind(cursor.1)
                .bind(REBUILD_BATCH)
                .fetch_all(self.pool())
                .await?;
            let Some(last) = rows.last() else { break };
            cursor = (last.tx_id, last.global_position);
            let events: Vec<PublishedEvent> = rows
                .into_iter()
                .filter(|row| types.contains(&row.aggregate_type.as_str()))
                .map(published)
                .collect();
            if !events.is_empty() {
                self.apply_events(&events).await?;
            }
            progress.read += events.len() as u64;
            progress.total = progress.total.max(progress.read);
            progress.elapsed = started.elapsed();
            report(&progress);
        }

        if handover.count() > 0 {
            tokio::task::spawn_blocking(move || consumer.commit(&handover, CommitMode::Sync))
                .await
                .map_err(|_| Error::Kafka(KafkaError::Canceled))??;
        }
        progress.elapsed = started.elapsed();
        tracing::info!(
            projection = P::NAME,
            events = progress.read,
            seconds = progress.elapsed.as_secs_f64(),
            "projection rebuilt from the event store"
        );
        Ok(progress)
    }
}

impl<P: Projection> Projector<P> {
    /// Deletes the read model and rebuilds it from the start of its Kafka topics with a new
    /// consumer group, up to the end offsets found when it started; `report` is called after
    /// every batch.
    pub async fn rebuild_from_kafka(
        &self,
        shutdown: &CancellationToken,
        mut report: impl FnMut(&RebuildProgress) + Send,
    ) -> Result<RebuildProgress, Error> {
        self.reset().await?;
        let (_, until) = self.handover_offsets().await?;
        let total = until
            .elements()
            .iter()
            .filter_map(|e| e.offset().to_raw())
            .sum::<i64>();
        let started = Instant::now();
        let mut progress = RebuildProgress {
            read: 0,
            total: total.max(0) as u64,
            elapsed: Duration::ZERO,
        };
        self.consume(shutdown, Some(&until), &mut |messages| {
            progress.read += messages as u64;
            progress.total = progress.total.max(progress.read);
            progress.elapsed = started.elapsed();
            report(&progress);
        })
        .await?;
        progress.elapsed = started.elapsed();
        Ok(progress)
    }

    /// A consumer of the current generation's group, and the end offset of every partition
    /// of the projection's topics.
    async fn handover_offsets(&self) -> Result<(BaseConsumer, TopicPartitionList), Error> {
        let group = self.group().await?;
        let consumer: BaseConsumer = self
            .config()
            .kafka
            .config()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()?;
        let topics: Vec<String> = P::AGGREGATE_TYPES
            .iter()
            .map(|a| topic(&self.config().topic_prefix, a))
            .collect();
        tokio::task::spawn_blocking(move || end_offsets(consumer, &topics))
            .await
            .map_err(|_| Error::Kafka(KafkaError::Canceled))?
    }
}

/// The end offset of every partition of `topics` that exists.
fn end_offsets(
    consumer: BaseConsumer,
    topics: &[String],
) -> Result<(BaseConsumer, TopicPartitionList), Error> {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let mut offsets = TopicPartitionList::new();
    for name in topics {
        let metadata = consumer.fetch_metadata(Some(name), TIMEOUT)?;
        for found in metadata.topics() {
            if found.error().is_some() {
                continue; // not created yet: its first message comes after the rebuild
            }
            for partition in found.partitions() {
                let (_, high) = consumer.fetch_watermarks(name, partition.id(), TIMEOUT)?;
                offsets.add_partition_offset(name, partition.id(), Offset::Offset(high))?;
            }
        }
    }
    Ok((consumer, offsets))
}

fn published(row: EventRow) -> PublishedEvent {
    PublishedEvent {
        aggregate_type: row.aggregate_type,
        aggregate_id: row.aggregate_id,
        sequence: row.sequence,
        event_type: row.event_type,
        event_version: row.event_version,
        payload: row.payload,
        metadata: row.metadata.0,
        global_position: row.global_position,
        recorded_at: row.recorded_at,
    }
}
