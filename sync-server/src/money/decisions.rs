//! Deciding deals and what a decision appends to the ledger.
//!
//! Approving a deal appends, in one transaction with the decision:
//! - the partner's base line: their tier's base rate at approval time (the
//!   deal itself counted, see `rules::deals_in_window`) of the deal amount;
//! - an Elite partner's custom line, when an admin agreed one;
//! - their team leader's override line, linked to the base line, when the
//!   leader's own tier earns overrides.
//!
//! Every line freezes its rate, tier and hold date, and carries an
//! explanation a partner can read. The deal row is locked for the decision,
//! so two admins approving at once serialise: the second finds it approved
//! and gets the same lines back. The idempotency keys' unique constraint is
//! the backstop should anything else ever append for the same cause.
//! Clawing back an approved deal reverses every line it produced.
//!
//! | `GET /api/admin/deals[?status=..]`    | admin |
//! | `POST /api/admin/deals/{id}/approve`  | admin |
//! | `POST /api/admin/deals/{id}/reject`   | admin |
//! | `POST /api/admin/deals/{id}/clawback` | admin |

use anyhow::Context;
use axum::{
    Json,
    extract::{Path, Query, State},
};
use chrono::{DateTime, Utc};
use model::{Currency, Money};
use rules::Rate;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use wire::{
    Approved, DealEntry, DealStatus, NotificationKind, Preview, PreviewLine, Rejected, Rejection,
};

use super::{LedgerSettings, MoneyState, error::LedgerError};
use crate::money::{
    lines::{Line, NewLine, append, claw_back, lines_of_deal, reversed, wire_lines},
    tiers::tier_at,
};
use crate::{
    http::error::AppError,
    http::extract::{ApiJson, Reason, decision_reason},
    http::session::Authenticated,
    notifications::outbox,
};

#[derive(sqlx::FromRow)]
pub(super) struct DealRow {
    partner_id: String,
    lead_id: String,
    amount_minor: i64,
    currency: String,
    status: String,
    version: i64,
}

/// What an admin saw of a deal when they decided on it. The partner may
/// edit a submitted deal's lead until the decision, so a decision names the
/// figures it was made on and is refused when the deal moved in between
/// (`deals.version` moves with every change of amount or currency, and
/// when a withdrawn deal comes back to the queue).
pub use wire::Reviewed;

impl DealRow {
    fn require_reviewed(&self, reviewed: &Reviewed) -> Result<(), LedgerError> {
        let now = (self.amount_minor, self.currency.as_str(), self.version);
        if now
            == (
                reviewed.amount_minor,
                reviewed.currency.as_str(),
                reviewed.version,
            )
        {
            return Ok(());
        }
        // The server's messages are in English: amounts grouped as there.
        let english = model::NumberFormat::for_language("en");
        let show = |minor: i64, currency: &str| match Currency::parse(currency) {
            Ok(c) => format!("{} {c}", Money::new(minor, c).format_grouped_in(english)),
            Err(_) => format!("{minor} minor units of {currency:?}"),
        };
        Err(LedgerError::Stale {
            message: format!(
                "this deal changed since you reviewed it: it is now {} (you saw {}); review it again",
                show(self.amount_minor, &self.currency),
                show(reviewed.amount_minor, &reviewed.currency),
            ),
            current: wire::DealNow {
                amount_minor: self.amount_minor,
                currency: self.currency.clone(),
                status: wire::DealStatus::parse(&self.status).ok_or_else(|| {
                    anyhow::anyhow!("deal of lead {} has status {:?}", self.lead_id, self.status)
                })?,
                version: self.version,
            },
        })
    }
}

/// Approves a submitted deal and appends its lines; an approved deal
/// answers with the lines it already has.
pub async fn approve(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    reviewed: &Reviewed,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, LedgerError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    match deal.status.as_str() {
        // Approved already (a second click, a second admin): the same
        // lines, if it was approved as this admin saw it.
        "approved" => {
            deal.require_reviewed(reviewed)?;
            let lines = lines_of_deal(&mut tx, deal_id).await?;
            tx.commit().await?;
            return Ok(lines);
        }
        "submitted" => deal.require_reviewed(reviewed)?,
        other => return Err(LedgerError::Conflict(format!("the deal is {other}"))),
    }
    let lines = approve_locked(&mut tx, settings, deal_id, &deal, admin, now).await?;
    tx.commit().await?;
    settings.tell(lines.iter().map(|l| l.partner_id.clone()));
    Ok(lines)
}

/// The lines approving a submitted deal now would append, worked out by
/// the approval itself in a transaction that is then rolled back: the
/// preview cannot round or rate differently from the decision.
pub async fn preview(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, LedgerError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    if deal.status != "submitted" {
        return Err(LedgerError::Conflict(format!(
            "the deal is {}",
            deal.status
        )));
    }
    let lines = approve_locked(&mut tx, settings, deal_id, &deal, admin, now).await?;
    tx.rollback().await?;
    Ok(lines)
}

/// Approves `deal` (locked, submitted) on `tx`: its status, its lines, the
/// partner's notice. The caller commits (or, for a preview, does not).
async fn approve_locked(
    tx: &mut PgConnection,
    settings: &LedgerSettings,
    deal_id: i64,
    deal: &DealRow,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, LedgerError> {
    sqlx::query(
        "UPDATE deals SET status = 'approved', decided_at = $2, decided_by = $3 WHERE id = $1",
    )
    .bind(deal_id)
    .bind(now)
    .bind(admin)
    .execute(&mut *tx)
    .await?;

    let rules = &settings.rules;
    let currency = Currency::parse(&deal.currency).context("deal currency")?;
    let amount = Money::new(deal.amount_minor, currency);
    let available_at = now + settings.hold;
    let (tier, deals) = tier_at(&mut *tx, &deal.partner_id, now, rules).await?;
    let rate = rules::base_rate(tier, rules);
    let base = rules::base_commission(amount, rate).map_err(anyhow::Error::from)?;
    // A statement names the customer, not the lead's internal id: the
    // lead's contact and company as projected (the id when it has no row).
    let customer: Option<(String, String)> = sqlx::query_as(
        "SELECT contact_name, company FROM leads WHERE partner_id = $1 AND lead_id = $2",
    )
    .bind(&deal.partner_id)
    .bind(&deal.lead_id)
    .fetch_optional(&mut *tx)
    .await?;
    let what = match customer {
        Some((name, company)) if company.is_empty() => format!("deal with {name} of {amount}"),
        Some((name, company)) => format!("deal with {name} ({company}) of {amount}"),
        None => format!("deal {} of {amount}", deal.lead_id),
    };
    let standing = format!(
        "{tier}, {deals} approved deal{} in {} days",
        if deals == 1 { "" } else { "s" },
        rules.deal_window_days
    );
    let mut lines = Vec::new();
    let base_line = append(
        &mut *tx,
        NewLine {
            key: format!("deal:{deal_id}:base"),
            partner_id: &deal.partner_id,
            kind: "base",
            amount: base,
            rate: Some(rate),
            tier: Some(tier),
            deal_id: Some(deal_id),
            order_id: None,
            source_line_id: None,
            accrued_at: now,
            available_at,
            explanation: format!("{rate} base commission on {what} ({standing})"),
        },
    )
    .await?;

    let custom: Option<i32> =
        sqlx::query_scalar("SELECT elite_custom_bps FROM partner_terms WHERE partner_id = $1")
            .bind(&deal.partner_id)
            .fetch_optional(&mut *tx)
            .await?;
    let custom = custom
        .map(|bps| Rate::from_bps(u32::try_from(bps).unwrap_or(u32::MAX)))
        .transpose()
        .map_err(anyhow::Error::from)?;
    if let Some(extra) =
        rules::elite_custom(amount, tier, custom, rules).map_err(anyhow::Error::from)?
    {
        let custom_rate = custom.unwrap_or(rules.elite_custom_default);
        lines.push(
            append(
                &mut *tx,
                NewLine {
                    key: format!("deal:{deal_id}:elite"),
                    partner_id: &deal.partner_id,
                    kind: "elite",
                    amount: extra,
                    rate: Some(custom_rate),
                    tier: Some(tier),
                    deal_id: Some(deal_id),
                    order_id: None,
                    source_line_id: None,
                    accrued_at: now,
                    available_at,
                    explanation: format!("{custom_rate} agreed Elite rate on {what}"),
                },
            )
            .await?,
        );
    }

    let leader: Option<String> = sqlx::query_scalar(
        "SELECT leader.partner_id FROM accounts member
         JOIN accounts leader ON leader.id = member.team_leader_id
         WHERE member.partner_id = $1 AND leader.status = 'approved'
           AND leader.partner_id IS NOT NULL",
    )
    .bind(&deal.partner_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(leader) = leader {
        let (leader_tier, _) = tier_at(&mut *tx, &leader, now, rules).await?;
        if let Some(cut) = rules::team_override(base_line.amount(), leader_tier, rules)
            .map_err(anyhow::Error::from)?
        {
            let rate = rules.team_override.rate;
            lines.push(
                append(
                    &mut *tx,
                    NewLine {
                        key: format!("deal:{deal_id}:override"),
                        partner_id: &leader,
                        kind: "override",
                        amount: cut,
                        rate: Some(rate),
                        tier: Some(leader_tier),
                        deal_id: Some(deal_id),
                        order_id: None,
                        source_line_id: Some(base_line.id),
                        accrued_at: now,
                        available_at,
                        explanation: format!(
                            "{rate} team override ({leader_tier}) on {}'s base commission of {} for {what}",
                            deal.partner_id,
                            base_line.amount()
                        ),
                    },
                )
                .await?,
            );
        }
    }
    let earned = english_amount(base_line.amount());
    notify_decided(
        tx,
        deal,
        deal_id,
        NotificationKind::DealApproved,
        format!(
            "You earn {earned} on this deal of {}.",
            english_amount(amount)
        ),
    )
    .await?;
    lines.insert(0, base_line);
    Ok(lines)
}

/// An amount as the server's English messages write it: "1,500.00 USD".
pub(super) fn english_amount(money: Money) -> String {
    let english = model::NumberFormat::for_language("en");
    format!("{} {}", money.format_grouped_in(english), money.currency)
}

/// Tells the deal's partner how it was decided, in the decision's
/// transaction (see `notifications::outbox`); the notice opens the lead.
async fn notify_decided(
    tx: &mut PgConnection,
    deal: &DealRow,
    deal_id: i64,
    kind: NotificationKind,
    body: String,
) -> Result<(), LedgerError> {
    let Some(account_id) = outbox::account_of(tx, &deal.partner_id).await? else {
        return Ok(());
    };
    let customer: Option<(String, String)> = sqlx::query_as(
        "SELECT contact_name, company FROM leads WHERE partner_id = $1 AND lead_id = $2",
    )
    .bind(&deal.partner_id)
    .bind(&deal.lead_id)
    .fetch_optional(&mut *tx)
    .await?;
    let who = match customer {
        Some((name, company)) if company.is_empty() => name,
        Some((name, company)) => format!("{name} ({company})"),
        None => format!("lead {}", deal.lead_id),
    };
    let (title, outcome) = match kind {
        NotificationKind::DealApproved => (format!("Deal approved: {who}"), "approved"),
        _ => (format!("Deal not approved: {who}"), "rejected"),
    };
    outbox::enqueue(
        tx,
        &outbox::Notice {
            account_id,
            kind,
            dedupe_key: format!("deal:{deal_id}:{outcome}"),
            title,
            body,
            screen: outbox::lead_screen(&deal.lead_id),
            topic: Some(format!("deal-{deal_id}")),
        },
    )
    .await?;
    Ok(())
}

/// Rejects a submitted deal with a reason the partner will read.
pub async fn reject(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    reviewed: &Reviewed,
    admin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    match deal.status.as_str() {
        "rejected" => return deal.require_reviewed(reviewed),
        "submitted" => deal.require_reviewed(reviewed)?,
        other => return Err(LedgerError::Conflict(format!("the deal is {other}"))),
    }
    sqlx::query(
        "UPDATE deals SET status = 'rejected', reason = $2, decided_at = $3, decided_by = $4
         WHERE id = $1",
    )
    .bind(deal_id)
    .bind(reason)
    .bind(now)
    .bind(admin)
    .execute(&mut *tx)
    .await?;
    notify_decided(
        &mut tx,
        &deal,
        deal_id,
        NotificationKind::DealRejected,
        reason.to_owned(),
    )
    .await?;
    tx.commit().await?;
    settings.tell([deal.partner_id]);
    Ok(())
}

pub(super) async fn lock_deal(tx: &mut PgConnection, deal_id: i64) -> Result<DealRow, LedgerError> {
    sqlx::query_as::<_, DealRow>(
        "SELECT partner_id, lead_id, amount_minor, currency::text AS currency, status,
                version
         FROM deals WHERE id = $1 FOR UPDATE",
    )
    .bind(deal_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(LedgerError::NotFound)
}

/// Claws back an approved deal: every line it produced, the team leader's
/// override included. Doing it again answers the same clawback lines.
pub async fn claw_back_deal(
    pool: &PgPool,
    settings: &LedgerSettings,
    deal_id: i64,
    admin: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Line>, LedgerError> {
    let mut tx = pool.begin().await?;
    let deal = lock_deal(&mut tx, deal_id).await?;
    if deal.status != "approved" {
        return Err(LedgerError::Conflict(format!(
            "only an approved deal can be clawed back; this one is {}",
            deal.status
        )));
    }
    sqlx::query(
        "UPDATE deals SET reversed_at = coalesce(reversed_at, $2),
                          reversed_by = coalesce(reversed_by, $3),
                          reverse_reason = coalesce(reverse_reason, $4)
         WHERE id = $1",
    )
    .bind(deal_id)
    .bind(now)
    .bind(admin)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    let lines = lines_of_deal(&mut tx, deal_id).await?;
    let reversals = claw_back(&mut tx, &lines, reason, now).await?;
    tx.commit().await?;
    settings.tell(reversals.iter().map(|l| l.partner_id.clone()));
    Ok(reversals)
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

/// A `deals` row as the queue lists it.
#[derive(sqlx::FromRow)]
struct DealListRow {
    id: i64,
    partner_id: String,
    partner_name: String,
    lead_id: String,
    contact_name: Option<String>,
    company: Option<String>,
    amount_minor: i64,
    currency: String,
    status: String,
    /// Moves with every change of amount or currency, and when a withdrawn
    /// deal comes back: a decision names the version it was made on.
    version: i64,
    reason: Option<String>,
    submitted_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// A clawback after approval (a refund, a cancellation), and why.
    reversed_at: Option<DateTime<Utc>>,
    reverse_reason: Option<String>,
}

/// Deals, oldest first; `?status=submitted` (the default: the approval
/// queue), `approved`, `rejected`, `withdrawn` or `all`.
pub(super) async fn list_deals(
    State(state): State<MoneyState>,
    who: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<DealEntry<DateTime<Utc>>>>, AppError> {
    who.require_admin()?;
    let status = query.status.as_deref().unwrap_or("submitted");
    if !matches!(
        status,
        "submitted" | "approved" | "rejected" | "withdrawn" | "all"
    ) {
        return Err(AppError::BadRequest(
            "status must be one of submitted, approved, rejected, withdrawn, all".to_owned(),
        ));
    }
    let rows = sqlx::query_as::<_, DealListRow>(
        "SELECT d.id, d.partner_id, p.name AS partner_name, d.lead_id, l.contact_name,
                l.company, d.amount_minor, d.currency::text AS currency, d.status, d.version,
                d.reason,
                d.submitted_at, d.decided_at, d.reversed_at, d.reverse_reason
         FROM deals d JOIN partners p ON p.id = d.partner_id
         LEFT JOIN leads l ON l.partner_id = d.partner_id AND l.lead_id = d.lead_id
         WHERE $1 = 'all' OR d.status = $1
         ORDER BY d.submitted_at, d.id",
    )
    .bind(status)
    .fetch_all(&state.pool)
    .await?;
    let deals = rows
        .into_iter()
        .map(|row| {
            let status = DealStatus::parse(&row.status)
                .ok_or_else(|| anyhow::anyhow!("deal {} has status {:?}", row.id, row.status))?;
            Ok(DealEntry {
                id: row.id,
                partner_id: row.partner_id,
                partner_name: row.partner_name,
                lead_id: row.lead_id,
                contact_name: row.contact_name,
                company: row.company,
                amount_minor: row.amount_minor,
                currency: row.currency,
                status,
                version: row.version,
                reason: row.reason,
                submitted_at: row.submitted_at,
                decided_at: row.decided_at,
                reversed_at: row.reversed_at,
                reverse_reason: row.reverse_reason,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Json(deals))
}

/// What approving a submitted deal now would append, named.
pub(super) async fn handle_preview(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Preview>, AppError> {
    who.require_admin()?;
    let lines = preview(&state.pool, &state.ledger, id, &who.account_id, Utc::now()).await?;
    let ids: Vec<String> = lines.iter().map(|l| l.partner_id.clone()).collect();
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM partners WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&state.pool)
            .await?;
    let lines = wire_lines(&lines)?
        .into_iter()
        .map(|line| PreviewLine {
            partner_name: names
                .iter()
                .find(|(id, _)| *id == line.partner_id)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| line.partner_id.clone()),
            partner_id: line.partner_id,
            kind: line.kind,
            amount_minor: line.amount_minor,
            currency: line.currency,
            rate_bps: line.rate_bps,
            explanation: line.explanation,
        })
        .collect();
    Ok(Json(Preview { deal_id: id, lines }))
}

/// Approves a submitted deal as the admin reviewed it (its amount,
/// currency and version; 409 with the current figures when it changed);
/// approving it again answers the same lines.
pub(super) async fn handle_approve(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(reviewed): ApiJson<Reviewed>,
) -> Result<Json<Approved<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    let lines = approve(
        &state.pool,
        &state.ledger,
        id,
        &reviewed,
        &who.account_id,
        Utc::now(),
    )
    .await?;
    Ok(Json(Approved {
        deal_id: id,
        lines: wire_lines(&lines)?,
    }))
}

pub(super) async fn handle_reject(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(rejection): ApiJson<Rejection>,
) -> Result<Json<Rejected>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&rejection.reason, "a rejection")?;
    let reviewed = rejection.reviewed();
    reject(
        &state.pool,
        &state.ledger,
        id,
        &reviewed,
        &who.account_id,
        &why,
        Utc::now(),
    )
    .await?;
    Ok(Json(Rejected {
        deal_id: id,
        status: DealStatus::Rejected,
    }))
}

/// A refund or cancellation of an approved deal.
pub(super) async fn handle_claw_back(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<wire::Reversed<DateTime<Utc>>>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&body.reason, "a clawback")?;
    let lines = claw_back_deal(
        &state.pool,
        &state.ledger,
        id,
        &who.account_id,
        &why,
        Utc::now(),
    )
    .await?;
    Ok(Json(reversed(&lines)?))
}
