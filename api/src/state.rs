use std::sync::Arc;
use std::time::Duration;

use commands::health::Health;
use commands::CommandService;
use projections::matching::feeds::JobSearch;
use projections::progress::Progress;
use sqlx::PgPool;

use crate::auth::Authenticator;
use crate::routes::payments::WebhookVerifier;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub commands: Arc<CommandService>,
    pub pool: PgPool,
    /// Verifies bearer tokens; signs the ones a sign-in gives.
    pub auth: Arc<Authenticator>,
    /// The buckets of API keys' own rates.
    pub key_limits: crate::rate_limit::RateLimiter,
    /// The suspended organizations, as this process last read them.
    pub suspensions: crate::organizations::Suspensions,
    /// Longest a query waits for a projection to reflect a given write.
    pub consistency_wait: Duration,
    /// Wakes those waits when a projector commits.
    pub progress: Progress,
    /// The parts running in this process, for readiness.
    pub health: Health,
    /// Cancelled when the process stops: long-lived answers (event streams) end then, so a
    /// graceful shutdown does not wait for their clients.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The projectors of this process that an admin may ask to rebuild.
    pub rebuilds: crate::process::Rebuilds,
    pub webhook: Arc<WebhookVerifier>,
    /// Where admin imports may fetch feeds from.
    pub imports: Arc<commands::import::FetchPolicy>,
    /// The public key checkpoints are signed with, when the settings give a valid one.
    pub audit_key: Option<[u8; 32]>,
    /// Semantic search of open jobs, where this process can reach the vector index.
    pub search: Option<JobSearch>,
}
