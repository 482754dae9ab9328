//! The app shell: who is signed in, the sync engine, the router, the
//! header (account, sign-out, tabs, sync badge); it composes the product
//! modules and is the only part that knows them all. State lives in one
//! reducer (`state`); components render it; effects at the edge (the
//! engine, fetch, browser events: `session`, `connection`, the modules'
//! document hooks) dispatch actions.
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
//! Screens are addressed by the location's hash (`screen`). A partner has a
//! pipeline, earnings and a tier (from the account view, see `earnings`).
//! An admin has no pipeline: signing in here takes them to the back-office,
//! a bundle of its own at `/admin/` (see `backoffice/`).

mod connection;
mod screen;
mod session;
mod session_ended;
mod state;
mod sync_badge;
mod tabs;

use std::collections::HashMap;

use model::{AccountView, Inbox, LeadId};
use web_common::{api::Me, listener::use_hash_change, show::tier_name, sign_out::sign_out_button};
use yew::prelude::*;

use self::{
    screen::Screen,
    session_ended::session_ended,
    state::{Action, AppState},
    sync_badge::SyncBadge,
    tabs::tabs,
};
use crate::{
    chat, dashboard,
    document::{DocEvent, Followed, use_document},
    earnings, engine, leaderboard, notifications, pipeline, profile, referrals, resources, team,
    training,
};

/// Where admins work: the back-office's own bundle.
const BACKOFFICE: &str = "/admin/";

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(session::cached_state);
    let dispatch = state.dispatcher();
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
    session::use_remembered(state.me.clone(), state.session_ended);
    // Opened with a remembered account: is its session still alive?
    session::use_first_check(account.clone(), state.session_ended, dispatch.clone());
    // The engine starts once the screen has drawn what it can without it
    // (the pipeline's last reading kept on the device, or the word that
    // there is none): starting it (its module compiled, every document
    // loaded) takes a phone's cores for a while, and would hold up that
    // first drawing. Once started for an account, it stays.
    let engine_for = use_mut_ref(|| None::<String>);
    if state.pipeline.looked_in_cache || state.pipeline.selected.is_none() {
        *engine_for.borrow_mut() = account.clone();
    }
    let engine_account = account
        .clone()
        .filter(|a| engine_for.borrow().as_deref() == Some(a.as_str()));
    let engine = connection::use_engine(engine_account, dispatch.clone(), last_probe.clone());
    connection::use_connection(engine.clone(), dispatch.clone(), last_probe);
    connection::use_dialing(engine.clone(), state.session_ended);

    // The pipeline on screen, followed on every screen: the badge counts
    // its changes waiting.
    let read_only = state.read_only();
    let edit = pipeline::use_pipeline(
        engine.clone(),
        account.clone(),
        state.pipeline.selected.clone(),
        read_only,
        to_state(&dispatch, Action::Pipeline),
        to_state(&dispatch, Action::Error),
    );

    // The account view: the tier badge, the deals on lead cards and the
    // money screens all read it.
    let view_doc = state
        .me
        .as_ref()
        .and_then(|me| me.account_view())
        .map(|d| d.doc_id.clone());
    let on_view = {
        let dispatch = dispatch.clone();
        Callback::from(
            move |followed: Followed<AccountView>| match followed.event {
                DocEvent::Read {
                    value: Ok(view), ..
                } => dispatch.dispatch(Action::View(view)),
                // Not written yet, or by a newer server: what was shown stays.
                DocEvent::Read { value: Err(e), .. } => {
                    web_sys::console::warn_1(&format!("account view: {e}").into())
                }
                DocEvent::Missing => dispatch.dispatch(Action::ViewMissing),
                // Nothing is written into it here.
                DocEvent::Pending(_)
                | DocEvent::Failed(_)
                | DocEvent::Written
                | DocEvent::Queued
                | DocEvent::Refused(_) => {}
            },
        )
    };
    use_document(engine.clone(), view_doc, on_view);

    // The published tracks and the partner's training record: the tier
    // and the dashboard count modules done, on every screen.
    let catalogs = state
        .me
        .as_ref()
        .map(|me| me.catalogs.clone())
        .unwrap_or_default();
    let record_doc = state
        .me
        .as_ref()
        .and_then(|me| me.training())
        .map(|d| d.doc_id.clone());
    let on_training_edit = training::use_training(
        engine.clone(),
        catalogs,
        record_doc,
        to_state(&dispatch, Action::Training),
    );

    // The channels and their latest messages, followed on every screen so
    // that what arrives while elsewhere is there when the chat opens.
    let online = state.connection == Some(state::Connection::Online);
    let chat_senders = chat::use_chat(
        engine.clone(),
        account.clone(),
        online,
        state.chat.wanted(),
        state
            .me
            .as_ref()
            .and_then(|me| me.reads())
            .map(|d| d.doc_id.clone()),
        to_state(&dispatch, Action::Chat),
    );

    // What the partner did with resources offline reaches the server once
    // online, whatever the screen.
    resources::use_event_sender(account.clone(), online);

    // Assigned modules download by themselves on Wi-Fi.
    let assigned_to_do: Vec<(String, String)> = state
        .view
        .as_ref()
        .map(|v| {
            v.assignments
                .iter()
                .filter(|a| {
                    !v.modules_done
                        .iter()
                        .any(|m| m.track == a.track && m.module == a.module)
                })
                .map(|a| (a.track.clone(), a.module.clone()))
                .collect()
        })
        .unwrap_or_default();
    training::use_assigned_downloads(&state.training, assigned_to_do);

    // The inbox: the bell counts on every screen.
    let inbox_doc = state
        .me
        .as_ref()
        .and_then(|me| me.inbox())
        .map(|d| d.doc_id.clone());
    let on_inbox = {
        let dispatch = dispatch.clone();
        let account = account.clone();
        Callback::from(move |followed: Followed<Inbox>| {
            if let DocEvent::Read {
                value: Ok(inbox), ..
            } = followed.event
            {
                let seen = account.as_deref().map_or(0, notifications::seen_by);
                dispatch.dispatch(Action::Notifications(notifications::Action::Read {
                    inbox,
                    seen,
                }));
            }
        })
    };
    let links_engine = engine.clone();
    use_document(engine, inbox_doc, on_inbox);
    notifications::use_push(account.clone());
    // On the notifications page, what is listed is seen; what was new when
    // it opened stays marked while it is on screen.
    let on_notices = matches!(state.screen, Screen::Notifications(_));
    let seen_before = use_mut_ref(|| None::<i64>);
    if !on_notices {
        *seen_before.borrow_mut() = None;
    } else if seen_before.borrow().is_none() && state.notifications.inbox.is_some() {
        // Once the inbox is read: its reading brings the mark this device
        // kept.
        *seen_before.borrow_mut() = Some(state.notifications.seen);
    }
    {
        let newest = on_notices.then(|| state.notifications.newest()).flatten();
        let (dispatch, account) = (dispatch.clone(), account.clone());
        use_effect_with(newest, move |newest| {
            if let (Some(id), Some(account)) = (*newest, account) {
                notifications::mark_seen(&account, id);
                dispatch.dispatch(Action::Notifications(notifications::Action::Seen(id)));
            }
            || ()
        });
    }

    let lead_shown = match &state.screen {
        Screen::Pipeline(pipeline::Page::Lead(id)) => Some(id.clone()),
        _ => None,
    };
    let board_hooks = pipeline::use_board(
        state.pipeline.moved.clone(),
        state.pipeline.form_open,
        lead_shown,
    );

    // The window's title names the screen (tabs, history, screen readers).
    use_effect_with(state.screen.title(), |title| {
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&format!("{title} · Partner Portal"));
        }
        || ()
    });
    use_hash_change(to_state(&dispatch, |hash: String| {
        // A new page starts at its top, as a page load would.
        if let Some(window) = web_sys::window() {
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
        Action::Navigate(Screen::from_hash(&hash))
    }));

    // A partner whose account view the server had not made when the app
    // last asked about the account: ask again on the money screens.
    let asking = match &state.me {
        Some(me) if !admin && me.account_view().is_none() => {
            (matches!(state.screen, Screen::Earnings(_)) && !state.session_ended)
                .then(|| me.account_id.clone())
        }
        _ => None,
    };
    session::use_check_while(asking, dispatch.clone());

    let on_signed_in = {
        let dispatch = dispatch.clone();
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
        return html! { <SignedOut /> };
    };

    let ended = state.session_ended;
    let screen = state.screen.clone();
    // Each module's screen, and what it adds to the header.
    // The partner's rank and achievements, on the dashboard and the Tier
    // screen, from their standings document.
    let highlights = html! {
        <leaderboard::Highlights engine={links_engine.clone()}
            doc_id={me.standings().map(|d| d.doc_id.clone())}
            nested={matches!(screen, Screen::Earnings(_))} />
    };
    let (tools, main) = match screen.clone() {
        Screen::Pipeline(pipeline::Page::Board) => (
            pipeline::switch(
                &me,
                state.pipeline.selected.as_deref(),
                &to_state(&dispatch, |id| {
                    Action::Pipeline(pipeline::Action::Select(id))
                }),
            ),
            pipeline::board(
                &me,
                &state.pipeline,
                read_only,
                state.view.as_deref(),
                &board_hooks,
                &to_state(&dispatch, Action::Pipeline),
                &edit,
            ),
        ),
        Screen::Pipeline(pipeline::Page::Lead(id)) => {
            let lead = state
                .pipeline
                .pipeline
                .as_ref()
                .and_then(|p| p.lead(&id).cloned());
            // Deals are in the partner's own account view only.
            let own = state.view.as_deref().filter(|_| !read_only);
            let deal = own.and_then(|v| v.deal(&id)).cloned();
            let pricing = own.and_then(|v| v.next_deal.clone());
            let heads = state
                .pipeline
                .pipeline
                .as_ref()
                .map(|p| p.heads.clone())
                .unwrap_or_default();
            let main = match lead {
                Some(lead) => html! {
                    <pipeline::LeadPage key={id.to_string()} {lead} {read_only} edit={edit.clone()} {deal} {pricing} {heads}
                        on_moved={to_state(&dispatch, |m| Action::Pipeline(pipeline::Action::Moved(m)))} />
                },
                None if state.pipeline.pipeline.is_none() => {
                    html! { <p class="hint">{ "Opening pipeline…" }</p> }
                }
                None => pipeline::no_such_lead(),
            };
            (Html::default(), main)
        }
        Screen::Dashboard(_) => {
            // The dashboard reads the partner's own pipeline, not a team
            // member's shown on the board.
            let own = state.pipeline.pipeline.as_ref().filter(|_| !read_only);
            (
                Html::default(),
                dashboard::view(dashboard::Input {
                    name: &me.name,
                    account_id: &me.account_id,
                    leads_team: me.role == web_common::api::Role::TeamLeader,
                    profile_done: me.profile_done(),
                    has_link: engine::local_get(&referrals::made_key(&me.account_id)).is_some(),
                    pipeline: own.map(|p| &**p),
                    view: state.view.as_deref(),
                    inbox: state.notifications.inbox.as_deref(),
                    assigned: &assigned(&state),
                    highlights: highlights.clone(),
                }),
            )
        }
        Screen::Profile(_) => {
            let account_id = me.account_id.clone();
            let dispatch = dispatch.clone();
            (
                Html::default(),
                html! {
                    <profile::ProfilePage me={me.clone()} on_saved={Callback::from(move |()| {
                        session::check_session(account_id.clone(), dispatch.clone())
                    })} />
                },
            )
        }
        Screen::Notifications(_) => {
            // Follow-ups due, from the pipeline on the device: listed here
            // offline too, whatever happened to the server's reminders.
            let now = model::Timestamp(js_sys::Date::now() as i64);
            let due: Vec<notifications::DueNow> = state
                .pipeline
                .pipeline
                .as_ref()
                .filter(|_| !read_only)
                .map(|p| {
                    p.follow_ups_due(now)
                        .into_iter()
                        .map(|lead| notifications::DueNow {
                            who: if lead.company.is_empty() {
                                lead.contact_name.clone()
                            } else {
                                format!("{} ({})", lead.contact_name, lead.company)
                            },
                            screen: format!("#lead-{}", lead.id),
                            at: lead.follow_up.as_ref().map_or(0, |f| f.at.0),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                Html::default(),
                notifications::view(
                    &state.notifications,
                    seen_before.borrow().unwrap_or(state.notifications.seen),
                    &due,
                ),
            )
        }
        Screen::Training(page) => (
            Html::default(),
            training::view(training::Input {
                page: &page,
                state: &state.training,
                view: state.view.clone(),
                on_edit: on_training_edit.clone(),
                team: std::rc::Rc::new(me.team.clone()),
            }),
        ),
        Screen::Referrals(_) => (
            Html::default(),
            html! {
                <referrals::LinksPage
                    engine={links_engine.clone()}
                    doc_id={me.referrals().map(|d| d.doc_id.clone())}
                    account_id={me.account_id.clone()}
                    online={online}
                    tier={state.view.as_ref().map(|v| AttrValue::from(v.tier.clone()))} />
            },
        ),
        Screen::Leaderboard(_) => (
            Html::default(),
            html! {
                <leaderboard::LeaderboardPage engine={links_engine.clone()}
                    doc_id={me.standings().map(|d| d.doc_id.clone())}
                    me={me.partner_id.clone().unwrap_or_default()} />
            },
        ),
        Screen::Team(page) => {
            // A member's pipeline opens on the board, read-only.
            let open_pipeline = {
                let (dispatch, pipelines) = (dispatch.clone(), me.documents.clone());
                Callback::from(move |partner: String| {
                    if let Some(doc) = pipelines
                        .iter()
                        .find(|d| d.is_pipeline() && d.partner_id == partner)
                    {
                        dispatch.dispatch(Action::Pipeline(pipeline::Action::Select(
                            doc.doc_id.clone(),
                        )));
                        // Through the address, so Back returns to the team.
                        if let Some(window) = web_sys::window() {
                            let _ = window.location().set_hash("pipeline");
                        }
                    }
                })
            };
            // A win card goes into the team's channel, which then opens.
            let has_channel = state.chat.channels.iter().any(|c| {
                c.form == model::ChannelForm::Team.as_str()
                    && c.posts
                    && state.chat.indexes.contains_key(&c.doc_id)
            });
            let celebrate = has_channel.then(|| {
                let (chat_state, senders) = (state.chat.clone(), chat_senders.clone());
                Callback::from(move |card: String| {
                    if let Some(channel) = chat::post_in_team(&chat_state, &senders, card)
                        && let Some(window) = web_sys::window()
                    {
                        let _ = window.location().set_hash(&format!("chat-{channel}"));
                    }
                })
            });
            (
                Html::default(),
                html! {
                    <team::TeamPage page={page} engine={links_engine.clone()}
                        doc_id={me.team_view().map(|d| d.doc_id.clone())} {open_pipeline} {celebrate} />
                },
            )
        }
        Screen::Resources(_) => (
            Html::default(),
            html! {
                <resources::LibraryPage account_id={me.account_id.clone()} online={online} />
            },
        ),
        Screen::Chat(page) => (
            Html::default(),
            chat::view(chat::Input {
                page: &page,
                state: &state.chat,
                me: &me.account_id,
                online,
                senders: chat_senders.clone(),
            }),
        ),
        Screen::Earnings(page) => {
            let account_id = me.account_id.clone();
            let on_signed_out = to_state(&dispatch, move |since| Action::SessionEnded {
                account_id: account_id.clone(),
                since,
            });
            (
                Html::default(),
                earnings::earnings(
                    page,
                    state.view.as_deref(),
                    state.view_missing || me.account_view().is_none(),
                    &customers(&state, read_only),
                    &modules_to_do(&state),
                    highlights.clone(),
                    &on_signed_out,
                ),
            )
        }
    };
    html! {
        <>
            <div class="app" inert={ended.then_some(AttrValue::Static(""))} aria-hidden={ended.then_some(AttrValue::Static("true"))}>
                <header class="top">
                    <div class="title">
                        <h1>{ screen.title() }</h1>
                        <a id="account" class="account" href="#profile" title={format!("Your profile ({})", me.email)}>{ &me.name }</a>
                        { notifications::bell(&state.notifications) }
                        { sign_out_button(
                            to_state(&dispatch, |()| Action::SignedOut),
                            to_state(&dispatch, |why| Action::Error(Some(why))),
                        ) }
                    </div>
                    { tabs(&screen, state.view.as_ref().map(|v| tier_name(&v.tier)), state.chat.unread_total(&me.account_id), me.team_view().is_some()) }
                    { tools }
                    <SyncBadge connection={state.connection} pending={state.pipeline.pending} signed_out={ended} />
                </header>
                if let Some(error) = &state.error {
                    <p class="error" role="alert">{ error }</p>
                }
                { main }
            </div>
            if ended {
                { session_ended(&me.email, state.pipeline.pending, on_signed_in) }
            }
        </>
    }
}

/// Nobody is signed in any more (they signed out): the page starts again
/// at the welcome, whose sign-in form is the one for the signed-out (the
/// app opens only for someone signed in; `static/boot.js`).
#[function_component(SignedOut)]
fn signed_out() -> Html {
    use_effect_with((), |_| {
        session::forget();
        if let Some(window) = web_sys::window() {
            let _ = window.location().replace("/");
        }
        || ()
    });
    html! {
        <div class="app">
            <p class="card hint signin" role="status">{ "Signed out. Opening the welcome page…" }</p>
        </div>
    }
}

/// Who each of the partner's own leads is ("Ada Obi (Obi Health)"), for
/// the money screens to name customers rather than lead ids: the pipeline
/// on the device knows, offline too. Empty while a team member's pipeline
/// is shown.
fn customers(state: &AppState, read_only: bool) -> HashMap<LeadId, String> {
    let Some(pipeline) = state.pipeline.pipeline.as_ref().filter(|_| !read_only) else {
        return HashMap::new();
    };
    pipeline
        .leads
        .iter()
        .map(|lead| {
            let who = if lead.company.is_empty() {
                lead.contact_name.clone()
            } else {
                format!("{} ({})", lead.contact_name, lead.company)
            };
            (lead.id.clone(), who)
        })
        .collect()
}

/// The training modules on the device the account view does not count as
/// done, for the tier screen to link.
fn modules_to_do(state: &AppState) -> Vec<earnings::ModuleToDo> {
    let done = |track: &str, module: &str| {
        state.view.as_ref().is_some_and(|v| {
            v.modules_done
                .iter()
                .any(|m| m.track == track && m.module == module)
        })
    };
    state
        .training
        .tracks()
        .into_iter()
        .flat_map(|p| {
            p.track
                .modules
                .iter()
                .filter(|m| !done(&p.track.id, &m.id))
                .map(|m| earnings::ModuleToDo {
                    title: m.title.clone(),
                    track: p.track.title.clone(),
                    hash: format!("#training-{}", p.track.id),
                })
        })
        .collect()
}

/// The modules assigned to the partner (the account view's), named from
/// the catalogs on the device.
fn assigned(state: &AppState) -> Vec<dashboard::Assigned> {
    let Some(view) = state.view.as_ref() else {
        return Vec::new();
    };
    view.assignments
        .iter()
        .map(|a| dashboard::Assigned {
            title: state
                .training
                .track(&a.track)
                .and_then(|p| p.track.modules.iter().find(|m| m.id == a.module))
                .map_or_else(|| a.module.clone(), |m| m.title.clone()),
            hash: format!("#training-{}", a.track),
            due_on: a.due_on.clone(),
            by: a.assigned_by.clone(),
            done: view
                .modules_done
                .iter()
                .any(|m| m.track == a.track && m.module == a.module),
        })
        .collect()
}

/// A callback that dispatches what `make` makes of its value.
fn to_state<T: 'static>(
    dispatch: &UseReducerDispatcher<AppState>,
    make: impl Fn(T) -> Action + 'static,
) -> Callback<T> {
    let dispatch = dispatch.clone();
    Callback::from(move |value| dispatch.dispatch(make(value)))
}
