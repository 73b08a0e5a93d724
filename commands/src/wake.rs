//! Waking the relay after a commit without slowing the commit down.
//!
//! A `NOTIFY` inside the appending transaction serialises every such commit on PostgreSQL's
//! notification queue. Instead, each append rings an [`AppendBell`]; one task per process
//! turns the rings into `pg_notify` calls of their own, one at a time, so rings that arrive
//! while a notification is on its way are answered by the next one. The relay still polls,
//! for writers that do not ring.

use sqlx::PgPool;
use tokio::sync::mpsc;

/// The channel the relay listens on.
pub const EVENTS_CHANNEL: &str = "hirestream_events";

/// Rings after an append; cheap and never waits.
#[derive(Debug, Clone)]
pub struct AppendBell {
    rings: Option<mpsc::Sender<()>>,
}

impl AppendBell {
    /// A bell whose rings notify the relay through `pool`. Outside a Tokio runtime, a silent
    /// bell: the relay then finds the events by polling.
    pub fn new(pool: PgPool) -> Self {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Self::silent();
        };
        let (sender, mut receiver) = mpsc::channel(1);
        runtime.spawn(async move {
            // Ends when the last bell is dropped.
            while receiver.recv().await.is_some() {
                let notified = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(EVENTS_CHANNEL)
                    .execute(&pool)
                    .await;
                if let Err(error) = notified {
                    tracing::debug!(%error, "relay not woken; it will poll");
                }
            }
        });
        Self {
            rings: Some(sender),
        }
    }

    pub fn silent() -> Self {
        Self { rings: None }
    }

    pub fn ring(&self) {
        if let Some(rings) = &self.rings {
            // A full channel means a notification is already due.
            let _ = rings.try_send(());
        }
    }
}
