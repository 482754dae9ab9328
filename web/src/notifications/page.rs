//! The notifications page: this device's push notifications (turn them
//! on, choose what is pushed), then every notice, newest first, each a
//! link to its screen; the ones not seen before are marked.

use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, NotificationCategory, Preferences},
    show,
};
use yew::prelude::*;

use super::{
    DueNow, State,
    push::{self, Standing},
};
use crate::page::safe_hash;

/// The page. `seen_before` is the newest id seen before it opened: what is
/// newer is marked new while it is on screen.
pub fn view(state: &State, seen_before: i64, due: &[DueNow]) -> Html {
    let notices = state.inbox.as_ref().map(|i| i.notices.as_slice());
    html! {
        <main id="notifications" class="notifications">
            if !due.is_empty() {
                <h2 class="section">{ "Follow-ups due" }</h2>
                <ul class="plain notices due-now">
                    { for due.iter().map(|d| html! {
                        <li class="card notice-item due">
                            <a href={safe_hash(&d.screen)}><strong>{ format!("Follow up: {}", d.who) }</strong></a>
                            <time class="hint">{ show::when(d.at) }</time>
                        </li>
                    }) }
                </ul>
            }
            <h2 class="section">{ "Latest first" }</h2>
            { match notices {
                None => html! { <p class="hint">{ "Opening your notifications…" }</p> },
                Some([]) => html! {
                    <p class="card hint" id="no-notices">{ "Nothing yet. When a deal is decided, a commission is available, a payout is made or a follow-up is due, it is here, with or without a network." }</p>
                },
                Some(notices) => html! {
                    <ul class="plain notices">
                        { for notices.iter().map(|n| {
                            let new = n.id > seen_before;
                            html! {
                                <li class={classes!("card", "notice-item", new.then_some("new"))} data-id={n.id.to_string()} data-kind={n.kind.clone()}>
                                    <a href={safe_hash(&n.screen)}>
                                        <strong>{ &n.title }</strong>
                                        if new { <span class="new-mark">{ "New" }</span> }
                                    </a>
                                    if !n.body.is_empty() { <p class="notes">{ &n.body }</p> }
                                    <time class="hint">{ show::when(n.at.0) }</time>
                                </li>
                            }
                        }) }
                    </ul>
                },
            } }
            <PushCard />
        </main>
    }
}

/// What this device does about push notifications.
#[function_component(PushCard)]
fn push_card() -> Html {
    let standing = use_state(push::standing);
    let busy = use_state(|| false);
    let problem = use_state(|| None::<String>);
    let turn_on = {
        let (standing, busy, problem) = (standing.clone(), busy.clone(), problem.clone());
        Callback::from(move |_| {
            let (standing, busy, problem) = (standing.clone(), busy.clone(), problem.clone());
            busy.set(true);
            spawn_local(async move {
                match push::turn_on().await {
                    Ok(now) => {
                        standing.set(now);
                        problem.set(None);
                    }
                    Err(why) => problem.set(Some(format!(
                        "Notifications could not be turned on: {why}. {}",
                        if api::browser_online() {
                            "Try again."
                        } else {
                            "It needs a connection; try again once you have one."
                        }
                    ))),
                }
                busy.set(false);
            });
        })
    };
    let body = match *standing {
        Standing::Unsupported => html! {
            <p class="hint">{ "This browser cannot show notifications from the app. On an iPhone or iPad, add the app to your Home Screen (Share, then Add to Home Screen) and open it from there." }</p>
        },
        Standing::Denied => html! {
            <p class="hint">{ "Notifications are blocked for this app in your browser's settings. Allow them there to have deals, payouts and follow-ups on this device." }</p>
        },
        Standing::Off => html! {
            <>
                <p class="hint">{ "Have deal decisions, payouts and follow-ups due on this device, even when the app is closed." }</p>
                <button id="turn-on-push" class="primary" onclick={turn_on} disabled={*busy}>
                    { if *busy { "Turning on…" } else { "Turn on notifications" } }
                </button>
            </>
        },
        Standing::On => html! { <PushChoices /> },
    };
    html! {
        <section class="card push-card" aria-labelledby="push-title">
            <h2 id="push-title">{ "On this device" }</h2>
            { body }
            if let Some(why) = &*problem { <p class="error" role="alert">{ why }</p> }
        </section>
    }
}

const CATEGORIES: [(NotificationCategory, &str); 5] = [
    (NotificationCategory::Deals, "Decisions on your deals"),
    (
        NotificationCategory::Money,
        "Commissions available and payouts",
    ),
    (NotificationCategory::Reminders, "Follow-ups due"),
    (
        NotificationCategory::Training,
        "Training assigned, exams graded",
    ),
    (NotificationCategory::Chat, "Mentions in the chat"),
];

/// Which categories are pushed (to every device of the account); the list
/// on this page has them all either way.
#[function_component(PushChoices)]
fn push_choices() -> Html {
    let prefs = use_state(|| None::<Result<Preferences, String>>);
    {
        let prefs = prefs.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                prefs.set(Some(
                    api::get::<Preferences>("/api/me/notification-preferences")
                        .await
                        .map_err(|e| e.to_string()),
                ));
            });
            || ()
        });
    }
    let choose = {
        let prefs = prefs.clone();
        Callback::from(move |(category, push): (NotificationCategory, bool)| {
            let prefs = prefs.clone();
            let body =
                serde_json::json!({ "categories": [{ "category": category, "push": push }] });
            spawn_local(async move {
                let answer = api::call(
                    "PUT",
                    "/api/me/notification-preferences",
                    Some(body.to_string()),
                )
                .await
                .and_then(|v| {
                    serde_json::from_value(v).map_err(|e| api::ApiError::Unexpected(e.to_string()))
                });
                prefs.set(Some(answer.map_err(|e| e.to_string())));
            });
        })
    };
    let pushed = |category: NotificationCategory| match &*prefs {
        Some(Ok(p)) => p
            .categories
            .iter()
            .find(|c| c.category == category)
            .is_none_or(|c| c.push),
        _ => true,
    };
    html! {
        <fieldset class="push-choices">
            <legend>{ "Notifications are on for this device. Send me:" }</legend>
            { for CATEGORIES.iter().map(|&(category, label)| {
                let on = pushed(category);
                let choose = choose.clone();
                html! {
                    <label class="choice">
                        <input type="checkbox" name={category.as_str()} checked={on}
                            disabled={!matches!(&*prefs, Some(Ok(_)))}
                            onchange={Callback::from(move |_| choose.emit((category, !on)))} />
                        { label }
                    </label>
                }
            }) }
            if let Some(Err(why)) = &*prefs { <p class="hint" role="status">{ format!("Your choices cannot be read now. {why}") }</p> }
        </fieldset>
    }
}
