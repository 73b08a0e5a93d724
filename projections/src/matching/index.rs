//! What the vector index holds of jobs and candidates, and which neighbours a search may
//! return. The payloads carry only what the filters ask about; the filters let through every
//! pair the match score's hard filters could accept (and a few more: the score has the last
//! word).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use commands::embeddings::Embedder;
use domain::candidate::CandidateProfile;
use domain::job::JobDetails;
use domain::profile::WorkArrangement;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::vectors::{place_tokens, Collection, Condition, Filter, Point, VectorIndex, ANYWHERE};
use crate::Error;

/// The payload a job is filtered on.
pub(super) fn job_payload(employer_id: Uuid, job: &JobDetails) -> Map<String, Value> {
    let mut payload = json!({
        "employer_id": employer_id.to_string(),
        "remote": job.remote.as_str(),
        "locations": place_tokens(&job.locations),
        "skills": job.skills.iter().map(|s| s.name.to_lowercase()).collect::<Vec<_>>(),
        "min_years": job.min_years,
    });
    if let Some(salary) = &job.salary {
        payload["salary_min"] = json!(salary.min);
        payload["salary_max"] = json!(salary.max);
        payload["currency"] = json!(salary.currency);
    }
    match payload {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The payload a candidate is filtered on.
pub(super) fn candidate_payload(profile: &CandidateProfile) -> Map<String, Value> {
    match json!({
        "remote": profile.remote.as_str(),
        "locations": place_tokens(&profile.locations),
        "years": profile.years_experience,
    }) {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Candidates a job can match: experienced enough and, for work on site, in one of its
/// places. The match score's hard filters have the last word.
pub(super) fn candidates_for(job: &JobDetails) -> Filter {
    let mut filter = Filter::default();
    if job.min_years > 0 {
        filter.must.push(Condition::Range {
            field: "years",
            gte: Some(f64::from(job.min_years)),
            lte: None,
        });
    }
    if job.remote != WorkArrangement::Remote && !job.locations.is_empty() {
        filter.must.push(Condition::Keyword {
            field: "locations",
            any_of: place_tokens(&job.locations),
        });
    }
    filter
}

/// Jobs a candidate can match: remote, or in (or not tied to) one of their places.
pub(super) fn jobs_for(profile: &CandidateProfile) -> Filter {
    let mut places = place_tokens(&profile.locations);
    if !places.iter().any(|p| p == ANYWHERE) {
        places.push(ANYWHERE.to_owned());
    }
    Filter {
        should: vec![
            Condition::Keyword {
                field: "remote",
                any_of: vec![WorkArrangement::Remote.as_str().to_owned()],
            },
            Condition::Keyword {
                field: "locations",
                any_of: places,
            },
        ],
        ..Filter::default()
    }
}

/// Embeds each entity's text (through the cache) and writes it to the index with its
/// payload; returns the vectors, in order.
pub(super) async fn index_points(
    index: &dyn VectorIndex,
    embedder: &dyn Embedder,
    collection: Collection,
    entities: Vec<(Uuid, String, Map<String, Value>)>,
) -> Result<Vec<Vec<f32>>, Error> {
    let texts: Vec<String> = entities.iter().map(|(_, text, _)| text.clone()).collect();
    let vectors = embedder.embed(&texts).await?;
    let points = entities
        .into_iter()
        .zip(&vectors)
        .map(|((id, _, payload), vector)| Point {
            id,
            vector: vector.clone(),
            payload,
        })
        .collect();
    index.upsert(collection, points).await?;
    Ok(vectors)
}

/// The index is optimised in the background after this many points were written.
const OPTIMIZE_EVERY: usize = 10_000;

/// When to optimise the index: after every [`OPTIMIZE_EVERY`] points written, one run at a
/// time.
#[derive(Debug, Default)]
pub(super) struct Upkeep {
    /// Points written since the index was last optimised.
    written: AtomicUsize,
    /// Whether it is being optimised now.
    optimizing: Arc<AtomicBool>,
}

impl Upkeep {
    /// Notes `points` written; starts optimising `index` in the background once enough
    /// were since the last time (and it is not running already).
    pub(super) fn wrote(&self, index: &Arc<dyn VectorIndex>, points: usize) {
        if !self.due(points) {
            return;
        }
        let (index, optimizing) = (Arc::clone(index), Arc::clone(&self.optimizing));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match index.optimize().await {
                Ok(()) => tracing::info!(elapsed = ?started.elapsed(), "vector index optimised"),
                Err(error) => tracing::warn!(%error, "vector index optimisation failed"),
            }
            optimizing.store(false, Ordering::Release);
        });
    }

    /// Whether a run is due after `points` more were written; if so, it counts as started.
    fn due(&self, points: usize) -> bool {
        let written = self.written.fetch_add(points, Ordering::Relaxed) + points;
        if written < OPTIMIZE_EVERY || self.optimizing.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.written.store(0, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use domain::candidate::CandidateProfile;
    use domain::job::JobDetails;
    use serde_json::json;

    use super::*;

    fn job(details: Value) -> JobDetails {
        let mut base = json!({"title": "Rust engineer", "description": "Builds the backend"});
        base.as_object_mut()
            .expect("object")
            .extend(details.as_object().cloned().unwrap_or_default());
        serde_json::from_value(base).expect("job details")
    }

    fn candidate(profile: Value) -> CandidateProfile {
        let mut base = json!({"headline": "Engineer", "skills": [], "years_experience": 4,
                              "remote": "onsite"});
        base.as_object_mut()
            .expect("object")
            .extend(profile.as_object().cloned().unwrap_or_default());
        serde_json::from_value(base).expect("candidate profile")
    }

    fn keyword(field: &'static str, any_of: &[&str]) -> Condition {
        Condition::Keyword {
            field,
            any_of: any_of.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_job_payload_holds_its_employer_places_lowercased_skills_and_salary_when_given() {
        let employer = Uuid::from_u128(7);
        let details = job(json!({
            "remote": "hybrid", "locations": ["Berlin, Germany"], "min_years": 3,
            "skills": [{"name": "Rust", "proficiency": "expert"}],
            "salary": {"min": 90000, "max": 120000, "currency": "EUR"},
        }));
        let payload = Value::Object(job_payload(employer, &details));
        assert_eq!(
            payload,
            json!({
                "employer_id": employer.to_string(), "remote": "hybrid",
                "locations": ["berlin, germany", "berlin", "germany"],
                "skills": ["rust"], "min_years": 3,
                "salary_min": 90000, "salary_max": 120000, "currency": "EUR",
            })
        );
        let unpaid = job_payload(employer, &job(json!({})));
        assert!(!unpaid.contains_key("salary_max") && !unpaid.contains_key("currency"));
        assert_eq!(unpaid["locations"], json!([ANYWHERE]));
    }

    #[test]
    fn a_candidate_payload_holds_arrangement_places_and_years() {
        let profile = candidate(json!({"remote": "remote", "locations": ["Lisbon"]}));
        assert_eq!(
            Value::Object(candidate_payload(&profile)),
            json!({"remote": "remote", "locations": ["lisbon"], "years": 4})
        );
    }

    #[test]
    fn a_job_looks_for_experienced_enough_candidates_in_its_places_unless_remote() {
        let onsite = job(json!({"min_years": 5, "locations": ["Munich"]}));
        assert_eq!(
            candidates_for(&onsite).must,
            vec![
                Condition::Range {
                    field: "years",
                    gte: Some(5.0),
                    lte: None
                },
                keyword("locations", &["munich"]),
            ]
        );
        let remote = job(json!({"remote": "remote", "locations": ["Munich"]}));
        assert!(candidates_for(&remote).is_empty());
        // No place named and no years asked: anyone.
        assert!(candidates_for(&job(json!({}))).is_empty());
    }

    #[test]
    fn a_candidate_looks_for_remote_jobs_or_jobs_in_their_places_or_anywhere() {
        let filter = jobs_for(&candidate(json!({"locations": ["Porto"]})));
        assert!(filter.must.is_empty() && filter.exclude.is_empty());
        assert_eq!(
            filter.should,
            vec![
                keyword("remote", &["remote"]),
                keyword("locations", &["porto", ANYWHERE]),
            ]
        );
        let nowhere = jobs_for(&candidate(json!({})));
        assert_eq!(nowhere.should[1], keyword("locations", &[ANYWHERE]));
    }

    #[test]
    fn the_index_is_optimised_once_per_ten_thousand_points_and_one_run_at_a_time() {
        let upkeep = Upkeep::default();
        assert!(!upkeep.due(OPTIMIZE_EVERY - 1));
        assert!(upkeep.due(1));
        // Still running: enough points again do not start a second run.
        assert!(!upkeep.due(OPTIMIZE_EVERY));
        upkeep.optimizing.store(false, Ordering::Release);
        assert!(upkeep.due(0));
        assert!(!upkeep.due(0));
    }
}
