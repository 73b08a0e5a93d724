//! The job: a position an employer posts and candidates swipe on.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::{Actor, DomainError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobCommand {
    PostJob(PostJob),
    CloseJob(CloseJob),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostJob {
    pub job_id: Uuid,
    pub employer_id: Uuid,
    pub title: String,
    pub description: String,
    pub posted_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseJob {
    pub job_id: Uuid,
    pub closed_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobEvent {
    JobPosted {
        job_id: Uuid,
        employer_id: Uuid,
        title: String,
        description: String,
    },
    JobClosed {
        job_id: Uuid,
        employer_id: Uuid,
    },
}

impl DomainEvent for JobEvent {
    fn event_type(&self) -> String {
        match self {
            JobEvent::JobPosted { .. } => "JobPosted".into(),
            JobEvent::JobClosed { .. } => "JobClosed".into(),
        }
    }

    fn event_version(&self) -> String {
        crate::FIRST_EVENT_VERSION.into()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    #[default]
    Unposted,
    Open,
    Closed,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub status: JobStatus,
    pub employer_id: Option<Uuid>,
    pub title: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
                if !cmd.posted_by.acts_for(cmd.employer_id) {
                    return Err(forbidden(cmd.posted_by, cmd.employer_id));
                }
                Validator::default()
                    .text("title", &cmd.title, 200)
                    .text("description", &cmd.description, 20_000)
                    .finish()?;
                let event = JobEvent::JobPosted {
                    job_id: cmd.job_id,
                    employer_id: cmd.employer_id,
                    title: cmd.title.trim().to_owned(),
                    description: cmd.description.trim().to_owned(),
                };
                sink.write(event, self).await;
            }
            JobCommand::CloseJob(cmd) => {
                let employer_id = match (self.status, self.employer_id) {
                    (JobStatus::Unposted, _) | (_, None) => {
                        return Err(DomainError::JobNotFound { job_id: cmd.job_id })
                    }
                    (JobStatus::Closed, _) => {
                        return Err(DomainError::JobClosed { job_id: cmd.job_id })
                    }
                    (JobStatus::Open, Some(employer_id)) => employer_id,
                };
                if !cmd.closed_by.acts_for(employer_id) {
                    return Err(forbidden(cmd.closed_by, cmd.job_id));
                }
                let event = JobEvent::JobClosed {
                    job_id: cmd.job_id,
                    employer_id,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            JobEvent::JobPosted {
                employer_id, title, ..
            } => {
                self.status = JobStatus::Open;
                self.employer_id = Some(employer_id);
                self.title = title;
            }
            JobEvent::JobClosed { .. } => self.status = JobStatus::Closed,
        }
    }
}

fn forbidden(actor: Actor, resource: Uuid) -> DomainError {
    DomainError::Forbidden {
        subject: actor.subject,
        role: actor.role,
        resource: format!("job {resource}"),
    }
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

    fn post(by: Actor) -> JobCommand {
        JobCommand::PostJob(PostJob {
            job_id: JOB,
            employer_id: ACME,
            title: "Rust engineer".into(),
            description: "Build event-sourced systems.".into(),
            posted_by: by,
        })
    }

    fn posted() -> JobEvent {
        JobEvent::JobPosted {
            job_id: JOB,
            employer_id: ACME,
            title: "Rust engineer".into(),
            description: "Build event-sourced systems.".into(),
        }
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
