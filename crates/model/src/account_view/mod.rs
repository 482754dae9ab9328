//! A partner's account view: where they stand and what they have earned,
//! computed by the server and read by the partner's devices, offline too.
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "account_view", partner_id: "p-ben", computed_at: ts,
//!        tier: "starter", deals_in_window: uint,
//!        next_deal: { tier: "active", base_bps: uint, extra_bps: uint } (absent: none),
//!        progress: { per_mille: uint, next_tier: "active" | null,
//!                    components: [ { name: "deals", counted: uint, target: uint,
//!                                    points: uint, max_points: uint } ] },
//!        balances: { <currency>: { pending_minor: int, available_minor: int,
//!                                  paid_minor: int } },
//!        lines: { <line id>: { kind: "base", amount_minor: int, currency: "USD",
//!                              rate_bps: uint | null, tier: "starter" | null,
//!                              deal_id: int | null, lead_id: "ben-5" | null,
//!                              accrued_at: ts, available_at: ts,
//!                              status: "pending" | "available" | "paid",
//!                              statement_id: int | null,
//!                              explanation: "20.00% base commission on ..." } },
//!        deals: { <lead id>: { status: "submitted" | "withdrawn" | "approved" | "rejected",
//!                              amount_minor: int, currency: "USD",
//!                              reason: str | null, decided_at: ts | null,
//!                              moved_to: "lost" | ... (absent: none) } },
//!        statements: { <statement id>: { period: "2025-06", currency: "USD",
//!                                        total_minor: int, run_at: ts,
//!                                        line_count: uint } } }
//! ```
//!
//! The server is the only writer (the share policy gives the owner read
//! access, and samod drops a read-only peer's changes), so nothing here has
//! to merge with anything. The shape is chosen for small changes instead:
//! every collection is a map keyed by the id of what it holds, so
//! [`AccountViewDoc::write`] writes only what differs from the document. A
//! new ledger line is one new entry, a line whose hold ended is one `status`
//! put, a line leaving the most recent [`RECENT_LINES`] is one delete.
//! Rewriting the view wholesale would be simpler, but each refresh would then
//! carry the whole view (every line with its explanation) to every device of
//! the partner and stay in the document's history for good. Maps are ordered
//! by key, so [`AccountViewDoc::read`] sorts (see [`AccountView::sorted`]).
//! Explanations are plain strings, not text objects: nobody edits them.
//!
//! Money is integer minor units beside its currency, never a float; times
//! are Automerge timestamps (milliseconds since the Unix epoch).
//!
//! `next_deal` is how a deal approved now would be priced, so the app can
//! say what a lead marked won would earn, offline. Like a deal's
//! `moved_to`, it is written only when set: views written before it
//! existed read the same.
//!
//! A deal's `moved_to` is written only when set (and deleted when it goes):
//! views written before it existed read the same, and a deal that never had
//! a conflict carries nothing for it.

#[cfg(feature = "doc")]
mod doc;

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

#[cfg(feature = "doc")]
pub use doc::AccountViewDoc;

use crate::{Currency, LeadId, PartnerId, Stage, Timestamp};

/// The value of the root `kind` field of an account view.
pub const ACCOUNT_VIEW_KIND: &str = "account_view";
/// How many of the partner's ledger lines the view holds, most recent first.
/// The balances count every line.
pub const RECENT_LINES: usize = 50;

/// Everything the partner's Earnings screen and tier badge show.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountView {
    pub partner_id: PartnerId,
    /// When the server computed these figures: what the app shows as "as of".
    pub computed_at: Timestamp,
    /// `starter`, `active`, `performer` or `elite` (the rules crate's names).
    pub tier: String,
    /// Approved deals in the trailing window, which the tier follows from.
    pub deals_in_window: u32,
    /// How a deal approved now would be priced (`None` in views written
    /// before the server said).
    pub next_deal: Option<DealPricing>,
    pub progress: TierProgress,
    /// One per currency the partner has lines in, by currency code.
    pub balances: Vec<Balance>,
    /// The most recent lines, newest first.
    pub lines: Vec<EarningLine>,
    /// The outcome of every lead the partner marked won, by lead id.
    pub deals: Vec<DealOutcome>,
    /// Newest first.
    pub statements: Vec<Statement>,
    /// The training modules completed, by track and module.
    #[serde(default)]
    pub modules_done: Vec<ModuleDone>,
    /// What the server made of the partner's exams, newest first.
    #[serde(default)]
    pub exams: Vec<ExamOutcome>,
    /// Modules the partner was asked to complete (by their team leader or
    /// an admin), by track and module; whether each is done is in
    /// `modules_done`.
    pub assignments: Vec<Assignment>,
}

/// A training module a partner was asked to complete by a day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    pub track: String,
    pub module: String,
    /// `YYYY-MM-DD`, in the programme's calendar.
    pub due_on: String,
    /// Who asked: a name to show.
    pub assigned_by: String,
    pub assigned_at: Timestamp,
}

/// A training module completed: every lesson of its latest version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModuleDone {
    pub track: String,
    pub module: String,
    pub completed_at: Timestamp,
}

/// An exam attempt the server graded, or would not grade.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExamOutcome {
    pub attempt: String,
    pub track: String,
    pub quiz: String,
    /// `passed`, `failed`, `too_soon`, `no_attempts_left`, `unknown`
    /// (`wire::AttemptOutcome`).
    pub outcome: String,
    pub score: Option<u8>,
    pub graded_at: Timestamp,
    /// When another attempt will be graded, after a failure.
    pub retry_after: Option<Timestamp>,
    /// The certificate a pass issued (`/verify/<id>`).
    pub certificate: Option<String>,
}

/// The rates a deal approved now would be paid at: the base rate of the
/// tier it would be priced at (the deal itself counted, as the ledger
/// counts it) and the agreed Elite rate on top (0 unless Elite).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DealPricing {
    pub tier: String,
    pub base_bps: u32,
    pub extra_bps: u32,
}

/// How far the partner is towards the next tier, and what counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TierProgress {
    /// 0 to 1000.
    pub per_mille: u16,
    /// `None` at the top tier.
    pub next_tier: Option<String>,
    /// In the order the rules give them; their points add up to `per_mille`.
    pub components: Vec<ProgressComponent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProgressComponent {
    /// `deals`, `training`, `support` or `satisfaction`.
    pub name: String,
    pub counted: u32,
    pub target: u32,
    pub points: u16,
    pub max_points: u16,
}

/// The partner's money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balance {
    pub currency: Currency,
    /// Held until the lines' hold dates.
    pub pending_minor: i64,
    /// Past their hold, not yet paid.
    pub available_minor: i64,
    pub paid_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    Pending,
    Available,
    Paid,
}

impl LineStatus {
    pub const ALL: [LineStatus; 3] = [LineStatus::Pending, LineStatus::Available, LineStatus::Paid];

    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Pending => "pending",
            LineStatus::Available => "available",
            LineStatus::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<LineStatus> {
        LineStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One ledger line and why the partner earned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EarningLine {
    pub id: i64,
    /// `base`, `elite`, `override`, `referral` or `clawback`.
    pub kind: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The rate frozen when the line accrued, in basis points.
    pub rate_bps: Option<u32>,
    /// The tier frozen when the line accrued.
    pub tier: Option<String>,
    pub deal_id: Option<i64>,
    /// The lead of the deal (a team member's lead for an override).
    pub lead_id: Option<LeadId>,
    pub accrued_at: Timestamp,
    /// The hold date.
    pub available_at: Timestamp,
    pub status: LineStatus,
    /// The statement that paid it (its status is then paid).
    pub statement_id: Option<i64>,
    pub explanation: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DealStatus {
    Submitted,
    Withdrawn,
    Approved,
    Rejected,
}

impl DealStatus {
    pub const ALL: [DealStatus; 4] = [
        DealStatus::Submitted,
        DealStatus::Withdrawn,
        DealStatus::Approved,
        DealStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealStatus::Submitted => "submitted",
            DealStatus::Withdrawn => "withdrawn",
            DealStatus::Approved => "approved",
            DealStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<DealStatus> {
        DealStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What the back-office made of a lead the partner marked won.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DealOutcome {
    pub lead_id: LeadId,
    pub status: DealStatus,
    pub amount_minor: i64,
    pub currency: Currency,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// The stage the lead was moved to after its deal was approved, by a
    /// device that did not know: the server keeps the approved deal and
    /// records the conflict, and the card says so. `None` once the lead is
    /// won again.
    pub moved_to: Option<Stage>,
}

impl DealOutcome {
    /// Whether the decision settles the lead's stage: an approved deal is
    /// paid on, so its lead stays won and the app offers no other stage.
    /// A rejected lead may move on (the partner lost it after all).
    pub fn holds_stage(&self) -> bool {
        self.status == DealStatus::Approved
    }
}

/// What one payout run paid the partner in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Statement {
    pub id: i64,
    /// `YYYY-MM`.
    pub period: String,
    pub currency: Currency,
    pub total_minor: i64,
    pub run_at: Timestamp,
    /// How many lines it paid; a device keeps only the recent lines, so it
    /// may hold fewer.
    pub line_count: u32,
}

impl AccountView {
    /// The view in the order [`AccountViewDoc::read`] gives: balances by
    /// currency, lines newest first, deals by lead id, statements newest
    /// first.
    pub fn sorted(mut self) -> AccountView {
        self.balances
            .sort_by(|a, b| a.currency.as_str().cmp(b.currency.as_str()));
        self.lines.sort_by_key(|l| Reverse((l.accrued_at, l.id)));
        self.deals.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
        self.statements.sort_by_key(|s| Reverse((s.run_at, s.id)));
        self.modules_done
            .sort_by(|a, b| (&a.track, &a.module).cmp(&(&b.track, &b.module)));
        self.exams
            .sort_by(|a, b| (b.graded_at, &b.attempt).cmp(&(a.graded_at, &a.attempt)));
        self.assignments
            .sort_by(|a, b| (&a.track, &a.module).cmp(&(&b.track, &b.module)));
        self
    }

    /// Whether the two views show the same figures, whenever each was
    /// computed. Both in [`Self::sorted`] order.
    pub fn same_figures(&self, other: &AccountView) -> bool {
        let AccountView {
            partner_id,
            computed_at: _,
            tier,
            deals_in_window,
            next_deal,
            progress,
            balances,
            lines,
            deals,
            statements,
            modules_done,
            exams,
            assignments,
        } = self;
        *partner_id == other.partner_id
            && *tier == other.tier
            && *deals_in_window == other.deals_in_window
            && *next_deal == other.next_deal
            && *progress == other.progress
            && *balances == other.balances
            && *lines == other.lines
            && *deals == other.deals
            && *statements == other.statements
            && *modules_done == other.modules_done
            && *exams == other.exams
            && *assignments == other.assignments
    }

    /// The outcome of the deal of `lead`, if the partner marked it won.
    pub fn deal(&self, lead: &LeadId) -> Option<&DealOutcome> {
        self.deals.iter().find(|deal| &deal.lead_id == lead)
    }
}
