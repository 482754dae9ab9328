//! Changes made from a screen with a form: the request, what its answer
//! means, sending it and reporting how it went. Used by the partner's
//! payout method and by every back-office desk.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{FormData, HtmlFormElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::{self, ApiError};

/// Puts `value` in a field, once, as its form opens. A field rendered with
/// `value=` is not one to type in: Yew puts that value back into the field
/// at every render in which the field holds something else, so whatever
/// re-renders the screen (a sync bringing another device's change, an
/// error shown) throws away what the person typed.
pub fn fill(field: &NodeRef, value: &str) {
    if let Some(input) = field.cast::<HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(area) = field.cast::<HtmlTextAreaElement>() {
        area.set_value(value);
    }
}

/// The currencies a form offers.
pub const CURRENCIES: [&str; 5] = ["USD", "EUR", "GBP", "BRL", "JPY"];

/// A change made from a screen (a desk, or the partner's payout method):
/// the request, and what its answer means: words to show (`Html`, the
/// back-office's desks) or data a screen keeps and shows itself (the
/// partner app keeps no markup in its state).
pub struct Change<T = Html> {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub said: fn(&Value) -> T,
}

impl<T> Change<T> {
    pub fn new(
        method: &'static str,
        path: String,
        body: Option<&impl Serialize>,
        said: fn(&Value) -> T,
    ) -> Change<T> {
        Change {
            method,
            path,
            body: body.and_then(|b| serde_json::to_string(b).ok()),
            said,
        }
    }
}

/// The fields of a submitted form, by name.
pub fn form(e: &SubmitEvent) -> impl Fn(&str) -> String {
    e.prevent_default();
    let data = e
        .target()
        .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        .and_then(|f| FormData::new_with_form(&f).ok());
    move |name| {
        data.as_ref()
            .and_then(|d| d.get(name).as_string())
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

/// Sends `change` and reports how it went.
pub fn send<T: 'static>(change: Change<T>, done: impl FnOnce(Result<T, ApiError>) + 'static) {
    spawn_local(async move {
        let answer = api::call(change.method, &change.path, change.body).await;
        done(answer.map(|v| (change.said)(&v)));
    });
}

/// How a change went, and when it was sent.
pub struct Sent<T> {
    pub outcome: Result<T, ApiError>,
    /// When it was sent (ms since the epoch): a 401 speaks of the session
    /// as it was then, not of one begun since.
    pub at: f64,
}

/// The callback a screen's forms emit their changes to: each one is sent,
/// and `report` hears how it went (a 401 included, which each app answers
/// with its own sign-in).
pub fn sender<T: 'static>(report: Callback<Sent<T>>) -> Callback<Change<T>> {
    Callback::from(move |change: Change<T>| {
        let (report, at) = (report.clone(), js_sys::Date::now());
        send(change, move |outcome| report.emit(Sent { outcome, at }));
    })
}

/// How the last change went, as a screen shows it: what the answer said,
/// or why it failed.
pub fn outcome(outcome: Option<&Result<Html, String>>) -> Html {
    outcome_of(outcome, Html::clone)
}

/// [`outcome`] of a change whose answer is data, shown by `said`.
pub fn outcome_of<T>(outcome: Option<&Result<T, String>>, said: impl FnOnce(&T) -> Html) -> Html {
    match outcome {
        Some(Ok(answer)) => html! { <p class="notice" role="status">{ said(answer) }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        None => Html::default(),
    }
}
