//! An account: the person behind a token, and how they prove who they are.
//!
//! An account's id is the subject of its tokens, so a candidate's account and the candidate
//! share one id (and one employer's account and the employer). The account knows how its
//! holder signs in (a password, an identity provider, or both) and whether their email is
//! verified. No secret reaches an event: a password's hash stays in the credential store of
//! the write side, and the events say only that it was set or changed. The sign-in service
//! checks credentials before it issues these commands; the aggregate keeps the account's
//! own rules.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::{DomainError, Role};

/// The longest email address SMTP carries (RFC 5321's path limit, less its brackets).
pub const EMAIL_MAX_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum AccountCommand {
    OpenAccount(OpenAccount),
    VerifyEmail(VerifyEmail),
    RecordPasswordChange(RecordPasswordChange),
    LockAccount(LockAccount),
}

crate::domain_command!(AccountCommand {
    OpenAccount,
    VerifyEmail,
    RecordPasswordChange,
    LockAccount,
});

/// An identity at an OpenID Connect provider: its issuer and the subject it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
}

/// How the account was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SignIn {
    /// Email and password, registered here.
    Password,
    /// A token of an identity provider, seen for the first time.
    Provider { identity: Identity },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpenAccount {
    pub account_id: Uuid,
    pub email: Option<String>,
    pub role: Role,
    pub sign_in: SignIn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyEmail {
    pub account_id: Uuid,
}

/// Why a password changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordChange {
    /// Through a reset link sent to the account's email.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordPasswordChange {
    pub account_id: Uuid,
    pub reason: PasswordChange,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockAccount {
    pub account_id: Uuid,
    pub failed_attempts: u32,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum AccountEvent {
    AccountOpened {
        account_id: Uuid,
        email: Option<String>,
        role: Role,
        sign_in: SignIn,
    },
    AccountEmailVerified {
        account_id: Uuid,
    },
    AccountPasswordChanged {
        account_id: Uuid,
        reason: PasswordChange,
    },
    /// Too many failed sign-ins in a row: password sign-in refused until `until`.
    AccountLocked {
        account_id: Uuid,
        failed_attempts: u32,
        until: DateTime<Utc>,
    },
}

crate::domain_event!(AccountEvent {
    AccountOpened,
    AccountEmailVerified,
    AccountPasswordChanged,
    AccountLocked,
});

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    pub opened: bool,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub email_verified: bool,
    pub identities: Vec<Identity>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The form an address is stored and compared in: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible address: one `@` between a local part and a dotted domain, no spaces.
pub fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.chars().count() <= EMAIL_MAX_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Account {
    fn require_opened(&self, account_id: Uuid) -> Result<(), DomainError> {
        if self.opened {
            Ok(())
        } else {
            Err(DomainError::AccountNotFound { account_id })
        }
    }
}

impl Aggregate for Account {
    const TYPE: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            AccountCommand::OpenAccount(cmd) => {
                if self.opened {
                    return Err(DomainError::AccountAlreadyOpened {
                        account_id: cmd.account_id,
                    });
                }
                let mut v = Validator::default();
                if !matches!(cmd.role, Role::Candidate | Role::Employer) {
                    v.problem("role", "must be candidate or employer");
                }
                let email = cmd.email.as_deref().map(normalize_email);
                match (&email, &cmd.sign_in) {
                    (Some(email), _) if !is_email(email) => {
                        v.problem("email", "must be an email address");
                    }
                    (None, SignIn::Password) => {
                        v.problem("email", "is required to sign in with a password");
                    }
                    _ => {}
                }
                if let SignIn::Provider { identity } = &cmd.sign_in {
                    v.text("identity.issuer", &identity.issuer, 500);
                    v.text("identity.subject", &identity.subject, 255);
                }
                v.finish()?;
                let event = AccountEvent::AccountOpened {
                    account_id: cmd.account_id,
                    email,
                    role: cmd.role,
                    sign_in: cmd.sign_in,
                };
                sink.write(event, self).await;
            }
            AccountCommand::VerifyEmail(cmd) => {
                self.require_opened(cmd.account_id)?;
                if !self.email_verified {
                    let event = AccountEvent::AccountEmailVerified {
                        account_id: cmd.account_id,
                    };
                    sink.write(event, self).await;
                }
            }
            AccountCommand::RecordPasswordChange(cmd) => {
                self.require_opened(cmd.account_id)?;
                let event = AccountEvent::AccountPasswordChanged {
                    account_id: cmd.account_id,
                    reason: cmd.reason,
                };
                sink.write(event, self).await;
            }
            AccountCommand::LockAccount(cmd) => {
                self.require_opened(cmd.account_id)?;
                if self.locked_until.is_some_and(|until| until >= cmd.until) {
                    return Ok(());
                }
                let event = AccountEvent::AccountLocked {
                    account_id: cmd.account_id,
                    failed_attempts: cmd.failed_attempts,
                    until: cmd.until,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            AccountEvent::AccountOpened {
                email,
                role,
                sign_in,
                ..
            } => {
                self.opened = true;
                self.email = email;
                self.role = Some(role);
                if let SignIn::Provider { identity } = sign_in {
                    self.identities.push(identity);
                }
            }
            AccountEvent::AccountEmailVerified { .. } => self.email_verified = true,
            AccountEvent::AccountPasswordChanged { .. } => self.locked_until = None,
            AccountEvent::AccountLocked { until, .. } => self.locked_until = Some(until),
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::FieldError;

    type AccountTest = TestFramework<Account>;

    const ADA: Uuid = Uuid::from_u128(0xada);

    fn open(email: Option<&str>, role: Role, sign_in: SignIn) -> AccountCommand {
        AccountCommand::OpenAccount(OpenAccount {
            account_id: ADA,
            email: email.map(str::to_owned),
            role,
            sign_in,
        })
    }

    fn opened() -> AccountEvent {
        AccountEvent::AccountOpened {
            account_id: ADA,
            email: Some("ada@example.com".into()),
            role: Role::Candidate,
            sign_in: SignIn::Password,
        }
    }

    #[test]
    fn an_account_opens_with_its_address_normalized() {
        AccountTest::with(())
            .given_no_previous_events()
            .when(open(
                Some("  Ada@Example.COM "),
                Role::Candidate,
                SignIn::Password,
            ))
            .then_expect_events(vec![opened()]);
    }

    #[test]
    fn an_account_opens_once() {
        AccountTest::with(())
            .given(vec![opened()])
            .when(open(
                Some("ada@example.com"),
                Role::Candidate,
                SignIn::Password,
            ))
            .then_expect_error(DomainError::AccountAlreadyOpened { account_id: ADA });
    }

    #[test]
    fn only_candidates_and_employers_open_accounts_and_a_password_needs_an_address() {
        let identity = Identity {
            issuer: "https://id.example.com".into(),
            subject: "248289761001".into(),
        };
        let cases = [
            (
                open(Some("ada@example.com"), Role::Admin, SignIn::Password),
                "role",
            ),
            (
                open(Some("not an address"), Role::Candidate, SignIn::Password),
                "email",
            ),
            (
                open(Some("ada@example"), Role::Candidate, SignIn::Password),
                "email",
            ),
            (open(None, Role::Candidate, SignIn::Password), "email"),
        ];
        for (command, field) in cases {
            let result = AccountTest::with(())
                .given_no_previous_events()
                .when(command)
                .inspect_result();
            match result {
                Err(DomainError::Invalid(errors)) => {
                    assert!(
                        errors.iter().any(|e: &FieldError| e.field == field),
                        "{errors:?}"
                    );
                }
                other => panic!("expected a validation error on {field}, got {other:?}"),
            }
        }
        AccountTest::with(())
            .given_no_previous_events()
            .when(open(
                None,
                Role::Employer,
                SignIn::Provider {
                    identity: identity.clone(),
                },
            ))
            .then_expect_events(vec![AccountEvent::AccountOpened {
                account_id: ADA,
                email: None,
                role: Role::Employer,
                sign_in: SignIn::Provider { identity },
            }]);
    }

    #[test]
    fn an_address_is_verified_once() {
        let verify = || AccountCommand::VerifyEmail(VerifyEmail { account_id: ADA });
        AccountTest::with(())
            .given(vec![opened()])
            .when(verify())
            .then_expect_events(vec![AccountEvent::AccountEmailVerified { account_id: ADA }]);
        AccountTest::with(())
            .given(vec![
                opened(),
                AccountEvent::AccountEmailVerified { account_id: ADA },
            ])
            .when(verify())
            .then_expect_events(vec![]);
        AccountTest::with(())
            .given_no_previous_events()
            .when(verify())
            .then_expect_error(DomainError::AccountNotFound { account_id: ADA });
    }

    #[test]
    fn a_lock_is_recorded_once_and_a_new_password_lifts_it() {
        let until = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("instant");
        let lock = || {
            AccountCommand::LockAccount(LockAccount {
                account_id: ADA,
                failed_attempts: 5,
                until,
            })
        };
        let locked = AccountEvent::AccountLocked {
            account_id: ADA,
            failed_attempts: 5,
            until,
        };
        AccountTest::with(())
            .given(vec![opened(), locked.clone()])
            .when(lock())
            .then_expect_events(vec![]);
        let mut account = Account::default();
        for event in [
            opened(),
            locked,
            AccountEvent::AccountPasswordChanged {
                account_id: ADA,
                reason: PasswordChange::Reset,
            },
        ] {
            account.apply(event);
        }
        assert_eq!(account.locked_until, None);
    }
}
