//! The app: one reducer holds the UI state; components render it; effects at
//! the edge (the engine, fetch, browser events) dispatch actions.

use std::rc::Rc;

use futures::StreamExt;
use model::{Currency, Lead, LeadDraft, LeadId, Money, Pipeline, PipelineDoc, Stage};
use samod::DocHandle;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, closure::Closure};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::{
    clock,
    engine::{self, Engine},
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartnerEntry {
    pub id: String,
    pub name: String,
    pub company: String,
    pub pipeline_doc: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AppState {
    partners: Vec<PartnerEntry>,
    selected: Option<PartnerEntry>,
    pipeline: Option<Pipeline>,
    pipeline_missing: bool,
    connection: Option<Connection>,
    pending: usize,
    error: Option<String>,
    form_open: bool,
}

pub enum Action {
    Partners(Vec<PartnerEntry>),
    Select(PartnerEntry),
    Pipeline {
        doc_id: String,
        pipeline: Pipeline,
        pending: usize,
    },
    PipelineMissing {
        doc_id: String,
    },
    Connection(Connection),
    Pending(usize),
    Error(Option<String>),
    Form(bool),
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        let current_doc = self.selected.as_ref().map(|p| p.pipeline_doc.as_str());
        match action {
            Action::Partners(partners) => next.partners = partners,
            Action::Select(partner) => {
                next.selected = Some(partner);
                next.pipeline = None;
                next.pipeline_missing = false;
                next.form_open = false;
            }
            // A late update from the previously selected partner is dropped.
            Action::Pipeline {
                doc_id,
                pipeline,
                pending,
            } => {
                if current_doc == Some(doc_id.as_str()) {
                    next.pipeline = Some(pipeline);
                    next.pending = pending;
                    next.pipeline_missing = false;
                }
            }
            Action::PipelineMissing { doc_id } => {
                if current_doc == Some(doc_id.as_str()) {
                    next.pipeline_missing = true;
                }
            }
            Action::Connection(c) => next.connection = Some(c),
            Action::Pending(n) => next.pending = n,
            Action::Error(e) => next.error = e,
            Action::Form(open) => next.form_open = open,
        }
        Rc::new(next)
    }
}

/// The engine as component state: equal when it is the same engine.
#[derive(Clone)]
struct EngineRef(Rc<Engine>);

impl PartialEq for EngineRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

const PARTNERS_CACHE: &str = "partners";
const SELECTED: &str = "selected-partner";

async fn fetch_partners() -> Result<Vec<PartnerEntry>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str("/api/partners"))
        .await
        .map_err(|_| "offline")?
        .dyn_into()
        .map_err(|_| "not a response")?;
    if !response.ok() {
        return Err(format!("server answered {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|_| "no body")?)
        .await
        .map_err(|_| "body failed")?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Follows one document: renders it on every change (local or remote) and
/// keeps the count of changes the server has not confirmed.
fn follow(handle: DocHandle, dispatch: UseReducerDispatcher<AppState>) {
    let doc_id = handle.document_id().to_string();
    let publish = {
        let handle = handle.clone();
        let dispatch = dispatch.clone();
        let doc_id = doc_id.clone();
        move || match handle.with_document(|doc| PipelineDoc::read(doc)) {
            Ok(pipeline) => dispatch.dispatch(Action::Pipeline {
                doc_id: doc_id.clone(),
                pipeline,
                pending: engine::pending_changes(&handle),
            }),
            Err(e) => dispatch.dispatch(Action::Error(Some(format!("cannot read pipeline: {e}")))),
        }
    };
    publish();
    {
        let publish = publish.clone();
        let mut changes = handle.changes();
        spawn_local(async move {
            while changes.next().await.is_some() {
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
                engine::remember_synced(&doc_id, shared);
            }
        }
        dispatch.dispatch(Action::Pending(engine::pending_changes(&handle)));
    };
    record(&current);
    spawn_local(async move {
        while let Some(states) = updates.next().await {
            record(&states);
        }
    });
}

fn on_window_event(name: &str, f: impl FnMut() + 'static) {
    if let Some(window) = web_sys::window() {
        let closure = Closure::<dyn FnMut()>::new(f);
        let _ = window.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        // Listeners live as long as the page.
        closure.forget();
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(AppState::default);
    let engine = use_state(|| None::<EngineRef>);
    let doc = use_state(|| None::<DocHandle>);

    // Start the engine, learn the partners, follow the connection.
    {
        let dispatch = state.dispatcher();
        let engine = engine.clone();
        use_effect_with((), move |_| {
            let cached: Vec<PartnerEntry> = engine::local_get(PARTNERS_CACHE)
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            let remembered = engine::local_get(SELECTED);
            if let Some(p) = cached.iter().find(|p| Some(&p.id) == remembered.as_ref()) {
                dispatch.dispatch(Action::Select(p.clone()));
            }
            dispatch.dispatch(Action::Partners(cached.clone()));
            {
                let dispatch = dispatch.clone();
                spawn_local(async move {
                    if let Ok(partners) = fetch_partners().await {
                        if let Ok(json) = serde_json::to_string(&partners) {
                            engine::local_set(PARTNERS_CACHE, &json);
                        }
                        if cached.is_empty()
                            && let Some(p) =
                                partners.iter().find(|p| Some(&p.id) == remembered.as_ref())
                        {
                            dispatch.dispatch(Action::Select(p.clone()));
                        }
                        dispatch.dispatch(Action::Partners(partners));
                    }
                });
            }
            spawn_local(async move {
                match Engine::start().await {
                    Ok(started) => {
                        engine.set(Some(EngineRef(started.clone())));
                        dispatch.dispatch(Action::Connection(Connection::Connecting));
                        {
                            let started = started.clone();
                            on_window_event("online", move || started.redial_if_disconnected());
                        }
                        // The dialer is replaced on redial, so rather than
                        // following one dialer's events, look at whichever is
                        // current a few times a second.
                        let mut shown = None;
                        loop {
                            let now = if started.is_connected() {
                                Connection::Online
                            } else {
                                Connection::Offline
                            };
                            if shown != Some(now) {
                                shown = Some(now);
                                dispatch.dispatch(Action::Connection(now));
                            }
                            gloo_timers::future::sleep(std::time::Duration::from_millis(250)).await;
                        }
                    }
                    Err(e) => dispatch.dispatch(Action::Error(Some(format!(
                        "local storage is unavailable: {e}"
                    )))),
                }
            });
            || ()
        });
    }

    // Open the selected partner's pipeline.
    {
        let dispatch = state.dispatcher();
        let doc = doc.clone();
        let selected = state.selected.clone();
        use_effect_with((engine.clone(), selected), move |(engine, selected)| {
            if let (Some(EngineRef(engine)), Some(partner)) = ((**engine).clone(), selected.clone())
            {
                engine::local_set(SELECTED, &partner.id);
                spawn_local(async move {
                    match engine.open(&partner.pipeline_doc).await {
                        Ok(Some(handle)) => {
                            doc.set(Some(handle.clone()));
                            follow(handle, dispatch);
                        }
                        Ok(None) => dispatch.dispatch(Action::PipelineMissing {
                            doc_id: partner.pipeline_doc.clone(),
                        }),
                        Err(e) => dispatch.dispatch(Action::Error(Some(e))),
                    }
                });
            }
            || ()
        });
    }

    let on_pick = {
        let dispatch = state.dispatcher();
        let partners = state.partners.clone();
        Callback::from(move |e: Event| {
            let id = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(p) = partners.iter().find(|p| p.id == id) {
                dispatch.dispatch(Action::Select(p.clone()));
            }
        })
    };

    let edit = {
        let doc = doc.clone();
        let dispatch = state.dispatcher();
        Callback::from(move |change: Box<EditFn>| {
            let Some(handle) = (*doc).clone() else { return };
            match handle.with_document(change) {
                Ok(()) => dispatch.dispatch(Action::Error(None)),
                Err(e) => dispatch.dispatch(Action::Error(Some(e.to_string()))),
            }
        })
    };

    html! {
        <div class="app">
            <header class="top">
                <div class="title">
                    <h1>{ "Pipeline" }</h1>
                    <select id="partner" aria-label="Partner" onchange={on_pick}>
                        <option value="" selected={state.selected.is_none()} disabled=true>{ "Choose a partner" }</option>
                        { for state.partners.iter().map(|p| html! {
                            <option value={p.id.clone()} selected={state.selected.as_ref().map(|s| &s.id) == Some(&p.id)}>
                                { format!("{} · {}", p.name, p.company) }
                            </option>
                        }) }
                    </select>
                </div>
                <SyncBadge connection={state.connection} pending={state.pending} />
            </header>
            if let Some(error) = &state.error {
                <p class="error" role="alert">{ error }</p>
            }
            { body(&state, edit) }
        </div>
    }
}

fn body(state: &UseReducerHandle<AppState>, edit: Callback<Box<EditFn>>) -> Html {
    if state.selected.is_none() {
        return html! { <p class="hint">{ "Choose the partner you are signing in as." }</p> };
    }
    if state.pipeline_missing {
        return html! { <p class="hint">{ "This pipeline has not been downloaded to this device yet. Connect once to get it." }</p> };
    }
    let Some(pipeline) = &state.pipeline else {
        return html! { <p class="hint">{ "Opening pipeline…" }</p> };
    };
    let dispatch = state.dispatcher();
    let open_form = Callback::from(move |_| dispatch.dispatch(Action::Form(true)));
    html! {
        <main>
            if state.form_open {
                <NewLead edit={edit.clone()} dispatch={state.dispatcher()} />
            } else {
                <button id="new-lead" class="primary" onclick={open_form}>{ "+ New lead" }</button>
            }
            { for Stage::ALL.iter().map(|stage| {
                let leads: Vec<Lead> = pipeline.in_stage(*stage).cloned().collect();
                html! {
                    <section class="stage" data-stage={stage.as_str()}>
                        <h2>{ stage_label(*stage) }<span class="count">{ leads.len() }</span></h2>
                        { for leads.into_iter().map(|lead| html! {
                            <LeadCard key={lead.id.to_string()} lead={lead.clone()} edit={edit.clone()} />
                        }) }
                    </section>
                }
            }) }
        </main>
    }
}

type EditFn = dyn FnOnce(&mut automerge::Automerge) -> Result<(), model::ModelError>;

fn stage_label(stage: Stage) -> &'static str {
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
}

#[function_component(SyncBadge)]
fn sync_badge(props: &BadgeProps) -> Html {
    let (class, label) = match props.connection {
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
    edit: Callback<Box<EditFn>>,
}

#[function_component(LeadCard)]
fn lead_card(props: &LeadProps) -> Html {
    let lead = &props.lead;
    let on_move = {
        let id = lead.id.clone();
        let edit = props.edit.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Ok(stage) = Stage::parse(&value) {
                let id = id.clone();
                edit.emit(Box::new(move |doc| {
                    PipelineDoc::move_lead(doc, &id, stage, clock::now())
                }));
            }
        })
    };
    html! {
        <article class="lead" data-lead={lead.id.to_string()}>
            <div class="lead-head">
                <strong class="contact">{ &lead.contact_name }</strong>
                <span class="value">{ lead.value.to_string() }</span>
            </div>
            if !lead.company.is_empty() { <div class="company">{ &lead.company }</div> }
            if !lead.notes.is_empty() { <p class="notes">{ &lead.notes }</p> }
            <label class="move">{ "Stage " }
                <select class="move-stage" onchange={on_move}>
                    { for Stage::ALL.iter().map(|s| html! {
                        <option value={s.as_str()} selected={*s == lead.stage}>{ stage_label(*s) }</option>
                    }) }
                </select>
            </label>
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
                        Money::parse_decimal(&value, c)
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
                <label>{ "Estimated value" }<input name="value" inputmode="decimal" ref={refs[4].clone()} placeholder="1500.00" /></label>
                <label>{ "Currency" }
                    <select name="currency" ref={refs[5].clone()}>
                        { for ["USD", "EUR", "GBP", "BRL", "JPY"].iter().map(|c| html! { <option value={*c} selected={*c == "USD"}>{ *c }</option> }) }
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
