//! A lead's own page, `#lead-<id>`: who (with a tap to call or write),
//! what it is worth, the deal it became, fields two devices changed while
//! apart, its stage, its follow-up, its history, every field to edit, and
//! archiving. On a phone one column; on a wide screen the history sits
//! beside the rest.

use model::{DealOutcome, DealPricing, DealStatus, Lead, PipelineEdit};
use web_common::show;
use yew::prelude::*;

use super::{
    Moved,
    activity_log::{activity_log, use_log},
    conflict_marks::conflict_marks,
    deal_note::deal_note,
    follow_up::{follow_up, use_follow_up},
    lead_form::LeadForm,
    stage_label,
    stage_moves::{stage_moves, use_moves},
};
use crate::focus::{focus, use_focus_swap};

#[derive(Properties, PartialEq)]
pub struct LeadPageProps {
    pub lead: Lead,
    pub read_only: bool,
    pub edit: Callback<PipelineEdit>,
    pub deal: Option<DealOutcome>,
    /// How a deal approved now is priced (the partner's own pipeline only).
    pub pricing: Option<DealPricing>,
    /// Hears the moves made from the page.
    pub on_moved: Callback<Moved>,
    /// The pipeline's heads as read (what an edit form opened now saw).
    pub heads: model::Heads,
}

#[function_component(LeadPage)]
pub fn lead_page(props: &LeadPageProps) -> Html {
    let lead = &props.lead;
    let editing = use_state(|| false);
    let (moves, follow_up_state, log) = (use_moves(), use_follow_up(lead), use_log());
    let edit_button = use_node_ref();
    let heading = use_node_ref();
    {
        // A screen reader hears where it arrived: focus goes to the lead's
        // name as the page opens.
        let heading = heading.clone();
        use_effect_with((), move |_| {
            focus(&heading);
            || ()
        });
    }
    // The form focuses its own first field; back to "Edit" as it closes.
    use_focus_swap(*editing, NodeRef::default(), edit_button.clone());
    let open_form = {
        let editing = editing.clone();
        Callback::from(move |_: MouseEvent| editing.set(true))
    };
    let close_form = {
        let editing = editing.clone();
        Callback::from(move |()| editing.set(false))
    };
    let on_archive = {
        let (id, edit, archived) = (lead.id.clone(), props.edit.clone(), lead.is_archived());
        Callback::from(move |_: MouseEvent| {
            let id = id.clone();
            edit.emit(if archived {
                PipelineEdit::Restore { id }
            } else {
                PipelineEdit::Archive { id }
            })
        })
    };
    let settled = props.deal.as_ref().is_some_and(DealOutcome::holds_stage);
    let decided = props
        .deal
        .as_ref()
        .is_some_and(|d| matches!(d.status, DealStatus::Approved | DealStatus::Rejected));
    let name = &lead.contact_name;
    let phone = dialable(&lead.phone);
    html! {
        <main class="lead-page" data-lead={lead.id.to_string()}>
            <a class="back" href="#pipeline">{ "← Pipeline" }</a>
            <div class="lead-columns">
                <div class="lead-main">
                    <article class="card lead-summary">
                        <h2 class="contact" ref={heading} tabindex="-1">{ name }</h2>
                        if !lead.company.is_empty() { <p class="company">{ &lead.company }</p> }
                        <p class="figures">
                            <span class="value">{ show::amount(lead.value) }</span>
                            <span class={classes!("stage-chip", lead.stage.as_str())}>{ stage_label(lead.stage) }</span>
                        </p>
                        if let Some(at) = lead.archived_at {
                            <p class="archived-note" role="status">{ format!("Archived {}; not on the board.", show::when(at.0)) }</p>
                        }
                        <div class="reach row">
                            if !phone.is_empty() {
                                <a class="button" href={format!("tel:{phone}")} aria-label={format!("Call {name} at {}", lead.phone)}>{ "Call " }<span class="detail">{ &lead.phone }</span></a>
                            }
                            if !lead.email.is_empty() {
                                <a class="button" href={format!("mailto:{}", lead.email)} aria-label={format!("Email {name} at {}", lead.email)}>{ "Email " }<span class="detail">{ &lead.email }</span></a>
                            }
                        </div>
                        if let Some(deal) = &props.deal { { deal_note(deal) } }
                        if !lead.notes.is_empty() { <p class="notes">{ &lead.notes }</p> }
                    </article>
                    { conflict_marks(lead, props.read_only || lead.is_archived(), settled, decided, &props.edit) }
                    { stage_moves(lead, props.read_only || lead.is_archived(), &props.edit, props.deal.as_ref(), props.pricing.as_ref(), &props.on_moved, &moves) }
                    { follow_up(lead, props.read_only, &props.edit, &follow_up_state) }
                    if *editing {
                        <LeadForm lead={lead.clone()} amount_locked={decided} heads={props.heads.clone()} edit={props.edit.clone()} on_close={close_form} />
                    } else if !props.read_only {
                        <div class="row actions">
                            <button type="button" ref={edit_button} onclick={open_form}
                                aria-label={format!("Edit details of {name}")}>{ "Edit details" }</button>
                            <button type="button" class="quiet" onclick={on_archive}
                                aria-label={if lead.is_archived() { format!("Restore to the board: {name}") } else { format!("Archive {name}") }}>
                                { if lead.is_archived() { "Restore to the board" } else { "Archive" } }
                            </button>
                        </div>
                    }
                </div>
                <div class="lead-side">
                    { activity_log(lead, props.read_only, &props.edit, &log) }
                </div>
            </div>
        </main>
    }
}

/// What a `tel:` link dials for a phone number as people write it: the
/// digits and a leading `+`, without a trunk prefix written "(0)" after a
/// country code, up to an extension (`x12`), which a dialer cannot take.
fn dialable(phone: &str) -> String {
    let number = phone.split(['x', 'X']).next().unwrap_or_default();
    let number = if number.trim_start().starts_with('+') {
        number.replacen("(0)", "", 1)
    } else {
        number.to_owned()
    };
    let mut out = String::new();
    for c in number.chars() {
        if c.is_ascii_digit() || (c == '+' && out.is_empty()) {
            out.push(c);
        }
    }
    if out == "+" { String::new() } else { out }
}

/// A lead the page names that this pipeline does not hold (removed, or a
/// link from another device not synced yet).
pub fn no_such_lead() -> Html {
    html! {
        <main class="lead-page">
            <a class="back" href="#pipeline">{ "← Pipeline" }</a>
            <p class="hint">{ "This lead is not in this pipeline (yet). If it was added on another device, it appears once that device has synced." }</p>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::dialable;

    #[test]
    fn a_phone_number_dials_as_a_dialer_takes_it() {
        assert_eq!(dialable("+1 312 555 0202"), "+13125550202");
        assert_eq!(dialable("+44 (0)20 7946-0958 x12"), "+442079460958");
        assert_eq!(dialable("(020) 7946 0958"), "02079460958");
        assert_eq!(dialable("555-0100 X7"), "5550100");
        assert_eq!(dialable("+ x"), "");
        assert_eq!(dialable(""), "");
    }
}
