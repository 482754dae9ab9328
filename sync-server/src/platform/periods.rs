//! The programme's calendar: months, quarters and years in the
//! programme's time zone (`--programme-time-zone`, an IANA name), which
//! the server alone decides. A device's clock or zone never draws a
//! period's boundary, so a partner in Tokyo and one in Lisbon are ranked
//! over the same instants.
//!
//! Postgres holds the zone database and does the arithmetic
//! (`date_trunc` in the zone, an interval added in local time, back to an
//! instant), so no crate of time zones is built into the server, and a
//! boundary across a change of daylight saving time is the zone's.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    Month,
    Quarter,
    Year,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::Month, Span::Quarter, Span::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Span::Month => "month",
            Span::Quarter => "quarter",
            Span::Year => "year",
        }
    }
}

/// One period: its key (`2026-12`, `2026-Q4`, `2026`) and its instants,
/// `starts_at` included and `ends_at` not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Period {
    pub key: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A checked IANA zone name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(String);

impl Zone {
    /// `name` if Postgres knows it as a zone; an error naming it if not.
    pub async fn parse(pool: &PgPool, name: &str) -> anyhow::Result<Zone> {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)")
                .bind(name)
                .fetch_one(pool)
                .await?;
        anyhow::ensure!(
            known,
            "{name:?} is not a time zone (an IANA name such as Europe/Lisbon or UTC)"
        );
        Ok(Zone(name.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// The `span` holding the instant `at`, in `zone`.
pub async fn period_of(
    pool: &PgPool,
    zone: &Zone,
    span: Span,
    at: DateTime<Utc>,
) -> Result<Period, sqlx::Error> {
    let (key, starts_at, ends_at): (String, DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "WITH local AS (
             SELECT date_trunc($3, $1 AT TIME ZONE $2) AS start
         )
         SELECT CASE $3
                    WHEN 'month' THEN to_char(start, 'YYYY-MM')
                    WHEN 'quarter' THEN to_char(start, 'YYYY-\"Q\"Q')
                    ELSE to_char(start, 'YYYY')
                END,
                start AT TIME ZONE $2,
                (start + CASE $3 WHEN 'month' THEN interval '1 month'
                                 WHEN 'quarter' THEN interval '3 months'
                                 ELSE interval '1 year' END) AT TIME ZONE $2
         FROM local",
    )
    .bind(at)
    .bind(zone.name())
    .bind(span.as_str())
    .fetch_one(pool)
    .await?;
    Ok(Period {
        key,
        starts_at,
        ends_at,
    })
}

/// The first instant of the day after the one holding `at` in `zone`:
/// when "today" moves (an assignment becomes overdue, a month may end).
pub async fn next_midnight(
    pool: &PgPool,
    zone: &Zone,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (date_trunc('day', $1 AT TIME ZONE $2) + interval '1 day') AT TIME ZONE $2",
    )
    .bind(at)
    .bind(zone.name())
    .fetch_one(pool)
    .await
}

/// The day holding `at` in `zone`, `YYYY-MM-DD` (what an assignment's due
/// day is compared with).
pub async fn today(pool: &PgPool, zone: &Zone, at: DateTime<Utc>) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT to_char($1 AT TIME ZONE $2, 'YYYY-MM-DD')")
        .bind(at)
        .bind(zone.name())
        .fetch_one(pool)
        .await
}
