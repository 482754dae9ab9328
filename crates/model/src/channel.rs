//! A team channel: messages several people write, the simplest document
//! whose changes the server checks one by one (see the server's
//! `shared_writes.rs`).
//!
//! Layout (schema 1):
//!
//! ```text
//! ROOT { schema: 1, kind: "channel", name: "Team Ana",
//!        messages: [ { author: "a-ben", text: Text, at: ts } ] }
//! ```
//!
//! The server makes the root and the `messages` list; a member only ever
//! inserts a message of their own into the list, then edits or deletes
//! what they inserted. That is exactly what the server lets through: no
//! member can rewrite the structure or another member's message.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable};

use crate::{ModelError, Timestamp, read::string};

pub const CHANNEL_KIND: &str = "channel";
const SCHEMA: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The account that says it wrote it; the server vouches for the actor
    /// of each change, not for this field.
    pub author: String,
    pub text: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub messages: Vec<Message>,
}

pub struct ChannelDoc;

impl ChannelDoc {
    /// The structure, written once by the server.
    pub fn init(doc: &mut automerge::Automerge, name: &str) -> Result<(), ModelError> {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "kind", CHANNEL_KIND)?;
            tx.put(ROOT, "name", name)?;
            tx.put_object(ROOT, "messages", ObjType::List)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    /// Appends a message.
    pub fn post(
        doc: &mut automerge::Automerge,
        author: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<(), ModelError> {
        let messages = list(doc)?;
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let end = tx.length(&messages);
            let message = tx.insert_object(&messages, end, ObjType::Map)?;
            tx.put(&message, "author", author)?;
            let body = tx.put_object(&message, "text", ObjType::Text)?;
            tx.splice_text(&body, 0, 0, text)?;
            tx.put(&message, "at", at.0)?;
            Ok(())
        })
        .map_err(|failure| ModelError::from(failure.error))?;
        Ok(())
    }

    pub fn read(doc: &automerge::Automerge) -> Result<Channel, ModelError> {
        let kind = string(doc, &ROOT, "kind");
        if kind.as_deref() != Some(CHANNEL_KIND) {
            return Err(ModelError::WrongKind {
                expected: CHANNEL_KIND,
                found: kind,
            });
        }
        let messages = list(doc)?;
        let mut out = Vec::new();
        for i in 0..doc.length(&messages) {
            let Some((Value::Object(ObjType::Map), message)) = doc.get(&messages, i)? else {
                return Err(ModelError::BadField { field: "messages" });
            };
            let text = match doc.get(&message, "text")? {
                Some((Value::Object(ObjType::Text), body)) => doc.text(&body)?,
                _ => return Err(ModelError::BadField { field: "text" }),
            };
            let at = match doc.get(&message, "at")? {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Int(ms) => *ms,
                    _ => return Err(ModelError::BadField { field: "at" }),
                },
                _ => return Err(ModelError::BadField { field: "at" }),
            };
            out.push(Message {
                author: string(doc, &message, "author")
                    .ok_or(ModelError::BadField { field: "author" })?,
                text,
                at: Timestamp(at),
            });
        }
        Ok(Channel {
            name: string(doc, &ROOT, "name").ok_or(ModelError::BadField { field: "name" })?,
            messages: out,
        })
    }
}

fn list(doc: &automerge::Automerge) -> Result<ObjId, ModelError> {
    match doc.get(ROOT, "messages")? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Err(ModelError::BadField { field: "messages" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_two_replicas_merge() {
        let mut server = automerge::Automerge::new();
        ChannelDoc::init(&mut server, "Team Ana").unwrap();
        let mut ana = server.fork();
        let mut ben = server.fork();
        ChannelDoc::post(&mut ana, "a-ana", "Kick-off at 9", Timestamp(1)).unwrap();
        ChannelDoc::post(&mut ben, "a-ben", "On my way", Timestamp(2)).unwrap();
        ana.merge(&mut ben).unwrap();
        let channel = ChannelDoc::read(&ana).unwrap();
        assert_eq!(channel.name, "Team Ana");
        let mut texts: Vec<_> = channel.messages.iter().map(|m| m.text.as_str()).collect();
        texts.sort();
        assert_eq!(texts, ["Kick-off at 9", "On my way"]);
    }

    #[test]
    fn another_kind_is_refused() {
        let doc = automerge::Automerge::new();
        assert!(matches!(
            ChannelDoc::read(&doc),
            Err(ModelError::WrongKind { .. })
        ));
    }
}
