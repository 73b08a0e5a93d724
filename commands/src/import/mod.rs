//! Importing jobs from public job-board feeds (Greenhouse, Lever), from a URL or a file.
//!
//! Each posting becomes a job whose id is derived from the employer, the board and the
//! posting's id there, so an import is idempotent: a posting seen before with the same
//! content appends nothing, a changed one appends `JobUpdated`, and an open job whose posting
//! disappeared from the feed is closed. A posting that cannot be read is reported with its
//! index and skipped; the rest of the feed goes in.

mod fetch;
mod greenhouse;
mod lever;
pub mod text;

use std::collections::HashSet;

use domain::job::{JobDetails, JobStatus, PostJob, SourceKind, UpdateJob};
use domain::DomainError;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use uuid::Uuid;

use crate::{CommandContext, CommandService, Error};

pub use fetch::{FetchPolicy, JOB_BOARD_HOSTS};

/// One posting read from a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    pub external_id: String,
    pub details: JobDetails,
}

/// A posting that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostingError {
    /// Its position in the feed, from 0.
    pub index: usize,
    pub reason: String,
}

/// The feed as a whole could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the feed is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("{0}")]
    Shape(&'static str),
    #[error("cannot read {0}")]
    Read(String, #[source] std::io::Error),
    #[error("feeds are fetched only from the job-board hosts {hosts}")]
    HostNotAllowed { hosts: String },
    /// Whatever went wrong (refused, closed, timed out, an error status): one answer.
    #[error("the feed could not be fetched")]
    Unreachable,
    #[error("only greenhouse and lever feeds can be imported, not {0}")]
    UnknownSource(String),
}

/// Reads a feed of the given board type.
pub fn parse(
    kind: SourceKind,
    feed: &[u8],
) -> Result<Vec<Result<Posting, PostingError>>, ImportError> {
    match kind {
        SourceKind::Greenhouse => greenhouse::parse(feed),
        SourceKind::Lever => lever::parse(feed),
        SourceKind::Manual => Err(ImportError::UnknownSource("manual".into())),
    }
}

/// The board type named `name` (`greenhouse` or `lever`).
pub fn source_kind(name: &str) -> Result<SourceKind, ImportError> {
    match name {
        "greenhouse" => Ok(SourceKind::Greenhouse),
        "lever" => Ok(SourceKind::Lever),
        other => Err(ImportError::UnknownSource(other.to_owned())),
    }
}

/// The largest feed read, in bytes.
const MAX_FEED_BYTES: usize = 64 << 20;

/// The bytes of a feed at an `http(s)://` URL `policy` allows, or in a local file.
pub async fn fetch(policy: &FetchPolicy, location: &str) -> Result<Vec<u8>, ImportError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        policy.fetch(location).await
    } else {
        let bytes = tokio::fs::read(location)
            .await
            .map_err(|e| ImportError::Read(location.to_owned(), e))?;
        if bytes.len() > MAX_FEED_BYTES {
            return Err(ImportError::Shape("the feed is larger than 64 MiB"));
        }
        Ok(bytes)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub received: usize,
    pub posted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Jobs whose posting disappeared from the feed.
    pub closed: usize,
    /// Postings of jobs closed earlier, left closed.
    pub already_closed: usize,
    pub rejected: Vec<PostingError>,
}

enum Outcome {
    Posted,
    Updated,
    Unchanged,
    AlreadyClosed,
}

/// The subject recorded as the actor of imports run from the command line.
pub const COMMAND_LINE_IMPORTER: Uuid = Uuid::from_u128(0x1390_47e5_0000_4000_8000_0000_0000_0001);

const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x1e0f_7c55_2b8d_4a3e_b1f4_6d2a_9c07_58e1);

/// The id of the job an employer's posting on a board becomes.
pub fn imported_job_id(employer_id: Uuid, kind: SourceKind, external_id: &str) -> Uuid {
    let name = format!("{employer_id}/{}/{external_id}", kind.as_str());
    Uuid::new_v5(&IMPORT_NAMESPACE, name.as_bytes())
}

/// Jobs an employer imported from a board, by id.
const IMPORTED_JOBS: &str = "
SELECT aggregate_id FROM events
 WHERE aggregate_type = 'job' AND event_type = 'JobPosted'
   AND payload #>> '{JobPosted,employer_id}' = $1
   AND payload #>> '{JobPosted,details,source,kind}' = $2";

/// How many postings are written at once.
const CONCURRENCY: usize = 8;

impl CommandService {
    /// Brings the employer's jobs from board `kind` in line with `postings`.
    #[tracing::instrument(name = "import", skip_all, fields(
        source = kind.as_str(),
        employer_id = %employer_id,
        postings = postings.len(),
        correlation_id = %ctx.correlation_id,
    ))]
    pub async fn import_jobs(
        &self,
        ctx: &CommandContext,
        employer_id: Uuid,
        kind: SourceKind,
        postings: Vec<Result<Posting, PostingError>>,
    ) -> Result<ImportReport, Error> {
        let mut report = ImportReport {
            received: postings.len(),
            ..ImportReport::default()
        };
        let mut in_feed = HashSet::new();
        let mut readable = Vec::new();
        for (index, posting) in postings.into_iter().enumerate() {
            match posting {
                Ok(posting) => {
                    let job_id = imported_job_id(employer_id, kind, &posting.external_id);
                    if in_feed.insert(job_id) {
                        readable.push((index, job_id, posting));
                    } else {
                        report.rejected.push(PostingError {
                            index,
                            reason: format!("posting {} appears twice", posting.external_id),
                        });
                    }
                }
                Err(error) => report.rejected.push(error),
            }
        }

        let outcomes: Vec<_> = stream::iter(readable)
            .map(|(index, job_id, posting)| async move {
                (
                    index,
                    self.import_posting(ctx, employer_id, job_id, posting.details)
                        .await,
                )
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (index, outcome) in outcomes {
            match outcome {
                Ok(Outcome::Posted) => report.posted += 1,
                Ok(Outcome::Updated) => report.updated += 1,
                Ok(Outcome::Unchanged) => report.unchanged += 1,
                Ok(Outcome::AlreadyClosed) => report.already_closed += 1,
                Err(Error::Domain(DomainError::Invalid(fields))) => {
                    let reason = fields
                        .iter()
                        .map(|f| format!("{} {}", f.field, f.problem))
                        .collect::<Vec<_>>()
                        .join("; ");
                    report.rejected.push(PostingError { index, reason });
                }
                Err(other) => return Err(other),
            }
        }
        report.rejected.sort_by_key(|r| r.index);

        let imported: Vec<String> = sqlx::query_scalar(IMPORTED_JOBS)
            .bind(employer_id.to_string())
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?;
        for job_id in imported {
            let Ok(job_id) = job_id.parse::<Uuid>() else {
                continue;
            };
            if in_feed.contains(&job_id) {
                continue;
            }
            match self.close_job(ctx, job_id).await {
                Ok(_) => report.closed += 1,
                Err(Error::Domain(DomainError::JobClosed { .. })) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }

    async fn import_posting(
        &self,
        ctx: &CommandContext,
        employer_id: Uuid,
        job_id: Uuid,
        details: JobDetails,
    ) -> Result<Outcome, Error> {
        let (job, version) = self.jobs.load(&job_id.to_string()).await?;
        match job.status {
            JobStatus::Unposted => {
                let command = PostJob {
                    job_id,
                    employer_id,
                    details,
                    posted_by: ctx.actor,
                };
                self.post_job(ctx, command).await?;
                Ok(Outcome::Posted)
            }
            JobStatus::Open => {
                let command = UpdateJob {
                    job_id,
                    details,
                    updated_by: ctx.actor,
                };
                let written = self.update_job(ctx, command).await?;
                Ok(if written.version > version {
                    Outcome::Updated
                } else {
                    Outcome::Unchanged
                })
            }
            JobStatus::Closed => Ok(Outcome::AlreadyClosed),
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::profile::{Proficiency, SalaryRange, WorkArrangement};

    use super::*;

    fn greenhouse() -> Vec<Result<Posting, PostingError>> {
        parse(
            SourceKind::Greenhouse,
            include_bytes!("fixtures/greenhouse.json"),
        )
        .expect("feed")
    }

    #[test]
    fn a_greenhouse_feed_reads_every_good_posting_and_reports_the_bad_one() {
        let postings = greenhouse();
        assert_eq!(postings.len(), 4);
        assert_eq!(
            postings[3],
            Err(PostingError {
                index: 3,
                reason: "`id` is missing or not a number".into()
            })
        );
        let rust = postings[0].as_ref().expect("first posting");
        // A 64-bit id keeps its digits.
        assert_eq!(rust.external_id, "4012345678901");
        let details = &rust.details;
        assert_eq!(details.title, "Senior Rust Engineer");
        assert!(details
            .description
            .starts_with("We build robots & the software that runs them.\nYou bring\n5+ years"));
        assert!(!details.description.contains('<') && !details.description.contains("&amp;"));
        assert_eq!(details.remote, WorkArrangement::Hybrid);
        assert_eq!(details.locations, ["Berlin (Hybrid)", "Berlin"]);
        assert_eq!(details.min_years, 5);
        assert_eq!(details.department.as_deref(), Some("Engineering"));
        assert_eq!(details.employment_type.as_deref(), Some("Full-time"));
        assert_eq!(
            details.salary,
            Some(SalaryRange {
                min: 90_000,
                max: 120_000,
                currency: "EUR".into()
            })
        );
        let skill = |name: &str| {
            details
                .skills
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.proficiency)
        };
        assert_eq!(skill("Rust"), Some(Proficiency::Expert));
        assert_eq!(skill("Kafka"), Some(Proficiency::Expert));
        assert_eq!(skill("PostgreSQL"), Some(Proficiency::Working));
        assert_eq!(skill("Kubernetes"), Some(Proficiency::Learning));
        assert_eq!(
            details.source.url.as_deref(),
            Some("https://careers.acme-robotics.example/jobs/4012345678901?gh_jid=4012345678901")
        );
    }

    #[test]
    fn greenhouse_postings_without_optional_fields_or_salary_still_import() {
        let postings = greenhouse();
        let analyst = &postings[1].as_ref().expect("null metadata").details;
        assert_eq!(analyst.salary, None);
        assert_eq!(analyst.remote, WorkArrangement::Remote);
        assert_eq!(analyst.min_years, 2);
        let manager = &postings[2].as_ref().expect("no content").details;
        assert_eq!(manager.description, "Office Manager");
        assert_eq!(manager.locations, ["Munich"]);
        assert_eq!(manager.remote, WorkArrangement::Onsite);
    }

    #[test]
    fn a_lever_feed_maps_workplace_type_salary_and_lists() {
        let postings =
            parse(SourceKind::Lever, include_bytes!("fixtures/lever.json")).expect("feed");
        assert_eq!(postings.len(), 3);
        assert_eq!(
            postings[2],
            Err(PostingError {
                index: 2,
                reason: "`text` (the title) is missing".into()
            })
        );
        let platform = &postings[0].as_ref().expect("platform").details;
        assert_eq!(platform.remote, WorkArrangement::Remote);
        assert_eq!(platform.locations, ["Lisbon", "Porto"]);
        // A monthly range, as a yearly one.
        assert_eq!(
            platform.salary,
            Some(SalaryRange {
                min: 60_000,
                max: 84_000,
                currency: "EUR".into()
            })
        );
        assert!(platform
            .description
            .contains("Requirements\n3+ years with Go via golang"));
        assert!(platform
            .description
            .contains("Learning budget & conferences"));
        assert_eq!(platform.min_years, 3);
        assert_eq!(platform.employment_type.as_deref(), Some("Full-time"));
        assert_eq!(platform.department.as_deref(), Some("Engineering"));
        for skill in ["AWS", "Terraform", "Kubernetes", "Go", "Linux"] {
            assert!(platform.skills.iter().any(|s| s.name == skill), "{skill}");
        }
        let designer = &postings[1].as_ref().expect("designer").details;
        assert_eq!(designer.remote, WorkArrangement::Hybrid);
        assert_eq!(designer.salary, None);
    }

    #[test]
    fn a_feed_of_the_wrong_shape_is_rejected_whole() {
        assert!(matches!(
            parse(SourceKind::Greenhouse, b"[]"),
            Err(ImportError::Shape(_))
        ));
        assert!(matches!(
            parse(SourceKind::Lever, b"{\"jobs\":[]}"),
            Err(ImportError::Shape(_))
        ));
        assert!(matches!(
            parse(SourceKind::Lever, b"nope"),
            Err(ImportError::NotJson(_))
        ));
    }

    #[test]
    fn imported_job_ids_are_stable_per_employer_board_and_posting() {
        let employer = Uuid::from_u128(1);
        let id = imported_job_id(employer, SourceKind::Lever, "abc");
        assert_eq!(id, imported_job_id(employer, SourceKind::Lever, "abc"));
        assert_ne!(id, imported_job_id(employer, SourceKind::Greenhouse, "abc"));
        assert_ne!(
            id,
            imported_job_id(Uuid::from_u128(2), SourceKind::Lever, "abc")
        );
    }
}
