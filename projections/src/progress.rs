//! Waiting for a projection to apply a write, woken by the projector's commit.
//!
//! Each projector batch notifies `hirestream_applied` with the projection's name inside its
//! transaction, so the notification arrives exactly when its effects are visible. One
//! listener per process turns those into a signal per projection; a waiter checks
//! `projection_applied`, then sleeps until the next signal (or a short fallback poll, should
//! the listener be reconnecting) and checks again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::{Error, Projection};

/// The channel projectors notify on commit; the payload is the projection's name.
pub const APPLIED_CHANNEL: &str = "hirestream_applied";

/// Signals kept before those nobody waits on are dropped.
const MAX_IDLE_SIGNALS: usize = 4_096;

/// Recipients' signals live beside the projections', under a prefix no projection has.
fn recipient_key(recipient: &str) -> String {
    format!("to {recipient}")
}

/// Longest a waiter sleeps without a signal before it looks again.
const FALLBACK_POLL: Duration = Duration::from_millis(100);

const APPLIED_VERSION: &str = "
SELECT sequence FROM projection_applied
 WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = $3";

/// Signals, per projection, that a batch of it committed.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    signals: Arc<Mutex<HashMap<String, watch::Sender<()>>>>,
}

impl Progress {
    /// Listens for projector commits on `pool`'s database, reconnecting after a failure, for
    /// as long as the process runs. Outside a Tokio runtime, waiters poll instead.
    pub fn listen(pool: PgPool) -> Self {
        let progress = Self::default();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let signals = progress.clone();
            runtime.spawn(async move {
                loop {
                    if let Err(error) = signals.relay_notifications(&pool).await {
                        tracing::debug!(%error, "projection listener lost; reconnecting");
                    }
                    tokio::time::sleep(FALLBACK_POLL).await;
                }
            });
        }
        progress
    }

    async fn relay_notifications(&self, pool: &PgPool) -> Result<(), Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener
            .listen_all([APPLIED_CHANNEL, crate::notifications::NOTIFIED_CHANNEL])
            .await?;
        // Whatever committed while no listener heard it: every waiter looks again.
        self.wake_all();
        loop {
            let notification = listener.recv().await?;
            let key = if notification.channel() == APPLIED_CHANNEL {
                notification.payload().to_owned()
            } else {
                recipient_key(notification.payload())
            };
            self.signal(&key).send_replace(());
        }
    }

    fn wake_all(&self) {
        let signals = self
            .signals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for signal in signals.values() {
            signal.send_replace(());
        }
    }

    /// A signal that changes whenever notifications for `recipient` (`<role>:<id>`) commit,
    /// in any process.
    pub fn notifications_for(&self, recipient: &str) -> watch::Receiver<()> {
        self.signal(&recipient_key(recipient)).subscribe()
    }

    fn signal(&self, projection: &str) -> watch::Sender<()> {
        let mut signals = self
            .signals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if signals.len() > MAX_IDLE_SIGNALS {
            // Signals nobody waits on are made again when someone does.
            signals.retain(|_, signal| signal.receiver_count() > 0);
        }
        signals
            .entry(projection.to_owned())
            .or_insert_with(|| watch::channel(()).0)
            .clone()
    }

    /// Waits until projection `P` has applied version `version` of the aggregate, or
    /// `timeout` passes. Returns whether it got there.
    pub async fn wait_for_version<P: Projection>(
        &self,
        pool: &PgPool,
        aggregate_type: &str,
        aggregate_id: &str,
        version: i64,
        timeout: Duration,
    ) -> Result<bool, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut applied_signal = self.signal(P::NAME).subscribe();
        loop {
            // Marked seen before the check: a commit after it wakes the wait below.
            applied_signal.borrow_and_update();
            let applied: Option<i64> = sqlx::query_scalar(APPLIED_VERSION)
                .bind(P::NAME)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch_optional(pool)
                .await?;
            if applied.is_some_and(|applied| applied >= version) {
                return Ok(true);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let pause = FALLBACK_POLL.min(deadline - now);
            let _ = tokio::time::timeout(pause, applied_signal.changed()).await;
        }
    }
}

const UNAPPLIED: &str = "
SELECT count(*) FROM events e
  LEFT JOIN projection_applied a
         ON a.projection = $1 AND a.aggregate_type = e.aggregate_type
        AND a.aggregate_id = e.aggregate_id
 WHERE e.aggregate_type = ANY($2) AND e.global_position <= $3
   AND e.sequence > COALESCE(a.sequence, 0)";

/// How many events of `aggregate_types` at or before global position `through` the
/// projection named `projection` has not applied yet: 0 once it has caught up with them.
pub async fn unapplied(
    pool: &PgPool,
    projection: &str,
    aggregate_types: &[&str],
    through: i64,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(UNAPPLIED)
        .bind(projection)
        .bind(aggregate_types)
        .bind(through)
        .fetch_one(pool)
        .await?)
}
