//! What each long-running part of a process reports about itself, for `/readyz`.
//!
//! The relay, every projector and every reactor hold a [`PartHealth`] and say when they
//! make progress, how far behind they are, and when they find themselves stuck (work is
//! pending and nothing moved for a while). The API reads the whole [`Health`] of its process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The state of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    Starting,
    Running,
    /// Work is pending and the part has not moved for a while; it is recovering.
    Stuck,
    /// The part stopped on an error.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartStatus {
    pub state: PartState,
    /// Events committed that the part has not handled yet, when it knows.
    pub lag: Option<i64>,
    pub last_progress_at: Option<DateTime<Utc>>,
    /// What went wrong last, if anything.
    pub last_problem: Option<String>,
}

/// The parts of one process.
#[derive(Debug, Clone, Default)]
pub struct Health {
    parts: Arc<Mutex<BTreeMap<String, PartStatus>>>,
}

impl Health {
    /// Registers a part, starting.
    pub fn part(&self, name: impl Into<String>) -> PartHealth {
        let name = name.into();
        self.update(&name, |_| {});
        PartHealth {
            health: self.clone(),
            name,
        }
    }

    /// Every part's status, by name.
    pub fn snapshot(&self) -> BTreeMap<String, PartStatus> {
        self.lock().clone()
    }

    /// Whether every part is starting or running.
    pub fn is_ready(&self) -> bool {
        self.lock()
            .values()
            .all(|p| matches!(p.state, PartState::Starting | PartState::Running))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, PartStatus>> {
        self.parts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut PartStatus)) {
        let mut parts = self.lock();
        let status = parts.entry(name.to_owned()).or_insert(PartStatus {
            state: PartState::Starting,
            lag: None,
            last_progress_at: None,
            last_problem: None,
        });
        change(status);
    }
}

/// One part's handle on its status.
#[derive(Debug, Clone)]
pub struct PartHealth {
    health: Health,
    name: String,
}

impl PartHealth {
    /// A handle that reports to nobody, for parts run outside a process's registry.
    pub fn detached(name: impl Into<String>) -> Self {
        Health::default().part(name)
    }

    pub fn running(&self) {
        self.health.update(&self.name, |s| {
            if s.state == PartState::Starting {
                s.state = PartState::Running;
            }
        });
    }

    /// The part handled something: it is running.
    pub fn progressed(&self) {
        self.health.update(&self.name, |s| {
            s.state = PartState::Running;
            s.last_progress_at = Some(Utc::now());
        });
    }

    pub fn lag(&self, lag: i64) {
        self.health.update(&self.name, |s| s.lag = Some(lag));
    }

    pub fn stuck(&self, problem: impl Into<String>) {
        let problem = problem.into();
        self.health.update(&self.name, |s| {
            s.state = PartState::Stuck;
            s.last_problem = Some(problem);
        });
    }

    pub fn failed(&self, problem: impl Into<String>) {
        let problem = problem.into();
        self.health.update(&self.name, |s| {
            s.state = PartState::Failed;
            s.last_problem = Some(problem);
        });
    }

    /// Notes a problem the part recovers from by itself.
    pub fn problem(&self, problem: impl Into<String>) {
        let problem = problem.into();
        self.health
            .update(&self.name, |s| s.last_problem = Some(problem));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_ready_until_a_part_is_stuck_and_again_once_it_moves() {
        let health = Health::default();
        let relay = health.part("relay");
        let ledger = health.part("ledger");
        assert!(health.is_ready());
        ledger.stuck("no progress for 30 s with 12 events pending");
        assert!(!health.is_ready());
        assert_eq!(health.snapshot()["ledger"].state, PartState::Stuck);
        ledger.progressed();
        relay.running();
        assert!(health.is_ready());
        relay.failed("database gone");
        assert!(!health.is_ready());
    }
}
