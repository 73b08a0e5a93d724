use api::Settings;
use commands::embeddings::{cosine, Embedder};

fn embedder() -> std::sync::Arc<dyn Embedder> {
    let settings = Settings::load(None).expect("settings");
    api::process::embedder(&settings).expect("the local model (scripts/models installs it)")
}

async fn embed(embedder: &dyn Embedder, texts: &[&str]) -> Vec<Vec<f32>> {
    let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    embedder.embed(&texts).await.expect("embeddings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_reproduces_the_reference_sentence_transformers_vector() {
    let embedder = embedder();
    let vectors = embed(&*embedder, &["This is an example sentence"]).await;
    let vector = &vectors[0];
    assert_eq!(vector.len(), 384);
    assert_eq!(embedder.dimensions(), 384);
    let reference = [0.0677, 0.0635, 0.0487, 0.0793, 0.0374];
    for (i, (got, want)) in vector.iter().zip(reference).enumerate() {
        assert!(
            (got - want).abs() < 1e-3,
            "component {i}: {got} instead of {want}"
        );
    }
    let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "not a unit vector: {norm}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_texts_are_closer_than_unrelated_ones_and_identical_texts_identical() {
    let embedder = embedder();
    let pairs = [
        (
            "WebRTC engineer",
            "real-time video streaming developer",
            "pastry chef",
        ),
        (
            "Senior Rust backend engineer",
            "systems programmer building servers in Rust",
            "kindergarten teacher",
        ),
        (
            "Data analyst with SQL and Tableau",
            "business intelligence reporting",
            "long-haul truck driver",
        ),
        (
            "Registered nurse, intensive care",
            "ICU nursing",
            "frontend React developer",
        ),
    ];
    for (anchor, near, far) in pairs {
        // Mixed with other texts in one batch, each keeps its own vector.
        let v = embed(&*embedder, &[anchor, near, far, anchor]).await;
        let (close, distant) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
        assert!(
            close > distant,
            "{anchor}: {near} {close} vs {far} {distant}"
        );
        assert_eq!(v[0], v[3], "identical text, identical vector");
    }
    let alone = embed(&*embedder, &["WebRTC engineer"]).await;
    let batched = embed(
        &*embedder,
        &[
            "WebRTC engineer",
            "a much longer text that pads the batch with many more tokens",
        ],
    )
    .await;
    for (a, b) in alone[0].iter().zip(&batched[0]) {
        assert!((a - b).abs() < 1e-5, "padding changed the vector");
    }
}

/// Counts the texts it is asked to embed, and asks the real model.
#[derive(Debug)]
struct Counting {
    inner: std::sync::Arc<dyn Embedder>,
    texts: std::sync::atomic::AtomicUsize,
}

impl Embedder for Counting {
    fn model(&self) -> &str {
        self.inner.model()
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> futures::future::BoxFuture<'a, Result<Vec<Vec<f32>>, commands::embeddings::EmbeddingError>>
    {
        self.texts
            .fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
        self.inner.embed(texts)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_embeddings_are_computed_once_per_model_and_text() {
    let env = hirestream_tests::TestEnv::new().await;
    let counting = std::sync::Arc::new(Counting {
        inner: embedder(),
        texts: Default::default(),
    });
    let cached =
        commands::embeddings::cache::CachedEmbedder::new(counting.clone(), env.pool.clone());
    let first = embed(&cached, &["Rust engineer", "pastry chef", "Rust engineer"]).await;
    assert_eq!(
        counting.texts.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "duplicates embedded once"
    );
    assert_eq!(first[0], first[2]);
    let again = embed(&cached, &["pastry chef", "Rust engineer", "data analyst"]).await;
    assert_eq!(
        counting.texts.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "only the new text"
    );
    assert_eq!(again[1], first[0]);
    assert_eq!(again[0], first[1]);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM embedding_cache")
        .fetch_one(&env.pool)
        .await
        .expect("count");
    assert_eq!(rows, 3);
    env.cleanup().await;
}
