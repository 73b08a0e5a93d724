//! What signing in costs: a password sign-in over HTTP (`POST /auth/token`, an Argon2id
//! check), beside a request that checks nothing (`GET /healthz`) on the same connection; and
//! the verification of an access token, beside reading the same token without checking its
//! signature.

use std::time::{Duration, Instant};

use api::auth::{Claims, TokenKeys};
use api::process::{self, Parts};
use api::settings::Settings;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::{Actor, Role};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::report::Latency;
use crate::scratch::Scratch;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct AuthBench {
    pub sign_ins: usize,
    pub verifications: usize,
}

#[derive(Debug)]
pub struct AuthReport {
    pub sign_in: Latency,
    pub health: Latency,
    pub verify: Latency,
    pub read: Latency,
}

impl std::fmt::Display for AuthReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "password sign-in (POST /auth/token): {}", self.sign_in)?;
        writeln!(f, "GET /healthz (baseline):            {}", self.health)?;
        writeln!(
            f,
            "sign-in: {:.1}x the baseline's p50",
            ratio(self.sign_in.p50, self.health.p50)
        )?;
        writeln!(f, "access token verified:              {}", self.verify)?;
        writeln!(f, "access token read, unchecked (baseline): {}", self.read)?;
        write!(
            f,
            "verification: {:.1}x the baseline's p50",
            ratio(self.verify.p50, self.read.p50)
        )
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub async fn auth(settings: &Settings, bench: AuthBench) -> Result<AuthReport, BenchError> {
    let scratch = Scratch::create(settings, "auth").await?;
    let mut settings = scratch.settings.clone();
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.rate_limit_per_second = 0.0;
    settings.dev_mode = true;
    let pool = process::connect(&settings).await?;
    let shutdown = CancellationToken::new();
    let started = process::start(
        &settings,
        pool.clone(),
        Parts {
            api: true,
            ..Parts::default()
        },
        shutdown.clone(),
    )
    .await?;
    let base = format!("http://{}", started.addr.ok_or("the API did not start")?);
    let http = reqwest::Client::new();
    let credentials = json!({"email": "bench@example.com", "password": "a bench passphrase"});
    let mut registration = credentials.clone();
    registration["role"] = json!("candidate");
    let answer = http
        .post(format!("{base}/auth/register"))
        .json(&registration)
        .send()
        .await?;
    if answer.status() != 201 {
        return Err(format!("registering answered {}", answer.status()).into());
    }

    let mut sign_ins = Vec::with_capacity(bench.sign_ins);
    let mut health = Vec::with_capacity(bench.sign_ins);
    for _ in 0..bench.sign_ins {
        let start = Instant::now();
        let answer = http
            .post(format!("{base}/auth/token"))
            .json(&credentials)
            .send()
            .await?;
        let status = answer.status();
        answer.bytes().await?;
        sign_ins.push(start.elapsed());
        if status != 200 {
            return Err(format!("signing in answered {status}").into());
        }
        let start = Instant::now();
        http.get(format!("{base}/healthz"))
            .send()
            .await?
            .bytes()
            .await?;
        health.push(start.elapsed());
    }

    let keys = TokenKeys::new(settings.auth.jwt_secret.expose().as_bytes());
    let now = chrono::Utc::now().timestamp();
    let token = keys.mint(Actor::new(Uuid::now_v7(), Role::Candidate), now, 900);
    let mut verify = Vec::with_capacity(bench.verifications);
    let mut read = Vec::with_capacity(bench.verifications);
    for _ in 0..bench.verifications {
        let start = Instant::now();
        std::hint::black_box(keys.verify(std::hint::black_box(&token), now)).ok();
        verify.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(unchecked(std::hint::black_box(&token)));
        read.push(start.elapsed());
    }

    shutdown.cancel();
    started.wait().await;
    pool.close().await;
    scratch.drop_database().await?;
    Ok(AuthReport {
        sign_in: Latency::of(sign_ins),
        health: Latency::of(health),
        verify: Latency::of(verify),
        read: Latency::of(read),
    })
}

/// The token's header and claims decoded, the signature ignored.
fn unchecked(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
    header.get("alg")?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()
}
