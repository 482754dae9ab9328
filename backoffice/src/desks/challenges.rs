//! Challenges: what admins ask of partners, as data (a metric, an
//! operator and a target, each month, quarter or year, and a reward),
//! and how many met each. The server evaluates them from its own figures
//! and awards each partner once per period. A bonus a challenge earned
//! waits here for an admin, as a deal does: approving it appends one
//! `bonus` line to the partner's ledger; rejecting it says why.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card, reason_form},
};
use web_common::{
    api::{self, ApiError, BonusEntry, Challenge, NewChallenge},
    forms::{CURRENCIES, Change, form},
    show,
};

pub const NAME: &str = "challenges";
pub const TITLE: &str = "Challenges";

/// The challenges, newest first, and the bonuses waiting for a decision,
/// oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub challenges: Vec<Challenge>,
    pub bonuses: Vec<BonusEntry>,
}

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    let (challenges, bonuses) = futures::future::join(
        api::get("/api/admin/challenges"),
        api::get("/api/admin/bonuses?status=pending"),
    )
    .await;
    Ok(Answers {
        challenges: challenges?,
        bonuses: bonuses?,
    })
}

/// A bonus waiting: who met which challenge in which period, the amount
/// promised, and the decision.
fn bonus(b: &BonusEntry, ctx: &Ctx) -> Html {
    let id = b.id;
    let approve = ctx.change.reform(move |_| {
        Change::new(
            "POST",
            format!("/api/admin/bonuses/{id}/approve"),
            None::<&()>,
            |l| answer(l, |line: api::Line| html! { <span id="bonus-done">{ format!("Bonus approved: line #{} in the ledger.", line.id) }</span> }),
        )
    });
    // Each card's buttons say whose bonus, for a screen reader.
    let what = format!("bonus-{id}-what");
    let actions = if ctx.reasoning_about(&id) {
        reason_form(
            ctx,
            "partner",
            "Reject bonus",
            format!("/api/admin/bonuses/{id}/reject"),
            None,
            |_| html! { "Bonus rejected." },
        )
    } else {
        html! {
            <div class="row">
                <button class="reject" onclick={ctx.ask_why(&id)} aria-describedby={what.clone()}>{ "Reject…" }</button>
                <button class="primary approve" onclick={approve} aria-describedby={what.clone()}>{ "Approve bonus" }</button>
            </div>
        }
    };
    card(
        id.to_string(),
        b.period.clone(),
        b.partner_name.clone(),
        show::money(b.amount_minor, &b.currency),
        html! { <>
            <div class="company" id={what}>
                // The name is the card's heading; said again for the buttons.
                <span class="visually-hidden">{ format!("{}: ", b.partner_name) }</span>
                { format!("Met \u{201c}{}\u{201d} in {} (score {})", b.challenge, b.period, b.score) }
            </div>
            { actions }
        </> },
    )
}

fn metric_words(metric: &str) -> &'static str {
    match metric {
        "deals" => "deals approved",
        "training" => "training modules completed",
        _ => "revenue",
    }
}

/// "At least 2 deals approved each month", "More than 10,000.00 USD of
/// revenue each quarter".
fn goal(c: &Challenge) -> String {
    let target = if c.metric == "revenue" {
        show::money(c.target, &c.currency)
    } else {
        show::count(u64::try_from(c.target).unwrap_or(0))
    };
    let of = if c.metric == "revenue" { " of" } else { "" };
    let op = if c.operator == "more_than" {
        "More than"
    } else {
        "At least"
    };
    format!(
        "{op} {target}{of} {} each {}",
        metric_words(&c.metric),
        c.span
    )
}

/// What the form typed, as the API reads it: amounts typed as the admin
/// writes numbers, through the one parser.
fn typed(field: &dyn Fn(&str) -> String) -> Result<NewChallenge, String> {
    let metric = field("metric");
    let currency = field("currency");
    let target = if metric == "revenue" {
        let currency = model::Currency::parse(&currency).map_err(|e| e.to_string())?;
        show::typed_amount(&field("target"), currency)
            .map_err(|e| format!("Target: {e}"))?
            .minor
    } else {
        field("target")
            .trim()
            .parse::<i64>()
            .map_err(|_| "Target: a whole number, such as 3".to_owned())?
    };
    let reward = field("reward");
    let (bonus_minor, bonus_currency) = if reward == "bonus" {
        let currency =
            model::Currency::parse(&field("bonus_currency")).map_err(|e| e.to_string())?;
        let bonus =
            show::typed_amount(&field("bonus"), currency).map_err(|e| format!("Bonus: {e}"))?;
        (Some(bonus.minor), Some(currency.to_string()))
    } else {
        (None, None)
    };
    Ok(NewChallenge {
        title: field("title"),
        description: field("description"),
        currency: (metric == "revenue").then_some(currency),
        metric,
        operator: field("operator"),
        target,
        span: field("span"),
        reward,
        bonus_minor,
        bonus_currency,
    })
}

/// Ends a challenge: evaluated no more, gone from partners' standings;
/// what it awarded stays.
fn end_button(c: &Challenge, ctx: &Ctx) -> Html {
    let id = c.id;
    let end = ctx.change.reform(move |_| {
        Change::new(
            "POST",
            format!("/api/admin/challenges/{id}/end"),
            None::<&()>,
            |c| answer(c, |c: Challenge| html! { format!("Challenge ended: {}. What it awarded stays.", c.title) }),
        )
    });
    // Ending cannot be undone: asked once more, with what it does.
    html! {
        <details class="end-challenge">
            <summary>{ "End challenge…" }</summary>
            <p class="hint">{ "Partners stop seeing it and nobody meets it again; what it awarded stays." }</p>
            <button class="end" onclick={end}>{ format!("End \u{201c}{}\u{201d}", c.title) }</button>
        </details>
    }
}

pub fn view(answers: &Answers, ctx: &Ctx) -> Html {
    let challenges = &answers.challenges;
    let define = {
        let (change, invalid) = (ctx.change.clone(), ctx.invalid.clone());
        Callback::from(move |e: SubmitEvent| {
            let field = form(&e);
            let new = match typed(&field) {
                Ok(new) => new,
                Err(why) => return invalid.emit(why),
            };
            change.emit(Change::new(
                "POST",
                "/api/admin/challenges".to_owned(),
                Some(&new),
                |c| answer(c, |c: Challenge| html! { <span id="challenge-done">{ format!("Challenge #{} defined: {}.", c.id, goal(&c)) }</span> }),
            ))
        })
    };
    let select = |name: &'static str,
                  label: &'static str,
                  options: &[(&'static str, &'static str)]| {
        html! {
            <label>{ label }
                // Yew inserts options last first: the default is said.
                <select name={name}>{ for options.iter().enumerate().map(|(i, (v, l))| html! { <option value={*v} selected={i == 0}>{ *l }</option> }) }</select>
            </label>
        }
    };
    // What waits for a decision and what is defined, then the form; side
    // by side at a desk's width.
    html! {
        <div class="desk-columns">
        <div>
        if !answers.bonuses.is_empty() {
            <section id="bonuses" aria-labelledby="bonuses-title">
                <h2 id="bonuses-title" class="section">{ format!("Bonuses to approve ({})", answers.bonuses.len()) }</h2>
                { for answers.bonuses.iter().map(|b| bonus(b, ctx)) }
            </section>
        }
        <section aria-labelledby="challenges-title">
        <h2 id="challenges-title" class="section">{ "Challenges" }</h2>
        if challenges.is_empty() { <p class="hint">{ "None yet." }</p> }
        { for challenges.iter().map(|c| card(
            c.id.to_string(), c.span.clone(), c.title.clone(),
            format!("{} met", c.achieved),
            html! { <>
                <div class="company">{ goal(c) }</div>
                <div class="company">{ match (c.bonus_minor, &c.bonus_currency) {
                    (Some(minor), Some(cur)) => format!("Reward: a bonus of {}", show::money(minor, cur)),
                    _ => "Reward: a badge".to_owned(),
                } }{ if c.active { "" } else { " · ended" } }</div>
                if c.active { { end_button(c, ctx) } }
            </> },
        )) }
        </section>
        </div>
        <form id="challenge-form" class="card" onsubmit={define}>
            <h2>{ "Define a challenge" }</h2>
            <label>{ "Title" }<input name="title" maxlength="120" required=true /></label>
            <label>{ "Description (optional)" }<textarea name="description" maxlength="1000"></textarea></label>
            <div class="row">
                { select("operator", "Condition", &[("at_least", "At least"), ("more_than", "More than")]) }
                <label>{ "Target" }<input name="target" inputmode="decimal" required=true /></label>
            </div>
            <div class="row">
                { select("metric", "Of", &[("deals", "deals approved"), ("training", "training modules completed"), ("revenue", "revenue")]) }
                <label>{ "Revenue currency" }
                    <select name="currency">{ for CURRENCIES.iter().map(|c| html! { <option selected={*c == "USD"}>{ *c }</option> }) }</select>
                </label>
            </div>
            { select("span", "Each", &[("month", "month"), ("quarter", "quarter"), ("year", "year")]) }
            { select("reward", "Reward", &[("badge", "A badge"), ("bonus", "A bonus (approved by an admin)")]) }
            <div class="row">
                <label>{ "Bonus (for a bonus)" }<input name="bonus" inputmode="decimal" /></label>
                <label>{ "Bonus currency" }
                    <select name="bonus_currency">{ for CURRENCIES.iter().map(|c| html! { <option selected={*c == "USD"}>{ *c }</option> }) }</select>
                </label>
            </div>
            <p class="hint">{ "Periods are the programme's calendar. A partner meets a challenge once per period; the server decides, from approved deals and completed modules." }</p>
            <button type="submit" class="primary">{ "Define challenge" }</button>
        </form>
        </div>
    }
}
