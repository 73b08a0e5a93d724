//! Writing the feed tables: topping feeds up with scored entries, taking entries out, and
//! cutting feeds back to size. Every ranking here is the one the reads use: score, then
//! similarity, then the other side's id.

use std::collections::{HashMap, HashSet};

use domain::matching::Score;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Error;

/// One of the two feeds: a candidate's jobs, or a job's candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::matching) enum Feed {
    Candidate,
    Job,
}

impl Feed {
    /// The table, its owner's column and the other side's.
    pub(in crate::matching) fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Feed::Candidate => ("candidate_feed", "candidate_id", "job_id"),
            Feed::Job => ("job_feed", "job_id", "candidate_id"),
        }
    }
}

/// One scored pair, shown in feeds.
#[derive(Debug, Clone)]
pub(in crate::matching) struct Entry {
    pub(in crate::matching) candidate_id: Uuid,
    pub(in crate::matching) job_id: Uuid,
    pub(in crate::matching) score: Score,
    pub(in crate::matching) similarity: f32,
}

impl Entry {
    fn owner(&self, feed: Feed) -> Uuid {
        match feed {
            Feed::Candidate => self.candidate_id,
            Feed::Job => self.job_id,
        }
    }

    fn other(&self, feed: Feed) -> Uuid {
        match feed {
            Feed::Candidate => self.job_id,
            Feed::Job => self.candidate_id,
        }
    }
}

/// Each owner's best `size` entries, in feed order (score, then similarity, then the other
/// side's id), owners by id.
fn best_per_owner(feed: Feed, mut entries: Vec<Entry>, size: usize) -> Vec<Entry> {
    entries.sort_by(|a, b| {
        a.owner(feed)
            .cmp(&b.owner(feed))
            .then(b.score.total.cmp(&a.score.total))
            .then(b.similarity.total_cmp(&a.similarity))
            .then(a.other(feed).cmp(&b.other(feed)))
    });
    let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut run = 0;
    for entry in entries {
        match kept.last() {
            Some(last) if last.owner(feed) == entry.owner(feed) => run += 1,
            _ => run = 1,
        }
        if run <= size {
            kept.push(entry);
        }
    }
    kept
}

/// Adds the entries that can make their owner's feed (at most `size` per owner, none that
/// ranks below a full feed's last entry) and returns the owners that gained any.
pub(in crate::matching) async fn add(
    tx: &mut PgConnection,
    feed: Feed,
    entries: Vec<Entry>,
    size: usize,
) -> Result<Vec<Uuid>, Error> {
    let mut kept = best_per_owner(feed, entries, size);
    let mut owners: Vec<Uuid> = kept.iter().map(|e| e.owner(feed)).collect();
    owners.dedup();
    let (table, owner, other) = feed.columns();
    let floors: Vec<(Uuid, i16, f32)> = sqlx::query_as(&format!(
        "SELECT o.id, last.score, last.similarity
           FROM UNNEST($1::uuid[]) AS o(id),
                LATERAL (SELECT score, similarity FROM {table}
                          WHERE {owner} = o.id
                          ORDER BY score DESC, similarity DESC, {other}
                         OFFSET $2 LIMIT 1) last"
    ))
    .bind(&owners)
    .bind(size as i64 - 1)
    .fetch_all(&mut *tx)
    .await?;
    let floors: HashMap<Uuid, (i16, f32)> = floors
        .into_iter()
        .map(|(id, score, similarity)| (id, (score, similarity)))
        .collect();
    kept.retain(|e| {
        floors
            .get(&e.owner(feed))
            .is_none_or(|&(score, similarity)| {
                (i16::from(e.score.total), e.similarity) >= (score, similarity)
            })
    });
    insert(tx, feed, &kept).await?;
    let mut gained: Vec<Uuid> = kept.iter().map(|e| e.owner(feed)).collect();
    gained.dedup();
    Ok(gained)
}

/// Writes the entries, replacing the score of a pair already in the feed; a pair given twice
/// is written once, as first given.
async fn insert(tx: &mut PgConnection, feed: Feed, entries: &[Entry]) -> Result<(), Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let (table, owner, other) = feed.columns();
    let mut seen = HashSet::new();
    let entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| seen.insert((e.candidate_id, e.job_id)))
        .collect();
    let candidates: Vec<Uuid> = entries.iter().map(|e| e.candidate_id).collect();
    let jobs: Vec<Uuid> = entries.iter().map(|e| e.job_id).collect();
    let scores: Vec<i16> = entries.iter().map(|e| i16::from(e.score.total)).collect();
    let factors: Vec<Value> = entries
        .iter()
        .map(|e| super::factors_json(&e.score.factors))
        .collect();
    let similarities: Vec<f32> = entries.iter().map(|e| e.similarity).collect();
    sqlx::query(&format!(
        "INSERT INTO {table} (candidate_id, job_id, score, factors, similarity)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int2[], $4::jsonb[], $5::real[])
         ON CONFLICT ({owner}, {other}) DO UPDATE
            SET score = EXCLUDED.score, factors = EXCLUDED.factors,
                similarity = EXCLUDED.similarity"
    ))
    .bind(&candidates)
    .bind(&jobs)
    .bind(&scores)
    .bind(&factors)
    .bind(&similarities)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Takes one pair out of one feed.
pub(in crate::matching) async fn remove_pair(
    tx: &mut PgConnection,
    feed: Feed,
    candidate_id: Uuid,
    job_id: Uuid,
) -> Result<(), Error> {
    let query = match feed {
        Feed::Candidate => "DELETE FROM candidate_feed WHERE candidate_id = $1 AND job_id = $2",
        Feed::Job => "DELETE FROM job_feed WHERE job_id = $2 AND candidate_id = $1",
    };
    sqlx::query(query)
        .bind(candidate_id)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Takes every entry of the given jobs (`Feed::Job`) or candidates (`Feed::Candidate`) out
/// of both feeds, but pairs with a job in `keep_jobs`; returns the candidates whose feed lost
/// any.
pub(in crate::matching) async fn take_out(
    tx: &mut PgConnection,
    of: Feed,
    ids: &[Uuid],
    keep_jobs: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (_, column, _) = of.columns();
    let lost = sqlx::query_scalar(&format!(
        "WITH gone AS (DELETE FROM candidate_feed
                        WHERE {column} = ANY($1) AND NOT job_id = ANY($2)
                       RETURNING candidate_id)
         SELECT DISTINCT candidate_id FROM gone"
    ))
    .bind(ids)
    .bind(keep_jobs)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "DELETE FROM job_feed WHERE {column} = ANY($1) AND NOT job_id = ANY($2)"
    ))
    .bind(ids)
    .bind(keep_jobs)
    .execute(&mut *tx)
    .await?;
    Ok(lost)
}

/// The owners whose feed holds fewer entries than `refill_below`.
pub(in crate::matching) async fn thin(
    tx: &mut PgConnection,
    feed: Feed,
    owners: &[Uuid],
    refill_below: usize,
) -> Result<Vec<Uuid>, Error> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let (table, owner_column, _) = feed.columns();
    Ok(sqlx::query_scalar(&format!(
        "SELECT owner FROM (SELECT DISTINCT unnest($1::uuid[]) AS owner) AS owners
         WHERE (SELECT count(*) FROM {table} WHERE {owner_column} = owner) < $2"
    ))
    .bind(owners)
    .bind(refill_below as i64)
    .fetch_all(&mut *tx)
    .await?)
}

/// Keeps at most `size` entries in each of the given owners' feeds, the best ones.
pub(in crate::matching) async fn prune(
    tx: &mut PgConnection,
    feed: Feed,
    owners: &[Uuid],
    size: usize,
) -> Result<(), Error> {
    if owners.is_empty() {
        return Ok(());
    }
    let (table, owner, other) = feed.columns();
    let mut owners = owners.to_vec();
    owners.sort_unstable();
    owners.dedup();
    // Walks each owner's ranked index past the first `size` entries.
    sqlx::query(&format!(
        "DELETE FROM {table} f
          USING UNNEST($1::uuid[]) AS o(id),
                LATERAL (SELECT {other} FROM {table}
                          WHERE {owner} = o.id
                          ORDER BY score DESC, similarity DESC, {other}
                         OFFSET $2) beyond
          WHERE f.{owner} = o.id AND f.{other} = beyond.{other}"
    ))
    .bind(&owners)
    .bind(size as i64)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::scratch::{entry, id, ranked, Scratch};

    #[test]
    fn each_owner_keeps_its_best_entries_by_score_then_similarity_then_the_other_id() {
        let entries = vec![
            entry(1, 10, 70, 0.5),
            entry(1, 11, 90, 0.1),
            entry(1, 12, 70, 0.9),
            entry(1, 13, 70, 0.5),
            entry(2, 10, 61, 0.0),
        ];
        let kept: Vec<(u128, u128)> = best_per_owner(Feed::Candidate, entries.clone(), 3)
            .iter()
            .map(|e| (e.candidate_id.as_u128(), e.job_id.as_u128()))
            .collect();
        assert_eq!(kept, [(1, 11), (1, 12), (1, 10), (2, 10)]);
        // The same pairs seen from the jobs' side: each job is an owner of its own.
        let per_job = best_per_owner(Feed::Job, entries, 1);
        assert_eq!(per_job.len(), 4);
        assert_eq!(
            per_job[0].candidate_id,
            id(1),
            "job 10's best is candidate 1"
        );
    }

    #[tokio::test]
    async fn a_feed_is_topped_up_to_its_size_and_a_full_one_only_with_what_beats_its_last() {
        let db = Scratch::new().await;
        let mut conn = db.conn().await;
        let gained = add(
            &mut conn,
            Feed::Candidate,
            vec![
                entry(1, 10, 80, 0.5),
                entry(1, 11, 70, 0.5),
                entry(1, 12, 65, 0.5),
                entry(2, 10, 75, 0.5),
            ],
            2,
        )
        .await
        .expect("add");
        assert_eq!(gained, [id(1), id(2)]);
        assert_eq!(
            ranked(&mut conn, Feed::Candidate, id(1)).await,
            [id(10), id(11)]
        );

        // Candidate 1's feed is full: below its last (70) stays out, above it goes in.
        let gained = add(
            &mut conn,
            Feed::Candidate,
            vec![entry(1, 13, 69, 0.9), entry(2, 13, 60, 0.1)],
            2,
        )
        .await
        .expect("add below the floor");
        assert_eq!(gained, [id(2)], "candidate 2's feed had room");
        let gained = add(&mut conn, Feed::Candidate, vec![entry(1, 14, 70, 0.6)], 2)
            .await
            .expect("add above the floor");
        assert_eq!(gained, [id(1)]);
        // Over size until the batch's prune.
        assert_eq!(
            ranked(&mut conn, Feed::Candidate, id(1)).await,
            [id(10), id(14), id(11)]
        );
        prune(&mut conn, Feed::Candidate, &[id(1), id(1), id(2)], 2)
            .await
            .expect("prune");
        assert_eq!(
            ranked(&mut conn, Feed::Candidate, id(1)).await,
            [id(10), id(14)]
        );
        assert_eq!(
            ranked(&mut conn, Feed::Candidate, id(2)).await,
            [id(10), id(13)]
        );
        drop(conn);
        db.drop().await;
    }

    #[tokio::test]
    async fn a_pair_written_again_takes_its_new_score() {
        let db = Scratch::new().await;
        let mut conn = db.conn().await;
        add(&mut conn, Feed::Job, vec![entry(1, 10, 80, 0.5)], 5)
            .await
            .expect("add");
        add(
            &mut conn,
            Feed::Job,
            vec![entry(1, 10, 62, 0.25), entry(1, 10, 99, 0.9)],
            5,
        )
        .await
        .expect("add again");
        let (score, similarity): (i16, f32) =
            sqlx::query_as("SELECT score, similarity FROM job_feed WHERE job_id = $1")
                .bind(id(10))
                .fetch_one(&mut *conn)
                .await
                .expect("the pair");
        // The better of the two given goes first, and is the one written.
        assert_eq!((score, similarity), (99, 0.9));
        drop(conn);
        db.drop().await;
    }

    #[tokio::test]
    async fn taking_out_jobs_empties_both_feeds_of_them_but_the_kept_jobs() {
        let db = Scratch::new().await;
        let mut conn = db.conn().await;
        let pairs = || {
            vec![
                entry(1, 10, 80, 0.5),
                entry(1, 11, 80, 0.5),
                entry(2, 11, 80, 0.5),
                entry(3, 12, 80, 0.5),
            ]
        };
        add(&mut conn, Feed::Candidate, pairs(), 10)
            .await
            .expect("add");
        add(&mut conn, Feed::Job, pairs(), 10).await.expect("add");

        let mut lost = take_out(&mut conn, Feed::Job, &[id(10), id(11)], &[])
            .await
            .expect("take out jobs");
        lost.sort();
        assert_eq!(lost, [id(1), id(2)]);
        assert!(ranked(&mut conn, Feed::Job, id(11)).await.is_empty());
        assert!(ranked(&mut conn, Feed::Candidate, id(2)).await.is_empty());
        assert_eq!(ranked(&mut conn, Feed::Candidate, id(3)).await, [id(12)]);

        // A candidate's entries go, but those with a kept job.
        add(&mut conn, Feed::Job, vec![entry(3, 13, 80, 0.5)], 10)
            .await
            .expect("add");
        let lost = take_out(&mut conn, Feed::Candidate, &[id(3)], &[id(13)])
            .await
            .expect("take out a candidate");
        assert_eq!(lost, [id(3)]);
        assert!(ranked(&mut conn, Feed::Job, id(12)).await.is_empty());
        assert_eq!(ranked(&mut conn, Feed::Job, id(13)).await, [id(3)]);
        drop(conn);
        db.drop().await;
    }

    #[tokio::test]
    async fn a_removed_pair_leaves_one_feed_and_thin_feeds_are_found() {
        let db = Scratch::new().await;
        let mut conn = db.conn().await;
        let pairs = || vec![entry(1, 10, 80, 0.5), entry(1, 11, 70, 0.5)];
        add(&mut conn, Feed::Candidate, pairs(), 10)
            .await
            .expect("add");
        add(&mut conn, Feed::Job, pairs(), 10).await.expect("add");

        remove_pair(&mut conn, Feed::Candidate, id(1), id(10))
            .await
            .expect("remove");
        assert_eq!(ranked(&mut conn, Feed::Candidate, id(1)).await, [id(11)]);
        assert_eq!(ranked(&mut conn, Feed::Job, id(10)).await, [id(1)]);
        remove_pair(&mut conn, Feed::Job, id(1), id(10))
            .await
            .expect("remove");
        assert!(ranked(&mut conn, Feed::Job, id(10)).await.is_empty());

        // Below the mark: one entry left (and none, for an owner never seen), not two.
        let mut thinned = thin(&mut conn, Feed::Candidate, &[id(1), id(1), id(9)], 2)
            .await
            .expect("thin");
        thinned.sort();
        assert_eq!(thinned, [id(1), id(9)]);
        assert!(thin(&mut conn, Feed::Candidate, &[id(1)], 1)
            .await
            .expect("thin")
            .is_empty());
        assert!(thin(&mut conn, Feed::Job, &[id(11)], 2)
            .await
            .expect("thin")
            .contains(&id(11)));
        drop(conn);
        db.drop().await;
    }
}
