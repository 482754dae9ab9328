//! Referral links: what a partner's links brought (`GET /api/referrals`).
//! The links themselves are the partner's document (`model::Referrals`);
//! this is the server's side: which are confirmed, their figures, the
//! partner's coupon and the orders attributed to them.

use serde::{Deserialize, Serialize};

/// `GET /api/referrals` (a partner).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyReferrals<Time = String> {
    /// The coupon a buyer types on a device that never clicked; none until
    /// the partner's first link is confirmed.
    pub coupon: Option<String>,
    /// The links the server confirmed, oldest first.
    pub links: Vec<LinkFigures<Time>>,
    /// Links of the partner's document that another partner's code holds.
    pub refused: Vec<RefusedLink>,
    /// The newest orders attributed to the partner (at most 50).
    pub orders: Vec<ReferralOrder<Time>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFigures<Time = String> {
    pub code: String,
    pub label: String,
    pub confirmed_at: Time,
    pub clicks: i64,
    /// Orders the link won, refunded ones included.
    pub orders: i64,
    /// Per currency: revenue of its orders not refunded, and the referral
    /// commission they earned net of clawbacks.
    pub amounts: Vec<LinkAmount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAmount {
    pub currency: String,
    pub revenue_minor: i64,
    pub commission_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedLink {
    pub code: String,
    pub reason: String,
}

/// An order attributed to the partner, with what it earned and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralOrder<Time = String> {
    pub reference: String,
    /// The link that won it; none when a coupon did.
    pub code: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub recorded_at: Time,
    pub refunded_at: Option<Time>,
    /// The referral line's amount net of its clawback; none when the order
    /// earned no line.
    pub commission_minor: Option<i64>,
    /// What the ledger says of it: the line's explanation, or why the
    /// order earned none ("Starter earns no referral share: from Active").
    pub why: String,
}
