//! Password hashes: Argon2id with the RFC 9106 / OWASP parameters of the `argon2` crate's
//! defaults (19 MiB, two passes, one lane), as PHC strings, so a later change of parameters
//! still verifies older hashes.
//!
//! Hashing is deliberately slow and memory-hungry, so it runs on the blocking pool, at most
//! one per core at a time: a flood of sign-ins queues instead of starving the runtime.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OnceCell, Semaphore};

use crate::Error;

#[derive(Debug, Clone)]
pub(crate) struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of nothing anyone knows: an unknown email is checked against it, so that a
    /// sign-in takes as long whether or not the account exists.
    decoy: Arc<OnceCell<String>>,
}

impl Passwords {
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            permits: Arc::new(Semaphore::new(cores)),
            decoy: Arc::default(),
        }
    }

    pub(crate) async fn hash(&self, password: &str) -> Result<String, Error> {
        let password = password.to_owned();
        self.blocking(move || {
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt).map_err(|e| Error::Store(Box::new(e)))?;
            let salt = SaltString::encode_b64(&salt).map_err(hash_error)?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(hash_error)
        })
        .await
    }

    /// Whether `password` is the one `hash` was made from; with no hash, the same work
    /// against the decoy, and false.
    pub(crate) async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, Error> {
        let (hash, real) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => {
                let decoy = self
                    .decoy
                    .get_or_try_init(|| self.hash("an account nobody has"))
                    .await?;
                (decoy.clone(), false)
            }
        };
        let password = password.to_owned();
        let matches = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash).map_err(hash_error)?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(matches && real)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Store(Box::new(e)))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Store(Box::new(e)))?
    }
}

fn hash_error(error: argon2::password_hash::Error) -> Error {
    Error::Store(error.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let passwords = Passwords::new();
        let hash = passwords.hash("correct horse battery").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(passwords
            .verify("correct horse battery", Some(&hash))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("Correct horse battery", Some(&hash))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("an account nobody has", None)
            .await
            .expect("verify"));
        let again = passwords.hash("correct horse battery").await.expect("hash");
        assert_ne!(hash, again, "each hash has its own salt");
    }
}
