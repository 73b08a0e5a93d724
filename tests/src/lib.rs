//! Helpers for the end-to-end tests: each test gets its own PostgreSQL database, its own
//! topic prefix (and so its own consumer groups), and the app on a free loopback port.
//! PostgreSQL and Kafka are the real ones `scripts/services` starts.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use api::auth::TokenKeys;
use api::process::{self, Parts, Started};
use api::Settings;
use commands::CommandContext;
use domain::{Actor, Role};
pub use hirestream_bench::broker::LocalBroker;
use hirestream_bench::Scratch;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub mod client;
pub mod fixtures;

pub use client::{Response, User};
pub use fixtures::Market;

/// One test's private world.
#[derive(Debug)]
pub struct TestEnv {
    pub settings: Settings,
    pub pool: PgPool,
    pub keys: TokenKeys,
    scratch: Scratch,
}

impl TestEnv {
    /// A fresh, migrated database, a fresh topic prefix and vector-index directory.
    pub async fn new() -> Self {
        let base = Settings::load(None).expect("settings load");
        let scratch = Scratch::create(&base, "t")
            .await
            .expect("create test database");
        let mut settings = scratch.settings.clone();
        settings.database.max_connections = 30;
        settings.http.addr = "127.0.0.1:0".into();
        settings.relay.idle_poll_ms = 50;
        // A loaded CI machine can take seconds to start a consumer group.
        settings.http.consistency_wait_ms = 20_000;
        settings.http.request_timeout_ms = 60_000;
        settings.relay.retry_backoff_ms = 200;
        settings.projector.retry_backoff_ms = 200;
        settings.audit.checkpoint_interval_ms = 200;
        // Tests poll as fast as they like; the limit has tests of its own.
        settings.http.rate_limit_per_second = 0.0;
        settings.log.filter = "warn".into();
        // The tests sign tokens and webhooks with the public development secrets.
        settings.dev_mode = true;
        let _ = api::telemetry::init(&settings.log, &settings.telemetry);

        let pool = process::connect(&settings)
            .await
            .expect("connect test database");
        let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
        Self {
            settings,
            pool,
            keys,
            scratch,
        }
    }

    /// Starts the given parts; stop them with the returned app's `stop`.
    pub async fn start(&self, parts: Parts) -> RunningApp {
        let shutdown = CancellationToken::new();
        let started = process::start(&self.settings, self.pool.clone(), parts, shutdown.clone())
            .await
            .expect("start app");
        RunningApp {
            addr: started.addr,
            shutdown,
            started,
            client: reqwest::Client::new(),
        }
    }

    pub fn token(&self, subject: Uuid, role: Role) -> String {
        self.keys.mint(
            Actor::new(subject, role),
            chrono::Utc::now().timestamp(),
            3600,
        )
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .expect("count events")
    }

    /// Drops the test database. A failing test skips this and leaves it for inspection.
    pub async fn cleanup(self) {
        self.pool.close().await;
        self.scratch.drop_database().await.ok();
    }
}

/// A command context for `actor`, as one request would give it.
pub fn context(actor: Actor) -> CommandContext {
    CommandContext::for_request(actor, Uuid::new_v4().to_string(), None)
}

/// A running app and an HTTP client for it.
#[derive(Debug)]
pub struct RunningApp {
    pub addr: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    started: Started,
    pub client: reqwest::Client,
}

impl RunningApp {
    pub fn url(&self, path: &str) -> String {
        let addr = self.addr.expect("the API runs in this app");
        format!("http://{addr}{path}")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.started.wait().await;
    }
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Appends events `first..first + count` of a test aggregate (type `counter`) in one
/// transaction, the way postgres-es writes them.
pub async fn append_counter_events(
    conn: &mut sqlx::PgConnection,
    aggregate_id: &str,
    first: i64,
    count: i64,
) {
    for sequence in first..first + count {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                 payload, metadata)
             VALUES ('counter', $1, $2, 'Incremented', '1.0', $3, '{}')",
        )
        .bind(aggregate_id)
        .bind(sequence)
        .bind(serde_json::json!({ "Incremented": { "n": sequence } }))
        .execute(&mut *conn)
        .await
        .expect("insert event");
    }
}

/// How many events the relay has recorded as published.
pub async fn published(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(max(published), 0) FROM relay_checkpoint")
        .fetch_one(pool)
        .await
        .expect("relay checkpoint")
}

/// One message read back from a topic.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub value: serde_json::Value,
    pub headers: Vec<(String, String)>,
}

/// Reads a topic from the beginning, with a consumer group of its own, until `done` says
/// enough arrived; panics after `timeout`.
pub async fn read_topic(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::{Headers, Message};

    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("{topic}.check.{}", Uuid::new_v4().simple()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = tokio::time::Instant::now() + timeout;
    let mut received = Vec::new();
    while !done(&received) {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{topic}: timed out after {} messages", received.len()))
            .expect("message");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(text).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        received.push(Received {
            key: message.key().map(text).unwrap_or_default(),
            value: serde_json::from_slice(message.payload().unwrap_or_default())
                .expect("JSON value"),
            headers,
        });
    }
    received
}
