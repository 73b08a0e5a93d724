//! The employer: a company that posts jobs.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::DomainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployerCommand {
    RegisterEmployer(RegisterEmployer),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterEmployer {
    pub employer_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployerEvent {
    EmployerRegistered { employer_id: Uuid, name: String },
}

impl DomainEvent for EmployerEvent {
    fn event_type(&self) -> String {
        match self {
            EmployerEvent::EmployerRegistered { .. } => "EmployerRegistered".into(),
        }
    }

    fn event_version(&self) -> String {
        crate::FIRST_EVENT_VERSION.into()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employer {
    pub registered: bool,
    pub name: String,
}

impl Aggregate for Employer {
    const TYPE: &'static str = "employer";
    type Command = EmployerCommand;
    type Event = EmployerEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            EmployerCommand::RegisterEmployer(cmd) => {
                if self.registered {
                    return Err(DomainError::EmployerAlreadyRegistered {
                        employer_id: cmd.employer_id,
                    });
                }
                Validator::default().text("name", &cmd.name, 200).finish()?;
                let event = EmployerEvent::EmployerRegistered {
                    employer_id: cmd.employer_id,
                    name: cmd.name.trim().to_owned(),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            EmployerEvent::EmployerRegistered { name, .. } => {
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

    type EmployerTest = TestFramework<Employer>;

    fn register(name: &str) -> EmployerCommand {
        EmployerCommand::RegisterEmployer(RegisterEmployer {
            employer_id: Uuid::from_u128(7),
            name: name.into(),
        })
    }

    #[test]
    fn a_new_employer_registers() {
        EmployerTest::with(())
            .given_no_previous_events()
            .when(register("Acme"))
            .then_expect_events(vec![EmployerEvent::EmployerRegistered {
                employer_id: Uuid::from_u128(7),
                name: "Acme".into(),
            }]);
    }

    #[test]
    fn an_employer_registers_only_once() {
        EmployerTest::with(())
            .given(vec![EmployerEvent::EmployerRegistered {
                employer_id: Uuid::from_u128(7),
                name: "Acme".into(),
            }])
            .when(register("Acme again"))
            .then_expect_error(DomainError::EmployerAlreadyRegistered {
                employer_id: Uuid::from_u128(7),
            });
    }

    #[test]
    fn an_employer_needs_a_name() {
        EmployerTest::with(())
            .given_no_previous_events()
            .when(register(""))
            .then_expect_error(DomainError::Invalid(vec![FieldError::new(
                "name",
                "must not be empty",
            )]));
    }
}
