//! The candidate: a person looking for a job.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::profile::{
    tidy, tidy_skills, CompanySize, Education, Experience, MinimumSalary, Pace, Skill,
    WorkArrangement, MAX_SALARY,
};
use crate::{Actor, DomainError, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum CandidateCommand {
    RegisterCandidate(RegisterCandidate),
    UpdateCandidateProfile(UpdateCandidateProfile),
    ValidateCandidate(ValidateCandidate),
    EraseCandidate(EraseCandidate),
}

crate::domain_command!(CandidateCommand {
    RegisterCandidate,
    UpdateCandidateProfile,
    ValidateCandidate,
    EraseCandidate
});

/// What a candidate tells about itself; replaced as a whole on each update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateProfile {
    pub headline: String,
    #[serde(default)]
    pub summary: String,
    pub skills: Vec<Skill>,
    pub years_experience: i32,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub target_titles: Vec<String>,
    #[serde(default)]
    pub min_salary: Option<MinimumSalary>,
    #[serde(default)]
    pub locations: Vec<String>,
    pub remote: WorkArrangement,
    #[serde(default)]
    pub work_authorizations: Vec<String>,
    #[serde(default)]
    pub company_size: Option<CompanySize>,
    #[serde(default)]
    pub pace: Option<Pace>,
    #[serde(default)]
    pub experience: Vec<Experience>,
    #[serde(default)]
    pub education: Vec<Education>,
}

impl CandidateProfile {
    /// Every problem with the profile, field by field.
    fn validate(&self) -> Result<(), DomainError> {
        let mut v = Validator::default();
        v.text("headline", &self.headline, 200)
            .optional_text("summary", &self.summary, 5_000)
            .skills("skills", &self.skills, 100)
            .range("years_experience", i64::from(self.years_experience), 0, 70)
            .list("industries", &self.industries, 20, 100)
            .list("target_titles", &self.target_titles, 20, 200)
            .list("locations", &self.locations, 20, 200)
            .list("work_authorizations", &self.work_authorizations, 20, 100);
        if self.skills.is_empty() {
            v.problem("skills", "must name at least one skill");
        }
        if let Some(salary) = &self.min_salary {
            v.range("min_salary.amount", salary.amount, 0, MAX_SALARY)
                .currency("min_salary.currency", &salary.currency);
        }
        if self.experience.len() > 50 {
            v.problem("experience", "must have at most 50 entries");
        }
        for entry in &self.experience {
            if entry.title.trim().is_empty() || entry.company.trim().is_empty() {
                v.problem("experience", "each entry needs a title and a company");
            }
            if entry.end.is_some_and(|end| end < entry.start) {
                v.problem("experience", "an entry cannot end before it starts");
            }
            if entry.highlights.len() > 20
                || entry.highlights.iter().any(|h| h.chars().count() > 500)
            {
                v.problem(
                    "experience",
                    "at most 20 highlights of 500 characters per entry",
                );
            }
        }
        if self.education.len() > 20 {
            v.problem("education", "must have at most 20 entries");
        }
        if self
            .education
            .iter()
            .any(|e| e.institution.trim().is_empty() || e.degree.trim().is_empty())
        {
            v.problem("education", "each entry needs an institution and a degree");
        }
        v.finish()
    }

    fn tidied(self) -> Self {
        Self {
            headline: self.headline.trim().to_owned(),
            summary: self.summary.trim().to_owned(),
            skills: tidy_skills(self.skills),
            industries: tidy(self.industries),
            target_titles: tidy(self.target_titles),
            locations: tidy(self.locations),
            work_authorizations: tidy(self.work_authorizations),
            ..self
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateCandidateProfile {
    pub candidate_id: Uuid,
    pub profile: Box<CandidateProfile>,
    pub updated_by: Actor,
}

/// An admin's 0–100 judgement of how well the profile is verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidateCandidate {
    pub candidate_id: Uuid,
    pub score: i32,
    pub validated_by: Actor,
}

/// The right to erasure: the candidate's personal data becomes unreadable everywhere (its
/// key is destroyed by the write side) and every read model forgets the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EraseCandidate {
    pub candidate_id: Uuid,
    pub erased_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegisterCandidate {
    pub candidate_id: Uuid,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum CandidateEvent {
    CandidateRegistered {
        candidate_id: Uuid,
        name: String,
        email: String,
    },
    CandidateProfileUpdated {
        candidate_id: Uuid,
        profile: Box<CandidateProfile>,
    },
    CandidateValidated {
        candidate_id: Uuid,
        score: i32,
    },
    /// The candidate's key was destroyed: its personal fields read as erased from now on.
    CandidateErased {
        candidate_id: Uuid,
    },
}

crate::domain_event!(CandidateEvent {
    CandidateRegistered,
    CandidateProfileUpdated,
    CandidateValidated,
    CandidateErased,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candidate {
    pub registered: bool,
    pub name: String,
    pub profile: Option<CandidateProfile>,
    pub validation_score: Option<i32>,
    pub erased: bool,
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
            CandidateCommand::EraseCandidate(cmd) => {
                if !self.registered {
                    return Err(DomainError::CandidateNotFound {
                        candidate_id: cmd.candidate_id,
                    });
                }
                if !cmd.erased_by.may(Write::EraseCandidate, cmd.candidate_id) {
                    return Err(forbidden(cmd.erased_by, cmd.candidate_id));
                }
                if self.erased {
                    return Ok(());
                }
                let event = CandidateEvent::CandidateErased {
                    candidate_id: cmd.candidate_id,
                };
                sink.write(event, self).await;
            }
            CandidateCommand::UpdateCandidateProfile(cmd) => {
                self.require_registered(cmd.candidate_id)?;
                if !cmd
                    .updated_by
                    .may(Write::UpdateCandidateProfile, cmd.candidate_id)
                {
                    return Err(forbidden(cmd.updated_by, cmd.candidate_id));
                }
                cmd.profile.validate()?;
                let profile = Box::new((*cmd.profile).tidied());
                if self.profile.as_ref() == Some(&*profile) {
                    return Ok(());
                }
                let event = CandidateEvent::CandidateProfileUpdated {
                    candidate_id: cmd.candidate_id,
                    profile,
                };
                sink.write(event, self).await;
            }
            CandidateCommand::ValidateCandidate(cmd) => {
                self.require_registered(cmd.candidate_id)?;
                if !cmd
                    .validated_by
                    .may(Write::ValidateCandidate, cmd.candidate_id)
                {
                    return Err(forbidden(cmd.validated_by, cmd.candidate_id));
                }
                Validator::default()
                    .range("score", i64::from(cmd.score), 0, 100)
                    .finish()?;
                if self.validation_score == Some(cmd.score) {
                    return Ok(());
                }
                let event = CandidateEvent::CandidateValidated {
                    candidate_id: cmd.candidate_id,
                    score: cmd.score,
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
            CandidateEvent::CandidateProfileUpdated { profile, .. } => {
                self.profile = Some(*profile)
            }
            CandidateEvent::CandidateValidated { score, .. } => self.validation_score = Some(score),
            CandidateEvent::CandidateErased { .. } => {
                *self = Self {
                    registered: true,
                    erased: true,
                    ..Self::default()
                }
            }
        }
    }
}

impl Candidate {
    /// A registered candidate that was not erased: the only kind a command may change.
    pub fn require_registered(&self, candidate_id: Uuid) -> Result<(), DomainError> {
        if self.erased {
            Err(DomainError::CandidateErased { candidate_id })
        } else if self.registered {
            Ok(())
        } else {
            Err(DomainError::CandidateNotFound { candidate_id })
        }
    }
}

fn forbidden(actor: Actor, candidate_id: Uuid) -> DomainError {
    DomainError::forbidden(actor, "candidate", candidate_id)
}

#[cfg(test)]
pub(crate) mod tests {
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

    fn registered() -> CandidateEvent {
        ada().2
    }

    pub(crate) fn profile() -> CandidateProfile {
        CandidateProfile {
            headline: "Backend engineer".into(),
            summary: "Builds event-sourced systems.".into(),
            skills: vec![Skill {
                name: "Rust".into(),
                proficiency: crate::profile::Proficiency::Expert,
            }],
            years_experience: 7,
            industries: vec!["Fintech".into()],
            target_titles: vec!["Staff engineer".into()],
            min_salary: Some(MinimumSalary {
                amount: 150_000,
                currency: "USD".into(),
            }),
            locations: vec!["Berlin".into()],
            remote: WorkArrangement::Remote,
            work_authorizations: vec!["EU".into()],
            company_size: Some(CompanySize::Startup),
            pace: Some(Pace::Fast),
            experience: vec![Experience {
                title: "Engineer".into(),
                company: "Acme".into(),
                start: chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default(),
                end: None,
                highlights: vec!["Cut latency by half".into()],
            }],
            education: vec![],
        }
    }

    fn update(profile: CandidateProfile, by: Actor) -> CandidateCommand {
        CandidateCommand::UpdateCandidateProfile(UpdateCandidateProfile {
            candidate_id: Uuid::from_u128(1),
            profile: Box::new(profile),
            updated_by: by,
        })
    }

    fn me() -> Actor {
        Actor::new(Uuid::from_u128(1), crate::Role::Candidate)
    }

    #[test]
    fn a_candidate_fills_its_profile() {
        CandidateTest::with(())
            .given(vec![registered()])
            .when(update(profile(), me()))
            .then_expect_events(vec![CandidateEvent::CandidateProfileUpdated {
                candidate_id: Uuid::from_u128(1),
                profile: Box::new(profile()),
            }]);
    }

    #[test]
    fn an_unchanged_profile_appends_nothing() {
        CandidateTest::with(())
            .given(vec![
                registered(),
                CandidateEvent::CandidateProfileUpdated {
                    candidate_id: Uuid::from_u128(1),
                    profile: Box::new(profile()),
                },
            ])
            .when(update(profile(), me()))
            .then_expect_events(vec![]);
    }

    #[test]
    fn only_the_candidate_or_an_admin_updates_a_profile() {
        let other = Actor::new(Uuid::from_u128(2), crate::Role::Candidate);
        CandidateTest::with(())
            .given(vec![registered()])
            .when(update(profile(), other))
            .then_expect_error(forbidden(other, Uuid::from_u128(1)));
    }

    #[test]
    fn a_bad_profile_is_rejected_as_a_whole_with_every_problem() {
        let mut bad = profile();
        bad.headline = String::new();
        bad.years_experience = -1;
        bad.skills.push(bad.skills[0].clone());
        bad.min_salary = Some(MinimumSalary {
            amount: 10,
            currency: "dollars".into(),
        });
        bad.experience[0].end = chrono::NaiveDate::from_ymd_opt(2010, 1, 1);
        let result = CandidateTest::with(())
            .given(vec![registered()])
            .when(update(bad, me()))
            .inspect_result();
        let Err(DomainError::Invalid(fields)) = result else {
            panic!("expected field errors, got {result:?}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field).collect();
        assert_eq!(
            names,
            [
                "headline",
                "skills",
                "years_experience",
                "min_salary.currency",
                "experience"
            ]
        );
    }

    #[test]
    fn only_an_admin_validates_and_only_within_0_to_100() {
        let validate = |score, by| {
            CandidateCommand::ValidateCandidate(ValidateCandidate {
                candidate_id: Uuid::from_u128(1),
                score,
                validated_by: by,
            })
        };
        let admin = Actor::new(Uuid::from_u128(9), crate::Role::Admin);
        CandidateTest::with(())
            .given(vec![registered()])
            .when(validate(80, admin))
            .then_expect_events(vec![CandidateEvent::CandidateValidated {
                candidate_id: Uuid::from_u128(1),
                score: 80,
            }]);
        CandidateTest::with(())
            .given(vec![registered()])
            .when(validate(101, admin))
            .then_expect_error(DomainError::Invalid(vec![FieldError::new(
                "score",
                "must be between 0 and 100",
            )]));
        CandidateTest::with(())
            .given(vec![registered()])
            .when(validate(80, me()))
            .then_expect_error(forbidden(me(), Uuid::from_u128(1)));
    }

    #[test]
    fn an_unregistered_candidate_has_no_profile_to_update() {
        CandidateTest::with(())
            .given_no_previous_events()
            .when(update(profile(), me()))
            .then_expect_error(DomainError::CandidateNotFound {
                candidate_id: Uuid::from_u128(1),
            });
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
