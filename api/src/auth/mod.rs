//! Who a bearer token names.
//!
//! Two kinds of token are accepted: Hirestream's own (HS256, [`local`]), minted at sign-in
//! and by `hirestream token`, and those of the OpenID Connect providers the settings name
//! (RS256 or ES256 against the provider's published keys, [`oidc`]). The algorithm in the
//! token's header picks the verifier, and each verifier accepts only its own algorithms, so
//! neither `none` nor a public key used as an HMAC secret gets through.

pub mod local;
pub mod oidc;

use commands::{CommandService, RequestIds};
use domain::Actor;
use jsonwebtoken::Algorithm;

pub use local::{Claims, TokenKeys};
pub use oidc::{Issuers, ProviderToken};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not accepted (HS256 for Hirestream's tokens, RS256 or ES256 for an identity provider's)")]
    UnsupportedAlgorithm,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not one this service accepts")]
    UnknownIssuer,
    #[error("the token is not meant for this service (audience)")]
    WrongAudience,
    #[error("the issuer publishes no key `{0}`")]
    UnknownKey(String),
    #[error("the token lacks a claim it needs: {0}")]
    MissingClaim(&'static str),
    #[error("the issuer's keys could not be fetched")]
    IssuerUnreachable,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::UnknownIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenError::UnsupportedAlgorithm
            }
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "exp" => TokenError::MissingClaim("exp"),
                "sub" => TokenError::MissingClaim("sub"),
                "aud" => TokenError::MissingClaim("aud"),
                "iss" => TokenError::MissingClaim("iss"),
                _ => TokenError::Malformed,
            },
            _ => TokenError::Malformed,
        }
    }
}

/// Verifies every kind of token the service accepts.
#[derive(Debug)]
pub struct Authenticator {
    pub local: TokenKeys,
    pub issuers: Issuers,
    /// Lifetime of the access tokens a sign-in gives.
    pub access_ttl_secs: u64,
}

impl Authenticator {
    /// The actor `token` names at `now` (Unix seconds). A provider's token names the account
    /// its identity maps to, opened the first time the identity is seen.
    pub async fn actor(
        &self,
        token: &str,
        now: i64,
        commands: &CommandService,
        request: &RequestIds,
    ) -> Result<Actor, crate::error::ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        match header.alg {
            Algorithm::HS256 => Ok(self.local.verify(token, now)?),
            Algorithm::RS256 | Algorithm::ES256 => {
                let verified = self.issuers.verify(token, &header, now).await?;
                let account = commands
                    .accounts()
                    .provider_account(request, verified.identity, verified.role, verified.email)
                    .await?;
                Ok(Actor::new(account, verified.role))
            }
            _ => Err(TokenError::UnsupportedAlgorithm.into()),
        }
    }
}
