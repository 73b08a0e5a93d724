//! Opaque secrets handed to a client (refresh tokens, the tokens of emailed links): 256
//! random bits, written in base64url, and kept only as their SHA-256. A secret this long
//! needs no slow hash: nobody can guess one from its digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A new secret and its digest.
pub(crate) fn generate() -> Result<(String, Vec<u8>), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let digest = digest(&secret);
    Ok((secret, digest))
}

/// What a secret is looked up by.
pub(crate) fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_found_by_its_digest_and_no_two_are_alike() {
        let (a, digest_a) = generate().expect("random");
        let (b, _) = generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a), digest_a);
        assert_ne!(digest(&b), digest_a);
    }
}
