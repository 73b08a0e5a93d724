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
