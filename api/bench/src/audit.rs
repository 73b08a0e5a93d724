//! The cost of a verifiable history: ChargeCredits with the hash chain beside the same load
//! with the database's hashing switched off, and `audit verify` over a large store beside a
//! plain read of the same rows.

use std::sync::Arc;
use std::time::Instant;

use api::settings::Settings;
use commands::audit::{verify, Notary};
use commands::CommandService;
use futures::TryStreamExt;

use crate::credits::{self, CreditsBench};
use crate::report::Throughput;
use crate::scratch::Scratch;

#[derive(Debug, Clone, Copy)]
pub struct AuditBench {
    /// Events in the store that is verified.
    pub events: usize,
    /// Charges of the append comparison.
    pub charges: usize,
    pub concurrency: usize,
}

#[derive(Debug)]
pub struct AuditReport {
    pub hashed: Throughput,
    pub unhashed: Throughput,
    pub read: Throughput,
    pub verify: Throughput,
    pub checkpoints: u64,
}

impl std::fmt::Display for AuditReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "ChargeCredits with the hash chain:    {}", self.hashed)?;
        writeln!(f, "ChargeCredits without it (baseline): {}", self.unhashed)?;
        writeln!(
            f,
            "append cost of hashing: {:.2}x the time of the baseline",
            self.unhashed.per_second() / self.hashed.per_second()
        )?;
        writeln!(
            f,
            "audit verify ({} checkpoints): {}",
            self.checkpoints, self.verify
        )?;
        writeln!(f, "plain read of the same rows (baseline): {}", self.read)?;
        write!(
            f,
            "verify runs at {:.2} of the plain read's rate",
            self.verify.per_second() / self.read.per_second()
        )
    }
}

pub async fn audit(settings: &Settings, bench: AuditBench) -> Result<AuditReport, commands::Error> {
    let appends = CreditsBench {
        charges: bench.charges,
        wallets: 50,
        concurrency: bench.concurrency,
    };
    let unhashed = append(settings, appends, false).await?;
    let hashed = append(settings, appends, true).await?;
    let scratch = Scratch::create(settings, "audit").await?;
    let result = verify_store(&scratch, settings, bench.events).await;
    scratch.drop_database().await?;
    let (read, verify, checkpoints) = result?;
    Ok(AuditReport {
        hashed,
        unhashed,
        read,
        verify,
        checkpoints,
    })
}

/// ChargeCredits across many wallets in a scratch database, with or without the trigger
/// that hashes every event.
async fn append(
    settings: &Settings,
    bench: CreditsBench,
    hashing: bool,
) -> Result<Throughput, commands::Error> {
    let scratch = Scratch::create(settings, "append").await?;
    let result = async {
        let url = scratch.settings.database.url.expose();
        let pool = commands::db::connect(url, (bench.concurrency as u32 + 4).max(8)).await?;
        if !hashing {
            sqlx::raw_sql(
                "ALTER TABLE events DISABLE TRIGGER events_hash_chain;
                 ALTER TABLE events ALTER COLUMN hash DROP NOT NULL;",
            )
            .execute(&pool)
            .await?;
        }
        let service = Arc::new(CommandService::new(
            pool.clone(),
            commands::service::DEFAULT_MAX_ATTEMPTS,
            commands::privacy::MasterKeys::development(),
        ));
        let wallets = credits::market(&service, bench.wallets, bench.charges as i64).await?;
        let throughput = credits::charge(&service, &wallets, bench).await?;
        pool.close().await;
        Ok(throughput)
    }
    .await;
    scratch.drop_database().await?;
    result
}

/// Fills the store with `events` wallet events (hashed by the trigger), signs them, then
/// times a plain read of the rows and `audit verify`.
async fn verify_store(
    scratch: &Scratch,
    settings: &Settings,
    events: usize,
) -> Result<(Throughput, Throughput, u64), commands::Error> {
    let pool = commands::db::connect(scratch.settings.database.url.expose(), 4).await?;
    let per_stream = 1_000usize;
    let streams = events.div_ceil(per_stream);
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT 'wallet', 'bench-' || w, s, 'CreditsGranted', '1.0',
                jsonb_build_object('CreditsGranted', jsonb_build_object(
                    'wallet_id', 'bench-' || w, 'grant_id', md5(w || ':' || s),
                    'credits', 1, 'reason', 'benchmark', 'balance_after', s)),
                jsonb_build_object('actor_subject', md5(w::text), 'actor_role', 'admin',
                    'correlation_id', md5(s::text), 'causation_id', md5(s::text),
                    'request_id', md5(s::text), 'command', 'GrantCredits')
           FROM generate_series(1, $1) AS w, generate_series(1, $2) AS s
          WHERE (w - 1) * $2 + s <= $3
          ORDER BY w, s",
    )
    .bind(streams as i32)
    .bind(per_stream as i32)
    .bind(events as i32)
    .execute(&pool)
    .await?;
    let signer = settings
        .audit
        .signer()
        .map_err(|e| commands::Error::Store(Box::new(e)))?;
    let key = signer.public_key();
    let notary = Notary::new(pool.clone(), signer, settings.audit.notary_config());
    while notary.checkpoint(true).await?.is_some() {}

    let started = Instant::now();
    let mut rows = sqlx::query_as::<_, (String, String, String, Vec<u8>)>(
        "SELECT aggregate_id, payload::text, metadata::text, hash FROM events
          ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .fetch(&pool);
    let mut read = 0;
    while rows.try_next().await?.is_some() {
        read += 1;
    }
    drop(rows);
    let read = Throughput {
        count: read,
        unit: "events",
        elapsed: started.elapsed(),
    };

    let started = Instant::now();
    let report = verify::verify(&pool, &key, |_| {}).await?;
    let verified = Throughput {
        count: report.events as usize,
        unit: "events",
        elapsed: started.elapsed(),
    };
    pool.close().await;
    if !report.is_intact() {
        return Err(commands::Error::Store(
            format!(
                "the benchmark's store does not verify: {:?}",
                report.problems
            )
            .into(),
        ));
    }
    Ok((read, verified, report.checkpoints))
}
