//! Reports: SQL views (`schema/0005_reports.sql`) read as a BI tool would,
//! as JSON or CSV.
//!
//! | `GET /api/admin/reports`                      | admin |
//! | `GET /api/admin/reports/{name}[?format=csv]`  | admin |

use axum::{
    Json,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use wire::Table;

use super::MoneyState;
use crate::http::{csv, error::AppError, session::Authenticated};

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

pub(super) async fn list_reports(who: Authenticated) -> Result<Json<Vec<&'static str>>, AppError> {
    who.require_admin()?;
    Ok(Json(REPORTS.to_vec()))
}

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    format: Option<String>,
}

/// One report as a table (JSON), or as a CSV file with `?format=csv`.
/// Values are Postgres' text of each column, so the CSV is exactly what a
/// BI tool reading the view would see.
pub(super) async fn report(
    State(state): State<MoneyState>,
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
            let mut out = csv::line(&columns);
            for row in rows {
                out.push_str(&csv::line(row.iter().map(|v| v.as_deref().unwrap_or(""))));
            }
            Ok(csv::attachment(name, out))
        }
        Some(other) => Err(AppError::BadRequest(format!(
            "format must be json or csv, not {other:?}"
        ))),
    }
}
