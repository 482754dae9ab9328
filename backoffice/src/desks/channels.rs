//! Chat: every channel of the programme, and one opened beside them (or
//! under them on a phone) with its messages newest first, the admin's
//! post (in the programme's announcements),
//! a message removed for everyone (moderation, recorded as the admin's),
//! and the channel exported as CSV.
//!
//! What an admin posts is written by the server as theirs into the
//! channel's documents, so partners' devices read it as any message; the
//! desk reads the server's projection, as the older history does.

use yew::prelude::*;

use super::{Ctx, parts::answer};
use web_common::{
    api::{self, AdminChannel, AdminPost, ApiError, HistoryMessage, Posted},
    forms::{Change, form},
    show,
};

pub const NAME: &str = "channels";
pub const TITLE: &str = "Chat";

/// Messages shown of the channel opened: the newest; the export has all.
const SHOWN: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub channels: Vec<AdminChannel>,
    /// The channel opened (`choice`) and its newest messages.
    pub messages: Option<Vec<HistoryMessage>>,
}

pub async fn fetch(choice: &str) -> Result<Answers, ApiError> {
    let channels = api::get("/api/admin/channels");
    if choice.is_empty() {
        return Ok(Answers {
            channels: channels.await?,
            messages: None,
        });
    }
    let history = format!("/api/chat/channels/{choice}/history?limit={SHOWN}");
    let (channels, messages) = futures::try_join!(channels, api::get(&history))?;
    Ok(Answers {
        channels,
        messages: Some(messages),
    })
}

fn form_word(form: &str) -> &'static str {
    match form {
        "announcements" => "Announcements",
        "team" => "Team",
        "team_announcements" => "Team announcements",
        "topic" => "Topic",
        "direct" => "Conversation",
        _ => "Channel",
    }
}

pub fn view(Answers { channels, messages }: &Answers, ctx: &Ctx) -> Html {
    let chosen = channels.iter().find(|c| c.doc_id == ctx.choice);
    let list = html! {
        <nav class="channel-picks" aria-label="Channels">
            <h2 class="section">{ "Channels" }</h2>
            if channels.is_empty() { <p class="hint">{ "No channels yet." }</p> }
            <ul class="plain">
                { for channels.iter().map(|c| pick(c, ctx)) }
            </ul>
        </nav>
    };
    let opened = match (chosen, messages) {
        (Some(c), Some(messages)) => channel(c, messages, ctx),
        _ => {
            html! { <p class="hint">{ "Open a channel to read it, post to it or export it." }</p> }
        }
    };
    html! {
        <div class={classes!("chat-desk", ctx.wide.then_some("desk-split"))}>
            { list }
            <section class="channel-opened">{ opened }</section>
        </div>
    }
}

fn pick(c: &AdminChannel, ctx: &Ctx) -> Html {
    let open = ctx.choose.reform({
        let id = c.doc_id.clone();
        move |_| id.clone()
    });
    let last = c
        .last_at
        .as_deref()
        .map(|t| {
            format!(
                " · last {}",
                show::short_time(js_sys::Date::parse(t) as i64)
            )
        })
        .unwrap_or_default();
    let people = match (c.form.as_str(), c.members) {
        ("announcements", _) => "everyone reads".to_owned(),
        (_, 1) => "1 member".to_owned(),
        (_, n) => format!("{} members", show::count(n.into())),
    };
    let messages = match c.messages {
        0 => "no messages".to_owned(),
        1 => "1 message".to_owned(),
        n => format!("{} messages", show::count(n.into())),
    };
    let current = c.doc_id == ctx.choice;
    html! {
        <li>
            <button type="button" class="channel-pick" onclick={open}
                aria-current={current.then_some("true")}>
                <strong>{ &c.name }</strong>
                <span class="hint">{ format!("{} · {people} · {messages}{last}", form_word(&c.form)) }</span>
            </button>
        </li>
    }
}

fn channel(c: &AdminChannel, messages: &[HistoryMessage], ctx: &Ctx) -> Html {
    // Admins post in the programme's announcements (see the route).
    let post = (c.form == "announcements").then(|| {
        let (change, path) = (
            ctx.change.clone(),
            format!("/api/admin/channels/{}/messages", c.doc_id),
        );
        let onsubmit = Callback::from(move |e: SubmitEvent| {
            let body = form(&e)("body");
            change.emit(Change::new(
                "POST",
                path.clone(),
                Some(&AdminPost { body }),
                |o| {
                    answer(
                        o,
                        |_: Posted| html! { "Posted. Partners see it as they sync." },
                    )
                },
            ));
        });
        let label = "An announcement to everyone";
        html! {
            <form id="post-form" class="card" {onsubmit}>
                <label>{ label }
                    <textarea name="body" rows="3" required=true maxlength="4000"></textarea>
                </label>
                <button type="submit" class="primary">{ "Post as yourself" }</button>
            </form>
        }
    });
    html! {
        <>
            <div class="list-head">
                <h2 id="channel-opened-name">{ &c.name }</h2>
                <a class="button" href={format!("/api/admin/channels/{}/export", c.doc_id)} download="">{ "Export CSV" }</a>
            </div>
            { for post }
            <h3 class="section">{ "Messages, newest first" }</h3>
            if messages.is_empty() { <p class="hint">{ "No messages yet." }</p> }
            <ol class="plain admin-messages" aria-labelledby="channel-opened-name">
                { for messages.iter().map(|m| message(&c.doc_id, m, ctx)) }
            </ol>
            if messages.len() >= SHOWN {
                <p class="hint">{ format!("The {SHOWN} newest messages; the export has every one.") }</p>
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ConfirmProps {
    keep: Callback<MouseEvent>,
    remove: Callback<MouseEvent>,
    described_by: String,
}

/// The second thought before a removal: a component, so that "Keep"
/// takes the focus the "Remove…" button had as it appears.
#[function_component(Confirm)]
fn confirm(props: &ConfirmProps) -> Html {
    let keep = use_node_ref();
    {
        let keep = keep.clone();
        use_effect_with((), move |_| {
            if let Some(button) = keep.cast::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        });
    }
    html! {
        <div class="row confirm" role="group" aria-label="Remove this message?">
            <span>{ "Remove it for everyone?" }</span>
            <button type="button" ref={keep} onclick={props.keep.clone()}>{ "Keep" }</button>
            <button type="button" class="danger" onclick={props.remove.clone()}
                aria-describedby={props.described_by.clone()}>{ "Remove" }</button>
        </div>
    }
}

fn message(channel: &str, m: &HistoryMessage, ctx: &Ctx) -> Html {
    let at = js_sys::Date::parse(&m.written_at) as i64;
    let body = match (&m.removed_by, m.deleted) {
        (Some(admin), _) => html! { <p class="gone">{ format!("Removed by {admin}") }</p> },
        (None, true) => html! { <p class="gone">{ "Deleted by its author" }</p> },
        (None, false) => html! {
            <>
                if !m.body.is_empty() { <p class="body">{ &m.body }</p> }
                if let Some(f) = &m.file {
                    <p class="file-line"><a href={format!("/api/chat/files/{}/{}", m.author, f.id)} target="_blank" rel="noopener">
                        { format!("📎 {} · {}", f.name, show::file_size(f.bytes)) }
                    </a></p>
                }
            </>
        },
    };
    let gone = m.removed_by.is_some() || m.deleted;
    let meta_id = format!("am-{}-meta", m.id);
    let action = if gone {
        Html::default()
    } else if ctx.reasoning_about(&m.id) {
        let path = format!("/api/admin/channels/{channel}/messages/{}", m.id);
        let remove = ctx.change.reform(move |_: MouseEvent| {
            Change::new("DELETE", path.clone(), None::<&()>, |_| {
                html! { "Removed. Partners see it removed as they sync." }
            })
        });
        html! {
            <Confirm keep={ctx.reason.reform(|_| None)} {remove} described_by={meta_id.clone()} />
        }
    } else {
        html! {
            <button type="button" class="quiet danger" onclick={ctx.ask_why(&m.id)} aria-describedby={meta_id.clone()}>{ "Remove…" }</button>
        }
    };
    html! {
        <li class="card admin-message" data-id={m.id.clone()}>
            <div class="meta" id={meta_id}>
                <strong>{ &m.author_name }</strong>
                <time>{ show::when(at) }</time>
                if m.edited_at.is_some() && !gone { <span class="hint">{ "(edited)" }</span> }
                if m.reply_to.is_some() { <span class="hint">{ "in a thread" }</span> }
            </div>
            { body }
            { action }
        </li>
    }
}
