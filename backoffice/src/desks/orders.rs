//! Orders: recording one (attributed to the partner whose referral link
//! brought it, or a direct sale), the recent ones, and their refunds.

use model::{Currency, Money};
use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card, day_of, reason_form},
};
use web_common::{
    api::{self, ApiError, NewOrder, OrderEntry, PartnerEntry, RecordedOrder, Reversed},
    forms::{CURRENCIES, Change, form},
    show::{self, money},
};

pub const NAME: &str = "orders";
pub const TITLE: &str = "Orders";

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    /// Whom an order may be attributed to.
    pub partners: Vec<PartnerEntry>,
    /// The most recent orders, newest first.
    pub orders: Vec<OrderEntry>,
}

pub async fn fetch(_choice: &str) -> Result<Answers, ApiError> {
    let (partners, orders) = futures::try_join!(
        api::get("/api/admin/partners"),
        api::get("/api/admin/orders"),
    )?;
    Ok(Answers { partners, orders })
}

pub fn view(Answers { partners, orders }: &Answers, ctx: &Ctx) -> Html {
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
            let order = NewOrder {
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
                    answer(o, |recorded: RecordedOrder| {
                        html! { format!(
                            "Order #{} recorded; {}",
                            recorded.order_id,
                            match recorded.line {
                                None => "it earns no referral share.".to_owned(),
                                Some(line) => line.explanation,
                            }
                        ) }
                    })
                },
            ))
        })
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
                    { for partners.iter().map(|p| html! { <option value={p.partner_id.clone()}>{ &p.name }</option> }) }
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
        if orders.is_empty() { <p class="hint">{ "No orders yet." }</p> }
        { for orders.iter().map(|o| row(o, ctx)) }
        </>
    }
}

fn row(o: &OrderEntry, ctx: &Ctx) -> Html {
    let id = o.id;
    let state = match (&o.refunded_at, ctx.reasoning_about(&id)) {
        (Some(refunded), _) => html! {
            <p class="notes refunded">{ format!("Refunded {}", day_of(refunded)) }</p>
        },
        (None, true) => reason_form(
            ctx,
            "partner",
            "Refund order",
            format!("/api/admin/orders/{id}/refund"),
            None,
            |r| {
                answer(r, |reversed: Reversed| {
                    html! { format!("Order refunded: {} lines reversed.", reversed.lines.len()) }
                })
            },
        ),
        (None, false) => {
            // A delivered order's client may rate the partner who brought it.
            let delivered = match (&o.delivered_at, &o.partner_id) {
                (Some(at), _) => {
                    html! { <p class="notes delivered">{ format!("Delivered {}", day_of(at)) }</p> }
                }
                // A direct sale has no partner to rate.
                (None, None) => Html::default(),
                (None, Some(_)) => {
                    let change = ctx.change.clone();
                    let deliver = Callback::from(move |_| {
                        change.emit(Change::new(
                            "POST",
                            format!("/api/admin/orders/{id}/delivered"),
                            None::<&()>,
                            |_| html! { "Order marked delivered: its client may rate the partner." },
                        ))
                    });
                    html! {
                        <button class="deliver" onclick={deliver}
                            aria-label={format!("Mark order {} delivered", o.reference)}>{ "Mark delivered" }</button>
                    }
                }
            };
            html! {
                <>
                    { delivered }
                    <button class="refund" onclick={ctx.ask_why(&id)}>{ "Refund…" }</button>
                </>
            }
        }
    };
    card(
        id.to_string(),
        o.reference.clone(),
        o.reference.clone(),
        money(o.amount_minor, &o.currency),
        html! {
            <>
                <div class="company">{ format!(
                    "{} · recorded {}",
                    match o.partner_name.as_deref() {
                        None | Some("") => "direct sale".to_owned(),
                        Some(n) => format!("referred by {n}"),
                    },
                    day_of(&o.recorded_at),
                ) }</div>
                { state }
            </>
        },
    )
}
