//! A team leader's invite link, to send to someone they want in their
//! team: the welcome's application form says whose team it is and sends
//! the code with the application; the admin who approves sees it. The
//! link is the server's (one per leader, the same every time), asked for
//! once online and kept on the device, so it can be shared offline after.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_common::api::{self, Invite};
use yew::prelude::*;

use crate::engine;

fn kept_key(account: &str) -> String {
    format!("invite-code:{account}")
}

/// The link a code makes, on this app's origin.
fn link(code: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/?invite={code}")
}

/// Calls `navigator.<object>.<method>(arg)` (or `navigator.<method>` when
/// `object` is empty) if the browser has it; whether it did.
async fn navigator_call(object: &str, method: &str, arg: &JsValue) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let mut target: JsValue = window.navigator().into();
    if !object.is_empty() {
        target = match Reflect::get(&target, &object.into()) {
            Ok(t) if !t.is_undefined() => t,
            _ => return false,
        };
    }
    let Some(f) = Reflect::get(&target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return false;
    };
    match f.call1(&target, arg) {
        Ok(promise) => match promise.dyn_into::<js_sys::Promise>() {
            Ok(promise) => JsFuture::from(promise).await.is_ok(),
            Err(_) => true,
        },
        Err(_) => false,
    }
}

#[derive(Properties, PartialEq)]
pub struct InviteProps {
    pub account_id: AttrValue,
}

#[function_component(InviteCard)]
pub fn invite_card(props: &InviteProps) -> Html {
    let code = use_state(|| engine::local_get(&kept_key(&props.account_id)));
    let said = use_state(|| None::<String>);
    let ask = {
        let (code, said, account) = (code.clone(), said.clone(), props.account_id.clone());
        Callback::from(move |_| {
            let (code, said, account) = (code.clone(), said.clone(), account.clone());
            spawn_local(async move {
                match api::call("POST", "/api/team/invite", None).await {
                    Ok(answer) => match serde_json::from_value::<Invite>(answer) {
                        Ok(invite) => {
                            engine::local_set(&kept_key(&account), &invite.code);
                            code.set(Some(invite.code));
                            said.set(None);
                        }
                        Err(e) => said.set(Some(e.to_string())),
                    },
                    Err(e) => said.set(Some(e.to_string())),
                }
            });
        })
    };
    let share = {
        let (code, said) = (code.clone(), said.clone());
        Callback::from(move |_| {
            let Some(code) = (*code).clone() else { return };
            let said = said.clone();
            spawn_local(async move {
                let url = link(&code);
                let data = js_sys::Object::new();
                let _ = Reflect::set(&data, &"title".into(), &"Join my team".into());
                let _ = Reflect::set(&data, &"url".into(), &url.clone().into());
                if navigator_call("", "share", &data).await {
                    return;
                }
                if navigator_call("clipboard", "writeText", &url.into()).await {
                    said.set(Some("Link copied.".to_owned()));
                } else {
                    said.set(Some("Select the link and copy it.".to_owned()));
                }
            });
        })
    };
    html! {
        <section class="card invite" aria-labelledby="invite-title">
            <h2 id="invite-title">{ "Invite to your team" }</h2>
            { match &*code {
                Some(code) => html! {
                    <>
                        <label>{ "Your invite link" }
                            <input id="invite-link" readonly=true value={link(code)} />
                        </label>
                        <button id="share-invite" class="primary" onclick={share}>{ "Share the link" }</button>
                    </>
                },
                None => html! {
                    <>
                        <p class="hint">{ "Send people your link: their application names your team, and you earn a share of their commission once you are a Performer." }</p>
                        <button id="get-invite" onclick={ask}>{ "Get your invite link" }</button>
                    </>
                },
            } }
            if let Some(said) = &*said { <p class="hint" role="status">{ said }</p> }
        </section>
    }
}
