//! The application: a candidate applies to an open job once; the job's employer moves it
//! through the hiring stages; the candidate may withdraw it while it is open.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::job::JobRef;
use crate::{Actor, DomainError, Write};

const APPLICATION_NAMESPACE: Uuid = Uuid::from_u128(0x9d2e_41a7_0c3b_4f58_a6e1_7b90_c2d4_e813);

/// The id of `candidate_id`'s application to `job_id`: one per candidate and job.
pub fn application_id(candidate_id: Uuid, job_id: Uuid) -> Uuid {
    let mut name = [0u8; 32];
    name[..16].copy_from_slice(candidate_id.as_bytes());
    name[16..].copy_from_slice(job_id.as_bytes());
    Uuid::new_v5(&APPLICATION_NAMESPACE, &name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Submitted,
    Screening,
    Interviewing,
    Offered,
    Hired,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::Screening => "screening",
            ApplicationStatus::Interviewing => "interviewing",
            ApplicationStatus::Offered => "offered",
            ApplicationStatus::Hired => "hired",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(
            self,
            ApplicationStatus::Hired | ApplicationStatus::Rejected | ApplicationStatus::Withdrawn
        )
    }

    /// Whether the employer may move an application from `self` to `to`: one stage forward
    /// at a time, or rejected from any open stage.
    pub fn employer_may_move_to(self, to: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, to),
            (Submitted, Screening)
                | (Screening, Interviewing)
                | (Interviewing, Offered)
                | (Offered, Hired)
                | (Submitted | Screening | Interviewing | Offered, Rejected)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationCommand {
    SubmitApplication(SubmitApplication),
    ChangeApplicationStatus(ChangeApplicationStatus),
    WithdrawApplication(WithdrawApplication),
}

crate::domain_command!(ApplicationCommand {
    SubmitApplication,
    ChangeApplicationStatus,
    WithdrawApplication
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubmitApplication {
    pub candidate_id: Uuid,
    pub job_id: Uuid,
    /// The job as the write side found it; `None` if it was never posted.
    pub job: Option<JobRef>,
    pub document_ids: Vec<Uuid>,
    pub submitted_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeApplicationStatus {
    pub application_id: Uuid,
    pub status: ApplicationStatus,
    pub changed_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WithdrawApplication {
    pub application_id: Uuid,
    pub withdrawn_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ApplicationEvent {
    ApplicationSubmitted {
        application_id: Uuid,
        candidate_id: Uuid,
        job_id: Uuid,
        employer_id: Uuid,
        document_ids: Vec<Uuid>,
    },
    ApplicationStatusChanged {
        application_id: Uuid,
        from: ApplicationStatus,
        to: ApplicationStatus,
    },
    ApplicationWithdrawn {
        application_id: Uuid,
        from: ApplicationStatus,
    },
}

crate::domain_event!(ApplicationEvent {
    ApplicationSubmitted,
    ApplicationStatusChanged,
    ApplicationWithdrawn,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Application {
    pub status: Option<ApplicationStatus>,
    pub candidate_id: Option<Uuid>,
    pub employer_id: Option<Uuid>,
    #[serde(default)]
    pub job_id: Option<Uuid>,
}

impl Aggregate for Application {
    const TYPE: &'static str = "application";
    type Command = ApplicationCommand;
    type Event = ApplicationEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            ApplicationCommand::SubmitApplication(cmd) => {
                let application_id = application_id(cmd.candidate_id, cmd.job_id);
                if self.status.is_some() {
                    return Err(DomainError::AlreadyApplied { application_id });
                }
                let job = cmd
                    .job
                    .ok_or(DomainError::JobNotFound { job_id: cmd.job_id })?;
                if !cmd
                    .submitted_by
                    .may(Write::SubmitApplication, cmd.candidate_id)
                {
                    return Err(forbidden(cmd.submitted_by, application_id));
                }
                if !job.open {
                    return Err(DomainError::JobClosed { job_id: cmd.job_id });
                }
                if cmd.document_ids.len() > 10 {
                    return Err(DomainError::Invalid(vec![crate::FieldError::new(
                        "document_ids",
                        "must have at most 10 entries",
                    )]));
                }
                ApplicationEvent::ApplicationSubmitted {
                    application_id,
                    candidate_id: cmd.candidate_id,
                    job_id: cmd.job_id,
                    employer_id: job.employer_id,
                    document_ids: cmd.document_ids,
                }
            }
            ApplicationCommand::ChangeApplicationStatus(cmd) => {
                let (from, _, employer_id) = self.existing(cmd.application_id)?;
                if !cmd
                    .changed_by
                    .may(Write::ChangeApplicationStatus, employer_id)
                {
                    return Err(forbidden(cmd.changed_by, cmd.application_id));
                }
                if from == cmd.status {
                    return Ok(());
                }
                if !from.employer_may_move_to(cmd.status) {
                    return Err(DomainError::InvalidTransition {
                        from: from.as_str(),
                        to: cmd.status.as_str(),
                    });
                }
                ApplicationEvent::ApplicationStatusChanged {
                    application_id: cmd.application_id,
                    from,
                    to: cmd.status,
                }
            }
            ApplicationCommand::WithdrawApplication(cmd) => {
                let (from, candidate_id, _) = self.existing(cmd.application_id)?;
                if !cmd
                    .withdrawn_by
                    .may(Write::WithdrawApplication, candidate_id)
                {
                    return Err(forbidden(cmd.withdrawn_by, cmd.application_id));
                }
                if from == ApplicationStatus::Withdrawn {
                    return Ok(());
                }
                if !from.is_open() {
                    return Err(DomainError::InvalidTransition {
                        from: from.as_str(),
                        to: ApplicationStatus::Withdrawn.as_str(),
                    });
                }
                ApplicationEvent::ApplicationWithdrawn {
                    application_id: cmd.application_id,
                    from,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ApplicationEvent::ApplicationSubmitted {
                candidate_id,
                employer_id,
                job_id,
                ..
            } => {
                self.status = Some(ApplicationStatus::Submitted);
                self.candidate_id = Some(candidate_id);
                self.employer_id = Some(employer_id);
                self.job_id = Some(job_id);
            }
            ApplicationEvent::ApplicationStatusChanged { to, .. } => self.status = Some(to),
            ApplicationEvent::ApplicationWithdrawn { .. } => {
                self.status = Some(ApplicationStatus::Withdrawn)
            }
        }
    }
}

impl Application {
    /// Status, candidate and employer of a submitted application.
    fn existing(
        &self,
        application_id: Uuid,
    ) -> Result<(ApplicationStatus, Uuid, Uuid), DomainError> {
        match (self.status, self.candidate_id, self.employer_id) {
            (Some(status), Some(candidate), Some(employer)) => Ok((status, candidate, employer)),
            _ => Err(DomainError::ApplicationNotFound { application_id }),
        }
    }
}

fn forbidden(actor: Actor, application_id: Uuid) -> DomainError {
    DomainError::forbidden(actor, "application", application_id)
}

#[cfg(test)]
mod tests {
    use crate::Role;
    use cqrs_es::test::TestFramework;

    use super::*;
    use ApplicationStatus::*;

    type ApplicationTest = TestFramework<Application>;

    const CANDIDATE: Uuid = Uuid::from_u128(0xc);
    const JOB: Uuid = Uuid::from_u128(0x10b);
    const EMPLOYER: Uuid = Uuid::from_u128(0xe);

    fn id() -> Uuid {
        application_id(CANDIDATE, JOB)
    }

    fn candidate() -> Actor {
        Actor::new(CANDIDATE, Role::Candidate)
    }

    fn employer() -> Actor {
        Actor::new(EMPLOYER, Role::Employer)
    }

    fn submit(open: bool) -> ApplicationCommand {
        ApplicationCommand::SubmitApplication(SubmitApplication {
            candidate_id: CANDIDATE,
            job_id: JOB,
            job: Some(JobRef {
                job_id: JOB,
                employer_id: EMPLOYER,
                open,
            }),
            document_ids: vec![Uuid::from_u128(0xd0c)],
            submitted_by: candidate(),
        })
    }

    fn submitted() -> ApplicationEvent {
        ApplicationEvent::ApplicationSubmitted {
            application_id: id(),
            candidate_id: CANDIDATE,
            job_id: JOB,
            employer_id: EMPLOYER,
            document_ids: vec![Uuid::from_u128(0xd0c)],
        }
    }

    fn moved(from: ApplicationStatus, to: ApplicationStatus) -> ApplicationEvent {
        ApplicationEvent::ApplicationStatusChanged {
            application_id: id(),
            from,
            to,
        }
    }

    fn change(to: ApplicationStatus, by: Actor) -> ApplicationCommand {
        ApplicationCommand::ChangeApplicationStatus(ChangeApplicationStatus {
            application_id: id(),
            status: to,
            changed_by: by,
        })
    }

    fn history_until(status: ApplicationStatus) -> Vec<ApplicationEvent> {
        let path = [Submitted, Screening, Interviewing, Offered, Hired];
        let mut events = vec![submitted()];
        for pair in path.windows(2) {
            if pair[0] == status {
                break;
            }
            events.push(moved(pair[0], pair[1]));
        }
        events
    }

    #[test]
    fn a_candidate_applies_to_an_open_job_once() {
        ApplicationTest::with(())
            .given_no_previous_events()
            .when(submit(true))
            .then_expect_events(vec![submitted()]);
        ApplicationTest::with(())
            .given(vec![submitted()])
            .when(submit(true))
            .then_expect_error(DomainError::AlreadyApplied {
                application_id: id(),
            });
    }

    #[test]
    fn applying_to_a_closed_or_unknown_job_is_rejected() {
        ApplicationTest::with(())
            .given_no_previous_events()
            .when(submit(false))
            .then_expect_error(DomainError::JobClosed { job_id: JOB });
        ApplicationTest::with(())
            .given_no_previous_events()
            .when(ApplicationCommand::SubmitApplication(SubmitApplication {
                candidate_id: CANDIDATE,
                job_id: JOB,
                job: None,
                document_ids: vec![],
                submitted_by: candidate(),
            }))
            .then_expect_error(DomainError::JobNotFound { job_id: JOB });
    }

    #[test]
    fn the_employer_moves_an_application_one_stage_at_a_time_to_hired() {
        let path = [Submitted, Screening, Interviewing, Offered, Hired];
        for pair in path.windows(2) {
            ApplicationTest::with(())
                .given(history_until(pair[0]))
                .when(change(pair[1], employer()))
                .then_expect_events(vec![moved(pair[0], pair[1])]);
        }
    }

    #[test]
    fn skipping_a_stage_or_going_back_is_an_invalid_transition() {
        ApplicationTest::with(())
            .given(history_until(Submitted))
            .when(change(Interviewing, employer()))
            .then_expect_error(DomainError::InvalidTransition {
                from: "submitted",
                to: "interviewing",
            });
        ApplicationTest::with(())
            .given(history_until(Offered))
            .when(change(Screening, employer()))
            .then_expect_error(DomainError::InvalidTransition {
                from: "offered",
                to: "screening",
            });
    }

    #[test]
    fn any_open_stage_can_be_rejected_but_not_a_finished_one() {
        for stage in [Submitted, Screening, Interviewing, Offered] {
            ApplicationTest::with(())
                .given(history_until(stage))
                .when(change(Rejected, employer()))
                .then_expect_events(vec![moved(stage, Rejected)]);
        }
        let mut hired = history_until(Offered);
        hired.push(moved(Offered, Hired));
        ApplicationTest::with(())
            .given(hired)
            .when(change(Rejected, employer()))
            .then_expect_error(DomainError::InvalidTransition {
                from: "hired",
                to: "rejected",
            });
    }

    #[test]
    fn only_the_jobs_employer_changes_the_status() {
        let other = Actor::new(Uuid::from_u128(0xbad), Role::Employer);
        ApplicationTest::with(())
            .given(vec![submitted()])
            .when(change(Screening, other))
            .then_expect_error(forbidden(other, id()));
        ApplicationTest::with(())
            .given(vec![submitted()])
            .when(change(Screening, candidate()))
            .then_expect_error(forbidden(candidate(), id()));
    }

    #[test]
    fn the_candidate_withdraws_an_open_application() {
        let withdraw = |by| {
            ApplicationCommand::WithdrawApplication(WithdrawApplication {
                application_id: id(),
                withdrawn_by: by,
            })
        };
        ApplicationTest::with(())
            .given(history_until(Interviewing))
            .when(withdraw(candidate()))
            .then_expect_events(vec![ApplicationEvent::ApplicationWithdrawn {
                application_id: id(),
                from: Interviewing,
            }]);
        ApplicationTest::with(())
            .given(vec![submitted()])
            .when(withdraw(employer()))
            .then_expect_error(forbidden(employer(), id()));
        ApplicationTest::with(())
            .given(vec![submitted(), moved(Submitted, Rejected)])
            .when(withdraw(candidate()))
            .then_expect_error(DomainError::InvalidTransition {
                from: "rejected",
                to: "withdrawn",
            });
    }

    #[test]
    fn an_unknown_application_cannot_change() {
        ApplicationTest::with(())
            .given_no_previous_events()
            .when(change(Screening, employer()))
            .then_expect_error(DomainError::ApplicationNotFound {
                application_id: id(),
            });
    }
}
