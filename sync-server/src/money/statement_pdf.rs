//! A payout statement as a PDF (`GET /statements/{id}/statement.pdf`, the
//! partner it pays or an admin): laid out by typst from the statement's
//! frozen data (the statement and the ledger lines it paid, which never
//! change), so it is the same file every time (an ETag of its hash) and
//! the app's service worker may keep it for offline.
//! Amounts and dates are written as an English reader reads them.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use wire::Role;

use super::MoneyState;
use crate::{
    http::{error::AppError, session::Authenticated},
    platform::pdf,
};

const TEMPLATE: &str = include_str!("../../templates/statement.typ");

fn amount(minor: i64, currency: &str) -> Result<String, AppError> {
    let currency = model::Currency::parse(currency)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored currency {currency}: {e}")))?;
    let english = model::NumberFormat::for_language("en");
    Ok(format!(
        "{} {}",
        model::Money::new(minor, currency).format_grouped_in(english),
        currency
    ))
}

/// A text the template prints as text: no tab or line break inside a field.
fn field(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

pub async fn statement_pdf(
    State(state): State<MoneyState>,
    who: Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let row: Option<(String, String, String, i64, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.partner_id, p.name, s.currency, s.total_minor, r.period, r.run_at
         FROM statements s JOIN payout_runs r ON r.id = s.run_id
         JOIN partners p ON p.id = s.partner_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let (partner, name, currency, total, period, paid) = row.ok_or(AppError::NotFound)?;
    let mine = who
        .partner_id
        .as_ref()
        .is_some_and(|p| p.as_str() == partner);
    if !mine && who.role != Role::Admin {
        // As for a statement nobody has: ids are not to be probed.
        return Err(AppError::NotFound);
    }
    let lines: Vec<(DateTime<Utc>, String, String, i64, String)> = sqlx::query_as(
        "SELECT l.accrued_at, l.explanation, l.kind, l.amount_minor, l.currency
         FROM statement_lines sl JOIN ledger_lines l ON l.id = sl.line_id
         WHERE sl.statement_id = $1 ORDER BY l.accrued_at, l.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let mut text = String::new();
    for (at, explanation, kind, minor, currency) in &lines {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            at.format("%-d %b %Y"),
            field(explanation),
            field(kind),
            amount(*minor, currency)?
        ));
    }
    let bytes = pdf::render(
        TEMPLATE,
        vec![
            ("partner", field(&name)),
            ("period", period),
            ("number", id.to_string()),
            ("paid", paid.format("%-d %B %Y").to_string()),
            ("total", amount(total, &currency)?),
            ("lines", text),
        ],
        paid,
        format!("statement-{id}"),
    )
    .await?;
    let etag = format!(
        "\"{}\"",
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.trim() == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"statement-{id}.pdf\""),
        )
        .header(header::ETAG, etag)
        // Asked again each time (a shared device's next account must not
        // get it from the browser's cache); the app's service worker keeps
        // a copy for offline, which signing out drops.
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .map_err(|e| AppError::Internal(e.into()))
}
