//! The history as auditors read it: events with their metadata and hash, filtered and paged
//! by position, and the whole store exported in commit order as NDJSON.

use std::io::Write;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use super::canonical::{hex, instant, EventFields};

/// One stored event as the audit API and the export give it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub global_position: i64,
    pub tx_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// As PostgreSQL writes the stored jsonb, so that the hash can be recomputed from it.
    pub payload: Box<RawValue>,
    pub metadata: Box<RawValue>,
    pub recorded_at: String,
    pub hash: String,
    /// The hash of the stream's previous event, `null` for its first.
    pub previous_hash: Option<String>,
}

/// A stored event as read for the API, the export and the verifier: payload and metadata as
/// PostgreSQL writes them, so that the hash can be recomputed.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Row {
    pub(crate) global_position: i64,
    tx_id: i64,
    pub(crate) aggregate_type: String,
    pub(crate) aggregate_id: String,
    pub(crate) sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
    recorded_at: DateTime<Utc>,
    pub(crate) hash: Vec<u8>,
    previous_hash: Option<Vec<u8>>,
}

impl Row {
    pub(crate) fn fields(&self) -> EventFields<'_> {
        EventFields {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &self.payload,
            metadata: &self.metadata,
            recorded_at: self.recorded_at,
        }
    }

    fn into_event(self) -> Result<AuditEvent, sqlx::Error> {
        let raw = |text: String| {
            RawValue::from_string(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        };
        Ok(AuditEvent {
            global_position: self.global_position,
            tx_id: self.tx_id,
            event_type: self.event_type,
            event_version: self.event_version,
            recorded_at: instant(self.recorded_at),
            hash: hex(&self.hash),
            previous_hash: self.previous_hash.as_deref().map(hex),
            payload: raw(self.payload)?,
            metadata: raw(self.metadata)?,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            sequence: self.sequence,
        })
    }
}

const SELECT_EVENTS: &str = "
SELECT e.global_position, e.tx_id::text::bigint AS tx_id, e.aggregate_type, e.aggregate_id,
       e.sequence, e.event_type, e.event_version, e.payload::text AS payload,
       e.metadata::text AS metadata, e.recorded_at, e.hash, p.hash AS previous_hash
  FROM events e
  LEFT JOIN events p ON p.aggregate_type = e.aggregate_type
                    AND p.aggregate_id = e.aggregate_id AND p.sequence = e.sequence - 1";

/// Which events to list; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    /// The subject of the actor who caused the event.
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    pub event_type: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub from_position: Option<i64>,
    pub to_position: Option<i64>,
}

const FILTER: &str = "
 WHERE ($1::text IS NULL OR e.aggregate_type = $1)
   AND ($2::text IS NULL OR e.aggregate_id = $2)
   AND ($3::text IS NULL OR e.metadata ->> 'actor_subject' = $3)
   AND ($4::text IS NULL OR e.metadata ->> 'correlation_id' = $4)
   AND ($5::text IS NULL OR e.event_type = $5)
   AND ($6::timestamptz IS NULL OR e.recorded_at >= $6)
   AND ($7::timestamptz IS NULL OR e.recorded_at < $7)
   AND ($8::bigint IS NULL OR e.global_position >= $8)
   AND ($9::bigint IS NULL OR e.global_position <= $9)";

fn bind_filter<'q>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, Row, sqlx::postgres::PgArguments>,
    filter: &'q EventFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, Row, sqlx::postgres::PgArguments> {
    query
        .bind(&filter.aggregate_type)
        .bind(&filter.aggregate_id)
        .bind(&filter.actor)
        .bind(&filter.correlation_id)
        .bind(&filter.event_type)
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.from_position)
        .bind(filter.to_position)
}

/// A page of events in position order, after the position `after`.
pub async fn list(
    pool: &PgPool,
    filter: &EventFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let sql = format!(
        "{SELECT_EVENTS}{FILTER} AND e.global_position > $10 ORDER BY e.global_position LIMIT $11"
    );
    let rows = bind_filter(sqlx::query_as(&sql), filter)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(Row::into_event).collect()
}

/// The event at `position` and the canonical encoding its hash covers.
pub async fn at_position(
    pool: &PgPool,
    position: i64,
) -> Result<Option<(AuditEvent, String)>, sqlx::Error> {
    let sql = format!("{SELECT_EVENTS} WHERE e.global_position = $1");
    let row: Option<Row> = sqlx::query_as(&sql)
        .bind(position)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        let encoding = row
            .fields()
            .encoding(row.previous_hash.as_deref())
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok((row.into_event()?, encoding))
    })
    .transpose()
}

/// Writes every event the filter selects to `out` in commit order, one JSON object a line,
/// streaming (memory stays flat); `progress` is called with the count every 10,000 events.
/// Returns the number of events written.
pub async fn export(
    pool: &PgPool,
    filter: &EventFilter,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> Result<u64, crate::Error> {
    let sql = format!("{SELECT_EVENTS}{FILTER} ORDER BY e.tx_id, e.global_position");
    let mut rows = bind_filter(sqlx::query_as(&sql), filter).fetch(pool);
    let mut written = 0;
    while let Some(row) = rows.try_next().await? {
        let event = row.into_event()?;
        serde_json::to_writer(&mut *out, &event).map_err(|e| crate::Error::Store(Box::new(e)))?;
        out.write_all(b"\n")
            .map_err(|e| crate::Error::Store(Box::new(e)))?;
        written += 1;
        if written % 10_000 == 0 {
            progress(written);
        }
    }
    out.flush().map_err(|e| crate::Error::Store(Box::new(e)))?;
    Ok(written)
}
