//! The sync engine's life in the app: one engine per signed-in account,
//! the connection it shows, dialing while the session lasts, and the
//! session checked when a socket is refused or the network comes back.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use wasm_bindgen_futures::spawn_local;
use web_common::listener::WindowListener;
use yew::prelude::*;

use super::{
    session::check_session,
    state::{Action, AppState, Connection},
};
use crate::engine::{Engine, EngineEvent, EngineRef};

/// How long the badge says "Connecting" for an engine's first connection,
/// the network being there, before it says offline.
const FIRST_CONNECT_MS: f64 = 5_000.0;

/// A refused socket makes the app ask `/api/me` at most this often.
const PROBE_INTERVAL_MS: f64 = 5_000.0;

/// When the app last asked `/api/me` (ms since the epoch).
pub type LastProbe = Rc<RefCell<f64>>;

/// What the app does with the engine's news about its connection.
fn on_engine_event(
    account_id: String,
    dispatch: UseReducerDispatcher<AppState>,
    last_probe: LastProbe,
) -> Rc<dyn Fn(EngineEvent)> {
    Rc::new(move |event| match event {
        EngineEvent::SessionEnded => dispatch.dispatch(Action::SessionEnded {
            account_id: account_id.clone(),
            since: js_sys::Date::now(),
        }),
        EngineEvent::Refused => {
            let now = js_sys::Date::now();
            if now - *last_probe.borrow() >= PROBE_INTERVAL_MS {
                *last_probe.borrow_mut() = now;
                check_session(account_id.clone(), dispatch.clone());
            }
        }
        EngineEvent::Crashed => dispatch.dispatch(Action::Error(Some(
            "The sync engine stopped. Open the app again to go on syncing.".into(),
        ))),
    })
}

/// After a start that failed (its module not on the device yet, offline),
/// the next try waits this long, doubling up to `MOST_START_WAIT`.
const FIRST_START_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const MOST_START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One engine per signed-in account, stopped when the account changes.
#[hook]
pub fn use_engine(
    account: Option<String>,
    dispatch: UseReducerDispatcher<AppState>,
    last_probe: LastProbe,
) -> Option<EngineRef> {
    let engine = use_state(|| None::<EngineRef>);
    {
        let engine = engine.clone();
        use_effect_with(account, move |account| {
            engine.set(None);
            let live = Rc::new(RefCell::new(None::<Rc<Engine>>));
            let cancelled = Rc::new(Cell::new(false));
            if let Some(account) = account.clone() {
                let live = live.clone();
                let cancelled = cancelled.clone();
                spawn_local(async move {
                    let on_event = on_engine_event(account.clone(), dispatch.clone(), last_probe);
                    let mut wait = FIRST_START_WAIT;
                    let mut failed = false;
                    while !cancelled.get() {
                        match Engine::start(&account, on_event.clone()).await {
                            Ok(started) if cancelled.get() => spawn_local(started.stop()),
                            Ok(started) => {
                                *live.borrow_mut() = Some(started.clone());
                                engine.set(Some(EngineRef(started)));
                                if failed {
                                    dispatch.dispatch(Action::Error(None));
                                }
                            }
                            Err(e) => {
                                failed = true;
                                // Changes made meanwhile wait on the screens
                                // (`document::Doc`); the next try may find
                                // the module (back online) and take them.
                                dispatch.dispatch(Action::Error(Some(format!(
                                    "Not syncing yet: {e}. Trying again."
                                ))));
                                gloo_timers::future::sleep(wait).await;
                                wait = (wait * 2).min(MOST_START_WAIT);
                                continue;
                            }
                        }
                        break;
                    }
                });
            }
            move || {
                cancelled.set(true);
                if let Some(old) = live.borrow_mut().take() {
                    spawn_local(old.stop());
                }
            }
        });
    }
    (*engine).clone()
}

/// While an engine runs: show its connection (offline as soon as the
/// browser says so, whatever the socket), and when the browser says the
/// network is back, dial at once and ask whether the session lasted.
#[hook]
pub fn use_connection(
    engine: Option<EngineRef>,
    dispatch: UseReducerDispatcher<AppState>,
    last_probe: LastProbe,
) {
    use_effect_with(engine, move |engine| {
        let alive = Rc::new(Cell::new(true));
        let mut listener = None;
        if let Some(EngineRef(engine)) = engine.clone() {
            dispatch.dispatch(Action::Connection(Connection::Connecting));
            {
                let engine = Rc::downgrade(&engine);
                let dispatch = dispatch.clone();
                listener = WindowListener::new("online", move || {
                    if let Some(engine) = engine.upgrade() {
                        engine.redial_if_disconnected();
                        *last_probe.borrow_mut() = js_sys::Date::now();
                        check_session(engine.account_id().to_owned(), dispatch.clone());
                    }
                });
            }
            // The dialer is replaced on redial, so rather than following
            // one dialer's events, look at whichever is current a few
            // times a second.
            let alive = alive.clone();
            let engine = Rc::downgrade(&engine);
            spawn_local(async move {
                let mut shown = None;
                let started = js_sys::Date::now();
                let mut ever_connected = false;
                while alive.get() {
                    let Some(engine) = engine.upgrade() else {
                        break;
                    };
                    // A socket the network has gone from stays open until
                    // a write or a ping times out, tens of seconds later:
                    // the browser's own word that it is offline comes
                    // first. Before the first connection, a socket not open
                    // yet is one being opened, for a while.
                    let connected = engine.is_connected();
                    ever_connected |= connected;
                    let online = web_common::api::browser_online();
                    let now = if connected && online {
                        Connection::Online
                    } else if online
                        && !ever_connected
                        && js_sys::Date::now() - started < FIRST_CONNECT_MS
                    {
                        Connection::Connecting
                    } else {
                        Connection::Offline
                    };
                    drop(engine);
                    if shown != Some(now) {
                        shown = Some(now);
                        dispatch.dispatch(Action::Connection(now));
                    }
                    gloo_timers::future::sleep(std::time::Duration::from_millis(250)).await;
                }
            });
        }
        move || {
            alive.set(false);
            drop(listener);
        }
    });
}

/// Dial while the session lasts; not while it is over.
#[hook]
pub fn use_dialing(engine: Option<EngineRef>, ended: bool) {
    use_effect_with((engine, ended), |(engine, ended)| {
        if let Some(EngineRef(engine)) = engine {
            if *ended {
                engine.pause();
            } else {
                engine.resume();
            }
        }
        || ()
    });
}
