//! The pipeline screen: the new-lead button (or form, or a read-only
//! notice for a team member's pipeline), the follow-ups due, the leads by
//! stage with their totals per currency, and the archived leads. On a
//! phone the stages stack; on a wide screen they stand side by side.

use std::collections::BTreeMap;

use model::{AccountView, Currency, Lead, Money, Stage};
use web_common::{api::Me, show};
use yew::prelude::*;

use super::{Page, State, lead_card::LeadCard, lead_form::LeadForm, stage_label};
use crate::{clock, document::Edit, page::Page as _};

/// The pipeline screen for `me`, showing `state`; `view` is the partner's
/// account view (the deals on lead cards), `on_form` opens or closes the
/// new-lead form and `edit` writes a change into the pipeline shown.
pub fn board(
    me: &Me,
    state: &State,
    read_only: bool,
    view: Option<&AccountView>,
    on_form: &Callback<bool>,
    edit: &Callback<Edit>,
) -> Html {
    let Some(doc_id) = &state.selected else {
        return html! { <p class="hint">{ "This account has no pipeline to show here." }</p> };
    };
    if state.missing {
        return html! { <p class="hint">{ "This pipeline has not been downloaded to this device yet. It will appear once you are online." }</p> };
    }
    let Some(pipeline) = &state.pipeline else {
        return html! { <p class="hint">{ "Opening pipeline…" }</p> };
    };
    let owner = me
        .document(doc_id)
        .map(|d| d.partner_name.clone())
        .unwrap_or_default();
    let open_form = on_form.reform(|_: MouseEvent| true);
    let due = pipeline.follow_ups_due(clock::now());
    let archived: Vec<&Lead> = pipeline.archived().collect();
    html! {
        <main class="board-page">
            if read_only {
                <p class="read-only">{ format!("{owner}'s pipeline, read-only.") }</p>
            } else if state.form_open {
                <LeadForm edit={edit.clone()} on_close={on_form.reform(|()| false)} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            if !due.is_empty() {
                <section class="card due-list" aria-labelledby="due-title">
                    <h2 id="due-title">{ "Follow-ups due" }<span class="count">{ due.len() }</span></h2>
                    <ul>
                        { for due.iter().map(|lead| html! {
                            <li>{ link(lead) }
                                if let Some(f) = &lead.follow_up {
                                    <span class="at">{ show::when(f.at.0) }</span>
                                    if !f.note.is_empty() { <span class="note">{ &f.note }</span> }
                                }
                            </li>
                        }) }
                    </ul>
                </section>
            }
            <div class="stages">
                { for Stage::ALL.iter().map(|stage| {
                    let leads: Vec<Lead> = pipeline.in_stage(*stage).cloned().collect();
                    let totals = totals(&leads);
                    html! {
                        <section class="stage" data-stage={stage.as_str()} aria-label={stage_label(*stage)}>
                            <h2>{ stage_label(*stage) }<span class="count">{ leads.len() }</span></h2>
                            if !totals.is_empty() {
                                <p class="totals">{ totals.join(" · ") }</p>
                            }
                            { for leads.into_iter().map(|lead| {
                                // Deals are in the partner's own account view only.
                                let own = view.filter(|_| !read_only);
                                let deal = own.and_then(|v| v.deal(&lead.id)).cloned();
                                let pricing = own.and_then(|v| v.next_deal.clone());
                                html! {
                                    <LeadCard key={lead.id.to_string()} lead={lead.clone()} read_only={read_only} edit={edit.clone()} {deal} {pricing} />
                                }
                            }) }
                        </section>
                    }
                }) }
            </div>
            if !archived.is_empty() {
                <details class="archived-list">
                    <summary>{ format!("Archived ({})", archived.len()) }</summary>
                    <ul>
                        { for archived.iter().map(|lead| html! { <li>{ link(lead) }</li> }) }
                    </ul>
                </details>
            }
        </main>
    }
}

fn link(lead: &Lead) -> Html {
    let href = format!("#{}", Page::Lead(lead.id.clone()).name());
    let company = (!lead.company.is_empty()).then(|| format!(" · {}", lead.company));
    html! { <a href={href}>{ &lead.contact_name }{ company }</a> }
}

/// What `leads` add up to, one sum per currency, in code order: amounts in
/// different currencies are never added together.
fn totals(leads: &[Lead]) -> Vec<String> {
    let mut sums: BTreeMap<&str, (Currency, i64)> = BTreeMap::new();
    for lead in leads {
        let entry = sums
            .entry(lead.value.currency.as_str())
            .or_insert((lead.value.currency, 0));
        entry.1 = entry.1.saturating_add(lead.value.minor);
    }
    sums.values()
        .filter(|(_, minor)| *minor != 0)
        .map(|(currency, minor)| show::amount(Money::new(*minor, *currency)))
        .collect()
}
