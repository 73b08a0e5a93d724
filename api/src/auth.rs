//! Bearer tokens: HS256 JSON Web Tokens whose subject is the caller's id and whose `role`
//! claim is candidate, employer or admin.
//!
//! Only HS256 is accepted, so the algorithm named in a token's header cannot downgrade the
//! check (`none`) or confuse keys. The signature is compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::{Actor, Role};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("only HS256 tokens are accepted")]
    UnsupportedAlgorithm,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            // HMAC accepts keys of any length.
            mac: HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!()),
        }
    }

    /// A token for `actor`, valid for `ttl_secs` from `now` (Unix seconds).
    pub fn mint(&self, actor: Actor, now: i64, ttl_secs: u64) -> String {
        let header = Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
        };
        let claims = Claims {
            sub: actor.subject,
            role: actor.role,
            iat: now,
            exp: now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
        };
        let signing_input = format!("{}.{}", encode_json(&header), encode_json(&claims));
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The actor a token names, if it is well formed, signed with our secret and not expired
    /// at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Actor, TokenError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, claims) = signing_input
            .split_once('.')
            .filter(|(_, claims)| !claims.contains('.'))
            .ok_or(TokenError::Malformed)?;
        let header: Header = decode_json(header)?;
        if header.alg != "HS256" {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode_json(claims)?;
        // A token may carry any `exp`; near i64::MAX the sum must not wrap.
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(TokenError::Expired);
        }
        Ok(Actor::new(claims.sub, claims.role))
    }
}

fn encode_json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test-secret")
    }

    fn ada() -> Actor {
        Actor::new(Uuid::from_u128(42), Role::Candidate)
    }

    #[test]
    fn a_minted_token_verifies_to_its_actor() {
        let token = keys().mint(ada(), NOW, 60);
        assert_eq!(keys().verify(&token, NOW + 10), Ok(ada()));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let token = TokenKeys::new(b"other").mint(ada(), NOW, 60);
        assert_eq!(keys().verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn an_expired_token_is_rejected() {
        let token = keys().mint(ada(), NOW, 60);
        assert_eq!(
            keys().verify(&token, NOW + 60 + LEEWAY_SECS + 1),
            Err(TokenError::Expired)
        );
    }

    /// A token signed with our secret (so it gets past the signature) carrying `exp`.
    fn signed_with_exp(exp: i64) -> String {
        let header = encode_json(&Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
        });
        let claims = encode_json(&Claims {
            sub: Uuid::from_u128(42),
            role: Role::Candidate,
            iat: NOW,
            exp,
        });
        let signing_input = format!("{header}.{claims}");
        let mut mac = keys().mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    #[test]
    fn an_expiry_near_the_largest_integer_does_not_overflow() {
        for exp in [i64::MAX, i64::MAX - LEEWAY_SECS + 1] {
            assert_eq!(keys().verify(&signed_with_exp(exp), NOW), Ok(ada()));
            assert_eq!(keys().verify(&signed_with_exp(exp), i64::MAX), Ok(ada()));
        }
        assert_eq!(
            keys().verify(&signed_with_exp(i64::MIN), NOW),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn changing_the_claims_breaks_the_signature() {
        let token = keys().mint(ada(), NOW, 60);
        let mut parts: Vec<&str> = token.split('.').collect();
        let admin = encode_json(&Claims {
            sub: Uuid::from_u128(42),
            role: Role::Admin,
            iat: NOW,
            exp: NOW + 60,
        });
        parts[1] = &admin;
        assert_eq!(
            keys().verify(&parts.join("."), NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn an_unsigned_token_is_rejected() {
        let header = encode_json(&Header {
            alg: "none".into(),
            typ: None,
        });
        let claims = encode_json(&Claims {
            sub: Uuid::from_u128(42),
            role: Role::Admin,
            iat: NOW,
            exp: NOW + 60,
        });
        assert_eq!(
            keys().verify(&format!("{header}.{claims}."), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for token in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                keys().verify(token, NOW),
                Err(TokenError::Malformed),
                "{token}"
            );
        }
    }
}
