//! The employer: a company that posts jobs.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::profile::{CompanySize, Pace};
use crate::{Actor, DomainError, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum EmployerCommand {
    RegisterEmployer(RegisterEmployer),
    UpdateEmployerProfile(UpdateEmployerProfile),
    CreateApiKey(CreateApiKey),
    RevokeApiKey(RevokeApiKey),
    InviteMember(InviteMember),
    JoinOrganization(JoinOrganization),
    RemoveMember(RemoveMember),
    SuspendEmployer(SuspendEmployer),
    ReinstateEmployer(ReinstateEmployer),
    EnrollPartner(EnrollPartner),
    OnboardTenant(OnboardTenant),
    RegisterTenant(RegisterTenant),
}

crate::domain_command!(EmployerCommand {
    RegisterEmployer,
    UpdateEmployerProfile,
    CreateApiKey,
    RevokeApiKey,
    InviteMember,
    JoinOrganization,
    RemoveMember,
    SuspendEmployer,
    ReinstateEmployer,
    EnrollPartner,
    OnboardTenant,
    RegisterTenant,
});

/// What a member of an employer's organization may do. The account that registered the
/// employer (whose id is the employer's) is its first owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Everything, members and keys included.
    Owner,
    /// Jobs, swipes and applications; not members, keys or the profile.
    Recruiter,
    /// Reads only.
    Viewer,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Recruiter => "recruiter",
            MemberRole::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for MemberRole {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        [MemberRole::Owner, MemberRole::Recruiter, MemberRole::Viewer]
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or(())
    }
}

/// An invitation to join, sent by email; the address stays with the write side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InviteMember {
    pub employer_id: Uuid,
    pub invitation_id: Uuid,
    pub role: MemberRole,
    pub invited_by: Actor,
}

/// An account accepts an invitation (the write side checked its emailed token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JoinOrganization {
    pub employer_id: Uuid,
    pub invitation_id: Uuid,
    pub account_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RemoveMember {
    pub employer_id: Uuid,
    pub account_id: Uuid,
    pub removed_by: Actor,
}

/// Every request in the employer's organization is refused until it is reinstated; its data
/// stays as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SuspendEmployer {
    pub employer_id: Uuid,
    pub reason: String,
    pub suspended_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReinstateEmployer {
    pub employer_id: Uuid,
    pub reinstated_by: Actor,
}

/// An admin makes an organization a partner (an agency, a white-label operator): it may then
/// onboard organizations as its tenants and administer them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollPartner {
    pub employer_id: Uuid,
    pub enrolled_by: Actor,
}

/// A partner records a new organization as its tenant (the partner's side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OnboardTenant {
    pub partner_id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub onboarded_by: Actor,
}

/// The tenant's side of an onboarding: registered, and administered by its partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegisterTenant {
    pub employer_id: Uuid,
    pub name: String,
    pub partner_id: Uuid,
}

/// What an API key may do: the enterprise API's three capabilities.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum ApiScope {
    /// Read jobs: the list, one job, search.
    #[serde(rename = "jobs:read")]
    ReadJobs,
    /// Post, update and close the employer's jobs.
    #[serde(rename = "jobs:write")]
    PostJobs,
    /// Read the applications to the employer's jobs.
    #[serde(rename = "applications:read")]
    ReadApplications,
}

impl ApiScope {
    pub const ALL: [ApiScope; 3] = [
        ApiScope::ReadJobs,
        ApiScope::PostJobs,
        ApiScope::ReadApplications,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::ReadJobs => "jobs:read",
            ApiScope::PostJobs => "jobs:write",
            ApiScope::ReadApplications => "applications:read",
        }
    }
}

impl std::str::FromStr for ApiScope {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or(())
    }
}

/// The most requests per second a key may be given.
pub const MAX_KEY_RATE: u32 = 1_000;

/// A key for the employer's own systems. Its secret is never in an event: the write side
/// keeps only its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreateApiKey {
    pub employer_id: Uuid,
    pub key_id: Uuid,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// Requests per second the key may make on average.
    pub requests_per_second: u32,
    pub created_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevokeApiKey {
    pub employer_id: Uuid,
    pub key_id: Uuid,
    pub revoked_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EmployerProfile {
    pub name: String,
    pub size: Option<CompanySize>,
    #[serde(default)]
    pub industry: Option<String>,
    pub pace: Option<Pace>,
    #[serde(default)]
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateEmployerProfile {
    pub employer_id: Uuid,
    pub profile: EmployerProfile,
    pub updated_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegisterEmployer {
    pub employer_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum EmployerEvent {
    EmployerRegistered {
        employer_id: Uuid,
        name: String,
    },
    EmployerProfileUpdated {
        employer_id: Uuid,
        profile: EmployerProfile,
    },
    ApiKeyCreated {
        employer_id: Uuid,
        key_id: Uuid,
        name: String,
        scopes: Vec<ApiScope>,
        requests_per_second: u32,
    },
    ApiKeyRevoked {
        employer_id: Uuid,
        key_id: Uuid,
    },
    MemberInvited {
        employer_id: Uuid,
        invitation_id: Uuid,
        role: MemberRole,
    },
    MemberJoined {
        employer_id: Uuid,
        invitation_id: Uuid,
        account_id: Uuid,
        role: MemberRole,
    },
    MemberRemoved {
        employer_id: Uuid,
        account_id: Uuid,
    },
    EmployerSuspended {
        employer_id: Uuid,
        reason: String,
    },
    EmployerReinstated {
        employer_id: Uuid,
    },
    /// The organization became a partner.
    PartnerEnrolled {
        employer_id: Uuid,
    },
    /// The partner `employer_id` onboarded the organization `tenant_id`.
    TenantOnboarded {
        employer_id: Uuid,
        tenant_id: Uuid,
        name: String,
    },
    /// The organization is a tenant of `partner_id`, which administers it.
    PartnerAssigned {
        employer_id: Uuid,
        partner_id: Uuid,
    },
}

crate::domain_event!(EmployerEvent {
    EmployerRegistered,
    EmployerProfileUpdated,
    ApiKeyCreated,
    ApiKeyRevoked,
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    EmployerSuspended,
    EmployerReinstated,
    PartnerEnrolled,
    TenantOnboarded,
    PartnerAssigned,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Employer {
    pub registered: bool,
    pub name: String,
    pub profile: Option<EmployerProfile>,
    /// Every key created, and whether it is still good.
    #[serde(default)]
    pub api_keys: std::collections::BTreeMap<Uuid, bool>,
    /// Invitations sent, with the role each offers and whether it was accepted.
    #[serde(default)]
    pub invitations: std::collections::BTreeMap<Uuid, (MemberRole, bool)>,
    /// Members other than the first owner, by account.
    #[serde(default)]
    pub members: std::collections::BTreeMap<Uuid, MemberRole>,
    #[serde(default)]
    pub suspended: bool,
    /// Whether the organization is a partner, and the tenants it onboarded, by name.
    #[serde(default)]
    pub partner: bool,
    #[serde(default)]
    pub tenants: std::collections::BTreeMap<Uuid, String>,
    /// The partner that administers this organization, for a tenant.
    #[serde(default)]
    pub partner_id: Option<Uuid>,
}

impl Employer {
    /// Whether `actor` is the partner that administers this organization.
    fn administered_by(&self, actor: Actor) -> bool {
        actor.role == crate::Role::Employer && self.partner_id == Some(actor.subject)
    }

    /// The employer is registered and `actor` may manage its keys.
    fn require(&self, employer_id: Uuid, actor: Actor) -> Result<(), DomainError> {
        if !self.registered {
            return Err(DomainError::EmployerNotFound { employer_id });
        }
        if !actor.may(Write::ManageApiKeys, employer_id) {
            return Err(DomainError::forbidden(actor, "employer", employer_id));
        }
        Ok(())
    }
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
            EmployerCommand::CreateApiKey(cmd) => {
                self.require(cmd.employer_id, cmd.created_by)?;
                if self.api_keys.contains_key(&cmd.key_id) {
                    return Err(DomainError::AlreadyExists {
                        what: "api key",
                        id: cmd.key_id,
                    });
                }
                let mut v = Validator::default();
                v.text("name", &cmd.name, 100);
                if cmd.scopes.is_empty() {
                    v.problem("scopes", "must name at least one scope");
                }
                if !(1..=MAX_KEY_RATE).contains(&cmd.requests_per_second) {
                    v.problem(
                        "requests_per_second",
                        format!("must be between 1 and {MAX_KEY_RATE}"),
                    );
                }
                v.finish()?;
                let mut scopes = cmd.scopes;
                scopes.sort();
                scopes.dedup();
                let event = EmployerEvent::ApiKeyCreated {
                    employer_id: cmd.employer_id,
                    key_id: cmd.key_id,
                    name: cmd.name.trim().to_owned(),
                    scopes,
                    requests_per_second: cmd.requests_per_second,
                };
                sink.write(event, self).await;
            }
            EmployerCommand::InviteMember(cmd) => {
                if !self.registered {
                    return Err(DomainError::EmployerNotFound {
                        employer_id: cmd.employer_id,
                    });
                }
                if !cmd.invited_by.may(Write::ManageMembers, cmd.employer_id)
                    && !self.administered_by(cmd.invited_by)
                {
                    return Err(DomainError::forbidden(
                        cmd.invited_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                if self.invitations.contains_key(&cmd.invitation_id) {
                    return Err(DomainError::AlreadyExists {
                        what: "invitation",
                        id: cmd.invitation_id,
                    });
                }
                let event = EmployerEvent::MemberInvited {
                    employer_id: cmd.employer_id,
                    invitation_id: cmd.invitation_id,
                    role: cmd.role,
                };
                sink.write(event, self).await;
            }
            EmployerCommand::JoinOrganization(cmd) => {
                let Some((role, false)) = self.invitations.get(&cmd.invitation_id).copied() else {
                    return Err(DomainError::InvitationNotFound {
                        invitation_id: cmd.invitation_id,
                    });
                };
                if cmd.account_id == cmd.employer_id || self.members.contains_key(&cmd.account_id) {
                    return Err(DomainError::AlreadyMember {
                        account_id: cmd.account_id,
                    });
                }
                let event = EmployerEvent::MemberJoined {
                    employer_id: cmd.employer_id,
                    invitation_id: cmd.invitation_id,
                    account_id: cmd.account_id,
                    role,
                };
                sink.write(event, self).await;
            }
            EmployerCommand::RemoveMember(cmd) => {
                if !cmd.removed_by.may(Write::ManageMembers, cmd.employer_id) {
                    return Err(DomainError::forbidden(
                        cmd.removed_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                if self.members.contains_key(&cmd.account_id) {
                    let event = EmployerEvent::MemberRemoved {
                        employer_id: cmd.employer_id,
                        account_id: cmd.account_id,
                    };
                    sink.write(event, self).await;
                }
            }
            EmployerCommand::SuspendEmployer(cmd) => {
                if !self.registered {
                    return Err(DomainError::EmployerNotFound {
                        employer_id: cmd.employer_id,
                    });
                }
                if !cmd.suspended_by.may(Write::SuspendTenant, cmd.employer_id)
                    && !self.administered_by(cmd.suspended_by)
                {
                    return Err(DomainError::forbidden(
                        cmd.suspended_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                Validator::default()
                    .text("reason", &cmd.reason, 500)
                    .finish()?;
                if !self.suspended {
                    let event = EmployerEvent::EmployerSuspended {
                        employer_id: cmd.employer_id,
                        reason: cmd.reason.trim().to_owned(),
                    };
                    sink.write(event, self).await;
                }
            }
            EmployerCommand::ReinstateEmployer(cmd) => {
                if !cmd.reinstated_by.may(Write::SuspendTenant, cmd.employer_id)
                    && !self.administered_by(cmd.reinstated_by)
                {
                    return Err(DomainError::forbidden(
                        cmd.reinstated_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                if self.suspended {
                    let event = EmployerEvent::EmployerReinstated {
                        employer_id: cmd.employer_id,
                    };
                    sink.write(event, self).await;
                }
            }
            EmployerCommand::EnrollPartner(cmd) => {
                if !self.registered {
                    return Err(DomainError::EmployerNotFound {
                        employer_id: cmd.employer_id,
                    });
                }
                if !cmd.enrolled_by.may(Write::EnrollPartner, cmd.employer_id) {
                    return Err(DomainError::forbidden(
                        cmd.enrolled_by,
                        "employer",
                        cmd.employer_id,
                    ));
                }
                if !self.partner {
                    let event = EmployerEvent::PartnerEnrolled {
                        employer_id: cmd.employer_id,
                    };
                    sink.write(event, self).await;
                }
            }
            EmployerCommand::OnboardTenant(cmd) => {
                if !self.registered {
                    return Err(DomainError::EmployerNotFound {
                        employer_id: cmd.partner_id,
                    });
                }
                if !cmd.onboarded_by.may(Write::ManageTenants, cmd.partner_id) {
                    return Err(DomainError::forbidden(
                        cmd.onboarded_by,
                        "employer",
                        cmd.partner_id,
                    ));
                }
                if !self.partner {
                    return Err(DomainError::NotAPartner {
                        employer_id: cmd.partner_id,
                    });
                }
                if cmd.tenant_id == cmd.partner_id {
                    return Err(DomainError::AlreadyExists {
                        what: "organization",
                        id: cmd.tenant_id,
                    });
                }
                Validator::default().text("name", &cmd.name, 200).finish()?;
                if !self.tenants.contains_key(&cmd.tenant_id) {
                    let event = EmployerEvent::TenantOnboarded {
                        employer_id: cmd.partner_id,
                        tenant_id: cmd.tenant_id,
                        name: cmd.name.trim().to_owned(),
                    };
                    sink.write(event, self).await;
                }
            }
            EmployerCommand::RegisterTenant(cmd) => {
                if self.registered {
                    if self.partner_id == Some(cmd.partner_id) {
                        return Ok(());
                    }
                    return Err(DomainError::EmployerAlreadyRegistered {
                        employer_id: cmd.employer_id,
                    });
                }
                Validator::default().text("name", &cmd.name, 200).finish()?;
                let registered = EmployerEvent::EmployerRegistered {
                    employer_id: cmd.employer_id,
                    name: cmd.name.trim().to_owned(),
                };
                sink.write(registered, self).await;
                let assigned = EmployerEvent::PartnerAssigned {
                    employer_id: cmd.employer_id,
                    partner_id: cmd.partner_id,
                };
                sink.write(assigned, self).await;
            }
            EmployerCommand::RevokeApiKey(cmd) => {
                self.require(cmd.employer_id, cmd.revoked_by)?;
                match self.api_keys.get(&cmd.key_id) {
                    None => return Err(DomainError::ApiKeyNotFound { key_id: cmd.key_id }),
                    Some(false) => {}
                    Some(true) => {
                        let event = EmployerEvent::ApiKeyRevoked {
                            employer_id: cmd.employer_id,
                            key_id: cmd.key_id,
                        };
                        sink.write(event, self).await;
                    }
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            EmployerEvent::ApiKeyCreated { key_id, .. } => {
                self.api_keys.insert(key_id, true);
            }
            EmployerEvent::ApiKeyRevoked { key_id, .. } => {
                self.api_keys.insert(key_id, false);
            }
            EmployerEvent::MemberInvited {
                invitation_id,
                role,
                ..
            } => {
                self.invitations.insert(invitation_id, (role, false));
            }
            EmployerEvent::MemberJoined {
                invitation_id,
                account_id,
                role,
                ..
            } => {
                self.invitations.insert(invitation_id, (role, true));
                self.members.insert(account_id, role);
            }
            EmployerEvent::MemberRemoved { account_id, .. } => {
                self.members.remove(&account_id);
            }
            EmployerEvent::EmployerSuspended { .. } => self.suspended = true,
            EmployerEvent::PartnerEnrolled { .. } => self.partner = true,
            EmployerEvent::TenantOnboarded {
                tenant_id, name, ..
            } => {
                self.tenants.insert(tenant_id, name);
            }
            EmployerEvent::PartnerAssigned { partner_id, .. } => {
                self.partner_id = Some(partner_id);
            }
            EmployerEvent::EmployerReinstated { .. } => self.suspended = false,
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

    #[test]
    fn only_an_admin_enrolls_a_partner_and_only_a_partner_onboards_tenants() {
        let partner = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let admin = Actor::new(Uuid::from_u128(1), crate::Role::Admin);
        let onboard = |by: Actor| {
            EmployerCommand::OnboardTenant(OnboardTenant {
                partner_id: Uuid::from_u128(7),
                tenant_id: Uuid::from_u128(8),
                name: " Initech ".into(),
                onboarded_by: by,
            })
        };
        EmployerTest::with(())
            .given(vec![registered()])
            .when(EmployerCommand::EnrollPartner(EnrollPartner {
                employer_id: Uuid::from_u128(7),
                enrolled_by: partner,
            }))
            .then_expect_error(DomainError::forbidden(
                partner,
                "employer",
                Uuid::from_u128(7),
            ));
        EmployerTest::with(())
            .given(vec![registered()])
            .when(onboard(partner))
            .then_expect_error(DomainError::NotAPartner {
                employer_id: Uuid::from_u128(7),
            });
        let enrolled = EmployerEvent::PartnerEnrolled {
            employer_id: Uuid::from_u128(7),
        };
        EmployerTest::with(())
            .given(vec![registered()])
            .when(EmployerCommand::EnrollPartner(EnrollPartner {
                employer_id: Uuid::from_u128(7),
                enrolled_by: admin,
            }))
            .then_expect_events(vec![enrolled.clone()]);
        let onboarded = EmployerEvent::TenantOnboarded {
            employer_id: Uuid::from_u128(7),
            tenant_id: Uuid::from_u128(8),
            name: "Initech".into(),
        };
        EmployerTest::with(())
            .given(vec![registered(), enrolled.clone()])
            .when(onboard(partner))
            .then_expect_events(vec![onboarded.clone()]);
        // Once: a retried onboarding records nothing more.
        EmployerTest::with(())
            .given(vec![registered(), enrolled, onboarded])
            .when(onboard(partner))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_tenant_is_administered_by_its_partner_and_by_no_other() {
        let tenant = |partner: u128| {
            vec![
                EmployerEvent::EmployerRegistered {
                    employer_id: Uuid::from_u128(8),
                    name: "Initech".into(),
                },
                EmployerEvent::PartnerAssigned {
                    employer_id: Uuid::from_u128(8),
                    partner_id: Uuid::from_u128(partner),
                },
            ]
        };
        EmployerTest::with(())
            .given_no_previous_events()
            .when(EmployerCommand::RegisterTenant(RegisterTenant {
                employer_id: Uuid::from_u128(8),
                name: "Initech".into(),
                partner_id: Uuid::from_u128(7),
            }))
            .then_expect_events(tenant(7));
        let suspend = |by: u128| {
            EmployerCommand::SuspendEmployer(SuspendEmployer {
                employer_id: Uuid::from_u128(8),
                reason: "unpaid".into(),
                suspended_by: Actor::new(Uuid::from_u128(by), crate::Role::Employer),
            })
        };
        EmployerTest::with(())
            .given(tenant(7))
            .when(suspend(7))
            .then_expect_events(vec![EmployerEvent::EmployerSuspended {
                employer_id: Uuid::from_u128(8),
                reason: "unpaid".into(),
            }]);
        let other = Actor::new(Uuid::from_u128(9), crate::Role::Employer);
        EmployerTest::with(())
            .given(tenant(7))
            .when(suspend(9))
            .then_expect_error(DomainError::forbidden(
                other,
                "employer",
                Uuid::from_u128(8),
            ));
    }

    fn registered() -> EmployerEvent {
        EmployerEvent::EmployerRegistered {
            employer_id: Uuid::from_u128(7),
            name: "Acme".into(),
        }
    }

    fn create_key(by: Actor, scopes: Vec<ApiScope>, rate: u32) -> EmployerCommand {
        EmployerCommand::CreateApiKey(CreateApiKey {
            employer_id: Uuid::from_u128(7),
            key_id: Uuid::from_u128(70),
            name: " ATS sync ".into(),
            scopes,
            requests_per_second: rate,
            created_by: by,
        })
    }

    #[test]
    fn an_employer_creates_a_key_with_its_scopes_in_order_once() {
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let created = EmployerEvent::ApiKeyCreated {
            employer_id: Uuid::from_u128(7),
            key_id: Uuid::from_u128(70),
            name: "ATS sync".into(),
            scopes: vec![ApiScope::ReadJobs, ApiScope::PostJobs],
            requests_per_second: 10,
        };
        EmployerTest::with(())
            .given(vec![registered()])
            .when(create_key(
                acme,
                vec![ApiScope::PostJobs, ApiScope::ReadJobs, ApiScope::PostJobs],
                10,
            ))
            .then_expect_events(vec![created.clone()]);
        EmployerTest::with(())
            .given(vec![registered(), created])
            .when(create_key(acme, vec![ApiScope::ReadJobs], 10))
            .then_expect_error(DomainError::AlreadyExists {
                what: "api key",
                id: Uuid::from_u128(70),
            });
    }

    #[test]
    fn a_key_needs_a_scope_a_sane_rate_and_its_own_employer() {
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        for (scopes, rate) in [
            (vec![], 10),
            (vec![ApiScope::ReadJobs], 0),
            (vec![ApiScope::ReadJobs], 1_001),
        ] {
            let result = EmployerTest::with(())
                .given(vec![registered()])
                .when(create_key(acme, scopes, rate))
                .inspect_result();
            assert!(matches!(result, Err(DomainError::Invalid(_))), "{result:?}");
        }
        let other = Actor::new(Uuid::from_u128(8), crate::Role::Employer);
        let result = EmployerTest::with(())
            .given(vec![registered()])
            .when(create_key(other, vec![ApiScope::ReadJobs], 10))
            .inspect_result();
        assert!(
            matches!(result, Err(DomainError::Forbidden { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_key_is_revoked_once_and_an_unknown_key_is_not_found() {
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let revoke = |key: u128| {
            EmployerCommand::RevokeApiKey(RevokeApiKey {
                employer_id: Uuid::from_u128(7),
                key_id: Uuid::from_u128(key),
                revoked_by: acme,
            })
        };
        let created = EmployerEvent::ApiKeyCreated {
            employer_id: Uuid::from_u128(7),
            key_id: Uuid::from_u128(70),
            name: "ATS sync".into(),
            scopes: vec![ApiScope::ReadJobs],
            requests_per_second: 10,
        };
        let revoked = EmployerEvent::ApiKeyRevoked {
            employer_id: Uuid::from_u128(7),
            key_id: Uuid::from_u128(70),
        };
        EmployerTest::with(())
            .given(vec![registered(), created.clone()])
            .when(revoke(70))
            .then_expect_events(vec![revoked.clone()]);
        EmployerTest::with(())
            .given(vec![registered(), created, revoked])
            .when(revoke(70))
            .then_expect_events(vec![]);
        EmployerTest::with(())
            .given(vec![registered()])
            .when(revoke(71))
            .then_expect_error(DomainError::ApiKeyNotFound {
                key_id: Uuid::from_u128(71),
            });
    }

    #[test]
    fn an_invitation_is_accepted_once_with_the_role_it_offers() {
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let invited = EmployerEvent::MemberInvited {
            employer_id: Uuid::from_u128(7),
            invitation_id: Uuid::from_u128(80),
            role: MemberRole::Viewer,
        };
        EmployerTest::with(())
            .given(vec![registered()])
            .when(EmployerCommand::InviteMember(InviteMember {
                employer_id: Uuid::from_u128(7),
                invitation_id: Uuid::from_u128(80),
                role: MemberRole::Viewer,
                invited_by: acme,
            }))
            .then_expect_events(vec![invited.clone()]);
        let join = |account: u128| {
            EmployerCommand::JoinOrganization(JoinOrganization {
                employer_id: Uuid::from_u128(7),
                invitation_id: Uuid::from_u128(80),
                account_id: Uuid::from_u128(account),
            })
        };
        let joined = EmployerEvent::MemberJoined {
            employer_id: Uuid::from_u128(7),
            invitation_id: Uuid::from_u128(80),
            account_id: Uuid::from_u128(90),
            role: MemberRole::Viewer,
        };
        EmployerTest::with(())
            .given(vec![registered(), invited.clone()])
            .when(join(90))
            .then_expect_events(vec![joined.clone()]);
        EmployerTest::with(())
            .given(vec![registered(), invited, joined])
            .when(join(91))
            .then_expect_error(DomainError::InvitationNotFound {
                invitation_id: Uuid::from_u128(80),
            });
    }

    #[test]
    fn only_the_platform_suspends_and_a_suspension_is_recorded_once() {
        let suspend = |by: Actor| {
            EmployerCommand::SuspendEmployer(SuspendEmployer {
                employer_id: Uuid::from_u128(7),
                reason: "unpaid".into(),
                suspended_by: by,
            })
        };
        let acme = Actor::new(Uuid::from_u128(7), crate::Role::Employer);
        let result = EmployerTest::with(())
            .given(vec![registered()])
            .when(suspend(acme))
            .inspect_result();
        assert!(
            matches!(result, Err(DomainError::Forbidden { .. })),
            "{result:?}"
        );
        let admin = Actor::new(Uuid::from_u128(1), crate::Role::Admin);
        let suspended = EmployerEvent::EmployerSuspended {
            employer_id: Uuid::from_u128(7),
            reason: "unpaid".into(),
        };
        EmployerTest::with(())
            .given(vec![registered()])
            .when(suspend(admin))
            .then_expect_events(vec![suspended.clone()]);
        EmployerTest::with(())
            .given(vec![registered(), suspended])
            .when(suspend(admin))
            .then_expect_events(vec![]);
    }
}
