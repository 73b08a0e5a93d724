//! A Qdrant server over gRPC, with `qdrant-client`. Each collection is named after the
//! configured prefix (`hirestream_jobs`, `hirestream_candidates`) and created when missing.

use futures::future::BoxFuture;
use futures::FutureExt;
use qdrant_client::qdrant::{
    point_id::PointIdOptions, Condition as QdrantCondition, CountPointsBuilder,
    CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance,
    FieldType, Filter as QdrantFilter, PointId, PointStruct, PointsIdsList, Range,
    SearchPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant};
use uuid::Uuid;

use super::{Collection, Condition, FieldKind, Filter, Hit, IndexError, Point, VectorIndex};

/// Both collections on a Qdrant server.
#[derive(Clone)]
pub struct ServerIndex {
    client: std::sync::Arc<Qdrant>,
    prefix: String,
    dimensions: usize,
}

impl std::fmt::Debug for ServerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIndex")
            .field("prefix", &self.prefix)
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

fn engine(error: impl std::fmt::Display) -> IndexError {
    IndexError::Engine(error.to_string())
}

impl ServerIndex {
    /// Connects to the server at `url` (its gRPC port, 6334 by default) and makes sure both
    /// collections exist.
    pub async fn connect(
        url: &str,
        api_key: Option<String>,
        prefix: &str,
        dimensions: usize,
    ) -> Result<Self, IndexError> {
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .build()
            .map_err(|e| IndexError::Open {
                path: url.to_owned(),
                reason: e.to_string(),
            })?;
        let index = Self {
            client: std::sync::Arc::new(client),
            prefix: prefix.to_owned(),
            dimensions,
        };
        for collection in Collection::ALL {
            index.ensure(collection).await?;
        }
        Ok(index)
    }

    fn name(&self, collection: Collection) -> String {
        format!("{}{}", self.prefix, collection.name())
    }

    async fn ensure(&self, collection: Collection) -> Result<(), IndexError> {
        let name = self.name(collection);
        if !self.client.collection_exists(&name).await.map_err(engine)? {
            self.client
                .create_collection(CreateCollectionBuilder::new(&name).vectors_config(
                    VectorParamsBuilder::new(self.dimensions as u64, Distance::Cosine),
                ))
                .await
                .map_err(engine)?;
            for (field, kind) in collection.indexed_fields() {
                let kind = match kind {
                    FieldKind::Keyword => FieldType::Keyword,
                    FieldKind::Integer => FieldType::Integer,
                };
                self.client
                    .create_field_index(
                        CreateFieldIndexCollectionBuilder::new(&name, *field, kind).wait(true),
                    )
                    .await
                    .map_err(engine)?;
            }
        }
        Ok(())
    }
}

fn condition(c: &Condition) -> QdrantCondition {
    match c {
        Condition::Keyword { field, any_of } => QdrantCondition::matches(*field, any_of.clone()),
        Condition::Range { field, gte, lte } => QdrantCondition::range(
            *field,
            Range {
                gte: *gte,
                lte: *lte,
                ..Default::default()
            },
        ),
    }
}

fn point_id(id: Uuid) -> PointId {
    PointId::from(id.to_string())
}

fn qdrant_filter(filter: &Filter) -> QdrantFilter {
    let mut result = QdrantFilter::must(filter.must.iter().map(condition));
    result.should = filter.should.iter().map(condition).collect();
    if !filter.exclude.is_empty() {
        result.must_not = vec![QdrantCondition::has_id(
            filter.exclude.iter().copied().map(point_id),
        )];
    }
    result
}

impl VectorIndex for ServerIndex {
    fn upsert(
        &self,
        collection: Collection,
        points: Vec<Point>,
    ) -> BoxFuture<'_, Result<(), IndexError>> {
        async move {
            if points.is_empty() {
                return Ok(());
            }
            let points: Vec<PointStruct> = points
                .into_iter()
                .map(|p| PointStruct::new(point_id(p.id), p.vector, Payload::from(p.payload)))
                .collect();
            self.client
                .upsert_points(UpsertPointsBuilder::new(self.name(collection), points).wait(true))
                .await
                .map_err(engine)?;
            Ok(())
        }
        .boxed()
    }

    fn delete(
        &self,
        collection: Collection,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'_, Result<(), IndexError>> {
        async move {
            if ids.is_empty() {
                return Ok(());
            }
            let ids = PointsIdsList {
                ids: ids.into_iter().map(point_id).collect(),
            };
            self.client
                .delete_points(
                    DeletePointsBuilder::new(self.name(collection))
                        .points(ids)
                        .wait(true),
                )
                .await
                .map_err(engine)?;
            Ok(())
        }
        .boxed()
    }

    fn search<'a>(
        &'a self,
        collection: Collection,
        vector: &'a [f32],
        filter: &'a Filter,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Hit>, IndexError>> {
        async move {
            let mut request =
                SearchPointsBuilder::new(self.name(collection), vector.to_vec(), limit as u64)
                    .with_payload(false);
            if !filter.is_empty() {
                request = request.filter(qdrant_filter(filter));
            }
            let response = self.client.search_points(request).await.map_err(engine)?;
            Ok(response
                .result
                .into_iter()
                .filter_map(|p| match p.id?.point_id_options? {
                    PointIdOptions::Uuid(id) => Some(Hit {
                        id: id.parse().ok()?,
                        similarity: p.score,
                    }),
                    PointIdOptions::Num(_) => None,
                })
                .collect())
        }
        .boxed()
    }

    /// The server acknowledges writes once they are durable (`wait`).
    fn flush(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        async { Ok(()) }.boxed()
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), IndexError>> {
        async move {
            for collection in Collection::ALL {
                self.client
                    .delete_collection(self.name(collection))
                    .await
                    .map_err(engine)?;
                self.ensure(collection).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn count(&self, collection: Collection) -> BoxFuture<'_, Result<usize, IndexError>> {
        async move {
            let response = self
                .client
                .count(CountPointsBuilder::new(self.name(collection)).exact(true))
                .await
                .map_err(engine)?;
            Ok(response.result.map_or(0, |r| r.count as usize))
        }
        .boxed()
    }
}
