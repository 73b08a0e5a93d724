//! Rebuilds asked of a projector that is running (by an admin, from the console): the
//! projector finishes its batch, rebuilds from the event store, then goes on consuming from
//! where the rebuild handed over. The handle tells how the last one went.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;

use super::RebuildProgress;

/// Where a projector's rebuild stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RebuildState {
    /// None asked since the process started.
    #[default]
    Idle,
    /// Asked; starts once the batch in flight is applied.
    Requested,
    Running,
    Done,
    /// The rebuild stopped on an error; the projector went on from the new generation's
    /// start, which replays the topics.
    Failed,
}

/// How the last rebuild went, or goes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RebuildStatus {
    pub state: RebuildState,
    /// Events read from the store so far, of `total`.
    pub read: u64,
    pub total: u64,
    pub events_per_second: f64,
    pub requested_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Shared by a running projector and whoever may ask it to rebuild.
#[derive(Debug, Clone, Default)]
pub struct RebuildHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    asked: Notify,
    status: Mutex<RebuildStatus>,
}

impl RebuildHandle {
    fn status_mut(&self) -> std::sync::MutexGuard<'_, RebuildStatus> {
        self.inner
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks for a rebuild; false when one is already asked or running.
    pub fn request(&self) -> bool {
        let mut status = self.status_mut();
        if matches!(
            status.state,
            RebuildState::Requested | RebuildState::Running
        ) {
            return false;
        }
        *status = RebuildStatus {
            state: RebuildState::Requested,
            requested_at: Some(Utc::now()),
            ..RebuildStatus::default()
        };
        self.inner.asked.notify_one();
        true
    }

    pub fn status(&self) -> RebuildStatus {
        self.status_mut().clone()
    }

    /// Waits until a rebuild is asked.
    pub(crate) async fn asked(&self) {
        self.inner.asked.notified().await
    }

    pub(crate) fn progressed(&self, progress: &RebuildProgress) {
        let mut status = self.status_mut();
        status.state = RebuildState::Running;
        status.read = progress.read;
        status.total = progress.total;
        status.events_per_second = progress.rate();
    }

    pub(crate) fn finished(&self, outcome: Result<&RebuildProgress, String>) {
        let mut status = self.status_mut();
        match outcome {
            Ok(progress) => {
                status.state = RebuildState::Done;
                status.read = progress.read;
                status.total = progress.total;
                status.events_per_second = progress.rate();
            }
            Err(error) => {
                status.state = RebuildState::Failed;
                status.error = Some(error);
            }
        }
        status.finished_at = Some(Utc::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_heard_once_and_not_asked_twice() {
        let handle = RebuildHandle::default();
        assert_eq!(handle.status().state, RebuildState::Idle);
        assert!(handle.request());
        assert!(!handle.request(), "already asked");
        // The permit waits for the projector even when it was not listening yet.
        handle.asked().await;
        let progress = RebuildProgress {
            read: 3,
            total: 3,
            elapsed: std::time::Duration::from_millis(30),
        };
        handle.progressed(&progress);
        assert!(!handle.request(), "running");
        handle.finished(Ok(&progress));
        let status = handle.status();
        assert_eq!((status.state, status.read), (RebuildState::Done, 3));
        assert!(handle.request(), "a finished one may be asked again");
    }
}
