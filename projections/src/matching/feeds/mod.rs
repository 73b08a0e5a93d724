//! Reading the matching read models: a candidate's feed of jobs, a job's feed of
//! candidates, and semantic search of open jobs. The projector writes the feeds through
//! `write`.

use std::sync::Arc;

use commands::embeddings::Embedder;
use domain::matching::Factors;
use domain::profile::WorkArrangement;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::vectors::{place_tokens, Collection, Condition, Filter, VectorIndex};
use crate::Error;

pub(in crate::matching) mod write;

/// Each factor's points, to one decimal, as feeds show and store them.
pub fn factors_json(factors: &Factors) -> Value {
    let points = |p: f64| (p * 10.0).round() / 10.0;
    json!({
        "skills": points(factors.skills),
        "experience": points(factors.experience),
        "semantic": points(factors.semantic),
        "salary": points(factors.salary),
        "culture": points(factors.culture),
        "validation": points(factors.validation),
    })
}

/// A job in a candidate's feed, with its score broken down by factor.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct JobEntry {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub title: String,
    pub remote: String,
    pub locations: Value,
    pub score: i16,
    pub factors: Value,
    pub similarity: f32,
}

/// A candidate in a job's feed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CandidateEntry {
    pub candidate_id: Uuid,
    pub headline: String,
    pub years_experience: i32,
    pub score: i16,
    pub factors: Value,
    pub similarity: f32,
}

const CANDIDATE_FEED: &str = "
SELECT f.job_id, j.employer_id, j.details->>'title' AS title, j.details->>'remote' AS remote,
       j.details->'locations' AS locations, f.score, f.factors, f.similarity
  FROM candidate_feed f JOIN matching_job j USING (job_id)
 WHERE f.candidate_id = $1 AND j.open
 ORDER BY f.score DESC, f.similarity DESC, f.job_id
 LIMIT $2";

const JOB_FEED: &str = "
SELECT f.candidate_id, c.profile->>'headline' AS headline,
       (c.profile->>'years_experience')::int AS years_experience, f.score, f.factors, f.similarity
  FROM job_feed f JOIN matching_candidate c USING (candidate_id)
 WHERE f.job_id = $1
 ORDER BY f.score DESC, f.similarity DESC, f.candidate_id
 LIMIT $2";

/// The candidate's next jobs, best first.
pub async fn candidate_feed(
    pool: &PgPool,
    candidate_id: Uuid,
    limit: i64,
) -> Result<Vec<JobEntry>, Error> {
    Ok(sqlx::query_as(CANDIDATE_FEED)
        .bind(candidate_id)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// The job's best candidates, best first.
pub async fn job_feed(
    pool: &PgPool,
    job_id: Uuid,
    limit: i64,
) -> Result<Vec<CandidateEntry>, Error> {
    Ok(sqlx::query_as(JOB_FEED)
        .bind(job_id)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// Which open jobs a search may return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub remote: Option<WorkArrangement>,
    /// A place, matched as the feeds match places ("Berlin" finds "Berlin, Germany").
    pub location: Option<String>,
    /// A required skill, by name, any case.
    pub skill: Option<String>,
    /// Jobs whose range reaches at least this much (in the job's currency).
    pub min_salary: Option<i64>,
    pub employer_id: Option<Uuid>,
}

impl SearchFilter {
    fn to_index_filter(&self) -> Filter {
        let mut filter = Filter::default();
        let keyword = |field, value: String| Condition::Keyword {
            field,
            any_of: vec![value],
        };
        if let Some(remote) = self.remote {
            filter
                .must
                .push(keyword("remote", remote.as_str().to_owned()));
        }
        if let Some(location) = &self.location {
            filter.must.push(Condition::Keyword {
                field: "locations",
                any_of: place_tokens(std::slice::from_ref(location)),
            });
        }
        if let Some(skill) = &self.skill {
            filter
                .must
                .push(keyword("skills", skill.trim().to_lowercase()));
        }
        if let Some(min_salary) = self.min_salary {
            filter.must.push(Condition::Range {
                field: "salary_max",
                gte: Some(min_salary as f64),
                lte: None,
            });
        }
        if let Some(employer_id) = self.employer_id {
            filter
                .must
                .push(keyword("employer_id", employer_id.to_string()));
        }
        filter
    }
}

/// An open job found by meaning.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SearchHit {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub title: String,
    pub remote: String,
    pub locations: Value,
    #[sqlx(skip)]
    pub similarity: f32,
}

/// Semantic search over the vector index of open jobs.
#[derive(Debug, Clone)]
pub struct JobSearch {
    pub index: Arc<dyn VectorIndex>,
    pub embedder: Arc<dyn Embedder>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Embedding(#[from] commands::embeddings::EmbeddingError),
    #[error(transparent)]
    Index(#[from] crate::vectors::IndexError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl JobSearch {
    /// The open jobs nearest in meaning to `text` that pass `filter`, nearest first.
    pub async fn search(
        &self,
        pool: &PgPool,
        text: &str,
        filter: &SearchFilter,
        limit: usize,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let vectors = self.embedder.embed(&[text.to_owned()]).await?;
        let Some(vector) = vectors.first() else {
            return Ok(Vec::new());
        };
        let hits = self
            .index
            .search(Collection::Jobs, vector, &filter.to_index_filter(), limit)
            .await?;
        let ids: Vec<Uuid> = hits.iter().map(|h| h.id).collect();
        let rows: Vec<SearchHit> = sqlx::query_as(
            "SELECT job_id, employer_id, details->>'title' AS title, details->>'remote' AS remote,
                    details->'locations' AS locations
               FROM matching_job WHERE job_id = ANY($1) AND open",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        let mut by_id: std::collections::HashMap<Uuid, SearchHit> =
            rows.into_iter().map(|r| (r.job_id, r)).collect();
        Ok(hits
            .iter()
            .filter_map(|hit| {
                let mut row = by_id.remove(&hit.id)?;
                row.similarity = hit.similarity;
                Some(row)
            })
            .collect())
    }
}
