//! Team chat: the channels a person belongs to (their team's, the
//! programme's announcements, topics), each an index document the server
//! writes and messages documents by month that members write, all kept on
//! the device. A message is written into the local document at once, so it
//! is on the device (IndexedDB) before anything is sent: it shows
//! "sending" until the server's shared heads cover it, survives a restart,
//! and goes by itself when the network comes back. Who wrote a message is
//! read from the document (the actor of its change), never from a field.
//!
//! The list of channels is asked of the server when online and kept on
//! the device (localStorage, per account), so the chat opens offline.

mod page;
mod uploads;
mod voice;

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet, HashMap},
    rc::Rc,
};

use engine_protocol::{DocKind, DocNews, Edit, FollowId, PresenceState, Reading};
use model::{
    ChannelForm, ChannelIndex, ChatEdit, ChatMessage, Messages, Reads, ReadsEdit, Timestamp,
};
use wasm_bindgen_futures::spawn_local;
use web_common::api::{self, MyChannel};
use yew::prelude::*;

use crate::engine::EngineRef;

pub use page::{Input, view};

/// The module's pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `#chat`: the channels.
    List,
    /// `#chat-<index doc>`: a channel's conversation.
    Channel(String),
    /// `#thread-<index doc>_<message>`: a message and its replies.
    Thread(String, String),
}

/// A document id as samod makes them (base58): letters and digits.
fn doc_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl crate::page::Page for Page {
    fn parse(name: &str) -> Option<Page> {
        if name == "chat" {
            return Some(Page::List);
        }
        if let Some(id) = name.strip_prefix("chat-") {
            return doc_id(id).then(|| Page::Channel(id.to_owned()));
        }
        let (channel, message) = name.strip_prefix("thread-")?.split_once('_')?;
        (doc_id(channel) && model::valid_message_id(message))
            .then(|| Page::Thread(channel.to_owned(), message.to_owned()))
    }

    fn name(&self) -> String {
        match self {
            Page::List => "chat".to_owned(),
            Page::Channel(id) => format!("chat-{id}"),
            Page::Thread(id, m) => format!("thread-{id}_{m}"),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Page::Thread(..) => "Thread",
            _ => "Chat",
        }
    }
}

/// The module's part of the app's state.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    /// The channels this account reads, as the server last listed them.
    pub channels: Rc<Vec<MyChannel>>,
    /// Whether that list came from the server since the app started.
    pub listed: bool,
    /// Channel indexes, by document.
    pub indexes: BTreeMap<String, Rc<ChannelIndex>>,
    /// Messages documents, by document.
    pub buckets: BTreeMap<String, Rc<Messages>>,
    /// The last change the engine refused, in words.
    pub refused: Option<String>,
    /// Who said where they are, by channel: what and when (ms).
    pub presence: BTreeMap<String, BTreeMap<String, (PresenceState, i64)>>,
    /// How far this person read each channel (their own document).
    pub reads: Rc<Reads>,
    /// Files attached on this device, shown from here (object URLs), by id.
    pub local_files: Rc<BTreeMap<String, String>>,
    /// Of those, the ones the server does not have yet.
    pub uploading: Rc<BTreeSet<String>>,
    /// The last file the server refused, and why.
    pub upload_refused: Option<String>,
}

pub enum Action {
    Channels {
        channels: Vec<MyChannel>,
        fresh: bool,
    },
    Index {
        doc_id: String,
        index: ChannelIndex,
    },
    Bucket {
        doc_id: String,
        messages: Messages,
    },
    /// A change made here, shown before the document has taken it.
    Shown {
        bucket: String,
        edit: ChatEdit,
        me: String,
    },
    Refused(String),
    Presence {
        channel: String,
        user: String,
        state: PresenceState,
    },
    Reads(Reads),
    /// Read up to a message, shown before the document has taken it.
    ReadTo {
        channel: String,
        to: Timestamp,
    },
    /// Files waiting on the device: id and where it is shown from.
    Queued(Vec<(String, String)>),
    /// The server has this file.
    Uploaded(String),
    /// The server refused this file, for this reason.
    UploadRefused {
        id: String,
        why: String,
    },
}

/// Who is in a channel now, and who of them is typing (`me` left out).
pub struct Present {
    pub here: Vec<String>,
    pub typing: Vec<String>,
}

/// The times of presence, as `sync::presence` has them (the screens'
/// module does not depend on the sync crate, which brings samod).
pub const HEARTBEAT_MS: i64 = 15_000;
const HERE_FOR_MS: i64 = 45_000;
const TYPING_FOR_MS: i64 = 6_000;

/// How many of a channel's newest messages documents are followed live:
/// this month's, the one before, and next month's (opened ahead).
pub const LIVE_BUCKETS: usize = 3;

impl State {
    pub fn reduce(&mut self, action: Action) {
        match action {
            Action::Channels { channels, fresh } => {
                if fresh {
                    // A channel the server no longer lists (left, or a
                    // removal by an admin) leaves the screens with its
                    // messages; the server has stopped sending it anyway.
                    self.indexes
                        .retain(|id, _| channels.iter().any(|c| c.doc_id == *id));
                    let kept: Vec<String> = self
                        .indexes
                        .values()
                        .flat_map(|i| i.buckets.iter().map(|b| b.doc_id.clone()))
                        .collect();
                    self.buckets.retain(|id, _| kept.contains(id));
                }
                self.channels = Rc::new(channels);
                self.listed |= fresh;
            }
            Action::Index { doc_id, index } => {
                self.indexes.insert(doc_id, Rc::new(index));
            }
            Action::Bucket { doc_id, messages } => {
                self.buckets.insert(doc_id, Rc::new(messages));
                self.refused = None;
            }
            Action::Shown { bucket, edit, me } => {
                let mut messages = self
                    .buckets
                    .get(&bucket)
                    .map(|m| (**m).clone())
                    .unwrap_or_default();
                messages.shown_with(&edit, &me);
                self.buckets.insert(bucket, Rc::new(messages));
            }
            Action::Refused(why) => self.refused = Some(why),
            Action::Queued(files) => {
                self.upload_refused = None;
                let mut local = (*self.local_files).clone();
                let mut uploading = (*self.uploading).clone();
                for (id, url) in files {
                    uploading.insert(id.clone());
                    local.entry(id).or_insert(url);
                }
                self.local_files = Rc::new(local);
                self.uploading = Rc::new(uploading);
            }
            Action::Uploaded(id) => {
                let mut uploading = (*self.uploading).clone();
                uploading.remove(&id);
                self.uploading = Rc::new(uploading);
            }
            Action::UploadRefused { id, why } => {
                let mut uploading = (*self.uploading).clone();
                uploading.remove(&id);
                self.uploading = Rc::new(uploading);
                self.upload_refused = Some(why);
            }
            Action::Reads(reads) => self.reads = Rc::new(reads),
            Action::ReadTo { channel, to } => {
                let mut reads = (*self.reads).clone();
                let at = reads.read_to.entry(channel).or_insert(to);
                *at = (*at).max(to);
                self.reads = Rc::new(reads);
            }
            Action::Presence {
                channel,
                user,
                state,
            } => {
                let at = js_sys::Date::now() as i64;
                self.presence
                    .entry(channel)
                    .or_default()
                    .insert(user, (state, at));
            }
        }
    }

    /// Who is in `channel` at `now`: heard from within the times of
    /// presence, and not gone away.
    pub fn present(&self, channel: &str, me: &str, now: i64) -> Present {
        let mut present = Present {
            here: Vec::new(),
            typing: Vec::new(),
        };
        for (user, (state, at)) in self.presence.get(channel).into_iter().flatten() {
            let age = now - at;
            if user == me || *state == PresenceState::Away || age > HERE_FOR_MS {
                continue;
            }
            present.here.push(user.clone());
            if *state == PresenceState::Typing && age <= TYPING_FOR_MS {
                present.typing.push(user.clone());
            }
        }
        present
    }

    /// The documents to follow: every index, and each one's live buckets.
    pub fn wanted(&self) -> Vec<(String, DocKind)> {
        let mut wanted: Vec<(String, DocKind)> = self
            .channels
            .iter()
            .map(|c| (c.doc_id.clone(), DocKind::Channel))
            .collect();
        for c in self.channels.iter() {
            if let Some(index) = self.indexes.get(&c.doc_id) {
                wanted.extend(
                    index
                        .latest(LIVE_BUCKETS)
                        .iter()
                        .map(|b| (b.doc_id.clone(), DocKind::Messages)),
                );
            }
        }
        wanted
    }

    /// Messages of others in `channel` not read yet.
    pub fn unread(&self, channel: &str, me: &str) -> usize {
        let messages = self.messages(channel);
        self.reads
            .unread(channel, me, messages.iter().map(|(_, m)| m))
    }

    /// Unread messages in every channel.
    pub fn unread_total(&self, me: &str) -> usize {
        self.channels
            .iter()
            .map(|c| self.unread(&c.doc_id, me))
            .sum()
    }

    /// A channel's messages on the device, in order, each with the
    /// document it is in (where its reactions and changes go).
    pub fn messages(&self, channel: &str) -> Vec<(String, ChatMessage)> {
        let Some(index) = self.indexes.get(channel) else {
            return Vec::new();
        };
        let mut all: Vec<(String, ChatMessage)> = index
            .latest(LIVE_BUCKETS)
            .iter()
            .filter_map(|b| Some((b.doc_id.clone(), self.buckets.get(&b.doc_id)?)))
            .flat_map(|(doc, m)| m.messages.iter().map(move |m| (doc.clone(), m.clone())))
            .collect();
        all.sort_by(|(_, a), (_, b)| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        all
    }
}

fn kept_key(account: &str) -> String {
    format!("chat-channels:{account}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Posts `body` in the account's team channel (a win celebrated from the
/// Team screen) as a message written on this device, offline too, to be
/// sent when online; the channel's index document, to open it, or `None`
/// when this device knows no team channel it may post in yet.
pub fn post_in_team(state: &State, senders: &Senders, body: String) -> Option<String> {
    let channel = state
        .channels
        .iter()
        .find(|c| c.form == ChannelForm::Team.as_str() && c.posts)?;
    let index = state.indexes.get(&channel.doc_id)?;
    let at = Timestamp(js_sys::Date::now() as i64);
    let bucket = index.bucket_for(at, LIVE_BUCKETS)?;
    senders.edit.emit((
        bucket.doc_id.clone(),
        ChatEdit::Post {
            id: page::new_id(),
            at,
            body,
            reply_to: None,
            file: None,
        },
    ));
    Some(channel.doc_id.clone())
}

/// What the chat's pages send: changes to a messages document, and this
/// device's presence in a channel.
#[derive(Clone, PartialEq)]
pub struct Senders {
    pub edit: Callback<(String, ChatEdit)>,
    pub presence: Callback<(String, PresenceState)>,
    /// Read a channel up to the message written then.
    pub read: Callback<(String, Timestamp)>,
    /// Ask the server for the list of channels again (one was made).
    pub refresh: Callback<()>,
    /// A message with a file: kept on the device, then written, then
    /// uploaded.
    pub attach: Callback<Attach>,
}

/// A message that carries a file (see [`uploads`]).
pub struct Attach {
    pub channel: String,
    pub bucket: String,
    /// A `ChatEdit::Post` whose `file` names the blob.
    pub post: ChatEdit,
    pub blob: web_sys::Blob,
    /// A picture's thumbnail, named by the file's `thumb`.
    pub thumb: Option<web_sys::Blob>,
}

/// Follows the channels of `account` on `engine` (the list asked again
/// whenever `online` turns true) and tells `on` how they read; gives the
/// callbacks that write into a messages document and say where this
/// device is.
#[hook]
pub fn use_chat(
    engine: Option<EngineRef>,
    account: Option<String>,
    online: bool,
    wanted: Vec<(String, DocKind)>,
    reads_doc: Option<String>,
    on: Callback<Action>,
) -> Senders {
    let mut wanted = wanted;
    if let Some(doc) = &reads_doc {
        wanted.push((doc.clone(), DocKind::Reads));
    }
    // The list: what the device kept, then the server's (again when asked).
    let asked = use_state(|| 0u32);
    {
        let on = on.clone();
        use_effect_with(
            (account.clone(), online, *asked),
            move |(account, online, _)| {
                if let Some(account) = account.clone() {
                    let kept = storage()
                        .and_then(|s| s.get_item(&kept_key(&account)).ok().flatten())
                        .and_then(|text| serde_json::from_str::<Vec<MyChannel>>(&text).ok());
                    if let Some(channels) = kept {
                        on.emit(Action::Channels {
                            channels,
                            fresh: false,
                        });
                    }
                    if *online {
                        spawn_local(async move {
                            if let Ok(channels) =
                                api::get::<Vec<MyChannel>>("/api/chat/channels").await
                            {
                                if let Some(s) = storage() {
                                    let _ = s.set_item(
                                        &kept_key(&account),
                                        &serde_json::to_string(&channels).unwrap_or_default(),
                                    );
                                }
                                on.emit(Action::Channels {
                                    channels,
                                    fresh: true,
                                });
                            }
                        });
                    }
                }
            },
        );
    }
    // The follows, kept across renders: a document stays followed while it
    // is wanted, and all go with the engine.
    let follows = use_mut_ref(Follows::default);
    {
        let on = on.clone();
        let follows = follows.clone();
        use_effect_with((engine.clone(), wanted), move |(engine, wanted)| {
            follows.borrow_mut().update(engine.clone(), wanted, &on);
        });
    }
    {
        let follows = follows.clone();
        use_effect_with((), move |_| {
            move || follows.borrow_mut().update(None, &[], &Callback::noop())
        });
    }
    // The upload queue: opened with the account, what waits shown, and
    // sent each time the app is online.
    let uploads = use_mut_ref(|| None::<uploads::Uploads>);
    let draining = use_mut_ref(|| false);
    let on_uploads = on.clone();
    {
        let (uploads, draining, on) = (uploads.clone(), draining.clone(), on.clone());
        use_effect_with((account.clone(), online), move |(account, online)| {
            let (account, online) = (account.clone(), *online);
            spawn_local(async move {
                let Some(account) = account else { return };
                let opened = uploads.borrow().clone();
                let store = match opened {
                    Some(store) => store,
                    None => {
                        let Ok(store) = uploads::Uploads::open(&account).await else {
                            return;
                        };
                        let waiting: Vec<(String, String)> = store
                            .all()
                            .await
                            .iter()
                            .map(|q| (q.id.clone(), object_url(&q.blob)))
                            .collect();
                        if !waiting.is_empty() {
                            on.emit(Action::Queued(waiting));
                        }
                        *uploads.borrow_mut() = Some(store.clone());
                        store
                    }
                };
                if online {
                    drain(store, draining, on);
                }
            });
        });
    }
    let presence = {
        let follows = follows.clone();
        use_callback((), move |(channel, state): (String, PresenceState), _| {
            follows.borrow().presence(&channel, state);
        })
    };
    let read = {
        let (follows, on) = (follows.clone(), on.clone());
        use_callback(
            reads_doc,
            move |(channel, to): (String, Timestamp), reads_doc| {
                let Some(doc) = reads_doc.clone() else { return };
                on.emit(Action::ReadTo {
                    channel: channel.clone(),
                    to,
                });
                follows
                    .borrow_mut()
                    .edit(&doc, ReadsEdit::Read { channel, to }.into());
            },
        )
    };
    let edit = use_callback(
        account.clone(),
        move |(bucket, edit): (String, ChatEdit), account| {
            let Some(me) = account.clone() else { return };
            on.emit(Action::Shown {
                bucket: bucket.clone(),
                edit: edit.clone(),
                me,
            });
            follows.borrow_mut().edit(&bucket, edit.into());
        },
    );
    // Each ask a value of its own (the time), so that a second ask from
    // the same render still changes it.
    let refresh = {
        let asked = asked.setter();
        use_callback((), move |(), _| {
            asked.set((js_sys::Date::now() as u64 % 4_000_000_000) as u32)
        })
    };
    let attach = {
        let (uploads, draining, on, edit) = (
            uploads.clone(),
            draining.clone(),
            on_uploads.clone(),
            edit.clone(),
        );
        use_callback(online, move |attach: Attach, online| {
            let Some(store) = uploads.borrow().clone() else {
                on.emit(Action::Refused(
                    "files cannot be kept on this device (its storage is not open)".to_owned(),
                ));
                return;
            };
            let ChatEdit::Post {
                file: Some(file), ..
            } = &attach.post
            else {
                return;
            };
            // The thumbnail first: queued first, it is sent first, and the
            // others see the picture small before it is there whole.
            let thumb = file
                .thumb
                .as_ref()
                .zip(attach.thumb.clone())
                .map(|(t, blob)| uploads::Queued {
                    id: t.id.clone(),
                    channel: attach.channel.clone(),
                    name: "Thumbnail.jpg".to_owned(),
                    content_type: "image/jpeg".to_owned(),
                    blob,
                });
            let queued: Vec<uploads::Queued> = thumb
                .into_iter()
                .chain([uploads::Queued {
                    id: file.id.clone(),
                    channel: attach.channel.clone(),
                    name: file.name.clone(),
                    content_type: file.content_type.clone(),
                    blob: attach.blob.clone(),
                }])
                .collect();
            let (on, edit, draining, online) =
                (on.clone(), edit.clone(), draining.clone(), *online);
            spawn_local(async move {
                for file in &queued {
                    if let Err(why) = store.add(file).await {
                        on.emit(Action::Refused(format!("the file was not kept: {why}")));
                        return;
                    }
                }
                on.emit(Action::Queued(
                    queued
                        .iter()
                        .map(|q| (q.id.clone(), object_url(&q.blob)))
                        .collect(),
                ));
                edit.emit((attach.bucket, attach.post));
                if online {
                    drain(store, draining, on);
                }
            });
        })
    };
    Senders {
        edit,
        presence,
        read,
        refresh,
        attach,
    }
}

/// Where a blob on the device is shown from.
fn object_url(blob: &web_sys::Blob) -> String {
    web_sys::Url::create_object_url_with_blob(blob).unwrap_or_default()
}

/// Sends the queue, oldest first, until it is empty; when the network or
/// the server fails, again 30 s later (and whenever the app comes online);
/// one drain at a time.
fn drain(store: uploads::Uploads, draining: Rc<RefCell<bool>>, on: Callback<Action>) {
    if draining.replace(true) {
        return;
    }
    spawn_local(async move {
        while let Some(file) = store.all().await.into_iter().next() {
            match uploads::send(&file).await {
                uploads::Sent::Done => {
                    store.remove(&file.id).await;
                    on.emit(Action::Uploaded(file.id));
                }
                uploads::Sent::Refused(why) => {
                    store.remove(&file.id).await;
                    on.emit(Action::UploadRefused {
                        id: file.id,
                        why: format!("{} was not uploaded: {why}", file.name),
                    });
                }
                uploads::Sent::Later => {
                    // Again in 30 s, or at once when the app is online
                    // again: the flag is down while it waits, so the
                    // drain that coming online starts is not turned away.
                    draining.replace(false);
                    gloo_timers::callback::Timeout::new(30_000, move || drain(store, draining, on))
                        .forget();
                    return;
                }
            }
        }
        draining.replace(false);
    });
}

#[derive(Default)]
struct Follows {
    engine: Option<EngineRef>,
    by_doc: HashMap<String, FollowId>,
    /// Changes made before their document was followed.
    waiting: Vec<(String, Edit)>,
}

impl Follows {
    fn update(
        &mut self,
        engine: Option<EngineRef>,
        wanted: &[(String, DocKind)],
        on: &Callback<Action>,
    ) {
        if self.engine != engine {
            if let Some(EngineRef(old)) = &self.engine {
                for (_, id) in self.by_doc.drain() {
                    old.unfollow(id);
                }
            }
            self.by_doc.clear();
            self.engine = engine;
        }
        let Some(EngineRef(engine)) = self.engine.clone() else {
            return;
        };
        let gone: Vec<String> = self
            .by_doc
            .keys()
            .filter(|d| !wanted.iter().any(|(w, _)| w == *d))
            .cloned()
            .collect();
        for doc in gone {
            if let Some(id) = self.by_doc.remove(&doc) {
                engine.unfollow(id);
            }
        }
        for (doc, kind) in wanted {
            if self.by_doc.contains_key(doc) {
                continue;
            }
            let id = engine.follow(doc, *kind, hear(doc.clone(), on.clone()));
            self.by_doc.insert(doc.clone(), id);
        }
        let waiting = std::mem::take(&mut self.waiting);
        for (bucket, edit) in waiting {
            self.edit(&bucket, edit);
        }
    }

    fn presence(&self, channel: &str, state: PresenceState) {
        if let (Some(EngineRef(engine)), Some(id)) = (&self.engine, self.by_doc.get(channel)) {
            engine.presence(*id, state);
        }
    }

    fn edit(&mut self, bucket: &str, edit: Edit) {
        match (&self.engine, self.by_doc.get(bucket)) {
            (Some(EngineRef(engine)), Some(id)) => engine.edit(*id, edit),
            _ => self.waiting.push((bucket.to_owned(), edit)),
        }
    }
}

fn hear(doc_id: String, on: Callback<Action>) -> Rc<dyn Fn(DocNews)> {
    let last = RefCell::new(None::<String>);
    Rc::new(move |news| match news {
        DocNews::Read {
            reading: Ok(reading),
            ..
        } => match *reading {
            Reading::Channel(index) => on.emit(Action::Index {
                doc_id: doc_id.clone(),
                index,
            }),
            Reading::Messages(messages) => on.emit(Action::Bucket {
                doc_id: doc_id.clone(),
                messages,
            }),
            Reading::Reads(reads) => on.emit(Action::Reads(reads)),
            _ => {}
        },
        DocNews::Read {
            reading: Err(why), ..
        } if last.borrow().as_deref() != Some(why.as_str()) => {
            web_sys::console::warn_1(&format!("chat {doc_id}: {why}").into());
            *last.borrow_mut() = Some(why);
        }
        DocNews::Refused { why } => on.emit(Action::Refused(why)),
        DocNews::Presence { user, state, .. } => on.emit(Action::Presence {
            channel: doc_id.clone(),
            user,
            state,
        }),
        _ => {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Page as _;

    #[test]
    fn pages_round_trip_through_the_hash() {
        for page in [
            Page::List,
            Page::Channel("2cUvHkqX".into()),
            Page::Thread("2cUvHkqX".into(), "19a2b3c4d5e-0a1b2c3d".into()),
        ] {
            assert_eq!(Page::parse(&page.name()), Some(page));
        }
        assert_eq!(Page::parse("chat-../x"), None);
        assert_eq!(Page::parse("thread-abc"), None);
        assert_eq!(Page::parse("thread-abc_a b"), None);
    }
}
