//! What several desks show alike: a row's card, a picker, the form that
//! asks why, and a change's answer read as the server's type.

use serde::de::DeserializeOwned;
use serde_json::Value;
use yew::prelude::*;

use super::Ctx;
use web_common::{
    api::{self, ApiError},
    forms::{Change, form},
    show::day,
};

/// A row of a desk: a name, a figure, and lines under them; `id` and `key`
/// say what it is about (a deal and its lead, a partner and a currency).
pub fn card(id: String, key: String, name: String, figure: String, lines: Html) -> Html {
    html! {
        <article class="card" data-id={id} data-key={key}>
            <div class="lead-head"><strong>{ name }</strong><span class="value">{ figure }</span></div>
            { lines }
        </article>
    }
}

/// A moment as the server writes it (RFC 3339), as a day in the reader's
/// language.
pub fn day_of(moment: &str) -> String {
    day(js_sys::Date::parse(moment))
}

/// A choice of what the desk shows (`options` are value and label).
pub fn picker(id: &'static str, options: Vec<(String, String)>, chosen: &str, ctx: &Ctx) -> Html {
    let choose = ctx.choose.clone();
    let onchange = Callback::from(move |e: Event| {
        choose.emit(
            e.target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value(),
        )
    });
    html! {
        <select {id} {onchange}>
            <option value="" disabled=true selected={chosen.is_empty()}>{ "Choose…" }</option>
            { for options.into_iter().map(|(v, label)| html! { <option selected={v == chosen} value={v.clone()}>{ label }</option> }) }
        </select>
    }
}

/// What a change's answer says, read as the server's type `T`; an answer
/// of another shape says that instead.
pub fn answer<T: DeserializeOwned>(value: &Value, say: impl FnOnce(T) -> Html) -> Html {
    match T::deserialize(value) {
        Ok(answer) => say(answer),
        Err(e) => html! { ApiError::Unexpected(e.to_string()).to_string() },
    }
}

/// The form that asks why (a rejection, a clawback, a refund: the partner
/// or applicant, the `reader`, reads it) and sends it to `path`.
/// A deal's decision also names what the admin reviewed (`seen`).
pub fn reason_form(
    ctx: &Ctx,
    reader: &'static str,
    submit: &'static str,
    path: String,
    seen: Option<api::Reviewed>,
    said: fn(&Value) -> Html,
) -> Html {
    let send = ctx.change.reform(move |e: SubmitEvent| {
        let reason = form(&e)("reason");
        match &seen {
            Some(seen) => {
                let rejection = api::Rejection::new(reason, seen.clone());
                Change::new("POST", path.clone(), Some(&rejection), said)
            }
            None => Change::new("POST", path.clone(), Some(&api::Reason { reason }), said),
        }
    });
    html! {
        <form class="reason-form" onsubmit={send}>
            <label>{ format!("Reason the {reader} will read") }<input name="reason" required=true autofocus=true /></label>
            <div class="row">
                <button type="button" onclick={ctx.reason.reform(|_| None)}>{ "Cancel" }</button>
                <button type="submit">{ submit }</button>
            </div>
        </form>
    }
}
