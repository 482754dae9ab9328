//! The sign-out button, the same in both apps: it ends the session on the
//! server (`DELETE /api/sessions/current`), so it needs a connection.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api::{self, MeError};

/// The button: `on_signed_out` hears that the server ended the session,
/// `on_failed` why it did not, in words.
pub fn sign_out_button(on_signed_out: Callback<()>, on_failed: Callback<String>) -> Html {
    let onclick = Callback::from(move |_: MouseEvent| {
        let (signed_out, failed) = (on_signed_out.clone(), on_failed.clone());
        spawn_local(async move {
            match api::sign_out().await {
                Ok(()) => signed_out.emit(()),
                Err(e) => failed.emit(failure(&e)),
            }
        });
    });
    html! {
        <button id="sign-out" class="quiet" {onclick}>{ "Sign out" }</button>
    }
}

/// Why signing out failed, in words.
pub fn failure(e: &MeError) -> String {
    match e {
        MeError::Unreachable => "You are offline. Signing out needs a connection, so that the \
                                 session also ends on the server."
            .to_owned(),
        e => format!("Signing out failed: {e}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_out_offline_says_a_connection_is_needed() {
        assert_eq!(
            failure(&MeError::Unreachable),
            "You are offline. Signing out needs a connection, so that the session also ends \
             on the server."
        );
        assert_eq!(
            failure(&MeError::Other("the server answered 500".to_owned())),
            "Signing out failed: the server answered 500."
        );
    }
}
