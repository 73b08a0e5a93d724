//! The employer: a company that posts jobs.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::profile::{CompanySize, Pace};
use crate::{Actor, DomainError, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployerCommand {
    RegisterEmployer(RegisterEmployer),
    UpdateEmployerProfile(UpdateEmployerProfile),
}

crate::domain_command!(EmployerCommand {
    RegisterEmployer,
    UpdateEmployerProfile
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployerProfile {
    pub name: String,
    pub size: Option<CompanySize>,
    #[serde(default)]
    pub industry: Option<String>,
    pub pace: Option<Pace>,
    #[serde(default)]
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateEmployerProfile {
    pub employer_id: Uuid,
    pub profile: EmployerProfile,
    pub updated_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterEmployer {
    pub employer_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EmployerEvent {
    EmployerRegistered {
        employer_id: Uuid,
        name: String,
    },
    EmployerProfileUpdated {
        employer_id: Uuid,
        profile: EmployerProfile,
    },
}

crate::domain_event!(EmployerEvent {
    EmployerRegistered,
    EmployerProfileUpdated,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employer {
    pub registered: bool,
    pub name: String,
    pub profile: Option<EmployerProfile>,
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
            EmployerCommand::UpdateEmployerProfile(cmd) => {
                if !self.registered {
                    return Err(DomainError::EmployerNotFound {
                        employer_id: cmd.employer_id,
                    });
                }
                if !cmd
                    .updated_by
                    .may(Write::UpdateEmployerProfile, cmd.employer_id)
                {
                    return Err(DomainError::forbidden(
                        cmd.updated_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                let profile = cmd.profile;
                let mut v = Validator::default();
                v.text("name", &profile.name, 200);
                if let Some(industry) = &profile.industry {
                    v.optional_text("industry", industry, 100);
                }
                if let Some(website) = &profile.website {
                    let web = website.starts_with("https://") || website.starts_with("http://");
                    if !web || website.chars().count() > 500 {
                        v.problem(
                            "website",
                            "must be an http(s) URL of at most 500 characters",
                        );
                    }
                }
                v.finish()?;
                let profile = EmployerProfile {
                    name: profile.name.trim().to_owned(),
                    ..profile
                };
                if self.profile.as_ref() == Some(&profile) {
                    return Ok(());
                }
                let event = EmployerEvent::EmployerProfileUpdated {
                    employer_id: cmd.employer_id,
                    profile,
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
            EmployerEvent::EmployerProfileUpdated { profile, .. } => {
                self.name = profile.name.clone();
                self.profile = Some(profile);
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
    fn an_employer_updates_its_profile_and_a_bad_website_is_refused() {
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let profile = EmployerProfile {
            name: "Acme".into(),
            size: Some(CompanySize::Small),
            industry: Some("Robotics".into()),
            pace: Some(Pace::Fast),
            website: Some("https://acme.example".into()),
        };
        let registered = EmployerEvent::EmployerRegistered {
            employer_id: Uuid::from_u128(7),
            name: "Acme".into(),
        };
        EmployerTest::with(())
            .given(vec![registered.clone()])
            .when(EmployerCommand::UpdateEmployerProfile(
                UpdateEmployerProfile {
                    employer_id: Uuid::from_u128(7),
                    profile: profile.clone(),
                    updated_by: acme,
                },
            ))
            .then_expect_events(vec![EmployerEvent::EmployerProfileUpdated {
                employer_id: Uuid::from_u128(7),
                profile: profile.clone(),
            }]);
        EmployerTest::with(())
            .given(vec![registered])
            .when(EmployerCommand::UpdateEmployerProfile(
                UpdateEmployerProfile {
                    employer_id: Uuid::from_u128(7),
                    profile: EmployerProfile {
                        website: Some("ftp://acme".into()),
                        ..profile
                    },
                    updated_by: acme,
                },
            ))
            .then_expect_error(DomainError::Invalid(vec![FieldError::new(
                "website",
                "must be an http(s) URL of at most 500 characters",
            )]));
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
