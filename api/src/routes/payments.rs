//! The payment provider's webhook: Stripe-style `checkout.session.completed` events buy
//! credits.
//!
//! The `Stripe-Signature` header (`t=<unix time>,v1=<hex HMAC-SHA256>`) signs
//! `"<t>.<raw body>"` with the endpoint secret. It is checked in constant time and the
//! timestamp must be within the tolerance, so a captured request cannot be replayed later.
//! The checkout session id is the purchase's payment reference: an event delivered twice
//! buys once. Event types other than a completed checkout are acknowledged and ignored.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use commands::CommandContext;
use domain::wallet::PurchaseCredits;
use domain::{Actor, FieldError};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::position::Written;
use crate::state::AppState;

/// The subject recorded as the actor of purchases the payment provider reports.
pub const PAYMENT_PROVIDER: Uuid = Uuid::from_u128(0x5721_9e00_0000_4000_8000_0000_0000_0001);

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/stripe", post(webhook))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is not `t=<timestamp>,v1=<signature>`")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance window")]
    Stale,
    #[error("no signature matches the payload")]
    Mismatch,
}

/// Checks webhook signatures with the endpoint secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    mac: Hmac<Sha256>,
    tolerance: Duration,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    pub fn new(secret: &[u8], tolerance: Duration) -> Self {
        Self {
            // HMAC accepts keys of any length.
            mac: Hmac::new_from_slice(secret).unwrap_or_else(|_| unreachable!()),
            tolerance,
        }
    }

    /// The header value a sender with this secret puts on `payload` at `timestamp`.
    pub fn sign(&self, payload: &[u8], timestamp: i64) -> String {
        let mut mac = self.mac.clone();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        let signature = commands::hex(&mac.finalize().into_bytes());
        format!("t={timestamp},v1={signature}")
    }

    pub fn verify(
        &self,
        header: Option<&str>,
        payload: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
                Some(("v1", value)) => {
                    signatures.push(decode_hex(value).ok_or(SignatureError::Malformed)?)
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed);
        }
        if now.abs_diff(timestamp) > self.tolerance.as_secs() {
            return Err(SignatureError::Stale);
        }
        let mut mac = self.mac.clone();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        let matches = signatures
            .iter()
            .any(|signature| mac.clone().verify_slice(signature).is_ok());
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Value,
}

#[derive(Debug, Deserialize)]
struct CheckoutSession {
    id: String,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let header = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(error) = state.webhook.verify(header, &body, now) {
        tracing::warn!(%error, "payment webhook rejected");
        return Err(ApiError::bad_request(
            ErrorCode::InvalidSignature,
            error.to_string(),
        ));
    }
    crate::extract::storable_json(&body)?;
    let event: Event = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("not a webhook event: {error}"),
        )
    })?;
    if event.kind != "checkout.session.completed" {
        return Ok(acknowledged(&event, false, None));
    }
    let session: CheckoutSession =
        serde_json::from_value(event.data.object.clone()).map_err(|error| {
            ApiError::bad_request(
                ErrorCode::InvalidBody,
                format!("not a checkout session: {error}"),
            )
        })?;
    if session
        .payment_status
        .as_deref()
        .is_some_and(|status| status != "paid")
    {
        // Paid later (an asynchronous payment method): another event will say so.
        return Ok(acknowledged(&event, false, None));
    }
    let (wallet_id, credits) = purchase_of(&session)?;
    let actor = Actor::system(PAYMENT_PROVIDER);
    let context = CommandContext {
        actor,
        request_id: headers
            .get(crate::extract::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        correlation_id: session.id.clone(),
        causation_id: event.id.clone(),
        member: None,
        trace_parent: commands::trace::traceparent_of(&tracing::Span::current()),
    };
    let command = PurchaseCredits {
        wallet_id,
        credits,
        payment_reference: session.id,
    };
    let written: Written = state
        .commands
        .purchase_credits(&context, command)
        .await?
        .into();
    Ok(acknowledged(&event, true, Some(written)))
}

/// The wallet (the candidate) and the credits a session bought, from its metadata.
fn purchase_of(session: &CheckoutSession) -> Result<(Uuid, i64), ApiError> {
    let mut problems = Vec::new();
    let wallet = session
        .metadata
        .get("candidate_id")
        .and_then(|id| id.parse::<Uuid>().ok());
    if wallet.is_none() {
        problems.push(FieldError::new(
            "metadata.candidate_id",
            "must be a candidate id",
        ));
    }
    let credits = session
        .metadata
        .get("credits")
        .and_then(|n| n.parse::<i64>().ok());
    if credits.is_none() {
        problems.push(FieldError::new(
            "metadata.credits",
            "must be a whole number of credits",
        ));
    }
    match (wallet, credits) {
        (Some(wallet), Some(credits)) => Ok((wallet, credits)),
        _ => Err(domain::DomainError::Invalid(problems).into()),
    }
}

fn acknowledged(
    event: &Event,
    handled: bool,
    written: Option<Written>,
) -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({
            "received": true,
            "event_id": event.id,
            "handled": handled,
            "purchase": written,
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(b"whsec_test", Duration::from_secs(300))
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let header = verifier().sign(b"{}", NOW);
        assert_eq!(verifier().verify(Some(&header), b"{}", NOW + 10), Ok(()));
    }

    #[test]
    fn a_changed_payload_or_another_secret_does_not_verify() {
        let header = verifier().sign(b"{}", NOW);
        assert_eq!(
            verifier().verify(Some(&header), b"{ }", NOW),
            Err(SignatureError::Mismatch)
        );
        let other = WebhookVerifier::new(b"whsec_other", Duration::from_secs(300)).sign(b"{}", NOW);
        assert_eq!(
            verifier().verify(Some(&other), b"{}", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_signature_is_stale() {
        let header = verifier().sign(b"{}", NOW - 301);
        assert_eq!(
            verifier().verify(Some(&header), b"{}", NOW),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = verifier().sign(b"{}", NOW);
        let signature = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let header = format!("t={NOW},v1={},v1={signature}", "00".repeat(32));
        assert_eq!(verifier().verify(Some(&header), b"{}", NOW), Ok(()));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        for header in ["", "t=abc,v1=00", "v1=00", "t=1", "t=1,v1=zz"] {
            assert_eq!(
                verifier().verify(Some(header), b"{}", NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        assert_eq!(
            verifier().verify(None, b"{}", NOW),
            Err(SignatureError::Missing)
        );
    }

    #[tokio::test]
    async fn a_configured_server_refuses_a_webhook_signed_with_the_development_secret() {
        use crate::settings::DEVELOPMENT_WEBHOOK_SECRET;
        use crate::testing::send;
        let body = serde_json::json!({
            "id": "evt_1", "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_1", "payment_status": "paid",
                     "metadata": {"candidate_id": Uuid::from_u128(9), "credits": "50"}}}
        })
        .to_string();
        let forged = WebhookVerifier::new(DEVELOPMENT_WEBHOOK_SECRET.as_bytes(), Duration::ZERO)
            .sign(body.as_bytes(), chrono::Utc::now().timestamp());
        let (status, _, answer) = send(
            axum::http::Method::POST,
            "/webhooks/stripe",
            &[("stripe-signature", &forged)],
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_signature");
    }
}
