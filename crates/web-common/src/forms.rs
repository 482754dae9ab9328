//! Changes made from a screen with a form: the request, what its answer
//! means in words, and sending it. Used by the partner's payout method and
//! by every back-office desk.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{FormData, HtmlFormElement};
use yew::prelude::*;

use crate::api::{self, ApiError};

/// The currencies a form offers.
pub const CURRENCIES: [&str; 5] = ["USD", "EUR", "GBP", "BRL", "JPY"];

/// A change made from a screen (a desk, or the partner's payout method):
/// the request, and what its answer means.
pub struct Change {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub said: fn(&Value) -> Html,
}

impl Change {
    pub fn new(
        method: &'static str,
        path: String,
        body: Option<&impl Serialize>,
        said: fn(&Value) -> Html,
    ) -> Change {
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
pub fn send(change: Change, done: impl FnOnce(Result<Html, ApiError>) + 'static) {
    spawn_local(async move {
        let answer = api::call(change.method, &change.path, change.body).await;
        done(answer.map(|v| (change.said)(&v)));
    });
}

/// How the last change went, as a screen shows it: what the answer said,
/// or why it failed.
pub fn outcome(outcome: Option<&Result<Html, String>>) -> Html {
    match outcome {
        Some(Ok(said)) => html! { <p class="notice" role="status">{ said.clone() }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        None => Html::default(),
    }
}
