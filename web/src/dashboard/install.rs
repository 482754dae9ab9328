//! Installing the app: the browser's own prompt where it offers one (its
//! `beforeinstallprompt` event, kept by `static/boot.js` as it can come
//! before the app starts), the way to do it on an iPhone or iPad (Safari
//! has no prompt: Share, then Add to Home Screen; and only an app added
//! there can have notifications), and nothing once it is installed.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

/// Where the page stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Installable {
    /// Running as the installed app, or no way to install from here.
    No,
    /// The browser will prompt.
    Prompt,
    /// Safari on iOS: by hand.
    ByHand,
}

/// The prompt boot.js kept, if any.
fn kept_prompt() -> Option<JsValue> {
    let window = web_sys::window()?;
    Reflect::get(&window, &"__installPrompt".into())
        .ok()
        .filter(|p| !p.is_undefined() && !p.is_null())
}

fn installable() -> Installable {
    let Some(window) = web_sys::window() else {
        return Installable::No;
    };
    let standalone = window
        .match_media("(display-mode: standalone)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
        || Reflect::get(&window.navigator(), &"standalone".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
    if standalone {
        return Installable::No;
    }
    if kept_prompt().is_some() {
        return Installable::Prompt;
    }
    let agent = window.navigator().user_agent().unwrap_or_default();
    if ["iPhone", "iPad", "iPod"].iter().any(|d| agent.contains(d)) {
        Installable::ByHand
    } else {
        Installable::No
    }
}

#[function_component(InstallCard)]
pub fn install_card() -> Html {
    let state = use_state(installable);
    {
        // The browser may offer the prompt after the app started.
        let state = state.clone();
        web_common::listener::use_window_event(
            "portal-installable",
            Callback::from(move |()| state.set(installable())),
        );
    }
    let install = {
        let state = state.clone();
        Callback::from(move |_| {
            let Some(prompt) = kept_prompt() else { return };
            let state = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let show = Reflect::get(&prompt, &"prompt".into())
                    .ok()
                    .and_then(|f| f.dyn_into::<Function>().ok());
                if let Some(show) = show
                    && let Ok(shown) = show.call0(&prompt)
                    && let Ok(shown) = shown.dyn_into::<Promise>()
                {
                    let _ = JsFuture::from(shown).await;
                }
                // A prompt is good once; the browser offers another later
                // if the person said no.
                if let Some(window) = web_sys::window() {
                    let _ = Reflect::delete_property(&window, &"__installPrompt".into());
                }
                state.set(installable());
            });
        })
    };
    match *state {
        Installable::No => Html::default(),
        Installable::Prompt => html! {
            <section class="card install" aria-labelledby="install-title">
                <h2 id="install-title">{ "Install the app" }</h2>
                <p class="hint">{ "Open it from your home screen like any app, work offline, and get notifications." }</p>
                <button id="install" class="primary" onclick={install}>{ "Install" }</button>
            </section>
        },
        Installable::ByHand => html! {
            <section class="card install" aria-labelledby="install-title">
                <h2 id="install-title">{ "Add the app to your Home Screen" }</h2>
                <p class="hint">{ "In Safari, tap Share, then Add to Home Screen. Open it from there: it works offline, and only then can it show notifications." }</p>
            </section>
        },
    }
}
