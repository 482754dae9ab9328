//! The sign-in form, the same for partners and admins.

use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, Me, MeError};

#[derive(Properties, PartialEq)]
pub struct SignInProps {
    pub title: AttrValue,
    /// Said under the title.
    #[prop_or_default]
    pub note: Option<AttrValue>,
    /// Filled in for someone asked to sign in again.
    #[prop_or_default]
    pub email: AttrValue,
    pub on_signed_in: Callback<Me>,
}

/// Signs in (`POST /api/sessions`), then learns who that is (`/api/me`).
#[function_component(SignIn)]
pub fn sign_in(props: &SignInProps) -> Html {
    let email = use_node_ref();
    let password = use_node_ref();
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    {
        let email = email.clone();
        let password = password.clone();
        let known = props.email.clone();
        use_effect_with((), move |_| {
            if let Some(input) = email.cast::<HtmlInputElement>()
                && !known.is_empty()
            {
                input.set_value(&known);
                if let Some(password) = password.cast::<HtmlInputElement>() {
                    let _ = password.focus();
                }
            }
            || ()
        });
    }
    let on_submit = {
        let email = email.clone();
        let password = password.clone();
        let busy = busy.clone();
        let error = error.clone();
        let on_signed_in = props.on_signed_in.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let (address, secret) = (value(&email), value(&password));
            if address.trim().is_empty() || secret.is_empty() {
                return error.set(Some("Enter your email and your password.".to_owned()));
            }
            busy.set(true);
            error.set(None);
            let (busy, error, on_signed_in) = (busy.clone(), error.clone(), on_signed_in.clone());
            let password = password.clone();
            spawn_local(async move {
                let outcome = match api::sign_in(&address, &secret).await {
                    Ok(()) => api::me().await.map_err(|e| match e {
                        MeError::Unreachable => api::SignInError::Unreachable {
                            offline: !api::browser_online(),
                        },
                        other => api::SignInError::Unexpected(other.to_string()),
                    }),
                    Err(e) => Err(e),
                };
                busy.set(false);
                match outcome {
                    Ok(me) => {
                        if let Some(input) = password.cast::<HtmlInputElement>() {
                            input.set_value("");
                        }
                        on_signed_in.emit(me);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <form id="signin-form" class="card signin" onsubmit={on_submit} novalidate=true>
            <h1 id="signin-title">{ props.title.clone() }</h1>
            if let Some(note) = &props.note {
                <p class="hint">{ note.clone() }</p>
            }
            <label>{ "Email" }
                <input ref={email} name="email" type="email" inputmode="email" autocomplete="username"
                    autocapitalize="none" spellcheck="false" required=true />
            </label>
            <label>{ "Password" }
                <input ref={password} name="password" type="password" autocomplete="current-password" required=true />
            </label>
            if let Some(e) = &*error {
                <p id="signin-error" class="error" role="alert">{ e }</p>
            }
            <button type="submit" class="primary" disabled={*busy}>
                { if *busy { "Signing in…" } else { "Sign in" } }
            </button>
        </form>
    }
}
