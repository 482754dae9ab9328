//! Channels and messages over Automerge (see the module's doc).

use std::collections::{BTreeMap, HashMap};

use automerge::{
    ActorId, Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
    transaction::Transactable,
};

use super::{
    Bucket, CHANNEL_KIND, ChannelForm, ChannelIndex, ChatEdit, ChatMessage, MESSAGES_KIND, Member,
    Messages, READS_KIND, Reads, ReadsEdit, add_reaction, sort,
};
use crate::{
    ModelError, Timestamp,
    read::{Entries, check_kind},
};

const INDEX_SCHEMA: u64 = 1;
const MESSAGES_SCHEMA: u64 = 1;

/// A member's actor id: their account id, a zero byte, then `random`
/// (16 bytes from the device's generator, fresh for every opening, as
/// Automerge's own actors are). The server accepts a new actor in a shared
/// document only from the account it names.
pub fn actor_for(account_id: &str, random: [u8; 16]) -> ActorId {
    let mut bytes = Vec::with_capacity(account_id.len() + 17);
    bytes.extend_from_slice(account_id.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&random);
    ActorId::from(bytes)
}

/// The account an actor writes for, if it is a member's (see
/// [`actor_for`]); the server's own actors name nobody.
pub fn author_of(actor: &ActorId) -> Option<&str> {
    let bytes = actor.to_bytes();
    let at = bytes.iter().position(|b| *b == 0)?;
    if bytes.len() - at - 1 < 8 {
        return None;
    }
    // An account id as the server makes them and peer ids carry them.
    std::str::from_utf8(&bytes[..at]).ok().filter(|a| {
        (1..=64).contains(&a.len())
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The op that made an object, as the order of making compares them
/// (counter, then actor): which of two copies came first.
fn made_by(obj: &ObjId) -> Option<(u64, Vec<u8>)> {
    match obj {
        ObjId::Id(counter, actor, _) => Some((*counter, actor.to_bytes().to_vec())),
        ObjId::Root => None,
    }
}

fn author_of_obj(obj: &ObjId) -> Option<&str> {
    match obj {
        ObjId::Id(_, actor, _) => author_of(actor),
        ObjId::Root => None,
    }
}

pub struct ChannelIndexDoc;

impl ChannelIndexDoc {
    /// Makes `doc` hold `index`, writing only what differs (an empty
    /// document becomes an index).
    pub fn write(doc: &mut Automerge, index: &ChannelIndex) -> Result<(), ModelError> {
        let fresh = doc.keys(ROOT).next().is_none();
        if !fresh {
            check_kind(doc, CHANNEL_KIND, INDEX_SCHEMA)?;
            if ChannelIndexDoc::read(doc).is_ok_and(|held| held == *index) {
                return Ok(());
            }
        }
        let members_held = map_of(doc, "members");
        let buckets_held = map_of(doc, "buckets");
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            if fresh {
                tx.put(ROOT, "schema", INDEX_SCHEMA)?;
                tx.put(ROOT, "kind", CHANNEL_KIND)?;
            }
            if crate::read::string(tx, &ROOT, "name").as_deref() != Some(index.name.as_str()) {
                tx.put(ROOT, "name", index.name.as_str())?;
            }
            if crate::read::string(tx, &ROOT, "form").as_deref() != Some(index.form.as_str()) {
                tx.put(ROOT, "form", index.form.as_str())?;
            }
            let wanted_members: BTreeMap<&str, &str> = index
                .members
                .iter()
                .map(|m| (m.account_id.as_str(), m.name.as_str()))
                .collect();
            let wanted_buckets: BTreeMap<&str, &str> = index
                .buckets
                .iter()
                .map(|b| (b.period.as_str(), b.doc_id.as_str()))
                .collect();
            for (key, wanted, held) in [
                ("members", wanted_members, &members_held),
                ("buckets", wanted_buckets, &buckets_held),
            ] {
                let map = match held {
                    Some((id, _)) => id.clone(),
                    None => tx.put_object(ROOT, key, ObjType::Map)?,
                };
                let held: BTreeMap<String, String> =
                    held.as_ref().map(|(_, h)| h.clone()).unwrap_or_default();
                for gone in held.keys().filter(|k| !wanted.contains_key(k.as_str())) {
                    tx.delete(&map, gone.as_str())?;
                }
                for (k, v) in &wanted {
                    if held.get(*k).map(String::as_str) != Some(*v) {
                        tx.put(&map, *k, *v)?;
                    }
                }
            }
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    pub fn read(doc: &impl ReadDoc) -> Result<ChannelIndex, ModelError> {
        check_kind(doc, CHANNEL_KIND, INDEX_SCHEMA)?;
        let root = Entries::of(doc, &ROOT);
        let bad = |field| ModelError::BadField { field };
        let form = root
            .str("form")
            .and_then(|f| ChannelForm::parse(&f))
            .ok_or(bad("form"))?;
        let mut members: Vec<Member> = map_of(doc, "members")
            .ok_or(bad("members"))?
            .1
            .into_iter()
            .map(|(account_id, name)| Member { account_id, name })
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name).then(a.account_id.cmp(&b.account_id)));
        let mut buckets: Vec<Bucket> = map_of(doc, "buckets")
            .ok_or(bad("buckets"))?
            .1
            .into_iter()
            .map(|(period, doc_id)| Bucket { period, doc_id })
            .collect();
        buckets.sort_by(|a, b| super::period_order(&a.period).cmp(&super::period_order(&b.period)));
        Ok(ChannelIndex {
            name: root.str("name").ok_or(bad("name"))?,
            form,
            members,
            buckets,
        })
    }
}

/// A root map of strings, with its id (keys in order).
fn map_of(doc: &impl ReadDoc, key: &str) -> Option<(ObjId, BTreeMap<String, String>)> {
    let id = Entries::of(doc, &ROOT).obj(key, ObjType::Map)?;
    let values = doc
        .map_range(&id, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => {
                Some((item.key.to_string(), s.to_string()))
            }
            _ => None,
        })
        .collect();
    Some((id, values))
}

pub struct MessagesDoc;

impl MessagesDoc {
    /// The structure, written once by the server.
    pub fn init(doc: &mut Automerge, channel: &str, period: &str) -> Result<(), ModelError> {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", MESSAGES_SCHEMA)?;
            tx.put(ROOT, "kind", MESSAGES_KIND)?;
            tx.put(ROOT, "channel", channel)?;
            tx.put(ROOT, "period", period)?;
            tx.put_object(ROOT, "messages", ObjType::List)?;
            tx.put_object(ROOT, "reactions", ObjType::List)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// An admin's removal of message `id` (moderation), written by the
    /// server (its actor names no member: a device cannot call this and
    /// have the server take it). The message reads as removed, by whom,
    /// on every device, whatever its author writes after. `false`: it was
    /// removed already.
    pub fn remove(
        doc: &mut Automerge,
        id: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<bool, ModelError> {
        check_kind(doc, MESSAGES_KIND, MESSAGES_SCHEMA)?;
        if author_of(doc.get_actor()).is_some() {
            return Err(super::invalid("removal", "is the server's to write"));
        }
        if !super::valid_message_id(id) {
            return Err(super::invalid("message", "is no message id"));
        }
        let removed = Entries::of(doc, &ROOT).obj("removed", ObjType::Map);
        if let Some(map) = &removed
            && doc.get(map, id).ok().flatten().is_some()
        {
            return Ok(false);
        }
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let map = match &removed {
                Some(map) => map.clone(),
                None => tx.put_object(ROOT, "removed", ObjType::Map)?,
            };
            let entry = tx.put_object(&map, id, ObjType::Map)?;
            tx.put(&entry, "by", by)?;
            tx.put(&entry, "at", ScalarValue::Timestamp(at.0))?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(true)
    }

    /// How the document reads. `unconfirmed`: the changes the server has
    /// not confirmed yet; `me`'s messages made in one of them read as
    /// unsent.
    pub fn read(
        doc: &Automerge,
        me: Option<&str>,
        synced: Option<&[ChangeHash]>,
    ) -> Result<Messages, ModelError> {
        check_kind(doc, MESSAGES_KIND, MESSAGES_SCHEMA)?;
        let root = Entries::of(doc, &ROOT);
        let bad = |field| ModelError::BadField { field };
        let list = root.obj("messages", ObjType::List).ok_or(bad("messages"))?;
        let reactions_list = root
            .obj("reactions", ObjType::List)
            .ok_or(bad("reactions"))?;
        // The op ranges of the changes the server has not confirmed.
        let unconfirmed: Vec<(ActorId, u64, u64)> = match (me, synced) {
            (Some(_), Some(synced)) => doc
                .get_changes(
                    // Heads the device has not got back yet count as none.
                    &synced
                        .iter()
                        .filter(|h| doc.get_change_by_hash(h).is_some())
                        .copied()
                        .collect::<Vec<_>>(),
                )
                .iter()
                .map(|c| {
                    let start = c.start_op().get();
                    (c.actor_id().clone(), start, start + c.len() as u64)
                })
                .collect(),
            _ => Vec::new(),
        };
        let is_unsent = |obj: &ObjId| match obj {
            ObjId::Id(counter, actor, _) => unconfirmed
                .iter()
                .any(|(a, from, to)| a == actor && (*from..*to).contains(counter)),
            ObjId::Root => false,
        };
        // Removals by an admin, in a root map only the server writes (a
        // member's change to the root is refused), so whatever it holds
        // was decided there: message id -> { by, at }.
        let removed: HashMap<String, String> = root
            .obj("removed", ObjType::Map)
            .map(|map| {
                doc.map_range(&map, ..)
                    .filter_map(|item| {
                        let automerge::ValueRef::Object(ObjType::Map) = item.value else {
                            return None;
                        };
                        let by = Entries::of(doc, &item.id()).str("by")?;
                        Some((item.key.to_string(), by))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut messages = Vec::new();
        // Two messages with one id (someone copying another's, to shadow
        // it): the one made first, by op id, counts wherever it sits in
        // the list, so a later copy never hides the original.
        let mut first: HashMap<String, (u64, Vec<u8>)> = HashMap::new();
        for item in doc.list_range(&list, ..) {
            let obj = item.id();
            if let (Some(key), Some(id)) = (made_by(&obj), Entries::of(doc, &obj).str("id")) {
                let entry = first.entry(id).or_insert_with(|| key.clone());
                if key < *entry {
                    *entry = key;
                }
            }
        }
        for item in doc.list_range(&list, ..) {
            let automerge::ValueRef::Object(ObjType::Map) = item.value else {
                continue;
            };
            let obj = item.id();
            // A message whose author cannot be told is no message.
            let Some(author) = author_of_obj(&obj) else {
                continue;
            };
            let fields = Entries::of(doc, &obj);
            let (Some(id), Some(at)) = (fields.str("id"), fields.int("at")) else {
                continue;
            };
            if !super::valid_message_id(&id) || first.get(&id) != made_by(&obj).as_ref() {
                continue;
            }
            // What the author wrote is read as the app would let them
            // write it: a body that does not pass is not shown, a
            // `reply_to` that is no id is no thread. A removal is the
            // server's word, never the author's.
            let removed_by = removed.get(&id).cloned();
            let deleted = fields.boolean("deleted") == Some(true);
            let gone = deleted || removed_by.is_some();
            let body = fields.str("body").unwrap_or_default();
            // A file that does not pass is no file; a message with neither
            // a body nor a file is none.
            let file = if gone { None } else { read_file(doc, &fields) };
            // A file's message may have no text.
            let text_optional = body.is_empty() && file.is_some();
            if !gone && !text_optional && super::check_body(&body).is_err() {
                continue;
            }
            let body = if gone { String::new() } else { body };
            messages.push(ChatMessage {
                unsent: me == Some(author) && is_unsent(&obj),
                id,
                author: author.to_owned(),
                at: Timestamp(at),
                body,
                reply_to: fields
                    .str("reply_to")
                    .filter(|r| super::valid_message_id(r)),
                edited_at: fields.int("edited_at").map(Timestamp),
                deleted,
                removed_by,
                reactions: Vec::new(),
                file,
            });
        }
        sort(&mut messages);
        let at: HashMap<String, usize> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        for item in doc.list_range(&reactions_list, ..) {
            let automerge::ValueRef::Object(ObjType::Map) = item.value else {
                continue;
            };
            let obj = item.id();
            let Some(author) = author_of_obj(&obj) else {
                continue;
            };
            let fields = Entries::of(doc, &obj);
            let (Some(message), Some(emoji)) = (fields.str("message"), fields.str("emoji")) else {
                continue;
            };
            if super::check_emoji(&emoji).is_err() {
                continue;
            }
            if let Some(m) = at.get(&message).and_then(|&i| messages.get_mut(i)) {
                add_reaction(&mut m.reactions, &emoji, author);
            }
        }
        Ok(Messages {
            channel: root.str("channel").ok_or(bad("channel"))?,
            period: root.str("period").ok_or(bad("period"))?,
            messages,
        })
    }
}

impl ChatEdit {
    /// Writes the edit as the account of `doc`'s actor (which must be a
    /// member's, [`actor_for`]): only what the server will take from that
    /// account is written, so a change made here is never refused there.
    pub fn apply(&self, doc: &mut Automerge) -> Result<(), ModelError> {
        self.check()?;
        check_kind(doc, MESSAGES_KIND, MESSAGES_SCHEMA)?;
        let me = author_of(doc.get_actor())
            .ok_or_else(|| super::invalid("change", "is not written as a member"))?
            .to_owned();
        let root = Entries::of(doc, &ROOT);
        let bad = |field| ModelError::BadField { field };
        let list = root.obj("messages", ObjType::List).ok_or(bad("messages"))?;
        let reactions = root
            .obj("reactions", ObjType::List)
            .ok_or(bad("reactions"))?;
        drop(root);
        // One's own message, by id; `None` if it is not there or not one's.
        // The message with that id (the first made, as reading counts it),
        // and whether it is one's own.
        let own = |doc: &Automerge, id: &str| -> Option<(ObjId, bool)> {
            doc.list_range(&list, ..)
                .map(|item| item.id())
                .filter(|obj| Entries::of(doc, obj).str("id").as_deref() == Some(id))
                .min_by_key(|obj| made_by(obj).unwrap_or((u64::MAX, Vec::new())))
                .map(|obj| {
                    let mine = author_of_obj(&obj) == Some(me.as_str());
                    (obj, mine)
                })
        };
        let result = match self {
            ChatEdit::Post {
                id,
                at,
                body,
                reply_to,
                file,
            } => {
                if own(doc, id).is_some() {
                    return Err(super::invalid("message", "with that id exists"));
                }
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    let end = tx.length(&list);
                    let m = tx.insert_object(&list, end, ObjType::Map)?;
                    tx.put(&m, "id", id.as_str())?;
                    tx.put(&m, "at", ScalarValue::Timestamp(at.0))?;
                    tx.put(&m, "body", body.as_str())?;
                    if let Some(parent) = reply_to {
                        tx.put(&m, "reply_to", parent.as_str())?;
                    }
                    if let Some(file) = file {
                        let f = tx.put_object(&m, "file", ObjType::Map)?;
                        tx.put(&f, "id", file.id.as_str())?;
                        tx.put(&f, "name", file.name.as_str())?;
                        tx.put(&f, "content_type", file.content_type.as_str())?;
                        tx.put(&f, "bytes", ScalarValue::Uint(file.bytes))?;
                        if let Some(voice) = &file.voice {
                            tx.put(
                                &f,
                                "duration_ms",
                                ScalarValue::Uint(voice.duration_ms.into()),
                            )?;
                            tx.put(&f, "waveform", ScalarValue::Bytes(voice.waveform.clone()))?;
                        }
                        if let Some(thumb) = &file.thumb {
                            tx.put(&f, "thumb_id", thumb.id.as_str())?;
                            tx.put(&f, "thumb_width", ScalarValue::Uint(thumb.width.into()))?;
                            tx.put(&f, "thumb_height", ScalarValue::Uint(thumb.height.into()))?;
                        }
                    }
                    Ok(())
                })
            }
            ChatEdit::Change { id, at, body } => {
                let Some((m, true)) = own(doc, id) else {
                    return Err(super::invalid("message", "is not yours to change"));
                };
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(&m, "body", body.as_str())?;
                    tx.put(&m, "edited_at", ScalarValue::Timestamp(at.0))?;
                    Ok(())
                })
            }
            ChatEdit::Delete { id, at } => {
                let Some((m, true)) = own(doc, id) else {
                    return Err(super::invalid("message", "is not yours to delete"));
                };
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    tx.put(&m, "deleted", true)?;
                    tx.put(&m, "body", "")?;
                    if tx.get(&m, "file")?.is_some() {
                        tx.delete(&m, "file")?;
                    }
                    tx.put(&m, "edited_at", ScalarValue::Timestamp(at.0))?;
                    Ok(())
                })
            }
            ChatEdit::React { message, emoji, at } => {
                if own_reactions(doc, &reactions, &me, message, emoji)
                    .next()
                    .is_some()
                {
                    return Ok(());
                }
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    let end = tx.length(&reactions);
                    let r = tx.insert_object(&reactions, end, ObjType::Map)?;
                    tx.put(&r, "message", message.as_str())?;
                    tx.put(&r, "emoji", emoji.as_str())?;
                    tx.put(&r, "at", ScalarValue::Timestamp(at.0))?;
                    Ok(())
                })
            }
            ChatEdit::Unreact { message, emoji } => {
                let mut at: Vec<usize> =
                    own_reactions(doc, &reactions, &me, message, emoji).collect();
                if at.is_empty() {
                    return Ok(());
                }
                at.sort_unstable();
                doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                    for i in at.into_iter().rev() {
                        tx.delete(&reactions, i)?;
                    }
                    Ok(())
                })
            }
        };
        result.map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }
}

/// The positions of `me`'s reactions `emoji` to `message`.
fn own_reactions<'a>(
    doc: &'a Automerge,
    reactions: &'a ObjId,
    me: &'a str,
    message: &'a str,
    emoji: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    doc.list_range(reactions, ..).filter_map(move |item| {
        let obj = item.id();
        let fields = Entries::of(doc, &obj);
        (author_of_obj(&obj) == Some(me)
            && fields.str("message").as_deref() == Some(message)
            && fields.str("emoji").as_deref() == Some(emoji))
        .then_some(item.index)
    })
}

const READS_SCHEMA: u64 = 1;

pub struct ReadsDoc;

impl ReadsDoc {
    /// A person's empty read markers (the server makes one per partner).
    pub fn create() -> Result<Automerge, ModelError> {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", READS_SCHEMA)?;
            tx.put(ROOT, "kind", READS_KIND)?;
            tx.put_object(ROOT, "read_to", ObjType::Map)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(doc)
    }

    pub fn read(doc: &Automerge) -> Result<Reads, ModelError> {
        check_kind(doc, READS_KIND, READS_SCHEMA)?;
        let map = Entries::of(doc, &ROOT)
            .obj("read_to", ObjType::Map)
            .ok_or(ModelError::BadField { field: "read_to" })?;
        let mut read_to = std::collections::BTreeMap::new();
        for key in doc.keys(&map) {
            // Two devices marking apart leave both values: the later wins.
            let best = doc
                .get_all(&map, key.as_str())?
                .into_iter()
                .filter_map(|(value, _)| match value {
                    automerge::Value::Scalar(s) => match s.as_ref() {
                        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => Some(*n),
                        _ => None,
                    },
                    _ => None,
                })
                .max();
            if let Some(at) = best {
                read_to.insert(key, Timestamp(at));
            }
        }
        Ok(Reads { read_to })
    }
}

impl ReadsEdit {
    pub fn apply(&self, doc: &mut Automerge) -> Result<(), ModelError> {
        let ReadsEdit::Read { channel, to } = self;
        if channel.is_empty() || channel.len() > 64 {
            return Err(super::invalid("channel", "is not a channel id"));
        }
        let held = ReadsDoc::read(doc)?;
        if held.read_to.get(channel).is_some_and(|at| at >= to) {
            return Ok(());
        }
        let map = Entries::of(doc, &ROOT)
            .obj("read_to", ObjType::Map)
            .ok_or(ModelError::BadField { field: "read_to" })?;
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(&map, channel.as_str(), ScalarValue::Timestamp(to.0))?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }
}

/// A message's file as its author attached it, if it passes
/// [`super::check_file`].
fn read_file(doc: &Automerge, message: &Entries<'_>) -> Option<super::ChatFile> {
    let obj = message.obj("file", ObjType::Map)?;
    let f = Entries::of(doc, &obj);
    // A voice clip's two fields come together; one without the other, or
    // a waveform past its limit, is no file (checked below).
    let voice = match (f.integer("duration_ms"), f.bytes("waveform", 4096)) {
        (None, None) => None,
        (Some(ms), Some(waveform)) => Some(super::Voice {
            duration_ms: u32::try_from(ms).ok()?,
            waveform,
        }),
        _ => return None,
    };
    // A thumbnail's three fields come together too.
    let thumb = match (
        f.str("thumb_id"),
        f.integer("thumb_width"),
        f.integer("thumb_height"),
    ) {
        (None, None, None) => None,
        (Some(id), Some(width), Some(height)) => Some(super::Thumb {
            id,
            width: u32::try_from(width).ok()?,
            height: u32::try_from(height).ok()?,
        }),
        _ => return None,
    };
    let file = super::ChatFile {
        id: f.str("id")?,
        name: f.str("name")?,
        content_type: f.str("content_type")?,
        bytes: u64::try_from(f.integer("bytes")?).ok()?,
        voice,
        thumb,
    };
    super::check_file(&file).ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_member(doc: &Automerge, account: &str, n: u8) -> Automerge {
        doc.fork().with_actor(actor_for(account, [n; 16]))
    }

    fn bucket() -> Automerge {
        let mut doc = Automerge::new();
        MessagesDoc::init(&mut doc, "chan", "2026-12").unwrap();
        doc
    }

    fn post(id: &str, at: i64, body: &str) -> ChatEdit {
        ChatEdit::Post {
            id: id.into(),
            at: Timestamp(at),
            body: body.into(),
            reply_to: None,
            file: None,
        }
    }

    fn voice_clip() -> super::super::ChatFile {
        super::super::ChatFile {
            id: "0123456789abcdef0123456789abcdef".into(),
            name: "Voice clip.m4a".into(),
            content_type: "audio/mp4".into(),
            bytes: 18_000,
            voice: Some(super::super::Voice {
                duration_ms: 4_200,
                waveform: vec![0, 40, 255, 90],
            }),
            thumb: None,
        }
    }

    fn photo() -> super::super::ChatFile {
        super::super::ChatFile {
            id: "00000000000000000000000000000001".into(),
            name: "Roof.jpg".into(),
            content_type: "image/jpeg".into(),
            bytes: 3_000_000,
            voice: None,
            thumb: Some(super::super::Thumb {
                id: "00000000000000000000000000000002".into(),
                width: 480,
                height: 360,
            }),
        }
    }

    #[test]
    fn a_pictures_thumbnail_goes_with_it_and_one_that_does_not_pass_is_none() {
        let server = bucket();
        let mut ben = as_member(&server, "a-ben", 2);
        let shared = ChatEdit::Post {
            id: "p1".into(),
            at: Timestamp(10),
            body: String::new(),
            reply_to: None,
            file: Some(photo()),
        };
        shared.check().unwrap();
        shared.apply(&mut ben).unwrap();
        let read = MessagesDoc::read(&ben, None, None).unwrap();
        assert_eq!(read.messages[0].file, Some(photo()));
        // A thumbnail on a sound, under the picture's own id, larger than
        // a thumbnail is: refused on the device.
        let thumb = photo().thumb.unwrap();
        for bad in [
            super::super::ChatFile {
                thumb: Some(thumb.clone()),
                ..voice_clip()
            },
            super::super::ChatFile {
                thumb: Some(super::super::Thumb {
                    id: photo().id,
                    ..thumb.clone()
                }),
                ..photo()
            },
            super::super::ChatFile {
                thumb: Some(super::super::Thumb {
                    width: 4000,
                    ..thumb.clone()
                }),
                ..photo()
            },
            super::super::ChatFile {
                thumb: Some(super::super::Thumb {
                    height: 0,
                    ..thumb.clone()
                }),
                ..photo()
            },
        ] {
            assert!(super::super::check_file(&bad).is_err(), "{bad:?}");
        }
        // Written by hand: a thumbnail with a field missing, or too big,
        // is no file, and the message with no body is none.
        for (field, value) in [
            ("thumb_height", None),
            ("thumb_width", Some(ScalarValue::Uint(100_000))),
            ("thumb_id", Some(ScalarValue::Str("../x".into()))),
        ] {
            let mut forged = ben.fork().with_actor(actor_for("a-ben", [3; 16]));
            forged
                .transact::<_, _, automerge::AutomergeError>(|tx| {
                    let (_, list) = tx.get(ROOT, "messages")?.unwrap();
                    let (_, m) = tx.get(&list, 0)?.unwrap();
                    let (_, f) = tx.get(&m, "file")?.unwrap();
                    match &value {
                        Some(v) => tx.put(&f, field, v.clone())?,
                        None => tx.delete(&f, field)?,
                    }
                    Ok(())
                })
                .unwrap();
            let read = MessagesDoc::read(&forged, None, None).unwrap();
            assert!(read.messages.is_empty(), "{field}: {:?}", read.messages);
        }
    }

    #[test]
    fn an_admins_removal_is_the_servers_word_and_hides_the_message_everywhere() {
        let mut server = bucket();
        let mut ben = as_member(&server, "a-ben", 2);
        post("m1", 10, "buy my thing").apply(&mut ben).unwrap();
        post("m2", 11, "hello").apply(&mut ben).unwrap();
        server.merge(&mut ben).unwrap();
        // A member cannot write a removal, not even of their own message.
        let mut ana = as_member(&server, "a-ana", 3);
        assert!(MessagesDoc::remove(&mut ana, "m1", "a-ana", Timestamp(12)).is_err());
        assert!(MessagesDoc::remove(&mut server, "no such", "a-admin", Timestamp(12)).is_err());
        assert!(MessagesDoc::remove(&mut server, "m1", "a-admin", Timestamp(12)).unwrap());
        assert!(
            !MessagesDoc::remove(&mut server, "m1", "a-other", Timestamp(13)).unwrap(),
            "once is enough; the first admin stays the one named"
        );
        // Ben edits it offline, concurrently: it stays removed once merged.
        ChatEdit::Change {
            id: "m1".into(),
            at: Timestamp(14),
            body: "buy it now".into(),
        }
        .apply(&mut ben)
        .unwrap();
        ben.merge(&mut server).unwrap();
        let read = MessagesDoc::read(&ben, None, None).unwrap();
        let m1 = &read.messages[0];
        assert_eq!(m1.removed_by.as_deref(), Some("a-admin"));
        assert!(m1.is_gone() && !m1.deleted, "removed, not deleted by Ben");
        assert_eq!(m1.body, "", "its text is not shown");
        assert_eq!(read.messages[1].body, "hello", "the others stay");
        assert_eq!(read.messages[1].removed_by, None);
    }

    #[test]
    fn a_file_goes_with_its_message_and_one_that_does_not_pass_is_none() {
        let server = bucket();
        let mut ben = as_member(&server, "a-ben", 2);
        let clip = ChatEdit::Post {
            id: "v1".into(),
            at: Timestamp(10),
            body: String::new(),
            reply_to: None,
            file: Some(voice_clip()),
        };
        clip.check().unwrap();
        clip.apply(&mut ben).unwrap();
        let read = MessagesDoc::read(&ben, None, None).unwrap();
        assert_eq!(
            read.messages[0].file,
            Some(voice_clip()),
            "a body may be empty"
        );
        // Written by hand past the app's checks: an HTML file, a name with
        // a slash, a waveform too long. The message shows without it, or
        // not at all when it has no body either.
        for (field, value) in [
            ("content_type", ScalarValue::Str("text/html".into())),
            ("name", ScalarValue::Str("../../etc/passwd".into())),
            ("waveform", ScalarValue::Bytes(vec![1; 65])),
            (
                "bytes",
                ScalarValue::Uint(super::super::limits::FILE_BYTES + 1),
            ),
        ] {
            let mut forged = ben.fork().with_actor(actor_for("a-ben", [3; 16]));
            forged
                .transact::<_, _, automerge::AutomergeError>(|tx| {
                    let (_, list) = tx.get(ROOT, "messages")?.unwrap();
                    let (_, m) = tx.get(&list, 0)?.unwrap();
                    let (_, f) = tx.get(&m, "file")?.unwrap();
                    tx.put(&f, field, value.clone())?;
                    Ok(())
                })
                .unwrap();
            let read = MessagesDoc::read(&forged, None, None).unwrap();
            assert!(read.messages.is_empty(), "{field}: {:?}", read.messages);
        }
        let refused = ChatEdit::Post {
            id: "v2".into(),
            at: Timestamp(11),
            body: String::new(),
            reply_to: None,
            file: Some(super::super::ChatFile {
                content_type: "image/svg+xml".into(),
                ..voice_clip()
            }),
        };
        assert!(refused.check().is_err(), "an SVG is not shared");
        // Deleted, the message takes its file with it.
        ChatEdit::Delete {
            id: "v1".into(),
            at: Timestamp(12),
        }
        .apply(&mut ben)
        .unwrap();
        let read = MessagesDoc::read(&ben, None, None).unwrap();
        assert_eq!(
            (read.messages[0].deleted, &read.messages[0].file),
            (true, &None)
        );
    }

    #[test]
    fn authors_are_read_from_actors() {
        assert_eq!(author_of(&actor_for("a-ben", [7; 16])), Some("a-ben"));
        assert_eq!(author_of(&ActorId::from([7u8; 16].as_slice())), None);
        assert_eq!(
            author_of(&ActorId::from(b"\x01\0abcdefghij".to_vec())),
            None
        );
        assert_eq!(author_of(&ActorId::from(b"a-ben\0short".to_vec())), None);
    }

    #[test]
    fn messages_written_apart_interleave_by_time_then_id() {
        let server = bucket();
        let mut ana = as_member(&server, "a-ana", 1);
        let mut ben = as_member(&server, "a-ben", 2);
        post("b1", 10, "Ben first").apply(&mut ben).unwrap();
        post("a1", 20, "Ana second").apply(&mut ana).unwrap();
        post("b2", 30, "Ben third").apply(&mut ben).unwrap();
        post("a0", 30, "Ana, same instant").apply(&mut ana).unwrap();
        let mut one = ana.fork();
        one.merge(&mut ben.clone()).unwrap();
        let mut two = ben.fork();
        two.merge(&mut ana.clone()).unwrap();
        let read = |d: &Automerge| {
            MessagesDoc::read(d, None, None)
                .unwrap()
                .messages
                .into_iter()
                .map(|m| (m.id, m.author))
                .collect::<Vec<_>>()
        };
        assert_eq!(read(&one), read(&two));
        let ids: Vec<String> = read(&one).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["b1", "a1", "a0", "b2"]);
        assert_eq!(read(&one)[0].1, "a-ben");
    }

    #[test]
    fn only_ones_own_message_changes_and_reactions_are_per_person() {
        let server = bucket();
        let mut ana = as_member(&server, "a-ana", 1);
        post("a1", 1, "Kick-off at nine").apply(&mut ana).unwrap();
        let mut ben = as_member(&ana, "a-ben", 2);
        let change = ChatEdit::Change {
            id: "a1".into(),
            at: Timestamp(2),
            body: "Kick-off at ten".into(),
        };
        assert!(change.apply(&mut ben).is_err(), "not Ben's");
        change.apply(&mut ana).unwrap();
        let react = |emoji: &str| ChatEdit::React {
            message: "a1".into(),
            emoji: emoji.into(),
            at: Timestamp(3),
        };
        react("👍").apply(&mut ben).unwrap();
        react("👍").apply(&mut ben).unwrap();
        react("👍").apply(&mut ana).unwrap();
        ana.merge(&mut ben).unwrap();
        let m = &MessagesDoc::read(&ana, None, None).unwrap().messages[0];
        assert_eq!(m.body, "Kick-off at ten");
        assert_eq!(m.edited_at, Some(Timestamp(2)));
        assert_eq!(m.reactions.len(), 1);
        assert_eq!(m.reactions[0].by.len(), 2);
        ChatEdit::Unreact {
            message: "a1".into(),
            emoji: "👍".into(),
        }
        .apply(&mut ben)
        .unwrap();
        ChatEdit::Delete {
            id: "a1".into(),
            at: Timestamp(4),
        }
        .apply(&mut ana)
        .unwrap();
        ana.merge(&mut ben).unwrap();
        let m = &MessagesDoc::read(&ana, None, None).unwrap().messages[0];
        assert!(m.deleted && m.body.is_empty());
        assert_eq!(m.reactions[0].by, ["a-ana"]);
    }

    #[test]
    fn a_copy_of_anothers_message_id_never_hides_the_original() {
        let server = bucket();
        let mut ana = as_member(&server, "a-ana", 1);
        post("a1", 1, "Kick-off at nine").apply(&mut ana).unwrap();
        let mut ben = as_member(&ana, "a-ben", 2);
        // Ben inserts a message with Ana's id at the head of the list, by
        // hand (the app never would).
        let list = match ben.get(ROOT, "messages").unwrap() {
            Some((_, id)) => id,
            None => panic!("no list"),
        };
        ben.transact::<_, _, automerge::AutomergeError>(|tx| {
            let m = tx.insert_object(&list, 0, ObjType::Map)?;
            tx.put(&m, "id", "a1")?;
            tx.put(&m, "at", ScalarValue::Timestamp(1))?;
            tx.put(&m, "body", "Cancelled")?;
            Ok(())
        })
        .unwrap();
        let read = MessagesDoc::read(&ben, None, None).unwrap();
        assert_eq!(read.messages.len(), 1);
        assert_eq!(read.messages[0].author, "a-ana");
        assert_eq!(read.messages[0].body, "Kick-off at nine");
        // And Ana still changes her own.
        ana.merge(&mut ben).unwrap();
        ChatEdit::Change {
            id: "a1".into(),
            at: Timestamp(2),
            body: "Kick-off at ten".into(),
        }
        .apply(&mut ana)
        .unwrap();
        let read = MessagesDoc::read(&ana, None, None).unwrap();
        assert_eq!(read.messages[0].body, "Kick-off at ten");
    }

    #[test]
    fn a_message_is_unsent_until_the_server_has_its_change() {
        let server = bucket();
        let mut ben = as_member(&server, "a-ben", 2);
        let synced = ben.get_heads();
        post("b1", 1, "hello").apply(&mut ben).unwrap();
        let m = MessagesDoc::read(&ben, Some("a-ben"), Some(&synced)).unwrap();
        assert!(m.messages[0].unsent);
        let now = ben.get_heads();
        let m = MessagesDoc::read(&ben, Some("a-ben"), Some(&now)).unwrap();
        assert!(!m.messages[0].unsent);
    }

    #[test]
    fn a_server_actor_cannot_write_as_a_member() {
        let mut doc = bucket();
        assert!(post("x", 1, "hi").apply(&mut doc).is_err());
    }

    #[test]
    fn read_markers_only_move_forward_and_the_later_wins_a_merge() {
        let mut phone = ReadsDoc::create().unwrap();
        let mut laptop = phone.fork();
        let read = |c: &str, to: i64| ReadsEdit::Read {
            channel: c.into(),
            to: Timestamp(to),
        };
        read("team", 20).apply(&mut phone).unwrap();
        read("team", 10).apply(&mut phone).unwrap();
        assert_eq!(
            ReadsDoc::read(&phone).unwrap().read_to["team"],
            Timestamp(20)
        );
        read("team", 30).apply(&mut laptop).unwrap();
        phone.merge(&mut laptop).unwrap();
        laptop.merge(&mut phone.clone()).unwrap();
        for doc in [&phone, &laptop] {
            assert_eq!(ReadsDoc::read(doc).unwrap().read_to["team"], Timestamp(30));
        }
        let reads = ReadsDoc::read(&phone).unwrap();
        let m = |author: &str, at: i64| ChatMessage {
            id: format!("{author}{at}"),
            author: author.into(),
            at: Timestamp(at),
            body: "x".into(),
            reply_to: None,
            edited_at: None,
            deleted: false,
            removed_by: None,
            reactions: vec![],
            file: None,
            unsent: false,
        };
        let list = [
            m("a-ana", 25),
            m("a-ana", 35),
            m("a-ben", 40),
            m("a-ana", 50),
        ];
        assert_eq!(reads.unread("team", "a-ben", &list), 2);
        assert_eq!(reads.unread("other", "a-ben", &list), 3);
    }

    #[test]
    fn an_index_is_written_as_a_difference_and_reads_back() {
        let mut index = ChannelIndex {
            name: "Team Ana".into(),
            form: ChannelForm::Team,
            members: vec![
                Member {
                    account_id: "a-ben".into(),
                    name: "Ben".into(),
                },
                Member {
                    account_id: "a-ana".into(),
                    name: "Ana".into(),
                },
            ],
            buckets: vec![Bucket {
                period: "2026-12".into(),
                doc_id: "d1".into(),
            }],
        };
        let mut doc = Automerge::new();
        ChannelIndexDoc::write(&mut doc, &index).unwrap();
        let read = ChannelIndexDoc::read(&doc).unwrap();
        assert_eq!(read.members[0].name, "Ana");
        let heads = doc.get_heads();
        ChannelIndexDoc::write(&mut doc, &read).unwrap();
        assert_eq!(doc.get_heads(), heads, "nothing changed, nothing written");
        index.members.retain(|m| m.account_id != "a-ben");
        index.buckets.push(Bucket {
            period: "2027-01".into(),
            doc_id: "d2".into(),
        });
        ChannelIndexDoc::write(&mut doc, &index).unwrap();
        let read = ChannelIndexDoc::read(&doc).unwrap();
        assert_eq!(read.members.len(), 1);
        assert_eq!(read.latest(1)[0].doc_id, "d2");
    }

    #[test]
    fn a_month_split_early_reads_in_order_and_takes_its_months_messages() {
        let bucket = |period: &str| Bucket {
            period: period.into(),
            doc_id: format!("d{period}"),
        };
        let index = ChannelIndex {
            name: "Announcements".into(),
            form: ChannelForm::Announcements,
            members: Vec::new(),
            buckets: ["2027-01", "2026-12.10", "2026-12", "2026-12.9", "2026-12.2"]
                .map(bucket)
                .to_vec(),
        };
        let mut doc = Automerge::new();
        ChannelIndexDoc::write(&mut doc, &index).unwrap();
        let read = ChannelIndexDoc::read(&doc).unwrap();
        let periods: Vec<&str> = read.buckets.iter().map(|b| b.period.as_str()).collect();
        assert_eq!(
            periods,
            ["2026-12", "2026-12.2", "2026-12.9", "2026-12.10", "2027-01"]
        );
        // 2026-12-20 goes into December's newest split; January's into
        // January's.
        let december = Timestamp(1_797_724_800_000);
        assert_eq!(crate::month_of(december), "2026-12");
        assert_eq!(read.bucket_for(december, 3).unwrap().period, "2026-12.10");
        let january = Timestamp(1_798_848_000_000);
        assert_eq!(read.bucket_for(january, 3).unwrap().period, "2027-01");
    }
}
