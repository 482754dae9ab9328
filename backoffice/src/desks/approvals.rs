//! The approval queue: deals partners marked won, approved or rejected as
//! the admin reviewed them, and clawed back after approval (a refund, a
//! cancellation). Any status can be shown, the queue (submitted) first.

use yew::prelude::*;

use super::{
    Ctx,
    parts::{answer, card, day_of, picker, reason_form},
};
use web_common::{
    api::{self, ApiError, DealEntry, DealStatus, LineKind, Preview, Reversed},
    forms::Change,
    show::{self, money},
};

pub const NAME: &str = "approvals";
pub const TITLE: &str = "Approvals";

/// The deals of the status shown, oldest first, and what approving each
/// one waiting would pay (worked out by the server's approval itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub deals: Vec<DealEntry>,
    pub previews: Vec<Preview>,
}

/// Previews asked for at most, the oldest deals first: a long queue is
/// decided from its top.
const PREVIEWS: usize = 50;

/// What the picker offers, in its order: a status, or (`None`) every deal.
const SHOWN: [Option<DealStatus>; 5] = [
    Some(DealStatus::Submitted),
    Some(DealStatus::Approved),
    Some(DealStatus::Rejected),
    Some(DealStatus::Withdrawn),
    None,
];

/// The choice as the API's filter names it; the queue when none is made.
fn shown(choice: &str) -> &str {
    if choice.is_empty() {
        DealStatus::Submitted.as_str()
    } else {
        choice
    }
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    let deals: Vec<DealEntry> =
        api::get(&format!("/api/admin/deals?status={}", shown(choice))).await?;
    let paths: Vec<String> = deals
        .iter()
        .filter(|d| d.status == DealStatus::Submitted)
        .take(PREVIEWS)
        .map(|d| format!("/api/admin/deals/{}/preview", d.id))
        .collect();
    // A preview that fails (the deal decided meanwhile) is left out: the
    // card says nothing rather than something wrong.
    let previews = futures::future::join_all(paths.iter().map(|p| api::get::<Preview>(p)))
        .await
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    Ok(Answers { deals, previews })
}

/// What approving would pay, line by line: "Ben Okafor: 180.00 USD, base
/// commission (20%)".
fn preview(preview: Option<&Preview>) -> Html {
    let Some(preview) = preview else {
        return Html::default();
    };
    let kind = |k: LineKind| match k {
        LineKind::Base => "base commission",
        LineKind::Elite => "agreed Elite extra",
        LineKind::Override => "team leader's override",
        LineKind::Referral => "referral share",
        LineKind::Clawback => "clawback",
        LineKind::Bonus => "challenge bonus",
    };
    html! {
        <div class="preview">
            <p class="hint">{ "Approving pays:" }</p>
            <ul class="plain">
                { for preview.lines.iter().map(|l| html! {
                    <li data-kind={l.kind.as_str()}>
                        <strong>{ format!("{}: {}", l.partner_name, money(l.amount_minor, &l.currency)) }</strong>
                        { format!(", {}{}", kind(l.kind), l.rate_bps.map(|bps| format!(" ({}%)", show::percent(u64::try_from(bps).unwrap_or_default()))).unwrap_or_default()) }
                    </li>
                }) }
            </ul>
        </div>
    }
}

/// The deals as a table at a desk's width, the one opened beside it with
/// what approving it pays and the decisions; cards on a phone.
pub fn view(answers: &Answers, ctx: &Ctx) -> Html {
    if !ctx.wide {
        return cards(answers, ctx);
    }
    let Answers { deals, previews } = answers;
    let statuses = SHOWN
        .iter()
        .map(|s| s.map_or("all", DealStatus::as_str))
        .map(|s| (s.to_owned(), s.to_owned()))
        .collect();
    let opened = ctx
        .selected
        .and_then(|id| deals.iter().find(|d| d.id.to_string() == id));
    html! {
        <>
            <label class="move">{ "Show" }{ picker("deal-status", statuses, shown(ctx.choice), ctx) }</label>
            if deals.is_empty() { <p class="hint">{ "Nothing here." }</p> } else {
                <div class="desk-split">
                    <div class="scroll card">
                        <table class="desk-table" id="deals-table">
                            <thead><tr>
                                <th scope="col">{ "Partner" }</th>
                                <th scope="col">{ "Customer" }</th>
                                <th scope="col" class="num">{ "Amount" }</th>
                                <th scope="col">{ "Submitted" }</th>
                            </tr></thead>
                            <tbody>{ for deals.iter().map(|deal| {
                                let id = deal.id.to_string();
                                let current = opened.is_some_and(|o| o.id == deal.id);
                                let open = ctx.select.reform({ let id = id.clone(); move |_| Some(id.clone()) });
                                html! {
                                    <tr data-id={id} aria-current={current.then_some("true")}>
                                        <td><button class="open-row" onclick={open}>{ &deal.partner_name }</button></td>
                                        <td>{ deal.contact_name.as_deref().unwrap_or(deal.lead_id.as_str()) }</td>
                                        <td class="num">{ money(deal.amount_minor, &deal.currency) }</td>
                                        <td>{ day_of(&deal.submitted_at) }</td>
                                    </tr>
                                }
                            }) }</tbody>
                        </table>
                    </div>
                    <div class="desk-pane" aria-live="polite">
                        { match opened {
                            Some(deal) => row(deal, previews.iter().find(|p| p.deal_id == deal.id), ctx),
                            None => html! { <p class="card hint">{ "Open a deal to see what approving it pays, and decide." }</p> },
                        } }
                    </div>
                </div>
            }
        </>
    }
}

fn cards(Answers { deals, previews }: &Answers, ctx: &Ctx) -> Html {
    let statuses = SHOWN
        .iter()
        .map(|s| s.map_or("all", DealStatus::as_str))
        .map(|s| (s.to_owned(), s.to_owned()))
        .collect();
    let chosen = shown(ctx.choice);
    html! {
        <>
            <label class="move">{ "Show" }{ picker("deal-status", statuses, chosen, ctx) }</label>
            if deals.is_empty() { <p class="hint">{ "Nothing here." }</p> }
            { for deals.iter().map(|deal| row(deal, previews.iter().find(|p| p.deal_id == deal.id), ctx)) }
        </>
    }
}

fn row(deal: &DealEntry, shown_preview: Option<&Preview>, ctx: &Ctx) -> Html {
    let id = deal.id;
    // A decision names what the admin sees on this card; the server
    // refuses it if the partner changed the deal meanwhile.
    let seen = api::Reviewed {
        amount_minor: deal.amount_minor,
        currency: deal.currency.clone(),
        version: deal.version,
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
    let actions = match (deal.status, &deal.reversed_at) {
        (DealStatus::Submitted, _) if ctx.reasoning_about(&id) => reason_form(
            ctx,
            "partner",
            "Reject deal",
            format!("/api/admin/deals/{id}/reject"),
            Some(seen),
            |_| html! { "Deal rejected." },
        ),
        (DealStatus::Submitted, _) => html! {
            <>
            { preview(shown_preview) }
            <div class="row">
                <button class="reject" onclick={ctx.ask_why(&id)}>{ "Reject…" }</button>
                <button class="primary approve" onclick={approve}>{ "Approve" }</button>
            </div>
            </>
        },
        (DealStatus::Approved, Some(reversed)) => html! {
            <p class="notes clawed-back">{ format!(
                "Clawed back {}: {}",
                day_of(reversed),
                deal.reverse_reason.as_deref().unwrap_or_default(),
            ) }</p>
        },
        // A refund or a cancellation after approval reverses every line
        // the deal earned.
        (DealStatus::Approved, None) if ctx.reasoning_about(&id) => reason_form(
            ctx,
            "partner",
            "Claw back",
            format!("/api/admin/deals/{id}/clawback"),
            None,
            |r| {
                answer(r, |reversed: Reversed| {
                    html! { format!("Clawed back: {} lines reversed.", reversed.lines.len()) }
                })
            },
        ),
        (DealStatus::Approved, None) => html! {
            <div class="row">
                <span class="notes">{ "approved" }</span>
                <button class="clawback" onclick={ctx.ask_why(&id)}>{ "Claw back…" }</button>
            </div>
        },
        (status, _) => html! { <p class="notes">{ match deal.reason.as_deref() {
            None | Some("") => status.to_string(),
            Some(why) => format!("{status}: {why}"),
        } }</p> },
    };
    card(
        id.to_string(),
        deal.lead_id.clone(),
        deal.partner_name.clone(),
        money(deal.amount_minor, &deal.currency),
        html! {
            <>
                <div class="company">{ format!(
                    "{} · {} · submitted {}",
                    deal.contact_name.as_deref().unwrap_or(deal.lead_id.as_str()),
                    deal.company.as_deref().unwrap_or_default(),
                    day_of(&deal.submitted_at),
                ) }</div>
                { actions }
            </>
        },
    )
}
