//! A scratch database for the tests of the matching rules that live in SQL: created with a
//! unique name on the server `HIRESTREAM_DATABASE__URL` names (the settings' default
//! otherwise) and migrated by [`ScratchDatabase`], and dropped by [`Scratch::drop`]. A failing test leaves its database
//! for inspection, as the end-to-end tests do.

use commands::db::ScratchDatabase;
use domain::matching::{Factors, Score};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::feeds::write::{Entry, Feed};

/// The server of the settings' default database URL.
const DEFAULT_URL: &str = "postgres://hirestream:hirestream@127.0.0.1:5432/hirestream";

#[derive(Debug)]
pub(super) struct Scratch {
    pub(super) pool: PgPool,
    database: ScratchDatabase,
}

impl Scratch {
    pub(super) async fn new() -> Self {
        let server =
            std::env::var("HIRESTREAM_DATABASE__URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let database = ScratchDatabase::create(&server, "unit")
            .await
            .unwrap_or_else(|e| {
                panic!("a scratch database on {server} (is PostgreSQL running?): {e:?}")
            });
        let pool = commands::db::connect(database.url(), 2)
            .await
            .expect("connect to the scratch database");
        Self { pool, database }
    }

    pub(super) async fn conn(&self) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
        self.pool.acquire().await.expect("a scratch connection")
    }

    pub(super) async fn drop(self) {
        self.pool.close().await;
        self.database
            .drop_database()
            .await
            .expect("drop the scratch database");
    }
}

/// The id `n`, for readable fixtures.
pub(super) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A scored pair, with factors that do not matter to the feeds' order.
pub(super) fn entry(candidate: u128, job: u128, total: u8, similarity: f32) -> Entry {
    Entry {
        candidate_id: id(candidate),
        job_id: id(job),
        score: Score {
            total,
            factors: Factors {
                skills: 0.0,
                experience: 0.0,
                semantic: 0.0,
                salary: 0.0,
                culture: 0.0,
                validation: 0.0,
            },
        },
        similarity,
    }
}

/// The other side's ids in an owner's feed, best first, as the reads rank them.
pub(super) async fn ranked(conn: &mut PgConnection, feed: Feed, owner_id: Uuid) -> Vec<Uuid> {
    let (table, owner, other) = feed.columns();
    sqlx::query_scalar(&format!(
        "SELECT {other} FROM {table} WHERE {owner} = $1
          ORDER BY score DESC, similarity DESC, {other}"
    ))
    .bind(owner_id)
    .fetch_all(conn)
    .await
    .expect("read a feed")
}
