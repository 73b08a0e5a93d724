//! Ports to the providers that write documents: an OpenAI-compatible chat-completions
//! endpoint, and a built-in local writer that needs no network.

pub mod local;
pub mod openai;
mod prompt;

use std::time::Duration;

use futures::future::BoxFuture;

pub use prompt::DocumentPrompt;

/// What a provider wrote, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub content: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// In millionths of a US dollar.
    pub cost_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the provider refused the request: {0}")]
    Rejected(String),
    #[error("the provider's answer is malformed: {0}")]
    Malformed(String),
}

impl ProviderError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Unavailable(_)
        )
    }
}

/// Writes documents.
pub trait DocumentWriter: Send + Sync + std::fmt::Debug {
    /// The provider's name, as recorded on the document.
    fn provider(&self) -> &'static str;

    fn write<'a>(
        &'a self,
        prompt: &'a DocumentPrompt,
    ) -> BoxFuture<'a, Result<Written, ProviderError>>;
}

/// A rough token count for text a model did not count itself: about four tokens for every
/// three words, as for English with the usual tokenizers.
pub fn estimate_tokens(text: &str) -> i64 {
    let words = text.split_whitespace().count() as i64;
    (words * 4 + 2) / 3
}
