//! The job: a position an employer posts and candidates swipe on.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::profile::{tidy, tidy_skills, SalaryRange, Skill, WorkArrangement};
use crate::{Actor, DomainError, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum JobCommand {
    PostJob(PostJob),
    UpdateJob(UpdateJob),
    CloseJob(CloseJob),
    AssignRecruiter(AssignRecruiter),
}

crate::domain_command!(JobCommand {
    PostJob,
    UpdateJob,
    CloseJob,
    AssignRecruiter
});

/// Where a posting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    Manual,
    Greenhouse,
    Lever,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Manual => "manual",
            SourceKind::Greenhouse => "greenhouse",
            SourceKind::Lever => "lever",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct JobSource {
    pub kind: SourceKind,
    /// The posting's id on its board, for imported jobs.
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Everything a job says about itself; replaced as a whole on each update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobDetails {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub skills: Vec<Skill>,
    #[serde(default)]
    pub min_years: i32,
    #[serde(default)]
    pub salary: Option<SalaryRange>,
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub remote: WorkArrangement,
    /// Work authorizations a candidate must hold (any of them).
    #[serde(default)]
    pub work_authorizations: Vec<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub employment_type: Option<String>,
    #[serde(default)]
    pub source: JobSource,
}

impl JobDetails {
    fn validate(&self) -> Result<(), DomainError> {
        let mut v = Validator::default();
        v.text("title", &self.title, 200)
            .text("description", &self.description, 100_000)
            .skills("skills", &self.skills, 50)
            .range("min_years", i64::from(self.min_years), 0, 50)
            .list("locations", &self.locations, 50, 200)
            .list("work_authorizations", &self.work_authorizations, 20, 100);
        if let Some(salary) = &self.salary {
            v.salary_range("salary", salary);
        }
        for (field, value) in [
            ("department", &self.department),
            ("employment_type", &self.employment_type),
            ("source.external_id", &self.source.external_id),
        ] {
            if let Some(value) = value {
                v.optional_text(field, value, 200);
            }
        }
        if let Some(url) = &self.source.url {
            v.optional_text("source.url", url, 2_000);
        }
        v.finish()
    }

    fn tidied(self) -> Self {
        Self {
            title: self.title.trim().to_owned(),
            description: self.description.trim().to_owned(),
            skills: tidy_skills(self.skills),
            locations: tidy(self.locations),
            work_authorizations: tidy(self.work_authorizations),
            ..self
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PostJob {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub details: JobDetails,
    pub posted_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateJob {
    pub job_id: Uuid,
    pub details: JobDetails,
    pub updated_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CloseJob {
    pub job_id: Uuid,
    pub closed_by: Actor,
}

/// Assigns a member of the job's organization to it as a recruiter, or takes the assignment
/// back (`assigned: false`). A job with assigned recruiters is theirs (and its owners') to
/// act on; one with none is every recruiter's of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssignRecruiter {
    pub job_id: Uuid,
    pub account_id: Uuid,
    pub assigned: bool,
    pub by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum JobEvent {
    JobPosted {
        job_id: Uuid,
        employer_id: Uuid,
        details: JobDetails,
    },
    JobUpdated {
        job_id: Uuid,
        employer_id: Uuid,
        details: JobDetails,
    },
    JobClosed {
        job_id: Uuid,
        employer_id: Uuid,
    },
    RecruiterAssigned {
        job_id: Uuid,
        employer_id: Uuid,
        account_id: Uuid,
    },
    RecruiterUnassigned {
        job_id: Uuid,
        employer_id: Uuid,
        account_id: Uuid,
    },
}

crate::domain_event!(JobEvent {
    JobPosted,
    JobUpdated,
    JobClosed,
    RecruiterAssigned,
    RecruiterUnassigned,
});

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JobStatus {
    #[default]
    Unposted,
    Open,
    Closed,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    pub status: JobStatus,
    pub employer_id: Option<Uuid>,
    pub details: Option<JobDetails>,
    /// The recruiters assigned to the job.
    #[serde(default)]
    pub recruiters: std::collections::BTreeSet<Uuid>,
}

impl Job {
    /// What a pairing needs to know about this job, or `None` if it was never posted.
    pub fn as_ref(&self, job_id: Uuid) -> Option<JobRef> {
        Some(JobRef {
            job_id,
            employer_id: self.employer_id?,
            open: self.status == JobStatus::Open,
        })
    }
}

/// A job as another aggregate sees it when a command involves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobRef {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub open: bool,
}

impl Aggregate for Job {
    const TYPE: &'static str = "job";
    type Command = JobCommand;
    type Event = JobEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            JobCommand::PostJob(cmd) => {
                if self.status != JobStatus::Unposted {
                    return Err(DomainError::JobAlreadyPosted { job_id: cmd.job_id });
                }
                if !cmd.posted_by.may(Write::PostJob, cmd.employer_id) {
                    return Err(forbidden(cmd.posted_by, cmd.employer_id));
                }
                cmd.details.validate()?;
                let event = JobEvent::JobPosted {
                    job_id: cmd.job_id,
                    employer_id: cmd.employer_id,
                    details: cmd.details.tidied(),
                };
                sink.write(event, self).await;
            }
            JobCommand::UpdateJob(cmd) => {
                let employer_id = self.open_job(cmd.job_id)?;
                if !cmd.updated_by.may(Write::UpdateJob, employer_id) {
                    return Err(forbidden(cmd.updated_by, cmd.job_id));
                }
                cmd.details.validate()?;
                let details = cmd.details.tidied();
                if self.details.as_ref() == Some(&details) {
                    return Ok(());
                }
                let event = JobEvent::JobUpdated {
                    job_id: cmd.job_id,
                    employer_id,
                    details,
                };
                sink.write(event, self).await;
            }
            JobCommand::CloseJob(cmd) => {
                let employer_id = self.open_job(cmd.job_id)?;
                if !cmd.closed_by.may(Write::CloseJob, employer_id) {
                    return Err(forbidden(cmd.closed_by, cmd.job_id));
                }
                let event = JobEvent::JobClosed {
                    job_id: cmd.job_id,
                    employer_id,
                };
                sink.write(event, self).await;
            }
            JobCommand::AssignRecruiter(cmd) => {
                let employer_id = self.open_job(cmd.job_id)?;
                if !cmd.by.may(Write::UpdateJob, employer_id) {
                    return Err(forbidden(cmd.by, cmd.job_id));
                }
                let (job_id, account_id) = (cmd.job_id, cmd.account_id);
                let event = match (cmd.assigned, self.recruiters.contains(&account_id)) {
                    (true, false) => JobEvent::RecruiterAssigned {
                        job_id,
                        employer_id,
                        account_id,
                    },
                    (false, true) => JobEvent::RecruiterUnassigned {
                        job_id,
                        employer_id,
                        account_id,
                    },
                    // Already so: nothing to record.
                    _ => return Ok(()),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            JobEvent::JobPosted {
                employer_id,
                details,
                ..
            } => {
                self.status = JobStatus::Open;
                self.employer_id = Some(employer_id);
                self.details = Some(details);
            }
            JobEvent::JobUpdated { details, .. } => self.details = Some(details),
            JobEvent::JobClosed { .. } => self.status = JobStatus::Closed,
            JobEvent::RecruiterAssigned { account_id, .. } => {
                self.recruiters.insert(account_id);
            }
            JobEvent::RecruiterUnassigned { account_id, .. } => {
                self.recruiters.remove(&account_id);
            }
        }
    }
}

impl Job {
    /// The employer of the job, if it is posted and open.
    fn open_job(&self, job_id: Uuid) -> Result<Uuid, DomainError> {
        match (self.status, self.employer_id) {
            (JobStatus::Open, Some(employer_id)) => Ok(employer_id),
            (JobStatus::Closed, _) => Err(DomainError::JobClosed { job_id }),
            _ => Err(DomainError::JobNotFound { job_id }),
        }
    }
}

fn forbidden(actor: Actor, resource: Uuid) -> DomainError {
    DomainError::forbidden(actor, "job", resource)
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::Role;

    type JobTest = TestFramework<Job>;

    const JOB: Uuid = Uuid::from_u128(0x10b);
    const ACME: Uuid = Uuid::from_u128(0xac3e);

    fn acme() -> Actor {
        Actor::new(ACME, Role::Employer)
    }

    pub(crate) fn details() -> JobDetails {
        JobDetails {
            title: "Rust engineer".into(),
            description: "Build event-sourced systems.".into(),
            skills: vec![Skill {
                name: "Rust".into(),
                proficiency: crate::profile::Proficiency::Expert,
            }],
            min_years: 3,
            salary: Some(SalaryRange {
                min: 120_000,
                max: 160_000,
                currency: "USD".into(),
            }),
            locations: vec!["Berlin".into()],
            remote: WorkArrangement::Hybrid,
            work_authorizations: vec![],
            department: None,
            employment_type: None,
            source: JobSource::default(),
        }
    }

    fn post(by: Actor) -> JobCommand {
        JobCommand::PostJob(PostJob {
            job_id: JOB,
            employer_id: ACME,
            details: details(),
            posted_by: by,
        })
    }

    fn posted() -> JobEvent {
        JobEvent::JobPosted {
            job_id: JOB,
            employer_id: ACME,
            details: details(),
        }
    }

    fn update(details: JobDetails, by: Actor) -> JobCommand {
        JobCommand::UpdateJob(UpdateJob {
            job_id: JOB,
            details,
            updated_by: by,
        })
    }

    #[test]
    fn the_owner_updates_a_job_and_an_unchanged_update_appends_nothing() {
        let mut changed = details();
        changed.min_years = 5;
        JobTest::with(())
            .given(vec![posted()])
            .when(update(changed.clone(), acme()))
            .then_expect_events(vec![JobEvent::JobUpdated {
                job_id: JOB,
                employer_id: ACME,
                details: changed,
            }]);
        JobTest::with(())
            .given(vec![posted()])
            .when(update(details(), acme()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn another_employer_cannot_update_the_job_nor_anyone_a_closed_one() {
        let other = Actor::new(Uuid::from_u128(99), Role::Employer);
        JobTest::with(())
            .given(vec![posted()])
            .when(update(details(), other))
            .then_expect_error(forbidden(other, JOB));
        JobTest::with(())
            .given(vec![
                posted(),
                JobEvent::JobClosed {
                    job_id: JOB,
                    employer_id: ACME,
                },
            ])
            .when(update(details(), acme()))
            .then_expect_error(DomainError::JobClosed { job_id: JOB });
    }

    #[test]
    fn a_job_with_bad_details_is_rejected_with_every_problem() {
        let mut bad = details();
        bad.title = " ".into();
        bad.salary = Some(SalaryRange {
            min: 200,
            max: 100,
            currency: "usd".into(),
        });
        bad.min_years = 99;
        let result = JobTest::with(())
            .given_no_previous_events()
            .when(JobCommand::PostJob(PostJob {
                job_id: JOB,
                employer_id: ACME,
                details: bad,
                posted_by: acme(),
            }))
            .inspect_result();
        let Err(DomainError::Invalid(fields)) = result else {
            panic!("expected field errors, got {result:?}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field).collect();
        assert_eq!(names, ["title", "min_years", "salary", "salary"]);
    }

    fn close(by: Actor) -> JobCommand {
        JobCommand::CloseJob(CloseJob {
            job_id: JOB,
            closed_by: by,
        })
    }

    #[test]
    fn an_employer_posts_a_job_for_itself() {
        JobTest::with(())
            .given_no_previous_events()
            .when(post(acme()))
            .then_expect_events(vec![posted()]);
    }

    #[test]
    fn an_employer_cannot_post_for_another_employer() {
        let other = Actor::new(Uuid::from_u128(99), Role::Employer);
        JobTest::with(())
            .given_no_previous_events()
            .when(post(other))
            .then_expect_error(forbidden(other, ACME));
    }

    #[test]
    fn a_job_is_posted_only_once() {
        JobTest::with(())
            .given(vec![posted()])
            .when(post(acme()))
            .then_expect_error(DomainError::JobAlreadyPosted { job_id: JOB });
    }

    #[test]
    fn the_owner_closes_an_open_job() {
        JobTest::with(())
            .given(vec![posted()])
            .when(close(acme()))
            .then_expect_events(vec![JobEvent::JobClosed {
                job_id: JOB,
                employer_id: ACME,
            }]);
    }

    #[test]
    fn an_admin_may_close_any_job() {
        JobTest::with(())
            .given(vec![posted()])
            .when(close(Actor::new(Uuid::from_u128(1), Role::Admin)))
            .then_expect_events(vec![JobEvent::JobClosed {
                job_id: JOB,
                employer_id: ACME,
            }]);
    }

    #[test]
    fn another_employer_cannot_close_the_job() {
        let other = Actor::new(Uuid::from_u128(99), Role::Employer);
        JobTest::with(())
            .given(vec![posted()])
            .when(close(other))
            .then_expect_error(forbidden(other, JOB));
    }

    #[test]
    fn closing_an_unknown_or_closed_job_is_rejected() {
        JobTest::with(())
            .given_no_previous_events()
            .when(close(acme()))
            .then_expect_error(DomainError::JobNotFound { job_id: JOB });
        JobTest::with(())
            .given(vec![
                posted(),
                JobEvent::JobClosed {
                    job_id: JOB,
                    employer_id: ACME,
                },
            ])
            .when(close(acme()))
            .then_expect_error(DomainError::JobClosed { job_id: JOB });
    }
}
