//! Configuration: one typed struct, loaded from the defaults, then an optional TOML file,
//! then `HIRESTREAM_*` environment variables (`HIRESTREAM_DATABASE__URL` sets
//! `database.url`). Every default works on a developer machine running `scripts/services`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use commands::privacy::{BadMasterKey, MasterKey, MasterKeys, DEVELOPMENT_MASTER_KEY};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JWT signing secret used when none is configured. It is public (it is written here),
/// so a process that serves requests refuses it unless development mode is chosen.
pub const DEVELOPMENT_JWT_SECRET: &str = "hirestream-local-development-secret";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Development mode: the public development secrets are accepted. Off by default, so a
    /// server that nobody configured refuses to start; `scripts/run` and the tests turn it
    /// on. `HIRESTREAM_DEV_MODE=true` or `dev_mode = true` at the top of the file.
    pub dev_mode: bool,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub http: HttpSettings,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub relay: RelaySettings,
    pub projector: ProjectorSettings,
    pub payments: PaymentSettings,
    pub audit: AuditSettings,
    pub privacy: PrivacySettings,
    pub llm: LlmSettings,
    pub embeddings: EmbeddingSettings,
    pub matching: MatchingSettings,
    pub imports: ImportSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
}

/// Where `POST /admin/imports` and `hirestream import` may fetch feeds from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// Hosts (`boards-api.greenhouse.io`, on the scheme's default port) or `host:port`
    /// pairs. From the environment, a comma-separated list.
    pub allowed_hosts: Vec<String>,
    /// For connecting and for the whole answer.
    pub timeout_ms: u64,
}

impl ImportSettings {
    pub fn fetch_policy(&self) -> commands::import::FetchPolicy {
        commands::import::FetchPolicy {
            allowed_hosts: self.allowed_hosts.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    pub brokers: String,
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub message_timeout_ms: u64,
    /// Any other librdkafka property, set on every client: `security.protocol`,
    /// `sasl.mechanism`, `ssl.ca.location`... (`HIRESTREAM_KAFKA__PROPERTIES__SASL__MECHANISM`
    /// in the environment, where `__` stands for each dot).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address the API listens on.
    pub addr: String,
    /// Longest a query waits for a projection to reflect a given write.
    pub consistency_wait_ms: u64,
    pub request_timeout_ms: u64,
    pub body_limit_bytes: usize,
    /// Origins whose pages may call the API from a browser (CORS), such as
    /// `https://app.example.com`. From the environment, a comma-separated list. Empty: none.
    pub cors_origins: Vec<String>,
    /// Requests per second one caller (one bearer token) may make on average; 0 turns the
    /// limit off.
    pub rate_limit_per_second: f64,
    /// Requests one caller may make at once, above the average.
    pub rate_limit_burst: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret for bearer tokens.
    pub jwt_secret: Secret,
    /// Lifetime of tokens minted by `hirestream token`.
    pub token_ttl_secs: u64,
    /// Lifetime of the access tokens a sign-in gives.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token; each use gives a new one.
    pub refresh_token_ttl_secs: u64,
    /// Failed password sign-ins in a row that lock an account...
    pub lockout_after: u32,
    /// ...for this long.
    pub lockout_secs: u64,
    /// Where the links in emails point (the frontend's `/verify-email` and
    /// `/reset-password` pages, which get the token as `?token=`).
    pub link_base: String,
    /// OpenID Connect providers whose tokens are accepted, each an `[[auth.oidc_issuers]]`
    /// table of the settings file (`issuer`, `audience`, `role`, optional `jwks_url`).
    pub oidc_issuers: Vec<crate::auth::oidc::IssuerSettings>,
    /// How long a provider's keys are kept before they are fetched again.
    pub jwks_ttl_secs: u64,
    /// A token naming a key we lack fetches the provider's keys again, at most this often.
    pub jwks_min_refresh_secs: u64,
}

impl AuthSettings {
    pub fn account_policy(&self) -> commands::accounts::AccountPolicy {
        commands::accounts::AccountPolicy {
            refresh_ttl: Duration::from_secs(self.refresh_token_ttl_secs),
            lockout_after: self.lockout_after.max(1),
            lockout_for: Duration::from_secs(self.lockout_secs),
            link_base: self.link_base.clone(),
            ..commands::accounts::AccountPolicy::default()
        }
    }

    pub fn issuers(&self) -> crate::auth::Issuers {
        crate::auth::Issuers::new(
            &self.oidc_issuers,
            Duration::from_secs(self.jwks_ttl_secs),
            Duration::from_secs(self.jwks_min_refresh_secs),
        )
    }
}

/// Outgoing email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The mail server, as `smtps://user:password@host` (TLS, port 465),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtp://host:25`. Empty:
    /// every message is written to `directory` instead.
    pub smtp_url: Secret,
    /// The sender of every message.
    pub from: String,
    /// Where messages are written as `.eml` files when no mail server is configured.
    pub directory: String,
}

impl MailSettings {
    pub fn mailer(
        &self,
    ) -> Result<commands::accounts::mail::Mailer, commands::accounts::mail::MailerError> {
        use commands::accounts::mail::{Mailer, SmtpMailer};
        let url = self.smtp_url.expose().trim();
        Ok(if url.is_empty() {
            Mailer::Directory(self.directory.clone().into())
        } else {
            Mailer::Smtp(Box::new(SmtpMailer::new(url, &self.from)?))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    pub name: String,
    pub batch_size: i64,
    pub idle_poll_ms: u64,
    pub retry_backoff_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectorSettings {
    pub batch_size: usize,
    pub retry_backoff_ms: u64,
    /// A projector with work pending that applies nothing for this long rejoins its group.
    pub stall_after_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// The signing secret of the payment provider's webhook endpoint (`whsec_…`).
    pub webhook_secret: Secret,
    /// How old a webhook's signed timestamp may be, in seconds.
    pub tolerance_secs: u64,
}

/// The notary that signs checkpoints over the history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The Ed25519 key that signs checkpoints: 32 bytes in base64 (`hirestream keys
    /// generate`). Its public half is served at `/audit/public-key`.
    pub signing_key: Secret,
    /// Events per checkpoint, at most.
    pub checkpoint_events: i64,
    /// How long events wait for a checkpoint when fewer than `checkpoint_events` are pending.
    pub checkpoint_interval_ms: u64,
}

impl AuditSettings {
    pub fn signer(&self) -> Result<commands::audit::Signer, commands::audit::notary::BadKey> {
        commands::audit::Signer::from_base64(self.signing_key.expose())
    }

    pub fn notary_config(&self) -> commands::audit::NotaryConfig {
        commands::audit::NotaryConfig {
            every_events: self.checkpoint_events.max(1),
            interval: Duration::from_millis(self.checkpoint_interval_ms),
        }
    }
}

/// The keys that seal personal data (docs/adr/0014-personal-data.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// Seals every subject key: 32 bytes in base64 (`hirestream keys generate --master`).
    pub master_key: Secret,
    /// Master keys that sealed subject keys before the current one, comma-separated: still
    /// read until `hirestream keys rotate-master` has sealed every subject key anew.
    pub previous_master_keys: Secret,
}

impl PrivacySettings {
    pub fn master_keys(&self) -> Result<MasterKeys, BadMasterKey> {
        let current = MasterKey::from_base64(self.master_key.expose())?;
        let previous = self
            .previous_master_keys
            .expose()
            .split(',')
            .filter(|key| !key.trim().is_empty())
            .map(MasterKey::from_base64)
            .collect::<Result<_, _>>()?;
        Ok(MasterKeys::new(current, previous))
    }
}

/// The public development signing key of checkpoints (its secret half is here, for anyone).
pub const DEVELOPMENT_AUDIT_KEY: &str = "e4juoaxAffnkEbvla5WurHDjIgW9+U7Yem2h7V3tct8=";

/// Who writes AI documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// `local` (the built-in rule-based writer, no network) or `openai` (any
    /// OpenAI-compatible chat-completions endpoint).
    pub provider: LlmProvider,
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
    pub timeout_ms: u64,
    /// Provider calls per document, retries included.
    pub max_attempts: i32,
    pub first_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Prices in millionths of a dollar per thousand tokens.
    pub input_micros_per_1k: i64,
    pub output_micros_per_1k: i64,
}

/// Metrics and traces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Where a process without an API serves `/metrics` (`0.0.0.0:9464`); empty: nowhere. A
    /// process with an API serves it on the API's address.
    pub metrics_addr: String,
    /// An OpenTelemetry collector's OTLP/gRPC endpoint (`http://127.0.0.1:4317`) that traces
    /// are exported to; empty: `OTEL_EXPORTER_OTLP_ENDPOINT` if set, else no export.
    pub otlp_endpoint: String,
    /// The `service.name` of exported spans.
    pub service_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    Local,
    Openai,
}

/// The model that turns profiles and jobs into vectors.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSettings {
    /// `local` (all-MiniLM-L6-v2 in process) or `openai` (an OpenAI-compatible endpoint).
    pub provider: LlmProvider,
    /// Where `scripts/models` put the local model's files.
    pub model_dir: String,
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
    pub dimensions: usize,
    pub timeout_ms: u64,
}

/// The vector index and the feeds built on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingSettings {
    /// Where the embedded index keeps its files, when no Qdrant server is configured.
    pub data_dir: String,
    /// A Qdrant server's gRPC address (`http://qdrant:6334`); empty for the embedded index.
    /// `QDRANT_URL` sets it too.
    pub qdrant_url: String,
    pub qdrant_api_key: Secret,
    /// Put before the collection names on a Qdrant server (`hirestream_jobs`).
    pub collection_prefix: String,
    /// How many nearest neighbours a changed job or profile is scored against.
    pub neighbours: usize,
    /// Most entries in each feed.
    pub feed_size: usize,
    /// A feed thinned by swipes below this is scored again.
    pub refill_below: usize,
}

/// The webhook secret used when none is configured, for local testing with a stub.
pub const DEVELOPMENT_WEBHOOK_SECRET: &str = "whsec_hirestream_local_development";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info,hirestream=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A string that is never printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dev_mode: false,
            database: DatabaseSettings {
                url: Secret::new("postgres://hirestream:hirestream@127.0.0.1:5432/hirestream"),
                max_connections: 20,
            },
            kafka: KafkaSettings {
                brokers: "127.0.0.1:9092".into(),
                topic_prefix: "hirestream".into(),
                partitions: 3,
                replication_factor: 1,
                message_timeout_ms: 30_000,
                properties: BTreeMap::new(),
            },
            http: HttpSettings {
                addr: "127.0.0.1:8080".into(),
                consistency_wait_ms: 5_000,
                request_timeout_ms: 30_000,
                body_limit_bytes: 1 << 20,
                cors_origins: Vec::new(),
                rate_limit_per_second: 100.0,
                rate_limit_burst: 200.0,
            },
            auth: AuthSettings {
                jwt_secret: Secret::new(DEVELOPMENT_JWT_SECRET),
                token_ttl_secs: 24 * 3600,
                access_token_ttl_secs: 15 * 60,
                refresh_token_ttl_secs: 30 * 24 * 3600,
                lockout_after: 5,
                lockout_secs: 15 * 60,
                link_base: "http://127.0.0.1:8080".into(),
                oidc_issuers: Vec::new(),
                jwks_ttl_secs: 3600,
                jwks_min_refresh_secs: 30,
            },
            mail: MailSettings {
                smtp_url: Secret::new(""),
                from: "Hirestream <no-reply@hirestream.local>".into(),
                directory: ".data/mail".into(),
            },
            relay: RelaySettings {
                name: "kafka".into(),
                batch_size: 500,
                idle_poll_ms: 1_000,
                retry_backoff_ms: 1_000,
            },
            projector: ProjectorSettings {
                batch_size: 500,
                retry_backoff_ms: 1_000,
                stall_after_ms: 30_000,
            },
            payments: PaymentSettings {
                webhook_secret: Secret::new(DEVELOPMENT_WEBHOOK_SECRET),
                tolerance_secs: 300,
            },
            audit: AuditSettings {
                signing_key: Secret::new(DEVELOPMENT_AUDIT_KEY),
                checkpoint_events: 1_000,
                checkpoint_interval_ms: 5_000,
            },
            privacy: PrivacySettings {
                master_key: Secret::new(DEVELOPMENT_MASTER_KEY),
                previous_master_keys: Secret::new(""),
            },
            llm: LlmSettings {
                provider: LlmProvider::Local,
                base_url: "https://api.openai.com/v1".into(),
                api_key: Secret::new(""),
                model: "gpt-4o-mini".into(),
                timeout_ms: 60_000,
                max_attempts: 3,
                first_backoff_ms: 500,
                max_backoff_ms: 30_000,
                input_micros_per_1k: 150,
                output_micros_per_1k: 600,
            },
            embeddings: EmbeddingSettings {
                provider: LlmProvider::Local,
                model_dir: ".data/models/all-minilm-l6-v2".into(),
                base_url: "https://api.openai.com/v1".into(),
                api_key: Secret::new(""),
                model: "text-embedding-3-small".into(),
                dimensions: 384,
                timeout_ms: 30_000,
            },
            matching: MatchingSettings {
                data_dir: ".data/vectors".into(),
                qdrant_url: String::new(),
                qdrant_api_key: Secret::new(""),
                collection_prefix: "hirestream_".into(),
                neighbours: 500,
                feed_size: 100,
                refill_below: 50,
            },
            imports: ImportSettings {
                allowed_hosts: commands::import::JOB_BOARD_HOSTS
                    .iter()
                    .map(|h| h.to_string())
                    .collect(),
                timeout_ms: 10_000,
            },
            log: LogSettings {
                format: LogFormat::Text,
                // The embedded vector engine warns about process-wide flags it never needs.
                filter: "info,qdrant_edge=error".into(),
            },
            telemetry: TelemetrySettings {
                metrics_addr: String::new(),
                otlp_endpoint: String::new(),
                service_name: "hirestream".into(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML")]
    Toml {
        path: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{name} does not name a setting")]
    UnknownVariable { name: String },
    #[error("{name}: `{value}` is not a valid {expected}")]
    BadValue {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error("invalid settings")]
    Invalid(#[source] serde_json::Error),
}

const ENV_PREFIX: &str = "HIRESTREAM_";
/// Also sets `matching.qdrant_url` (a `HIRESTREAM_MATCHING__QDRANT_URL` wins over it).
pub const QDRANT_URL_VARIABLE: &str = "QDRANT_URL";
/// Sets `dev_mode`, the one setting outside a section.
pub const DEV_MODE_VARIABLE: &str = "HIRESTREAM_DEV_MODE";
/// Names the optional settings file; not itself a setting.
pub const CONFIG_FILE_VARIABLE: &str = "HIRESTREAM_CONFIG";

impl Settings {
    /// Defaults, then the file (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, std::env::vars())
    }

    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut tree = serde_json::to_value(Settings::default()).map_err(SettingsError::Invalid)?;
        if let Some(path) = file {
            let display = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: display.clone(),
                source,
            })?;
            let overlay: Value = toml::from_str(&text).map_err(|source| SettingsError::Toml {
                path: display,
                source,
            })?;
            merge(&mut tree, overlay);
        }
        let mut qdrant_url = None;
        let mut variables: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, value)| {
                // Qdrant's own name for its address, as its clients read it.
                if name == QDRANT_URL_VARIABLE {
                    qdrant_url = Some(value.clone());
                }
                is_setting_variable(name)
            })
            .collect();
        variables.sort();
        let alias = qdrant_url.map(|url| (format!("{ENV_PREFIX}MATCHING__QDRANT_URL"), url));
        for (name, value) in alias.into_iter().chain(variables) {
            set_from_env(&mut tree, &name, value)?;
        }
        serde_json::from_value(tree).map_err(SettingsError::Invalid)
    }

    pub fn consistency_wait(&self) -> Duration {
        Duration::from_millis(self.http.consistency_wait_ms)
    }

    /// Refuses, outside development mode, the public development secrets (and empty ones)
    /// for a process that serves requests or webhooks: with them anyone can forge an admin
    /// token or a payment.
    pub fn refuse_public_secrets(&self) -> Result<(), PublicSecret> {
        if self.dev_mode {
            return Ok(());
        }
        let public = |secret: &Secret, default: &str| {
            secret.expose() == default || secret.expose().trim().is_empty()
        };
        let mut settings = Vec::new();
        if public(&self.auth.jwt_secret, DEVELOPMENT_JWT_SECRET) {
            settings.push("HIRESTREAM_AUTH__JWT_SECRET");
        }
        if public(&self.payments.webhook_secret, DEVELOPMENT_WEBHOOK_SECRET) {
            settings.push("HIRESTREAM_PAYMENTS__WEBHOOK_SECRET");
        }
        if public(&self.privacy.master_key, DEVELOPMENT_MASTER_KEY) {
            settings.push("HIRESTREAM_PRIVACY__MASTER_KEY");
        }
        if settings.is_empty() {
            Ok(())
        } else {
            Err(PublicSecret { settings })
        }
    }

    /// Refuses, outside development mode, the public development key for a process that
    /// signs checkpoints: with it anyone can sign a rewritten history.
    pub fn refuse_public_audit_key(&self) -> Result<(), PublicSecret> {
        let key = self.audit.signing_key.expose();
        if self.dev_mode || (key != DEVELOPMENT_AUDIT_KEY && !key.trim().is_empty()) {
            Ok(())
        } else {
            Err(PublicSecret {
                settings: vec!["HIRESTREAM_AUDIT__SIGNING_KEY"],
            })
        }
    }
}

/// A secret is the public development default (or empty) outside development mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to serve with the public development secret in {}: set {} to a secret of your \
     own, or choose development mode explicitly with {DEV_MODE_VARIABLE}=true",
    .settings.join(" and "),
    .settings.join(" and ")
)]
pub struct PublicSecret {
    /// The variables that set the secrets at fault.
    pub settings: Vec<&'static str>,
}

const KAFKA_PROPERTIES: &str = "kafka__properties__";

/// Settings live in sections, so their variables have a `__`: `HIRESTREAM_KAFKA__BROKERS`.
/// Other `HIRESTREAM_*` variables (the scripts' own, `HIRESTREAM_CONFIG`) are not settings.
fn is_setting_variable(name: &str) -> bool {
    name == DEV_MODE_VARIABLE
        || name
            .strip_prefix(ENV_PREFIX)
            .is_some_and(|rest| rest.contains("__"))
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Sets the setting an environment variable names, parsed as the type of its default.
fn set_from_env(tree: &mut Value, name: &str, value: String) -> Result<(), SettingsError> {
    let path = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    // librdkafka's properties are open-ended: `..._PROPERTIES__SASL__MECHANISM` sets
    // `sasl.mechanism`.
    if let Some(property) = path.strip_prefix(KAFKA_PROPERTIES) {
        let properties = &mut tree["kafka"]["properties"];
        if !properties.is_object() {
            *properties = Value::Object(Default::default());
        }
        properties[property.replace("__", ".")] = Value::String(value);
        return Ok(());
    }
    let mut slot = &mut *tree;
    for key in path.split("__") {
        slot = slot
            .get_mut(key)
            .ok_or_else(|| SettingsError::UnknownVariable { name: name.into() })?;
    }
    let bad = |expected| SettingsError::BadValue {
        name: name.into(),
        value: value.clone(),
        expected,
    };
    *slot = match slot {
        Value::Number(_) => {
            let number: serde_json::Number = value.trim().parse().map_err(|_| bad("number"))?;
            Value::Number(number)
        }
        Value::Bool(_) => Value::Bool(value.trim().parse().map_err(|_| bad("boolean"))?),
        Value::Object(_) => return Err(SettingsError::UnknownVariable { name: name.into() }),
        Value::Array(_) => Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        _ => Value::String(value.clone()),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_properties_come_from_the_file_and_from_variables_that_name_them() {
        let dir =
            std::env::temp_dir().join(format!("hirestream-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("hirestream.toml");
        std::fs::write(
            &file,
            "[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanism\" = \"PLAIN\"\n",
        )
        .expect("write");
        let settings = Settings::load_from(
            Some(&file),
            env(&[
                (
                    "HIRESTREAM_KAFKA__PROPERTIES__SASL__MECHANISM",
                    "SCRAM-SHA-512",
                ),
                ("HIRESTREAM_KAFKA__PROPERTIES__SASL__USERNAME", "hirestream"),
            ]),
        )
        .expect("settings");
        let properties: Vec<(&str, &str)> = settings
            .kafka
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            properties,
            [
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", "hirestream"),
                ("security.protocol", "SASL_SSL"),
            ]
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn environment_variables_override_nested_settings_with_their_types() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("HIRESTREAM_DATABASE__URL", "postgres://db/x"),
                ("HIRESTREAM_KAFKA__PARTITIONS", "6"),
                ("HIRESTREAM_LOG__FORMAT", "json"),
                ("UNRELATED", "ignored"),
            ]),
        )
        .expect("settings load");
        assert_eq!(settings.database.url.expose(), "postgres://db/x");
        assert_eq!(settings.kafka.partitions, 6);
        assert_eq!(settings.log.format, LogFormat::Json);
    }

    #[test]
    fn a_misspelt_variable_is_an_error_not_a_silent_default() {
        let error = Settings::load_from(None, env(&[("HIRESTREAM_KAFKA__BROKER", "x:1")]))
            .expect_err("unknown variable");
        assert!(matches!(error, SettingsError::UnknownVariable { .. }));
    }

    #[test]
    fn variables_without_a_section_are_not_settings() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("HIRESTREAM_DATA_DIR", "/tmp/x"),
                ("HIRESTREAM_CONFIG", "x.toml"),
            ]),
        )
        .expect("settings load");
        assert_eq!(settings.kafka.brokers, Settings::default().kafka.brokers);
    }

    #[test]
    fn a_non_numeric_value_for_a_number_is_rejected() {
        let error = Settings::load_from(
            None,
            env(&[("HIRESTREAM_HTTP__CONSISTENCY_WAIT_MS", "soon")]),
        )
        .expect_err("bad number");
        assert!(matches!(error, SettingsError::BadValue { .. }));
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let path =
            std::env::temp_dir().join(format!("hirestream-settings-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "[kafka]\nbrokers = \"file:9092\"\ntopic_prefix = \"fromfile\"\n",
        )
        .expect("write file");
        let settings = Settings::load_from(
            Some(&path),
            env(&[("HIRESTREAM_KAFKA__TOPIC_PREFIX", "fromenv")]),
        )
        .expect("settings load");
        std::fs::remove_file(&path).ok();
        assert_eq!(settings.kafka.brokers, "file:9092");
        assert_eq!(settings.kafka.topic_prefix, "fromenv");
    }

    #[test]
    fn qdrant_url_names_the_server_unless_the_setting_does() {
        let alone = Settings::load_from(None, env(&[("QDRANT_URL", "http://q:6334")]))
            .expect("settings load");
        assert_eq!(alone.matching.qdrant_url, "http://q:6334");
        let both = Settings::load_from(
            None,
            env(&[
                ("HIRESTREAM_MATCHING__QDRANT_URL", "http://ours:6334"),
                ("QDRANT_URL", "http://q:6334"),
            ]),
        )
        .expect("settings load");
        assert_eq!(both.matching.qdrant_url, "http://ours:6334");
    }

    #[test]
    fn a_server_refuses_the_public_secrets_unless_development_mode_is_chosen() {
        let unconfigured = Settings::load_from(None, env(&[])).expect("settings load");
        assert_eq!(
            unconfigured.refuse_public_secrets(),
            Err(PublicSecret {
                settings: vec![
                    "HIRESTREAM_AUTH__JWT_SECRET",
                    "HIRESTREAM_PAYMENTS__WEBHOOK_SECRET",
                    "HIRESTREAM_PRIVACY__MASTER_KEY"
                ]
            })
        );
        let half = Settings::load_from(None, env(&[("HIRESTREAM_AUTH__JWT_SECRET", "s3cret")]))
            .expect("settings load");
        assert_eq!(
            half.refuse_public_secrets(),
            Err(PublicSecret {
                settings: vec![
                    "HIRESTREAM_PAYMENTS__WEBHOOK_SECRET",
                    "HIRESTREAM_PRIVACY__MASTER_KEY"
                ]
            })
        );
        let empty = Settings::load_from(
            None,
            env(&[
                ("HIRESTREAM_AUTH__JWT_SECRET", " "),
                ("HIRESTREAM_PAYMENTS__WEBHOOK_SECRET", "whsec_own"),
            ]),
        )
        .expect("settings load");
        assert!(empty.refuse_public_secrets().is_err());
        assert!(unconfigured.refuse_public_audit_key().is_err());
        let configured = Settings::load_from(
            None,
            env(&[
                ("HIRESTREAM_AUTH__JWT_SECRET", "s3cret"),
                ("HIRESTREAM_PAYMENTS__WEBHOOK_SECRET", "whsec_own"),
                (
                    "HIRESTREAM_PRIVACY__MASTER_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ),
            ]),
        )
        .expect("settings load");
        assert_eq!(configured.refuse_public_secrets(), Ok(()));
        let development =
            Settings::load_from(None, env(&[("HIRESTREAM_DEV_MODE", "true")])).expect("load");
        assert!(development.dev_mode);
        assert_eq!(development.refuse_public_secrets(), Ok(()));
    }

    #[test]
    fn development_mode_is_off_unless_chosen() {
        assert!(!Settings::default().dev_mode);
        let error = Settings::load_from(None, env(&[("HIRESTREAM_DEV_MODE", "yes")]))
            .expect_err("not a boolean");
        assert!(matches!(error, SettingsError::BadValue { .. }));
    }

    #[test]
    fn import_hosts_are_the_job_boards_unless_listed_otherwise() {
        let default = Settings::load_from(None, env(&[])).expect("settings load");
        assert_eq!(
            default.imports.allowed_hosts,
            [
                "boards-api.greenhouse.io",
                "api.lever.co",
                "api.eu.lever.co"
            ]
        );
        let listed = Settings::load_from(
            None,
            env(&[(
                "HIRESTREAM_IMPORTS__ALLOWED_HOSTS",
                "boards-api.greenhouse.io, 127.0.0.1:8123,",
            )]),
        )
        .expect("settings load");
        assert_eq!(
            listed.imports.allowed_hosts,
            ["boards-api.greenhouse.io", "127.0.0.1:8123"]
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        let printed = format!("{:?}", Settings::default());
        assert!(!printed.contains(DEVELOPMENT_JWT_SECRET));
        assert!(printed.contains("[redacted]"));
    }
}
