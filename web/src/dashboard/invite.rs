//! A team leader's invite link, to send to someone they want in their
//! team: the welcome's application form says whose team it is and sends
//! the code with the application; the admin who approves sees it. The
//! link is the server's (one per leader, the same every time), asked for
//! once online and kept on the device, so it can be shared offline after.

use wasm_bindgen_futures::spawn_local;
use web_common::api::{self, Invite};
use yew::prelude::*;

use crate::{engine, share};

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
                if let Some(told) = share::share("Join my team", &link(&code)).await {
                    said.set(Some(told.to_owned()));
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
