//! Hirestream's own access tokens: HS256 JSON Web Tokens whose subject is the caller's id
//! and whose `role` claim is candidate, employer or admin (or auditor).
//!
//! Only HS256 is accepted here, so the algorithm named in a token's header cannot downgrade
//! the check (`none`) or confuse keys (an RS256 public key used as an HMAC secret).

use domain::{Actor, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::TokenError;

/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the caller's clock below, so that it can be tested.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].map(str::to_owned).into();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `actor`, valid for `ttl_secs` from `now` (Unix seconds).
    pub fn mint(&self, actor: Actor, now: i64, ttl_secs: u64) -> String {
        let claims = Claims {
            sub: actor.subject,
            role: actor.role,
            iat: now,
            exp: now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
        };
        // HS256 over a plain struct cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// The actor a token names, if it is well formed, signed with our secret and not expired
    /// at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Actor, TokenError> {
        // The validation names HS256 alone: a header naming anything else is refused before
        // the signature is looked at.
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(TokenError::from)?
            .claims;
        // A token may carry any `exp`; near i64::MAX the sum must not wrap.
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(TokenError::Expired);
        }
        Ok(Actor::new(claims.sub, claims.role))
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test-secret")
    }

    fn ada() -> Actor {
        Actor::new(Uuid::from_u128(42), Role::Candidate)
    }

    fn encode_json<T: Serialize>(value: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
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
        let claims = Claims {
            sub: Uuid::from_u128(42),
            role: Role::Candidate,
            iat: NOW,
            exp,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"test-secret"),
        )
        .expect("sign")
    }

    #[test]
    fn an_expiry_near_the_largest_integer_does_not_overflow() {
        for exp in [i64::MAX, i64::MAX - LEEWAY_SECS + 1] {
            assert_eq!(keys().verify(&signed_with_exp(exp), NOW), Ok(ada()));
            assert_eq!(keys().verify(&signed_with_exp(exp), i64::MAX), Ok(ada()));
        }
        // A negative expiry is not a time at all.
        assert!(matches!(
            keys().verify(&signed_with_exp(i64::MIN), NOW),
            Err(TokenError::Expired | TokenError::MissingClaim("exp"))
        ));
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
        let header = encode_json(&serde_json::json!({"alg": "none"}));
        let claims = encode_json(&Claims {
            sub: Uuid::from_u128(42),
            role: Role::Admin,
            iat: NOW,
            exp: NOW + 60,
        });
        assert!(matches!(
            keys().verify(&format!("{header}.{claims}."), NOW),
            Err(TokenError::Malformed | TokenError::UnsupportedAlgorithm)
        ));
    }

    #[test]
    fn a_token_of_another_algorithm_is_rejected() {
        let header = encode_json(&serde_json::json!({"alg": "HS512", "typ": "JWT"}));
        let claims = encode_json(&Claims {
            sub: Uuid::from_u128(42),
            role: Role::Admin,
            iat: NOW,
            exp: NOW + 60,
        });
        assert_eq!(
            keys().verify(&format!("{header}.{claims}.c2ln"), NOW),
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
