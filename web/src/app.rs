//! The app: one reducer holds the UI state; components render it; effects at
//! the edge (the engine, fetch, browser events) dispatch actions.
//!
//! Who is signed in is the answer of `/api/me`, kept in localStorage with
//! whether the session is known to have ended. So the app opens signed in
//! and working with no network, and asks to sign in only someone who never
//! did on this device or who signed out. When the session ends (the server
//! closes the socket with 4401, or `/api/me` answers 401), the app asks to
//! sign in again over the pipeline and stops dialing; the documents, and the
//! changes that have not reached the server, stay where they are (the engine
//! and its IndexedDB database belong to the account). Signing in again as
//! the same account dials again and what waited syncs; another account gets
//! an engine and a database of its own.
//!
//! Screens are addressed by the location's hash (`#earnings`,
//! `#statement-12`...), so links navigate, the back button works and a
//! statement can be opened and printed on its own. A partner has a
//! pipeline, earnings and a tier (from the account view, see `earnings`).
//! An admin has no pipeline: signing in here takes them to the back-office,
//! a bundle of its own at `/admin/` (see `backoffice/`).

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use futures::StreamExt;
use model::{
    AccountView, AccountViewDoc, Currency, DealOutcome, DealStatus, Lead, LeadDraft, LeadId, Money,
    Pipeline, PipelineDoc, Stage,
};
use samod::DocHandle;
use serde::{Deserialize, Serialize};
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::{
    clock, earnings,
    engine::{self, Engine, EngineEvent},
};
use web_common::{
    api::{self, Access, ApiError, Me, MeError, Role},
    forms::{self, CURRENCIES, Change},
    listener::{WindowListener, location_hash},
    show::{self, tier_name},
    sign_in::SignIn,
};

/// Where admins work: the back-office's own bundle.
const BACKOFFICE: &str = "/admin/";

/// What is on screen, from the location's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Pipeline,
    Earnings,
    Tier,
    Statement(i64),
}

impl Screen {
    fn from_hash(hash: &str) -> Screen {
        let name = hash.trim_start_matches('#');
        match name {
            "earnings" => Screen::Earnings,
            "tier" => Screen::Tier,
            _ => match name.strip_prefix("statement-").map(str::parse) {
                Some(Ok(id)) => Screen::Statement(id),
                _ => Screen::Pipeline,
            },
        }
    }

    fn hash(self) -> String {
        match self {
            Screen::Pipeline => "#pipeline".to_owned(),
            Screen::Earnings => "#earnings".to_owned(),
            Screen::Tier => "#tier".to_owned(),
            Screen::Statement(id) => format!("#statement-{id}"),
        }
    }

    fn title(self) -> &'static str {
        match self {
            Screen::Pipeline => "Pipeline",
            Screen::Earnings => "Earnings",
            Screen::Tier => "Tier progress",
            Screen::Statement(_) => "Statement",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AppState {
    me: Option<Rc<Me>>,
    /// The session is over; `me` and everything on screen stay until
    /// someone signs in.
    session_ended: bool,
    /// When (ms since the epoch) the current session began on this page: a
    /// probe of `/api/me` sent before then speaks of an older session.
    signed_in_at: f64,
    /// The document shown, one of `me`'s pipelines.
    selected: Option<String>,
    pipeline: Option<Pipeline>,
    pipeline_missing: bool,
    connection: Option<Connection>,
    pending: usize,
    error: Option<String>,
    form_open: bool,
    screen: Screen,
    /// The partner's account view, once on the device.
    view: Option<Rc<AccountView>>,
    /// Nobody could give the account view yet (offline on first use).
    view_missing: bool,
    /// How the last change made from this screen (the payout method) went.
    outcome: Option<Result<Html, String>>,
}

pub enum Action {
    /// Someone signed in on this page, at `at`.
    SignedIn {
        me: Me,
        at: f64,
    },
    /// `/api/me` answered: the session is alive, and this is who owns it.
    MeRefreshed(Me),
    /// The server says the account's session is over; `since` is when the
    /// question was asked (or the socket closed).
    SessionEnded {
        account_id: String,
        since: f64,
    },
    SignedOut,
    Select(String),
    Pipeline {
        doc_id: String,
        pipeline: Pipeline,
        pending: usize,
    },
    PipelineMissing {
        doc_id: String,
    },
    Pending {
        doc_id: String,
        pending: usize,
    },
    Connection(Connection),
    Error(Option<String>),
    Form(bool),
    Navigate(Screen),
    View(AccountView),
    ViewMissing,
    Outcome(Result<Html, String>),
}

impl AppState {
    fn signed_in(me: Me, ended: bool, at: f64) -> AppState {
        AppState {
            selected: me.home_document().map(|d| d.doc_id.clone()),
            me: Some(Rc::new(me)),
            session_ended: ended,
            signed_in_at: at,
            ..AppState::default()
        }
    }

    /// The account's details changed (its team, say): keep the document on
    /// screen if it is still one of the account's.
    fn replace_me(&mut self, me: Me) {
        let still_listed = self
            .selected
            .as_deref()
            .is_some_and(|id| me.document(id).is_some());
        if !still_listed {
            self.selected = me.home_document().map(|d| d.doc_id.clone());
            self.clear_document();
        }
        self.me = Some(Rc::new(me));
    }

    fn clear_document(&mut self) {
        self.pipeline = None;
        self.pipeline_missing = false;
        self.pending = 0;
        self.form_open = false;
    }

    fn is_shown(&self, doc_id: &str) -> bool {
        self.selected.as_deref() == Some(doc_id)
    }

    /// Signed in as an admin, whose place is the back-office.
    fn admin(&self) -> bool {
        self.me.as_ref().is_some_and(|me| me.role == Role::Admin)
    }

    fn account_id(&self) -> Option<&str> {
        self.me.as_ref().map(|me| me.account_id.as_str())
    }

    /// Whether the document on screen may be edited from here.
    fn read_only(&self) -> bool {
        match (&self.me, &self.selected) {
            (Some(me), Some(id)) => me
                .document(id)
                .is_none_or(|d| d.access != Access::ReadWrite),
            _ => true,
        }
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::SignedIn { me, at } => {
                if self.account_id() == Some(me.account_id.as_str()) {
                    // The same partner again: same engine, same documents,
                    // and what waited will now sync.
                    next.replace_me(me);
                    next.session_ended = false;
                    next.signed_in_at = at;
                    next.error = None;
                } else {
                    next = AppState::signed_in(me, false, at);
                    next.screen = self.screen;
                }
            }
            Action::MeRefreshed(me) => match self.account_id() {
                Some(current) if current == me.account_id => {
                    next.replace_me(me);
                    next.session_ended = false;
                }
                // The browser's session now belongs to someone else (signed
                // in from another tab): this page's account is signed out.
                Some(_) => next.session_ended = true,
                None => {}
            },
            Action::SessionEnded { account_id, since } => {
                if self.account_id() == Some(account_id.as_str()) && since >= self.signed_in_at {
                    // Everything else stays, a half-typed lead included.
                    next.session_ended = true;
                }
            }
            Action::SignedOut => {
                next = AppState {
                    screen: self.screen,
                    ..AppState::default()
                }
            }
            Action::Select(doc_id) => {
                if !self.is_shown(&doc_id) {
                    next.selected = Some(doc_id);
                    next.clear_document();
                }
            }
            // A late update from a document no longer shown is dropped.
            Action::Pipeline {
                doc_id,
                pipeline,
                pending,
            } => {
                if self.is_shown(&doc_id) {
                    next.pipeline = Some(pipeline);
                    next.pending = pending;
                    next.pipeline_missing = false;
                }
            }
            Action::PipelineMissing { doc_id } => {
                if self.is_shown(&doc_id) && self.pipeline.is_none() {
                    next.pipeline_missing = true;
                }
            }
            Action::Pending { doc_id, pending } => {
                if self.is_shown(&doc_id) {
                    next.pending = pending;
                }
            }
            Action::Connection(c) => next.connection = Some(c),
            Action::Error(e) => next.error = e,
            Action::Form(open) => next.form_open = open,
            Action::Navigate(screen) => {
                if screen != self.screen {
                    next = AppState {
                        screen,
                        outcome: None,
                        ..next
                    };
                }
            }
            Action::Outcome(outcome) => next.outcome = Some(outcome),
            Action::View(view) => {
                next.view = Some(Rc::new(view));
                next.view_missing = false;
            }
            Action::ViewMissing => next.view_missing = self.view.is_none(),
        }
        Rc::new(next)
    }
}

/// Who is signed in on this device, as last heard from the server.
const SESSION_CACHE: &str = "session";

#[derive(Serialize, Deserialize)]
struct CachedSession {
    me: Me,
    ended: bool,
}

fn cached_state() -> AppState {
    let mut state = engine::local_get(SESSION_CACHE)
        .and_then(|json| serde_json::from_str::<CachedSession>(&json).ok())
        .map(|cached| AppState::signed_in(cached.me, cached.ended, 0.0))
        .unwrap_or_default();
    state.screen = Screen::from_hash(&location_hash());
    state
}

/// The engine as component state: equal when it is the same engine.
#[derive(Clone)]
struct EngineRef(Rc<Engine>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// A refused socket makes the app ask `/api/me` at most this often.
const PROBE_INTERVAL_MS: f64 = 5_000.0;

/// Asks the server whether the account's session is alive. No answer (no
/// network, server down) changes nothing: the app goes on offline.
fn check_session(account_id: String, dispatch: UseReducerDispatcher<AppState>) {
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

/// What the app does with the engine's news about its connection.
fn on_engine_event(
    account_id: String,
    dispatch: UseReducerDispatcher<AppState>,
    last_probe: Rc<RefCell<f64>>,
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
    })
}

/// Follows one document while `alive`: renders it on every change (local or
/// remote) and keeps the count of changes the server has not confirmed.
fn follow(
    account_id: Rc<str>,
    handle: DocHandle,
    dispatch: UseReducerDispatcher<AppState>,
    alive: Rc<Cell<bool>>,
) {
    let doc_id = handle.document_id().to_string();
    let publish = {
        let handle = handle.clone();
        let dispatch = dispatch.clone();
        let doc_id = doc_id.clone();
        let account_id = account_id.clone();
        move || match handle.with_document(|doc| PipelineDoc::read(doc)) {
            Ok(pipeline) => dispatch.dispatch(Action::Pipeline {
                doc_id: doc_id.clone(),
                pipeline,
                pending: engine::pending_changes(&account_id, &handle),
            }),
            Err(e) => dispatch.dispatch(Action::Error(Some(format!("cannot read pipeline: {e}")))),
        }
    };
    publish();
    {
        let publish = publish.clone();
        let alive = alive.clone();
        let mut changes = handle.changes();
        spawn_local(async move {
            while changes.next().await.is_some() && alive.get() {
                publish();
            }
        });
    }
    // The current state counts too: the first sync may be over before we
    // subscribe, and then no update would ever come.
    let (current, mut updates) = handle.peers();
    let record = move |states: &std::collections::HashMap<_, samod::PeerDocState>| {
        for state in states.values() {
            if let Some(shared) = &state.shared_heads {
                engine::remember_synced(&account_id, &doc_id, shared);
            }
        }
        dispatch.dispatch(Action::Pending {
            doc_id: doc_id.clone(),
            pending: engine::pending_changes(&account_id, &handle),
        });
    };
    record(&current);
    spawn_local(async move {
        while let Some(states) = updates.next().await {
            if !alive.get() {
                break;
            }
            record(&states);
        }
    });
}

/// Follows the account view while `alive`: the server rewrites it whenever
/// the partner's deals, lines or tier change.
fn follow_view(handle: DocHandle, dispatch: UseReducerDispatcher<AppState>, alive: Rc<Cell<bool>>) {
    let mut changes = handle.changes();
    let publish = move || match handle.with_document(|doc| AccountViewDoc::read(doc)) {
        Ok(view) => dispatch.dispatch(Action::View(view)),
        // Not written yet, or by a newer server: what was shown stays.
        Err(e) => web_sys::console::warn_1(&format!("account view: {e}").into()),
    };
    publish();
    spawn_local(async move {
        while changes.next().await.is_some() && alive.get() {
            publish();
        }
    });
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(cached_state);
    let engine = use_state(|| None::<EngineRef>);
    let doc = use_state(|| None::<DocHandle>);
    // When the app last asked `/api/me` (ms since the epoch).
    let last_probe = use_mut_ref(|| f64::NEG_INFINITY);
    let admin = state.admin();
    // An admin gets no engine: their documents are not kept on a device.
    let account = (!admin)
        .then(|| state.me.as_ref().map(|me| me.account_id.clone()))
        .flatten();

    // An admin's place is the back-office.
    use_effect_with(admin, |admin| {
        if *admin && let Some(window) = web_sys::window() {
            let _ = window.location().replace(BACKOFFICE);
        }
        || ()
    });

    // Remember who is signed in for the next start, offline included (not
    // an admin: the back-office works online only).
    use_effect_with((state.me.clone(), state.session_ended), |(me, ended)| {
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

    // Opened with a remembered account: is its session still alive?
    {
        let dispatch = state.dispatcher();
        let account = account.clone();
        let ended = state.session_ended;
        use_effect_with((), move |_| {
            if let Some(account) = account.filter(|_| !ended) {
                check_session(account, dispatch);
            }
            || ()
        });
    }

    // One engine per signed-in account, stopped when the account changes.
    {
        let dispatch = state.dispatcher();
        let engine = engine.clone();
        let last_probe = last_probe.clone();
        use_effect_with(account.clone(), move |account| {
            engine.set(None);
            let live = Rc::new(RefCell::new(None::<Rc<Engine>>));
            let cancelled = Rc::new(Cell::new(false));
            if let Some(account) = account.clone() {
                let live = live.clone();
                let cancelled = cancelled.clone();
                spawn_local(async move {
                    let on_event = on_engine_event(account.clone(), dispatch.clone(), last_probe);
                    match Engine::start(&account, on_event).await {
                        Ok(started) if cancelled.get() => spawn_local(started.stop()),
                        Ok(started) => {
                            *live.borrow_mut() = Some(started.clone());
                            engine.set(Some(EngineRef(started)));
                        }
                        Err(e) => dispatch.dispatch(Action::Error(Some(format!(
                            "local storage is unavailable: {e}"
                        )))),
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

    // While an engine runs: show its connection, and when the browser says
    // the network is back, dial at once and ask whether the session lasted.
    {
        let dispatch = state.dispatcher();
        let last_probe = last_probe.clone();
        use_effect_with((*engine).clone(), move |engine| {
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
                    while alive.get() {
                        let Some(engine) = engine.upgrade() else {
                            break;
                        };
                        let now = if engine.is_connected() {
                            Connection::Online
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

    // Dial while the session lasts; not while it is over.
    use_effect_with(
        ((*engine).clone(), state.session_ended),
        |(engine, ended)| {
            if let Some(EngineRef(engine)) = engine {
                if *ended {
                    engine.pause();
                } else {
                    engine.resume();
                }
            }
            || ()
        },
    );

    // Open the pipeline on screen.
    {
        let dispatch = state.dispatcher();
        let doc = doc.clone();
        use_effect_with(
            ((*engine).clone(), state.selected.clone()),
            move |(engine, selected)| {
                doc.set(None);
                let alive = Rc::new(Cell::new(true));
                if let (Some(EngineRef(engine)), Some(doc_id)) = (engine.clone(), selected.clone())
                {
                    let alive = alive.clone();
                    spawn_local(async move {
                        let missing = {
                            let dispatch = dispatch.clone();
                            let doc_id = doc_id.clone();
                            move || {
                                dispatch.dispatch(Action::PipelineMissing {
                                    doc_id: doc_id.clone(),
                                })
                            }
                        };
                        match engine.open(&doc_id, missing).await {
                            Ok(handle) if alive.get() => {
                                doc.set(Some(handle.clone()));
                                follow(engine.account_id().into(), handle, dispatch, alive);
                            }
                            Ok(_) => {}
                            Err(e) if alive.get() && !engine.is_stopped() => {
                                dispatch.dispatch(Action::Error(Some(e)))
                            }
                            Err(_) => {}
                        }
                    });
                }
                move || alive.set(false)
            },
        );
    }

    // Open the account view: the tier badge, the deals on lead cards and
    // the money screens all read it.
    {
        let dispatch = state.dispatcher();
        let view_doc = state
            .me
            .as_ref()
            .and_then(|me| me.account_view())
            .map(|d| d.doc_id.clone());
        use_effect_with(((*engine).clone(), view_doc), move |(engine, view_doc)| {
            let alive = Rc::new(Cell::new(true));
            if let (Some(EngineRef(engine)), Some(doc_id)) = (engine.clone(), view_doc.clone()) {
                let alive = alive.clone();
                spawn_local(async move {
                    let missing = {
                        let dispatch = dispatch.clone();
                        move || dispatch.dispatch(Action::ViewMissing)
                    };
                    if let Ok(handle) = engine.open(&doc_id, missing).await
                        && alive.get()
                    {
                        follow_view(handle, dispatch, alive);
                    }
                });
            }
            move || alive.set(false)
        });
    }

    // Screens follow the location's hash.
    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            let listener = WindowListener::new("hashchange", move || {
                dispatch.dispatch(Action::Navigate(Screen::from_hash(&location_hash())))
            });
            move || drop(listener)
        });
    }

    // A partner whose account view the server had not made when the app
    // last asked about the account: ask again on the money screens.
    {
        let dispatch = state.dispatcher();
        let asking = match &state.me {
            Some(me) if !admin && me.account_view().is_none() => (state.screen != Screen::Pipeline
                && !state.session_ended)
                .then(|| me.account_id.clone()),
            _ => None,
        };
        use_effect_with(asking, move |asking| {
            if let Some(account) = asking.clone() {
                check_session(account, dispatch);
            }
            || ()
        });
    }

    let on_signed_in = {
        let dispatch = state.dispatcher();
        Callback::from(move |me: Me| {
            dispatch.dispatch(Action::SignedIn {
                me,
                at: js_sys::Date::now(),
            })
        })
    };

    if admin {
        return html! {
            <div class="app signin-screen">
                <p class="card hint" role="status">
                    { "Opening the back-office… " }<a href={BACKOFFICE}>{ "Go there" }</a>
                </p>
            </div>
        };
    }
    let Some(me) = state.me.clone() else {
        return html! {
            <div class="app signin-screen">
                <SignIn title="Sign in" on_signed_in={on_signed_in} />
            </div>
        };
    };

    let on_sign_out = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| {
            let dispatch = dispatch.clone();
            spawn_local(async move {
                match api::sign_out().await {
                    Ok(()) => dispatch.dispatch(Action::SignedOut),
                    Err(MeError::Unreachable) => dispatch.dispatch(Action::Error(Some(
                        "You are offline. Signing out needs a connection, so that the session \
                         also ends on the server."
                            .to_owned(),
                    ))),
                    Err(e) => {
                        dispatch.dispatch(Action::Error(Some(format!("Signing out failed: {e}."))))
                    }
                }
            });
        })
    };

    let on_switch = {
        let dispatch = state.dispatcher();
        Callback::from(move |e: Event| {
            let id = e.target_unchecked_into::<HtmlSelectElement>().value();
            dispatch.dispatch(Action::Select(id));
        })
    };

    let read_only = state.read_only();
    let edit = {
        let doc = doc.clone();
        let dispatch = state.dispatcher();
        Callback::from(move |change: Box<EditFn>| {
            if read_only {
                return;
            }
            let Some(handle) = (*doc).clone() else { return };
            match handle.with_document(change) {
                Ok(()) => dispatch.dispatch(Action::Error(None)),
                Err(e) => dispatch.dispatch(Action::Error(Some(e.to_string()))),
            }
        })
    };

    let pipelines: Vec<_> = me.pipelines().cloned().collect();
    let ended = state.session_ended;
    let screen = state.screen;
    // The tier tab is the partner's tier badge.
    let tier = state.view.as_ref().map(|v| tier_name(&v.tier));
    let tabs = [
        (Screen::Pipeline, "Pipeline"),
        (Screen::Earnings, "Earnings"),
        (Screen::Tier, tier.unwrap_or("Tier")),
    ];
    let change = {
        let dispatch = state.dispatcher();
        let account = me.account_id.clone();
        Callback::from(move |change: Change| {
            let (dispatch, account_id) = (dispatch.clone(), account.clone());
            let since = js_sys::Date::now();
            forms::send(change, move |outcome| {
                if let Err(ApiError::SignedOut) = outcome {
                    dispatch.dispatch(Action::SessionEnded { account_id, since });
                }
                dispatch.dispatch(Action::Outcome(outcome.map_err(|e| e.to_string())))
            })
        })
    };
    let outcome = forms::outcome(state.outcome.as_ref());
    let main = match (screen, &state.view) {
        (Screen::Pipeline, _) => body(&state, &me, read_only, state.dispatcher(), edit),
        (_, None) => earnings::not_here(state.view_missing || me.account_view().is_none()),
        (Screen::Tier, Some(view)) => earnings::tier(view),
        (Screen::Statement(id), Some(view)) => earnings::statement(view, id),
        (Screen::Earnings, Some(view)) => earnings::earnings(view, &change, outcome),
    };
    html! {
        <>
            <div class="app" inert={ended.then_some(AttrValue::Static(""))} aria-hidden={ended.then_some(AttrValue::Static("true"))}>
                <header class="top">
                    <div class="title">
                        <h1>{ screen.title() }</h1>
                        <span id="account" class="account" title={me.email.clone()}>{ &me.name }</span>
                        <button id="sign-out" class="quiet" onclick={on_sign_out}>{ "Sign out" }</button>
                    </div>
                    <nav class="tabs no-print">
                        { for tabs.into_iter().map(|(to, label)| html! {
                            <a class="tab" href={to.hash()} aria-current={(to == screen).then_some("page")}>{ label }</a>
                        }) }
                    </nav>
                    if pipelines.len() > 1 && screen == Screen::Pipeline {
                        <select id="pipeline-switch" aria-label="Pipeline shown" onchange={on_switch}>
                            { for pipelines.iter().map(|d| html! {
                                <option value={d.doc_id.clone()} selected={state.selected.as_deref() == Some(d.doc_id.as_str())}>
                                    { match d.access {
                                        Access::ReadWrite => "My pipeline".to_owned(),
                                        Access::ReadOnly => format!("{} (read-only)", d.partner_name),
                                    } }
                                </option>
                            }) }
                        </select>
                    }
                    <SyncBadge connection={state.connection} pending={state.pending} signed_out={ended} />
                </header>
                if let Some(error) = &state.error {
                    <p class="error" role="alert">{ error }</p>
                }
                { main }
            </div>
            if ended {
                <div id="session-ended" class="overlay" role="dialog" aria-modal="true" aria-labelledby="signin-title">
                    <SignIn
                        title="Your session ended — sign in again"
                        note={waiting_note(state.pending)}
                        email={me.email.clone()}
                        on_signed_in={on_signed_in}
                    />
                </div>
            }
        </>
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

fn body(
    state: &AppState,
    me: &Me,
    read_only: bool,
    dispatch: UseReducerDispatcher<AppState>,
    edit: Callback<Box<EditFn>>,
) -> Html {
    let Some(doc_id) = &state.selected else {
        return html! { <p class="hint">{ "This account has no pipeline to show here." }</p> };
    };
    if state.pipeline_missing {
        return html! { <p class="hint">{ "This pipeline has not been downloaded to this device yet. It will appear once you are online." }</p> };
    }
    let Some(pipeline) = &state.pipeline else {
        return html! { <p class="hint">{ "Opening pipeline…" }</p> };
    };
    let owner = me
        .document(doc_id)
        .map(|d| d.partner_name.clone())
        .unwrap_or_default();
    let open_form = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Form(true)))
    };
    html! {
        <main>
            if read_only {
                <p class="read-only">{ format!("{owner}'s pipeline, read-only.") }</p>
            } else if state.form_open {
                <NewLead edit={edit.clone()} dispatch={dispatch} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            { for Stage::ALL.iter().map(|stage| {
                let leads: Vec<Lead> = pipeline.in_stage(*stage).cloned().collect();
                html! {
                    <section class="stage" data-stage={stage.as_str()}>
                        <h2>{ stage_label(*stage) }<span class="count">{ leads.len() }</span></h2>
                        { for leads.into_iter().map(|lead| {
                            // Deals are in the partner's own account view only.
                            let deal = state.view.as_ref().filter(|_| !read_only).and_then(|v| v.deal(&lead.id)).cloned();
                            html! {
                                <LeadCard key={lead.id.to_string()} lead={lead.clone()} read_only={read_only} edit={edit.clone()} deal={deal} />
                            }
                        }) }
                    </section>
                }
            }) }
        </main>
    }
}

type EditFn = dyn FnOnce(&mut automerge::Automerge) -> Result<(), model::ModelError>;

pub(crate) fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::New => "New",
        Stage::Contacted => "Contacted",
        Stage::Qualified => "Qualified",
        Stage::Proposal => "Proposal",
        Stage::Won => "Won",
        Stage::Lost => "Lost",
    }
}

#[derive(Properties, PartialEq)]
struct BadgeProps {
    connection: Option<Connection>,
    pending: usize,
    signed_out: bool,
}

#[function_component(SyncBadge)]
fn sync_badge(props: &BadgeProps) -> Html {
    let (class, label) = match props.connection {
        _ if props.signed_out => ("signed-out", "Signed out"),
        Some(Connection::Online) => ("online", "Online"),
        Some(Connection::Offline) => ("offline", "Offline"),
        _ => ("connecting", "Connecting"),
    };
    let waiting = match props.pending {
        0 => "all changes synced".to_owned(),
        1 => "1 change waiting".to_owned(),
        n => format!("{n} changes waiting"),
    };
    html! {
        <div id="sync-status" class={classes!("badge", class)} data-connection={class} data-pending={props.pending.to_string()} aria-live="polite">
            <span class="dot"></span>{ format!("{label} · {waiting}") }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct LeadProps {
    lead: Lead,
    read_only: bool,
    edit: Callback<Box<EditFn>>,
    /// What the back-office made of it, once marked won.
    deal: Option<DealOutcome>,
}

#[function_component(LeadCard)]
fn lead_card(props: &LeadProps) -> Html {
    let lead = &props.lead;
    // A deal is submitted at the lead's amount, which follows the lead until
    // the back-office decides: editable until then, and asked for before a
    // lead with none is marked won. `Some(won)`: the amount form is open,
    // and saving it also marks the lead won.
    let amount_form = use_state(|| None::<bool>);
    let amount = use_node_ref();
    let error = use_state(|| None::<String>);
    let on_move = {
        let (id, edit, amount_form) = (lead.id.clone(), props.edit.clone(), amount_form.clone());
        let has_amount = lead.value.minor > 0;
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            match Stage::parse(&value) {
                Ok(Stage::Won) if !has_amount => amount_form.set(Some(true)),
                Ok(stage) => {
                    let id = id.clone();
                    edit.emit(Box::new(move |doc| {
                        PipelineDoc::move_lead(doc, &id, stage, clock::now())
                    }));
                }
                Err(_) => {}
            }
        })
    };
    let on_amount = {
        let (lead, edit, amount_form, amount, error) = (
            lead.clone(),
            props.edit.clone(),
            amount_form.clone(),
            amount.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let won = *amount_form == Some(true);
            let typed = amount
                .cast::<HtmlInputElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            // The reader's way of writing numbers, as the card shows the
            // amount; a negative amount is refused here as in a new lead.
            let value = match show::typed_amount(&typed, lead.value.currency) {
                Ok(value) if value.minor > 0 || !won => value,
                Ok(_) => return error.set(Some("A won deal needs its amount.".to_owned())),
                Err(e) => return error.set(Some(e.to_string())),
            };
            let lead = lead.clone();
            edit.emit(Box::new(move |doc| {
                if value != lead.value {
                    let draft = LeadDraft {
                        value,
                        contact_name: lead.contact_name,
                        company: lead.company,
                        email: lead.email,
                        phone: lead.phone,
                        notes: lead.notes,
                    };
                    PipelineDoc::edit_lead(doc, &lead.id, &draft, clock::now())?;
                }
                if won {
                    PipelineDoc::move_lead(doc, &lead.id, Stage::Won, clock::now())?;
                }
                Ok(())
            }));
            error.set(None);
            amount_form.set(None);
        })
    };
    let show_form = |to: Option<bool>| {
        let amount_form = amount_form.clone();
        Callback::from(move |_| amount_form.set(to))
    };
    let decided = props
        .deal
        .as_ref()
        .is_some_and(|d| matches!(d.status, DealStatus::Approved | DealStatus::Rejected));
    // An approved deal is paid on: its lead stays won. A device that did not
    // know may have moved it anyway (the server keeps the deal); offer only
    // the way back.
    let settled = props.deal.as_ref().is_some_and(DealOutcome::holds_stage);
    let back_to_won = {
        let (id, edit) = (lead.id.clone(), props.edit.clone());
        Callback::from(move |_: MouseEvent| {
            let id = id.clone();
            edit.emit(Box::new(move |doc| {
                PipelineDoc::move_lead(doc, &id, Stage::Won, clock::now())
            }));
        })
    };
    html! {
        <article class="lead" data-lead={lead.id.to_string()}>
            <div class="lead-head">
                <strong class="contact">{ &lead.contact_name }</strong>
                <span class="value">{ show::amount(lead.value) }</span>
            </div>
            if !lead.company.is_empty() { <div class="company">{ &lead.company }</div> }
            if !lead.notes.is_empty() { <p class="notes">{ &lead.notes }</p> }
            if let Some(deal) = &props.deal { { earnings::deal_note(deal) } }
            if let Some(won) = *amount_form {
                <form class="amount-form" onsubmit={on_amount} novalidate=true>
                    <label>{ format!("Deal amount ({})", lead.value.currency) }
                        <input name="amount" inputmode="decimal" ref={amount} value={show::amount_field(lead.value)} />
                    </label>
                    <p class="hint">{ "A won lead goes to approval at this amount; your commission is a share of it." }</p>
                    if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
                    <div class="row">
                        <button type="button" onclick={show_form(None)}>{ "Cancel" }</button>
                        <button type="submit" class="primary">{ if won { "Mark won" } else { "Save amount" } }</button>
                    </div>
                </form>
            } else {
                <div class="move">
                    <label class="move">{ "Stage " }
                        <select class="move-stage" onchange={on_move} disabled={props.read_only || settled}>
                            { for Stage::ALL.iter().map(|s| html! {
                                <option value={s.as_str()} selected={*s == lead.stage}>{ stage_label(*s) }</option>
                            }) }
                        </select>
                    </label>
                    if !props.read_only && settled && lead.stage != Stage::Won {
                        <button type="button" class="quiet back-to-won" onclick={back_to_won}>{ "Back to Won" }</button>
                    }
                    if !props.read_only && !decided {
                        <button type="button" class="quiet edit-amount" onclick={show_form(Some(false))}>{ "Edit amount" }</button>
                    }
                </div>
            }
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct FormProps {
    edit: Callback<Box<EditFn>>,
    dispatch: UseReducerDispatcher<AppState>,
}

#[function_component(NewLead)]
fn new_lead(props: &FormProps) -> Html {
    let refs: [NodeRef; 6] = Default::default();
    let notes = use_node_ref();
    let error = use_state(|| None::<String>);
    let on_submit = {
        let refs = refs.clone();
        let notes = notes.clone();
        let error = error.clone();
        let edit = props.edit.clone();
        let dispatch = props.dispatch.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = |i: usize| {
                refs[i]
                    .cast::<HtmlInputElement>()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let currency = refs[5]
                .cast::<HtmlSelectElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            let notes = notes
                .cast::<HtmlTextAreaElement>()
                .map(|el| el.value())
                .unwrap_or_default();
            let parsed = Currency::parse(&currency)
                .and_then(|c| {
                    let value = input(4);
                    if value.trim().is_empty() {
                        Ok(Money::new(0, c))
                    } else {
                        show::typed_amount(&value, c)
                    }
                })
                .and_then(|value| {
                    LeadDraft::parse(&input(0), &input(1), &input(2), &input(3), value, &notes)
                });
            match parsed {
                Ok(draft) => {
                    let id = match LeadId::parse(&uuid::Uuid::new_v4().simple().to_string()) {
                        Ok(id) => id,
                        Err(e) => return error.set(Some(e.to_string())),
                    };
                    edit.emit(Box::new(move |doc| {
                        PipelineDoc::add_lead(doc, &id, &draft, clock::now())
                    }));
                    dispatch.dispatch(Action::Form(false));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        })
    };
    let cancel = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Form(false)))
    };
    html! {
        <form id="lead-form" class="card" onsubmit={on_submit} novalidate=true>
            <h2>{ "New lead" }</h2>
            <label>{ "Contact name" }<input name="contact_name" ref={refs[0].clone()} required=true autocomplete="name" /></label>
            <label>{ "Company" }<input name="company" ref={refs[1].clone()} autocomplete="organization" /></label>
            <label>{ "Email" }<input name="email" type="email" ref={refs[2].clone()} autocomplete="email" /></label>
            <label>{ "Phone" }<input name="phone" type="tel" ref={refs[3].clone()} autocomplete="tel" /></label>
            <div class="row">
                <label>{ "Estimated value" }<input name="value" inputmode="decimal" ref={refs[4].clone()} placeholder={show::amount_field(Money::new(150_000, Currency::parse("USD").expect("an ISO 4217 code")))} /></label>
                <label>{ "Currency" }
                    <select name="currency" ref={refs[5].clone()}>
                        { for CURRENCIES.iter().map(|c| html! { <option value={*c} selected={*c == "USD"}>{ *c }</option> }) }
                    </select>
                </label>
            </div>
            <label>{ "Notes" }<textarea name="notes" ref={notes} rows="3"></textarea></label>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <div class="row">
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
                <button type="submit" class="primary">{ "Save lead" }</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use web_common::api::{MyDocument, Role};

    fn doc(id: &str, partner: &str, access: Access) -> MyDocument {
        MyDocument {
            doc_id: id.to_owned(),
            kind: "pipeline".to_owned(),
            partner_id: format!("p-{}", partner.to_lowercase()),
            partner_name: partner.to_owned(),
            access,
        }
    }

    fn me(account: &str, documents: Vec<MyDocument>) -> Me {
        Me {
            account_id: account.to_owned(),
            email: format!("{account}@example.test"),
            name: account.to_owned(),
            company: String::new(),
            role: Role::Partner,
            documents,
        }
    }

    fn ben() -> Me {
        me("a-ben", vec![doc("d-ben", "Ben", Access::ReadWrite)])
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            partner_id: model::PartnerId::parse("p-ben").unwrap(),
            leads: Vec::new(),
            unreadable: Vec::new(),
        }
    }

    fn reduce(state: AppState, actions: Vec<Action>) -> AppState {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        (*state).clone()
    }

    fn shown(state: &AppState) -> AppState {
        // Ben's pipeline is on screen, with changes waiting.
        reduce(
            state.clone(),
            vec![Action::Pipeline {
                doc_id: "d-ben".to_owned(),
                pipeline: pipeline(),
                pending: 2,
            }],
        )
    }

    #[test]
    fn a_session_that_ends_keeps_what_is_on_screen_until_the_same_partner_is_back() {
        let signed_in = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::Form(true)],
        );
        let ended = reduce(
            signed_in.clone(),
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_000.0,
            }],
        );
        assert!(ended.session_ended);
        assert_eq!(ended.pipeline, signed_in.pipeline);
        assert_eq!(ended.pending, 2);
        assert_eq!(ended.selected.as_deref(), Some("d-ben"));
        assert!(ended.form_open, "a lead being typed is kept");

        let back = reduce(
            ended,
            vec![Action::SignedIn {
                me: ben(),
                at: 3_000.0,
            }],
        );
        assert!(!back.session_ended);
        assert_eq!(
            back.pipeline, signed_in.pipeline,
            "same engine, same document"
        );
        assert_eq!(back.pending, 2);
        assert!(back.form_open);

        // A 401 to a question asked before that sign-in is about the old
        // session.
        let stale = reduce(
            back,
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_500.0,
            }],
        );
        assert!(!stale.session_ended);
    }

    #[test]
    fn another_account_starts_from_nothing_of_the_previous_ones() {
        let ended = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::SessionEnded {
                account_id: "a-ben".to_owned(),
                since: 2_000.0,
            }],
        );
        let cleo = me("a-cleo", vec![doc("d-cleo", "Cleo", Access::ReadWrite)]);
        let next = reduce(
            ended,
            vec![
                Action::SignedIn {
                    me: cleo,
                    at: 3_000.0,
                },
                // Late news from Ben's engine.
                Action::SessionEnded {
                    account_id: "a-ben".to_owned(),
                    since: 4_000.0,
                },
                Action::Pipeline {
                    doc_id: "d-ben".to_owned(),
                    pipeline: pipeline(),
                    pending: 2,
                },
            ],
        );
        assert_eq!(next.account_id(), Some("a-cleo"));
        assert!(!next.session_ended);
        assert_eq!(next.selected.as_deref(), Some("d-cleo"));
        assert_eq!(next.pipeline, None);
        assert_eq!(next.pending, 0);
    }

    #[test]
    fn the_browsers_session_passing_to_another_account_ends_this_pages() {
        let state = AppState::signed_in(ben(), false, 1_000.0);
        let cleo = me("a-cleo", vec![]);
        let next = reduce(state, vec![Action::MeRefreshed(cleo)]);
        assert!(next.session_ended);
        assert_eq!(next.account_id(), Some("a-ben"));
    }

    #[test]
    fn a_team_leader_sees_the_team_read_only() {
        let ana = me(
            "a-ana",
            vec![
                doc("d-ana", "Ana", Access::ReadWrite),
                doc("d-ben", "Ben", Access::ReadOnly),
            ],
        );
        let state = AppState::signed_in(ana, false, 1_000.0);
        assert_eq!(state.selected.as_deref(), Some("d-ana"));
        assert!(!state.read_only());
        let state = reduce(state, vec![Action::Select("d-ben".to_owned())]);
        assert!(state.read_only());
        // Ana's team changes and Ben leaves it: back to her own pipeline.
        let state = reduce(
            state,
            vec![Action::MeRefreshed(me(
                "a-ana",
                vec![doc("d-ana", "Ana", Access::ReadWrite)],
            ))],
        );
        assert_eq!(state.selected.as_deref(), Some("d-ana"));
    }

    #[test]
    fn screens_are_addressed_by_the_hash() {
        for screen in [
            Screen::Pipeline,
            Screen::Earnings,
            Screen::Tier,
            Screen::Statement(12),
        ] {
            assert_eq!(Screen::from_hash(&screen.hash()), screen);
        }
        assert_eq!(Screen::from_hash(""), Screen::Pipeline);
        assert_eq!(Screen::from_hash("#statement-x"), Screen::Pipeline);
        assert_eq!(Screen::from_hash("#approvals"), Screen::Pipeline);
    }

    #[test]
    fn an_admin_is_sent_to_the_back_office() {
        let admin = Me {
            role: Role::Admin,
            ..me("a-admin", vec![])
        };
        assert!(AppState::signed_in(admin, false, 0.0).admin());
        assert!(!AppState::signed_in(ben(), false, 0.0).admin());
    }

    #[test]
    fn signing_out_forgets_the_account() {
        let state = reduce(
            shown(&AppState::signed_in(ben(), false, 1_000.0)),
            vec![Action::SignedOut],
        );
        assert_eq!(state, AppState::default());
    }
}
