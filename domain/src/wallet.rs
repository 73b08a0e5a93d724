//! The wallet: one per candidate, holding the credits it spends on AI work. The balance never
//! goes negative, a charge or purchase is never applied twice, and a refund returns at most
//! what one charge took, once. Every command carries an id chosen by its caller; a retried
//! command with the same id changes nothing and reports what the first one did.

use schemars::JsonSchema;
use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::{Actor, DomainError, Write};

/// The most credits one command may move; keeps balances far from overflow.
pub const MAX_CREDITS_PER_COMMAND: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WalletCommand {
    PurchaseCredits(PurchaseCredits),
    GrantCredits(GrantCredits),
    ChargeCredits(ChargeCredits),
    RefundCredits(RefundCredits),
}

crate::domain_command!(WalletCommand {
    PurchaseCredits,
    GrantCredits,
    ChargeCredits,
    RefundCredits
});

/// Credits bought through the payment provider; `payment_reference` (the checkout session)
/// makes it idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PurchaseCredits {
    pub wallet_id: Uuid,
    pub credits: i64,
    pub payment_reference: String,
}

/// Credits an admin gives, with a reason; `grant_id` makes it idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GrantCredits {
    pub wallet_id: Uuid,
    pub grant_id: Uuid,
    pub credits: i64,
    pub reason: String,
    pub granted_by: Actor,
}

/// Credits spent; `charge_id` (chosen by the caller, e.g. the document id) makes it
/// idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChargeCredits {
    pub wallet_id: Uuid,
    pub charge_id: Uuid,
    pub credits: i64,
    pub purpose: String,
    pub charged_by: Actor,
}

/// Gives back some or all of one charge, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefundCredits {
    pub wallet_id: Uuid,
    pub charge_id: Uuid,
    pub credits: i64,
    pub reason: String,
    pub refunded_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum WalletEvent {
    CreditsPurchased {
        wallet_id: Uuid,
        payment_reference: String,
        credits: i64,
        balance_after: i64,
    },
    CreditsGranted {
        wallet_id: Uuid,
        grant_id: Uuid,
        credits: i64,
        reason: String,
        balance_after: i64,
    },
    CreditsCharged {
        wallet_id: Uuid,
        charge_id: Uuid,
        credits: i64,
        purpose: String,
        balance_after: i64,
    },
    CreditsRefunded {
        wallet_id: Uuid,
        charge_id: Uuid,
        credits: i64,
        reason: String,
        balance_after: i64,
    },
}

impl WalletEvent {
    /// The signed change this event made to the balance.
    pub fn amount(&self) -> i64 {
        match self {
            WalletEvent::CreditsPurchased { credits, .. }
            | WalletEvent::CreditsGranted { credits, .. }
            | WalletEvent::CreditsRefunded { credits, .. } => *credits,
            WalletEvent::CreditsCharged { credits, .. } => -credits,
        }
    }

    pub fn balance_after(&self) -> i64 {
        match self {
            WalletEvent::CreditsPurchased { balance_after, .. }
            | WalletEvent::CreditsGranted { balance_after, .. }
            | WalletEvent::CreditsCharged { balance_after, .. }
            | WalletEvent::CreditsRefunded { balance_after, .. } => *balance_after,
        }
    }
}

crate::domain_event!(WalletEvent {
    CreditsPurchased,
    CreditsGranted,
    CreditsCharged,
    CreditsRefunded,
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Charge {
    pub credits: i64,
    pub refunded: Option<i64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Wallet {
    pub balance: i64,
    /// Purchases applied, by payment reference, with their credits.
    pub purchases: HashMap<String, i64>,
    pub grants: HashMap<Uuid, i64>,
    pub charges: HashMap<Uuid, Charge>,
    /// What each key was first used for, to tell a retry from another command under the same
    /// key. Snapshots taken before these were kept lack them; a key missing here is taken as
    /// a retry.
    #[serde(default)]
    pub grant_reasons: HashMap<Uuid, String>,
    #[serde(default)]
    pub charge_purposes: HashMap<Uuid, String>,
    #[serde(default)]
    pub refund_reasons: HashMap<Uuid, String>,
}

impl Aggregate for Wallet {
    const TYPE: &'static str = "wallet";
    type Command = WalletCommand;
    type Event = WalletEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            WalletCommand::PurchaseCredits(cmd) => self.purchase(cmd)?,
            WalletCommand::GrantCredits(cmd) => self.grant(cmd)?,
            WalletCommand::ChargeCredits(cmd) => self.charge(cmd)?,
            WalletCommand::RefundCredits(cmd) => self.refund(cmd)?,
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.balance = event.balance_after();
        match event {
            WalletEvent::CreditsPurchased {
                payment_reference,
                credits,
                ..
            } => {
                self.purchases.insert(payment_reference, credits);
            }
            WalletEvent::CreditsGranted {
                grant_id,
                credits,
                reason,
                ..
            } => {
                self.grants.insert(grant_id, credits);
                self.grant_reasons.insert(grant_id, reason);
            }
            WalletEvent::CreditsCharged {
                charge_id,
                credits,
                purpose,
                ..
            } => {
                self.charge_purposes.insert(charge_id, purpose);
                self.charges.insert(
                    charge_id,
                    Charge {
                        credits,
                        refunded: None,
                    },
                );
            }
            WalletEvent::CreditsRefunded {
                charge_id,
                credits,
                reason,
                ..
            } => {
                self.refund_reasons.insert(charge_id, reason);
                if let Some(charge) = self.charges.get_mut(&charge_id) {
                    charge.refunded = Some(credits);
                }
            }
        }
    }
}

fn check_credits(credits: i64) -> Result<(), DomainError> {
    let mut validator = Validator::default();
    validator.range("credits", credits, 1, MAX_CREDITS_PER_COMMAND);
    validator.finish()
}

fn forbidden(actor: Actor, wallet_id: Uuid) -> DomainError {
    DomainError::forbidden(actor, "wallet", wallet_id)
}

impl Wallet {
    /// A retry with the same id and the same amount is the same command: nothing new. The
    /// same id with another amount is a client error.
    fn seen(previous: Option<i64>, credits: i64, key: String) -> Result<bool, DomainError> {
        match previous {
            None => Ok(false),
            Some(first) if first == credits => Ok(true),
            Some(first) => Err(DomainError::IdempotencyKeyReused {
                key,
                first_credits: first,
                credits,
            }),
        }
    }

    /// The same key with the same amount but another text (`field`) is another command too.
    fn same_text(
        first: Option<&String>,
        text: &str,
        key: Uuid,
        field: &'static str,
    ) -> Result<(), DomainError> {
        match first {
            Some(first) if first != text.trim() => Err(DomainError::KeyReusedWithOtherContent {
                key: key.to_string(),
                field,
            }),
            _ => Ok(()),
        }
    }

    fn purchase(&self, cmd: PurchaseCredits) -> Result<Option<WalletEvent>, DomainError> {
        check_credits(cmd.credits)?;
        let mut validator = Validator::default();
        validator.text("payment_reference", &cmd.payment_reference, 255);
        validator.finish()?;
        let previous = self.purchases.get(&cmd.payment_reference).copied();
        if Self::seen(previous, cmd.credits, cmd.payment_reference.clone())? {
            return Ok(None);
        }
        Ok(Some(WalletEvent::CreditsPurchased {
            wallet_id: cmd.wallet_id,
            payment_reference: cmd.payment_reference,
            credits: cmd.credits,
            balance_after: self.balance + cmd.credits,
        }))
    }

    fn grant(&self, cmd: GrantCredits) -> Result<Option<WalletEvent>, DomainError> {
        if !cmd.granted_by.may(Write::GrantCredits, cmd.wallet_id) {
            return Err(forbidden(cmd.granted_by, cmd.wallet_id));
        }
        check_credits(cmd.credits)?;
        Validator::default()
            .text("reason", &cmd.reason, 500)
            .finish()?;
        let previous = self.grants.get(&cmd.grant_id).copied();
        if Self::seen(previous, cmd.credits, cmd.grant_id.to_string())? {
            Self::same_text(
                self.grant_reasons.get(&cmd.grant_id),
                &cmd.reason,
                cmd.grant_id,
                "reason",
            )?;
            return Ok(None);
        }
        Ok(Some(WalletEvent::CreditsGranted {
            wallet_id: cmd.wallet_id,
            grant_id: cmd.grant_id,
            credits: cmd.credits,
            reason: cmd.reason.trim().to_owned(),
            balance_after: self.balance + cmd.credits,
        }))
    }

    fn charge(&self, cmd: ChargeCredits) -> Result<Option<WalletEvent>, DomainError> {
        if !cmd.charged_by.may(Write::ChargeCredits, cmd.wallet_id) {
            return Err(forbidden(cmd.charged_by, cmd.wallet_id));
        }
        check_credits(cmd.credits)?;
        Validator::default()
            .text("purpose", &cmd.purpose, 500)
            .finish()?;
        let previous = self.charges.get(&cmd.charge_id).map(|c| c.credits);
        if Self::seen(previous, cmd.credits, cmd.charge_id.to_string())? {
            Self::same_text(
                self.charge_purposes.get(&cmd.charge_id),
                &cmd.purpose,
                cmd.charge_id,
                "purpose",
            )?;
            return Ok(None);
        }
        if cmd.credits > self.balance {
            return Err(DomainError::InsufficientCredits {
                requested: cmd.credits,
                available: self.balance,
            });
        }
        Ok(Some(WalletEvent::CreditsCharged {
            wallet_id: cmd.wallet_id,
            charge_id: cmd.charge_id,
            credits: cmd.credits,
            purpose: cmd.purpose.trim().to_owned(),
            balance_after: self.balance - cmd.credits,
        }))
    }

    fn refund(&self, cmd: RefundCredits) -> Result<Option<WalletEvent>, DomainError> {
        if !cmd.refunded_by.may(Write::RefundCredits, cmd.wallet_id) {
            return Err(forbidden(cmd.refunded_by, cmd.wallet_id));
        }
        check_credits(cmd.credits)?;
        Validator::default()
            .text("reason", &cmd.reason, 500)
            .finish()?;
        let charge = self
            .charges
            .get(&cmd.charge_id)
            .ok_or(DomainError::ChargeNotFound {
                charge_id: cmd.charge_id,
            })?;
        match charge.refunded {
            Some(refunded) if refunded == cmd.credits => {
                Self::same_text(
                    self.refund_reasons.get(&cmd.charge_id),
                    &cmd.reason,
                    cmd.charge_id,
                    "reason",
                )?;
                return Ok(None);
            }
            Some(refunded) => {
                return Err(DomainError::AlreadyRefunded {
                    charge_id: cmd.charge_id,
                    refunded,
                })
            }
            None => {}
        }
        if cmd.credits > charge.credits {
            return Err(DomainError::RefundExceedsCharge {
                charge_id: cmd.charge_id,
                charged: charge.credits,
                requested: cmd.credits,
            });
        }
        Ok(Some(WalletEvent::CreditsRefunded {
            wallet_id: cmd.wallet_id,
            charge_id: cmd.charge_id,
            credits: cmd.credits,
            reason: cmd.reason.trim().to_owned(),
            balance_after: self.balance + cmd.credits,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::Role;
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::FieldError;

    type WalletTest = TestFramework<Wallet>;

    const WALLET: Uuid = Uuid::from_u128(0xa11e7);
    const CHARGE: Uuid = Uuid::from_u128(0xc4a);

    fn owner() -> Actor {
        Actor::new(WALLET, Role::Candidate)
    }

    fn admin() -> Actor {
        Actor::new(Uuid::from_u128(1), Role::Admin)
    }

    fn purchase(reference: &str, credits: i64) -> WalletCommand {
        WalletCommand::PurchaseCredits(PurchaseCredits {
            wallet_id: WALLET,
            credits,
            payment_reference: reference.into(),
        })
    }

    fn purchased(reference: &str, credits: i64, balance_after: i64) -> WalletEvent {
        WalletEvent::CreditsPurchased {
            wallet_id: WALLET,
            payment_reference: reference.into(),
            credits,
            balance_after,
        }
    }

    fn charge(credits: i64) -> WalletCommand {
        WalletCommand::ChargeCredits(ChargeCredits {
            wallet_id: WALLET,
            charge_id: CHARGE,
            credits,
            purpose: "resume".into(),
            charged_by: owner(),
        })
    }

    fn charged(credits: i64, balance_after: i64) -> WalletEvent {
        WalletEvent::CreditsCharged {
            wallet_id: WALLET,
            charge_id: CHARGE,
            credits,
            purpose: "resume".into(),
            balance_after,
        }
    }

    fn refund(credits: i64) -> WalletCommand {
        WalletCommand::RefundCredits(RefundCredits {
            wallet_id: WALLET,
            charge_id: CHARGE,
            credits,
            reason: "generation failed".into(),
            refunded_by: Actor::system(Uuid::from_u128(2)),
        })
    }

    fn refunded(credits: i64, balance_after: i64) -> WalletEvent {
        WalletEvent::CreditsRefunded {
            wallet_id: WALLET,
            charge_id: CHARGE,
            credits,
            reason: "generation failed".into(),
            balance_after,
        }
    }

    #[test]
    fn a_purchase_adds_credits_and_records_the_balance_after() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(purchase("cs_2", 5))
            .then_expect_events(vec![purchased("cs_2", 5, 15)]);
    }

    #[test]
    fn a_repeated_purchase_reference_adds_nothing() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(purchase("cs_1", 10))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_reused_reference_with_another_amount_is_rejected() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(purchase("cs_1", 99))
            .then_expect_error(DomainError::IdempotencyKeyReused {
                key: "cs_1".into(),
                first_credits: 10,
                credits: 99,
            });
    }

    #[test]
    fn only_an_admin_grants_credits() {
        let grant = |by| {
            WalletCommand::GrantCredits(GrantCredits {
                wallet_id: WALLET,
                grant_id: Uuid::from_u128(3),
                credits: 7,
                reason: "welcome".into(),
                granted_by: by,
            })
        };
        WalletTest::with(())
            .given_no_previous_events()
            .when(grant(admin()))
            .then_expect_events(vec![WalletEvent::CreditsGranted {
                wallet_id: WALLET,
                grant_id: Uuid::from_u128(3),
                credits: 7,
                reason: "welcome".into(),
                balance_after: 7,
            }]);
        WalletTest::with(())
            .given_no_previous_events()
            .when(grant(owner()))
            .then_expect_error(forbidden(owner(), WALLET));
    }

    #[test]
    fn a_charge_spends_credits() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(charge(4))
            .then_expect_events(vec![charged(4, 6)]);
    }

    #[test]
    fn an_overdraft_is_rejected_with_what_was_available() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 3, 3)])
            .when(charge(4))
            .then_expect_error(DomainError::InsufficientCredits {
                requested: 4,
                available: 3,
            });
    }

    #[test]
    fn a_retried_charge_charges_once() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10), charged(4, 6)])
            .when(charge(4))
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_candidate_charges_only_its_own_wallet() {
        let other = Actor::new(Uuid::from_u128(9), Role::Candidate);
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(WalletCommand::ChargeCredits(ChargeCredits {
                wallet_id: WALLET,
                charge_id: CHARGE,
                credits: 1,
                purpose: "resume".into(),
                charged_by: other,
            }))
            .then_expect_error(forbidden(other, WALLET));
    }

    #[test]
    fn credits_must_be_positive_and_bounded() {
        for credits in [0, -5, MAX_CREDITS_PER_COMMAND + 1] {
            WalletTest::with(())
                .given(vec![purchased("cs_1", 10, 10)])
                .when(charge(credits))
                .then_expect_error(DomainError::Invalid(vec![FieldError::new(
                    "credits",
                    format!("must be between 1 and {MAX_CREDITS_PER_COMMAND}"),
                )]));
        }
    }

    #[test]
    fn a_refund_returns_at_most_the_charge_once() {
        let history = || vec![purchased("cs_1", 10, 10), charged(4, 6)];
        WalletTest::with(())
            .given(history())
            .when(refund(4))
            .then_expect_events(vec![refunded(4, 10)]);
        WalletTest::with(())
            .given(history())
            .when(refund(5))
            .then_expect_error(DomainError::RefundExceedsCharge {
                charge_id: CHARGE,
                charged: 4,
                requested: 5,
            });
        WalletTest::with(())
            .given([history(), vec![refunded(4, 10)]].concat())
            .when(refund(4))
            .then_expect_events(vec![]);
        WalletTest::with(())
            .given([history(), vec![refunded(2, 8)]].concat())
            .when(refund(1))
            .then_expect_error(DomainError::AlreadyRefunded {
                charge_id: CHARGE,
                refunded: 2,
            });
    }

    #[test]
    fn only_an_existing_charge_is_refunded() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10)])
            .when(refund(1))
            .then_expect_error(DomainError::ChargeNotFound { charge_id: CHARGE });
    }

    #[test]
    fn candidates_cannot_refund_themselves() {
        WalletTest::with(())
            .given(vec![purchased("cs_1", 10, 10), charged(4, 6)])
            .when(WalletCommand::RefundCredits(RefundCredits {
                wallet_id: WALLET,
                charge_id: CHARGE,
                credits: 4,
                reason: "please".into(),
                refunded_by: owner(),
            }))
            .then_expect_error(forbidden(owner(), WALLET));
    }

    #[test]
    fn a_reused_key_with_other_text_is_rejected_and_the_same_text_is_a_retry() {
        let history = || vec![purchased("cs_1", 10, 10), charged(4, 6)];
        let charge_for = |purpose: &str| {
            WalletCommand::ChargeCredits(ChargeCredits {
                wallet_id: WALLET,
                charge_id: CHARGE,
                credits: 4,
                purpose: purpose.into(),
                charged_by: owner(),
            })
        };
        WalletTest::with(())
            .given(history())
            .when(charge_for(" resume "))
            .then_expect_events(vec![]);
        WalletTest::with(())
            .given(history())
            .when(charge_for("cover letter"))
            .then_expect_error(DomainError::KeyReusedWithOtherContent {
                key: CHARGE.to_string(),
                field: "purpose",
            });

        let grant_id = Uuid::from_u128(3);
        let granted = WalletEvent::CreditsGranted {
            wallet_id: WALLET,
            grant_id,
            credits: 7,
            reason: "welcome".into(),
            balance_after: 7,
        };
        WalletTest::with(())
            .given(vec![granted])
            .when(WalletCommand::GrantCredits(GrantCredits {
                wallet_id: WALLET,
                grant_id,
                credits: 7,
                reason: "apology".into(),
                granted_by: admin(),
            }))
            .then_expect_error(DomainError::KeyReusedWithOtherContent {
                key: grant_id.to_string(),
                field: "reason",
            });

        WalletTest::with(())
            .given([history(), vec![refunded(4, 10)]].concat())
            .when(WalletCommand::RefundCredits(RefundCredits {
                reason: "goodwill".into(),
                ..match refund(4) {
                    WalletCommand::RefundCredits(r) => r,
                    _ => unreachable!(),
                }
            }))
            .then_expect_error(DomainError::KeyReusedWithOtherContent {
                key: CHARGE.to_string(),
                field: "reason",
            });
    }

    #[test]
    fn a_wallet_snapshot_without_the_texts_still_loads_and_takes_keys_as_retries() {
        let old = serde_json::json!({
            "balance": 6,
            "purchases": {"cs_1": 10},
            "grants": {},
            "charges": {CHARGE.to_string(): {"credits": 4, "refunded": null}},
        });
        let wallet: Wallet = serde_json::from_value(old).expect("old snapshot");
        assert_eq!(
            wallet.charge(match charge(4) {
                WalletCommand::ChargeCredits(c) => c,
                _ => unreachable!(),
            }),
            Ok(None)
        );
    }

    #[test]
    fn employers_and_auditors_named_like_the_wallet_cannot_touch_it() {
        for role in [Role::Employer, Role::Auditor] {
            let actor = Actor::new(WALLET, role);
            WalletTest::with(())
                .given(vec![purchased("cs_1", 10, 10)])
                .when(WalletCommand::ChargeCredits(ChargeCredits {
                    wallet_id: WALLET,
                    charge_id: CHARGE,
                    credits: 1,
                    purpose: "resume".into(),
                    charged_by: actor,
                }))
                .then_expect_error(forbidden(actor, WALLET));
        }
    }
}
