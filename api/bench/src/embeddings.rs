//! Texts embedded per second by the configured embedding model.

use std::time::Instant;

use api::settings::Settings;

use crate::import::synthetic_greenhouse_feed;
use crate::report::Throughput;

/// Texts embedded per second by the configured model, on job-posting-like texts.
pub async fn embeddings(
    settings: &Settings,
    texts: usize,
) -> Result<Throughput, commands::embeddings::EmbeddingError> {
    let embedder = api::process::embedder(settings)?;
    let feed: serde_json::Value =
        serde_json::from_slice(&synthetic_greenhouse_feed(texts)).unwrap_or_default();
    let texts: Vec<String> = feed["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|job| {
            let content = job["content"].as_str().unwrap_or_default();
            let html = commands::import::text::decode_entities(
                &commands::import::text::decode_entities(content),
            );
            format!(
                "{}. {}",
                job["title"].as_str().unwrap_or_default(),
                commands::import::text::html_to_text(&html)
            )
        })
        .collect();
    // Warm up: the first call pays for lazy initialisation.
    embedder.embed(&texts[..texts.len().min(8)]).await?;
    let started = Instant::now();
    embedder.embed(&texts).await?;
    Ok(Throughput {
        count: texts.len(),
        unit: "texts",
        elapsed: started.elapsed(),
    })
}
