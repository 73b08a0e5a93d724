//! The matching projector: each event updates what the projection knows of a candidate, an
//! employer, a job or a pair and notes who needs scoring; the end of the batch scores them.

use std::sync::{Arc, Mutex};

use commands::embeddings::Embedder;
use cqrs_es::Aggregate;
use domain::candidate::{Candidate, CandidateEvent, CandidateProfile};
use domain::employer::{Employer, EmployerEvent};
use domain::job::{Job, JobEvent};
use domain::pairing::{Decision, Pairing, PairingEvent};
use domain::published::PublishedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::feeds::write::{self, Feed};
use super::index::Upkeep;
use super::scoring::{Pending, Rescored, Scorer};
use super::MatchingConfig;
use crate::vectors::{Collection, VectorIndex};
use crate::{Error, Projection};

/// Builds the vector index and the feeds from the candidate, employer, job and pairing
/// topics.
#[derive(Debug)]
pub struct MatchingProjector {
    index: Arc<dyn VectorIndex>,
    embedder: Arc<dyn Embedder>,
    config: MatchingConfig,
    /// What the batch in progress changed.
    pending: Mutex<Pending>,
    /// What the last batch's scoring did.
    last: Mutex<Rescored>,
    upkeep: Upkeep,
}

impl MatchingProjector {
    pub fn new(
        index: Arc<dyn VectorIndex>,
        embedder: Arc<dyn Embedder>,
        config: MatchingConfig,
    ) -> Self {
        Self {
            index,
            embedder,
            config,
            pending: Mutex::new(Pending::default()),
            last: Mutex::new(Rescored::default()),
            upkeep: Upkeep::default(),
        }
    }

    /// What the last batch's scoring did.
    pub fn last_rescored(&self) -> Rescored {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, mark: impl FnOnce(&mut Pending)) {
        mark(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Embeds and indexes what the batch changed, then scores it against its neighbours.
    pub async fn rescore(&self, tx: &mut PgConnection) -> Result<Rescored, Error> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let scorer = Scorer {
            index: self.index.as_ref(),
            embedder: self.embedder.as_ref(),
            config: self.config,
        };
        scorer.rescore(tx, pending).await
    }

    async fn apply_candidate(
        &self,
        tx: &mut PgConnection,
        event: CandidateEvent,
    ) -> Result<(), Error> {
        let candidate_id = match event {
            CandidateEvent::CandidateRegistered { .. } => return Ok(()),
            CandidateEvent::CandidateErased { candidate_id } => {
                return self.forget_candidate(tx, candidate_id).await;
            }
            CandidateEvent::CandidateProfileUpdated {
                candidate_id,
                profile,
            } => {
                sqlx::query(
                    "INSERT INTO matching_candidate (candidate_id, profile) VALUES ($1, $2)
                     ON CONFLICT (candidate_id) DO UPDATE SET profile = EXCLUDED.profile",
                )
                .bind(candidate_id)
                .bind(sqlx::types::Json(&profile))
                .execute(&mut *tx)
                .await?;
                candidate_id
            }
            CandidateEvent::CandidateValidated {
                candidate_id,
                score,
            } => {
                sqlx::query(
                    "INSERT INTO matching_candidate (candidate_id, validation) VALUES ($1, $2)
                     ON CONFLICT (candidate_id) DO UPDATE SET validation = EXCLUDED.validation",
                )
                .bind(candidate_id)
                .bind(score)
                .execute(&mut *tx)
                .await?;
                candidate_id
            }
        };
        self.mark(|p| {
            p.candidates.insert(candidate_id);
        });
        Ok(())
    }

    /// Everything matching holds about an erased candidate goes: its profile, swipes, feed
    /// entries on both sides, its point in the index and the cached embedding of its text.
    async fn forget_candidate(
        &self,
        tx: &mut PgConnection,
        candidate_id: Uuid,
    ) -> Result<(), Error> {
        let profile: Option<sqlx::types::Json<CandidateProfile>> = sqlx::query_scalar(
            "DELETE FROM matching_candidate WHERE candidate_id = $1 RETURNING profile",
        )
        .bind(candidate_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if let Some(profile) = profile {
            let text = domain::matching::candidate_text(&profile);
            sqlx::query("DELETE FROM embedding_cache WHERE content_hash = $1")
                .bind(commands::embeddings::cache::content_hash(&text))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM matching_swipe WHERE candidate_id = $1")
            .bind(candidate_id)
            .execute(&mut *tx)
            .await?;
        write::take_out(tx, Feed::Candidate, &[candidate_id], &[]).await?;
        self.index
            .delete(Collection::Candidates, vec![candidate_id])
            .await?;
        self.mark(|p| {
            p.candidates.remove(&candidate_id);
            p.refill_candidates.remove(&candidate_id);
        });
        Ok(())
    }

    async fn apply_employer(
        &self,
        tx: &mut PgConnection,
        event: EmployerEvent,
    ) -> Result<(), Error> {
        let EmployerEvent::EmployerProfileUpdated {
            employer_id,
            profile,
        } = event
        else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO matching_employer (employer_id, profile) VALUES ($1, $2)
             ON CONFLICT (employer_id) DO UPDATE SET profile = EXCLUDED.profile",
        )
        .bind(employer_id)
        .bind(sqlx::types::Json(&profile))
        .execute(&mut *tx)
        .await?;
        // Culture fit changed for every open job of the employer.
        let jobs: Vec<Uuid> =
            sqlx::query_scalar("SELECT job_id FROM matching_job WHERE employer_id = $1 AND open")
                .bind(employer_id)
                .fetch_all(&mut *tx)
                .await?;
        self.mark(|p| p.jobs.extend(jobs));
        Ok(())
    }

    async fn apply_job(&self, tx: &mut PgConnection, event: JobEvent) -> Result<(), Error> {
        let job_id = match event {
            JobEvent::JobPosted {
                job_id,
                employer_id,
                details,
            }
            | JobEvent::JobUpdated {
                job_id,
                employer_id,
                details,
            } => {
                sqlx::query(
                    "INSERT INTO matching_job (job_id, employer_id, details, open)
                     VALUES ($1, $2, $3, true)
                     ON CONFLICT (job_id) DO UPDATE SET details = EXCLUDED.details",
                )
                .bind(job_id)
                .bind(employer_id)
                .bind(sqlx::types::Json(&details))
                .execute(&mut *tx)
                .await?;
                job_id
            }
            JobEvent::JobClosed { job_id, .. } => {
                sqlx::query("UPDATE matching_job SET open = false WHERE job_id = $1")
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
                job_id
            }
            // Who recruits for a job changes no score.
            JobEvent::RecruiterAssigned { .. } | JobEvent::RecruiterUnassigned { .. } => {
                return Ok(())
            }
        };
        self.mark(|p| {
            p.jobs.insert(job_id);
        });
        Ok(())
    }

    async fn apply_pairing(&self, tx: &mut PgConnection, event: PairingEvent) -> Result<(), Error> {
        let (candidate_id, job_id, by_candidate, decision) = match event {
            PairingEvent::CandidateSwiped {
                candidate_id,
                job_id,
                decision,
                ..
            } => (candidate_id, job_id, true, decision),
            PairingEvent::EmployerSwiped {
                candidate_id,
                job_id,
                decision,
                ..
            } => (candidate_id, job_id, false, decision),
            PairingEvent::Matched { .. }
            | PairingEvent::MessagePosted { .. }
            | PairingEvent::MessagesRead { .. }
            | PairingEvent::Unmatched { .. } => return Ok(()),
        };
        let column = if by_candidate {
            "candidate_decision"
        } else {
            "employer_decision"
        };
        let decided = match decision {
            Decision::Like => "like",
            Decision::Pass => "pass",
        };
        sqlx::query(&format!(
            "INSERT INTO matching_swipe (candidate_id, job_id, {column}) VALUES ($1, $2, $3)
             ON CONFLICT (candidate_id, job_id) DO UPDATE SET {column} = EXCLUDED.{column}"
        ))
        .bind(candidate_id)
        .bind(job_id)
        .bind(decided)
        .execute(&mut *tx)
        .await?;
        let (from_candidate_feed, from_job_feed) = feeds_left(by_candidate, decision);
        if from_candidate_feed {
            write::remove_pair(tx, Feed::Candidate, candidate_id, job_id).await?;
        }
        if from_job_feed {
            write::remove_pair(tx, Feed::Job, candidate_id, job_id).await?;
        }
        let refill_below = self.config.refill_below;
        if from_candidate_feed {
            let thinned = write::thin(tx, Feed::Candidate, &[candidate_id], refill_below).await?;
            self.mark(|p| p.refill_candidates.extend(thinned));
        }
        if from_job_feed {
            let thinned = write::thin(tx, Feed::Job, &[job_id], refill_below).await?;
            self.mark(|p| p.refill_jobs.extend(thinned));
        }
        Ok(())
    }
}

/// The feeds a swipe takes its pair out of, the candidate's and the job's: the swiper's own,
/// and on a pass the other's too.
fn feeds_left(by_candidate: bool, decision: Decision) -> (bool, bool) {
    let passed = decision == Decision::Pass;
    (by_candidate || passed, !by_candidate || passed)
}

impl Projection for MatchingProjector {
    const NAME: &'static str = "matching";
    const AGGREGATE_TYPES: &'static [&'static str] =
        &[Candidate::TYPE, Employer::TYPE, Job::TYPE, Pairing::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        let payload = |e| Error::payload(event, e);
        match event.aggregate_type.as_str() {
            Candidate::TYPE => {
                self.apply_candidate(tx, event.decode().map_err(payload)?)
                    .await
            }
            Employer::TYPE => {
                self.apply_employer(tx, event.decode().map_err(payload)?)
                    .await
            }
            Job::TYPE => self.apply_job(tx, event.decode().map_err(payload)?).await,
            Pairing::TYPE => {
                self.apply_pairing(tx, event.decode().map_err(payload)?)
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn finish_batch(&self, tx: &mut PgConnection) -> Result<(), Error> {
        let rescored = self.rescore(tx).await?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = rescored;
        self.upkeep.wrote(&self.index, rescored.indexed);
        if rescored != Rescored::default() {
            tracing::debug!(?rescored, "feeds rescored");
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Pending::default();
        sqlx::query(
            "TRUNCATE matching_candidate, matching_employer, matching_job, matching_swipe,
                      candidate_feed, job_feed",
        )
        .execute(&mut *tx)
        .await?;
        self.index.clear().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use commands::embeddings::EmbeddingError;
    use futures::future::BoxFuture;
    use serde_json::{json, Value};

    use super::*;
    use crate::matching::scratch::{id, ranked, Scratch};
    #[cfg(feature = "embedded-index")]
    use crate::vectors::edge::EdgeIndex;
    use crate::{Projector, ProjectorConfig};

    #[test]
    fn a_swipe_leaves_the_swipers_feed_and_a_pass_both() {
        assert_eq!(feeds_left(true, Decision::Like), (true, false));
        assert_eq!(feeds_left(true, Decision::Pass), (true, true));
        assert_eq!(feeds_left(false, Decision::Like), (false, true));
        assert_eq!(feeds_left(false, Decision::Pass), (true, true));
    }

    /// Every text means the same: every pair is as similar as can be.
    #[derive(Debug)]
    struct OneMeaning;

    impl Embedder for OneMeaning {
        fn model(&self) -> &str {
            "one-meaning"
        }

        fn dimensions(&self) -> usize {
            3
        }

        fn embed<'a>(
            &'a self,
            texts: &'a [String],
        ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbeddingError>> {
            let vectors = texts.iter().map(|_| vec![1.0, 0.0, 0.0]).collect();
            futures::FutureExt::boxed(async move { Ok(vectors) })
        }
    }

    /// Events in the order given, each the next of its aggregate.
    #[derive(Debug, Default)]
    struct Stream {
        sequences: HashMap<String, i64>,
        position: i64,
    }

    impl Stream {
        fn event(
            &mut self,
            aggregate_type: &str,
            aggregate_id: Uuid,
            payload: Value,
        ) -> PublishedEvent {
            let aggregate_id = aggregate_id.to_string();
            let sequence = self.sequences.entry(aggregate_id.clone()).or_default();
            *sequence += 1;
            self.position += 1;
            let event_type = payload
                .as_object()
                .and_then(|o| o.keys().next().cloned())
                .unwrap_or_default();
            PublishedEvent {
                aggregate_type: aggregate_type.into(),
                aggregate_id,
                sequence: *sequence,
                event_type,
                event_version: "1".into(),
                payload,
                metadata: HashMap::new(),
                global_position: self.position,
                recorded_at: chrono::Utc::now(),
            }
        }

        fn job(&mut self, job: u128) -> PublishedEvent {
            let details = json!({
                "title": "Rust engineer", "description": "Builds the backend",
                "remote": "remote", "min_years": 3,
                "skills": [{"name": "Rust", "proficiency": "expert"}],
            });
            self.event(
                Job::TYPE,
                id(job),
                json!({"JobPosted": {"job_id": id(job), "employer_id": id(100), "details": details}}),
            )
        }

        fn candidate(&mut self, candidate: u128) -> PublishedEvent {
            let profile = json!({
                "headline": "Rust engineer", "years_experience": 5, "remote": "remote",
                "skills": [{"name": "Rust", "proficiency": "expert"}],
            });
            self.event(
                Candidate::TYPE,
                id(candidate),
                json!({"CandidateProfileUpdated": {"candidate_id": id(candidate), "profile": profile}}),
            )
        }

        fn swipe(
            &mut self,
            by: &str,
            candidate: u128,
            job: u128,
            decision: &str,
        ) -> PublishedEvent {
            let pairing = id(candidate * 1_000 + job);
            self.event(
                Pairing::TYPE,
                pairing,
                json!({by: {"pairing_id": pairing, "candidate_id": id(candidate), "job_id": id(job),
                            "employer_id": id(100), "decision": decision}}),
            )
        }
    }

    #[cfg(feature = "embedded-index")]
    #[tokio::test]
    async fn scored_pairs_fill_both_feeds_swipes_take_them_out_and_a_closed_job_leaves_all() {
        let db = Scratch::new().await;
        let dir = std::env::temp_dir().join(format!("hirestream-matching-{}", Uuid::new_v4()));
        let index = Arc::new(EdgeIndex::open(&dir, 3).expect("open the index"));
        let projector = Projector::new(
            MatchingProjector::new(index, Arc::new(OneMeaning), MatchingConfig::default()),
            db.pool.clone(),
            ProjectorConfig {
                stall_after: Duration::from_secs(60),
                kafka: commands::relay::KafkaClient::default(),
                topic_prefix: "unit".into(),
                batch_size: 100,
                retry_backoff: Duration::from_millis(10),
                master_keys: commands::privacy::MasterKeys::development(),
            },
        );
        let mut stream = Stream::default();
        let feeds = |candidate: u128, job: u128| {
            let pool = db.pool.clone();
            async move {
                let mut conn = pool.acquire().await.expect("conn");
                (
                    ranked(&mut conn, Feed::Candidate, id(candidate)).await,
                    ranked(&mut conn, Feed::Job, id(job)).await,
                )
            }
        };

        let batch = [stream.job(10), stream.candidate(1), stream.candidate(2)];
        assert_eq!(projector.apply_events(&batch).await.expect("apply"), 3);
        let rescored = projector.projection().last_rescored();
        assert_eq!(
            (rescored.jobs, rescored.candidates, rescored.indexed),
            (1, 2, 3)
        );
        assert_eq!(feeds(1, 10).await, (vec![id(10)], vec![id(1), id(2)]));

        // The candidate's like leaves their feed; the refill does not bring it back.
        let like = [stream.swipe("CandidateSwiped", 1, 10, "like")];
        projector.apply_events(&like).await.expect("like");
        assert_eq!(feeds(1, 10).await, (vec![], vec![id(1), id(2)]));
        // The employer's pass takes the other pair out of both feeds.
        let pass = [stream.swipe("EmployerSwiped", 2, 10, "pass")];
        projector.apply_events(&pass).await.expect("pass");
        assert_eq!(feeds(2, 10).await, (vec![], vec![id(1)]));

        let close = [stream.event(
            Job::TYPE,
            id(10),
            json!({"JobClosed": {"job_id": id(10), "employer_id": id(100)}}),
        )];
        projector.apply_events(&close).await.expect("close");
        assert_eq!(feeds(1, 10).await, (vec![], vec![]));
        // A redelivered event has no second effect.
        assert_eq!(projector.apply_events(&batch).await.expect("again"), 0);

        // The index writes its segments when it is dropped: before its directory goes.
        drop(projector);
        std::fs::remove_dir_all(&dir).ok();
        db.drop().await;
    }
}
