//! Named starting points of the scenarios: a market with an open job, a candidate with
//! credits, the ledger once it has caught up; [`swipes`] for the pipeline tests. Each asserts its own steps, so a test that
//! starts from one fails at the step that broke.

use std::time::Duration;

use api::process::Parts;
use domain::Role;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::client::{text, User};
use crate::{eventually, RunningApp, TestEnv};

pub mod swipes;

/// The job a market opens with unless it is given another.
pub fn rust_job() -> Value {
    json!({"title": "Rust engineer", "description": "Build it."})
}

/// A market with one open job: a registered employer (Acme Robotics) who posted it, a
/// registered candidate (Ada Lovelace), and an admin.
#[derive(Debug, Clone)]
pub struct Market {
    pub employer: User,
    pub candidate: User,
    pub admin: User,
    /// The open job's id.
    pub job: String,
}

impl Market {
    /// A market whose open job is [`rust_job`].
    pub async fn open(env: &TestEnv, app: &RunningApp) -> Self {
        Self::with_job(env, app, rust_job()).await
    }

    /// A market whose open job is `posting`.
    pub async fn with_job(env: &TestEnv, app: &RunningApp, posting: Value) -> Self {
        let employer = env.user(Role::Employer);
        let candidate = env.user(Role::Candidate);
        app.register_employer(&employer, "Acme Robotics")
            .await
            .expect(201);
        app.register_candidate(&candidate, "Ada Lovelace", "ada@example.com")
            .await
            .expect(201);
        let job = text(&app.post_job(&employer, posting).await.expect(201), "id");
        Market {
            employer,
            candidate,
            admin: env.user(Role::Admin),
            job,
        }
    }

    /// Grants the candidate's wallet `credits`.
    pub async fn with_credits(self, app: &RunningApp, credits: i64) -> Self {
        app.grant(&self.admin, self.candidate.id, credits)
            .await
            .expect(201);
        self
    }
}

/// The API, the relay and the ledger projector.
pub fn ledger_parts() -> Parts {
    Parts {
        api: true,
        relay: true,
        projectors: vec![api::consumer::Consumer::Ledger],
    }
}

/// Waits until the ledger has applied every wallet event in the store.
pub async fn ledger_caught_up(env: &TestEnv) {
    eventually(
        "the ledger to apply every wallet event",
        Duration::from_secs(60),
        || async {
            (projections::ledger::pending_events(&env.pool).await.ok()? == 0).then_some(())
        },
    )
    .await;
}

/// A wallet's ledger entries as (kind, amount), once the ledger has every wallet event.
pub async fn ledger_entries(env: &TestEnv, wallet: Uuid) -> Vec<(String, i64)> {
    ledger_caught_up(env).await;
    projections::ledger::entries(&env.pool, wallet, 0, 100)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| (e.kind, e.amount))
        .collect()
}
