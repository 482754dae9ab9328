//! The commission and tier rules of the partner programme, as pure functions.
//!
//! The server's ledger writes commission lines with these functions. The
//! crate builds for wasm32 so that the PWA can preview the same lines
//! offline and never disagree with the server about a cent; it does not
//! yet (the lead management work adds the preview). Everything here is plain data in, plain data out: no IO, no clock
//! (the caller passes `now`), no floating point, and nothing that keeps this
//! crate from building for wasm32.
//!
//! # The rules
//!
//! A partner's [`Tier`] follows from how many deals were approved for them in
//! a trailing window ([`deals_in_window`], [`Tier::for_deals`]). The tier
//! decides which commission lines an approved deal or an attributed order
//! earns:
//!
//! | Tier      | Deals  | Lines it earns                                          |
//! |-----------|--------|---------------------------------------------------------|
//! | Starter   | 0–2    | 20% base                                                |
//! | Active    | 3–9    | 22% base, 5% referral share                             |
//! | Performer | 10–24  | 25% base, 5% referral share, 10% team override          |
//! | Elite     | 25+    | 30% base, 5% referral, 10% override, custom rate        |
//!
//! Every number in that table is a default of [`RulesConfig`], the one place
//! where they are written down. A line is its own amount of money: the team
//! override is computed from the member's base line, not from the deal, and a
//! clawback is the negation of the line it reverses ([`clawback`]).
//!
//! # Rounding
//!
//! Rates are whole basis points ([`Rate`]); money is integer minor units
//! ([`model::Money`]). A rate applied to an amount is computed exactly in
//! `i128` and rounded once to the minor unit, **half away from zero**: 0.5 of
//! a cent becomes one cent, -0.5 becomes minus one cent. Rounding symmetric
//! around zero is what makes a clawback exact: the commission on `-x` is the
//! negation of the commission on `x`, so a deal and its reversal net to zero.
//!
//! ```
//! use model::{Currency, Money};
//! use rules::{RulesConfig, Tier, base_commission, base_rate, team_override};
//!
//! let usd = Currency::parse("USD").unwrap();
//! let config = RulesConfig::default();
//! // A partner's third approved deal in the window makes them Active.
//! let tier = Tier::for_deals(3, &config);
//! assert_eq!(tier, Tier::Active);
//! // 22% of 1.11 is 0.2442, which rounds to 0.24.
//! let line = base_commission(Money::new(111, usd), base_rate(tier, &config)).unwrap();
//! assert_eq!(line, Money::new(24, usd));
//! // A Performer leading that partner earns 10% of the line: 0.024 → 0.02.
//! let over = team_override(line, Tier::Performer, &config).unwrap();
//! assert_eq!(over, Some(Money::new(2, usd)));
//! ```

mod commission;
mod config;
mod progress;
mod ranking;
mod rate;
mod tier;

pub use commission::{
    base_commission, clawback, deal_earnings, elite_custom, referral_share, team_override, total,
};
pub use config::{ProgressConfig, ProgressWeights, RulesConfig, ShareRule, TierRule, TierTable};
pub use progress::{Component, ComponentScore, Progress, ProgressInputs, progress};
pub use ranking::{Ranked, Score, rank, top_percent};
pub use rate::Rate;
pub use tier::{MS_PER_DAY, Tier, base_rate, deals_in_window};

use model::Currency;

/// What can go wrong applying the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("a rate of {bps} basis points is more than 100%")]
    RateAboveWhole { bps: u32 },
    #[error("cannot combine {expected} with {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("the amount does not fit in 64-bit minor units")]
    Overflow,
    #[error("Elite base rate {base} plus custom rate {custom} is more than 100%")]
    CombinedRateAboveWhole { base: Rate, custom: Rate },
    #[error("rules configuration: {0}")]
    InvalidConfig(String),
}
