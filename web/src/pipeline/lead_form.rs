//! The lead form: a new lead, or every field of one already there. A new
//! lead is written into the pipeline on the device at once, with an id made
//! here, and syncs when it can; an edit writes only the fields changed
//! (`PipelineDoc::edit_lead`), so it never undoes what another device
//! changed in the others.
//!
//! Bounds are the model's (`model::limits`): the form does not cut what is
//! pasted (a `maxlength` would, silently); saving says which field is too
//! long and by how much, and keeps everything typed.

use model::{Currency, Lead, LeadDraft, LeadId, Money, PipelineEdit, limits};
use web_common::{
    forms::{self, CURRENCIES},
    show,
};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::focus::focus;

#[derive(Properties, PartialEq)]
pub struct LeadFormProps {
    /// The lead edited; `None` for a new one.
    #[prop_or_default]
    pub lead: Option<Lead>,
    /// The amount cannot change: the back-office decided the deal.
    #[prop_or_default]
    pub amount_locked: bool,
    /// The pipeline's heads as the form renders: those of its first render
    /// are what the person saw (`PipelineDoc::edit_lead_seen`).
    #[prop_or_default]
    pub heads: model::Heads,
    /// Writes a change into the pipeline shown.
    pub edit: Callback<PipelineEdit>,
    /// Closes the form (saved, cancelled, or Escape).
    pub on_close: Callback<()>,
}

#[function_component(LeadForm)]
pub fn lead_form(props: &LeadFormProps) -> Html {
    let refs: [NodeRef; 6] = Default::default();
    let notes = use_node_ref();
    let error = use_state(|| None::<String>);
    let seen = use_mut_ref(|| props.heads.clone());
    // What the lead holds goes into the fields once, and focus into the
    // first, as the form opens.
    {
        let fields: Vec<(NodeRef, String)> = props
            .lead
            .as_ref()
            .map(|l| {
                let value = if l.value.minor != 0 {
                    show::amount_field(l.value)
                } else {
                    String::new()
                };
                vec![
                    (refs[0].clone(), l.contact_name.clone()),
                    (refs[1].clone(), l.company.clone()),
                    (refs[2].clone(), l.email.clone()),
                    (refs[3].clone(), l.phone.clone()),
                    (refs[4].clone(), value),
                    (notes.clone(), l.notes.clone()),
                ]
            })
            .unwrap_or_default();
        let first = refs[0].clone();
        use_effect_with((), move |_| {
            for (field, value) in &fields {
                forms::fill(field, value);
            }
            focus(&first);
            || ()
        });
    }
    let on_submit = {
        let refs = refs.clone();
        let notes = notes.clone();
        let error = error.clone();
        let edit = props.edit.clone();
        let on_close = props.on_close.clone();
        let lead = props.lead.clone();
        let locked = props.amount_locked;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = |i: usize| {
                refs[i]
                    .cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let currency = refs[5]
                .cast::<HtmlSelectElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            let notes = notes
                .cast::<HtmlTextAreaElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            let value = match (&lead, locked) {
                // Disabled fields are not what anyone chose.
                (Some(lead), true) => Ok(lead.value),
                _ => Currency::parse(&currency).and_then(|c| {
                    let value = input(4);
                    if value.trim().is_empty() {
                        Ok(Money::new(0, c))
                    } else {
                        show::typed_amount(&value, c)
                    }
                }),
            };
            let parsed = value.and_then(|value| {
                LeadDraft::parse(&input(0), &input(1), &input(2), &input(3), value, &notes)
            });
            let draft = match parsed {
                Ok(draft) => draft,
                Err(e) => return error.set(Some(sentence(&e.to_string()))),
            };
            match &lead {
                Some(lead) => {
                    let (id, seen) = (lead.id.clone(), seen.borrow().clone());
                    edit.emit(PipelineEdit::EditLead { id, seen, draft });
                }
                None => {
                    let id = match LeadId::parse(&uuid::Uuid::new_v4().simple().to_string()) {
                        Ok(id) => id,
                        Err(e) => return error.set(Some(e.to_string())),
                    };
                    edit.emit(PipelineEdit::AddLead { id, draft });
                }
            }
            on_close.emit(());
        })
    };
    let on_key = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default();
                on_close.emit(());
            }
        })
    };
    let cancel = props.on_close.reform(|_: MouseEvent| ());
    let lead = props.lead.as_ref();
    let currency = lead.map_or("USD", |l| l.value.currency.as_str()).to_owned();
    let (title, save) = match lead {
        Some(l) => (format!("Edit {}", l.contact_name), "Save changes"),
        None => ("New lead".to_owned(), "Save lead"),
    };
    html! {
        <form id="lead-form" class="card lead-form" onsubmit={on_submit} onkeydown={on_key} novalidate=true aria-label={title.clone()}>
            <h2>{ title }</h2>
            <label>{ "Contact name" }<input name="contact_name" ref={refs[0].clone()} required=true autocomplete="name" /></label>
            <label>{ "Company" }<input name="company" ref={refs[1].clone()} autocomplete="organization" /></label>
            <label>{ "Email" }<input name="email" type="email" ref={refs[2].clone()} autocomplete="email" /></label>
            <label>{ "Phone" }<input name="phone" type="tel" ref={refs[3].clone()} autocomplete="tel" /></label>
            <div class="row">
                <label>{ "Estimated value" }<input name="value" inputmode="decimal" ref={refs[4].clone()} disabled={props.amount_locked} placeholder={show::amount_field(Money::new(150_000, Currency::parse("USD").expect("an ISO 4217 code")))} /></label>
                <label>{ "Currency" }
                    <select name="currency" ref={refs[5].clone()} disabled={props.amount_locked}>
                        // The lead's own currency, whichever it is.
                        if !CURRENCIES.contains(&currency.as_str()) {
                            <option value={currency.clone()} selected=true>{ &currency }</option>
                        }
                        { for CURRENCIES.iter().map(|c| html! { <option value={*c} selected={*c == currency}>{ *c }</option> }) }
                    </select>
                </label>
            </div>
            if props.amount_locked {
                <p class="hint">{ "The deal was decided at this amount; it no longer changes." }</p>
            }
            <label>{ "Notes" }
                <textarea name="notes" ref={notes} rows="4" aria-describedby="notes-bound"></textarea>
            </label>
            <p id="notes-bound" class="hint">{ format!("Up to {} characters.", show::count(limits::NOTES as u64)) }</p>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <div class="row">
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
                <button type="submit" class="primary">{ save }</button>
            </div>
        </form>
    }
}

/// The model's message as a sentence: "Contact name is required."
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
