//! Deals and earnings over HTTP: the back-office's approval queue and
//! decisions, and a partner's ledger lines. JSON in and out.
//!
//! | method and path                         | who       |
//! |-----------------------------------------|-----------|
//! | `GET /api/admin/deals[?status=..]`      | admin     |
//! | `POST /api/admin/deals/{id}/approve`    | admin     |
//! | `POST /api/admin/deals/{id}/reject`     | admin     |
//! | `POST /api/admin/deals/{id}/clawback`   | admin     |
//! | `GET /api/admin/orders`                 | admin     |
//! | `POST /api/admin/orders`                | admin     |
//! | `POST /api/admin/orders/{id}/refund`    | admin     |
//! | `GET /api/admin/payouts/preview`        | admin     |
//! | `POST /api/admin/payouts`               | admin     |
//! | `GET /api/admin/payouts/{id}/export`    | admin     |
//! | `GET /api/admin/partners`               | admin     |
//! | `PUT /api/admin/partners/{id}/terms`    | admin     |
//! | `GET /api/admin/reports`                | admin     |
//! | `GET /api/admin/reports/{name}[?format=csv]` | admin |
//! | `GET /api/me/ledger`                    | partner   |
//! | `GET /api/me/balances`                  | partner   |
//! | `GET /api/me/statements`                | partner   |
//! | `PUT /api/me/payout-method`             | partner   |

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    api_auth::{ApiJson, Reason, bounded_text, decision_reason},
    auth::Authenticated,
    error::AppError,
    http::AppState,
    ledger::{self, Line, Reviewed},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/deals", get(list_deals))
        .route("/api/admin/deals/{id}/approve", post(approve))
        .route("/api/admin/deals/{id}/reject", post(reject))
        .route("/api/admin/deals/{id}/clawback", post(claw_back))
        .route("/api/admin/orders", get(list_orders).post(record_order))
        .route("/api/admin/orders/{id}/refund", post(refund_order))
        .route("/api/admin/payouts/preview", get(payout_preview))
        .route("/api/admin/payouts", post(run_payouts))
        .route("/api/admin/payouts/{id}/export", get(payout_export))
        .route("/api/admin/partners", get(list_partners))
        .route(
            "/api/admin/partners/{id}/terms",
            axum::routing::put(set_terms),
        )
        .route("/api/admin/reports", get(list_reports))
        .route("/api/admin/reports/{name}", get(report))
        .route("/api/me/ledger", get(my_ledger))
        .route("/api/me/balances", get(my_balances))
        .route("/api/me/statements", get(my_statements))
        .route(
            "/api/me/payout-method",
            axum::routing::put(set_payout_method),
        )
        .layer(DefaultBodyLimit::max(16 * 1024))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

#[derive(Serialize, sqlx::FromRow)]
struct DealEntry {
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
async fn list_deals(
    State(state): State<AppState>,
    who: Authenticated,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<DealEntry>>, AppError> {
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
    let deals = sqlx::query_as::<_, DealEntry>(
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
    Ok(Json(deals))
}

#[derive(Serialize)]
struct Approved {
    deal_id: i64,
    lines: Vec<Line>,
}

/// Approves a submitted deal as the admin reviewed it (its amount,
/// currency and version; 409 with the current figures when it changed);
/// approving it again answers the same lines.
async fn approve(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(reviewed): ApiJson<Reviewed>,
) -> Result<Json<Approved>, AppError> {
    who.require_admin()?;
    let lines = ledger::approve(
        &state.pool,
        &state.ledger,
        id,
        &reviewed,
        &who.account_id,
        Utc::now(),
    )
    .await?;
    Ok(Json(Approved { deal_id: id, lines }))
}

#[derive(Serialize)]
struct Rejected {
    deal_id: i64,
    status: &'static str,
}

/// A rejection: why, and what the admin reviewed (as for an approval).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejection {
    reason: String,
    amount_minor: i64,
    currency: String,
    version: i64,
}

async fn reject(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(rejection): ApiJson<Rejection>,
) -> Result<Json<Rejected>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&rejection.reason, "a rejection")?;
    let reviewed = Reviewed {
        amount_minor: rejection.amount_minor,
        currency: rejection.currency,
        version: rejection.version,
    };
    ledger::reject(
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
        status: "rejected",
    }))
}

/// The signed-in partner's ledger lines, newest first.
async fn my_ledger(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<Line>>, AppError> {
    Ok(Json(
        ledger::lines_of_partner(&state.pool, &partner_of(&who)?).await?,
    ))
}

#[derive(Serialize)]
struct Reversed {
    lines: Vec<Line>,
}

/// A refund or cancellation of an approved deal.
async fn claw_back(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<Reversed>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&body.reason, "a clawback")?;
    let lines = ledger::claw_back_deal(
        &state.pool,
        &state.ledger,
        id,
        &who.account_id,
        &why,
        Utc::now(),
    )
    .await?;
    Ok(Json(Reversed { lines }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    reference: String,
    /// The partner whose referral link brought the order; none for a
    /// direct sale.
    #[serde(default)]
    partner_id: Option<String>,
    /// The amount as canonical decimal text in the currency ("1250.00":
    /// digits, a dot, no grouping), read by `model::Money::parse_decimal`;
    /// `currency` is an ISO 4217 code.
    amount: String,
    currency: String,
}

#[derive(Serialize, sqlx::FromRow)]
struct OrderEntry {
    id: i64,
    reference: String,
    partner_id: Option<String>,
    partner_name: Option<String>,
    amount_minor: i64,
    currency: String,
    recorded_at: DateTime<Utc>,
    refunded_at: Option<DateTime<Utc>>,
}

/// The most recent orders (newest first, at most 200), with the partner
/// they are attributed to and whether they were refunded.
async fn list_orders(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<OrderEntry>>, AppError> {
    who.require_admin()?;
    let orders = sqlx::query_as::<_, OrderEntry>(
        "SELECT o.id, o.reference, o.partner_id, p.name AS partner_name, o.amount_minor,
                o.currency::text AS currency, o.recorded_at, o.refunded_at
         FROM orders o LEFT JOIN partners p ON p.id = o.partner_id
         ORDER BY o.recorded_at DESC, o.id DESC
         LIMIT 200",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(orders))
}

async fn record_order(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(order): ApiJson<NewOrder>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let reference = bounded_text(&order.reference, "an order", "reference", 100)?;
    let reference = reference.as_str();
    let bad = |e: model::ModelError| AppError::BadRequest(e.to_string());
    let currency = model::Currency::parse(&order.currency).map_err(bad)?;
    let amount = model::Money::parse_decimal(&order.amount, currency).map_err(bad)?;
    if amount.minor <= 0 {
        return Err(AppError::BadRequest(
            "an order amount is positive".to_owned(),
        ));
    }
    if let Some(partner) = &order.partner_id {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)")
                .bind(partner)
                .fetch_one(&state.pool)
                .await?;
        if !known {
            return Err(AppError::BadRequest(format!("no partner {partner:?}")));
        }
    }
    let recorded = ledger::record_order(
        &state.pool,
        &state.ledger,
        reference,
        order.partner_id.as_deref(),
        amount,
        &who.account_id,
        Utc::now(),
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(recorded)).into_response())
}

async fn refund_order(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<Reversed>, AppError> {
    who.require_admin()?;
    let why = decision_reason(&body.reason, "a refund")?;
    let lines = ledger::refund_order(&state.pool, &state.ledger, id, &why, Utc::now()).await?;
    Ok(Json(Reversed { lines }))
}

/// What a run now would pay, and whom it would skip for want of a method.
async fn payout_preview(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<ledger::Payable>>, AppError> {
    who.require_admin()?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        ledger::payable(&mut conn, state.ledger.payout_minimum_minor, Utc::now()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRun {
    period: String,
}

#[derive(Serialize)]
struct Run {
    run_id: i64,
    statements: Vec<ledger::StatementEntry>,
}

async fn run_payouts(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(run): ApiJson<NewRun>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let (run_id, statements) = ledger::run_payouts(
        &state.pool,
        &state.ledger,
        run.period.trim(),
        &who.account_id,
        Utc::now(),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(Run { run_id, statements }),
    )
        .into_response())
}

async fn payout_export(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    let csv = ledger::payout_export(&state.pool, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"payout-run-{id}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

fn partner_of(who: &Authenticated) -> Result<String, AppError> {
    who.partner_id
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .ok_or_else(|| AppError::Forbidden("only partners have earnings".to_owned()))
}

async fn my_balances(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<ledger::Balance>>, AppError> {
    Ok(Json(
        ledger::balances(&state.pool, &partner_of(&who)?, Utc::now()).await?,
    ))
}

async fn my_statements(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<ledger::StatementEntry>>, AppError> {
    Ok(Json(
        ledger::statements_of(&state.pool, &partner_of(&who)?).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayoutMethod {
    kind: String,
    holder: String,
    account: String,
}

#[derive(Serialize)]
struct PayoutMethodSet {
    kind: String,
    masked: String,
}

async fn set_payout_method(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(method): ApiJson<PayoutMethod>,
) -> Result<Json<PayoutMethodSet>, AppError> {
    let partner = partner_of(&who)?;
    let masked = ledger::set_payout_method(
        &state.pool,
        &partner,
        &method.kind,
        &method.holder,
        &method.account,
    )
    .await?;
    Ok(Json(PayoutMethodSet {
        kind: method.kind,
        masked,
    }))
}

/// The report views of `schema/0005_reports.sql`, by the name the API uses.
const REPORTS: [&str; 7] = [
    "partner_revenue_share",
    "lead_to_close",
    "average_deal",
    "monthly_partner_revenue",
    "time_to_first_deal",
    "retention",
    "performer_cohort",
];

async fn list_reports(who: Authenticated) -> Result<Json<Vec<&'static str>>, AppError> {
    who.require_admin()?;
    Ok(Json(REPORTS.to_vec()))
}

#[derive(Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

#[derive(Serialize)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// One report as a table (JSON), or as a CSV file with `?format=csv`.
/// Values are Postgres' text of each column, so the CSV is exactly what a
/// BI tool reading the view would see.
async fn report(
    State(state): State<AppState>,
    who: Authenticated,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, AppError> {
    who.require_admin()?;
    // Only names from the list reach the SQL text below.
    let name = REPORTS
        .iter()
        .find(|r| **r == name)
        .ok_or(AppError::NotFound)?;
    let view = format!("report_{name}");
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(&view)
    .fetch_all(&state.pool)
    .await?;
    let select = columns
        .iter()
        .map(|c| format!("\"{}\"::text", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<Vec<Option<String>>> = sqlx::query(&format!("SELECT {select} FROM {view}"))
        .fetch_all(&state.pool)
        .await?
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| sqlx::Row::try_get::<Option<String>, _>(row, i).unwrap_or(None))
                .collect()
        })
        .collect();
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(Table { columns, rows }).into_response()),
        Some("csv") => {
            let line = |fields: Vec<String>| fields.join(",") + "\n";
            let mut csv = line(columns.iter().map(|c| ledger::csv_field(c)).collect());
            for row in rows {
                csv.push_str(&line(
                    row.iter()
                        .map(|v| ledger::csv_field(v.as_deref().unwrap_or("")))
                        .collect(),
                ));
            }
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.csv\""),
                    ),
                ],
                csv,
            )
                .into_response())
        }
        Some(other) => Err(AppError::BadRequest(format!(
            "format must be json or csv, not {other:?}"
        ))),
    }
}

#[derive(Serialize)]
struct PartnerEntry {
    partner_id: String,
    name: String,
    company: String,
    account_id: Option<String>,
    team_leader_id: Option<String>,
    tier: String,
    deals_in_window: u32,
    /// The extra rate agreed for when they are Elite, if any.
    elite_custom_bps: Option<i32>,
    balances: Vec<ledger::Balance>,
}

/// Every partner with their tier now and their balances.
async fn list_partners(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<Vec<PartnerEntry>>, AppError> {
    who.require_admin()?;
    let now = Utc::now();
    #[derive(sqlx::FromRow)]
    struct Row {
        partner_id: String,
        name: String,
        company: String,
        account_id: Option<String>,
        team_leader_id: Option<String>,
        elite_custom_bps: Option<i32>,
    }
    let partners = sqlx::query_as::<_, Row>(
        "SELECT p.id AS partner_id, p.name, p.company, a.id AS account_id, a.team_leader_id,
                t.elite_custom_bps
         FROM partners p
         LEFT JOIN accounts a ON a.partner_id = p.id
         LEFT JOIN partner_terms t ON t.partner_id = p.id
         ORDER BY p.name",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut tiers = ledger::all_tiers(&state.pool, &state.ledger, now).await?;
    let mut balances = ledger::all_balances(&state.pool, now).await?;
    let mut out = Vec::with_capacity(partners.len());
    for Row {
        partner_id,
        name,
        company,
        account_id,
        team_leader_id,
        elite_custom_bps,
    } in partners
    {
        let (tier, deals_in_window) = tiers
            .remove(&partner_id)
            .unwrap_or_else(|| ledger::standing(&[], now, &state.ledger.rules));
        let balances = balances.remove(&partner_id).unwrap_or_default();
        out.push(PartnerEntry {
            partner_id,
            name,
            company,
            account_id,
            team_leader_id,
            tier: tier.as_str().to_owned(),
            deals_in_window,
            elite_custom_bps,
            balances,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Terms {
    /// The extra rate an Elite partner earns on their deals, in basis
    /// points (100 = 1%); paid as its own line while they are Elite.
    elite_custom_bps: u32,
}

async fn set_terms(
    State(state): State<AppState>,
    who: Authenticated,
    Path(partner): Path<String>,
    ApiJson(terms): ApiJson<Terms>,
) -> Result<Json<Terms>, AppError> {
    who.require_admin()?;
    // What cannot be a partner id names no partner (and a NUL in it would
    // reach Postgres, which refuses it).
    let partner = model::PartnerId::parse(&partner).map_err(|_| AppError::NotFound)?;
    let partner = partner.as_str();
    let rate = rules::Rate::from_bps(terms.elite_custom_bps)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let elite = rules::base_rate(rules::Tier::Elite, &state.ledger.rules);
    if elite.checked_add(rate).is_none() {
        return Err(AppError::BadRequest(format!(
            "{elite} base plus {rate} would pay more than the deal"
        )));
    }
    let updated = sqlx::query(
        "INSERT INTO partner_terms (partner_id, elite_custom_bps, set_by)
         SELECT id, $2, $3 FROM partners WHERE id = $1
         ON CONFLICT (partner_id) DO UPDATE SET elite_custom_bps = EXCLUDED.elite_custom_bps,
             set_by = EXCLUDED.set_by, set_at = now()",
    )
    .bind(partner)
    .bind(i32::try_from(rate.bps()).unwrap_or(i32::MAX))
    .bind(&who.account_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Json(terms))
}
