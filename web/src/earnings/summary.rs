//! The Earnings screen: balances by currency, statements, recent lines,
//! the payout method.

use model::{AccountView, Currency, Money};
use web_common::show::{self, day};
use yew::prelude::*;

use super::{as_of::as_of, line_item::line_item, payout_form::PayoutForm};

/// `on_signed_out`: the payout method was sent with a session already over.
pub fn summary(view: &AccountView, on_signed_out: &Callback<f64>) -> Html {
    html! {
        <main id="earnings">
            { as_of(view.computed_at) }
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
                            { format!("{} · {} · paid {}", s.period, show::amount(Money::new(s.total_minor, s.currency)), day(s.run_at.0 as f64)) }
                        </a></li>
                    }) }
                </ul>
            }
            if !view.lines.is_empty() {
                <h2 class="section">{ "Recent lines" }</h2>
                <ul class="plain card">{ for view.lines.iter().map(line_item) }</ul>
            }
            <PayoutForm on_signed_out={on_signed_out.clone()} />
        </main>
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
