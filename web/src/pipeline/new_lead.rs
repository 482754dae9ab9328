//! The new-lead form: a lead is written into the pipeline on the device
//! at once, with an id made here, and syncs when it can.

use model::{Currency, LeadDraft, LeadId, Money, PipelineDoc};
use web_common::{forms::CURRENCIES, show};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::{clock, document::Edit};

#[derive(Properties, PartialEq)]
pub struct NewLeadProps {
    /// Writes a change into the pipeline shown.
    pub edit: Callback<Edit>,
    /// Closes the form.
    pub on_close: Callback<()>,
}

#[function_component(NewLead)]
pub fn new_lead(props: &NewLeadProps) -> Html {
    let refs: [NodeRef; 6] = Default::default();
    let notes = use_node_ref();
    let error = use_state(|| None::<String>);
    let on_submit = {
        let refs = refs.clone();
        let notes = notes.clone();
        let error = error.clone();
        let edit = props.edit.clone();
        let on_close = props.on_close.clone();
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
            let parsed = Currency::parse(&currency)
                .and_then(|c| {
                    let value = input(4);
                    if value.trim().is_empty() {
                        Ok(Money::new(0, c))
                    } else {
                        show::typed_amount(&value, c)
                    }
                })
                .and_then(|value| {
                    LeadDraft::parse(&input(0), &input(1), &input(2), &input(3), value, &notes)
                });
            match parsed {
                Ok(draft) => {
                    let id = match LeadId::parse(&uuid::Uuid::new_v4().simple().to_string()) {
                        Ok(id) => id,
                        Err(e) => return error.set(Some(e.to_string())),
                    };
                    edit.emit(Box::new(move |doc| {
                        PipelineDoc::add_lead(doc, &id, &draft, clock::now())
                    }));
                    on_close.emit(());
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        })
    };
    let cancel = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <form id="lead-form" class="card" onsubmit={on_submit} novalidate=true>
            <h2>{ "New lead" }</h2>
            <label>{ "Contact name" }<input name="contact_name" ref={refs[0].clone()} required=true autocomplete="name" /></label>
            <label>{ "Company" }<input name="company" ref={refs[1].clone()} autocomplete="organization" /></label>
            <label>{ "Email" }<input name="email" type="email" ref={refs[2].clone()} autocomplete="email" /></label>
            <label>{ "Phone" }<input name="phone" type="tel" ref={refs[3].clone()} autocomplete="tel" /></label>
            <div class="row">
                <label>{ "Estimated value" }<input name="value" inputmode="decimal" ref={refs[4].clone()} placeholder={show::amount_field(Money::new(150_000, Currency::parse("USD").expect("an ISO 4217 code")))} /></label>
                <label>{ "Currency" }
                    <select name="currency" ref={refs[5].clone()}>
                        { for CURRENCIES.iter().map(|c| html! { <option value={*c} selected={*c == "USD"}>{ *c }</option> }) }
                    </select>
                </label>
            </div>
            <label>{ "Notes" }<textarea name="notes" ref={notes} rows="3"></textarea></label>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <div class="row">
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
                <button type="submit" class="primary">{ "Save lead" }</button>
            </div>
        </form>
    }
}
