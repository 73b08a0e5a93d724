//! The vector index: the embeddings of open jobs and of candidates' profiles, with the
//! payload the match tables and the job search filter on. One trait, two engines: Qdrant's
//! engine embedded in the process (`edge::EdgeIndex`, behind the `embedded-index` feature,
//! the default: files in a data directory) and a Qdrant server ([`server::ServerIndex`]).

#[cfg(feature = "embedded-index")]
pub mod edge;
pub mod server;

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The two collections of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collection {
    Jobs,
    Candidates,
}

impl Collection {
    pub const ALL: [Collection; 2] = [Collection::Jobs, Collection::Candidates];

    pub fn name(self) -> &'static str {
        match self {
            Collection::Jobs => "jobs",
            Collection::Candidates => "candidates",
        }
    }

    /// The payload fields searches filter on, indexed so that a filtered search stays fast.
    pub fn indexed_fields(self) -> &'static [(&'static str, FieldKind)] {
        match self {
            Collection::Jobs => &[
                ("remote", FieldKind::Keyword),
                ("locations", FieldKind::Keyword),
                ("skills", FieldKind::Keyword),
                ("employer_id", FieldKind::Keyword),
                ("salary_max", FieldKind::Integer),
            ],
            Collection::Candidates => &[
                ("locations", FieldKind::Keyword),
                ("years", FieldKind::Integer),
            ],
        }
    }
}

/// The type of an indexed payload field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Keyword,
    Integer,
}

/// One embedded entity: its id, unit vector and filterable payload (a JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: Uuid,
    pub vector: Vec<f32>,
    pub payload: Map<String, Value>,
}

/// A condition on a payload field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The keyword field (or one of its values, for a list) is one of `any_of`.
    Keyword {
        field: &'static str,
        any_of: Vec<String>,
    },
    /// The numeric field is at least `gte` and at most `lte`, where given.
    Range {
        field: &'static str,
        gte: Option<f64>,
        lte: Option<f64>,
    },
}

/// Which points a search may return: all of `must`, at least one of `should` when it is not
/// empty, and none of the ids in `exclude`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub must: Vec<Condition>,
    pub should: Vec<Condition>,
    pub exclude: Vec<Uuid>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.should.is_empty() && self.exclude.is_empty()
    }
}

/// A search result: a point's id and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub similarity: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("vector index at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("vector index: {0}")]
    Engine(String),
    /// This process does not hold the index (an embedded index belongs to the process that
    /// runs the matching projector).
    #[error("the vector index is not available in this process")]
    Unavailable,
}

/// The vector index's operations. Upserts and deletes are idempotent, so a batch that is
/// applied twice (a redelivery after a crash) leaves the same index.
pub trait VectorIndex: Send + Sync + std::fmt::Debug {
    /// Inserts or replaces points, vector and payload.
    fn upsert(
        &self,
        collection: Collection,
        points: Vec<Point>,
    ) -> BoxFuture<'_, Result<(), IndexError>>;

    /// Removes points; unknown ids are ignored.
    fn delete(
        &self,
        collection: Collection,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'_, Result<(), IndexError>>;

    /// The `limit` points nearest to `vector` that pass `filter`, nearest first.
    fn search<'a>(
        &'a self,
        collection: Collection,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Hit>, IndexError>>;

    /// Makes every change so far durable.
    fn flush(&self) -> BoxFuture<'_, Result<(), IndexError>>;

    /// Removes every point of both collections, before a replay.
    fn clear(&self) -> BoxFuture<'_, Result<(), IndexError>>;

    /// How many points a collection holds.
    fn count(&self, collection: Collection) -> BoxFuture<'_, Result<usize, IndexError>>;

    /// Builds search graphs for grown segments and reclaims deleted points. A server does
    /// this by itself.
    fn optimize(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        futures::FutureExt::boxed(async { Ok(()) })
    }
}

/// The filter in Qdrant's JSON filter language, as the embedded engine reads it.
#[cfg(any(test, feature = "embedded-index"))]
pub(crate) fn filter_json(filter: &Filter) -> Value {
    let condition = |c: &Condition| match c {
        Condition::Keyword { field, any_of } => {
            serde_json::json!({ "key": field, "match": { "any": any_of } })
        }
        Condition::Range { field, gte, lte } => {
            serde_json::json!({ "key": field, "range": { "gte": gte, "lte": lte } })
        }
    };
    let mut json = Map::new();
    if !filter.must.is_empty() {
        json.insert("must".into(), filter.must.iter().map(condition).collect());
    }
    if !filter.should.is_empty() {
        json.insert(
            "should".into(),
            filter.should.iter().map(condition).collect(),
        );
    }
    if !filter.exclude.is_empty() {
        let ids: Vec<String> = filter.exclude.iter().map(Uuid::to_string).collect();
        json.insert(
            "must_not".into(),
            Value::Array(vec![serde_json::json!({ "has_id": ids })]),
        );
    }
    Value::Object(json)
}

/// Lower-cased place names, each also split into its comma-separated parts and its words
/// ("Berlin, Germany" → "berlin, germany", "berlin", "germany"), so that a keyword filter lets
/// through every pair the match score's location rule (one name contains the other) accepts,
/// and a few more; `*` stands for "anywhere" when there are none.
pub fn place_tokens(places: &[String]) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for place in places {
        let place = place.trim().to_lowercase();
        let parts = std::iter::once(place.as_str())
            .chain(place.split(',').map(str::trim))
            .chain(place.split(|c: char| !c.is_alphanumeric()));
        for part in parts {
            if !part.is_empty() && !tokens.iter().any(|t| t == part) {
                tokens.push(part.to_owned());
            }
        }
    }
    if tokens.is_empty() {
        tokens.push(ANYWHERE.to_owned());
    }
    tokens
}

/// The place token of an entity that names no place.
pub const ANYWHERE: &str = "*";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unit(x: f32, y: f32) -> Vec<f32> {
        let norm = (x * x + y * y).sqrt();
        vec![x / norm, y / norm, 0.0]
    }

    fn point(n: u128, vector: Vec<f32>, payload: Value) -> Point {
        Point {
            id: Uuid::from_u128(n),
            vector,
            payload: payload.as_object().cloned().unwrap_or_default(),
        }
    }

    /// The behaviour both engines must share.
    async fn contract(index: &dyn VectorIndex) {
        index.clear().await.expect("clear");
        index
            .upsert(
                Collection::Jobs,
                vec![
                    point(
                        1,
                        unit(1.0, 0.0),
                        json!({"remote": "remote", "locations": ["*"], "years": 1}),
                    ),
                    point(
                        2,
                        unit(1.0, 0.2),
                        json!({"remote": "onsite", "locations": ["berlin"], "years": 5}),
                    ),
                    point(
                        3,
                        unit(0.0, 1.0),
                        json!({"remote": "hybrid", "locations": ["paris"], "years": 9}),
                    ),
                ],
            )
            .await
            .expect("upsert");
        index.flush().await.expect("flush");
        assert_eq!(index.count(Collection::Jobs).await.expect("count"), 3);
        assert_eq!(index.count(Collection::Candidates).await.expect("count"), 0);

        let query = unit(1.0, 0.1);
        let all = index
            .search(Collection::Jobs, &query, &Filter::default(), 10)
            .await
            .expect("search");
        let ids: Vec<u128> = all.iter().map(|h| h.id.as_u128()).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[2], 3, "the orthogonal point comes last: {all:?}");
        assert!(
            all[0].similarity > 0.99 && all[2].similarity < 0.2,
            "{all:?}"
        );

        let filter = Filter {
            must: vec![Condition::Range {
                field: "years",
                gte: Some(2.0),
                lte: None,
            }],
            should: vec![
                Condition::Keyword {
                    field: "remote",
                    any_of: vec!["remote".into()],
                },
                Condition::Keyword {
                    field: "locations",
                    any_of: vec!["berlin".into()],
                },
            ],
            exclude: Vec::new(),
        };
        let hits = index
            .search(Collection::Jobs, &query, &filter, 10)
            .await
            .expect("search");
        assert_eq!(
            hits.iter().map(|h| h.id.as_u128()).collect::<Vec<_>>(),
            vec![2]
        );
        let filter = Filter {
            exclude: vec![Uuid::from_u128(1)],
            ..Filter::default()
        };
        let hits = index
            .search(Collection::Jobs, &query, &filter, 1)
            .await
            .expect("search");
        assert_eq!(
            hits.iter().map(|h| h.id.as_u128()).collect::<Vec<_>>(),
            vec![2]
        );

        // Upserting again replaces; deleting twice is harmless.
        index
            .upsert(
                Collection::Jobs,
                vec![point(1, unit(0.0, 1.0), json!({"remote": "remote"}))],
            )
            .await
            .expect("upsert again");
        let nearest = index
            .search(Collection::Jobs, &unit(0.0, 1.0), &Filter::default(), 2)
            .await
            .expect("search");
        let mut ids: Vec<u128> = nearest.iter().map(|h| h.id.as_u128()).collect();
        ids.sort();
        assert_eq!(ids, vec![1, 3]);
        for _ in 0..2 {
            index
                .delete(Collection::Jobs, vec![Uuid::from_u128(3)])
                .await
                .expect("delete");
        }
        assert_eq!(index.count(Collection::Jobs).await.expect("count"), 2);
        index.clear().await.expect("clear");
        assert_eq!(index.count(Collection::Jobs).await.expect("count"), 0);
    }

    #[cfg(feature = "embedded-index")]
    #[tokio::test]
    async fn the_embedded_engine_keeps_the_contract_and_its_points_across_a_reopen() {
        let dir = std::env::temp_dir().join(format!("hirestream-index-{}", Uuid::new_v4()));
        let index = edge::EdgeIndex::open(&dir, 3).expect("open");
        contract(&index).await;
        index
            .upsert(
                Collection::Candidates,
                vec![point(7, unit(1.0, 1.0), json!({"years": 3}))],
            )
            .await
            .expect("upsert");
        index.flush().await.expect("flush");
        drop(index);
        let reopened = edge::EdgeIndex::open(&dir, 3).expect("reopen");
        assert_eq!(
            reopened.count(Collection::Candidates).await.expect("count"),
            1
        );
        drop(reopened);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Runs where a Qdrant server is reachable (`QDRANT_URL`, its gRPC address).
    #[tokio::test]
    async fn a_qdrant_server_keeps_the_same_contract() {
        let Ok(url) = std::env::var("QDRANT_URL") else {
            eprintln!("QDRANT_URL is not set: no Qdrant server to test against");
            return;
        };
        let prefix = format!("test_{}_", Uuid::new_v4().simple());
        let index = server::ServerIndex::connect(&url, None, &prefix, 3)
            .await
            .expect("connect");
        contract(&index).await;
    }

    #[test]
    fn place_tokens_split_parts_and_mark_no_place_as_anywhere() {
        assert_eq!(
            place_tokens(&["Berlin, Germany".into(), " berlin ".into()]),
            vec!["berlin, germany", "berlin", "germany"]
        );
        // A place that contains another shares a token with it.
        let bay_area = place_tokens(&["San Francisco Bay Area".into()]);
        assert!(place_tokens(&["San Francisco".into()])
            .iter()
            .any(|t| bay_area.contains(t)));
        assert_eq!(place_tokens(&[]), vec![ANYWHERE]);
    }

    #[test]
    fn filters_read_as_qdrant_json() {
        let id = Uuid::nil();
        let filter = Filter {
            must: vec![Condition::Range {
                field: "years",
                gte: Some(3.0),
                lte: None,
            }],
            should: vec![Condition::Keyword {
                field: "remote",
                any_of: vec!["remote".into()],
            }],
            exclude: vec![id],
        };
        assert_eq!(
            filter_json(&filter),
            serde_json::json!({
                "must": [{ "key": "years", "range": { "gte": 3.0, "lte": null } }],
                "should": [{ "key": "remote", "match": { "any": ["remote"] } }],
                "must_not": [{ "has_id": [id.to_string()] }],
            })
        );
    }
}
