//! The embedded engine: one Qdrant edge shard per collection, in `<data dir>/<collection>`.
//!
//! Engine calls block, so they run on tokio's blocking threads. Writes take turns (one
//! writer per shard); searches run alongside them.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use futures::FutureExt;
use qdrant_edge::{
    CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeVectorParams,
    FieldIndexOperations, JsonPath, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId,
    PointInsertOperations, PointOperations, PointStruct, QueryEnum, QueryRequest, ScoringQuery,
    UpdateOperation, VectorInternal, WithPayloadInterface, WithVector,
};
use uuid::Uuid;

use super::{filter_json, Collection, FieldKind, Filter, Hit, IndexError, Point, VectorIndex};

/// Both collections, embedded. Clones share the shards.
#[derive(Debug, Clone)]
pub struct EdgeIndex(Arc<Shards>);

#[derive(Debug)]
struct Shards {
    jobs: Shard,
    candidates: Shard,
}

/// One shard; `writing` serialises updates, flushes and optimisations, which the engine
/// expects from a single writer.
#[derive(Debug)]
struct Shard {
    engine: Arc<EdgeShard>,
    writing: Mutex<()>,
}

fn engine(error: impl std::fmt::Display) -> IndexError {
    IndexError::Engine(error.to_string())
}

impl EdgeIndex {
    /// Opens the index under `dir`, creating it when absent, for vectors of `dimensions`.
    pub fn open(dir: &Path, dimensions: usize) -> Result<Self, IndexError> {
        Ok(Self(Arc::new(Shards::open(dir, dimensions)?)))
    }

    fn write(
        &self,
        collection: Collection,
        operation: UpdateOperation,
    ) -> BoxFuture<'static, Result<(), IndexError>> {
        let shards = Arc::clone(&self.0);
        blocking(move || {
            let shard = shards.shard(collection);
            let _writer = shard.writing.lock().unwrap_or_else(PoisonError::into_inner);
            let current = Arc::clone(&shard.engine);
            current.update(operation).map_err(engine)
        })
        .boxed()
    }
}

impl Shards {
    fn open(dir: &Path, dimensions: usize) -> Result<Self, IndexError> {
        let open = |collection: Collection| -> Result<Shard, IndexError> {
            let shard = open_shard(&dir.join(collection.name()), collection, dimensions)?;
            Ok(Shard {
                engine: Arc::new(shard),
                writing: Mutex::new(()),
            })
        };
        Ok(Self {
            jobs: open(Collection::Jobs)?,
            candidates: open(Collection::Candidates)?,
        })
    }

    fn shard(&self, collection: Collection) -> &Shard {
        match collection {
            Collection::Jobs => &self.jobs,
            Collection::Candidates => &self.candidates,
        }
    }
}

fn open_shard(
    path: &Path,
    collection: Collection,
    dimensions: usize,
) -> Result<EdgeShard, IndexError> {
    let failed = |reason: String| IndexError::Open {
        path: path.display().to_string(),
        reason,
    };
    let config = EdgeConfig::builder()
        .vector(
            "",
            EdgeVectorParams::builder(dimensions, Distance::Cosine).build(),
        )
        .on_disk_payload(false)
        .build();
    std::fs::create_dir_all(path).map_err(|e| failed(e.to_string()))?;
    if path.join("edge_config.json").exists() {
        return EdgeShard::load(path, Some(config)).map_err(|e| failed(e.to_string()));
    }
    let shard = EdgeShard::new(path, config).map_err(|e| failed(e.to_string()))?;
    for (field, kind) in collection.indexed_fields() {
        let schema = match kind {
            FieldKind::Keyword => PayloadSchemaType::Keyword,
            FieldKind::Integer => PayloadSchemaType::Integer,
        };
        let field_name: JsonPath = field
            .parse()
            .map_err(|_| failed(format!("`{field}` is not a payload path")))?;
        shard
            .update(UpdateOperation::FieldIndexOperation(
                FieldIndexOperations::CreateIndex(CreateIndex {
                    field_name,
                    field_schema: Some(PayloadFieldSchema::FieldType(schema)),
                }),
            ))
            .map_err(|e| failed(e.to_string()))?;
    }
    Ok(shard)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IndexError> + Send + 'static,
) -> Result<T, IndexError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| IndexError::Engine(format!("index task failed: {e}")))?
}

impl VectorIndex for EdgeIndex {
    fn upsert(
        &self,
        collection: Collection,
        points: Vec<Point>,
    ) -> BoxFuture<'_, Result<(), IndexError>> {
        if points.is_empty() {
            return async { Ok(()) }.boxed();
        }
        let points = points
            .into_iter()
            .map(|p| {
                PointStruct::new(
                    PointId::Uuid(p.id),
                    p.vector,
                    serde_json::Value::Object(p.payload),
                )
                .into()
            })
            .collect();
        self.write(
            collection,
            UpdateOperation::PointOperation(PointOperations::UpsertPoints(
                PointInsertOperations::PointsList(points),
            )),
        )
    }

    fn delete(
        &self,
        collection: Collection,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'_, Result<(), IndexError>> {
        if ids.is_empty() {
            return async { Ok(()) }.boxed();
        }
        let ids = ids.into_iter().map(PointId::Uuid).collect();
        self.write(
            collection,
            UpdateOperation::PointOperation(PointOperations::DeletePoints { ids }),
        )
    }

    fn search<'a>(
        &'a self,
        collection: Collection,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Hit>, IndexError>> {
        let index = Arc::clone(&self.0);
        let vector = vector.to_vec();
        let filter = if filter.is_empty() {
            None
        } else {
            match serde_json::from_value(filter_json(filter)) {
                Ok(filter) => Some(filter),
                Err(e) => return async move { Err(engine(e)) }.boxed(),
            }
        };
        blocking(move || {
            let current = Arc::clone(&index.shard(collection).engine);
            let request = QueryRequest {
                prefetches: Vec::new(),
                query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                    query: VectorInternal::Dense(vector),
                    using: None,
                }))),
                filter,
                score_threshold: None,
                limit,
                offset: 0,
                params: None,
                with_vector: WithVector::Bool(false),
                with_payload: WithPayloadInterface::Bool(false),
            };
            let points = current.query(request).map_err(engine)?;
            Ok(points
                .into_iter()
                .filter_map(|p| match p.id {
                    PointId::Uuid(id) => Some(Hit {
                        id,
                        similarity: p.score,
                    }),
                    PointId::NumId(_) => None,
                })
                .collect())
        })
        .boxed()
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        let index = Arc::clone(&self.0);
        blocking(move || {
            for collection in Collection::ALL {
                let shard = index.shard(collection);
                let _writer = shard.writing.lock().unwrap_or_else(PoisonError::into_inner);
                shard.engine.flush();
            }
            Ok(())
        })
        .boxed()
    }

    /// Deletes every point (a filter without conditions matches them all); the engine
    /// reclaims their space when it next optimises.
    fn clear(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        let index = self.clone();
        async move {
            for collection in Collection::ALL {
                let everything = UpdateOperation::PointOperation(
                    PointOperations::DeletePointsByFilter(Default::default()),
                );
                index.write(collection, everything).await?;
            }
            index.flush().await
        }
        .boxed()
    }

    /// Runs the engine's optimisers until they have nothing left to do. Blocks writes
    /// meanwhile; searches go on.
    fn optimize(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        let shards = Arc::clone(&self.0);
        async move {
            for collection in Collection::ALL {
                let shards = Arc::clone(&shards);
                blocking(move || {
                    let shard = shards.shard(collection);
                    let _writer = shard.writing.lock().unwrap_or_else(PoisonError::into_inner);
                    shard.engine.optimize().map_err(engine)?;
                    Ok(())
                })
                .await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn count(&self, collection: Collection) -> BoxFuture<'_, Result<usize, IndexError>> {
        let index = Arc::clone(&self.0);
        blocking(move || {
            let current = Arc::clone(&index.shard(collection).engine);
            current
                .count(CountRequest {
                    filter: None,
                    exact: true,
                })
                .map_err(engine)
        })
        .boxed()
    }
}
