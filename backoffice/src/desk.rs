//! The desks: what an admin does with partners' money. Approving,
//! rejecting and clawing back deals, partners with their tiers, balances
//! and Elite terms, payout runs, referral orders and their refunds,
//! reports.
//!
//! They read and change the server's ledger, which is never on a device, so
//! they work online only. The desk on screen is fetched when it opens and
//! after each change made from it (`reads`); the answers are kept in the
//! app's reducer and thrown away when the desk closes. Offline, a desk says
//! so.
//!
//! The answers are shown, never computed with, so they are kept as JSON
//! values rather than typed: one deserializer for all of them.

use model::{Currency, Money};
use serde_json::Value;
use yew::prelude::*;

use web_common::{
    api::{self, ApiError},
    forms::{CURRENCIES, Change, form},
    show::{self, day, money, tier_name},
};

/// The back-office's screens, each at `#<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Desk {
    #[default]
    Approvals,
    Partners,
    Payouts,
    Orders,
    Reports,
}

impl Desk {
    pub const ALL: [Desk; 5] = [
        Desk::Approvals,
        Desk::Partners,
        Desk::Payouts,
        Desk::Orders,
        Desk::Reports,
    ];

    /// The desk at this address; the approval queue when none is named.
    pub fn from_hash(hash: &str) -> Desk {
        let name = hash.trim_start_matches('#');
        Desk::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .unwrap_or_default()
    }

    pub fn name(self) -> &'static str {
        match self {
            Desk::Approvals => "approvals",
            Desk::Partners => "partners",
            Desk::Payouts => "payouts",
            Desk::Orders => "orders",
            Desk::Reports => "reports",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Desk::Approvals => "Approvals",
            Desk::Partners => "Partners",
            Desk::Payouts => "Payouts",
            Desk::Orders => "Orders",
            Desk::Reports => "Reports",
        }
    }

    /// What the desk reads, given its choice (the deals' status shown, the
    /// report chosen).
    pub fn reads(self, choice: &str) -> Vec<String> {
        match self {
            Desk::Approvals => vec![format!(
                "/api/admin/deals?status={}",
                if choice.is_empty() {
                    "submitted"
                } else {
                    choice
                }
            )],
            Desk::Partners => vec!["/api/admin/partners".to_owned()],
            Desk::Orders => vec![
                "/api/admin/partners".to_owned(),
                "/api/admin/orders".to_owned(),
            ],
            Desk::Payouts => vec!["/api/admin/payouts/preview".to_owned()],
            Desk::Reports if choice.is_empty() => vec!["/api/admin/reports".to_owned()],
            Desk::Reports => vec![
                "/api/admin/reports".to_owned(),
                format!("/api/admin/reports/{choice}"),
            ],
        }
    }
}

/// Everything `paths` answer, in order, or why not; asked all at once.
pub async fn fetch(paths: Vec<String>) -> Result<Vec<Value>, ApiError> {
    futures::future::try_join_all(paths.iter().map(|path| api::call("GET", path, None))).await
}

/// What the back-office needs from the app: its state, and how to change
/// it.
pub struct Ctx<'a> {
    pub desk: Desk,
    /// The desk's answers, once here.
    pub data: Option<&'a [Value]>,
    /// Why they are not.
    pub failed: Option<&'a ApiError>,
    pub choice: &'a str,
    /// The deal or order whose reason form is open.
    pub reasoning: Option<i64>,
    pub outcome: Html,
    /// Picks what the desk shows (`choice`).
    pub choose: Callback<String>,
    /// Opens (or, with `None`, closes) a reason form.
    pub reason: Callback<Option<i64>>,
    /// Sends a change; its answer, in words, is shown and the desk reloads.
    pub change: Callback<Change>,
    /// Says why what was typed cannot be sent.
    pub invalid: Callback<String>,
}

/// A value as text: strings as they are, `null` as nothing.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn text(v: &Value, key: &str) -> String {
    show(&v[key])
}

fn amount(v: &Value, key: &str) -> String {
    money(v[key].as_i64().unwrap_or_default(), &text(v, "currency"))
}

/// A row of a desk: a name, a figure, and lines under them; `id` and `key`
/// say what it is about (a deal and its lead, a partner and a currency).
fn card(id: String, key: String, name: String, figure: String, lines: Html) -> Html {
    html! {
        <article class="card" data-id={id} data-key={key}>
            <div class="lead-head"><strong>{ name }</strong><span class="value">{ figure }</span></div>
            { lines }
        </article>
    }
}

fn list(data: &Value) -> &[Value] {
    data.as_array().map(Vec::as_slice).unwrap_or_default()
}

const DEAL_STATUSES: [&str; 5] = ["submitted", "approved", "rejected", "withdrawn", "all"];

fn picker(id: &'static str, options: Vec<(String, String)>, chosen: &str, ctx: &Ctx) -> Html {
    let choose = ctx.choose.clone();
    let onchange = Callback::from(move |e: Event| {
        choose.emit(
            e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        )
    });
    html! {
        <select {id} {onchange}>
            <option value="" disabled=true selected={chosen.is_empty()}>{ "Choose…" }</option>
            { for options.into_iter().map(|(v, label)| html! { <option selected={v == chosen} value={v.clone()}>{ label }</option> }) }
        </select>
    }
}

/// The desk on screen.
pub fn desk(ctx: Ctx) -> Html {
    let data = match (ctx.data, ctx.failed) {
        (Some(data), _) => data,
        (None, Some(ApiError::Unreachable { .. })) => {
            return html! {
                <p class="card hint" id="desk-offline" role="status">
                    { "The back-office works online only, and the server cannot be reached now. It is all here again once you are online." }
                </p>
            };
        }
        (None, Some(e)) => return html! { <p class="error" role="alert">{ e.to_string() }</p> },
        (None, None) => return html! { <p class="hint">{ "Loading…" }</p> },
    };
    let first = data.first().unwrap_or(&Value::Null);
    let body = match ctx.desk {
        Desk::Approvals => approvals(first, &ctx),
        Desk::Partners => partners(first, &ctx),
        Desk::Payouts => payouts(first, &ctx),
        Desk::Orders => orders(first, data.get(1).unwrap_or(&Value::Null), &ctx),
        Desk::Reports => reports(first, data.get(1), &ctx),
    };
    html! {
        <main id={ctx.desk.name()}>
            { ctx.outcome.clone() }
            { body }
        </main>
    }
}

fn approvals(deals: &Value, ctx: &Ctx) -> Html {
    let statuses = DEAL_STATUSES
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    let chosen = if ctx.choice.is_empty() {
        "submitted"
    } else {
        ctx.choice
    };
    let row = |deal: &Value| {
        let id = deal["id"].as_i64().unwrap_or_default();
        let status = text(deal, "status");
        // A decision names what the admin sees on this card; the server
        // refuses it if the partner changed the deal meanwhile.
        let seen = api::Reviewed {
            amount_minor: deal["amount_minor"].as_i64().unwrap_or_default(),
            currency: text(deal, "currency"),
            version: deal["version"].as_i64().unwrap_or_default(),
        };
        let approve = {
            let seen = seen.clone();
            ctx.change.reform(move |_| {
                Change::new(
                    "POST",
                    format!("/api/admin/deals/{id}/approve"),
                    Some(&seen),
                    |_| html! { "Deal approved." },
                )
            })
        };
        let reversed = text(deal, "reversed_at");
        let actions = match status.as_str() {
            "submitted" if ctx.reasoning == Some(id) => reason_form(
                ctx,
                "Reject deal",
                format!("/api/admin/deals/{id}/reject"),
                Some(seen),
                |_| html! { "Deal rejected." },
            ),
            "submitted" => html! {
                <div class="row">
                    <button class="reject" onclick={ctx.reason.reform(move |_| Some(id))}>{ "Reject…" }</button>
                    <button class="primary approve" onclick={approve}>{ "Approve" }</button>
                </div>
            },
            "approved" if !reversed.is_empty() => html! {
                <p class="notes clawed-back">{ format!(
                    "Clawed back {}: {}",
                    day(js_sys::Date::parse(&reversed)),
                    text(deal, "reverse_reason"),
                ) }</p>
            },
            // A refund or a cancellation after approval reverses every line
            // the deal earned.
            "approved" if ctx.reasoning == Some(id) => reason_form(
                ctx,
                "Claw back",
                format!("/api/admin/deals/{id}/clawback"),
                None,
                |r| html! { format!("Clawed back: {} lines reversed.", list(&r["lines"]).len()) },
            ),
            "approved" => html! {
                <div class="row">
                    <span class="notes">{ "approved" }</span>
                    <button class="clawback" onclick={ctx.reason.reform(move |_| Some(id))}>{ "Claw back…" }</button>
                </div>
            },
            _ => html! { <p class="notes">{ match text(deal, "reason") {
                why if why.is_empty() => status.clone(),
                why => format!("{status}: {why}"),
            } }</p> },
        };
        card(
            id.to_string(),
            text(deal, "lead_id"),
            text(deal, "partner_name"),
            amount(deal, "amount_minor"),
            html! {
                <>
                    <div class="company">{ format!(
                        "{} · {} · lead {} · submitted {}",
                        text(deal, "contact_name"),
                        text(deal, "company"),
                        text(deal, "lead_id"),
                        day(js_sys::Date::parse(&text(deal, "submitted_at"))),
                    ) }</div>
                    { actions }
                </>
            },
        )
    };
    html! {
        <>
            <label class="move">{ "Show" }{ picker("deal-status", statuses, chosen, ctx) }</label>
            if list(deals).is_empty() { <p class="hint">{ "Nothing here." }</p> }
            { for list(deals).iter().map(row) }
        </>
    }
}

/// A percentage as typed ("2", "2.5", "0.25") in basis points, without
/// floating point; at most two decimals.
fn percent_to_bps(text: &str) -> Result<u32, String> {
    let refuse = || format!("\"{text}\" is not a percentage like 2.5");
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || whole.len() > 3
    {
        return Err(refuse());
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| refuse())?
    };
    let hundredths: u32 = format!("{fraction:0<2}").parse().map_err(|_| refuse())?;
    Ok(whole * 100 + hundredths)
}

fn partners(list_of: &Value, ctx: &Ctx) -> Html {
    let row = |p: &Value| {
        let id = text(p, "partner_id");
        let terms = {
            let (change, invalid, id) = (ctx.change.clone(), ctx.invalid.clone(), id.clone());
            Callback::from(move |e: SubmitEvent| {
                match percent_to_bps(&form(&e)("extra")) {
                    Ok(bps) => change.emit(Change::new(
                        "PUT",
                        format!("/api/admin/partners/{id}/terms"),
                        Some(&api::Terms { elite_custom_bps: bps }),
                        |t| html! { format!("Elite extra rate set to {}.", percent(&t["elite_custom_bps"])) },
                    )),
                    Err(why) => invalid.emit(why),
                }
            })
        };
        card(
            id,
            text(p, "tier"),
            text(p, "name"),
            tier_name(&text(p, "tier")).to_owned(),
            html! {
                <>
                    <div class="company">{ format!("{} · {}", text(p, "company"), match p["deals_in_window"].as_u64() {
                        Some(1) => "1 deal in the window".to_owned(),
                        n => format!("{} deals in the window", n.unwrap_or_default()),
                    }) }</div>
                    { for list(&p["balances"]).iter().map(|b| html! {
                        <div class="hint" data-currency={text(b, "currency")}>{ format!(
                            "Pending {} · available {} · paid {}",
                            amount(b, "pending_minor"), amount(b, "available_minor"), amount(b, "paid_minor"),
                        ) }</div>
                    }) }
                    <form class="row terms-form" onsubmit={terms}>
                        <label>{ "Elite extra rate (%)" }
                            <input name="extra" inputmode="decimal" placeholder="0" value={match &p["elite_custom_bps"] {
                                Value::Null => String::new(),
                                bps => percent(bps),
                            }} />
                        </label>
                        <button type="submit">{ "Save" }</button>
                    </form>
                </>
            },
        )
    };
    html! { for list(list_of).iter().map(row) }
}

/// Basis points as a percentage: 250 → "2.5".
fn percent(bps: &Value) -> String {
    show::percent(bps.as_u64().unwrap_or_default())
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

fn payouts(preview: &Value, ctx: &Ctx) -> Html {
    let run = ctx.change.reform(|e: SubmitEvent| {
        let period = api::Period {
            period: form(&e)("period"),
        };
        Change::new("POST", "/api/admin/payouts".to_owned(), Some(&period), |run| {
            let id = text(run, "run_id");
            html! {
                <span id="payout-done" data-run={id.clone()}>
                    { format!("Run #{id}: statements: {}. ", list(&run["statements"]).len()) }
                    <a href={format!("/api/admin/payouts/{id}/export")} download="">{ "Download the payout file (CSV)" }</a>
                </span>
            }
        })
    });
    html! {
        <>
            <h2 class="section">{ "A run now would pay" }</h2>
            if list(preview).is_empty() { <p class="hint">{ "Nobody: no available balance reaches the minimum." }</p> }
            { for list(preview).iter().map(|p| card(
                text(p, "partner_id"), text(p, "currency"),
                text(p, "partner_name"),
                amount(p, "total_minor"),
                html! { <div class="company">{ format!("{} lines · {}", text(p, "lines"), match text(p, "method") {
                    m if m.is_empty() => "no payout method: skipped until they register one".to_owned(),
                    m => m,
                }) }</div> },
            )) }
            <form id="payout-run" class="card" onsubmit={run}>
                <label>{ "Period" }<input name="period" value={last_month()} /></label>
                <button type="submit" class="primary">{ "Run payouts" }</button>
            </form>
        </>
    }
}

fn orders(partners: &Value, orders: &Value, ctx: &Ctx) -> Html {
    let usd = Currency::parse("USD").expect("USD is an ISO 4217 code");
    let record = {
        let (change, invalid) = (ctx.change.clone(), ctx.invalid.clone());
        Callback::from(move |e: SubmitEvent| {
            let field = form(&e);
            let partner = field("partner");
            // Typed as the admin writes numbers ("1.000,50" in German),
            // sent as the API's canonical text ("1000.50").
            let amount = match Currency::parse(&field("currency"))
                .and_then(|c| show::typed_amount(&field("amount"), c))
            {
                Ok(amount) => amount,
                Err(why) => return invalid.emit(why.to_string()),
            };
            let order = api::NewOrder {
                reference: field("reference"),
                partner_id: (!partner.is_empty()).then_some(partner),
                amount: amount.to_decimal(),
                currency: amount.currency.to_string(),
            };
            change.emit(Change::new(
                "POST",
                "/api/admin/orders".to_owned(),
                Some(&order),
                |o| {
                    html! { format!(
                        "Order #{} recorded; {}",
                        text(o, "order_id"),
                        match &o["line"] {
                            Value::Null => "it earns no referral share.".to_owned(),
                            line => text(line, "explanation"),
                        }
                    ) }
                },
            ))
        })
    };
    let row = |o: &Value| {
        let id = o["id"].as_i64().unwrap_or_default();
        let refunded = text(o, "refunded_at");
        let state = match (refunded.is_empty(), ctx.reasoning == Some(id)) {
            (false, _) => html! {
                <p class="notes refunded">{ format!("Refunded {}", day(js_sys::Date::parse(&refunded))) }</p>
            },
            (true, true) => reason_form(
                ctx,
                "Refund order",
                format!("/api/admin/orders/{id}/refund"),
                None,
                |r| html! { format!("Order refunded: {} lines reversed.", list(&r["lines"]).len()) },
            ),
            (true, false) => html! {
                <button class="refund" onclick={ctx.reason.reform(move |_| Some(id))}>{ "Refund…" }</button>
            },
        };
        card(
            id.to_string(),
            text(o, "reference"),
            text(o, "reference"),
            amount(o, "amount_minor"),
            html! {
                <>
                    <div class="company">{ format!(
                        "{} · recorded {}",
                        match text(o, "partner_name") {
                            n if n.is_empty() => "direct sale".to_owned(),
                            n => format!("referred by {n}"),
                        },
                        day(js_sys::Date::parse(&text(o, "recorded_at"))),
                    ) }</div>
                    { state }
                </>
            },
        )
    };
    html! {
        <>
        <form id="order-form" class="card" onsubmit={record}>
            <h2>{ "Record an order" }</h2>
            <label>{ "Order reference" }<input name="reference" /></label>
            <label>{ "Referred by" }
                <select name="partner">
                    // Yew inserts options last first: the default is said.
                    <option value="" selected=true>{ "Nobody (direct sale)" }</option>
                    { for list(partners).iter().map(|p| html! { <option value={text(p, "partner_id")}>{ text(p, "name") }</option> }) }
                </select>
            </label>
            <div class="row">
                <label>{ "Amount" }<input name="amount" inputmode="decimal" placeholder={show::amount_field(Money::new(100_000, usd))} /></label>
                <label>{ "Currency" }
                    <select name="currency">{ for CURRENCIES.iter().map(|c| html! { <option selected={*c == "USD"}>{ *c }</option> }) }</select>
                </label>
            </div>
            <button type="submit" class="primary">{ "Record order" }</button>
        </form>
        <h2 class="section">{ "Recent orders" }</h2>
        if list(orders).is_empty() { <p class="hint">{ "No orders yet." }</p> }
        { for list(orders).iter().map(row) }
        </>
    }
}

/// The form that asks why (a rejection, a clawback, a refund: the partner
/// reads it) and sends it to `path`.
/// A deal's decision also names what the admin reviewed (`seen`).
fn reason_form(
    ctx: &Ctx,
    submit: &'static str,
    path: String,
    seen: Option<api::Reviewed>,
    said: fn(&Value) -> Html,
) -> Html {
    let send = ctx.change.reform(move |e: SubmitEvent| {
        let reason = form(&e)("reason");
        match &seen {
            Some(seen) => {
                let rejection = api::Rejection {
                    reason,
                    reviewed: seen.clone(),
                };
                Change::new("POST", path.clone(), Some(&rejection), said)
            }
            None => Change::new("POST", path.clone(), Some(&api::Reason { reason }), said),
        }
    });
    html! {
        <form class="reason-form" onsubmit={send}>
            <label>{ "Reason the partner will read" }<input name="reason" required=true /></label>
            <div class="row">
                <button type="button" onclick={ctx.reason.reform(|_| None)}>{ "Cancel" }</button>
                <button type="submit">{ submit }</button>
            </div>
        </form>
    }
}

fn reports(names: &Value, table: Option<&Value>, ctx: &Ctx) -> Html {
    let options = list(names)
        .iter()
        .map(|n| (show(n), show(n).replace('_', " ")))
        .collect();
    let cell = |v: &Value| html! { <td>{ show(v) }</td> };
    html! {
        <>
            <label class="move">{ "Report" }{ picker("report-pick", options, ctx.choice, ctx) }</label>
            if let Some(t) = table {
                <a class="button" href={format!("/api/admin/reports/{}?format=csv", ctx.choice)} download="">{ "Download CSV" }</a>
                <div class="scroll card">
                    <table id="report-table">
                        <thead><tr>{ for list(&t["columns"]).iter().map(|c| html! { <th>{ show(c) }</th> }) }</tr></thead>
                        <tbody>{ for list(&t["rows"]).iter().map(|r| html! { <tr>{ for list(r).iter().map(cell) }</tr> }) }</tbody>
                    </table>
                </div>
            }
        </>
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

    #[test]
    fn percentages_become_basis_points_exactly() {
        for (typed, bps) in [
            ("2", 200),
            ("2.5", 250),
            ("2.50", 250),
            ("0.25", 25),
            (".5", 50),
            (" 70 ", 7000),
            ("0", 0),
        ] {
            assert_eq!(percent_to_bps(typed), Ok(bps), "{typed}");
            assert_eq!(percent_to_bps(&percent(&serde_json::json!(bps))), Ok(bps));
        }
        for typed in ["", ".", "-1", "2.555", "1e2", "2,5", "abc", "10000"] {
            assert!(percent_to_bps(typed).is_err(), "{typed}");
        }
    }
}
