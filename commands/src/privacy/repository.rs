//! The event repository every store writes through: personal fields are sealed on the way
//! in and opened on the way out, so aggregates see clear text and the `events` table (and
//! every Kafka topic the relay copies it to) holds ciphertext.

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;

use super::{Keyring, PrivacyError};

/// A PostgreSQL event repository that seals and opens personal fields. Snapshots are
/// stored as they are: only wallets snapshot, and a wallet holds no personal field.
pub struct SealedRepository {
    inner: PostgresEventRepository,
    keyring: Keyring,
}

impl std::fmt::Debug for SealedRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRepository").finish_non_exhaustive()
    }
}

impl SealedRepository {
    pub fn new(keyring: Keyring) -> Self {
        let inner =
            PostgresEventRepository::new(keyring.pool().clone()).with_tables("events", "snapshots");
        Self { inner, keyring }
    }

    async fn open(
        &self,
        mut events: Vec<SerializedEvent>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.keyring
            .open_all(events.iter_mut().map(|e| {
                (
                    e.aggregate_type.as_str(),
                    e.event_type.as_str(),
                    &mut e.payload,
                )
            }))
            .await
            .map_err(persistence)?;
        Ok(events)
    }
}

/// A refusal (an erased subject) stays a domain error for the caller; the rest are
/// failures of the store.
fn persistence(error: PrivacyError) -> PersistenceError {
    match error {
        PrivacyError::Erased(candidate_id) => {
            PersistenceError::UnknownError(Box::new(domain::DomainError::CandidateErased {
                candidate_id,
            }))
        }
        PrivacyError::Database(e) => PersistenceError::ConnectionError(Box::new(e)),
        other => PersistenceError::UnknownError(Box::new(other)),
    }
}

impl PersistedEventRepository for SealedRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self.inner.get_events::<A>(aggregate_id).await?;
        self.open(events).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self
            .inner
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await?;
        self.open(events).await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let personal = |e: &SerializedEvent| {
            domain::personal::personal_fields(&e.aggregate_type, &e.event_type).is_some()
        };
        // Most appends (charges, swipes, jobs) hold nothing personal: written as they are.
        if !events.iter().any(personal) {
            return self.inner.persist::<A>(events, snapshot_update).await;
        }
        let mut sealed = events.to_vec();
        for event in &mut sealed {
            self.keyring
                .seal(&event.aggregate_type, &event.event_type, &mut event.payload)
                .await
                .map_err(persistence)?;
        }
        self.inner.persist::<A>(&sealed, snapshot_update).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        replay(self.get_events::<A>(aggregate_id).await?).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Err(PersistenceError::UnknownError(
            "replaying every aggregate goes through the relay's order (projections::rebuild)"
                .into(),
        ))
    }
}

async fn replay(events: Vec<SerializedEvent>) -> Result<ReplayStream, PersistenceError> {
    let (mut feed, stream) = ReplayStream::new(events.len().max(1));
    for event in events {
        feed.push(Ok(event)).await?;
    }
    Ok(stream)
}
