//! The chat pages: the channel list, a channel's conversation and a
//! thread. Everything is drawn from the documents on the device, so the
//! pages work offline; a message written offline shows "sending" and goes
//! when the connection is back.

use std::rc::Rc;

use model::{ChannelForm, ChannelIndex, ChatEdit, ChatMessage, Timestamp};
use web_common::{api::MyChannel, show};
use yew::prelude::*;

use engine_protocol::PresenceState;

use super::{HEARTBEAT_MS, LIVE_BUCKETS, Page, Senders, State, voice::Recorder};

/// What the pages are drawn from.
pub struct Input<'a> {
    pub page: &'a Page,
    pub state: &'a State,
    pub me: &'a str,
    pub online: bool,
    pub senders: Senders,
}

/// The reactions offered with one tap.
const REACTIONS: [&str; 6] = ["👍", "🎉", "❤️", "😂", "🙏", "👀"];

pub fn view(input: Input) -> Html {
    html! {
        <ChatPage page={input.page.clone()} state={input.state.clone()}
            me={AttrValue::from(input.me.to_owned())} online={input.online}
            senders={input.senders} />
    }
}

#[derive(Properties, PartialEq)]
struct Props {
    page: Page,
    state: State,
    me: AttrValue,
    online: bool,
    senders: Senders,
}

fn now() -> Timestamp {
    Timestamp(js_sys::Date::now() as i64)
}

/// A new message's id: the time in hex and random digits, so ids sort
/// roughly by time and two devices never pick the same.
pub(super) fn new_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{:x}-{}", now().0, &random[..8])
}

/// A channel's history older than the device keeps (two months), from
/// the server's projection: pages asked for on demand, online, kept while
/// the channel is on screen.
#[derive(Clone, Debug, Default, PartialEq)]
struct Earlier {
    channel: String,
    /// Oldest first.
    messages: Vec<(String, ChatMessage)>,
    /// Where the next page starts (`?before=`).
    cursor: Option<String>,
    /// The server has no older one.
    done: bool,
    /// Their authors' names, as the server knows them.
    names: Rc<std::collections::HashMap<String, String>>,
    loading: bool,
    failed: Option<String>,
}

/// Messages in a page of the history.
const EARLIER_PAGE: usize = 50;

/// The history's page before `from` (the device's oldest message, or the
/// page's cursor), added to what `earlier` holds.
fn load_earlier(earlier: UseStateHandle<Earlier>, mut now: Earlier, from: Option<String>) {
    now.loading = true;
    now.failed = None;
    earlier.set(now.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let path = format!(
            "/api/chat/channels/{}/history?limit={EARLIER_PAGE}{}",
            now.channel,
            from.map(|c| format!("&before={c}")).unwrap_or_default()
        );
        now.loading = false;
        match web_common::api::get::<Vec<web_common::api::HistoryMessage>>(&path).await {
            Ok(page) => {
                now.done = page.len() < EARLIER_PAGE;
                now.cursor = page.last().map(|m| m.cursor.clone()).or(now.cursor);
                let mut names = (*now.names).clone();
                names.extend(
                    page.iter()
                        .map(|h| (h.author.clone(), h.author_name.clone())),
                );
                now.names = Rc::new(names);
                let older = page.into_iter().rev().map(|h| {
                    let file = h.file.map(|f| model::ChatFile {
                        id: f.id,
                        name: f.name,
                        content_type: f.content_type,
                        bytes: f.bytes,
                        voice: None,
                        thumb: f.thumb.map(|t| model::Thumb {
                            id: t.id,
                            width: t.width,
                            height: t.height,
                        }),
                    });
                    let m = ChatMessage {
                        at: Timestamp(js_sys::Date::parse(&h.written_at) as i64),
                        edited_at: h
                            .edited_at
                            .map(|t| Timestamp(js_sys::Date::parse(&t) as i64)),
                        id: h.id,
                        author: h.author,
                        body: h.body,
                        reply_to: h.reply_to,
                        deleted: h.deleted,
                        removed_by: h.removed_by,
                        reactions: Vec::new(),
                        file,
                        unsent: false,
                    };
                    (String::new(), m)
                });
                let mut messages: Vec<(String, ChatMessage)> = older.collect();
                messages.append(&mut now.messages);
                now.messages = messages;
            }
            Err(e) => now.failed = Some(e.to_string()),
        }
        earlier.set(now);
    });
}

#[function_component(ChatPage)]
fn chat_page(props: &Props) -> Html {
    let editing = use_state(|| None::<String>);
    let earlier = use_state(Earlier::default);
    // Presence ages: the page is drawn again every few seconds.
    let tick = use_state(|| 0u32);
    let channel_shown = match &props.page {
        Page::List => None,
        Page::Channel(id) | Page::Thread(id, _) => Some(id.clone()),
    };
    {
        // While a channel is on screen: "here" now and every heartbeat,
        // "away" as it goes.
        let (presence, tick) = (props.senders.presence.clone(), tick.clone());
        use_effect_with(channel_shown.clone(), move |channel| {
            let channel = channel.clone();
            let mut beat = None;
            if let Some(channel) = channel.clone() {
                presence.emit((channel.clone(), PresenceState::Here));
                let (presence, mut n) = (presence.clone(), 0u32);
                let every = 5_000u32;
                beat = Some(gloo_timers::callback::Interval::new(every, move || {
                    n += 1;
                    tick.set(n);
                    if i64::from(n * every) % HEARTBEAT_MS == 0 {
                        presence.emit((channel.clone(), PresenceState::Here));
                    }
                }));
            }
            move || {
                drop(beat);
                if let Some(channel) = channel {
                    presence.emit((channel, PresenceState::Away));
                }
            }
        });
    }
    // What is on screen is read: the marker moves to the latest message
    // of others (on this device, and on the person's others once synced).
    let latest_other = channel_shown.as_ref().and_then(|c| {
        props
            .state
            .messages(c)
            .iter()
            .rev()
            .find(|(_, m)| m.author != *props.me)
            // A device's clock ahead of this one's must not mark later
            // messages read before they are written.
            .map(|(_, m)| m.at.min(now()))
    });
    let marker = channel_shown
        .as_ref()
        .and_then(|c| props.state.reads.read_to.get(c).copied());
    {
        let read = props.senders.read.clone();
        use_effect_with(
            (channel_shown.clone(), latest_other, marker),
            move |(channel, latest, marker)| {
                if let (Some(channel), Some(latest)) = (channel, latest)
                    && marker.is_none_or(|m| m < *latest)
                {
                    read.emit((channel.clone(), *latest));
                }
            },
        );
    }
    // The list asked for again each time it is opened (online): a
    // conversation someone else started appears then.
    {
        let refresh = props.senders.refresh.clone();
        use_effect_with(
            (props.page == Page::List, props.online),
            move |(list, online)| {
                if *list && *online {
                    refresh.emit(());
                }
            },
        );
    }
    // A conversation opens at its latest message.
    use_effect_with(props.page.clone(), |_| {
        if let Some(w) = web_sys::window() {
            w.scroll_to_with_x_and_y(0.0, 1e7);
        }
    });
    let state = &props.state;
    let channel = match &props.page {
        Page::List => None,
        Page::Channel(id) | Page::Thread(id, _) => Some(id.clone()),
    };
    let list = channel_list(state, channel.as_deref(), &props.me);
    let Some(channel) = channel else {
        return html! {
            <main class="chat chat-list-page">
                <Search state={state.clone()} online={props.online} />
                <h2 class="section">{ "Channels" }</h2>
                { list }
                <NewConversation state={state.clone()} me={props.me.clone()} online={props.online}
                    refresh={props.senders.refresh.clone()} />
                <Topics online={props.online} refresh={props.senders.refresh.clone()} />
            </main>
        };
    };
    let Some(index) = state.indexes.get(&channel).cloned() else {
        return html! {
            <main class="chat">
                <p class="card hint" role="status">{
                    if state.channels.iter().any(|c| c.doc_id == channel) {
                        "This channel is opening. Its messages appear once this device has been online."
                    } else {
                        "This channel is not on this device, or you are not one of its members."
                    }
                }</p>
                <p><a class="button" href="#chat">{ "All channels" }</a></p>
            </main>
        };
    };
    let listed = state.channels.iter().find(|c| c.doc_id == channel);
    // Before the list has come (offline at first start): as members do.
    let posts = listed.map_or(index.form.members_post(), |c| c.posts);
    let all = state.messages(&channel);
    let thread = match &props.page {
        Page::Thread(_, root) => Some(root.clone()),
        _ => None,
    };
    let ctx = Ctx {
        index: index.clone(),
        channel: channel.clone(),
        me: props.me.to_string(),
        on_edit: props.senders.edit.clone(),
        presence: props.senders.presence.clone(),
        editing: editing.clone(),
        online: props.online,
        posts,
        in_thread: thread.is_some(),
        attach: props.senders.attach.clone(),
        local_files: state.local_files.clone(),
        uploading: state.uploading.clone(),
        archived: false,
        names: Rc::default(),
    };
    let earlier_here = if earlier.channel == channel {
        (*earlier).clone()
    } else {
        Earlier {
            channel: channel.clone(),
            ..Earlier::default()
        }
    };
    let history = {
        // From the device's oldest message, in the cursor's form
        // (`<microseconds>.<id>`), then from the page's.
        let oldest = all
            .first()
            .map(|(_, m)| format!("{}.{}", m.at.0.saturating_mul(1000), m.id));
        let from = earlier_here.cursor.clone().or(oldest);
        let (handle, now) = (earlier.clone(), earlier_here.clone());
        let on_more =
            Callback::from(move |_| load_earlier(handle.clone(), now.clone(), from.clone()));
        let on_device: std::collections::HashSet<&str> =
            all.iter().map(|(_, m)| m.id.as_str()).collect();
        let shown: Vec<&(String, ChatMessage)> = earlier_here
            .messages
            .iter()
            .filter(|(_, m)| !on_device.contains(m.id.as_str()))
            .collect();
        let archive = Ctx {
            archived: true,
            posts: false,
            in_thread: true,
            names: earlier_here.names.clone(),
            ..ctx.clone()
        };
        html! {
            <div class="earlier">
                if earlier_here.done {
                    <p class="hint" role="status">{ "No earlier messages." }</p>
                } else if !props.online {
                    <p class="hint">{ "Earlier messages load when you are online." }</p>
                } else {
                    <button type="button" class="quiet earlier-more" onclick={on_more}
                        disabled={earlier_here.loading}>
                        { if earlier_here.loading { "Loading…" } else { "Earlier messages" } }
                    </button>
                }
                if let Some(why) = &earlier_here.failed {
                    <p class="error" role="alert">{ format!("Earlier messages did not load: {why}") }</p>
                }
                // A page loaded goes above what was there: the button
                // stays on top, where the next one will go.
                if !shown.is_empty() {
                    { messages_list(&archive, &shown, &|_| 0, Some("earlier-messages")) }
                }
            </div>
        }
    };
    let conversation = match &thread {
        None => {
            let top: Vec<&(String, ChatMessage)> =
                all.iter().filter(|(_, m)| m.reply_to.is_none()).collect();
            let replies = |id: &str| {
                all.iter()
                    .filter(|(_, m)| m.reply_to.as_deref() == Some(id))
                    .count()
            };
            html! {
                <section class="conversation" aria-labelledby="channel-name">
                    <header class="conversation-head">
                        <a class="button back" href="#chat" aria-label="All channels">{ "←" }</a>
                        <div>
                            <h2 id="channel-name">{ title_of(&index.name, &index, &props.me) }</h2>
                            <p class="hint">{ members_line(&index) }</p>
                            { presence_line(state, &channel, &index, &props.me) }
                        </div>
                        if matches!(index.form, ChannelForm::Direct | ChannelForm::Topic) {
                            <Leave channel={channel.clone()} online={props.online}
                                refresh={props.senders.refresh.clone()} />
                        }
                    </header>
                    { history }
                    { messages_list(&ctx, &top, &replies, None) }
                    { composer(&ctx, None, &all) }
                </section>
            }
        }
        Some(root) => {
            let parent = all.iter().find(|(_, m)| m.id == *root);
            let replies: Vec<&(String, ChatMessage)> = all
                .iter()
                .filter(|(_, m)| m.reply_to.as_deref() == Some(root.as_str()))
                .collect();
            html! {
                <section class="conversation thread" aria-labelledby="thread-name">
                    <header class="conversation-head">
                        <a class="button back" href={format!("#chat-{channel}")} aria-label={format!("Back to {}", index.name)}>{ "←" }</a>
                        <div>
                            <h2 id="thread-name">{ "Thread" }</h2>
                            <p class="hint">{ &index.name }</p>
                        </div>
                    </header>
                    {
                        match parent {
                            Some(p) => messages_list(&ctx, &[p], &|_| 0, Some("thread-root")),
                            None => html! { <p class="hint">{ "The message this thread answers is not on this device." }</p> },
                        }
                    }
                    <h3 class="section">{ match replies.len() { 0 => "No replies yet".to_owned(), 1 => "1 reply".to_owned(), n => format!("{n} replies") } }</h3>
                    { messages_list(&ctx, &replies, &|_| 0, None) }
                    { composer(&ctx, Some(root.clone()), &all) }
                </section>
            }
        }
    };
    html! {
        <main class="chat chat-page">
            <nav class="channel-side" aria-label="Channels">{ list }</nav>
            { conversation }
            if let Some(why) = &state.refused {
                <p class="error" role="alert">{ format!("Not sent: {why}") }</p>
            }
            if let Some(why) = &state.upload_refused {
                <p class="error" role="alert">{ why }</p>
            }
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct LeaveProps {
    channel: String,
    online: bool,
    refresh: Callback<()>,
}

/// Leaving a conversation or a topic (online: the server decides), after
/// a second thought; the channel then goes from the list.
#[function_component(Leave)]
fn leave(props: &LeaveProps) -> Html {
    let problem = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onclick = {
        let (channel, refresh, problem, busy) = (
            props.channel.clone(),
            props.refresh.clone(),
            problem.clone(),
            busy.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Leave it? It goes from your channels; the others keep it.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if !sure {
                return;
            }
            let (channel, refresh, problem, busy) = (
                channel.clone(),
                refresh.clone(),
                problem.clone(),
                busy.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/chat/channels/{channel}/leave");
                match web_common::api::call("POST", &path, None).await {
                    Ok(_) => {
                        refresh.emit(());
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().set_hash("chat");
                        }
                    }
                    Err(e) => problem.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <div class="leave">
            <button type="button" class="quiet" {onclick} disabled={!props.online || *busy}
                aria-describedby={(!props.online).then_some("leave-offline")}>{ "Leave" }</button>
            if !props.online { <p class="hint" id="leave-offline">{ "Online only" }</p> }
            if let Some(why) = &*problem { <p class="error" role="alert">{ why }</p> }
        </div>
    }
}

/// What a conversation's parts need.
#[derive(Clone)]
struct Ctx {
    index: Rc<ChannelIndex>,
    channel: String,
    me: String,
    on_edit: Callback<(String, ChatEdit)>,
    presence: Callback<(String, PresenceState)>,
    editing: UseStateHandle<Option<String>>,
    online: bool,
    posts: bool,
    /// On a thread's page: its messages offer no thread of their own.
    in_thread: bool,
    attach: Callback<super::Attach>,
    local_files: Rc<std::collections::BTreeMap<String, String>>,
    uploading: Rc<std::collections::BTreeSet<String>>,
    /// The server's older history: read only, shown as it was.
    archived: bool,
    /// Authors' names as the server gave them with the older history.
    names: Rc<std::collections::HashMap<String, String>>,
}

fn members_line(index: &ChannelIndex) -> String {
    match index.form {
        ChannelForm::Announcements => "From the programme team; everyone reads it".to_owned(),
        ChannelForm::TeamAnnouncements => {
            format!(
                "From the team's leader, to its {} members",
                index.members.len()
            )
        }
        _ => match index.members.len() {
            1 => "1 member".to_owned(),
            n => format!("{n} members"),
        },
    }
}

/// A channel's name as its reader sees it: a direct conversation is
/// named by the others in it.
fn title_of(name: &str, index: &ChannelIndex, me: &str) -> String {
    if index.form != ChannelForm::Direct {
        return name.to_owned();
    }
    let others: Vec<&str> = index
        .members
        .iter()
        .filter(|m| m.account_id != me)
        .map(|m| m.name.as_str())
        .collect();
    if others.is_empty() {
        name.to_owned()
    } else {
        others.join(", ")
    }
}

#[derive(Properties, PartialEq)]
struct NewConversationProps {
    state: State,
    me: AttrValue,
    online: bool,
    refresh: Callback<()>,
}

/// Starting a conversation with people of one's team: the server makes it
/// (or finds the one there is), so it needs the network; writing in it
/// does not.
#[function_component(NewConversation)]
fn new_conversation(props: &NewConversationProps) -> Html {
    let problem = use_state(|| None::<String>);
    let busy = use_state(|| false);
    // Teammates: the members of the team channels on the device.
    let mut people: Vec<(String, String)> = Vec::new();
    for c in props.state.channels.iter().filter(|c| c.form == "team") {
        if let Some(index) = props.state.indexes.get(&c.doc_id) {
            for m in &index.members {
                if m.account_id != *props.me && !people.iter().any(|(id, _)| *id == m.account_id) {
                    people.push((m.account_id.clone(), m.name.clone()));
                }
            }
        }
    }
    if people.is_empty() {
        return Html::default();
    }
    let onsubmit = {
        let (problem, busy, refresh) = (problem.clone(), busy.clone(), props.refresh.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(form) = e.target_dyn_into::<web_sys::HtmlFormElement>() else {
                return;
            };
            let Ok(data) = web_sys::FormData::new_with_form(&form) else {
                return;
            };
            let with: Vec<String> = data
                .get_all("with")
                .iter()
                .filter_map(|v| v.as_string())
                .collect();
            if with.is_empty() {
                problem.set(Some("Choose who to write to.".to_owned()));
                return;
            }
            busy.set(true);
            let (problem, busy, refresh) = (problem.clone(), busy.clone(), refresh.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&web_common::api::NewConversation { with }).ok();
                let made = web_common::api::call("POST", "/api/chat/direct", body)
                    .await
                    .map(serde_json::from_value::<web_common::api::ChannelCreated>);
                match made {
                    Ok(Ok(made)) => {
                        problem.set(None);
                        refresh.emit(());
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().set_hash(&format!("chat-{}", made.doc_id));
                        }
                    }
                    Ok(Err(_)) => problem.set(Some("The server's answer did not read.".to_owned())),
                    Err(e) => problem.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <details class="card new-conversation">
            <summary class="button">{ "New conversation" }</summary>
            <form {onsubmit}>
                <fieldset>
                    <legend>{ "With" }</legend>
                    { for people.iter().map(|(id, name)| html! {
                        <label class="check"><input type="checkbox" name="with" value={id.clone()} />{ name }</label>
                    }) }
                </fieldset>
                <button type="submit" class="primary" disabled={*busy || !props.online}>{ "Start" }</button>
                if !props.online {
                    <p class="hint" role="status">{ "Starting a conversation needs a connection; writing in one does not." }</p>
                }
                if let Some(why) = &*problem {
                    <p class="error" role="alert">{ why }</p>
                }
            </form>
        </details>
    }
}

#[derive(Properties, PartialEq)]
struct TopicsProps {
    online: bool,
    refresh: Callback<()>,
}

/// The programme's topic channels, asked of the server when opened: any
/// one is joined (it then opens) or left with a tap. Joining needs the
/// server, which decides who reads what; the list is not kept offline.
#[function_component(Topics)]
fn topics(props: &TopicsProps) -> Html {
    let topics = use_state(|| None::<Vec<web_common::api::TopicChannel>>);
    let problem = use_state(|| None::<String>);
    let busy = use_state(|| None::<String>);
    let load = {
        let (topics, problem) = (topics.clone(), problem.clone());
        Callback::from(move |()| {
            let (topics, problem) = (topics.clone(), problem.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match web_common::api::call("GET", "/api/chat/topics", None)
                    .await
                    .map(serde_json::from_value::<Vec<web_common::api::TopicChannel>>)
                {
                    Ok(Ok(list)) => {
                        problem.set(None);
                        topics.set(Some(list));
                    }
                    Ok(Err(_)) => problem.set(Some("The server's answer did not read.".to_owned())),
                    Err(e) => problem.set(Some(e.to_string())),
                }
            });
        })
    };
    let ontoggle = {
        let (load, online) = (load.clone(), props.online);
        Callback::from(move |e: Event| {
            let open = e
                .target_dyn_into::<web_sys::HtmlDetailsElement>()
                .is_some_and(|d| d.open());
            if open && online {
                load.emit(());
            }
        })
    };
    let act = |topic: &web_common::api::TopicChannel| {
        let (load, busy, problem, refresh) = (
            load.clone(),
            busy.clone(),
            problem.clone(),
            props.refresh.clone(),
        );
        let (doc_id, joining) = (topic.doc_id.clone(), !topic.joined);
        Callback::from(move |_: MouseEvent| {
            let (load, busy, problem, refresh, doc_id) = (
                load.clone(),
                busy.clone(),
                problem.clone(),
                refresh.clone(),
                doc_id.clone(),
            );
            busy.set(Some(doc_id.clone()));
            wasm_bindgen_futures::spawn_local(async move {
                let verb = if joining { "join" } else { "leave" };
                let path = format!("/api/chat/channels/{doc_id}/{verb}");
                match web_common::api::call("POST", &path, None).await {
                    Ok(_) => {
                        problem.set(None);
                        refresh.emit(());
                        load.emit(());
                        if joining && let Some(w) = web_sys::window() {
                            let _ = w.location().set_hash(&format!("chat-{doc_id}"));
                        }
                    }
                    Err(e) => problem.set(Some(e.to_string())),
                }
                busy.set(None);
            });
        })
    };
    html! {
        <details class="card topics" {ontoggle}>
            <summary class="button">{ "Topic channels" }</summary>
            if !props.online {
                <p class="hint" role="status">{ "Topics are listed, joined and left with a connection." }</p>
            } else if let Some(list) = &*topics {
                if list.is_empty() {
                    <p class="hint">{ "No topic channels yet." }</p>
                } else {
                    <ul class="topic-list">
                        { for list.iter().map(|t| html! {
                            <li>
                                <span>
                                    <strong>{ format!("# {}", t.name) }</strong>
                                    <span class="hint">{ match t.members { 1 => " · 1 member".to_owned(), n => format!(" · {n} members") } }</span>
                                </span>
                                <button type="button" class={if t.joined { "" } else { "primary" }}
                                    disabled={busy.as_deref() == Some(t.doc_id.as_str())}
                                    aria-label={format!("{} {}", if t.joined { "Leave" } else { "Join" }, t.name)}
                                    onclick={act(t)}>
                                    { if t.joined { "Leave" } else { "Join" } }
                                </button>
                            </li>
                        }) }
                    </ul>
                }
            } else {
                <p class="hint" role="status">{ "Asking the server…" }</p>
            }
            if let Some(why) = &*problem {
                <p class="error" role="alert">{ why }</p>
            }
        </details>
    }
}

#[derive(Properties, PartialEq)]
struct SearchProps {
    state: State,
    online: bool,
}

/// One message found.
struct Hit {
    channel: String,
    channel_name: String,
    id: String,
    author: String,
    at: i64,
    body: String,
    reply_to: Option<String>,
}

/// Search: every channel's messages on the server when online (older
/// ones too), the ones on the device otherwise.
#[function_component(Search)]
fn search(props: &SearchProps) -> Html {
    let field = use_node_ref();
    let found = use_state(|| None::<(String, Result<Vec<Hit>, String>, bool)>);
    let onsubmit = {
        let (field, found, state, online) = (
            field.clone(),
            found.clone(),
            props.state.clone(),
            props.online,
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(input) = field.cast::<web_sys::HtmlInputElement>() else {
                return;
            };
            let q = input.value().trim().to_owned();
            if q.is_empty() {
                found.set(None);
                return;
            }
            if !online {
                found.set(Some((q.clone(), Ok(search_here(&state, &q)), false)));
                return;
            }
            let (found, state) = (found.clone(), state.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/chat/search?q={}", js_sys::encode_uri_component(&q));
                let answer =
                    match web_common::api::get::<Vec<web_common::api::ChatHit>>(&path).await {
                        Ok(hits) => (
                            q,
                            Ok(hits
                                .into_iter()
                                .map(|h| Hit {
                                    at: js_sys::Date::parse(&h.written_at) as i64,
                                    channel: h.channel,
                                    channel_name: h.channel_name,
                                    id: h.id,
                                    author: h.author_name,
                                    body: h.body,
                                    reply_to: h.reply_to,
                                })
                                .collect()),
                            true,
                        ),
                        // Offline after all: what is on the device.
                        Err(_) => {
                            let hits = search_here(&state, &q);
                            (q, Ok(hits), false)
                        }
                    };
                found.set(Some(answer));
            });
        })
    };
    html! {
        <section class="chat-search" aria-label="Search messages">
            <form role="search" {onsubmit}>
                <label for="chat-search" class="visually-hidden">{ "Search messages" }</label>
                <input id="chat-search" ref={field} type="search" placeholder="Search messages" maxlength="200" />
                <button type="submit">{ "Search" }</button>
            </form>
            if let Some((q, hits, everywhere)) = &*found {
                <div role="status">
                    { match hits {
                        Ok(hits) if hits.is_empty() => html! { <p class="hint">{ format!("Nothing found for “{q}”.") }</p> },
                        Ok(hits) => html! {
                            <>
                                <p class="hint">{ if *everywhere { format!("{} found", hits.len()) } else { format!("{} found on this device (offline)", hits.len()) } }</p>
                                <ul class="plain hits">
                                    { for hits.iter().map(|h| html! {
                                        <li>
                                            <a class="hit" href={match &h.reply_to { Some(root) => format!("#thread-{}_{}", h.channel, root), None => format!("#thread-{}_{}", h.channel, h.id) }}>
                                                <span class="hint">{ format!("{} · {} · {}", h.channel_name, h.author, show::short_time(h.at)) }</span>
                                                <span class="body">{ &h.body }</span>
                                            </a>
                                        </li>
                                    }) }
                                </ul>
                            </>
                        },
                        Err(why) => html! { <p class="error">{ why }</p> },
                    } }
                </div>
            }
        </section>
    }
}

/// The messages on the device holding every word of `q` (any case).
fn search_here(state: &State, q: &str) -> Vec<Hit> {
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let mut hits = Vec::new();
    for c in state.channels.iter() {
        let Some(index) = state.indexes.get(&c.doc_id) else {
            continue;
        };
        for (_, m) in state.messages(&c.doc_id) {
            let body = m.body.to_lowercase();
            if !m.is_gone() && words.iter().all(|w| body.contains(w.as_str())) {
                hits.push(Hit {
                    channel: c.doc_id.clone(),
                    channel_name: c.name.clone(),
                    id: m.id.clone(),
                    author: index.name_of(&m.author).to_owned(),
                    at: m.at.0,
                    body: m.body.clone(),
                    reply_to: m.reply_to.clone(),
                });
            }
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.at));
    hits.truncate(30);
    hits
}

/// Who else is here, and who is typing, said as it changes.
fn presence_line(state: &State, channel: &str, index: &ChannelIndex, me: &str) -> Html {
    let present = state.present(channel, me, now().0);
    let names = |ids: &[String]| {
        ids.iter()
            .map(|id| {
                index
                    .name_of(id)
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = match (present.typing.len(), present.here.len()) {
        (0, 0) => String::new(),
        (0, _) => format!("{} here", names(&present.here)),
        (1, _) => format!("{} is typing…", names(&present.typing)),
        _ => format!("{} are typing…", names(&present.typing)),
    };
    html! {
        <p class="presence" role="status" aria-live="polite">
            if !present.here.is_empty() { <span class="dot" aria-hidden="true"></span> }
            { text }
        </p>
    }
}

fn icon(form: &str) -> &'static str {
    match form {
        "announcements" | "team_announcements" => "📣",
        "team" => "👥",
        "direct" => "💬",
        _ => "#",
    }
}

fn channel_list(state: &State, current: Option<&str>, me: &str) -> Html {
    if state.channels.is_empty() {
        return html! {
            <p class="card hint" role="status">{
                if state.listed {
                    "You are in no channel yet."
                } else {
                    "Your channels appear once this device has been online."
                }
            }</p>
        };
    }
    html! {
        <ul class="plain channel-list">
            { for state.channels.iter().map(|c| channel_row(state, c, current, me)) }
        </ul>
    }
}

fn channel_row(state: &State, c: &MyChannel, current: Option<&str>, me: &str) -> Html {
    let last = state
        .messages(&c.doc_id)
        .into_iter()
        .rev()
        .find(|(_, m)| !m.is_gone());
    let unread = state.unread(&c.doc_id, me);
    let preview = match (&last, state.indexes.get(&c.doc_id)) {
        (Some((_, m)), Some(index)) => {
            let who = if m.author == me {
                "You"
            } else {
                index.name_of(&m.author)
            };
            // A file's message may have no words: what it carries, then.
            let what = match (m.body.lines().next(), &m.file) {
                (Some(line), _) if !line.trim().is_empty() => line.to_owned(),
                (_, Some(f)) if f.voice.is_some() => "🎤 Voice clip".to_owned(),
                (_, Some(f)) if f.is_image() => format!("🖼 {}", f.name),
                (_, Some(f)) => format!("📎 {}", f.name),
                _ => String::new(),
            };
            format!("{who}: {what}")
        }
        _ => "No messages yet".to_owned(),
    };
    html! {
        <li>
            <a class="channel-row" href={format!("#chat-{}", c.doc_id)}
                aria-current={(current == Some(c.doc_id.as_str())).then_some("page")}>
                <span class="channel-icon" aria-hidden="true">{ icon(&c.form) }</span>
                <span class="channel-text">
                    <strong>{ match state.indexes.get(&c.doc_id) { Some(index) => title_of(&c.name, index, me), None => c.name.clone() } }</strong>
                    <span class="preview">{ preview }</span>
                </span>
                if let Some((_, m)) = &last {
                    <time class="hint">{ show::short_time(m.at.0) }</time>
                }
                if unread > 0 {
                    <span class="unread"><span aria-hidden="true">{ unread.min(99) }</span><span class="visually-hidden">{ format!("{unread} unread") }</span></span>
                }
            </a>
        </li>
    }
}

/// A list of messages, with a day heading where the day changes.
fn messages_list(
    ctx: &Ctx,
    messages: &[&(String, ChatMessage)],
    replies: &dyn Fn(&str) -> usize,
    class: Option<&'static str>,
) -> Html {
    let mut day = String::new();
    let mut items = Vec::new();
    let last_mine = messages
        .iter()
        .rev()
        .find(|(_, m)| m.author == ctx.me && !m.unsent)
        .map(|(_, m)| m.id.clone());
    for (bucket, m) in messages {
        let this_day = show::day(m.at.0 as f64);
        if this_day != day {
            items.push(
                html! { <li class="day" role="presentation"><span>{ &this_day }</span></li> },
            );
            day = this_day;
        }
        items.push(message(
            ctx,
            bucket,
            m,
            replies(&m.id),
            last_mine.as_deref() == Some(m.id.as_str()),
        ));
    }
    if items.is_empty() {
        return html! { <p class="hint empty-chat">{ "No messages yet. Say hello." }</p> };
    }
    if ctx.archived {
        // Asked for, not arriving: not read out as news.
        return html! { <ol class={classes!("plain", "messages", class)} aria-label="Earlier messages">{ for items }</ol> };
    }
    html! { <ol class={classes!("plain", "messages", class)} role="log" aria-live="polite">{ for items }</ol> }
}

fn message(ctx: &Ctx, bucket: &str, m: &ChatMessage, replies: usize, last_sent: bool) -> Html {
    let mine = m.author == ctx.me;
    // The server's name for an older message's author (a former member
    // the index no longer names), else the index's.
    let author = if mine {
        "You".to_owned()
    } else {
        ctx.names
            .get(&m.author)
            .cloned()
            .unwrap_or_else(|| ctx.index.name_of(&m.author).to_owned())
    };
    let react = |emoji: &'static str, on: bool| {
        let (on_edit, bucket, id) = (ctx.on_edit.clone(), bucket.to_owned(), m.id.clone());
        Callback::from(move |_| {
            let edit = if on {
                ChatEdit::Unreact {
                    message: id.clone(),
                    emoji: emoji.to_owned(),
                }
            } else {
                ChatEdit::React {
                    message: id.clone(),
                    emoji: emoji.to_owned(),
                    at: now(),
                }
            };
            on_edit.emit((bucket.clone(), edit));
        })
    };
    let reacted = |emoji: &str| {
        m.reactions
            .iter()
            .any(|r| r.emoji == emoji && r.by.contains(&ctx.me))
    };
    let status = if !mine || ctx.archived {
        Html::default()
    } else if m.unsent {
        html! { <span class="status sending">{ if ctx.online { "Sending…" } else { "Sending when online" } }</span> }
    } else if last_sent {
        html! { <span class="status sent">{ "✓ Sent" }</span> }
    } else {
        Html::default()
    };
    let body = if m.removed_by.is_some() {
        html! { <p class="gone">{ "Removed by an admin" }</p> }
    } else if m.deleted {
        html! { <p class="gone">{ "Message deleted" }</p> }
    } else {
        html! {
            <>
                if !m.body.is_empty() { <p class="body">{ rich(&m.body, &ctx.index) }</p> }
                if let Some(file) = &m.file { { attachment(ctx, file, &m.author) } }
            </>
        }
    };
    let gone = m.is_gone();
    let on_delete = {
        let (on_edit, bucket, id) = (ctx.on_edit.clone(), bucket.to_owned(), m.id.clone());
        Callback::from(move |_| {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message("Delete this message for everyone?")
                        .ok()
                })
                .unwrap_or(false);
            if sure {
                on_edit.emit((
                    bucket.clone(),
                    ChatEdit::Delete {
                        id: id.clone(),
                        at: now(),
                    },
                ));
            }
        })
    };
    let on_start_edit = {
        let (editing, id) = (ctx.editing.clone(), m.id.clone());
        Callback::from(move |_| editing.set(Some(id.clone())))
    };
    html! {
        <li class={classes!("message", mine.then_some("mine"), m.unsent.then_some("unsent"))} id={format!("m-{}", m.id)}>
            <div class="meta" id={format!("m-{}-meta", m.id)}>
                <strong class="author">{ author }</strong>
                <time>{ show::short_time(m.at.0) }</time>
                if m.edited_at.is_some() && !gone { <span class="hint">{ "(edited)" }</span> }
                if ctx.archived && m.reply_to.is_some() { <span class="hint">{ "in a thread" }</span> }
                { status }
            </div>
            { body }
            if !m.reactions.is_empty() {
                <div class="reactions">
                    { for m.reactions.iter().map(|r| {
                        let on = reacted(&r.emoji);
                        let names: Vec<&str> = r.by.iter().map(|b| if *b == ctx.me { "you" } else { ctx.index.name_of(b) }).collect();
                        let emoji: &'static str = REACTIONS.iter().copied().find(|e| *e == r.emoji).unwrap_or("");
                        html! {
                            <button type="button" class="reaction" aria-pressed={on.to_string()}
                                aria-label={format!("{} {}: {}", r.emoji, r.by.len(), names.join(", "))}
                                disabled={emoji.is_empty() || gone || !ctx.posts}
                                onclick={react(emoji, on)}>
                                { format!("{} {}", r.emoji, r.by.len()) }
                            </button>
                        }
                    }) }
                </div>
            }
            if !gone && !ctx.archived {
                <div class="message-actions">
                    if (replies > 0 || m.reply_to.is_none()) && !ctx.in_thread {
                        <a class="button quiet" href={format!("#thread-{}_{}", ctx.channel, m.id)}>{
                            match replies { 0 => "Reply".to_owned(), 1 => "1 reply".to_owned(), n => format!("{n} replies") }
                        }</a>
                    }
                    if ctx.posts {
                        <details class="react-menu">
                            <summary class="button quiet" aria-label="Add a reaction">{ "☺+" }</summary>
                            <div class="react-choices">
                                { for REACTIONS.iter().map(|e| html! {
                                    <button type="button" class="quiet" aria-label={format!("React {e}")}
                                        aria-pressed={reacted(e).to_string()} onclick={react(e, reacted(e))}>{ *e }</button>
                                }) }
                            </div>
                        </details>
                    }
                    if mine {
                        <button type="button" class="quiet" onclick={on_start_edit} aria-describedby={format!("m-{}-meta", m.id)}>{ "Edit" }</button>
                        <button type="button" class="quiet" onclick={on_delete} aria-describedby={format!("m-{}-meta", m.id)}>{ "Delete" }</button>
                    }
                </div>
            }
        </li>
    }
}

/// A file as a message shows it: a picture inline (a link to it whole), a
/// voice clip with its waveform and a player, anything else as a card to
/// open or save. Shown from the device while it waits to be uploaded.
fn attachment(ctx: &Ctx, file: &model::ChatFile, author: &str) -> Html {
    let local = ctx.local_files.get(&file.id).cloned();
    let waiting = ctx.uploading.contains(&file.id);
    let src = local
        .clone()
        .unwrap_or_else(|| format!("/api/chat/files/{author}/{}", file.id));
    let size = show::file_size(file.bytes);
    let note = waiting.then(|| {
        html! { <span class="status sending">{ if ctx.online { "Uploading…" } else { "Uploads when online" } }</span> }
    });
    // A message may come before its file's bytes (its sender's upload
    // waits for a network): the picture or sound is asked for again every
    // 5 s, for a quarter of an hour, until it loads.
    let onerror = Callback::from(|e: Event| {
        let Some(element) = e.target_dyn_into::<web_sys::Element>() else {
            return;
        };
        let tries: u32 = element
            .get_attribute("data-tries")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if tries >= 180 {
            return;
        }
        let _ = element.set_attribute("data-tries", &(tries + 1).to_string());
        gloo_timers::callback::Timeout::new(5_000, move || {
            if let Some(src) = element.get_attribute("src") {
                let _ = element.set_attribute("src", &src);
            }
        })
        .forget();
    });
    if let Some(voice) = &file.voice {
        // Rounded as the player rounds it.
        let secs = (voice.duration_ms + 500) / 1000;
        let length = format!("{}:{:02}", secs / 60, secs % 60);
        return html! {
            <div class="voice-clip">
                <div class="waveform" aria-hidden="true">
                    { for voice.waveform.iter().map(|v| html! {
                        <span class={format!("h{}", v / 32)}></span>
                    }) }
                </div>
                <audio controls=true preload="metadata" src={src} onerror={onerror.clone()}
                    aria-label={format!("Voice clip, {length}")}></audio>
                <span class="hint">{ length }</span>
                { for note }
            </div>
        };
    }
    if file.is_image() {
        // The thumbnail when there is one (sized, so the message keeps its
        // place as it loads), the picture whole a tap away.
        let (shown, width, height) = match &file.thumb {
            Some(t) => (
                ctx.local_files
                    .get(&t.id)
                    .cloned()
                    .unwrap_or_else(|| format!("/api/chat/files/{author}/{}", t.id)),
                Some(t.width.to_string()),
                Some(t.height.to_string()),
            ),
            None => (src.clone(), None, None),
        };
        return html! {
            <figure class="file-image">
                <a href={src.clone()} target="_blank" rel="noopener">
                    <img src={shown} alt={file.name.clone()} {width} {height} loading="lazy" decoding="async" {onerror} />
                </a>
                <figcaption class="hint">{ format!("{} · {size}", file.name) }{ for note }</figcaption>
            </figure>
        };
    }
    let icon = if file.content_type == "application/pdf" {
        "📄"
    } else {
        "📎"
    };
    html! {
        <a class="file-card" href={src} target="_blank" rel="noopener" download={(!file.content_type.starts_with("application/pdf")).then(|| file.name.clone())}>
            <span class="file-icon" aria-hidden="true">{ icon }</span>
            <span class="file-name">{ &file.name }</span>
            <span class="hint">{ size }</span>
            { for note }
        </a>
    }
}

/// A message's text with its links and mentions marked; never as HTML.
fn rich(body: &str, index: &ChannelIndex) -> Html {
    let mut out = Vec::new();
    for (n, line) in body.split('\n').enumerate() {
        if n > 0 {
            out.push(html! { <br /> });
        }
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                out.push(html! { " " });
            }
            let trimmed = word.trim_end_matches(['.', ',', ')', '!', '?']);
            if (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
                && trimmed.len() > 8
            {
                out.push(html! { <a href={trimmed.to_owned()} target="_blank" rel="noopener noreferrer">{ trimmed }</a> });
                out.push(html! { { &word[trimmed.len()..] } });
            } else if model::mentioned(word, &index.members).is_some() {
                out.push(html! { <span class="mention">{ word }</span> });
            } else {
                out.push(html! { { word } });
            }
        }
    }
    html! { for out }
}

/// The box a message is written in (a reply in a thread), or where one's
/// own message is changed.
fn composer(ctx: &Ctx, reply_to: Option<String>, all: &[(String, ChatMessage)]) -> Html {
    if !ctx.posts {
        let who = if ctx.index.form == ChannelForm::TeamAnnouncements {
            "Only your team leader posts here."
        } else {
            "Only the programme team posts here."
        };
        return html! { <p class="read-only">{ who }</p> };
    }
    let editing = (*ctx.editing).as_ref().and_then(|id| {
        all.iter()
            .find(|(_, m)| m.id == *id && m.author == ctx.me)
            .cloned()
    });
    let label = match (&editing, &reply_to) {
        (Some(_), _) => "Change your message".to_owned(),
        (None, Some(_)) => "Reply in thread".to_owned(),
        (None, None) => format!("Message {}", ctx.index.name),
    };
    let key = editing
        .as_ref()
        .map_or_else(|| "new".to_owned(), |(_, m)| format!("edit-{}", m.id));
    let on_typing = {
        let (presence, channel) = (ctx.presence.clone(), ctx.channel.clone());
        Callback::from(move |state: PresenceState| presence.emit((channel.clone(), state)))
    };
    let file_reply_to = reply_to.clone();
    let on_send = {
        let (on_edit, index, editing_state) =
            (ctx.on_edit.clone(), ctx.index.clone(), ctx.editing.clone());
        let editing = editing.clone();
        Callback::from(move |text: String| {
            let at = now();
            match &editing {
                Some((bucket, m)) => {
                    if text.trim() != m.body.trim() {
                        on_edit.emit((
                            bucket.clone(),
                            ChatEdit::Change {
                                id: m.id.clone(),
                                at,
                                body: text,
                            },
                        ));
                    }
                    editing_state.set(None);
                }
                None => {
                    let Some(bucket) = index.bucket_for(at, LIVE_BUCKETS) else {
                        return;
                    };
                    on_edit.emit((
                        bucket.doc_id.clone(),
                        ChatEdit::Post {
                            id: new_id(),
                            at,
                            body: text,
                            reply_to: reply_to.clone(),
                            file: None,
                        },
                    ));
                }
            }
        })
    };
    let on_cancel = editing.is_some().then(|| {
        let editing = ctx.editing.clone();
        Callback::from(move |_| editing.set(None))
    });
    // A file or a voice clip goes as a message of its own, into the
    // thread when written there.
    let on_file = editing.is_none().then(|| {
        let (attach, index, channel) = (ctx.attach.clone(), ctx.index.clone(), ctx.channel.clone());
        Callback::from(
            move |(blob, file, thumb): (web_sys::Blob, model::ChatFile, Option<web_sys::Blob>)| {
                let at = now();
                let Some(bucket) = index.bucket_for(at, LIVE_BUCKETS) else {
                    return;
                };
                attach.emit(super::Attach {
                    channel: channel.clone(),
                    bucket: bucket.doc_id.clone(),
                    post: ChatEdit::Post {
                        id: new_id(),
                        at,
                        body: String::new(),
                        reply_to: file_reply_to.clone(),
                        file: Some(file),
                    },
                    blob,
                    thumb,
                });
            },
        )
    });
    html! {
        <Composer key={key} label={label} start={editing.map(|(_, m)| AttrValue::from(m.body))}
            on_send={on_send} on_cancel={on_cancel} on_typing={on_typing} on_file={on_file} />
    }
}

/// A file id as the server takes them: 128 random bits in hex.
fn new_file_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The file a person chose or dropped, as a message names it; or why it
/// cannot be sent (checked here as the server checks it).
fn file_of(file: &web_sys::File) -> Result<model::ChatFile, String> {
    let chat_file = model::ChatFile {
        id: new_file_id(),
        name: file.name(),
        content_type: file.type_(),
        bytes: file.size() as u64,
        voice: None,
        thumb: None,
    };
    model::check_chat_file(&chat_file).map_err(|e| format!("{}: {e}", file.name()))?;
    Ok(chat_file)
}

/// A picture worth a thumbnail (one of more than 64 KB, not an animated
/// GIF) goes with one made on the device; anything else goes at once. A
/// picture the browser cannot draw goes without.
fn with_thumb(
    blob: web_sys::Blob,
    mut file: model::ChatFile,
    on_file: Callback<(web_sys::Blob, model::ChatFile, Option<web_sys::Blob>)>,
) {
    if !file.is_image() || file.content_type == "image/gif" || file.bytes <= 64 * 1024 {
        on_file.emit((blob, file, None));
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let edge = model::chat_limits::THUMB_EDGE;
        let thumb = match crate::picture::jpeg(&blob, crate::picture::Fit::Within(edge), 0.72).await
        {
            Ok(made) => {
                file.thumb = Some(model::Thumb {
                    id: new_file_id(),
                    width: made.width,
                    height: made.height,
                });
                Some(made.blob)
            }
            Err(_) => None,
        };
        on_file.emit((blob, file, thumb));
    });
}

#[derive(Properties, PartialEq)]
struct ComposerProps {
    label: String,
    /// What the box holds as it opens (a message being changed).
    start: Option<AttrValue>,
    on_send: Callback<String>,
    on_cancel: Option<Callback<()>>,
    /// Typing, and done typing (sent): told to the others.
    on_typing: Callback<PresenceState>,
    /// A file chosen, dropped or recorded (not while changing a message).
    on_file: Option<Callback<(web_sys::Blob, model::ChatFile, Option<web_sys::Blob>)>>,
}

#[function_component(Composer)]
fn composer_box(props: &ComposerProps) -> Html {
    let field = use_node_ref();
    let error = use_state(|| None::<String>);
    {
        // Filled once as it opens, never with `value=` (see the
        // architecture's rule on fields people type in).
        let (field, start) = (field.clone(), props.start.clone());
        use_effect_with((), move |_| {
            if let (Some(area), Some(start)) = (field.cast::<web_sys::HtmlTextAreaElement>(), start)
            {
                area.set_value(&start);
                let _ = area.focus();
            }
        });
    }
    let typed_at = use_mut_ref(|| 0f64);
    let send = {
        let (field, on_send, error) = (field.clone(), props.on_send.clone(), error.clone());
        let (on_typing, typed_at) = (props.on_typing.clone(), typed_at.clone());
        move || {
            let Some(area) = field.cast::<web_sys::HtmlTextAreaElement>() else {
                return;
            };
            let text = area.value();
            if text.trim().is_empty() {
                return;
            }
            match model::check_chat_body(&text) {
                Ok(()) => {
                    error.set(None);
                    area.set_value("");
                    on_send.emit(text.trim_end().to_owned());
                    on_typing.emit(PresenceState::Here);
                    *typed_at.borrow_mut() = 0.0;
                    let _ = area.focus();
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        }
    };
    let onsubmit = {
        let send = send.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send();
        })
    };
    // With a keyboard, Enter sends and Shift+Enter starts a new line (as
    // chat apps do); on a touch screen, whose keyboard has no Shift+Enter,
    // Enter is a new line and the button sends.
    let touch = web_sys::window()
        .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches());
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" && !e.shift_key() && !e.is_composing() && !touch {
            e.prevent_default();
            send();
        }
    });
    // "Typing" is said at most every 3 s while keys go down.
    let oninput = {
        let on_typing = props.on_typing.clone();
        Callback::from(move |_: InputEvent| {
            let now = js_sys::Date::now();
            if now - *typed_at.borrow() > 3_000.0 {
                *typed_at.borrow_mut() = now;
                on_typing.emit(PresenceState::Typing);
            }
        })
    };
    let onescape = props.on_cancel.clone().map(|cancel| {
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                cancel.emit(());
            }
        })
    });
    let files = props.on_file.clone().map(|on_file| {
        let error = error.clone();
        move |list: Option<web_sys::FileList>| {
            let Some(list) = list else { return };
            for i in 0..list.length() {
                let Some(file) = list.get(i) else { continue };
                match file_of(&file) {
                    Ok(chat_file) => {
                        error.set(None);
                        with_thumb(file.into(), chat_file, on_file.clone());
                    }
                    Err(why) => error.set(Some(why)),
                }
            }
        }
    });
    let onchange = files.clone().map(|files| {
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                files(input.files());
                input.set_value("");
            }
        })
    });
    // Dropped on the box: files from the desktop.
    let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
    let ondrop = files.map(|files| {
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            files(e.data_transfer().and_then(|d| d.files()));
        })
    });
    let on_clip = props.on_file.clone().map(|on_file| {
        let error = error.clone();
        Callback::from(move |clip: super::voice::Clip| {
            let file = model::ChatFile {
                id: new_file_id(),
                name: format!(
                    "Voice clip.{}",
                    if clip.content_type == "audio/mp4" {
                        "m4a"
                    } else if clip.content_type == "audio/ogg" {
                        "ogg"
                    } else {
                        "webm"
                    }
                ),
                content_type: clip.content_type,
                bytes: clip.blob.size() as u64,
                voice: Some(model::Voice {
                    duration_ms: clip.duration_ms,
                    waveform: clip.waveform,
                }),
                thumb: None,
            };
            match model::check_chat_file(&file) {
                Ok(()) => on_file.emit((clip.blob, file, None)),
                Err(e) => error.set(Some(format!("The voice clip {e}"))),
            }
        })
    });
    let accept = model::CHAT_FILE_TYPES.join(",");
    html! {
        <form class="composer" {onsubmit} onkeyup={onescape} {ondragover} ondrop={ondrop}>
            <textarea ref={field} rows="1" aria-label={props.label.clone()} placeholder={props.label.clone()}
                maxlength="4000" {onkeydown} {oninput} aria-invalid={error.is_some().then_some("true")}
                aria-describedby={error.is_some().then_some("composer-error")}></textarea>
            if let Some(onchange) = onchange {
                <label class="button icon attach" title="Attach a file">
                    <span aria-hidden="true">{ "📎" }</span>
                    <input type="file" class="visually-hidden" aria-label="Attach a file" multiple=true
                        accept={accept} {onchange} />
                </label>
            }
            if let Some(on_clip) = on_clip {
                <Recorder {on_clip} />
            }
            <button type="submit" class="primary">{ if props.start.is_some() { "Save" } else { "Send" } }</button>
            if let Some(cancel) = props.on_cancel.clone() {
                <button type="button" onclick={move |_| cancel.emit(())}>{ "Cancel" }</button>
            }
            if let Some(e) = &*error {
                <p id="composer-error" class="error" role="alert">{ e }</p>
            }
        </form>
    }
}
