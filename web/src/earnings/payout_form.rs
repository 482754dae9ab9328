//! Where the partner's payouts go: sent to the server (online only), which
//! keeps the account masked and answers with what it kept.

use web_common::{
    api::{ApiError, PayoutMethod},
    forms::{self, Change, Sent, form},
};
use yew::prelude::*;

/// What the server kept: the kind in words ("bank account") and the
/// account masked.
#[derive(Clone, Debug, PartialEq)]
struct Saved {
    kind: String,
    masked: String,
}

#[derive(Properties, PartialEq)]
pub struct PayoutFormProps {
    /// The change was sent with a session already over, at this time.
    pub on_signed_out: Callback<f64>,
}

#[function_component(PayoutForm)]
pub fn payout_form(props: &PayoutFormProps) -> Html {
    // How the last change went; gone with the screen.
    let outcome = use_state(|| None::<Result<Saved, String>>);
    let send = {
        let (outcome, on_signed_out) = (outcome.clone(), props.on_signed_out.clone());
        forms::sender(Callback::from(move |sent: Sent<Saved>| {
            if let Err(ApiError::SignedOut) = sent.outcome {
                on_signed_out.emit(sent.at);
            }
            outcome.set(Some(sent.outcome.map_err(|e| e.to_string())));
        }))
    };
    let save = send.reform(|e: SubmitEvent| {
        let field = form(&e);
        let method = PayoutMethod {
            kind: field("kind"),
            holder: field("holder"),
            account: field("account"),
        };
        Change::new(
            "PUT",
            "/api/me/payout-method".to_owned(),
            Some(&method),
            |set| Saved {
                kind: set["kind"].as_str().unwrap_or_default().replace('_', " "),
                masked: set["masked"].as_str().unwrap_or_default().to_owned(),
            },
        )
    });
    let said = |saved: &Saved| {
        html! { <span id="payout-saved">{ format!("Payouts now go to the {} {}.", saved.kind, saved.masked) }</span> }
    };
    html! {
        <form id="payout-form" class="card no-print" onsubmit={save}>
            <h2>{ "Payout method" }</h2>
            { forms::outcome_of(outcome.as_ref(), said) }
            <label>{ "Kind" }
                <select name="kind">
                    <option value="bank_account" selected=true>{ "Bank account" }</option>
                    <option value="paypal">{ "PayPal" }</option>
                </select>
            </label>
            <label>{ "Account holder" }<input name="holder" autocomplete="name" /></label>
            <label>{ "IBAN, account number or PayPal email" }<input name="account" autocomplete="off" /></label>
            <button type="submit" class="primary">{ "Save payout method" }</button>
        </form>
    }
}
