//! Challenges: what admins ask of partners, as data (a metric, an
//! operator and a target, each month, quarter or year, and a reward),
//! and how many met each. The server evaluates them from its own figures
//! and awards each partner once per period.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card},
};
use web_common::{
    api::{self, ApiError, Challenge, NewChallenge},
    forms::{CURRENCIES, Change, form},
    show,
};

pub const NAME: &str = "challenges";
pub const TITLE: &str = "Challenges";

pub type Answers = Vec<Challenge>;

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    api::get("/api/admin/challenges").await
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

pub fn view(challenges: &Answers, ctx: &Ctx) -> Html {
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
    html! {
        <>
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
        <h2 class="section">{ "Challenges" }</h2>
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
            </> },
        )) }
        </>
    }
}
