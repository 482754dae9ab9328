//! The partner's money and tier, as the server decided them.
//!
//! Everything here is read from the partner's account view
//! (`model::AccountViewDoc`): a document the server writes and the device
//! syncs like any other, so these screens work offline and say how old
//! their figures are ("as of"). The app never computes a balance: it shows
//! the server's. The one thing written from here is the payout method,
//! which goes to the server directly (online only) and is never kept on
//! the device.

use model::{
    AccountView, Currency, DealOutcome, DealStatus, EarningLine, LineStatus, Money,
    ProgressComponent, Statement,
};
use yew::prelude::*;

use web_common::{
    api::PayoutMethod,
    forms::{Change, form},
    show::{self, day, moment, percent, tier_name},
};

/// As the reader writes numbers: "1234.50 USD", "1234,50 USD".
fn amount(minor: i64, currency: Currency) -> String {
    show::amount(Money::new(minor, currency))
}

/// Basis points as a percentage: 2000 → "20%", 2250 → "22.5%".
pub fn rate(bps: u32) -> String {
    format!("{}%", percent(bps.into()))
}

/// Tenths of a percent (per mille) as a percentage: 425 → "42.5%".
pub fn tenths(per_mille: u32) -> String {
    format!("{}%", percent(u64::from(per_mille) * 10))
}

/// The lines a statement paid, as far as the device holds them (the view
/// keeps the most recent lines only), and whether they are all there. The
/// server says which statement paid each line and how many lines each
/// statement paid, so nothing here is inferred from dates.
pub fn statement_lines<'a>(
    view: &'a AccountView,
    statement: &Statement,
) -> (Vec<&'a EarningLine>, bool) {
    let lines: Vec<&EarningLine> = view
        .lines
        .iter()
        .filter(|l| l.statement_id == Some(statement.id))
        .collect();
    let complete = lines.len() == statement.line_count as usize;
    (lines, complete)
}

/// How old the figures are.
fn as_of(view: &AccountView) -> Html {
    html! {
        <p class="hint as-of" data-computed-at={view.computed_at.0.to_string()}>
            { format!("As of {}", moment(view.computed_at.0)) }
        </p>
    }
}

/// Why there is nothing to show yet.
pub fn not_here(missing: bool) -> Html {
    html! {
        <p class="hint" id="view-missing">{
            if missing {
                "Your earnings have not reached this device yet. They will appear once you are online."
            } else {
                "Opening your earnings…"
            }
        }</p>
    }
}

fn figure(label: &str, minor: i64, currency: Currency, field: &'static str) -> Html {
    html! {
        <div class="figure" data-field={field} data-minor={minor.to_string()}>
            <span class="hint">{ label.to_owned() }</span>
            <strong>{ show::amount_field(Money::new(minor, currency)) }</strong>
        </div>
    }
}

/// What a line is, for the partner.
fn kind_name(kind: &str) -> &str {
    match kind {
        "base" => "Commission",
        "elite" => "Elite extra",
        "override" => "Team override",
        "referral" => "Referral share",
        "clawback" => "Clawback",
        other => other,
    }
}

fn line_item(line: &EarningLine) -> Html {
    let status = line.status.as_str();
    let when = match line.status {
        LineStatus::Pending => format!("held until {}", day(line.available_at.0 as f64)),
        LineStatus::Available => format!("available since {}", day(line.available_at.0 as f64)),
        LineStatus::Paid => "paid".to_owned(),
    };
    let rate = line.rate_bps.map(|bps| format!(" at {}", rate(bps)));
    html! {
        <li class="line" data-line={line.id.to_string()} data-status={status} data-minor={line.amount_minor.to_string()}>
            <div class="lead-head">
                <span>{ format!("{}{}", kind_name(&line.kind), rate.unwrap_or_default()) }</span>
                <strong>{ amount(line.amount_minor, line.currency) }</strong>
            </div>
            <div class={classes!("hint", status)}>{ format!("{} · {when}", day(line.accrued_at.0 as f64)) }</div>
            <p class="notes">{ &line.explanation }</p>
        </li>
    }
}

/// The Earnings screen: balances, recent lines, statements, the payout method.
pub fn earnings(view: &AccountView, change: &Callback<Change>, outcome: Html) -> Html {
    html! {
        <main id="earnings">
            { as_of(view) }
            if view.balances.is_empty() {
                <p class="hint">{ "No earnings yet: they start when a deal you marked won is approved." }</p>
            }
            { for view.balances.iter().map(|b| html! {
                <section class="card balance" data-currency={b.currency.as_str().to_owned()}>
                    <h2>{ b.currency.as_str() }</h2>
                    <div class="row">
                        { figure("Pending", b.pending_minor, b.currency, "pending") }
                        { figure("Available", b.available_minor, b.currency, "available") }
                        { figure("Paid", b.paid_minor, b.currency, "paid") }
                    </div>
                </section>
            }) }
            if !view.statements.is_empty() {
                <h2 class="section">{ "Statements" }</h2>
                <ul class="plain">
                    { for view.statements.iter().map(|s| html! {
                        <li class="card"><a class="statement-link" data-statement={s.id.to_string()} href={format!("#statement-{}", s.id)}>
                            { format!("{} · {} · paid {}", s.period, amount(s.total_minor, s.currency), day(s.run_at.0 as f64)) }
                        </a></li>
                    }) }
                </ul>
            }
            if !view.lines.is_empty() {
                <h2 class="section">{ "Recent lines" }</h2>
                <ul class="plain card">{ for view.lines.iter().map(line_item) }</ul>
            }
            { payout_form(change, outcome) }
        </main>
    }
}

/// A printable statement: what it paid, line by line, and its total.
pub fn statement(view: &AccountView, id: i64) -> Html {
    let Some(s) = view.statements.iter().find(|s| s.id == id) else {
        return html! { <p class="hint">{ "This statement is not on this device." }</p> };
    };
    let (lines, complete) = statement_lines(view, s);
    html! {
        <main id="statement" class="card statement" data-statement={id.to_string()}>
            <h2>{ format!("Statement {} · {}", s.period, s.currency) }</h2>
            <p class="hint">{ format!("Partner {} · paid {} · statement #{id}", view.partner_id.as_str(), day(s.run_at.0 as f64)) }</p>
            <table>
                <thead><tr><th>{ "Date" }</th><th>{ "Line" }</th><th class="num">{ "Amount" }</th></tr></thead>
                <tbody>
                    { for lines.iter().map(|l| html! {
                        <tr data-line={l.id.to_string()}>
                            <td>{ day(l.accrued_at.0 as f64) }</td>
                            <td>{ &l.explanation }</td>
                            <td class="num">{ amount(l.amount_minor, l.currency) }</td>
                        </tr>
                    }) }
                </tbody>
                <tfoot><tr><th colspan="2">{ "Total" }</th><th class="num" id="statement-total" data-minor={s.total_minor.to_string()}>{ amount(s.total_minor, s.currency) }</th></tr></tfoot>
            </table>
            if !complete {
                <p class="hint">{ "Older lines of this statement are no longer kept on this device; the total is the server's." }</p>
            }
            <div class="row no-print">
                <a class="button" href="#earnings">{ "Back" }</a>
                <button class="primary" onclick={Callback::from(|_| { let _ = web_sys::window().map(|w| w.print()); })}>{ "Print" }</button>
            </div>
        </main>
    }
}

fn component_name(name: &str) -> &str {
    match name {
        "deals" => "Deals approved",
        "training" => "Training completed",
        "support" => "Support engagement",
        "satisfaction" => "Customer satisfaction",
        other => other,
    }
}

/// How far a component is, in its own unit: satisfaction is an average
/// rating out of 5 kept in hundredths.
fn component_figure(c: &ProgressComponent) -> String {
    let centi = |n: u32| format!("{}.{:02}", n / 100, n % 100);
    match c.name.as_str() {
        "deals" => format!("{} of {} deals", c.counted, c.target),
        "training" => format!("{} of {} modules", c.counted, c.target),
        "support" => format!("{} of {} engagements", c.counted, c.target),
        "satisfaction" => format!(
            "rated {} of {} (out of 5)",
            centi(c.counted),
            centi(c.target)
        ),
        _ => format!("{} of {}", c.counted, c.target),
    }
}

/// The Tier progress screen.
pub fn tier(view: &AccountView) -> Html {
    let p = &view.progress;
    let next = match &p.next_tier {
        Some(next) => format!(
            "{} of the way to {}",
            tenths(p.per_mille.into()),
            tier_name(next)
        ),
        None => "Top tier: nothing above it.".to_owned(),
    };
    html! {
        <main id="tier" class="card" data-tier={view.tier.clone()} data-per-mille={p.per_mille.to_string()}>
            <h2>{ tier_name(&view.tier) }</h2>
            <p class="hint">{ format!("Approved deals in the current window: {}", view.deals_in_window) }</p>
            <progress max="1000" value={p.per_mille.to_string()}></progress>
            <p>{ next }</p>
            <ul class="plain">
                { for p.components.iter().map(|c| html! {
                    <li class="component" data-component={c.name.clone()}>
                        <div class="lead-head">
                            <span>{ component_name(&c.name) }</span>
                            <span class="hint">{ format!("{} · {} of {} points", component_figure(c), c.points, c.max_points) }</span>
                        </div>
                        <progress max={c.max_points.to_string()} value={c.points.to_string()}></progress>
                    </li>
                }) }
            </ul>
            { as_of(view) }
        </main>
    }
}

/// What the back-office made of a lead marked won, on its card, and, when
/// a device that did not know of the approval moved the lead on, that the
/// server kept the deal (it records the conflict; the view carries it, so
/// this shows offline too).
pub fn deal_note(deal: &DealOutcome) -> Html {
    let money = amount(deal.amount_minor, deal.currency);
    let text = match (deal.status, &deal.reason) {
        (DealStatus::Submitted, _) => format!("Deal of {money} submitted for approval"),
        (DealStatus::Approved, _) => format!("Deal of {money} approved"),
        (DealStatus::Rejected, Some(why)) => format!("Deal rejected: {why}"),
        (DealStatus::Rejected, None) => "Deal rejected".to_owned(),
        (DealStatus::Withdrawn, _) => "Deal withdrawn".to_owned(),
    };
    let status = deal.status.as_str();
    html! {
        <>
            <p class={classes!("deal", status)} data-deal={status}>{ text }</p>
            if let Some(stage) = deal.moved_to {
                <p class="deal conflict" data-conflict={stage.as_str()} role="status">
                    { format!(
                        "Moved to {} on another device after the deal was approved; the deal stands.",
                        crate::app::stage_label(stage)
                    ) }
                </p>
            }
        </>
    }
}

/// Where the partner's payouts go: sent to the server (online only), which
/// keeps the account masked and answers with what it kept.
fn payout_form(change: &Callback<Change>, outcome: Html) -> Html {
    let save = change.reform(|e: SubmitEvent| {
        let field = form(&e);
        let method = PayoutMethod {
            kind: field("kind"),
            holder: field("holder"),
            account: field("account"),
        };
        Change::new(
            "PUT",
            "/api/me/payout-method".to_owned(),
            Some(&method),
            |set| {
                let kind = set["kind"].as_str().unwrap_or_default().replace('_', " ");
                let masked = set["masked"].as_str().unwrap_or_default();
                html! { <span id="payout-saved">{ format!("Payouts now go to the {kind} {masked}.") }</span> }
            },
        )
    });
    html! {
        <form id="payout-form" class="card no-print" onsubmit={save}>
            <h2>{ "Payout method" }</h2>
            { outcome }
            <label>{ "Kind" }
                <select name="kind">
                    <option value="bank_account" selected=true>{ "Bank account" }</option>
                    <option value="paypal">{ "PayPal" }</option>
                </select>
            </label>
            <label>{ "Account holder" }<input name="holder" autocomplete="name" /></label>
            <label>{ "IBAN, account number or PayPal email" }<input name="account" autocomplete="off" /></label>
            <button type="submit" class="primary">{ "Save payout method" }</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use model::{Balance, LeadId, PartnerId, TierProgress, Timestamp};

    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn line(id: i64, minor: i64, available_at: i64, paid_by: Option<i64>) -> EarningLine {
        EarningLine {
            id,
            kind: "base".into(),
            amount_minor: minor,
            currency: usd(),
            rate_bps: Some(2000),
            tier: Some("starter".into()),
            deal_id: Some(id),
            lead_id: Some(LeadId::parse("ben-1").unwrap()),
            accrued_at: Timestamp(available_at),
            available_at: Timestamp(available_at),
            status: match paid_by {
                Some(_) => LineStatus::Paid,
                None if available_at < 45 => LineStatus::Available,
                None => LineStatus::Pending,
            },
            statement_id: paid_by,
            explanation: String::new(),
        }
    }

    fn statement(id: i64, total: i64, run_at: i64, line_count: u32) -> Statement {
        Statement {
            id,
            period: "2025-06".into(),
            currency: usd(),
            total_minor: total,
            run_at: Timestamp(run_at),
            line_count,
        }
    }

    fn view(lines: Vec<EarningLine>, statements: Vec<Statement>) -> AccountView {
        AccountView {
            partner_id: PartnerId::parse("p-ben").unwrap(),
            computed_at: Timestamp(0),
            tier: "starter".into(),
            deals_in_window: 0,
            progress: TierProgress {
                per_mille: 0,
                next_tier: None,
                components: Vec::new(),
            },
            balances: vec![Balance {
                currency: usd(),
                pending_minor: 0,
                available_minor: 0,
                paid_minor: 0,
            }],
            lines,
            deals: Vec::new(),
            statements,
        }
        .sorted()
    }

    #[test]
    fn a_statement_lists_the_lines_it_paid() {
        // Line 1 was available before statement 7's run but was paid by
        // statement 8 (the balance was below the minimum, say): dates alone
        // would put it on the wrong statement.
        let view = view(
            vec![
                line(1, 100, 10, Some(8)),
                line(2, 200, 20, Some(7)),
                line(3, 300, 30, Some(8)),
                line(4, 400, 40, None),
                line(5, 500, 50, None),
            ],
            vec![statement(7, 200, 25, 1), statement(8, 400, 35, 2)],
        );
        let ids = |view: &AccountView, id| {
            let s = view.statements.iter().find(|s| s.id == id).unwrap();
            let (lines, complete) = statement_lines(view, s);
            (lines.iter().map(|l| l.id).collect::<Vec<_>>(), complete)
        };
        assert_eq!(ids(&view, 7), (vec![2], true));
        assert_eq!(ids(&view, 8), (vec![3, 1], true));

        // The device lost line 1 (beyond the recent lines): not complete.
        let mut partial = view.clone();
        partial.lines.retain(|l| l.id != 1);
        assert_eq!(ids(&partial, 8), (vec![3], false));
        assert_eq!(ids(&partial, 7), (vec![2], true));
    }

    #[test]
    fn progress_components_read_in_their_own_units() {
        let c = |name: &str, counted, target| ProgressComponent {
            name: name.into(),
            counted,
            target,
            points: 0,
            max_points: 150,
        };
        assert_eq!(component_figure(&c("deals", 1, 3)), "1 of 3 deals");
        assert_eq!(component_figure(&c("training", 0, 10)), "0 of 10 modules");
        assert_eq!(
            component_figure(&c("satisfaction", 405, 450)),
            "rated 4.05 of 4.50 (out of 5)"
        );
    }

    #[test]
    fn rates_and_progress_read_as_percentages() {
        assert_eq!(rate(2000), "20%");
        assert_eq!(rate(2250), "22.5%");
        assert_eq!(rate(1005), "10.05%");
        assert_eq!(tenths(425), "42.5%");
        assert_eq!(tenths(1000), "100%");
    }
}
