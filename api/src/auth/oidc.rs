//! Tokens of OpenID Connect providers: signed by the provider (RS256 or ES256) with a key it
//! publishes in its JWKS, for this service (`aud`), not expired.
//!
//! Each configured issuer's keys are fetched from its discovery document's `jwks_uri` (or a
//! configured URL), kept for `jwks_ttl`, and fetched again when a token names a key the
//! cache lacks (the provider rotated its keys), at most once per `jwks_min_refresh`, so a
//! stream of tokens with made-up key ids cannot make us hammer the provider.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::account::Identity;
use domain::Role;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::local::LEEWAY_SECS;
use super::TokenError;

/// One accepted identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// The `iss` of its tokens, such as `https://accounts.google.com`.
    pub issuer: String,
    /// The `aud` its tokens must carry: this service's client id at the provider.
    pub audience: String,
    /// The role its users act in.
    #[serde(default = "candidate")]
    pub role: Role,
    /// Where its keys are; by default, the `jwks_uri` of its discovery document.
    #[serde(default)]
    pub jwks_url: Option<String>,
}

fn candidate() -> Role {
    Role::Candidate
}

/// What a verified provider token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderToken {
    pub identity: Identity,
    pub role: Role,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProviderClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct IssuerOnly {
    iss: String,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    jwks_uri: String,
}

#[derive(Debug, Deserialize)]
struct KeySet {
    keys: Vec<serde_json::Value>,
}

#[derive(Clone)]
struct Key {
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Key>,
    fetched: Option<Instant>,
}

struct Issuer {
    settings: IssuerSettings,
    cache: RwLock<Cache>,
    /// One fetch at a time per issuer.
    fetching: tokio::sync::Mutex<()>,
}

/// The configured issuers and their keys.
pub struct Issuers {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    ttl: Duration,
    min_refresh: Duration,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .issuers
            .iter()
            .map(|i| i.settings.issuer.as_str())
            .collect();
        f.debug_struct("Issuers").field("issuers", &names).finish()
    }
}

impl Issuers {
    pub fn new(settings: &[IssuerSettings], ttl: Duration, min_refresh: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            issuers: settings
                .iter()
                .map(|settings| Issuer {
                    settings: settings.clone(),
                    cache: RwLock::default(),
                    fetching: tokio::sync::Mutex::default(),
                })
                .collect(),
            http,
            ttl,
            min_refresh,
        }
    }

    /// None accepted.
    pub fn none() -> Self {
        Self::new(&[], Duration::ZERO, Duration::ZERO)
    }

    /// Verifies a provider's token whose header is `header`, at `now` (Unix seconds).
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        now: i64,
    ) -> Result<ProviderToken, TokenError> {
        let issuer_name = unverified_issuer(token)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.settings.issuer == issuer_name)
            .ok_or(TokenError::UnknownIssuer)?;
        let kid = header
            .kid
            .as_deref()
            .ok_or(TokenError::MissingClaim("kid"))?;
        let key = self.key(issuer, kid).await?;
        if key.algorithm != header.alg {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&issuer.settings.issuer]);
        validation.set_audience(&[&issuer.settings.audience]);
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub", "iss", "aud"].map(str::to_owned).into();
        let claims = jsonwebtoken::decode::<ProviderClaims>(token, &key.key, &validation)?.claims;
        if claims.exp.saturating_add(LEEWAY_SECS) < now {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
        {
            return Err(TokenError::NotYetValid);
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(TokenError::MissingClaim("sub"));
        }
        Ok(ProviderToken {
            identity: Identity {
                issuer: issuer.settings.issuer.clone(),
                subject: claims.sub,
            },
            role: issuer.settings.role,
            // An address the provider has not verified is not taken as the account's.
            email: claims
                .email
                .filter(|_| claims.email_verified.unwrap_or(false)),
        })
    }

    async fn key(&self, issuer: &Issuer, kid: &str) -> Result<Key, TokenError> {
        let cached = |issuer: &Issuer| {
            let cache = issuer.cache.read().unwrap_or_else(|e| e.into_inner());
            let fresh = cache.fetched.is_some_and(|at| at.elapsed() < self.ttl);
            let recent = cache
                .fetched
                .is_some_and(|at| at.elapsed() < self.min_refresh);
            (cache.keys.get(kid).cloned().filter(|_| fresh), recent)
        };
        if let (Some(key), _) = cached(issuer) {
            return Ok(key);
        }
        let _fetching = issuer.fetching.lock().await;
        // Another request may have fetched while this one waited.
        match cached(issuer) {
            (Some(key), _) => return Ok(key),
            (None, true) => return Err(TokenError::UnknownKey(kid.to_owned())),
            (None, false) => {}
        }
        let keys = self.fetch(&issuer.settings).await.map_err(|error| {
            tracing::warn!(issuer = %issuer.settings.issuer, %error, "fetching an issuer's keys failed");
            TokenError::IssuerUnreachable
        })?;
        let mut cache = issuer.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys = keys;
        cache.fetched = Some(Instant::now());
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(kid.to_owned()))
    }

    async fn fetch(
        &self,
        settings: &IssuerSettings,
    ) -> Result<HashMap<String, Key>, reqwest::Error> {
        let url = match &settings.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    settings.issuer.trim_end_matches('/')
                );
                let discovery: Discovery = self
                    .http
                    .get(discovery)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                discovery.jwks_uri
            }
        };
        let set: KeySet = self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        // Keys of kinds we do not use (encryption keys, other curves) are passed over.
        Ok(set
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithm = signing_algorithm(&jwk)?;
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                Some((kid, Key { algorithm, key }))
            })
            .collect())
    }
}

/// The one algorithm a published key may verify: RS256 for an RSA key, ES256 for a P-256
/// key, and only if the key does not name another.
fn signing_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let named = jwk.common.key_algorithm.map(|named| format!("{named:?}"));
    match named {
        Some(named) if named != format!("{algorithm:?}") => None,
        _ => Some(algorithm),
    }
}

/// The `iss` claim, read before the signature is checked, only to pick the issuer whose key
/// checks it.
fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: IssuerOnly =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::MissingClaim("iss"))?;
    Ok(claims.iss)
}
