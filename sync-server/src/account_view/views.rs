//! The account view writer: keeps each partner's `account_view` document
//! (see `model::AccountViewDoc`) equal to what Postgres says of them.
//!
//! The worker hears partner ids: from the ledger when a decision moved a
//! partner's deals or lines, from the projection when a pipeline changed
//! its owner's deals or their conflicts (a lead moved out of "won" after
//! approval; not on every pipeline edit: nothing else of a pipeline is in
//! the view), and when an application is approved. Ids that arrive while it
//! works, or within `GATHER` of a change, are coalesced, and up to `BATCH`
//! partners are refreshed together: one query per kind of fact for all of
//! them (`Facts`), where one partner alone used to cost a dozen
//! statements. A refresh computes the view from the
//! database (deals, ledger lines, balances, statements, and tier and
//! progress by the `rules` crate) and, if its figures differ from what the
//! document holds, stores the difference and hands it to every repo holding
//! the document (`Residency::put_outside`), so a partner's connected
//! devices see it at once while views nobody has open stay out of memory. A
//! partner's first refresh makes their document (`documents` row of kind
//! `account_view`, owned by the partner: one each), straight in Postgres
//! (`platform::server_docs`, which both writes go through).
//!
//! The figures also change with nothing written: a line becomes available
//! when its hold ends, and a deal stops counting towards the tier when it
//! leaves the trailing window. Each refresh therefore notes the partner's
//! next such instant, and a timer refreshes them when it passes. That is
//! exact (a line turns available when its hold date passes, not up to a
//! sweep period later) and costs nothing in between, where a periodic sweep
//! would recompute every partner each period to find the few whose
//! figures moved. At start every partner is refreshed (the catch-up), which
//! also fills the schedule and covers whatever moved while the server was
//! down.
//!
//! `computed_at` is written when the figures change, not on every refresh:
//! a refresh that finds the same figures writes nothing, so the document's
//! history (which every device downloads and keeps) grows with the
//! partner's earnings, not with the number of pipeline edits. Since time
//! alone changes the figures only at the scheduled instants, the view stays
//! exact from `computed_at` until its next change.
//!
//! A database or storage failure is retried with capped backoff
//! (`sync::retry_forever`) while further ids queue up, so no partner id is
//! lost; data that cannot be read (an id that names no partner, a document
//! that is not an account view) is logged and left. A row whose currency
//! no longer parses is logged and left out, and the rest of the view is
//! written.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use crate::events::{FiguresMoved, Inbox};
use chrono::{DateTime, Utc};
use model::{
    AccountView, AccountViewDoc, Assignment, Balance, Currency, DealOutcome, DealPricing,
    DealStatus, EarningLine, ExamOutcome, LeadId, LineStatus, ModuleDone, PartnerId,
    ProgressComponent, RECENT_LINES, Stage, Statement, TierProgress, Timestamp,
};
use rules::{Component, ProgressInputs, RulesConfig};
use sqlx::PgPool;

use crate::{
    grouped,
    money::{error::LedgerError, lines, tiers},
    notifications::outbox,
    platform::{residency::Residency, server_docs},
    training,
};

/// The longest the timer sleeps before looking at the clock again, so a
/// wall clock that jumps (the schedule is in wall-clock time) is noticed.
const MAX_NAP: Duration = Duration::from_secs(3600);

/// The most partners one refresh reads together.
const BATCH: usize = 64;

/// How long partners moved by a change gather before their refresh: a
/// burst (one projection batch, a payout run) is then read with one query
/// per kind of fact rather than a dozen statements per partner, and a
/// partner sees their figures this much later, which nobody can tell.
const GATHER: Duration = Duration::from_millis(100);

/// What the worker needs.
#[derive(Clone)]
pub struct Views {
    pub pool: PgPool,
    pub residency: Arc<Residency>,
    pub rules: RulesConfig,
}

/// Why a refresh did not happen; only `Retry` is tried again.
#[derive(Debug, thiserror::Error)]
enum RefreshError {
    /// The database or the document storage: it will come back.
    #[error("{0}")]
    Retry(String),
    /// Nothing to do about it by trying again.
    #[error("{0}")]
    GiveUp(String),
}

impl From<sqlx::Error> for RefreshError {
    fn from(e: sqlx::Error) -> Self {
        RefreshError::Retry(e.to_string())
    }
}

impl From<LedgerError> for RefreshError {
    fn from(e: LedgerError) -> Self {
        if e.is_retryable() {
            RefreshError::Retry(e.to_string())
        } else {
            RefreshError::GiveUp(e.to_string())
        }
    }
}

fn give_up(what: impl std::fmt::Display) -> RefreshError {
    RefreshError::GiveUp(what.to_string())
}

/// What a refresh found out.
struct Refreshed {
    /// The fingerprint of the figures the document now holds.
    figures: u64,
    /// When time alone changes this partner's figures next.
    next_due: Option<DateTime<Utc>>,
}

/// Runs the worker: catch-up, then ids from `changed` and the timer.
pub async fn run(views: Views, mut changed: Inbox<FiguresMoved>) {
    // Partners whose figures moved (by a change or by time); they go before
    // the catch-up, so a decision shows at once however many partners
    // there are.
    let mut pending: BTreeSet<String> = BTreeSet::new();
    // Every partner, once: what moved while we were down, and the schedule.
    let mut catch_up: BTreeSet<String> = sync::retry_forever(
        || sqlx::query_scalar("SELECT id FROM partners").fetch_all(&views.pool),
        tokio::time::sleep,
        |error, delay| tracing::warn!(%error, ?delay, "account views cannot list partners"),
    )
    .await
    .into_iter()
    .collect();

    // The figures each document is known to hold, so a refresh that finds
    // them unchanged touches no document.
    let mut written: HashMap<String, u64> = HashMap::new();
    // When each partner is due again, and the same by time.
    let mut due_of: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut schedule: BTreeSet<(DateTime<Utc>, String)> = BTreeSet::new();
    let mut open = true;
    loop {
        while let Ok(FiguresMoved(partner)) = changed.try_recv() {
            pending.insert(partner);
        }
        let now = Utc::now();
        while let Some((at, _)) = schedule.first()
            && *at <= now
        {
            let (_, partner) = schedule.pop_first().expect("a first entry");
            due_of.remove(&partner);
            pending.insert(partner);
        }
        if !pending.is_empty() || !catch_up.is_empty() {
            // A change comes in a burst (a pipeline edit, then its deals'
            // decisions; many partners' edits in one projection batch):
            // let it gather, so the partners it moved are read together.
            if !pending.is_empty() && open {
                let deadline = tokio::time::Instant::now() + GATHER;
                while pending.len() < BATCH {
                    tokio::select! {
                        received = changed.recv() => match received {
                            Some(FiguresMoved(partner)) => { pending.insert(partner); }
                            None => { open = false; break; }
                        },
                        () = tokio::time::sleep_until(deadline) => break,
                    }
                }
            }
            let mut batch: Vec<String> = Vec::new();
            while batch.len() < BATCH
                && let Some(partner) = pending.pop_first().or_else(|| catch_up.pop_first())
            {
                catch_up.remove(&partner);
                batch.push(partner);
            }
            let (views, batch_ref, known) = (&views, batch.as_slice(), &written);
            let outcomes = sync::retry_forever(
                || refresh(views, batch_ref, known),
                tokio::time::sleep,
                |error, delay| {
                    tracing::warn!(%error, ?delay, partners = batch_ref.len(), "account view refresh failed; retrying");
                },
            )
            .await;
            for (partner, outcome) in outcomes {
                if let Some(at) = due_of.remove(&partner) {
                    schedule.remove(&(at, partner.clone()));
                }
                match outcome {
                    Ok(refreshed) => {
                        written.insert(partner.clone(), refreshed.figures);
                        if let Some(at) = refreshed.next_due {
                            due_of.insert(partner.clone(), at);
                            schedule.insert((at, partner));
                        }
                    }
                    Err(error) => {
                        written.remove(&partner);
                        tracing::error!(%error, partner, "cannot write the account view");
                    }
                }
            }
            continue;
        }
        if !open && schedule.is_empty() {
            return;
        }
        let nap = schedule
            .first()
            .map(|(at, _)| (*at - now).to_std().unwrap_or_default().min(MAX_NAP))
            .unwrap_or(MAX_NAP);
        tokio::select! {
            received = changed.recv(), if open => match received {
                Some(FiguresMoved(partner)) => { pending.insert(partner); }
                None => open = false,
            },
            () = tokio::time::sleep(nap) => {}
        }
    }
}

/// Computes the views of `partners` (read together: one query per kind of
/// fact for the whole batch) and makes each partner's document hold
/// theirs. `known` holds the fingerprints of the figures last written.
/// What only one partner's data causes (an id that names no partner, a
/// row that does not parse) is that partner's outcome; an error reading
/// the facts that retrying cannot mend (a schema's, which would hit every
/// partner alike) is every partner's of the batch; a database or
/// storage failure is the batch's, which is tried again whole (writing is
/// idempotent: figures a document holds are not written again, and a
/// notice goes out once).
async fn refresh(
    views: &Views,
    partners: &[String],
    known: &HashMap<String, u64>,
) -> Result<Vec<(String, Result<Refreshed, String>)>, String> {
    let now = Utc::now();
    let present: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT id FROM partners WHERE id = ANY($1)")
            .bind(partners)
            .fetch_all(&views.pool)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
    let (present, absent): (Vec<String>, Vec<String>) =
        partners.iter().cloned().partition(|p| present.contains(p));
    let mut outcomes: Vec<(String, Result<Refreshed, String>)> = absent
        .into_iter()
        .map(|partner| {
            let error = format!("no partner {partner:?}");
            (partner, Err(error))
        })
        .collect();
    if present.is_empty() {
        return Ok(outcomes);
    }
    let mut facts = match Facts::read(&views.pool, &views.rules, &present, now).await {
        Ok(facts) => facts,
        Err(RefreshError::Retry(error)) => return Err(error),
        Err(RefreshError::GiveUp(error)) => {
            outcomes.extend(present.into_iter().map(|p| (p, Err(error.clone()))));
            return Ok(outcomes);
        }
    };
    for partner in present {
        let written = match facts.view(&views.rules, &partner, now) {
            Ok((view, next_due)) => {
                let figures = fingerprint(&view);
                if known.get(&partner) == Some(&figures) {
                    Ok(Refreshed { figures, next_due })
                } else {
                    write(views, &partner, &view, now)
                        .await
                        .map(|()| Refreshed { figures, next_due })
                }
            }
            Err(error) => Err(error),
        };
        match written {
            Ok(refreshed) => outcomes.push((partner, Ok(refreshed))),
            Err(RefreshError::GiveUp(error)) => outcomes.push((partner, Err(error))),
            Err(RefreshError::Retry(error)) => return Err(error),
        }
    }
    Ok(outcomes)
}

/// Makes `partner`'s document hold `view`, telling them first of lines
/// that became available.
async fn write(
    views: &Views,
    partner: &str,
    view: &AccountView,
    now: DateTime<Utc>,
) -> Result<(), RefreshError> {
    notify_available(&views.pool, partner, view, now).await?;
    server_docs::write_owned(
        &views.pool,
        &views.residency,
        sync::DocKind::AccountView,
        partner,
        |doc| {
            // Figures the document holds already are not written again.
            if AccountViewDoc::read(doc).is_ok_and(|current| current.same_figures(view)) {
                return Ok(());
            }
            AccountViewDoc::write(doc, view)
        },
    )
    .await
    .map_err(|error| match error {
        server_docs::WriteError::Retry(e) => RefreshError::Retry(e),
        server_docs::WriteError::GiveUp(e) => RefreshError::GiveUp(e),
    })
}

/// How far back a line that became available is still news.
const AVAILABLE_NEWS: chrono::Duration = chrono::Duration::days(7);

/// Tells the partner of each commission line that became available (its
/// hold ended) lately: once per line (`notifications::outbox`), whichever
/// refresh sees it first, which is the one at its hold date.
async fn notify_available(
    pool: &PgPool,
    partner: &str,
    view: &AccountView,
    now: DateTime<Utc>,
) -> Result<(), RefreshError> {
    let since = (now - AVAILABLE_NEWS).timestamp_millis();
    let news: Vec<&EarningLine> = view
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Available && l.amount_minor > 0)
        .filter(|l| l.available_at.0 >= since)
        .collect();
    if news.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let Some(account_id) = outbox::account_of(&mut tx, partner).await? else {
        return Ok(());
    };
    let english = model::NumberFormat::for_language("en");
    for line in news {
        let amount = model::Money::new(line.amount_minor, line.currency);
        outbox::enqueue(
            &mut tx,
            &outbox::Notice {
                account_id: account_id.clone(),
                kind: wire::NotificationKind::CommissionAvailable,
                dedupe_key: format!("line:{}:available", line.id),
                title: format!(
                    "Commission available: {} {}",
                    amount.format_grouped_in(english),
                    line.currency
                ),
                body: line.explanation.clone(),
                screen: "#earnings".to_owned(),
                topic: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The figures of a view, whenever it was computed.
fn fingerprint(view: &AccountView) -> u64 {
    let mut hasher = DefaultHasher::new();
    AccountView {
        computed_at: Timestamp(0),
        ..view.clone()
    }
    .hash(&mut hasher);
    hasher.finish()
}

#[derive(sqlx::FromRow)]
struct DealRow {
    partner_id: String,
    lead_id: String,
    status: String,
    amount_minor: i64,
    currency: String,
    reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reversed_at: Option<DateTime<Utc>>,
    /// Where the lead went after its deal was approved (`deal_conflicts`).
    moved_to: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    partner_id: String,
    id: i64,
    kind: String,
    amount_minor: i64,
    currency: String,
    rate_bps: Option<i32>,
    tier: Option<String>,
    deal_id: Option<i64>,
    lead_id: Option<String>,
    accrued_at: DateTime<Utc>,
    available_at: DateTime<Utc>,
    explanation: String,
    statement_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct StatementRow {
    partner_id: String,
    id: i64,
    period: String,
    currency: String,
    total_minor: i64,
    run_at: DateTime<Utc>,
    line_count: i64,
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t.timestamp_millis())
}

fn currency(code: &str) -> Result<Currency, RefreshError> {
    Currency::parse(code.trim()).map_err(give_up)
}

/// Whether a row's currency still parses. One stored before `Currency`
/// took ISO 4217 codes only (a probe stored `ZZZ`) is left out of the
/// view, with a warning naming the row, rather than stopping the partner's
/// whole view; filter rows with it before [`currency`] reads theirs.
fn currency_parses(code: &str, partner: &str, row: impl FnOnce() -> String) -> bool {
    match Currency::parse(code.trim()) {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(
                partner,
                row = row(),
                code,
                %error,
                "account view leaves out a row whose currency no longer parses"
            );
            false
        }
    }
}

/// The average of clients' ratings of each partner's orders delivered over
/// the last `days`, in hundredths of a star (absent when none); a refunded
/// order's rating no longer counts. The window runs on the delivery, which
/// rating again does not move.
async fn satisfaction_of(
    pool: &PgPool,
    partners: &[String],
    now: DateTime<Utc>,
    days: u32,
) -> Result<HashMap<String, u32>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.partner_id, round(avg(r.stars) * 100)::bigint FROM order_ratings r
         JOIN orders o ON o.id = r.order_id AND o.refunded_at IS NULL
         WHERE r.partner_id = ANY($1) AND o.delivered_at > $2 - make_interval(days => $3)
         GROUP BY r.partner_id",
    )
    .bind(partners)
    .bind(now)
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(partner, average)| (partner, u32::try_from(average).unwrap_or(0)))
        .collect())
}

/// A partner's progress towards their next tier at `now`, from their
/// approved deals in the window and modules completed (which the caller
/// has read): their account view shows it, and so does their team
/// leader's team view.
pub async fn progress(
    pool: &PgPool,
    rules: &RulesConfig,
    partner: &str,
    deals_in_window: u32,
    modules_done: u32,
    now: DateTime<Utc>,
) -> Result<rules::Progress, sqlx::Error> {
    let one = [partner.to_owned()];
    let (answers, satisfaction) = signals(pool, rules, &one, now).await?;
    Ok(progress_of(
        rules,
        deals_in_window,
        modules_done,
        answers.get(partner).copied().unwrap_or(0),
        satisfaction.get(partner).copied().unwrap_or(0),
    ))
}

/// The signals of `partners`' progress read from other modules: questions
/// answered in the chat and clients' satisfaction, over the deal window.
async fn signals(
    pool: &PgPool,
    rules: &RulesConfig,
    partners: &[String],
    now: DateTime<Utc>,
) -> Result<(HashMap<String, u32>, HashMap<String, u32>), sqlx::Error> {
    let window = chrono::Duration::days(i64::from(rules.deal_window_days));
    let answers = crate::chat::engagement::answers_of(pool, partners, now - window).await?;
    let satisfaction = satisfaction_of(pool, partners, now, rules.deal_window_days).await?;
    Ok((answers, satisfaction))
}

/// The four signals: deals approved in the window; training modules
/// completed; support engagement, the questions the partner answered in
/// the chat over the window (`chat::engagement`); satisfaction, the
/// clients' ratings of the orders the partner brought, over the window.
fn progress_of(
    rules: &RulesConfig,
    deals: u32,
    modules_done: u32,
    answers: u32,
    satisfaction_centi: u32,
) -> rules::Progress {
    rules::progress(
        &ProgressInputs {
            deals,
            training_modules: modules_done,
            support_engagements: answers,
            satisfaction_centi,
        },
        rules,
    )
}

/// What the database says of a batch of partners, read with one query per
/// kind of fact whatever the batch's size (a refresh of one partner used
/// to be a dozen statements; the worker refreshes whoever moved in a burst
/// together). Each map is by partner; a partner with none of a fact is
/// absent from its map.
struct Facts {
    deals: HashMap<String, Vec<DealRow>>,
    custom_bps: HashMap<String, i32>,
    modules_done: HashMap<String, Vec<ModuleDone>>,
    exams: HashMap<String, Vec<ExamOutcome>>,
    assignments: HashMap<String, Vec<Assignment>>,
    answers: HashMap<String, u32>,
    satisfaction: HashMap<String, u32>,
    balances: HashMap<String, Vec<wire::Balance>>,
    lines: HashMap<String, Vec<LineRow>>,
    statements: HashMap<String, Vec<StatementRow>>,
    next_hold: HashMap<String, DateTime<Utc>>,
}

impl Facts {
    async fn read(
        pool: &PgPool,
        rules: &RulesConfig,
        partners: &[String],
        now: DateTime<Utc>,
    ) -> Result<Facts, RefreshError> {
        let deals = sqlx::query_as::<_, DealRow>(
            // An open conflict of a deal still standing: a refunded deal no
            // longer stands, whatever its lead says.
            "SELECT d.partner_id, d.lead_id, d.status, d.amount_minor,
                    d.currency::text AS currency, d.reason, d.decided_at, d.reversed_at,
                    c.stage AS moved_to
             FROM deals d
             LEFT JOIN deal_conflicts c
                    ON c.deal_id = d.id AND c.resolved_at IS NULL AND d.reversed_at IS NULL
             WHERE d.partner_id = ANY($1)",
        )
        .bind(partners)
        .fetch_all(pool)
        .await?;
        let custom_bps: Vec<(String, i32)> = sqlx::query_as(
            "SELECT partner_id, elite_custom_bps FROM partner_terms
             WHERE partner_id = ANY($1) AND elite_custom_bps IS NOT NULL",
        )
        .bind(partners)
        .fetch_all(pool)
        .await?;
        let (answers, satisfaction) = signals(pool, rules, partners, now).await?;
        let lines = sqlx::query_as::<_, LineRow>(
            "SELECT me.id AS partner_id, l.*
             FROM unnest($1::text[]) AS me (id)
             CROSS JOIN LATERAL (
                 SELECT l.id, l.kind, l.amount_minor, l.currency::text AS currency, l.rate_bps,
                        l.tier, l.deal_id, d.lead_id, l.accrued_at, l.available_at,
                        l.explanation, s.statement_id
                 FROM ledger_lines l
                 LEFT JOIN deals d ON d.id = l.deal_id
                 LEFT JOIN statement_lines s ON s.line_id = l.id
                 WHERE l.partner_id = me.id
                 ORDER BY l.accrued_at DESC, l.id DESC
                 LIMIT $2) l",
        )
        .bind(partners)
        .bind(i64::try_from(RECENT_LINES).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
        let statements = sqlx::query_as::<_, StatementRow>(
            "SELECT s.partner_id, s.id, r.period, s.currency::text AS currency, s.total_minor,
                    r.run_at,
                    (SELECT count(*) FROM statement_lines sl WHERE sl.statement_id = s.id)
                        AS line_count
             FROM statements s JOIN payout_runs r ON r.id = s.run_id
             WHERE s.partner_id = ANY($1)",
        )
        .bind(partners)
        .fetch_all(pool)
        .await?;
        // Time moves the figures when an unpaid line's hold ends (over all
        // the partner's lines: the balances count them all).
        let next_hold: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT l.partner_id, min(l.available_at) FROM ledger_lines l
             WHERE l.partner_id = ANY($1) AND l.available_at > $2
               AND NOT EXISTS (SELECT 1 FROM statement_lines s WHERE s.line_id = l.id)
             GROUP BY l.partner_id",
        )
        .bind(partners)
        .bind(now)
        .fetch_all(pool)
        .await?;
        Ok(Facts {
            deals: grouped(deals.into_iter().map(|d| (d.partner_id.clone(), d))),
            custom_bps: custom_bps.into_iter().collect(),
            modules_done: training::standing::modules_done_of(pool, partners).await?,
            exams: training::standing::exams_of(pool, partners).await?,
            assignments: training::standing::assignments_of(pool, partners).await?,
            answers,
            satisfaction,
            balances: lines::balances_by_partner(pool, Some(partners), now).await?,
            lines: grouped(lines.into_iter().map(|l| (l.partner_id.clone(), l))),
            statements: grouped(statements.into_iter().map(|s| (s.partner_id.clone(), s))),
            next_hold: next_hold.into_iter().collect(),
        })
    }

    /// The view of `partner` at `now` (taking their facts), and the next
    /// instant after `now` at which time alone changes it.
    fn view(
        &mut self,
        rules: &RulesConfig,
        partner: &str,
        now: DateTime<Utc>,
    ) -> Result<(AccountView, Option<DateTime<Utc>>), RefreshError> {
        let partner_id = PartnerId::parse(partner).map_err(give_up)?;
        let deal_rows = self.deals.remove(partner).unwrap_or_default();
        // A clawed-back deal no longer counts toward the tier.
        let approvals: Vec<DateTime<Utc>> = deal_rows
            .iter()
            .filter(|d| d.status == "approved" && d.reversed_at.is_none())
            .filter_map(|d| d.decided_at)
            .collect();
        let deals = deal_rows
            .into_iter()
            .filter(|d| {
                currency_parses(&d.currency, partner, || {
                    format!("deal of lead {}", d.lead_id)
                })
            })
            .map(|d| {
                Ok(DealOutcome {
                    lead_id: LeadId::parse(&d.lead_id).map_err(give_up)?,
                    status: DealStatus::parse(&d.status)
                        .ok_or_else(|| give_up(format_args!("deal status {:?}", d.status)))?,
                    amount_minor: d.amount_minor,
                    currency: currency(&d.currency)?,
                    reason: d.reason,
                    decided_at: d.decided_at.map(ts),
                    moved_to: d
                        .moved_to
                        .map(|stage| Stage::parse(&stage))
                        .transpose()
                        .map_err(give_up)?,
                })
            })
            .collect::<Result<Vec<_>, RefreshError>>()?;

        // The same tier the ledger prices a deal at.
        let (tier, deals_in_window) = tiers::standing(&approvals, now, rules);
        // A deal approved now counts itself (`rules::deals_in_window`): its
        // rates are the next count's, as `money::decisions` prices it.
        let next_tier = rules::Tier::for_deals(deals_in_window.saturating_add(1), rules);
        let extra = match next_tier {
            rules::Tier::Elite => self
                .custom_bps
                .get(partner)
                .and_then(|bps| rules::Rate::from_bps(u32::try_from(*bps).ok()?).ok())
                .unwrap_or(rules.elite_custom_default),
            _ => rules::Rate::ZERO,
        };
        let next_deal = DealPricing {
            tier: next_tier.as_str().to_owned(),
            base_bps: rules::base_rate(next_tier, rules).bps(),
            extra_bps: extra.bps(),
        };
        let modules_done = self.modules_done.remove(partner).unwrap_or_default();
        let progress = progress_of(
            rules,
            deals_in_window,
            u32::try_from(modules_done.len()).unwrap_or(u32::MAX),
            self.answers.get(partner).copied().unwrap_or(0),
            self.satisfaction.get(partner).copied().unwrap_or(0),
        );

        let balances = self
            .balances
            .remove(partner)
            .unwrap_or_default()
            .into_iter()
            .filter(|b| {
                currency_parses(&b.currency, partner, || {
                    format!("balance in {}", b.currency)
                })
            })
            .map(|b| {
                Ok(Balance {
                    currency: currency(&b.currency)?,
                    pending_minor: b.pending_minor,
                    available_minor: b.available_minor,
                    paid_minor: b.paid_minor,
                })
            })
            .collect::<Result<Vec<_>, RefreshError>>()?;

        let lines = self
            .lines
            .remove(partner)
            .unwrap_or_default()
            .into_iter()
            .filter(|l| currency_parses(&l.currency, partner, || format!("ledger line {}", l.id)))
            .map(|l| {
                let status = if l.statement_id.is_some() {
                    LineStatus::Paid
                } else if l.available_at <= now {
                    LineStatus::Available
                } else {
                    LineStatus::Pending
                };
                Ok(EarningLine {
                    id: l.id,
                    kind: l.kind,
                    amount_minor: l.amount_minor,
                    currency: currency(&l.currency)?,
                    rate_bps: l.rate_bps.and_then(|r| u32::try_from(r).ok()),
                    tier: l.tier,
                    deal_id: l.deal_id,
                    lead_id: l
                        .lead_id
                        .map(|id| LeadId::parse(&id))
                        .transpose()
                        .map_err(give_up)?,
                    accrued_at: ts(l.accrued_at),
                    available_at: ts(l.available_at),
                    status,
                    statement_id: l.statement_id,
                    explanation: l.explanation,
                })
            })
            .collect::<Result<Vec<_>, RefreshError>>()?;

        let statements = self
            .statements
            .remove(partner)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| currency_parses(&s.currency, partner, || format!("statement {}", s.id)))
            .map(|s| {
                Ok(Statement {
                    id: s.id,
                    period: s.period,
                    currency: currency(&s.currency)?,
                    total_minor: s.total_minor,
                    run_at: ts(s.run_at),
                    line_count: u32::try_from(s.line_count).map_err(give_up)?,
                })
            })
            .collect::<Result<Vec<_>, RefreshError>>()?;

        // Time moves the figures when an unpaid line's hold ends and when
        // an approval leaves the window (`now - window < t` stops holding at
        // `t + window`).
        let window = chrono::Duration::milliseconds(
            i64::from(rules.deal_window_days).saturating_mul(rules::MS_PER_DAY),
        );
        let next_expiry = approvals
            .iter()
            .filter_map(|t| t.checked_add_signed(window))
            .filter(|t| *t > now)
            .min();
        let next_due = self
            .next_hold
            .get(partner)
            .copied()
            .into_iter()
            .chain(next_expiry)
            .min();

        let view = AccountView {
            partner_id,
            computed_at: ts(now),
            tier: tier.as_str().to_owned(),
            deals_in_window,
            next_deal: Some(next_deal),
            progress: TierProgress {
                per_mille: progress.per_mille,
                next_tier: progress.next.map(|t| t.as_str().to_owned()),
                components: progress
                    .components
                    .iter()
                    .map(|c| ProgressComponent {
                        name: component_word(c.component).as_str().to_owned(),
                        counted: c.counted,
                        target: c.target,
                        points: c.points,
                        max_points: c.max_points,
                    })
                    .collect(),
            },
            balances,
            lines,
            deals,
            statements,
            modules_done,
            exams: self.exams.remove(partner).unwrap_or_default(),
            assignments: self.assignments.remove(partner).unwrap_or_default(),
        }
        .sorted();
        Ok((view, next_due))
    }
}

/// The word the account view (and the API's vocabulary) uses for a
/// component of the progress score.
fn component_word(component: Component) -> wire::Component {
    match component {
        Component::Deals => wire::Component::Deals,
        Component::Training => wire::Component::Training,
        Component::Support => wire::Component::Support,
        Component::Satisfaction => wire::Component::Satisfaction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_row_whose_currency_no_longer_parses_is_left_out() {
        let row = || "deal of lead probe-1".to_owned();
        assert!(!currency_parses("ZZZ", "p-ben", row));
        assert!(currency_parses("USD", "p-ben", row));
        // `char(3)` pads; a padded code is the code.
        assert!(currency_parses("EUR ", "p-ben", row));
    }
}
