//! Who is signed in on this device, as last heard from the server: kept in
//! localStorage (never a token: the session cookie is HttpOnly), so the
//! app opens signed in with no network, and asked of `/api/me` whenever
//! there is reason to doubt it.

use serde::{Deserialize, Serialize};
use wasm_bindgen_futures::spawn_local;
use web_common::{
    api::{self, Me, MeError, Role},
    listener::location_hash,
};
use yew::prelude::*;

use super::{
    screen::Screen,
    state::{Action, AppState},
};
use crate::engine;

/// Who is signed in on this device, as last heard from the server.
const SESSION_CACHE: &str = "session";

#[derive(Serialize, Deserialize)]
struct CachedSession {
    me: Me,
    ended: bool,
}

/// The state the app opens with: the remembered account, on the screen
/// the address names.
pub fn cached_state() -> AppState {
    let mut state = engine::local_get(SESSION_CACHE)
        .and_then(|json| serde_json::from_str::<CachedSession>(&json).ok())
        .map(|cached| AppState::signed_in(cached.me, cached.ended, 0.0))
        .unwrap_or_default();
    state.screen = Screen::from_hash(&location_hash());
    state
}

/// Remembers who is signed in for the next start, offline included (not
/// an admin: the back-office works online only).
#[hook]
pub fn use_remembered(me: Option<std::rc::Rc<Me>>, ended: bool) {
    use_effect_with((me, ended), |(me, ended)| {
        match me.as_ref().filter(|me| me.role != Role::Admin) {
            Some(me) => {
                let cached = CachedSession {
                    me: (**me).clone(),
                    ended: *ended,
                };
                if let Ok(json) = serde_json::to_string(&cached) {
                    engine::local_set(SESSION_CACHE, &json);
                }
            }
            None => engine::local_remove(SESSION_CACHE),
        }
        || ()
    });
}

/// Forgets who was signed in, at once (the page is about to start again).
pub fn forget() {
    engine::local_remove(SESSION_CACHE);
    // The statements kept for offline are this account's money, and the
    // training it downloaded may be for its eyes only (a track for team
    // leaders): gone with it (the service worker's caches, `static/sw.js`).
    if let Some(Ok(caches)) = web_sys::window().map(|w| w.caches()) {
        let _ = caches.delete("statements-v1");
        let _ = caches.delete("training-files-v1");
    }
}

/// Asks the server whether the account's session is alive. No answer (no
/// network, server down) changes nothing: the app goes on offline.
pub fn check_session(account_id: String, dispatch: UseReducerDispatcher<AppState>) {
    let since = js_sys::Date::now();
    spawn_local(async move {
        match api::me().await {
            Ok(me) => dispatch.dispatch(Action::MeRefreshed(me)),
            Err(MeError::SignedOut) => {
                dispatch.dispatch(Action::SessionEnded { account_id, since })
            }
            Err(MeError::Unreachable) => {}
            Err(e @ MeError::Other(_)) => {
                web_sys::console::warn_1(&format!("checking the session: {e}").into())
            }
        }
    });
}

/// Asks once whether `account`'s session is alive, when the page opens with
/// it remembered and not known to be over.
#[hook]
pub fn use_first_check(
    account: Option<String>,
    ended: bool,
    dispatch: UseReducerDispatcher<AppState>,
) {
    use_effect_with((), move |_| {
        if let Some(account) = account.filter(|_| !ended) {
            check_session(account, dispatch);
        }
        || ()
    });
}

/// Asks `/api/me` again whenever `asking` names an account (and changes):
/// a partner whose account view the server had not made when the app last
/// asked, on the money screens.
#[hook]
pub fn use_check_while(asking: Option<String>, dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with(asking, move |asking| {
        if let Some(account) = asking.clone() {
            check_session(account, dispatch);
        }
        || ()
    });
}
