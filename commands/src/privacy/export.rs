//! A person's data, all of it: every aggregate that is about the candidate (its profile,
//! wallet, swipes and matches, applications and documents), rebuilt from the store, with
//! every event about them, opened, and its metadata. Read from the event store rather than
//! from read models, so that it holds what no view shows too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::Keyring;
use crate::audit::history::{replayer, HistoryError};

/// One event of the export, its personal fields opened.
#[derive(Debug, Serialize)]
pub struct ExportedEvent {
    pub global_position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

/// One aggregate about the person, as it is now.
#[derive(Debug, Serialize)]
pub struct ExportedAggregate {
    pub aggregate_id: String,
    pub version: i64,
    pub state: Value,
}

/// Everything held about one candidate.
#[derive(Debug, Serialize)]
pub struct SubjectExport {
    pub candidate_id: Uuid,
    pub exported_at: DateTime<Utc>,
    /// The aggregates about the candidate, by type (`candidate`, `wallet`, `pairing`,
    /// `application`, `document`).
    pub aggregates: BTreeMap<String, Vec<ExportedAggregate>>,
    /// Every event of those aggregates, in the order they were stored.
    pub events: Vec<ExportedEvent>,
}

/// The candidate's own streams, and every stream whose events name the candidate.
const SELECT_EVENTS: &str = "
WITH streams AS (
    SELECT 'candidate'::text AS aggregate_type, $1::text AS aggregate_id
    UNION SELECT 'wallet', $1
    UNION SELECT DISTINCT aggregate_type, aggregate_id FROM events
     WHERE (payload -> event_type ->> 'candidate_id') = $1
       AND aggregate_type IN ('pairing', 'application', 'document')
)
SELECT e.global_position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type,
       e.payload, e.metadata, e.recorded_at
  FROM events e
  JOIN streams s ON s.aggregate_type = e.aggregate_type AND s.aggregate_id = e.aggregate_id
 ORDER BY e.global_position";

type Row = (
    i64,
    String,
    String,
    i64,
    String,
    Value,
    Value,
    DateTime<Utc>,
);

/// The export of `candidate_id`; `None` when the store holds nothing about it.
pub async fn export(
    keyring: &Keyring,
    candidate_id: Uuid,
) -> Result<Option<SubjectExport>, HistoryError> {
    let rows: Vec<Row> = sqlx::query_as(SELECT_EVENTS)
        .bind(candidate_id.to_string())
        .fetch_all(keyring.pool())
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut events: Vec<ExportedEvent> = rows
        .into_iter()
        .map(
            |(
                global_position,
                aggregate_type,
                aggregate_id,
                sequence,
                event_type,
                payload,
                metadata,
                recorded_at,
            )| {
                ExportedEvent {
                    global_position,
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    event_type,
                    payload,
                    metadata,
                    recorded_at,
                }
            },
        )
        .collect();
    keyring
        .open_all(events.iter_mut().map(|e| {
            (
                e.aggregate_type.as_str(),
                e.event_type.as_str(),
                &mut e.payload,
            )
        }))
        .await?;
    let mut streams: BTreeMap<(&str, &str), Vec<&ExportedEvent>> = BTreeMap::new();
    for event in &events {
        streams
            .entry((&event.aggregate_type, &event.aggregate_id))
            .or_default()
            .push(event);
    }
    let mut aggregates: BTreeMap<String, Vec<ExportedAggregate>> = BTreeMap::new();
    for ((aggregate_type, aggregate_id), stream) in streams {
        let types: Vec<&str> = stream.iter().map(|e| e.event_type.as_str()).collect();
        let payloads = stream.iter().map(|e| e.payload.clone()).collect();
        let state = replayer(aggregate_type)?(&types, payloads)?;
        aggregates
            .entry(aggregate_type.to_owned())
            .or_default()
            .push(ExportedAggregate {
                aggregate_id: aggregate_id.to_owned(),
                version: stream.last().map_or(0, |e| e.sequence),
                state,
            });
    }
    Ok(Some(SubjectExport {
        candidate_id,
        exported_at: Utc::now(),
        aggregates,
        events,
    }))
}
