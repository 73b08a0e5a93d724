//! Scoring what a batch changed: loading the rows it needs, embedding and indexing changed
//! jobs and candidates, scoring each against its nearest neighbours and placing the pairs
//! that score high enough in the feeds, minus what swipes took out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use commands::embeddings::Embedder;
use domain::candidate::CandidateProfile;
use domain::employer::EmployerProfile;
use domain::job::JobDetails;
use domain::matching::{self, CandidateSide, JobSide};
use sqlx::PgConnection;
use uuid::Uuid;

use super::feeds::write::{self, Entry, Feed};
use super::{index, MatchingConfig};
use crate::vectors::{Collection, VectorIndex};
use crate::Error;

/// What the batch in progress left to score.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Changed: embedded, indexed and scored again from scratch.
    pub(super) candidates: BTreeSet<Uuid>,
    pub(super) jobs: BTreeSet<Uuid>,
    /// Thinned by swipes or closed jobs: their own feed is topped up from the index.
    pub(super) refill_candidates: BTreeSet<Uuid>,
    pub(super) refill_jobs: BTreeSet<Uuid>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.jobs.is_empty()
            && self.candidates.is_empty()
            && self.refill_jobs.is_empty()
            && self.refill_candidates.is_empty()
    }
}

/// What one batch's scoring did, for logs and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rescored {
    pub candidates: usize,
    pub jobs: usize,
    /// Points written to the index.
    pub indexed: usize,
    pub pairs_scored: usize,
}

/// Why an entity is scored again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// It changed: its entries everywhere are stale.
    Change,
    /// Swipes or closed jobs thinned its own feed: top it up.
    Refill,
}

/// Owners of feeds that gained entries, to be cut back to size at the end of the batch.
#[derive(Debug, Default)]
struct Touched {
    candidates: Vec<Uuid>,
    jobs: Vec<Uuid>,
}

/// Scores a batch's changes with the projector's index, embedder and configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scorer<'a> {
    pub(super) index: &'a dyn VectorIndex,
    pub(super) embedder: &'a dyn Embedder,
    pub(super) config: MatchingConfig,
}

impl Scorer<'_> {
    /// Embeds and indexes what the batch changed, then scores it against its neighbours.
    pub(super) async fn rescore(
        &self,
        tx: &mut PgConnection,
        mut pending: Pending,
    ) -> Result<Rescored, Error> {
        if pending.is_empty() {
            return Ok(Rescored::default());
        }
        let job_ids: Vec<Uuid> = pending.jobs.iter().copied().collect();
        let candidate_ids: Vec<Uuid> = pending.candidates.iter().copied().collect();

        let jobs = load_jobs(tx, &job_ids).await?;
        let (open, closed): (Vec<&JobRow>, Vec<&JobRow>) = jobs.iter().partition(|j| j.open);
        let closed_ids: Vec<Uuid> = closed.iter().map(|j| j.job_id).collect();
        self.index
            .delete(Collection::Jobs, closed_ids.clone())
            .await?;
        let left = write::take_out(tx, Feed::Job, &closed_ids, &[]).await?;
        // Feeds a closed job leaves thin are topped up like those thinned by swipes.
        let thinned = write::thin(tx, Feed::Candidate, &left, self.config.refill_below).await?;
        pending.refill_candidates.extend(thinned);

        // Those scored again anyway need no refill.
        let refill_jobs: Vec<Uuid> = pending
            .refill_jobs
            .difference(&pending.jobs)
            .copied()
            .collect();
        let refill_candidates: Vec<Uuid> = pending
            .refill_candidates
            .difference(&pending.candidates)
            .copied()
            .collect();

        let job_vectors = index::index_points(
            self.index,
            self.embedder,
            Collection::Jobs,
            open.iter()
                .map(|j| {
                    let payload = index::job_payload(j.employer_id, &j.details);
                    (j.job_id, matching::job_text(&j.details), payload)
                })
                .collect(),
        )
        .await?;
        let candidates = load_candidates(tx, &candidate_ids).await?;
        let candidate_vectors = index::index_points(
            self.index,
            self.embedder,
            Collection::Candidates,
            candidates
                .values()
                .map(|c| {
                    let payload = index::candidate_payload(&c.profile);
                    (
                        c.candidate_id,
                        matching::candidate_text(&c.profile),
                        payload,
                    )
                })
                .collect(),
        )
        .await?;
        self.index.flush().await?;

        let open: Vec<(&JobRow, &Vec<f32>)> = open.into_iter().zip(&job_vectors).collect();
        let candidates: Vec<(&CandidateRow, &Vec<f32>)> =
            candidates.values().zip(&candidate_vectors).collect();
        let mut touched = Touched::default();
        let mut pairs_scored = self
            .rescore_jobs(tx, &open, Scope::Change, &mut touched)
            .await?;
        let rescored_jobs: Vec<Uuid> = open.iter().map(|(j, _)| j.job_id).collect();
        pairs_scored += self
            .rescore_candidates(tx, &candidates, &rescored_jobs, Scope::Change, &mut touched)
            .await?;

        // Refills: the vectors are in the index (and the embedding cache) already.
        let thin_jobs: Vec<JobRow> = load_jobs(tx, &refill_jobs)
            .await?
            .into_iter()
            .filter(|j| j.open)
            .collect();
        let texts: Vec<String> = thin_jobs
            .iter()
            .map(|j| matching::job_text(&j.details))
            .collect();
        let vectors = self.embedder.embed(&texts).await?;
        let thin_jobs: Vec<(&JobRow, &Vec<f32>)> = thin_jobs.iter().zip(&vectors).collect();
        pairs_scored += self
            .rescore_jobs(tx, &thin_jobs, Scope::Refill, &mut touched)
            .await?;
        let thin_candidates = load_candidates(tx, &refill_candidates).await?;
        let texts: Vec<String> = thin_candidates
            .values()
            .map(|c| matching::candidate_text(&c.profile))
            .collect();
        let vectors = self.embedder.embed(&texts).await?;
        let thin_candidates: Vec<(&CandidateRow, &Vec<f32>)> =
            thin_candidates.values().zip(&vectors).collect();
        pairs_scored += self
            .rescore_candidates(tx, &thin_candidates, &[], Scope::Refill, &mut touched)
            .await?;

        let size = self.config.feed_size;
        write::prune(tx, Feed::Candidate, &touched.candidates, size).await?;
        write::prune(tx, Feed::Job, &touched.jobs, size).await?;
        Ok(Rescored {
            candidates: candidates.len() + thin_candidates.len(),
            jobs: open.len() + thin_jobs.len(),
            indexed: candidates.len() + open.len(),
            pairs_scored,
        })
    }

    /// Scores each job against the candidates nearest it. For a change, rewrites its entries
    /// in every feed; for a refill, only tops up its own feed with candidates not decided
    /// on yet. Returns the pairs scored.
    async fn rescore_jobs(
        &self,
        tx: &mut PgConnection,
        jobs: &[(&JobRow, &Vec<f32>)],
        scope: Scope,
        touched: &mut Touched,
    ) -> Result<usize, Error> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let job_ids: Vec<Uuid> = jobs.iter().map(|(j, _)| j.job_id).collect();
        let swipes = load_swipes(tx, Feed::Job, &job_ids).await?;
        let mut hits = Vec::with_capacity(jobs.len());
        for (job, vector) in jobs {
            let mut filter = index::candidates_for(&job.details);
            filter.exclude = candidates_left_out(&swipes, job.job_id, scope);
            hits.push(
                self.index
                    .search(
                        Collection::Candidates,
                        vector,
                        &filter,
                        self.config.neighbours,
                    )
                    .await?,
            );
        }
        let candidate_ids: Vec<Uuid> = hits.iter().flatten().map(|h| h.id).collect();
        let candidates = load_candidates(tx, &candidate_ids).await?;
        let employer_ids: Vec<Uuid> = jobs.iter().map(|(j, _)| j.employer_id).collect();
        let employers = load_employers(tx, &employer_ids).await?;
        let mut entries = Vec::new();
        for ((job, _), hits) in jobs.iter().zip(&hits) {
            let side = JobSide {
                details: &job.details,
                employer: employers.get(&job.employer_id),
            };
            entries.extend(hits.iter().filter_map(|hit| {
                entry(candidates.get(&hit.id)?, job.job_id, side, hit.similarity)
            }));
        }
        if scope == Scope::Change {
            write::take_out(tx, Feed::Job, &job_ids, &[]).await?;
        }
        self.place(tx, entries, &swipes, scope, Feed::Job, touched)
            .await?;
        // Every neighbour found is a pair scored (or ruled out by a hard filter).
        Ok(hits.iter().map(Vec::len).sum())
    }

    /// Scores each candidate against the open jobs nearest them. For a change, rewrites
    /// their entries in every feed, but for pairs with a job in `rescored_jobs` (just scored
    /// from the job's side, with the same result); for a refill, only tops up their own feed
    /// with jobs they have not decided on. Returns the pairs scored.
    async fn rescore_candidates(
        &self,
        tx: &mut PgConnection,
        candidates: &[(&CandidateRow, &Vec<f32>)],
        rescored_jobs: &[Uuid],
        scope: Scope,
        touched: &mut Touched,
    ) -> Result<usize, Error> {
        if candidates.is_empty() {
            return Ok(0);
        }
        let candidate_ids: Vec<Uuid> = candidates.iter().map(|(c, _)| c.candidate_id).collect();
        let swipes = load_swipes(tx, Feed::Candidate, &candidate_ids).await?;
        let mut hits = Vec::with_capacity(candidates.len());
        for (candidate, vector) in candidates {
            let mut filter = index::jobs_for(&candidate.profile);
            filter.exclude = jobs_left_out(&swipes, candidate.candidate_id, scope);
            hits.push(
                self.index
                    .search(Collection::Jobs, vector, &filter, self.config.neighbours)
                    .await?,
            );
        }
        let job_ids: Vec<Uuid> = hits.iter().flatten().map(|h| h.id).collect();
        let jobs: HashMap<Uuid, JobRow> = load_jobs(tx, &job_ids)
            .await?
            .into_iter()
            .filter(|j| j.open)
            .map(|j| (j.job_id, j))
            .collect();
        let employer_ids: Vec<Uuid> = jobs.values().map(|j| j.employer_id).collect();
        let employers = load_employers(tx, &employer_ids).await?;
        let mut entries = Vec::new();
        for ((candidate, _), hits) in candidates.iter().zip(&hits) {
            entries.extend(hits.iter().filter_map(|hit| {
                let job = jobs.get(&hit.id)?;
                let side = JobSide {
                    details: &job.details,
                    employer: employers.get(&job.employer_id),
                };
                entry(candidate, job.job_id, side, hit.similarity)
            }));
        }
        if scope == Scope::Change {
            write::take_out(tx, Feed::Candidate, &candidate_ids, rescored_jobs).await?;
        }
        self.place(tx, entries, &swipes, scope, Feed::Candidate, touched)
            .await?;
        // Every neighbour found is a pair scored (or ruled out by a hard filter).
        Ok(hits.iter().map(Vec::len).sum())
    }

    /// Puts scored entries into the feeds, minus what swipes took out: for a change (whose
    /// stale entries the caller deleted) into both, for a refill only into the `own` feed.
    async fn place(
        &self,
        tx: &mut PgConnection,
        entries: Vec<Entry>,
        swipes: &[SwipeRow],
        scope: Scope,
        own: Feed,
        touched: &mut Touched,
    ) -> Result<(), Error> {
        let (for_candidates, for_jobs) = split_by_swipes(entries, swipes);
        let size = self.config.feed_size;
        let both = scope == Scope::Change;
        if both || own == Feed::Candidate {
            let gained = write::add(tx, Feed::Candidate, for_candidates, size).await?;
            touched.candidates.extend(gained);
        }
        if both || own == Feed::Job {
            touched
                .jobs
                .extend(write::add(tx, Feed::Job, for_jobs, size).await?);
        }
        Ok(())
    }
}

/// The candidates a job's search leaves out: for a refill, those its feed may not hold
/// (swiped by the employer, or passed on the job); a change searches them all.
fn candidates_left_out(swipes: &[SwipeRow], job_id: Uuid, scope: Scope) -> Vec<Uuid> {
    if scope != Scope::Refill {
        return Vec::new();
    }
    swipes
        .iter()
        .filter(|s| s.job_id == job_id && !s.in_job_feed())
        .map(|s| s.candidate_id)
        .collect()
}

/// The jobs a candidate's search leaves out: for a change, pairs in neither feed (a liked
/// pair stays in one); for a refill, every pair not in the candidate's feed.
fn jobs_left_out(swipes: &[SwipeRow], candidate_id: Uuid, scope: Scope) -> Vec<Uuid> {
    swipes
        .iter()
        .filter(|s| {
            s.candidate_id == candidate_id
                && match scope {
                    Scope::Change => !s.in_candidate_feed() && !s.in_job_feed(),
                    Scope::Refill => !s.in_candidate_feed(),
                }
        })
        .map(|s| s.job_id)
        .collect()
}

/// The pair's entry when it passes the hard filters and scores high enough to be shown.
fn entry(
    candidate: &CandidateRow,
    job_id: Uuid,
    job: JobSide<'_>,
    similarity: f32,
) -> Option<Entry> {
    // Rounded, so that both directions of a search give a pair the same score.
    let similarity = (similarity * 10_000.0).round() / 10_000.0;
    let side = CandidateSide {
        profile: &candidate.profile,
        validation: candidate.validation,
    };
    let score = matching::score(side, job, similarity).ok()?;
    score.shown().then_some(Entry {
        candidate_id: candidate.candidate_id,
        job_id,
        score,
        similarity,
    })
}

/// The entries for candidates' feeds and for jobs' feeds, leaving out what swipes took out.
fn split_by_swipes(entries: Vec<Entry>, swipes: &[SwipeRow]) -> (Vec<Entry>, Vec<Entry>) {
    let decided: HashMap<(Uuid, Uuid), &SwipeRow> = swipes
        .iter()
        .map(|s| ((s.candidate_id, s.job_id), s))
        .collect();
    let mut for_candidates = Vec::new();
    let mut for_jobs = Vec::new();
    for entry in entries {
        let swipe = decided.get(&(entry.candidate_id, entry.job_id));
        if swipe.is_none_or(|s| s.in_candidate_feed()) {
            for_candidates.push(entry.clone());
        }
        if swipe.is_none_or(|s| s.in_job_feed()) {
            for_jobs.push(entry);
        }
    }
    (for_candidates, for_jobs)
}

#[derive(Debug)]
struct JobRow {
    job_id: Uuid,
    employer_id: Uuid,
    details: JobDetails,
    open: bool,
}

#[derive(Debug)]
struct CandidateRow {
    candidate_id: Uuid,
    profile: CandidateProfile,
    validation: Option<i32>,
}

#[derive(Debug)]
struct SwipeRow {
    candidate_id: Uuid,
    job_id: Uuid,
    candidate_decision: Option<String>,
    employer_decision: Option<String>,
}

impl SwipeRow {
    /// The candidate has not swiped the job, and the employer has not passed on them.
    fn in_candidate_feed(&self) -> bool {
        self.candidate_decision.is_none() && self.employer_decision.as_deref() != Some("pass")
    }

    /// The employer has not swiped the candidate, and the candidate has not passed.
    fn in_job_feed(&self) -> bool {
        self.employer_decision.is_none() && self.candidate_decision.as_deref() != Some("pass")
    }
}

async fn load_jobs(tx: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JobRow>, Error> {
    let rows: Vec<(Uuid, Uuid, sqlx::types::Json<JobDetails>, bool)> = sqlx::query_as(
        "SELECT job_id, employer_id, details, open FROM matching_job
          WHERE job_id = ANY($1) ORDER BY job_id",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(job_id, employer_id, details, open)| JobRow {
            job_id,
            employer_id,
            details: details.0,
            open,
        })
        .collect())
}

/// Candidates with a profile, by id (ordered, so that a batch is processed the same way on
/// every run).
async fn load_candidates(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<BTreeMap<Uuid, CandidateRow>, Error> {
    let rows: Vec<(Uuid, sqlx::types::Json<CandidateProfile>, Option<i32>)> = sqlx::query_as(
        "SELECT candidate_id, profile, validation FROM matching_candidate
          WHERE candidate_id = ANY($1) AND profile IS NOT NULL",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(candidate_id, profile, validation)| {
            (
                candidate_id,
                CandidateRow {
                    candidate_id,
                    profile: profile.0,
                    validation,
                },
            )
        })
        .collect())
}

async fn load_employers(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, EmployerProfile>, Error> {
    let rows: Vec<(Uuid, sqlx::types::Json<EmployerProfile>)> = sqlx::query_as(
        "SELECT employer_id, profile FROM matching_employer WHERE employer_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|(id, p)| (id, p.0)).collect())
}

/// The swipes of the given owners of `feed`: candidates, or jobs.
async fn load_swipes(
    tx: &mut PgConnection,
    feed: Feed,
    ids: &[Uuid],
) -> Result<Vec<SwipeRow>, Error> {
    let (_, column, _) = feed.columns();
    let rows: Vec<(Uuid, Uuid, Option<String>, Option<String>)> = sqlx::query_as(&format!(
        "SELECT candidate_id, job_id, candidate_decision, employer_decision FROM matching_swipe
          WHERE {column} = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(candidate_id, job_id, candidate_decision, employer_decision)| SwipeRow {
                candidate_id,
                job_id,
                candidate_decision,
                employer_decision,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::matching::scratch::{self, id, Scratch};

    fn swipe(candidate: &str, employer: &str) -> SwipeRow {
        let decision = |d: &str| (!d.is_empty()).then(|| d.to_owned());
        SwipeRow {
            candidate_id: Uuid::nil(),
            job_id: Uuid::nil(),
            candidate_decision: decision(candidate),
            employer_decision: decision(employer),
        }
    }

    fn placed(swipe: SwipeRow) -> (bool, bool) {
        let (c, j) = split_by_swipes(vec![scratch::entry(0, 0, 80, 0.5)], &[swipe]);
        (!c.is_empty(), !j.is_empty())
    }

    #[test]
    fn a_swipe_takes_a_pair_out_of_the_swipers_feed_and_a_pass_out_of_both() {
        assert_eq!(placed(swipe("", "")), (true, true));
        assert_eq!(placed(swipe("like", "")), (false, true));
        assert_eq!(placed(swipe("pass", "")), (false, false));
        assert_eq!(placed(swipe("", "like")), (true, false));
        assert_eq!(placed(swipe("", "pass")), (false, false));
    }

    #[test]
    fn a_pair_nobody_swiped_goes_into_both_feeds() {
        let other = SwipeRow {
            job_id: id(9),
            ..swipe("pass", "pass")
        };
        let (c, j) = split_by_swipes(vec![scratch::entry(0, 0, 80, 0.5)], &[other]);
        assert_eq!((c.len(), j.len()), (1, 1));
    }

    /// Swipes of candidate 0 on jobs 1 to 5, each decided differently.
    fn decided() -> Vec<SwipeRow> {
        [
            ("like", ""),
            ("pass", ""),
            ("", "like"),
            ("", "pass"),
            ("like", "like"),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (candidate, employer))| SwipeRow {
            job_id: id(n as u128 + 1),
            ..swipe(candidate, employer)
        })
        .collect()
    }

    #[test]
    fn a_refilling_candidate_searches_past_every_job_out_of_their_feed() {
        let swipes = decided();
        assert_eq!(
            jobs_left_out(&swipes, Uuid::nil(), Scope::Refill),
            [id(1), id(2), id(4), id(5)]
        );
        // A change keeps pairs still in the job's feed (1) or in their own (3).
        assert_eq!(
            jobs_left_out(&swipes, Uuid::nil(), Scope::Change),
            [id(2), id(4), id(5)]
        );
        assert!(jobs_left_out(&swipes, id(7), Scope::Refill).is_empty());
    }

    #[test]
    fn a_refilling_job_searches_past_every_candidate_out_of_its_feed_and_a_change_past_none() {
        let swipes: Vec<SwipeRow> = decided()
            .into_iter()
            .map(|s| SwipeRow {
                candidate_id: s.job_id,
                job_id: Uuid::nil(),
                ..s
            })
            .collect();
        assert_eq!(
            candidates_left_out(&swipes, Uuid::nil(), Scope::Refill),
            [id(2), id(3), id(4), id(5)]
        );
        assert!(candidates_left_out(&swipes, Uuid::nil(), Scope::Change).is_empty());
    }

    fn rust_job(details: Value) -> JobDetails {
        let mut job = json!({
            "title": "Rust engineer", "description": "Builds the backend", "remote": "remote",
            "min_years": 3, "skills": [{"name": "Rust", "proficiency": "expert"}],
        });
        job.as_object_mut()
            .expect("object")
            .extend(details.as_object().cloned().unwrap_or_default());
        serde_json::from_value(job).expect("job details")
    }

    fn rustacean(years: i32) -> CandidateRow {
        CandidateRow {
            candidate_id: id(1),
            profile: serde_json::from_value(json!({
                "headline": "Rust engineer", "years_experience": years, "remote": "remote",
                "skills": [{"name": "Rust", "proficiency": "expert"}],
            }))
            .expect("candidate profile"),
            validation: None,
        }
    }

    #[test]
    fn a_pair_is_shown_when_it_passes_the_hard_filters_and_scores_high_enough() {
        let details = rust_job(json!({}));
        let job = JobSide {
            details: &details,
            employer: None,
        };
        let shown = entry(&rustacean(5), id(2), job, 0.912_345).expect("a good match");
        assert_eq!((shown.candidate_id, shown.job_id), (id(1), id(2)));
        assert!(shown.score.shown());
        // Rounded to four places, so both directions of a search agree.
        assert_eq!(shown.similarity, 0.9123);
        assert!(
            entry(&rustacean(1), id(2), job, 0.9).is_none(),
            "too few years"
        );
        let unrelated = rust_job(
            json!({"skills": [{"name": "COBOL", "proficiency": "expert"}],
                                        "min_years": 0}),
        );
        let unrelated = JobSide {
            details: &unrelated,
            employer: None,
        };
        assert!(
            entry(&rustacean(5), id(2), unrelated, 0.0).is_none(),
            "scores too low"
        );
    }

    #[tokio::test]
    async fn rows_are_loaded_by_id_in_order_and_candidates_only_with_a_profile() {
        let db = Scratch::new().await;
        let mut conn = db.conn().await;
        let details = serde_json::to_value(rust_job(json!({}))).expect("json");
        for (job, open) in [(12, true), (11, false)] {
            sqlx::query(
                "INSERT INTO matching_job (job_id, employer_id, details, open)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id(job))
            .bind(id(100))
            .bind(&details)
            .bind(open)
            .execute(&mut *conn)
            .await
            .expect("job");
        }
        let jobs = load_jobs(&mut conn, &[id(12), id(11), id(13)])
            .await
            .expect("jobs");
        let loaded: Vec<(Uuid, bool)> = jobs.iter().map(|j| (j.job_id, j.open)).collect();
        assert_eq!(loaded, [(id(11), false), (id(12), true)]);

        let profile = serde_json::to_value(&rustacean(5).profile).expect("json");
        sqlx::query(
            "INSERT INTO matching_candidate (candidate_id, profile, validation)
             VALUES ($1, $2, 80), ($3, NULL, 90)",
        )
        .bind(id(1))
        .bind(&profile)
        .bind(id(2))
        .execute(&mut *conn)
        .await
        .expect("candidates");
        let candidates = load_candidates(&mut conn, &[id(1), id(2)])
            .await
            .expect("candidates");
        assert_eq!(candidates.keys().collect::<Vec<_>>(), [&id(1)]);
        assert_eq!(candidates[&id(1)].validation, Some(80));

        sqlx::query(
            "INSERT INTO matching_swipe (candidate_id, job_id, candidate_decision, employer_decision)
             VALUES ($1, $2, 'like', NULL), ($1, $3, NULL, 'pass'), ($4, $2, 'pass', NULL)",
        )
        .bind(id(1))
        .bind(id(11))
        .bind(id(12))
        .bind(id(2))
        .execute(&mut *conn)
        .await
        .expect("swipes");
        let of_candidate = load_swipes(&mut conn, Feed::Candidate, &[id(1)])
            .await
            .expect("swipes");
        assert_eq!(of_candidate.len(), 2);
        let of_job = load_swipes(&mut conn, Feed::Job, &[id(11)])
            .await
            .expect("swipes");
        let mut swipers: Vec<Uuid> = of_job.iter().map(|s| s.candidate_id).collect();
        swipers.sort();
        assert_eq!(swipers, [id(1), id(2)]);
        drop(conn);
        db.drop().await;
    }
}
