//! Payouts: what a run now would pay (and whom it would skip for want of a
//! payout method), and the monthly run itself, with its file for the
//! finance team.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card},
};
use web_common::{
    api::{self, ApiError, NewRun, Payable, Run},
    forms::{Change, form},
    show::money,
};

pub const NAME: &str = "payouts";
pub const TITLE: &str = "Payouts";

/// What a run now would pay, by partner and currency.
pub type Answers = Vec<Payable>;

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    api::get("/api/admin/payouts/preview").await
}

pub fn view(preview: &Answers, ctx: &Ctx) -> Html {
    let run = ctx.change.reform(|e: SubmitEvent| {
        let period = NewRun {
            period: form(&e)("period"),
        };
        Change::new(
            "POST",
            "/api/admin/payouts".to_owned(),
            Some(&period),
            |run| {
                answer(run, |run: Run| {
                    let id = run.run_id.to_string();
                    html! {
                        <span id="payout-done" data-run={id.clone()}>
                            { format!("Run #{id}: statements: {}. ", run.statements.len()) }
                            <a href={format!("/api/admin/payouts/{id}/export")} download="">{ "Download the payout file (CSV)" }</a>
                        </span>
                    }
                })
            },
        )
    });
    html! {
        <>
            <h2 class="section">{ "A run now would pay" }</h2>
            if preview.is_empty() { <p class="hint">{ "Nobody: no available balance reaches the minimum." }</p> }
            { for preview.iter().map(|p| card(
                p.partner_id.clone(), p.currency.clone(),
                p.partner_name.clone(),
                money(p.total_minor, &p.currency),
                html! { <div class="company">{ format!("{} lines · {}", p.lines, match p.method.as_deref() {
                    None | Some("") => "no payout method: skipped until they register one".to_owned(),
                    Some(m) => m.to_owned(),
                }) }</div> },
            )) }
            <form id="payout-run" class="card" onsubmit={run}>
                <label>{ "Period" }<input name="period" value={last_month()} /></label>
                <button type="submit" class="primary">{ "Run payouts" }</button>
            </form>
        </>
    }
}

/// The month before this one (in UTC, as the server counts months),
/// `YYYY-MM`: the period a run is usually for, since only a closed month
/// may have one.
fn last_month() -> String {
    let now = js_sys::Date::new_0();
    month_before(now.get_utc_full_year(), now.get_utc_month() + 1)
}

/// The month before `month` (1 to 12) of `year`, `YYYY-MM`.
fn month_before(year: u32, month: u32) -> String {
    match month {
        1 => format!("{}-12", year - 1),
        m => format!("{year}-{:02}", m - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payout_run_defaults_to_the_month_just_closed() {
        assert_eq!(month_before(2026, 12), "2026-11");
        assert_eq!(month_before(2027, 1), "2026-12");
        assert_eq!(month_before(2026, 10), "2026-09");
    }
}
