//! Over the app, when the server ended the session: sign in again, with
//! the email filled in and word that nothing made on the device is lost.

use web_common::{api::Me, sign_in::SignIn};
use yew::prelude::*;

/// `pending`: the changes the server has not confirmed; they stay on the
/// device.
pub fn session_ended(email: &str, pending: usize, on_signed_in: Callback<Me>) -> Html {
    html! {
        <div id="session-ended" class="overlay" role="dialog" aria-modal="true" aria-labelledby="signin-title">
            <SignIn
                title="Your session ended — sign in again"
                note={waiting_note(pending)}
                email={email.to_owned()}
                {on_signed_in}
            />
        </div>
    }
}

fn waiting_note(pending: usize) -> AttrValue {
    let kept = match pending {
        0 => "Everything on this device stays here".to_owned(),
        1 => "Your change that has not reached the server yet stays on this device".to_owned(),
        n => format!("Your {n} changes that have not reached the server yet stay on this device"),
    };
    format!("{kept}, and syncs once you are signed in.").into()
}
