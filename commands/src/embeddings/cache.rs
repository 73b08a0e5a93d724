//! Embeddings remembered in PostgreSQL by model and SHA-256 of the text, so that a replay or
//! a re-import does not compute them again.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{Embedder, EmbeddingError};

const SELECT_CACHED: &str = "
SELECT content_hash, vector FROM embedding_cache WHERE model = $1 AND content_hash = ANY($2)";

const INSERT_CACHED: &str = "
INSERT INTO embedding_cache (model, content_hash, dimensions, vector)
SELECT $1, hash, $2, vector FROM UNNEST($3::text[], $4::bytea[]) AS t(hash, vector)
ON CONFLICT (model, content_hash) DO NOTHING";

/// An embedder that asks `inner` only for texts it has not embedded before.
#[derive(Debug, Clone)]
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    pool: PgPool,
}

impl CachedEmbedder {
    pub fn new(inner: Arc<dyn Embedder>, pool: PgPool) -> Self {
        Self { inner, pool }
    }

    async fn embed_cached(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let database = |e: sqlx::Error| EmbeddingError::Model(format!("embedding cache: {e}"));
        let hashes: Vec<String> = texts.iter().map(|t| content_hash(t)).collect();
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(SELECT_CACHED)
            .bind(self.inner.model())
            .bind(&hashes)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        let mut known: HashMap<String, Vec<f32>> = rows
            .into_iter()
            .map(|(hash, bytes)| (hash, decode(&bytes)))
            .collect();
        // Each text not cached yet, once even when the batch repeats it.
        let mut asked = std::collections::HashSet::new();
        let missing: Vec<usize> = (0..hashes.len())
            .filter(|&i| !known.contains_key(&hashes[i]) && asked.insert(&hashes[i]))
            .collect();
        let model = self.inner.model().to_owned();
        metrics::counter!("hirestream_embedding_cache_hits_total", "model" => model.clone())
            .increment((texts.len() - missing.len()) as u64);
        metrics::counter!("hirestream_embeddings_computed_total", "model" => model)
            .increment(missing.len() as u64);
        if !missing.is_empty() {
            let fresh_texts: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
            let fresh = self.inner.embed(&fresh_texts).await?;
            let fresh_hashes: Vec<String> = missing.iter().map(|&i| hashes[i].clone()).collect();
            let encoded: Vec<Vec<u8>> = fresh.iter().map(|v| encode(v)).collect();
            sqlx::query(INSERT_CACHED)
                .bind(self.inner.model())
                .bind(self.inner.dimensions() as i32)
                .bind(&fresh_hashes)
                .bind(&encoded)
                .execute(&self.pool)
                .await
                .map_err(database)?;
            known.extend(fresh_hashes.into_iter().zip(fresh));
        }
        Ok(hashes
            .iter()
            .map(|hash| known.get(hash).cloned().unwrap_or_default())
            .collect())
    }
}

impl Embedder for CachedEmbedder {
    fn model(&self) -> &str {
        self.inner.model()
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbeddingError>> {
        Box::pin(self.embed_cached(texts))
    }
}

/// Hex SHA-256 of the text.
pub fn content_hash(text: &str) -> String {
    crate::hex(&Sha256::digest(text.as_bytes()))
}

/// Little-endian f32s.
fn encode(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_survive_the_byte_encoding_exactly() {
        let vector = vec![0.0677_f32, -1.5, f32::MIN_POSITIVE, 3.25e-7];
        assert_eq!(decode(&encode(&vector)), vector);
    }

    #[test]
    fn the_content_hash_is_the_sha256_of_the_text() {
        assert_eq!(
            content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
