//! `hirestream audit verify`, `hirestream events export` and `hirestream keys generate`.

use std::io::IsTerminal;

use anyhow::{bail, Context};
use api::settings::Settings;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use commands::audit::events::{self, EventFilter};
use commands::audit::{verify, Signer};
use sqlx::PgPool;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every stream's hash chain and every checkpoint and verify the signatures;
    /// print what no longer matches and exit non-zero if anything does.
    Verify {
        /// The public key checkpoints must be signed with (base64); by default the public
        /// half of the configured signing key.
        #[arg(long)]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write the event store to standard output in commit order, one JSON object a line with
    /// its hash (docs/audit.md); progress on standard error.
    Export {
        #[arg(long)]
        from_position: Option<i64>,
        #[arg(long)]
        to_position: Option<i64>,
        #[arg(long)]
        aggregate_type: Option<String>,
        /// Recorded at or after (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// Recorded before (RFC 3339).
        #[arg(long)]
        until: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum KeysCommand {
    /// Print a new Ed25519 key pair for signing checkpoints: the secret for
    /// HIRESTREAM_AUDIT__SIGNING_KEY, and its public half for auditors.
    Generate,
    /// Print a new master key for HIRESTREAM_PRIVACY__MASTER_KEY, which seals the keys of
    /// personal data.
    GenerateMaster,
    /// Seal every subject key with the current master key (HIRESTREAM_PRIVACY__MASTER_KEY)
    /// that an earlier one (listed in HIRESTREAM_PRIVACY__PREVIOUS_MASTER_KEYS) sealed; the
    /// earlier one can be retired afterwards.
    RotateMaster,
}

impl KeysCommand {
    /// Whether the command works on the database (else it only prints a new key).
    pub fn uses_database(self) -> bool {
        matches!(self, KeysCommand::RotateMaster)
    }
}

/// Prints a new key.
pub fn new_key(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate => {
            let (secret, public) = Signer::generate().context("reading randomness")?;
            println!("HIRESTREAM_AUDIT__SIGNING_KEY={secret}");
            println!("public key: {public}");
        }
        KeysCommand::GenerateMaster => {
            let key = commands::privacy::MasterKey::generate().context("reading randomness")?;
            println!("HIRESTREAM_PRIVACY__MASTER_KEY={key}");
        }
        KeysCommand::RotateMaster => anyhow::bail!("rotate-master works on the database"),
    }
    Ok(())
}

/// Seals every subject key anew with the current master key.
pub async fn rotate_master(settings: &Settings, pool: PgPool) -> anyhow::Result<()> {
    let master = settings
        .privacy
        .master_keys()
        .context("reading the master keys")?;
    let current = master.current.id().to_owned();
    let keyring = commands::privacy::Keyring::new(pool, master);
    let rotated = keyring
        .rotate_master()
        .await
        .context("sealing subject keys anew")?;
    println!("{rotated} subject keys sealed with master key {current}");
    Ok(())
}

pub async fn audit(
    settings: &Settings,
    pool: &PgPool,
    command: AuditCommand,
) -> anyhow::Result<()> {
    let AuditCommand::Verify { public_key, json } = command;
    let trusted: [u8; 32] = match public_key {
        Some(text) => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .context("--public-key is 32 bytes in base64")?,
        None => settings.audit.signer()?.public_key(),
    };
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let report = verify::verify(pool, &trusted, |checked| {
        if terminal {
            let rate = checked as f64 / started.elapsed().as_secs_f64().max(1e-3);
            eprint!("\r{checked} events checked ({rate:.0}/s)");
        }
    })
    .await?;
    if terminal {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} events in {} streams, {} checkpoints ({} events after the last) verified in \
             {seconds:.1} s ({:.0} events/s)",
            report.events,
            report.streams,
            report.checkpoints,
            report.unsigned_events,
            report.events as f64 / seconds.max(1e-3),
        );
        for problem in &report.problems {
            println!("TAMPERED: {problem}");
        }
    }
    if !report.is_intact() {
        bail!("the history does not match its hashes and signatures");
    }
    Ok(())
}

pub async fn events(pool: &PgPool, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Export {
        from_position,
        to_position,
        aggregate_type,
        since,
        until,
    } = command;
    let filter = EventFilter {
        aggregate_type,
        since,
        until,
        from_position,
        to_position,
        ..EventFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = events::export(pool, &filter, &mut out, |n| {
        eprintln!("{n} events exported");
    })
    .await?;
    eprintln!("{written} events exported");
    Ok(())
}
