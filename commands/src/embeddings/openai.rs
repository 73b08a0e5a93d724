//! Any OpenAI-compatible embeddings endpoint (`POST {base}/embeddings`), with async-openai's
//! types for the contract and our own transport, as for chat completions.

use std::time::Duration;

use async_openai::types::embeddings::{
    CreateEmbeddingRequest, CreateEmbeddingResponse, EmbeddingInput,
};
use futures::future::BoxFuture;
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;

use super::{Embedder, EmbeddingError};
use crate::providers::ProviderError;

#[derive(Debug, Clone)]
pub struct OpenAiEmbedderConfig {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub dimensions: usize,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    http: reqwest::Client,
    config: OpenAiEmbedderConfig,
}

impl OpenAiEmbedder {
    pub fn new(config: OpenAiEmbedderConfig) -> Self {
        Self {
            http: reqwest::Client::new(),
            config,
        }
    }

    async fn call(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        let request = CreateEmbeddingRequest {
            model: self.config.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            dimensions: u32::try_from(self.config.dimensions).ok(),
            ..Default::default()
        };
        let url = format!("{}/embeddings", self.config.base_url.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .header(AUTHORIZATION, format!("Bearer {}", self.config.api_key))
            .timeout(self.config.timeout)
            .json(&request)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(domain::error_chain(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Unavailable(domain::error_chain(&e)))?;
        match status {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(ProviderError::RateLimited { retry_after: None })
            }
            s if s.is_server_error() => {
                return Err(ProviderError::Unavailable(format!("answered {s}")))
            }
            s => return Err(ProviderError::Rejected(format!("answered {s}"))),
        }
        let answer: CreateEmbeddingResponse = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Malformed(format!("not an embeddings answer ({e})")))?;
        let mut data = answer.data;
        data.sort_by_key(|d| d.index);
        if data.len() != texts.len()
            || data
                .iter()
                .any(|d| d.embedding.len() != self.config.dimensions)
        {
            return Err(ProviderError::Malformed(format!(
                "expected {} vectors of {} numbers",
                texts.len(),
                self.config.dimensions
            )));
        }
        Ok(data.into_iter().map(|d| d.embedding).collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn dimensions(&self) -> usize {
        self.config.dimensions
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbeddingError>> {
        Box::pin(async move { Ok(self.call(texts).await?) })
    }
}
