//! The candidate: a person looking for a job.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::DomainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CandidateCommand {
    RegisterCandidate(RegisterCandidate),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterCandidate {
    pub candidate_id: Uuid,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CandidateEvent {
    CandidateRegistered {
        candidate_id: Uuid,
        name: String,
        email: String,
    },
}

impl DomainEvent for CandidateEvent {
    fn event_type(&self) -> String {
        match self {
            CandidateEvent::CandidateRegistered { .. } => "CandidateRegistered".into(),
        }
    }

    fn event_version(&self) -> String {
        crate::FIRST_EVENT_VERSION.into()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub registered: bool,
    pub name: String,
}

impl Aggregate for Candidate {
    const TYPE: &'static str = "candidate";
    type Command = CandidateCommand;
    type Event = CandidateEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            CandidateCommand::RegisterCandidate(cmd) => {
                if self.registered {
                    return Err(DomainError::CandidateAlreadyRegistered {
                        candidate_id: cmd.candidate_id,
                    });
                }
                Validator::default()
                    .text("name", &cmd.name, 200)
                    .email("email", &cmd.email)
                    .finish()?;
                let event = CandidateEvent::CandidateRegistered {
                    candidate_id: cmd.candidate_id,
                    name: cmd.name.trim().to_owned(),
                    email: cmd.email.trim().to_owned(),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CandidateEvent::CandidateRegistered { name, .. } => {
                self.registered = true;
                self.name = name;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::FieldError;

    type CandidateTest = TestFramework<Candidate>;

    fn ada() -> (Uuid, CandidateCommand, CandidateEvent) {
        let id = Uuid::from_u128(1);
        let command = CandidateCommand::RegisterCandidate(RegisterCandidate {
            candidate_id: id,
            name: "  Ada Lovelace ".into(),
            email: "ada@example.com".into(),
        });
        let event = CandidateEvent::CandidateRegistered {
            candidate_id: id,
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
        };
        (id, command, event)
    }

    #[test]
    fn a_new_candidate_registers_with_trimmed_fields() {
        let (_, command, event) = ada();
        CandidateTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_events(vec![event]);
    }

    #[test]
    fn a_candidate_registers_only_once() {
        let (id, command, event) = ada();
        CandidateTest::with(())
            .given(vec![event])
            .when(command)
            .then_expect_error(DomainError::CandidateAlreadyRegistered { candidate_id: id });
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let command = CandidateCommand::RegisterCandidate(RegisterCandidate {
            candidate_id: Uuid::from_u128(2),
            name: "   ".into(),
            email: "not-an-email".into(),
        });
        CandidateTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(DomainError::Invalid(vec![
                FieldError::new("name", "must not be empty"),
                FieldError::new("email", "must be an email address such as ada@example.com"),
            ]));
    }
}
