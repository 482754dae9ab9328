//! The Earnings screen: balances by currency, statements, recent lines,
//! the payout method.

use std::collections::HashMap;

use model::{AccountView, Currency, DealOutcome, DealPricing, DealStatus, LeadId, Money};
use web_common::{
    pricing::{expected_earnings, rate_of},
    show::{self, day},
};
use yew::prelude::*;

use super::{as_of::as_of, line_item::line_item, payout_form::PayoutForm};

/// `customers` names the partner's leads; `on_signed_out`: the payout
/// method was sent with a session already over.
pub fn summary(
    view: &AccountView,
    customers: &HashMap<LeadId, String>,
    on_signed_out: &Callback<f64>,
) -> Html {
    let waiting: Vec<&DealOutcome> = view
        .deals
        .iter()
        .filter(|d| d.status == DealStatus::Submitted)
        .collect();
    html! {
        <main id="earnings">
            { as_of(view.computed_at) }
            // What is owed and coming, what was paid, and the payout
            // method: one under the other on a phone, the first two side
            // by side on a desktop (the style sheet's grid).
            <div class="owed">
            if view.balances.is_empty() {
                <p class="hint">{ if waiting.is_empty() {
                    "No earnings yet: they start when a deal you marked won is approved."
                } else {
                    "No earnings yet: they start when a deal below is approved."
                } }</p>
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
            if !waiting.is_empty() {
                <h2 class="section">{ "Waiting for approval" }</h2>
                <ul id="coming" class="plain card">
                    { for waiting.iter().map(|deal| coming(deal, view.next_deal.as_ref(), customers)) }
                </ul>
            }
            </div>
            <div class="paid">
            if view.statements.is_empty() && view.lines.is_empty() {
                <h2 class="section">{ "Statements" }</h2>
                <p class="hint">{ "Each payout's statement and every line of your ledger show here." }</p>
            }
            if !view.statements.is_empty() {
                <h2 class="section">{ "Statements" }</h2>
                <ul class="plain">
                    { for view.statements.iter().map(|s| html! {
                        <li class="card"><a class="statement-link" data-statement={s.id.to_string()} href={format!("#statement-{}", s.id)}>
                            { format!("{} · {} · paid {}", s.period, show::amount(Money::new(s.total_minor, s.currency)), day(s.run_at.0 as f64)) }
                        </a></li>
                    }) }
                </ul>
            }
            if !view.lines.is_empty() {
                <h2 class="section">{ "Recent lines" }</h2>
                <ul class="plain card">{ for view.lines.iter().map(|line| line_item(line, customers)) }</ul>
            }
            </div>
            <div class="method">
                <PayoutForm on_signed_out={on_signed_out.clone()} />
            </div>
        </main>
    }
}

/// A deal waiting for approval: whose, how much, and what it would earn at
/// the rate a deal approved now is paid (the tier may move before then).
fn coming(
    deal: &DealOutcome,
    pricing: Option<&DealPricing>,
    customers: &HashMap<LeadId, String>,
) -> Html {
    let amount = Money::new(deal.amount_minor, deal.currency);
    let earns = pricing.and_then(|p| Some((p, expected_earnings(amount, p)?)));
    let who = customers
        .get(&deal.lead_id)
        .cloned()
        .unwrap_or_else(|| "A lead".to_owned());
    html! {
        <li class="line coming" data-lead={deal.lead_id.to_string()}
            data-minor={earns.map(|(_, m)| m.minor.to_string())}>
            <div class="lead-head">
                <span>{ who }</span>
                if let Some((_, earns)) = earns { <strong>{ show::amount(earns) }</strong> }
            </div>
            <div class="hint">
                { format!("Deal of {}", show::amount(amount)) }
                if let Some((pricing, _)) = earns { { format!(" · at {} once approved", rate_of(pricing)) } }
            </div>
        </li>
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
