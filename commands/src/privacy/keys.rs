//! The master key of the configuration and the subject keys it seals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use serde_json::Value;
use sha2::Digest as _;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    associated_data, body_mut, field_mut, fields_of, open_value, seal_value, sealed_subject,
    sealed_subjects, PrivacyError, SubjectKey, NONCE_LEN,
};

/// The public development master key: anyone can read data sealed under it, so a process
/// that serves requests refuses it outside development mode.
pub const DEVELOPMENT_MASTER_KEY: &str = "aGlyZXN0cmVhbS1sb2NhbC1kZXZlbG9wbWVudC1rZXk=";

/// How long a process trusts a subject key it read, before asking the database again: the
/// longest another process may still read a subject erased elsewhere.
const KEY_TTL: Duration = Duration::from_secs(10);

/// A master key that is not 32 bytes of base64.
#[derive(Debug, thiserror::Error)]
#[error("a master key is 32 bytes in base64 (hirestream keys generate --master prints one)")]
pub struct BadMasterKey;

/// The key that seals subject keys.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    pub fn from_base64(key: &str) -> Result<Self, BadMasterKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| BadMasterKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| BadMasterKey)?;
        let digest = sha2::Sha256::digest(key);
        Ok(Self {
            id: crate::hex(&digest[..8]),
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }

    /// A new random master key, in base64.
    pub fn generate() -> Result<String, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(key))
    }

    /// The first 16 hex digits of the key's SHA-256: names it without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn wrap(&self, subject: Uuid, key: &[u8; 32]) -> Result<Vec<u8>, PrivacyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(PrivacyError::Random)?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| PrivacyError::Undecryptable(subject))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap(&self, subject: Uuid, wrapped: &[u8]) -> Result<[u8; 32], PrivacyError> {
        if wrapped.len() < NONCE_LEN {
            return Err(PrivacyError::Undecryptable(subject));
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let key = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| PrivacyError::Undecryptable(subject))?;
        key.try_into()
            .map_err(|_| PrivacyError::Undecryptable(subject))
    }
}

/// The current master key, which seals new subject keys, and the previous ones still
/// accepted while `hirestream keys rotate-master` seals every subject key anew.
#[derive(Debug, Clone)]
pub struct MasterKeys {
    pub current: MasterKey,
    pub previous: Vec<MasterKey>,
}

impl MasterKeys {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// The public development key alone: for tests, benchmarks and development mode.
    pub fn development() -> Self {
        Self::new(
            MasterKey::from_base64(DEVELOPMENT_MASTER_KEY).expect("the development key is valid"),
            Vec::new(),
        )
    }

    fn by_id(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
    }
}

#[derive(Debug, Clone)]
enum Cached {
    Key(SubjectKey, Instant),
    /// Destroyed: never comes back.
    Erased,
}

/// The subject keys of one database, sealed and opened with the configured master keys,
/// remembered for [`KEY_TTL`].
#[derive(Debug, Clone)]
pub struct Keyring {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    master: MasterKeys,
    cache: Mutex<HashMap<Uuid, Cached>>,
    /// False only in a keyring made to measure what sealing costs.
    sealing: bool,
}

const INSERT_KEY: &str = "
INSERT INTO subject_key (subject_id, wrapped, master_key_id) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO NOTHING";

const SELECT_KEYS: &str =
    "SELECT subject_id, wrapped, master_key_id FROM subject_key WHERE subject_id = ANY($1)";

/// Destroys a key; a subject never keyed is recorded as erased all the same.
const ERASE_KEY: &str = "
INSERT INTO subject_key (subject_id, wrapped, master_key_id, erased_at)
VALUES ($1, NULL, NULL, now())
ON CONFLICT (subject_id) DO UPDATE SET wrapped = NULL, master_key_id = NULL, erased_at = now()
 WHERE subject_key.erased_at IS NULL";

const KEYS_TO_ROTATE: &str = "
SELECT subject_id, wrapped, master_key_id FROM subject_key
 WHERE erased_at IS NULL AND master_key_id <> $1
 ORDER BY subject_id LIMIT 1000";

const REWRAP: &str = "
UPDATE subject_key SET wrapped = $2, master_key_id = $3
 WHERE subject_id = $1 AND master_key_id = $4 AND erased_at IS NULL";

type KeyRow = (Uuid, Option<Vec<u8>>, Option<String>);

impl Keyring {
    pub fn new(pool: PgPool, master: MasterKeys) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                master,
                cache: Mutex::default(),
                sealing: true,
            }),
        }
    }

    /// A keyring that writes personal fields in clear: only for measuring what sealing
    /// costs (`hirestream bench privacy`), never for a store that holds real people.
    pub fn unsealed(pool: PgPool) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                master: MasterKeys::development(),
                cache: Mutex::default(),
                sealing: false,
            }),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Cached>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The keys of `subjects` (`None` for an erased or never keyed subject), from the cache
    /// or in one query.
    async fn keys(
        &self,
        subjects: &[Uuid],
    ) -> Result<HashMap<Uuid, Option<SubjectKey>>, PrivacyError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.cache();
            for &subject in subjects {
                match cache.get(&subject) {
                    Some(Cached::Key(key, at)) if at.elapsed() < KEY_TTL => {
                        found.insert(subject, Some(key.clone()));
                    }
                    Some(Cached::Erased) => {
                        found.insert(subject, None);
                    }
                    _ => missing.push(subject),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows: Vec<KeyRow> = sqlx::query_as(SELECT_KEYS)
            .bind(&missing)
            .fetch_all(&self.inner.pool)
            .await?;
        let mut cache = self.cache();
        for (subject, wrapped, master_key_id) in rows {
            let key = match (wrapped, master_key_id) {
                (Some(wrapped), Some(id)) => Some(self.unwrap(subject, &wrapped, &id)?),
                _ => None,
            };
            cache.insert(
                subject,
                key.clone()
                    .map_or(Cached::Erased, |key| Cached::Key(key, Instant::now())),
            );
            found.insert(subject, key);
        }
        for subject in missing {
            found.entry(subject).or_insert(None);
        }
        Ok(found)
    }

    fn unwrap(
        &self,
        subject: Uuid,
        wrapped: &[u8],
        master_key_id: &str,
    ) -> Result<SubjectKey, PrivacyError> {
        let master = self.inner.master.by_id(master_key_id).ok_or_else(|| {
            PrivacyError::UnknownMasterKey {
                subject,
                master_key_id: master_key_id.to_owned(),
            }
        })?;
        let key = master.unwrap(subject, wrapped)?;
        Ok(SubjectKey(XChaCha20Poly1305::new(&key.into())))
    }

    /// The subject's key, made on first use.
    async fn key_for_writing(&self, subject: Uuid) -> Result<SubjectKey, PrivacyError> {
        if let Some(Some(key)) = self.keys(&[subject]).await?.remove(&subject) {
            return Ok(key);
        }
        if matches!(self.cache().get(&subject), Some(Cached::Erased)) {
            return Err(PrivacyError::Erased(subject));
        }
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(PrivacyError::Random)?;
        let master = &self.inner.master.current;
        sqlx::query(INSERT_KEY)
            .bind(subject)
            .bind(master.wrap(subject, &key)?)
            .bind(master.id())
            .execute(&self.inner.pool)
            .await?;
        // Another writer may have made the subject's key first: read back the one stored.
        self.cache().remove(&subject);
        match self.keys(&[subject]).await?.remove(&subject) {
            Some(Some(key)) => Ok(key),
            _ => Err(PrivacyError::Erased(subject)),
        }
    }

    /// Seals the personal fields of one event's payload, in place.
    pub async fn seal(
        &self,
        aggregate_type: &str,
        event_type: &str,
        payload: &mut Value,
    ) -> Result<(), PrivacyError> {
        let Some((fields, subject)) = fields_of(aggregate_type, event_type, payload) else {
            return Ok(());
        };
        if !self.inner.sealing {
            return Ok(());
        }
        let key = self.key_for_writing(subject).await?;
        let Some(body) = body_mut(payload) else {
            return Ok(());
        };
        for (path, _) in fields.fields {
            if let Some(value) = field_mut(body, path) {
                if sealed_subject(value).is_none() {
                    let aad = associated_data(aggregate_type, event_type, path);
                    *value = seal_value(&key, subject, &aad, value)?;
                }
            }
        }
        Ok(())
    }

    /// Opens the sealed fields of many payloads, with one key query for all of them; the
    /// fields of an erased subject read as erased. Values written in clear stay as they are.
    pub async fn open_all<'a>(
        &self,
        payloads: impl IntoIterator<Item = (&'a str, &'a str, &'a mut Value)>,
    ) -> Result<(), PrivacyError> {
        let payloads: Vec<_> = payloads.into_iter().collect();
        let subjects = sealed_subjects(payloads.iter().map(|(a, e, p)| (*a, *e, &**p)));
        if subjects.is_empty() {
            return Ok(());
        }
        let keys = self.keys(&subjects).await?;
        for (aggregate_type, event_type, payload) in payloads {
            let Some((fields, _)) = fields_of(aggregate_type, event_type, payload) else {
                continue;
            };
            let Some(body) = body_mut(payload) else {
                continue;
            };
            for (path, erased) in fields.fields {
                let Some(value) = field_mut(body, path) else {
                    continue;
                };
                let Some((subject, sealed)) = sealed_subject(value) else {
                    continue;
                };
                *value = match keys.get(&subject) {
                    Some(Some(key)) => {
                        let aad = associated_data(aggregate_type, event_type, path);
                        open_value(key, subject, &aad, sealed)?
                    }
                    _ => erased.value(),
                };
            }
        }
        Ok(())
    }

    /// Opens one payload (see [`Keyring::open_all`]).
    pub async fn open(
        &self,
        aggregate_type: &str,
        event_type: &str,
        payload: &mut Value,
    ) -> Result<(), PrivacyError> {
        self.open_all([(aggregate_type, event_type, payload)]).await
    }

    /// Destroys the subject's key: everything sealed with it becomes unreadable. Idempotent.
    pub async fn erase(&self, subject: Uuid) -> Result<(), PrivacyError> {
        sqlx::query(ERASE_KEY)
            .bind(subject)
            .execute(&self.inner.pool)
            .await?;
        self.cache().insert(subject, Cached::Erased);
        Ok(())
    }

    /// Whether the subject was erased.
    pub async fn is_erased(&self, subject: Uuid) -> Result<bool, PrivacyError> {
        if matches!(self.cache().get(&subject), Some(Cached::Erased)) {
            return Ok(true);
        }
        let erased: Option<bool> = sqlx::query_scalar(
            "SELECT erased_at IS NOT NULL FROM subject_key WHERE subject_id = $1",
        )
        .bind(subject)
        .fetch_optional(&self.inner.pool)
        .await?;
        if erased == Some(true) {
            self.cache().insert(subject, Cached::Erased);
        }
        Ok(erased == Some(true))
    }

    /// Seals every subject key with the current master key that a previous one sealed.
    /// Returns how many were sealed anew. Run it after making a new key current (the old one
    /// listed as previous), then retire the old one.
    pub async fn rotate_master(&self) -> Result<u64, PrivacyError> {
        let current = &self.inner.master.current;
        let mut rotated = 0;
        loop {
            let rows: Vec<KeyRow> = sqlx::query_as(KEYS_TO_ROTATE)
                .bind(current.id())
                .fetch_all(&self.inner.pool)
                .await?;
            if rows.is_empty() {
                return Ok(rotated);
            }
            for (subject, wrapped, id) in rows {
                let (Some(wrapped), Some(id)) = (wrapped, id) else {
                    continue;
                };
                let master =
                    self.inner
                        .master
                        .by_id(&id)
                        .ok_or_else(|| PrivacyError::UnknownMasterKey {
                            subject,
                            master_key_id: id.clone(),
                        })?;
                let key = master.unwrap(subject, &wrapped)?;
                rotated += sqlx::query(REWRAP)
                    .bind(subject)
                    .bind(current.wrap(subject, &key)?)
                    .bind(current.id())
                    .bind(&id)
                    .execute(&self.inner.pool)
                    .await?
                    .rows_affected();
            }
        }
    }
}
