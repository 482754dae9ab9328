//! A team leader's team view (`model::TeamView`), computed from the
//! projections and the ledger at one instant: what `views.rs` writes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use model::{
    INVITEES, Invitee, MEMBER_DEALS, MemberDeal, MemberFigures, MissedOverrides, Money,
    OVERRIDE_LINES, OverrideLine, OverrideReview, Stage, StageTotal, TeamPeriod, TeamView,
};
use rules::RulesConfig;
use sqlx::PgPool;

use crate::{
    account_view,
    money::tiers,
    platform::periods::{self, Span, Zone},
    training,
};

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A length as a count in the view.
fn count_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A bound as SQL's LIMIT reads it.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The approvals of deals still standing, by partner, of `partners`.
async fn approvals(
    pool: &PgPool,
    partners: &[String],
) -> Result<HashMap<String, Vec<DateTime<Utc>>>, sqlx::Error> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        // A refunded deal no longer counts toward the tier (`money::tiers`).
        "SELECT partner_id, decided_at FROM deals
         WHERE partner_id = ANY($1) AND status = 'approved' AND reversed_at IS NULL",
    )
    .bind(partners)
    .fetch_all(pool)
    .await?;
    let mut by: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for (partner, at) in rows {
        by.entry(partner).or_default().push(at);
    }
    Ok(by)
}

/// The team view of the team leader whose partner is `leader`, at `now`;
/// `None` when that partner leads no team (not a team leader).
pub async fn compute(
    pool: &PgPool,
    rules: &RulesConfig,
    zone: &Zone,
    leader: &str,
    now: DateTime<Utc>,
) -> Result<Option<TeamView>, sqlx::Error> {
    let account: Option<String> = sqlx::query_scalar(
        "SELECT id FROM accounts
         WHERE partner_id = $1 AND role = 'team_leader' AND status = 'approved'",
    )
    .bind(leader)
    .fetch_optional(pool)
    .await?;
    let Some(account) = account else {
        return Ok(None);
    };
    let members: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT partner_id, id, name FROM accounts
         WHERE team_leader_id = $1 AND status = 'approved' AND partner_id IS NOT NULL
         ORDER BY partner_id",
    )
    .bind(&account)
    .fetch_all(pool)
    .await?;
    let month = periods::period_of(pool, zone, Span::Month, now).await?;
    let today = periods::today(pool, zone, now).await?;
    let mut everyone: Vec<String> = members.iter().map(|(p, _, _)| p.clone()).collect();
    everyone.push(leader.to_owned());
    let approvals = approvals(pool, &everyone).await?;

    let mut figures = BTreeMap::new();
    for (partner, account_id, name) in &members {
        let (tier, deals_in_window) = tiers::standing(
            approvals.get(partner).map_or(&[][..], Vec::as_slice),
            now,
            rules,
        );
        let modules = training::standing::modules_done(pool, partner).await?;
        let progress = account_view::views::progress(
            pool,
            rules,
            partner,
            deals_in_window,
            count_of(modules.len()),
            now,
        )
        .await?;
        let open: Vec<_> = training::standing::assignments(pool, partner)
            .await?
            .into_iter()
            .filter(|a| {
                !modules
                    .iter()
                    .any(|m| m.track == a.track && m.module == a.module)
            })
            .collect();
        let overdue = open.iter().filter(|a| a.due_on < today).count();
        figures.insert(
            partner.clone(),
            MemberFigures {
                name: name.clone(),
                account_id: account_id.clone(),
                tier: tier.as_str().to_owned(),
                progress_per_mille: progress.per_mille,
                next_tier: progress.next.map(|t| t.as_str().to_owned()),
                pipeline: pipeline(pool, partner).await?,
                won_in_period: won_in(pool, partner, &month).await?,
                lost_in_period: lost_in(pool, partner, &month).await?,
                modules_done: count_of(modules.len()),
                assignments_open: count_of(open.len()),
                assignments_overdue: count_of(overdue),
                last_active_at: last_active(pool, partner, now).await?,
                deals: deals(pool, partner).await?,
            },
        );
    }

    let (leader_tier, leader_deals) = tiers::standing(
        approvals.get(leader).map_or(&[][..], Vec::as_slice),
        now,
        rules,
    );
    let from_tier = rules.team_override.min_tier;
    let member_ids: Vec<String> = members.iter().map(|(p, _, _)| p.clone()).collect();
    let overrides = OverrideReview {
        leader_tier: leader_tier.as_str().to_owned(),
        earns: leader_tier >= from_tier,
        from_tier: from_tier.as_str().to_owned(),
        rate_bps: rules.team_override.rate.bps(),
        deals_to_go: rules
            .tiers
            .get(from_tier)
            .min_deals
            .saturating_sub(leader_deals),
        lines: override_lines(pool, leader).await?,
        missed: missed(pool, rules, &member_ids, now).await?,
    };
    let invitees = invitees(pool, &account).await?;
    Ok(Some(TeamView {
        period: TeamPeriod {
            key: month.key,
            starts_at: ms(month.starts_at),
            ends_at: ms(month.ends_at),
            time_zone: zone.name().to_owned(),
        },
        members: figures,
        overrides,
        invitees,
    }))
}

/// Who applied by the leader's invite link (`accounts.invited_by`), the
/// most recent, and where each stands.
async fn invitees(
    pool: &PgPool,
    leader_account: &str,
) -> Result<BTreeMap<String, Invitee>, sqlx::Error> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        bool,
    )> = sqlx::query_as(
        "SELECT id, name, status, created_at, decided_at,
                    coalesce(team_leader_id = $1 AND status = 'approved', false)
             FROM accounts WHERE invited_by = $1
             ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(leader_account)
    .bind(limit(INVITEES))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, status, applied_at, decided_at, in_team)| {
            (
                id,
                Invitee {
                    name,
                    status,
                    applied_at: ms(applied_at),
                    decided_at: decided_at.map(ms),
                    in_team,
                },
            )
        })
        .collect())
}

/// Open leads (not won, lost or archived) by stage and currency, in the
/// pipeline's order of stages.
async fn pipeline(pool: &PgPool, partner: &str) -> Result<Vec<StageTotal>, sqlx::Error> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT stage, trim(currency), count(*), sum(value_minor)::bigint FROM leads
         WHERE partner_id = $1 AND archived_at IS NULL AND stage NOT IN ('won', 'lost')
         GROUP BY stage, currency",
    )
    .bind(partner)
    .fetch_all(pool)
    .await?;
    let mut totals: Vec<StageTotal> = rows
        .into_iter()
        .map(|(stage, currency, leads, value)| StageTotal {
            stage,
            leads: count(leads),
            value_minor: value,
            currency,
        })
        .collect();
    let order = |stage: &str| {
        Stage::parse(stage)
            .ok()
            .and_then(|s| Stage::ALL.iter().position(|x| *x == s))
            .unwrap_or(usize::MAX)
    };
    totals.sort_by(|a, b| (order(&a.stage), &a.currency).cmp(&(order(&b.stage), &b.currency)));
    Ok(totals)
}

/// Deals filed in `period` and still standing.
async fn won_in(
    pool: &PgPool,
    partner: &str,
    period: &periods::Period,
) -> Result<u32, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deals
         WHERE partner_id = $1 AND status IN ('submitted', 'approved') AND reversed_at IS NULL
           AND submitted_at >= $2 AND submitted_at < $3",
    )
    .bind(partner)
    .bind(period.starts_at)
    .bind(period.ends_at)
    .fetch_one(pool)
    .await?;
    Ok(count(n))
}

/// Leads marked lost in `period` (their last change in it).
async fn lost_in(
    pool: &PgPool,
    partner: &str,
    period: &periods::Period,
) -> Result<u32, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM leads
         WHERE partner_id = $1 AND stage = 'lost' AND archived_at IS NULL
           AND updated_at >= $2 AND updated_at < $3",
    )
    .bind(partner)
    .bind(period.starts_at)
    .bind(period.ends_at)
    .fetch_one(pool)
    .await?;
    Ok(count(n))
}

/// The partner's last change the server saw (a lead, a lesson), never
/// later than `now`: a device's clock ahead of the server's says nothing.
async fn last_active(
    pool: &PgPool,
    partner: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    let at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT least(greatest(
                    (SELECT max(updated_at) FROM leads WHERE partner_id = $1),
                    (SELECT max(completed_at) FROM training_progress WHERE partner_id = $1)),
                $2)",
    )
    .bind(partner)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(at.map(ms))
}

#[derive(sqlx::FromRow)]
struct DealRow {
    lead_id: String,
    status: String,
    amount_minor: i64,
    currency: String,
    at: DateTime<Utc>,
    reversed: bool,
    contact: Option<String>,
    company: Option<String>,
}

/// The partner's most recent deals, by lead id.
async fn deals(pool: &PgPool, partner: &str) -> Result<BTreeMap<String, MemberDeal>, sqlx::Error> {
    let rows = sqlx::query_as::<_, DealRow>(
        "SELECT d.lead_id, d.status, d.amount_minor, trim(d.currency) AS currency,
                coalesce(d.decided_at, d.submitted_at) AS at, d.reversed_at IS NOT NULL AS reversed,
                l.contact_name AS contact, l.company
         FROM deals d
         LEFT JOIN leads l ON l.partner_id = d.partner_id AND l.lead_id = d.lead_id
         WHERE d.partner_id = $1
         ORDER BY 5 DESC, d.id DESC
         LIMIT $2",
    )
    .bind(partner)
    .bind(limit(MEMBER_DEALS))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            (
                d.lead_id,
                MemberDeal {
                    contact: d.contact.unwrap_or_default(),
                    company: d.company.unwrap_or_default(),
                    amount_minor: d.amount_minor,
                    currency: d.currency,
                    status: if d.reversed {
                        "reversed".to_owned()
                    } else {
                        d.status
                    },
                    at: ms(d.at),
                },
            )
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct OverrideRow {
    id: i64,
    amount_minor: i64,
    currency: String,
    accrued_at: DateTime<Utc>,
    member: String,
    member_name: Option<String>,
    lead_id: Option<String>,
    contact: Option<String>,
    company: Option<String>,
    reversed: bool,
}

/// The leader's most recent override lines, each with the member and the
/// deal it comes from (through the base line it was cut from).
async fn override_lines(
    pool: &PgPool,
    leader: &str,
) -> Result<BTreeMap<String, OverrideLine>, sqlx::Error> {
    let rows = sqlx::query_as::<_, OverrideRow>(
        "SELECT o.id, o.amount_minor, trim(o.currency) AS currency, o.accrued_at,
                b.partner_id AS member, m.name AS member_name, d.lead_id,
                l.contact_name AS contact, l.company,
                EXISTS (SELECT 1 FROM ledger_lines c
                        WHERE c.source_line_id = o.id AND c.kind = 'clawback') AS reversed
         FROM ledger_lines o
         JOIN ledger_lines b ON b.id = o.source_line_id
         LEFT JOIN accounts m ON m.partner_id = b.partner_id
         LEFT JOIN deals d ON d.id = o.deal_id
         LEFT JOIN leads l ON l.partner_id = d.partner_id AND l.lead_id = d.lead_id
         WHERE o.partner_id = $1 AND o.kind = 'override'
         ORDER BY o.accrued_at DESC, o.id DESC
         LIMIT $2",
    )
    .bind(leader)
    .bind(limit(OVERRIDE_LINES))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id.to_string(),
                OverrideLine {
                    member_name: r.member_name.unwrap_or_else(|| r.member.clone()),
                    member: r.member,
                    lead_id: r.lead_id,
                    contact: r.contact.unwrap_or_default(),
                    company: r.company.unwrap_or_default(),
                    amount_minor: r.amount_minor,
                    currency: r.currency,
                    accrued_at: ms(r.accrued_at),
                    reversed: r.reversed,
                },
            )
        })
        .collect())
}

/// The members' base lines in the deal window, of deals still standing,
/// that paid the leader no override, and what each would have paid at the
/// first tier that earns overrides (the rules' own rounding), per currency.
async fn missed(
    pool: &PgPool,
    rules: &RulesConfig,
    members: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<MissedOverrides>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT b.amount_minor, trim(b.currency) FROM ledger_lines b
         JOIN deals d ON d.id = b.deal_id
         WHERE b.kind = 'base' AND b.partner_id = ANY($1) AND d.reversed_at IS NULL
           AND b.accrued_at > $2 - make_interval(days => $3)
           AND NOT EXISTS (SELECT 1 FROM ledger_lines o
                           WHERE o.source_line_id = b.id AND o.kind = 'override')",
    )
    .bind(members)
    .bind(now)
    .bind(i32::try_from(rules.deal_window_days).unwrap_or(i32::MAX))
    .fetch_all(pool)
    .await?;
    let mut by: BTreeMap<String, (u32, Money)> = BTreeMap::new();
    for (minor, code) in rows {
        let Ok(currency) = model::Currency::parse(&code) else {
            tracing::warn!(
                code,
                "team view leaves out a base line whose currency no longer parses"
            );
            continue;
        };
        let cut = rules::team_override(
            Money::new(minor, currency),
            rules.team_override.min_tier,
            rules,
        )
        .ok()
        .flatten();
        let Some(cut) = cut else { continue };
        let entry = by.entry(code).or_insert((0, Money::new(0, currency)));
        // Bounded amounts (`Money::MAX_MINOR`) cannot overflow a sum of
        // lines; saturate rather than fail the view if they ever did.
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Money::new(entry.1.minor.saturating_add(cut.minor), currency);
    }
    Ok(by
        .into_iter()
        .map(|(currency, (deals, amount))| MissedOverrides {
            currency,
            deals,
            amount_minor: amount.minor,
        })
        .collect())
}
