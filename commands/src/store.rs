//! Loading aggregates and appending their events, with bounded retries when a concurrent
//! writer appended first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventStore};
use domain::DomainError;
use serde::Serialize;
use sqlx::PgPool;

use crate::context::CommandContext;
use crate::privacy::repository::SealedRepository;
use crate::privacy::Keyring;
use crate::wake::AppendBell;
use crate::Error;

/// What a command wrote: the aggregate and the version it is at now. A query can ask to
/// reflect at least this version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub version: i64,
}

/// How many aggregates a store keeps in memory between commands.
const CACHED_AGGREGATES: usize = 10_000;

const AGGREGATE_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 AND aggregate_id = $2)";

/// The event store of one aggregate type.
pub struct Store<A: Aggregate> {
    pool: PgPool,
    inner: PersistedEventStore<SealedRepository, A>,
    max_attempts: u32,
    /// Snapshot interval in events, for stores that snapshot.
    snapshot_every: Option<usize>,
    /// Commands on one aggregate in this process take turns, so they do not race each
    /// other to a conflict; writers in other processes are still caught by the
    /// optimistic-concurrency check.
    turns: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    /// The state and version each aggregate was left at by this process's last command on
    /// it, so the next command need not read its events again. A writer in another process
    /// makes the cached version stale; the append then conflicts on the version, and the
    /// aggregate is read from the store again.
    cache: Mutex<HashMap<String, EventStoreAggregateContext<A>>>,
    bell: AppendBell,
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
    A: Aggregate<Error = DomainError, Services = ()> + Clone,
    A::Command: domain::Command + Clone,
{
    pub fn new(keyring: Keyring, max_attempts: u32) -> Self {
        let pool = keyring.pool().clone();
        let repo = SealedRepository::new(keyring);
        Self::from_store(
            pool,
            PersistedEventStore::new_event_store(repo),
            max_attempts,
            None,
        )
    }

    /// A store that snapshots the aggregate every `every` events, for aggregates with long
    /// histories (a wallet is charged for years).
    pub fn with_snapshots(keyring: Keyring, max_attempts: u32, every: usize) -> Self {
        let pool = keyring.pool().clone();
        let repo = SealedRepository::new(keyring);
        Self::from_store(
            pool,
            PersistedEventStore::new_snapshot_store(repo, every),
            max_attempts,
            Some(every.max(1)),
        )
    }

    fn from_store(
        pool: PgPool,
        inner: PersistedEventStore<SealedRepository, A>,
        max_attempts: u32,
        snapshot_every: Option<usize>,
    ) -> Self {
        Self {
            pool,
            inner,
            max_attempts: max_attempts.max(1),
            snapshot_every,
            turns: Mutex::default(),
            cache: Mutex::default(),
            bell: AppendBell::silent(),
        }
    }

    /// Rings `bell` after every append, to wake the relay.
    pub fn with_bell(mut self, bell: AppendBell) -> Self {
        self.bell = bell;
        self
    }

    /// Whether the aggregate has any event, in one indexed look-up instead of a replay.
    pub async fn exists(&self, aggregate_id: &str) -> Result<bool, Error> {
        let exists = sqlx::query_scalar(AGGREGATE_EXISTS)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(exists)
    }

    fn cached(&self, aggregate_id: &str) -> Option<EventStoreAggregateContext<A>> {
        lock(&self.cache).remove(aggregate_id)
    }

    fn remember(&self, context: EventStoreAggregateContext<A>) {
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHED_AGGREGATES {
            cache.clear();
        }
        cache.insert(context.aggregate_id.clone(), context);
    }

    /// Whether appending `count` events to an aggregate at `sequence` writes a snapshot
    /// (the interval's boundary is crossed), as the persisted store decides it.
    fn snapshots_at(&self, sequence: usize, count: usize) -> bool {
        self.snapshot_every
            .is_some_and(|every| sequence / every != (sequence + count) / every)
    }

    fn turn(&self, aggregate_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = lock(&self.turns);
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
        ctx: &CommandContext,
    ) -> Result<Committed, Error> {
        let name = domain::Command::name(&command);
        let result = self.decide_and_append(aggregate_id, command, ctx).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(Error::Domain(_)) => "refused",
            Err(Error::Conflict { .. }) => "conflict",
            Err(_) => "failed",
        };
        metrics::counter!(
            "hirestream_commands_total",
            "aggregate" => A::TYPE, "command" => name, "outcome" => outcome
        )
        .increment(1);
        result
    }

    async fn decide_and_append(
        &self,
        aggregate_id: &str,
        command: A::Command,
        ctx: &CommandContext,
    ) -> Result<Committed, Error> {
        let metadata = ctx.metadata(&command);
        let turn = self.turn(aggregate_id);
        let _turn = turn.lock().await;
        let mut attempt = 0;
        let mut cached = self.cached(aggregate_id);
        loop {
            attempt += 1;
            let mut context = match cached.take() {
                Some(context) => context,
                None => self
                    .inner
                    .load_aggregate(aggregate_id)
                    .await
                    .map_err(store_error)?,
            };
            // The sink applies each event to the aggregate as the command writes it. A refused
            // command may have applied some, so its aggregate is not kept.
            let sink = EventSink::default();
            context
                .aggregate
                .handle(command.clone(), &(), &sink)
                .await?;
            let events = sink.collect().await;
            let version = context.current_sequence as i64;
            if events.is_empty() {
                self.remember(context);
                return Ok(self.committed(aggregate_id, version));
            }
            let snapshots = self.snapshots_at(context.current_sequence, events.len());
            // The store reads the aggregate's state only to write a snapshot; otherwise the
            // state, with the new events already applied, stays here for the next command.
            let mut next = EventStoreAggregateContext {
                aggregate_id: context.aggregate_id.clone(),
                aggregate: A::default(),
                current_sequence: context.current_sequence,
                current_snapshot: context.current_snapshot,
            };
            std::mem::swap(&mut next.aggregate, &mut context.aggregate);
            let for_commit = if snapshots {
                EventStoreAggregateContext {
                    aggregate: next.aggregate.clone(),
                    ..context
                }
            } else {
                context
            };
            match self
                .inner
                .commit(events, for_commit, metadata.clone())
                .await
            {
                Ok(written) => {
                    self.bell.ring();
                    let version = written.last().map_or(version, |e| e.sequence as i64);
                    next.current_sequence = version as usize;
                    if snapshots {
                        next.current_snapshot = Some(next.current_snapshot.map_or(1, |s| s + 1));
                    }
                    self.remember(next);
                    return Ok(self.committed(aggregate_id, version));
                }
                Err(AggregateError::AggregateConflict) if attempt < self.max_attempts => {
                    tracing::debug!(aggregate_id, attempt, "concurrent append, retrying");
                    metrics::counter!("hirestream_command_conflict_retries_total", "aggregate" => A::TYPE)
                        .increment(1);
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn store_error(error: AggregateError<DomainError>) -> Error {
    match error {
        AggregateError::UserError(e) => Error::Domain(e),
        AggregateError::AggregateConflict => Error::Store("unexpected conflict on load".into()),
        // A database error stays one, so that callers can tell an outage (a pool that timed
        // out, a connection lost) from a fault of the store.
        AggregateError::DatabaseConnectionError(e) | AggregateError::UnexpectedError(e) => {
            let e = match e.downcast::<DomainError>() {
                Ok(refused) => return Error::Domain(*refused),
                Err(e) => e,
            };
            match e.downcast::<sqlx::Error>() {
                Ok(e) => Error::Database(*e),
                Err(e) => Error::Store(e),
            }
        }
        AggregateError::DeserializationError(e) => Error::Store(e),
    }
}
