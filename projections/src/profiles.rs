//! Candidate and employer profiles, as the API shows them.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::candidate::{Candidate, CandidateEvent};
use domain::employer::{Employer, EmployerEvent};
use domain::profile::CompanySize;
use domain::published::PublishedEvent;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Error, Projection};

/// Builds `candidate_view` and `employer_view`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProfilesProjector;

const INSERT_CANDIDATE: &str = "
INSERT INTO candidate_view (candidate_id, name, email, registered_at, updated_at)
VALUES ($1, $2, $3, $4, $4)";

const UPDATE_CANDIDATE_PROFILE: &str = "
UPDATE candidate_view
   SET headline = $2, profile = $3, skills = $4, years_experience = $5, remote = $6,
       locations = $7, updated_at = $8
 WHERE candidate_id = $1";

const UPDATE_CANDIDATE_SCORE: &str =
    "UPDATE candidate_view SET validation_score = $2, updated_at = $3 WHERE candidate_id = $1";

const INSERT_EMPLOYER: &str = "
INSERT INTO employer_view (employer_id, name, registered_at, updated_at) VALUES ($1, $2, $3, $3)";

const UPDATE_EMPLOYER: &str = "
UPDATE employer_view
   SET name = $2, size = $3, industry = $4, pace = $5, website = $6, updated_at = $7
 WHERE employer_id = $1";

/// The snake_case name serde gives a unit enum variant.
pub(crate) fn variant_name<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()?
        .as_str()
        .map(str::to_owned)
}

impl Projection for ProfilesProjector {
    const NAME: &'static str = "profiles";
    const AGGREGATE_TYPES: &'static [&'static str] = &[Candidate::TYPE, Employer::TYPE];

    async fn apply(&self, tx: &mut PgConnection, event: &PublishedEvent) -> Result<(), Error> {
        let at = event.recorded_at;
        if event.aggregate_type == Candidate::TYPE {
            match event.decode().map_err(|e| Error::payload(event, e))? {
                CandidateEvent::CandidateRegistered {
                    candidate_id,
                    name,
                    email,
                } => {
                    sqlx::query(INSERT_CANDIDATE)
                        .bind(candidate_id)
                        .bind(name)
                        .bind(email)
                        .bind(at)
                        .execute(tx)
                        .await?;
                }
                CandidateEvent::CandidateProfileUpdated {
                    candidate_id,
                    profile,
                } => {
                    let skills: Vec<String> = profile
                        .skills
                        .iter()
                        .map(|s| s.name.to_lowercase())
                        .collect();
                    sqlx::query(UPDATE_CANDIDATE_PROFILE)
                        .bind(candidate_id)
                        .bind(&profile.headline)
                        .bind(serde_json::to_value(&profile).unwrap_or_default())
                        .bind(skills)
                        .bind(profile.years_experience)
                        .bind(profile.remote.as_str())
                        .bind(&profile.locations)
                        .bind(at)
                        .execute(tx)
                        .await?;
                }
                CandidateEvent::CandidateValidated {
                    candidate_id,
                    score,
                } => {
                    sqlx::query(UPDATE_CANDIDATE_SCORE)
                        .bind(candidate_id)
                        .bind(score)
                        .bind(at)
                        .execute(tx)
                        .await?;
                }
                CandidateEvent::CandidateErased { candidate_id } => {
                    sqlx::query("DELETE FROM candidate_view WHERE candidate_id = $1")
                        .bind(candidate_id)
                        .execute(tx)
                        .await?;
                }
            }
        } else if event.aggregate_type == Employer::TYPE {
            match event.decode().map_err(|e| Error::payload(event, e))? {
                EmployerEvent::EmployerRegistered { employer_id, name } => {
                    sqlx::query(INSERT_EMPLOYER)
                        .bind(employer_id)
                        .bind(name)
                        .bind(at)
                        .execute(tx)
                        .await?;
                }
                EmployerEvent::EmployerProfileUpdated {
                    employer_id,
                    profile,
                } => {
                    sqlx::query(UPDATE_EMPLOYER)
                        .bind(employer_id)
                        .bind(&profile.name)
                        .bind(profile.size.as_ref().and_then(variant_name::<CompanySize>))
                        .bind(&profile.industry)
                        .bind(profile.pace.as_ref().and_then(variant_name))
                        .bind(&profile.website)
                        .bind(at)
                        .execute(tx)
                        .await?;
                }
                // Keys, members, suspensions and partners are the write side's: no profile
                // shows them.
                EmployerEvent::ApiKeyCreated { .. }
                | EmployerEvent::ApiKeyRevoked { .. }
                | EmployerEvent::MemberInvited { .. }
                | EmployerEvent::MemberJoined { .. }
                | EmployerEvent::MemberRemoved { .. }
                | EmployerEvent::EmployerSuspended { .. }
                | EmployerEvent::EmployerReinstated { .. }
                | EmployerEvent::PartnerEnrolled { .. }
                | EmployerEvent::TenantOnboarded { .. }
                | EmployerEvent::PartnerAssigned { .. } => {}
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> Result<(), Error> {
        sqlx::query("DELETE FROM candidate_view")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM employer_view")
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CandidateView {
    pub candidate_id: Uuid,
    pub name: String,
    pub email: String,
    pub headline: Option<String>,
    pub profile: Option<serde_json::Value>,
    pub validation_score: Option<i32>,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EmployerView {
    pub employer_id: Uuid,
    pub name: String,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub pace: Option<String>,
    pub website: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn candidate(pool: &PgPool, candidate_id: Uuid) -> Result<Option<CandidateView>, Error> {
    Ok(sqlx::query_as(
        "SELECT candidate_id, name, email, headline, profile, validation_score, registered_at,
                updated_at
           FROM candidate_view WHERE candidate_id = $1",
    )
    .bind(candidate_id)
    .fetch_optional(pool)
    .await?)
}

/// What ties an employer to a candidate: whether the candidate applied to one of its jobs or
/// matched one (`connected`), and whether the candidate is in the feed of one of its jobs or
/// either side swiped (`considered`).
pub async fn employer_relation(
    pool: &PgPool,
    employer_id: Uuid,
    candidate_id: Uuid,
) -> Result<(bool, bool), Error> {
    Ok(sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM application_view
                         WHERE employer_id = $1 AND candidate_id = $2)
                OR EXISTS (SELECT 1 FROM pairing_view
                            WHERE employer_id = $1 AND candidate_id = $2
                              AND matched_at IS NOT NULL),
                EXISTS (SELECT 1 FROM pairing_view WHERE employer_id = $1 AND candidate_id = $2)
                OR EXISTS (SELECT 1 FROM job_feed f JOIN matching_job j ON j.job_id = f.job_id
                            WHERE j.employer_id = $1 AND f.candidate_id = $2)",
    )
    .bind(employer_id)
    .bind(candidate_id)
    .fetch_one(pool)
    .await?)
}

pub async fn employer(pool: &PgPool, employer_id: Uuid) -> Result<Option<EmployerView>, Error> {
    Ok(
        sqlx::query_as("SELECT * FROM employer_view WHERE employer_id = $1")
            .bind(employer_id)
            .fetch_optional(pool)
            .await?,
    )
}
