//! A lead's card: who, how much, the stage it is in (and moving it), the
//! deal it became once marked won, and the amount form a won lead needs.

use model::{DealOutcome, DealStatus, Lead, LeadDraft, PipelineDoc, Stage};
use web_common::show;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{deal_note::deal_note, stage_label};
use crate::{clock, document::Edit};

#[derive(Properties, PartialEq)]
pub struct LeadProps {
    pub lead: Lead,
    pub read_only: bool,
    pub edit: Callback<Edit>,
    /// What the back-office made of it, once marked won.
    pub deal: Option<DealOutcome>,
}

#[function_component(LeadCard)]
pub fn lead_card(props: &LeadProps) -> Html {
    let lead = &props.lead;
    // A deal is submitted at the lead's amount, which follows the lead until
    // the back-office decides: editable until then, and asked for before a
    // lead with none is marked won. `Some(won)`: the amount form is open,
    // and saving it also marks the lead won.
    let amount_form = use_state(|| None::<bool>);
    let amount = use_node_ref();
    let error = use_state(|| None::<String>);
    let on_move = {
        let (id, edit, amount_form) = (lead.id.clone(), props.edit.clone(), amount_form.clone());
        let has_amount = lead.value.minor > 0;
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            match Stage::parse(&value) {
                Ok(Stage::Won) if !has_amount => amount_form.set(Some(true)),
                Ok(stage) => {
                    let id = id.clone();
                    edit.emit(Box::new(move |doc| {
                        PipelineDoc::move_lead(doc, &id, stage, clock::now())
                    }));
                }
                Err(_) => {}
            }
        })
    };
    let on_amount = {
        let (lead, edit, amount_form, amount, error) = (
            lead.clone(),
            props.edit.clone(),
            amount_form.clone(),
            amount.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let won = *amount_form == Some(true);
            let typed = amount
                .cast::<HtmlInputElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            // The reader's way of writing numbers, as the card shows the
            // amount; a negative amount is refused here as in a new lead.
            let value = match show::typed_amount(&typed, lead.value.currency) {
                Ok(value) if value.minor > 0 || !won => value,
                Ok(_) => return error.set(Some("A won deal needs its amount.".to_owned())),
                Err(e) => return error.set(Some(e.to_string())),
            };
            let lead = lead.clone();
            edit.emit(Box::new(move |doc| {
                if value != lead.value {
                    let draft = LeadDraft {
                        value,
                        contact_name: lead.contact_name,
                        company: lead.company,
                        email: lead.email,
                        phone: lead.phone,
                        notes: lead.notes,
                    };
                    PipelineDoc::edit_lead(doc, &lead.id, &draft, clock::now())?;
                }
                if won {
                    PipelineDoc::move_lead(doc, &lead.id, Stage::Won, clock::now())?;
                }
                Ok(())
            }));
            error.set(None);
            amount_form.set(None);
        })
    };
    let show_form = |to: Option<bool>| {
        let amount_form = amount_form.clone();
        Callback::from(move |_| amount_form.set(to))
    };
    let decided = props
        .deal
        .as_ref()
        .is_some_and(|d| matches!(d.status, DealStatus::Approved | DealStatus::Rejected));
    // An approved deal is paid on: its lead stays won. A device that did not
    // know may have moved it anyway (the server keeps the deal); offer only
    // the way back.
    let settled = props.deal.as_ref().is_some_and(DealOutcome::holds_stage);
    let back_to_won = {
        let (id, edit) = (lead.id.clone(), props.edit.clone());
        Callback::from(move |_: MouseEvent| {
            let id = id.clone();
            edit.emit(Box::new(move |doc| {
                PipelineDoc::move_lead(doc, &id, Stage::Won, clock::now())
            }));
        })
    };
    html! {
        <article class="lead" data-lead={lead.id.to_string()}>
            <div class="lead-head">
                <strong class="contact">{ &lead.contact_name }</strong>
                <span class="value">{ show::amount(lead.value) }</span>
            </div>
            if !lead.company.is_empty() { <div class="company">{ &lead.company }</div> }
            if !lead.notes.is_empty() { <p class="notes">{ &lead.notes }</p> }
            if let Some(deal) = &props.deal { { deal_note(deal) } }
            if let Some(won) = *amount_form {
                <form class="amount-form" onsubmit={on_amount} novalidate=true>
                    <label>{ format!("Deal amount ({})", lead.value.currency) }
                        <input name="amount" inputmode="decimal" ref={amount} value={show::amount_field(lead.value)} />
                    </label>
                    <p class="hint">{ "A won lead goes to approval at this amount; your commission is a share of it." }</p>
                    if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
                    <div class="row">
                        <button type="button" onclick={show_form(None)}>{ "Cancel" }</button>
                        <button type="submit" class="primary">{ if won { "Mark won" } else { "Save amount" } }</button>
                    </div>
                </form>
            } else {
                <div class="move">
                    <label class="move">{ "Stage " }
                        <select class="move-stage" onchange={on_move} disabled={props.read_only || settled}>
                            { for Stage::ALL.iter().map(|s| html! {
                                <option value={s.as_str()} selected={*s == lead.stage}>{ stage_label(*s) }</option>
                            }) }
                        </select>
                    </label>
                    if !props.read_only && settled && lead.stage != Stage::Won {
                        <button type="button" class="quiet back-to-won" onclick={back_to_won}>{ "Back to Won" }</button>
                    }
                    if !props.read_only && !decided {
                        <button type="button" class="quiet edit-amount" onclick={show_form(Some(false))}>{ "Edit amount" }</button>
                    }
                </div>
            }
        </article>
    }
}
