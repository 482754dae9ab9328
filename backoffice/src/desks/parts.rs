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
    html! {
        <ReasonForm {reader} {submit} {path} {seen} {said}
            change={ctx.change.clone()} cancel={ctx.reason.reform(|_: ()| None)} />
    }
}

#[derive(Properties)]
pub struct ReasonProps {
    reader: &'static str,
    submit: &'static str,
    path: String,
    seen: Option<api::Reviewed>,
    said: fn(&Value) -> Html,
    change: Callback<Change>,
    cancel: Callback<()>,
}

/// Forms of the same path say the same of their answer: `said` (a
/// function, whose address means nothing) is left out of the comparison.
impl PartialEq for ReasonProps {
    fn eq(&self, other: &Self) -> bool {
        (
            self.reader,
            self.submit,
            &self.path,
            &self.seen,
            &self.change,
            &self.cancel,
        ) == (
            other.reader,
            other.submit,
            &other.path,
            &other.seen,
            &other.change,
            &other.cancel,
        )
    }
}

/// The reason form itself: a component, so that the field takes focus as
/// the form opens (an `autofocus` does nothing on a field added later).
#[function_component(ReasonForm)]
fn reason_form_component(props: &ReasonProps) -> Html {
    let field = use_node_ref();
    {
        let field = field.clone();
        use_effect_with((), move |_| {
            if let Some(input) = field.cast::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
            || ()
        });
    }
    let send = {
        let (path, seen, said, change) = (
            props.path.clone(),
            props.seen.clone(),
            props.said,
            props.change.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            let reason = form(&e)("reason");
            let change_made = match &seen {
                Some(seen) => {
                    let rejection = api::Rejection::new(reason, seen.clone());
                    Change::new("POST", path.clone(), Some(&rejection), said)
                }
                None => Change::new("POST", path.clone(), Some(&api::Reason { reason }), said),
            };
            change.emit(change_made);
        })
    };
    html! {
        <form class="reason-form" onsubmit={send}>
            <label>{ format!("Reason the {} will read", props.reader) }<input ref={field} name="reason" required=true /></label>
            <div class="row">
                <button type="button" onclick={props.cancel.reform(|_| ())}>{ "Cancel" }</button>
                <button type="submit">{ props.submit }</button>
            </div>
        </form>
    }
}
