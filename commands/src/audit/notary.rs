//! Signed checkpoints over the commit order.
//!
//! The notary follows the events in the relay's order, `(tx_id, global_position)`, as far as
//! every earlier transaction has committed, and every `every_events` events (or `interval`
//! after the last checkpoint, when fewer are waiting) stores a checkpoint: the Merkle tree
//! head of their hashes, a digest chaining it to the previous checkpoint's, and an Ed25519
//! signature over the checkpoint's statement. One notary writes at a time (an advisory lock);
//! several processes may run one.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::canonical::{hex, instant};
use super::merkle::{self, Hash};
use crate::health::PartHealth;
use crate::Error;

/// The key that signs checkpoints.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public_key_base64())
            .finish_non_exhaustive()
    }
}

/// A signing key that is not 32 bytes of base64.
#[derive(Debug, thiserror::Error)]
#[error("an audit signing key is 32 bytes in base64 (hirestream keys generate prints one)")]
pub struct BadKey;

impl Signer {
    /// From the base64 of a 32-byte Ed25519 secret key.
    pub fn from_base64(secret: &str) -> Result<Self, BadKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|_| BadKey)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| BadKey)?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new random key pair: (secret, public), both in base64.
    pub fn generate() -> Result<(String, String), getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)?;
        let signer = Self {
            key: SigningKey::from_bytes(&seed),
        };
        let secret = base64::engine::general_purpose::STANDARD.encode(seed);
        Ok((secret, signer.public_key_base64()))
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn public_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.public_key())
    }

    fn sign(&self, statement: &str) -> [u8; 64] {
        self.key.sign(statement.as_bytes()).to_bytes()
    }
}

/// A signed checkpoint, as stored and as the audit API serves it (bytes in lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Checkpoint {
    pub number: i64,
    /// The last event covered, in commit order.
    pub tx_id: i64,
    pub global_position: i64,
    /// Events covered by this checkpoint, and by all checkpoints up to it.
    pub events: i64,
    pub total_events: i64,
    pub root: Vec<u8>,
    pub digest: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// What the signature covers: the canonical JSON object of every other field.
    pub fn statement(&self) -> String {
        format!(
            r#"{{"digest":"{}","events":{},"global_position":{},"number":{},"root":"{}","signed_at":"{}","total_events":{},"tx_id":{}}}"#,
            hex(&self.digest),
            self.events,
            self.global_position,
            self.number,
            hex(&self.root),
            instant(self.signed_at),
            self.total_events,
            self.tx_id,
        )
    }

    /// Whether the signature verifies with the checkpoint's own public key.
    pub fn signature_verifies(&self) -> bool {
        let (Ok(key), Ok(signature)) = (
            <[u8; 32]>::try_from(self.public_key.as_slice()),
            <[u8; 64]>::try_from(self.signature.as_slice()),
        ) else {
            return false;
        };
        let Ok(key) = VerifyingKey::from_bytes(&key) else {
            return false;
        };
        key.verify(
            self.statement().as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .is_ok()
    }

    /// The view the audit API gives: bytes in hex, the statement beside them.
    pub fn view(&self) -> CheckpointView {
        CheckpointView {
            number: self.number,
            tx_id: self.tx_id,
            global_position: self.global_position,
            events: self.events,
            total_events: self.total_events,
            root: hex(&self.root),
            digest: hex(&self.digest),
            signed_at: instant(self.signed_at),
            public_key: base64::engine::general_purpose::STANDARD.encode(&self.public_key),
            signature: hex(&self.signature),
            statement: self.statement(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointView {
    pub number: i64,
    pub tx_id: i64,
    pub global_position: i64,
    pub events: i64,
    pub total_events: i64,
    pub root: String,
    pub digest: String,
    pub signed_at: String,
    pub public_key: String,
    pub signature: String,
    pub statement: String,
}

/// The digest a checkpoint chains: SHA-256(previous digest || root), with 32 zero bytes as
/// the digest before the first checkpoint.
pub fn chain(previous: Option<&[u8]>, root: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous.unwrap_or(&[0u8; 32]));
    hasher.update(root);
    hasher.finalize().into()
}

pub(crate) const SELECT_CHECKPOINTS: &str = "
SELECT number, tx_id::text::bigint AS tx_id, global_position, events, total_events, root, digest,
       signed_at, public_key, signature
  FROM audit_checkpoints";

/// The events after `(tx_id, global_position)` that every earlier transaction has committed
/// before, in commit order.
const SELECT_PENDING: &str = "
SELECT tx_id::text::bigint AS tx_id, global_position, hash FROM events
 WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2)
   AND tx_id < (SELECT event_horizon())
 ORDER BY tx_id, global_position
 LIMIT $3";

const INSERT_CHECKPOINT: &str = "
INSERT INTO audit_checkpoints
    (number, tx_id, global_position, events, total_events, root, digest, signed_at, public_key,
     signature)
VALUES ($1, $2::bigint::text::xid8, $3, $4, $5, $6, $7, $8, $9, $10)";

#[derive(Debug, Clone)]
pub struct NotaryConfig {
    /// Events per checkpoint, at most.
    pub every_events: i64,
    /// How long events may wait for a checkpoint when fewer than `every_events` are pending.
    pub interval: Duration,
}

#[derive(Debug)]
pub struct Notary {
    pool: PgPool,
    signer: Signer,
    config: NotaryConfig,
    health: PartHealth,
}

impl Notary {
    pub fn new(pool: PgPool, signer: Signer, config: NotaryConfig) -> Self {
        Self {
            pool,
            signer,
            config,
            health: PartHealth::detached("notary"),
        }
    }

    pub fn with_health(mut self, health: PartHealth) -> Self {
        self.health = health;
        self
    }

    /// Signs checkpoints until `shutdown`, waiting out database outages.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = self.config.interval.min(Duration::from_secs(1));
        while !shutdown.is_cancelled() {
            match self.checkpoint(false).await {
                Ok(Some(_)) => continue,
                Ok(None) => self.health.running(),
                Err(error) => {
                    let error = domain::error_chain(&error);
                    tracing::warn!(%error, "notary could not write a checkpoint");
                    self.health.stuck(error);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Writes the next checkpoint when one is due (or, with `now`, whenever an event waits):
    /// the checkpoint written, if any.
    pub async fn checkpoint(&self, now: bool) -> Result<Option<Checkpoint>, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('hirestream_notary'))")
            .execute(&mut *tx)
            .await?;
        let last: Option<Checkpoint> = sqlx::query_as(&format!(
            "{SELECT_CHECKPOINTS} ORDER BY number DESC LIMIT 1"
        ))
        .fetch_optional(&mut *tx)
        .await?;
        let (after_tx, after_position) = last
            .as_ref()
            .map_or((0, 0), |c| (c.tx_id, c.global_position));
        let pending: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(SELECT_PENDING)
            .bind(after_tx)
            .bind(after_position)
            .bind(self.config.every_events)
            .fetch_all(&mut *tx)
            .await?;
        let Some(&(tx_id, global_position, _)) = pending.last() else {
            return Ok(None);
        };
        let waited = last.as_ref().is_none_or(|c| {
            (Utc::now() - c.signed_at).to_std().unwrap_or_default() >= self.config.interval
        });
        let full = pending.len() as i64 >= self.config.every_events;
        if !(now || full || waited) {
            return Ok(None);
        }
        let leaves: Vec<Hash> = pending
            .iter()
            .map(|(_, _, hash)| merkle::leaf(hash))
            .collect();
        let root = merkle::root(&leaves);
        let mut checkpoint = Checkpoint {
            number: last.as_ref().map_or(1, |c| c.number + 1),
            tx_id,
            global_position,
            events: pending.len() as i64,
            total_events: last.as_ref().map_or(0, |c| c.total_events) + pending.len() as i64,
            root: root.to_vec(),
            digest: chain(last.as_ref().map(|c| c.digest.as_slice()), &root).to_vec(),
            // Microseconds, as PostgreSQL keeps them, so the statement reads back the same.
            signed_at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros())
                .unwrap_or_default(),
            public_key: self.signer.public_key().to_vec(),
            signature: Vec::new(),
        };
        checkpoint.signature = self.signer.sign(&checkpoint.statement()).to_vec();
        sqlx::query(INSERT_CHECKPOINT)
            .bind(checkpoint.number)
            .bind(checkpoint.tx_id)
            .bind(checkpoint.global_position)
            .bind(checkpoint.events)
            .bind(checkpoint.total_events)
            .bind(&checkpoint.root)
            .bind(&checkpoint.digest)
            .bind(checkpoint.signed_at)
            .bind(&checkpoint.public_key)
            .bind(&checkpoint.signature)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(
            number = checkpoint.number,
            events = checkpoint.events,
            "checkpoint signed"
        );
        Ok(Some(checkpoint))
    }
}

/// Every checkpoint, in order.
pub async fn checkpoints(
    pool: &PgPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Checkpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_CHECKPOINTS} WHERE number > $1 ORDER BY number LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The first checkpoint that covers the event at `(tx_id, global_position)` (in commit
/// order), and the hashes of every event it covers, in order.
pub async fn covering(
    pool: &PgPool,
    tx_id: i64,
    global_position: i64,
) -> Result<Option<(Checkpoint, Vec<Vec<u8>>)>, sqlx::Error> {
    let found: Option<Checkpoint> = sqlx::query_as(&format!(
        "{SELECT_CHECKPOINTS}
          WHERE (tx_id, global_position) >= ($1::bigint::text::xid8, $2)
          ORDER BY number LIMIT 1"
    ))
    .bind(tx_id)
    .bind(global_position)
    .fetch_optional(pool)
    .await?;
    let Some(checkpoint) = found else {
        return Ok(None);
    };
    let start: Option<(i64, i64)> = sqlx::query_as(
        "SELECT tx_id::text::bigint, global_position FROM audit_checkpoints WHERE number = $1",
    )
    .bind(checkpoint.number - 1)
    .fetch_optional(pool)
    .await?;
    let (after_tx, after_position) = start.unwrap_or((0, 0));
    let hashes = sqlx::query_scalar(
        "SELECT hash FROM events
          WHERE (tx_id, global_position) > ($1::bigint::text::xid8, $2)
            AND (tx_id, global_position) <= ($3::bigint::text::xid8, $4)
          ORDER BY tx_id, global_position",
    )
    .bind(after_tx)
    .bind(after_position)
    .bind(checkpoint.tx_id)
    .bind(checkpoint.global_position)
    .fetch_all(pool)
    .await?;
    Ok(Some((checkpoint, hashes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(signer: &Signer) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            number: 1,
            tx_id: 700,
            global_position: 12,
            events: 3,
            total_events: 3,
            root: vec![1; 32],
            digest: chain(None, &[1; 32]).to_vec(),
            signed_at: DateTime::from_timestamp_micros(1_764_669_600_000_001).unwrap(),
            public_key: signer.public_key().to_vec(),
            signature: Vec::new(),
        };
        checkpoint.signature = signer.sign(&checkpoint.statement()).to_vec();
        checkpoint
    }

    #[test]
    fn a_signature_verifies_until_any_field_changes() {
        let (secret, public) = Signer::generate().unwrap();
        let signer = Signer::from_base64(&secret).unwrap();
        assert_eq!(signer.public_key_base64(), public);
        let signed = checkpoint(&signer);
        assert!(signed.signature_verifies());
        let mut forged = signed.clone();
        forged.digest[0] ^= 1;
        assert!(!forged.signature_verifies());
        let mut forged = signed;
        forged.total_events += 1;
        assert!(!forged.signature_verifies());
    }

    #[test]
    fn the_statement_is_canonical_json_of_the_fields() {
        let signer =
            Signer::from_base64(&base64::engine::general_purpose::STANDARD.encode([7; 32]))
                .unwrap();
        let statement = checkpoint(&signer).statement();
        let reparsed = super::super::canonical::canonical_json(&statement).unwrap();
        assert_eq!(reparsed, statement);
        assert!(statement.contains(r#""signed_at":"2025-12-02T10:00:00.000001Z""#));
    }

    #[test]
    fn a_key_that_is_not_32_bytes_of_base64_is_refused() {
        assert!(Signer::from_base64("not base64!").is_err());
        assert!(Signer::from_base64("AAAA").is_err());
    }
}
