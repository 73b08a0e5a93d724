//! Any OpenAI-compatible chat-completions endpoint (`POST {base}/chat/completions`).
//!
//! Requests and answers are async-openai's types for that contract; the transport is our own
//! HTTP client, so that a 429's `Retry-After` reaches the retry policy, a 5xx is told apart
//! from a refusal, and an answer that is not a completion is reported as exactly that.

use std::time::{Duration, Instant};

use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;

use super::{DocumentPrompt, DocumentWriter, ProviderError, Written};

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// E.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub timeout: Duration,
    /// Prices in millionths of a dollar per thousand tokens.
    pub input_micros_per_1k: i64,
    pub output_micros_per_1k: i64,
}

#[derive(Clone)]
pub struct OpenAiWriter {
    http: reqwest::Client,
    config: OpenAiConfig,
}

impl std::fmt::Debug for OpenAiWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiWriter")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiWriter {
    pub fn new(config: OpenAiConfig) -> Self {
        Self {
            http: reqwest::Client::new(),
            config,
        }
    }

    fn request(&self, prompt: &DocumentPrompt) -> CreateChatCompletionRequest {
        CreateChatCompletionRequest {
            model: self.config.model.clone(),
            messages: vec![
                ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(
                    prompt.system(),
                )),
                ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(
                    prompt.user(),
                )),
            ],
            ..Default::default()
        }
    }

    async fn call(&self, prompt: &DocumentPrompt) -> Result<Written, ProviderError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let started = Instant::now();
        let response = self
            .http
            .post(&url)
            .header(AUTHORIZATION, format!("Bearer {}", self.config.api_key))
            .timeout(self.config.timeout)
            .json(&self.request(prompt))
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(transport_error(&e)))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unavailable(transport_error(&e)))?;
        tracing::debug!(%status, elapsed = ?started.elapsed(), "chat completion answered");
        match status {
            StatusCode::OK => self.written(&body),
            StatusCode::TOO_MANY_REQUESTS => Err(ProviderError::RateLimited { retry_after }),
            s if s.is_server_error() => Err(ProviderError::Unavailable(format!("answered {s}"))),
            s => Err(ProviderError::Rejected(format!(
                "answered {s}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))),
        }
    }

    fn written(&self, body: &[u8]) -> Result<Written, ProviderError> {
        let completion: CreateChatCompletionResponse = serde_json::from_slice(body)
            .map_err(|e| ProviderError::Malformed(format!("not a chat completion ({e})")))?;
        let content = completion
            .choices
            .first()
            .and_then(|choice| choice.message.content.clone())
            .filter(|content| !content.trim().is_empty())
            .ok_or_else(|| ProviderError::Malformed("the completion has no text".into()))?;
        let (input_tokens, output_tokens) = completion.usage.map_or_else(
            || (0, super::estimate_tokens(&content)),
            |u| (i64::from(u.prompt_tokens), i64::from(u.completion_tokens)),
        );
        Ok(Written {
            content,
            model: completion.model,
            input_tokens,
            output_tokens,
            cost_micros: (input_tokens * self.config.input_micros_per_1k
                + output_tokens * self.config.output_micros_per_1k)
                / 1_000,
        })
    }
}

impl DocumentWriter for OpenAiWriter {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn write<'a>(
        &'a self,
        prompt: &'a DocumentPrompt,
    ) -> BoxFuture<'a, Result<Written, ProviderError>> {
        Box::pin(self.call(prompt))
    }
}

/// `Retry-After` as seconds (the form rate limiters send).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        domain::error_chain(error)
    }
}
