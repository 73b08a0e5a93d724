//! Loading aggregates and appending their events, with bounded retries when a concurrent
//! writer appended first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, EventStore};
use domain::DomainError;
use postgres_es::PostgresEventRepository;
use serde::Serialize;
use sqlx::PgPool;

use crate::Error;

/// What a command wrote: the aggregate and the version it is at now. A query can ask to
/// reflect at least this version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub version: i64,
}

/// The event store of one aggregate type.
pub struct Store<A: Aggregate> {
    inner: PersistedEventStore<PostgresEventRepository, A>,
    max_attempts: u32,
    /// Commands on one aggregate in this process take turns, so they do not race each
    /// other to a conflict; writers in other processes are still caught by the
    /// optimistic-concurrency check.
    turns: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl<A: Aggregate> std::fmt::Debug for Store<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("aggregate", &A::TYPE)
            .finish()
    }
}

impl<A> Store<A>
where
    A: Aggregate<Error = DomainError, Services = ()>,
    A::Command: Clone,
{
    pub fn new(pool: PgPool, max_attempts: u32) -> Self {
        let repo = PostgresEventRepository::new(pool).with_tables("events", "snapshots");
        Self::from_store(PersistedEventStore::new_event_store(repo), max_attempts)
    }

    /// A store that snapshots the aggregate every `every` events, for aggregates with long
    /// histories (a wallet is charged for years).
    pub fn with_snapshots(pool: PgPool, max_attempts: u32, every: usize) -> Self {
        let repo = PostgresEventRepository::new(pool).with_tables("events", "snapshots");
        Self::from_store(
            PersistedEventStore::new_snapshot_store(repo, every),
            max_attempts,
        )
    }

    fn from_store(
        inner: PersistedEventStore<PostgresEventRepository, A>,
        max_attempts: u32,
    ) -> Self {
        Self {
            inner,
            max_attempts: max_attempts.max(1),
            turns: Mutex::default(),
        }
    }

    fn turn(&self, aggregate_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self
            .turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(turn) = turns.get(aggregate_id).and_then(Weak::upgrade) {
            return turn;
        }
        if turns.len() >= 1024 {
            turns.retain(|_, turn| turn.strong_count() > 0);
        }
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        turns.insert(aggregate_id.to_owned(), Arc::downgrade(&turn));
        turn
    }

    /// The aggregate's current state and version (0 when it has no events).
    pub async fn load(&self, aggregate_id: &str) -> Result<(A, i64), Error> {
        let context = self
            .inner
            .load_aggregate(aggregate_id)
            .await
            .map_err(store_error)?;
        Ok((context.aggregate, context.current_sequence as i64))
    }

    /// Runs `command` on the aggregate and appends what it produced. When another writer
    /// appended to the same aggregate in between, the aggregate is loaded again and the
    /// command decided again, up to `max_attempts` times.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<Committed, Error> {
        let turn = self.turn(aggregate_id);
        let _turn = turn.lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut context = self
                .inner
                .load_aggregate(aggregate_id)
                .await
                .map_err(store_error)?;
            let sink = EventSink::default();
            context
                .aggregate
                .handle(command.clone(), &(), &sink)
                .await?;
            let events = sink.collect().await;
            let version = context.current_sequence as i64;
            if events.is_empty() {
                return Ok(self.committed(aggregate_id, version));
            }
            match self.inner.commit(events, context, metadata.clone()).await {
                Ok(written) => {
                    let version = written.last().map_or(version, |e| e.sequence as i64);
                    return Ok(self.committed(aggregate_id, version));
                }
                Err(AggregateError::AggregateConflict) if attempt < self.max_attempts => {
                    tracing::debug!(aggregate_id, attempt, "concurrent append, retrying");
                    // A short, growing pause spreads out writers that collided.
                    tokio::time::sleep(Duration::from_millis(2 * u64::from(attempt))).await;
                }
                Err(AggregateError::AggregateConflict) => {
                    return Err(Error::Conflict {
                        aggregate_type: A::TYPE,
                        aggregate_id: aggregate_id.to_owned(),
                        attempts: attempt,
                    })
                }
                Err(other) => return Err(store_error(other)),
            }
        }
    }

    fn committed(&self, aggregate_id: &str, version: i64) -> Committed {
        Committed {
            aggregate_type: A::TYPE,
            aggregate_id: aggregate_id.to_owned(),
            version,
        }
    }
}

fn store_error(error: AggregateError<DomainError>) -> Error {
    match error {
        AggregateError::UserError(e) => Error::Domain(e),
        AggregateError::AggregateConflict => Error::Store("unexpected conflict on load".into()),
        AggregateError::DatabaseConnectionError(e)
        | AggregateError::DeserializationError(e)
        | AggregateError::UnexpectedError(e) => Error::Store(e),
    }
}
