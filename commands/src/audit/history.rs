//! Time travel: any aggregate as it was at an instant or a version, rebuilt by replaying its
//! events up to that point through the domain's own `apply`.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::account::Account;
use domain::application::Application;
use domain::candidate::Candidate;
use domain::document::Document;
use domain::employer::Employer;
use domain::job::Job;
use domain::pairing::Pairing;
use domain::wallet::Wallet;
use serde::Serialize;
use serde_json::Value;

use super::events::{self, AuditEvent, EventFilter};
use crate::privacy::Keyring;

/// Up to which point to replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Every event recorded at or before the instant.
    Instant(DateTime<Utc>),
    /// The first `n` events.
    Version(i64),
    Latest,
}

/// An aggregate as it was, and the events that made it so.
#[derive(Debug, Serialize)]
pub struct State {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The sequence of the last event applied, 0 before the first.
    pub version: i64,
    pub state: Value,
    pub events: Vec<AuditEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no aggregate type `{0}`")]
    UnknownType(String),
    #[error("a stored {event_type} event does not decode: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Privacy(#[from] crate::privacy::PrivacyError),
}

/// The aggregate's state as of `as_of`; `None` when it has no events by then... or ever.
/// The events in the answer are as stored (personal fields sealed, so that their hashes
/// verify); the state is rebuilt from them opened with `keyring`.
pub async fn state(
    keyring: &Keyring,
    aggregate_type: &str,
    aggregate_id: &str,
    as_of: AsOf,
) -> Result<Option<State>, HistoryError> {
    let replay = replayer(aggregate_type)?;
    let filter = EventFilter {
        aggregate_type: Some(aggregate_type.to_owned()),
        aggregate_id: Some(aggregate_id.to_owned()),
        ..EventFilter::default()
    };
    let mut taken = Vec::new();
    let mut after = 0;
    'pages: loop {
        let page = events::list(keyring.pool(), &filter, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.global_position;
        for event in page {
            let within = match as_of {
                AsOf::Instant(at) => event.recorded_at <= super::canonical::instant(at),
                AsOf::Version(n) => event.sequence <= n,
                AsOf::Latest => true,
            };
            if !within {
                break 'pages;
            }
            taken.push(event);
        }
    }
    if taken.is_empty() {
        return Ok(None);
    }
    let mut payloads = taken
        .iter()
        .map(|event| {
            serde_json::from_str(event.payload.get()).map_err(|source| HistoryError::Payload {
                event_type: event.event_type.clone(),
                source,
            })
        })
        .collect::<Result<Vec<Value>, _>>()?;
    keyring
        .open_all(
            taken
                .iter()
                .zip(payloads.iter_mut())
                .map(|(e, p)| (aggregate_type, e.event_type.as_str(), p)),
        )
        .await?;
    let types: Vec<&str> = taken.iter().map(|e| e.event_type.as_str()).collect();
    let state = replay(&types, payloads)?;
    Ok(Some(State {
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        version: taken.last().map_or(0, |e| e.sequence),
        state,
        events: taken,
    }))
}

/// Rebuilds an aggregate's state from its events' types and (opened) payloads, in order.
pub(crate) type Replay = fn(&[&str], Vec<Value>) -> Result<Value, HistoryError>;

/// The replay of `aggregate_type`'s events through its own `apply`.
pub(crate) fn replayer(aggregate_type: &str) -> Result<Replay, HistoryError> {
    Ok(match aggregate_type {
        t if t == Candidate::TYPE => replay::<Candidate>,
        t if t == Employer::TYPE => replay::<Employer>,
        t if t == Job::TYPE => replay::<Job>,
        t if t == Pairing::TYPE => replay::<Pairing>,
        t if t == Wallet::TYPE => replay::<Wallet>,
        t if t == Application::TYPE => replay::<Application>,
        t if t == Document::TYPE => replay::<Document>,
        t if t == Account::TYPE => replay::<Account>,
        other => return Err(HistoryError::UnknownType(other.to_owned())),
    })
}

fn replay<A: Aggregate>(event_types: &[&str], payloads: Vec<Value>) -> Result<Value, HistoryError> {
    let mut aggregate = A::default();
    for (event_type, payload) in event_types.iter().zip(payloads) {
        let decoded = serde_json::from_value(payload).map_err(|source| HistoryError::Payload {
            event_type: (*event_type).to_owned(),
            source,
        })?;
        aggregate.apply(decoded);
    }
    serde_json::to_value(&aggregate).map_err(|source| HistoryError::Payload {
        event_type: "state".into(),
        source,
    })
}
