//! Ports to the models that turn text into vectors: the built-in all-MiniLM-L6-v2 run in
//! process (the default), or any OpenAI-compatible embeddings endpoint.

pub mod cache;
pub mod local;
pub mod openai;

use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    #[error("cannot load the model from {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("the model failed: {0}")]
    Model(String),
    #[error("the embedding provider failed: {0}")]
    Provider(#[from] crate::providers::ProviderError),
}

/// Turns texts into unit vectors of `dimensions()` numbers; similar meanings, close vectors.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Names the model, as the embedding cache keys it.
    fn model(&self) -> &str;

    fn dimensions(&self) -> usize;

    /// One vector per text, in order.
    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbeddingError>>;
}

/// The cosine similarity of two vectors (their dot product, for unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}
