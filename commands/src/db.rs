//! Connecting to PostgreSQL and applying the schema.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// The migrations of `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, crate::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), crate::Error> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Creates the database `name` on the server `url` points at, and returns the new database's
/// URL. For tests and benchmarks, which each work in a database of their own.
pub async fn create_database(url: &str, name: &str) -> Result<String, crate::Error> {
    let options = server_options(url, name)?;
    let mut conn = options.connect().await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(options.database(name).to_url_lossy().to_string())
}

/// Drops the database `name` on the server `url` points at, closing its sessions. A session
/// of another role (an autovacuum worker) cannot be closed for us: the drop is tried again
/// until it has gone, for up to ten seconds.
pub async fn drop_database(url: &str, name: &str) -> Result<(), crate::Error> {
    let options = server_options(url, name)?;
    let mut conn = options.connect().await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        match dropped {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("42501")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => {
                other?;
                break;
            }
        }
    }
    conn.close().await?;
    Ok(())
}

/// A database of a test's or a benchmark's own, migrated: `hirestream_<what>_<id>` on the
/// server `url` points at. Drop it with [`ScratchDatabase::drop_database`]; a failed test that skips
/// that leaves it for inspection.
#[derive(Debug)]
pub struct ScratchDatabase {
    id: uuid::Uuid,
    server: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    pub async fn create(url: &str, what: &str) -> Result<Self, crate::Error> {
        let id = uuid::Uuid::new_v4();
        let name = format!("hirestream_{what}_{}", id.simple());
        let scratch_url = create_database(url, &name).await?;
        let pool = connect(&scratch_url, 1).await?;
        let migrated = migrate(&pool).await;
        pool.close().await;
        let scratch = Self {
            id,
            server: url.to_owned(),
            name,
            url: scratch_url,
        };
        if let Err(error) = migrated {
            scratch.drop_database().await.ok();
            return Err(error);
        }
        Ok(scratch)
    }

    /// A random id, unique to this database, for naming what goes with it (topics, files).
    pub fn id(&self) -> uuid::Uuid {
        self.id
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn drop_database(self) -> Result<(), crate::Error> {
        drop_database(&self.server, &self.name).await
    }
}

/// Connection options for `url`, after checking that `name` is a plain identifier (it is
/// spliced into DDL, which takes no parameters).
fn server_options(url: &str, name: &str) -> Result<PgConnectOptions, crate::Error> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        return Err(sqlx::Error::Configuration(
            format!("`{name}` is not a plain database name").into(),
        )
        .into());
    }
    Ok(url.parse::<PgConnectOptions>()?)
}
