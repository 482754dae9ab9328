//! Validated shared writes: what a member may change in a document that
//! several accounts write (a team `channel`).
//!
//! A pipeline document has one writer, so the server only asks who is
//! writing. A shared document has many, and Automerge would merge anything
//! anyone sends, so before a `sync` message for one reaches samod the guard
//! decodes the changes in it and checks each op against who wrote what. The
//! idea is authorship by actor: every op id carries the actor that made it,
//! so every object and every list element names its author, and the
//! server's registry (`actors`: actor → account, or the server) says whose
//! that actor is. A member may
//!
//! - write only under actors of their own account (a new actor is claimed
//!   for them and registered before the message goes on), and a new actor
//!   must name that account (`model::actor_for`: the account id, a zero
//!   byte, random bytes), so every reader tells who wrote what from the
//!   document alone;
//! - do anything inside objects their actors made (their message, its text);
//! - add elements to a list or text the server made (the channel's
//!   `messages`), and edit or delete only the elements they added;
//! - overwrite (name in an op's `pred`) only ops their actors wrote, since
//!   Automerge applies a `pred` wherever the op it names lives;
//! - nothing else: not the root map, not another member's objects or
//!   entries.
//!
//! Claiming an unknown actor is sound because every actor in a shared
//! document's history is registered: the server's when it creates the
//! document, a member's when the change that brought it is accepted. An
//! unregistered actor therefore made nothing in the document yet.
//!
//! A sync message carries changes as a list of chunks, each of which may be
//! several concatenated chunks of four kinds (change, compressed change,
//! bundle, whole document). Each is read by the crate's own decoder for its
//! kind, as `load_incremental` reads it, checksum included, and anything
//! that does not decode is refused. A whole-document chunk (sent when the
//! changes to send are more than a third of the history) repeats the entire
//! history, the server's and other members' changes included:
//! [`IncomingChanges::skip_known`] drops the changes the document already
//! has, as Automerge itself ignores a change whose hash it has.
//!
//! Sans-IO: bytes and a registry snapshot in, a verdict out.

use std::collections::{HashMap, HashSet};

use automerge::{
    ActorId, Automerge, Bundle, Change, ChangeHash, ExpandedChange, LoadOptions, OnPartialLoad,
    VerificationMode,
    legacy::{ElementId, Key, ObjectId, Op, OpType},
    sync,
};
use sha2::{Digest, Sha256};

use crate::platform::expansion::{self, BUNDLE, CHANGE, COMPRESSED_CHANGE, Chunk, DOCUMENT};

/// Whom the registry says an actor belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorOwner {
    /// The server: it created the document's structure.
    Server,
    /// An account, by id (`a-ben`).
    Account(String),
}

/// Why a sync message may not be applied. The text goes to the client.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WriteViolation {
    #[error("undecodable change")]
    Undecodable,
    #[error("change by an actor registered to another user")]
    ForeignActor,
    #[error("a new actor must start with your account id and a zero byte")]
    UnnamedActor,
    #[error("edits the document's structure")]
    EditsStructure,
    #[error("edits an object another user authored")]
    EditsOthersObject,
    /// An element another member added to a shared list, or a value
    /// another member wrote (an op's `pred`).
    #[error("edits an entry another user wrote")]
    EditsOthersEntry,
    #[error("edits something no registered user wrote")]
    EditsUnknown,
}

/// The changes one sync message brings, decoded.
#[derive(Debug, Clone, Default)]
pub struct IncomingChanges {
    changes: Vec<ExpandedChange>,
}

impl IncomingChanges {
    /// Decodes the `data` of a `sync` message (an encoded
    /// [`automerge::sync::Message`]). Every chunk must decode and pass its
    /// checksum: where Automerge would load the good prefix of a damaged
    /// message and drop the rest, this refuses it whole.
    pub fn decode(sync_message_data: &[u8]) -> Result<IncomingChanges, WriteViolation> {
        let message =
            sync::Message::decode(sync_message_data).map_err(|_| WriteViolation::Undecodable)?;
        let mut seen = HashSet::new();
        let mut changes = Vec::new();
        for entry in message.changes.iter() {
            let mut rest = entry;
            while !rest.is_empty() {
                let (chunk, after) = split_chunk(rest)?;
                for change in chunk_changes(&chunk)? {
                    if seen.insert(change.hash()) {
                        changes.push(change.decode());
                    }
                }
                rest = after;
            }
        }
        Ok(IncomingChanges { changes })
    }

    /// Drops the changes the document already has (`known` answers for a
    /// hash). Automerge ignores those when it applies the message (it
    /// compares hashes, which cover the whole change), so only the rest is
    /// this sender's write. Call it before [`Self::actors`] and [`Self::check`]:
    /// without it, a whole-document chunk, which repeats everybody's
    /// history, is refused for the other authors' changes in it.
    pub fn skip_known(&mut self, mut known: impl FnMut(&ChangeHash) -> bool) {
        self.changes
            .retain(|change| !change.hash.as_ref().is_some_and(&mut known));
    }

    /// Every actor the changes mention (their authors and the actors of
    /// the objects, elements and overwritten ops they name), for the
    /// caller to look up in the registry.
    pub fn actors(&self) -> HashSet<ActorId> {
        let mut actors = HashSet::new();
        for change in &self.changes {
            actors.insert(change.actor_id.clone());
            for op in &change.operations {
                if let ObjectId::Id(id) = &op.obj {
                    actors.insert(id.actor().clone());
                }
                if let Key::Seq(ElementId::Id(id)) = &op.key {
                    actors.insert(id.actor().clone());
                }
                actors.extend(op.pred.iter().map(|id| id.actor().clone()));
            }
        }
        actors
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Checks the changes as written by `account`, given the registry's
    /// owners of the actors in [`Self::actors`] (an actor missing from
    /// `owners` is unregistered). Returns the unregistered change actors,
    /// which the caller registers to `account` before passing the message
    /// on, or the first violation.
    pub fn check(
        &self,
        account: &str,
        owners: &HashMap<ActorId, ActorOwner>,
    ) -> Result<Vec<ActorId>, WriteViolation> {
        let mut claimed = Vec::new();
        for change in &self.changes {
            match owners.get(&change.actor_id) {
                // Registered to the account, and naming it: an actor
                // registered under an older rule that names someone else
                // would let its owner write as them.
                Some(ActorOwner::Account(owner))
                    if owner == account && model::author_of(&change.actor_id) == Some(account) => {}
                Some(_) => return Err(WriteViolation::ForeignActor),
                None if claimed.contains(&change.actor_id) => {}
                None if model::author_of(&change.actor_id) != Some(account) => {
                    return Err(WriteViolation::UnnamedActor);
                }
                None => claimed.push(change.actor_id.clone()),
            }
        }
        let authors = Authors {
            account,
            owners,
            claimed: &claimed,
        };
        for change in &self.changes {
            for op in &change.operations {
                authors.check_op(op)?;
            }
        }
        Ok(claimed)
    }
}

/// Who made something, as seen by the account writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Author {
    /// The account, or an actor this message claims for it.
    Mine,
    Server,
    Other,
    /// Nobody registered; and not one of this message's authors.
    Unknown,
}

struct Authors<'a> {
    account: &'a str,
    owners: &'a HashMap<ActorId, ActorOwner>,
    claimed: &'a [ActorId],
}

impl Authors<'_> {
    fn of(&self, actor: &ActorId) -> Author {
        match self.owners.get(actor) {
            Some(ActorOwner::Account(owner)) if owner == self.account => Author::Mine,
            Some(ActorOwner::Account(_)) => Author::Other,
            Some(ActorOwner::Server) => Author::Server,
            None if self.claimed.contains(actor) => Author::Mine,
            None => Author::Unknown,
        }
    }

    /// An element of a shared list, or a value an op overwrites, must be
    /// the account's own.
    fn require_mine(&self, actor: &ActorId) -> Result<(), WriteViolation> {
        match self.of(actor) {
            Author::Mine => Ok(()),
            Author::Server => Err(WriteViolation::EditsStructure),
            Author::Other => Err(WriteViolation::EditsOthersEntry),
            Author::Unknown => Err(WriteViolation::EditsUnknown),
        }
    }

    fn check_op(&self, op: &Op) -> Result<(), WriteViolation> {
        let object = match &op.obj {
            ObjectId::Root => Author::Server,
            ObjectId::Id(id) => self.of(id.actor()),
        };
        match object {
            Author::Mine => {}
            Author::Server => self.check_structure_op(op)?,
            Author::Other => return Err(WriteViolation::EditsOthersObject),
            Author::Unknown => return Err(WriteViolation::EditsUnknown),
        }
        // The ops an op overwrites (`pred`) are found by id wherever they
        // are, not only under the op's own key: a delete of someone else's
        // entry could hide in the pred of an op on one's own object.
        for overwritten in op.pred.iter() {
            self.require_mine(overwritten.actor())?;
        }
        Ok(())
    }

    /// An op on an object the server made (the root, the `messages` list).
    fn check_structure_op(&self, op: &Op) -> Result<(), WriteViolation> {
        let is_value = matches!(op.action, OpType::Put(_) | OpType::Make(_));
        match &op.key {
            // A new element: a message added to the list. A mark is an
            // insert too, but it spans others' elements: not allowed.
            Key::Seq(_) if op.insert && is_value => Ok(()),
            // One's own element: replace it, count on it, delete it.
            Key::Seq(ElementId::Id(element))
                if !op.insert
                    && (is_value || matches!(op.action, OpType::Delete | OpType::Increment(_))) =>
            {
                self.require_mine(element.actor())
            }
            // A key of a server map (the root), or anything odd.
            _ => Err(WriteViolation::EditsStructure),
        }
    }
}

/// A chunk split off a message entry (see `expansion.rs`, which reads the
/// same format for its measure).
fn split_chunk(input: &[u8]) -> Result<(Chunk<'_>, &[u8]), WriteViolation> {
    expansion::split_chunk(input).map_err(|_| WriteViolation::Undecodable)
}

/// The changes in a chunk, through the crate's decoders, which verify the
/// columns and ops as loading would.
fn chunk_changes(chunk: &Chunk<'_>) -> Result<Vec<Change>, WriteViolation> {
    let changes = match chunk.kind {
        // The checksum of a compressed change is its uncompressed hash.
        CHANGE | COMPRESSED_CHANGE => {
            let change = Change::try_from(chunk.bytes).map_err(undecodable)?;
            require_checksum(chunk, &change.hash().0)?;
            vec![change]
        }
        BUNDLE => {
            require_checksum(chunk, &chunk_hash(BUNDLE, chunk.data))?;
            Bundle::try_from(chunk.bytes)
                .map_err(undecodable)?
                .to_changes()
                .map_err(undecodable)?
        }
        // Loading checks the checksum and that the changes rebuilt from
        // the document's columns hash to the heads it claims.
        DOCUMENT => Automerge::load_with_options(
            chunk.bytes,
            LoadOptions::new()
                .on_partial_load(OnPartialLoad::Error)
                .verification_mode(VerificationMode::Check),
        )
        .map_err(undecodable)?
        .get_changes(&[]),
        _ => return Err(WriteViolation::Undecodable),
    };
    Ok(changes)
}

fn require_checksum(chunk: &Chunk<'_>, hash: &[u8]) -> Result<(), WriteViolation> {
    if hash.get(..4) == Some(&chunk.checksum[..]) {
        Ok(())
    } else {
        Err(WriteViolation::Undecodable)
    }
}

/// Automerge's reasons are for us, not for the client.
fn undecodable<E>(_: E) -> WriteViolation {
    WriteViolation::Undecodable
}

/// A chunk's hash as Automerge computes it: SHA-256 of type, length, data.
fn chunk_hash(kind: u8, data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([kind]);
    let mut len = data.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            hasher.update([byte]);
            break;
        }
        hasher.update([byte | 0x80]);
    }
    hasher.update(data);
    hasher.finalize().into()
}

/// The owners of `actors` in the registry (`actors`): an account, or the
/// server (a null account). An actor missing from the answer is new.
pub async fn actor_owners(
    pool: &sqlx::PgPool,
    actors: &[Vec<u8>],
) -> Result<HashMap<ActorId, ActorOwner>, sqlx::Error> {
    let rows = sqlx::query_as::<_, (Vec<u8>, Option<String>)>(
        "SELECT actor, account_id FROM actors WHERE actor = ANY($1)",
    )
    .bind(actors)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, account)| {
            let owner = account.map_or(ActorOwner::Server, ActorOwner::Account);
            (ActorId::from(actor), owner)
        })
        .collect())
}

/// Registers `actor` as `account`'s unless someone registered it first;
/// returns whose it is now (`None`: the server's).
pub async fn register_actor(
    pool: &sqlx::PgPool,
    actor: &[u8],
    account: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar::<_, Option<String>>(
        "INSERT INTO actors (actor, account_id) VALUES ($1, $2)
         ON CONFLICT (actor) DO UPDATE SET actor = EXCLUDED.actor
         RETURNING account_id",
    )
    .bind(actor)
    .bind(account)
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    //! Real sync between the server's copy of a channel and members'
    //! devices, so the bytes checked are the bytes a client sends. A
    //! channel: `{ messages: [ { author, text: Text, at } ] }`, root and
    //! list made by the server.

    use automerge::{
        AutomergeError, ObjId, ObjType, ROOT, ReadDoc,
        legacy::OpId,
        sync::{ChunkList, MessageVersion, SyncDoc},
        transaction::Transactable,
    };

    use super::*;

    const ANN: &str = "a-ann";
    const BEN: &str = "a-ben";

    fn server() -> ActorId {
        ActorId::from(b"server")
    }
    // The actors are fixed, so the changes' hashes are too: with `[1; 16]`
    // for Ann, the server's bloom filter happens to claim her first change
    // (a false positive, which the next round of a real sync repairs), and
    // the first message would carry nothing to check.
    fn ann_phone() -> ActorId {
        model::actor_for(ANN, [3; 16])
    }
    fn ben_phone() -> ActorId {
        model::actor_for(BEN, [2; 16])
    }

    /// The server's copy of a channel and its actor registry.
    struct Channel {
        doc: Automerge,
        owners: HashMap<ActorId, ActorOwner>,
    }

    /// A member's device, with the sync states of both ends of its link.
    struct Device {
        doc: Automerge,
        state: sync::State,
        server_state: sync::State,
    }

    impl Channel {
        fn new() -> Channel {
            let mut doc = Automerge::new().with_actor(server());
            doc.transact::<_, _, AutomergeError>(|tx| {
                tx.put_object(ROOT, "messages", ObjType::List)?;
                Ok(())
            })
            .unwrap();
            Channel {
                doc,
                owners: HashMap::from([(server(), ActorOwner::Server)]),
            }
        }

        /// A device writing as `actor` that has synced the channel.
        fn join(&mut self, actor: ActorId) -> Device {
            let mut device = Device {
                doc: Automerge::new().with_actor(actor),
                state: sync::State::new(),
                server_state: sync::State::new(),
            };
            self.settle(&mut device);
            device
        }

        /// Syncs both ways until neither side has anything to say.
        fn settle(&mut self, device: &mut Device) {
            loop {
                let up = device.doc.generate_sync_message(&mut device.state);
                if let Some(message) = up.clone() {
                    self.doc
                        .receive_sync_message(&mut device.server_state, message)
                        .unwrap();
                }
                let down = self.doc.generate_sync_message(&mut device.server_state);
                if let Some(message) = down.clone() {
                    device
                        .doc
                        .receive_sync_message(&mut device.state, message)
                        .unwrap();
                }
                if up.is_none() && down.is_none() {
                    break;
                }
            }
        }

        /// The bytes of the next message the device sends.
        fn outgoing(device: &mut Device) -> Vec<u8> {
            let message = device.doc.generate_sync_message(&mut device.state).unwrap();
            assert!(!message.changes.is_empty(), "the message carries no change");
            message.encode()
        }

        /// The verdict on `bytes` from `account`, as the guard reaches it:
        /// decode, drop what the server has, look up the actors, check.
        fn verdict(&self, bytes: &[u8], account: &str) -> Result<Vec<ActorId>, WriteViolation> {
            let mut changes = IncomingChanges::decode(bytes)?;
            changes.skip_known(|hash| self.doc.get_change_meta_by_hash(hash).is_some());
            let owners = changes
                .actors()
                .into_iter()
                .filter_map(|actor| Some((actor.clone(), self.owners.get(&actor)?.clone())))
                .collect();
            changes.check(account, &owners)
        }

        /// Sends the device's next message; an accepted one registers its
        /// new actors and is applied, as the guard and samod would.
        fn write(
            &mut self,
            device: &mut Device,
            account: &str,
        ) -> Result<Vec<ActorId>, WriteViolation> {
            let bytes = Channel::outgoing(device);
            let verdict = self.verdict(&bytes, account);
            if let Ok(claimed) = &verdict {
                for actor in claimed {
                    self.owners
                        .insert(actor.clone(), ActorOwner::Account(account.to_owned()));
                }
                let message = sync::Message::decode(&bytes).unwrap();
                self.doc
                    .receive_sync_message(&mut device.server_state, message)
                    .unwrap();
                self.settle(device);
            }
            verdict
        }
    }

    fn messages(doc: &Automerge) -> ObjId {
        doc.get(ROOT, "messages").unwrap().unwrap().1
    }

    fn message(doc: &Automerge, index: usize) -> ObjId {
        doc.get(messages(doc), index).unwrap().unwrap().1
    }

    fn text(doc: &Automerge, index: usize) -> ObjId {
        doc.get(message(doc, index), "text").unwrap().unwrap().1
    }

    fn edit(
        device: &mut Device,
        edit: impl FnOnce(
            &mut automerge::transaction::Transaction<'_>,
            &Automerge,
        ) -> Result<(), AutomergeError>,
    ) {
        let before = device.doc.clone();
        device
            .doc
            .transact::<_, _, AutomergeError>(|tx| edit(tx, &before))
            .unwrap();
    }

    /// Appends `{ author, text, at }` to `messages`, in one change.
    fn post(device: &mut Device, author: &str, words: &str) {
        edit(device, |tx, doc| {
            let list = messages(doc);
            let entry = tx.insert_object(&list, doc.length(&list), ObjType::Map)?;
            tx.put(&entry, "author", author)?;
            let text = tx.put_object(&entry, "text", ObjType::Text)?;
            tx.splice_text(&text, 0, 0, words)?;
            tx.put(&entry, "at", 1_700_000_000_i64)?;
            Ok(())
        });
    }

    /// The kinds of the chunks a sync message carries.
    fn chunk_kinds(bytes: &[u8]) -> Vec<u8> {
        let message = sync::Message::decode(bytes).unwrap();
        let mut kinds = Vec::new();
        for entry in message.changes.iter() {
            let mut rest = entry;
            while !rest.is_empty() {
                let (chunk, after) = split_chunk(rest).unwrap();
                kinds.push(chunk.kind);
                rest = after;
            }
        }
        kinds
    }

    /// A channel where Ann posted, Ben's device is in sync with it.
    fn ann_posted() -> (Channel, Device, Device) {
        let mut channel = Channel::new();
        let mut ann = channel.join(ann_phone());
        post(&mut ann, ANN, "hello");
        assert_eq!(channel.write(&mut ann, ANN), Ok(vec![ann_phone()]));
        let ben = channel.join(ben_phone());
        (channel, ann, ben)
    }

    #[test]
    fn first_post_to_a_fresh_channel_comes_as_a_whole_document_and_passes() {
        let mut channel = Channel::new();
        let mut ben = channel.join(ben_phone());
        post(&mut ben, BEN, "first");
        let bytes = Channel::outgoing(&mut ben);
        assert_eq!(chunk_kinds(&bytes), vec![DOCUMENT]);
        assert_eq!(channel.verdict(&bytes, BEN), Ok(vec![ben_phone()]));
    }

    #[test]
    fn member_appends_a_message_in_change_chunks_and_claims_the_new_actor() {
        let (channel, _ann, mut ben) = ann_posted();
        post(&mut ben, BEN, "hi Ann");
        let bytes = Channel::outgoing(&mut ben);
        assert_eq!(chunk_kinds(&bytes), vec![CHANGE]);
        assert_eq!(channel.verdict(&bytes, BEN), Ok(vec![ben_phone()]));
    }

    #[test]
    fn a_registered_actor_of_ones_own_is_not_claimed_again() {
        let (mut channel, mut ann, _ben) = ann_posted();
        post(&mut ann, ANN, "again");
        assert_eq!(channel.write(&mut ann, ANN), Ok(vec![]));
    }

    #[test]
    fn change_by_an_actor_registered_to_another_account_is_refused() {
        let (mut channel, _ann, _ben) = ann_posted();
        let mut ben_as_ann = channel.join(ann_phone());
        post(&mut ben_as_ann, BEN, "I am Ann");
        assert_eq!(
            channel.write(&mut ben_as_ann, BEN),
            Err(WriteViolation::ForeignActor)
        );
    }

    #[test]
    fn a_new_actor_that_does_not_name_the_account_is_refused() {
        let (mut channel, _ann, _ben) = ann_posted();
        // Ben's, but random: nobody could read who wrote it.
        let mut anonymous = channel.join(ActorId::from(b"ben-phone"));
        post(&mut anonymous, BEN, "who am I");
        assert_eq!(
            channel.write(&mut anonymous, BEN),
            Err(WriteViolation::UnnamedActor)
        );
        // Named for Ann, sent by Ben: not his to claim.
        let mut as_ann = channel.join(model::actor_for(ANN, [9; 16]));
        post(&mut as_ann, BEN, "I am Ann");
        assert_eq!(
            channel.write(&mut as_ann, BEN),
            Err(WriteViolation::UnnamedActor)
        );
    }

    #[test]
    fn change_by_the_servers_actor_is_refused() {
        let (mut channel, _ann, _ben) = ann_posted();
        let mut ben_as_server = channel.join(server());
        post(&mut ben_as_server, BEN, "official");
        assert_eq!(
            channel.write(&mut ben_as_server, BEN),
            Err(WriteViolation::ForeignActor)
        );
    }

    #[test]
    fn member_cannot_edit_the_text_of_anothers_message() {
        let (mut channel, _ann, mut ben) = ann_posted();
        edit(&mut ben, |tx, doc| {
            tx.splice_text(text(doc, 0), 0, 5, "bye")
        });
        assert_eq!(
            channel.write(&mut ben, BEN),
            Err(WriteViolation::EditsOthersObject)
        );
    }

    #[test]
    fn member_cannot_put_a_field_of_anothers_message() {
        let (mut channel, _ann, mut ben) = ann_posted();
        edit(&mut ben, |tx, doc| tx.put(message(doc, 0), "author", BEN));
        assert_eq!(
            channel.write(&mut ben, BEN),
            Err(WriteViolation::EditsOthersObject)
        );
    }

    #[test]
    fn member_cannot_delete_anothers_message() {
        let (mut channel, _ann, mut ben) = ann_posted();
        edit(&mut ben, |tx, doc| tx.delete(messages(doc), 0));
        assert_eq!(
            channel.write(&mut ben, BEN),
            Err(WriteViolation::EditsOthersEntry)
        );
    }

    #[test]
    fn member_deletes_and_edits_their_own_message() {
        let (mut channel, mut ann, _ben) = ann_posted();
        edit(&mut ann, |tx, doc| tx.splice_text(text(doc, 0), 0, 5, "hi"));
        assert_eq!(channel.write(&mut ann, ANN), Ok(vec![]));
        edit(&mut ann, |tx, doc| tx.delete(messages(doc), 0));
        assert_eq!(channel.write(&mut ann, ANN), Ok(vec![]));
        assert_eq!(channel.doc.length(messages(&channel.doc)), 0);
    }

    #[test]
    fn member_cannot_replace_the_messages_list_or_add_a_root_key() {
        let (mut channel, _ann, mut ben) = ann_posted();
        edit(&mut ben, |tx, _| {
            tx.put_object(ROOT, "messages", ObjType::List)?;
            Ok(())
        });
        assert_eq!(
            channel.write(&mut ben, BEN),
            Err(WriteViolation::EditsStructure)
        );

        let (mut channel, _ann, mut ben) = ann_posted();
        edit(&mut ben, |tx, _| tx.put(ROOT, "topic", "mine now"));
        assert_eq!(
            channel.write(&mut ben, BEN),
            Err(WriteViolation::EditsStructure)
        );
    }

    #[test]
    fn forbidden_op_inside_a_whole_document_chunk_is_refused() {
        let mut channel = Channel::new();
        let mut ben = channel.join(ben_phone());
        post(&mut ben, BEN, "first");
        edit(&mut ben, |tx, _| tx.delete(ROOT, "messages"));
        let bytes = Channel::outgoing(&mut ben);
        assert_eq!(chunk_kinds(&bytes), vec![DOCUMENT]);
        assert_eq!(
            channel.verdict(&bytes, BEN),
            Err(WriteViolation::EditsStructure)
        );
    }

    #[test]
    fn without_skipping_known_changes_a_whole_document_repeats_others_history() {
        let mut channel = Channel::new();
        let mut ben = channel.join(ben_phone());
        post(&mut ben, BEN, "first");
        let bytes = Channel::outgoing(&mut ben);
        let changes = IncomingChanges::decode(&bytes).unwrap();
        assert!(changes.actors().contains(&server()));
        assert_eq!(
            changes.check(BEN, &channel.owners),
            Err(WriteViolation::ForeignActor)
        );
    }

    /// A sync message carrying `changes` as V1 change chunks.
    fn message_with(changes: &[Change]) -> Vec<u8> {
        sync::Message {
            heads: vec![],
            need: vec![],
            have: vec![],
            changes: ChunkList::from(
                changes
                    .iter()
                    .map(|change| change.raw_bytes().to_vec())
                    .collect::<Vec<_>>(),
            ),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode()
    }

    /// Ben's own post, rewritten by `forge` as a hostile client could.
    fn forged_post(ben: &mut Device, forge: impl FnOnce(&mut ExpandedChange)) -> Vec<u8> {
        post(ben, BEN, "mine");
        let mut change = ben.doc.get_last_local_change().unwrap().decode();
        forge(&mut change);
        let change = Change::from(change);
        message_with(&[change])
    }

    /// Ann's message's element id: the id of the op that inserted it.
    fn anns_element(channel: &Channel) -> OpId {
        let change = channel
            .doc
            .get_changes(&[])
            .into_iter()
            .find(|change| change.actor_id() == &ann_phone())
            .unwrap()
            .decode();
        let index = change.operations.iter().position(|op| op.insert).unwrap();
        OpId::new(change.start_op.get() + index as u64, &ann_phone())
    }

    #[test]
    fn overwriting_anothers_op_through_pred_is_refused() {
        let (channel, _ann, mut ben) = ann_posted();
        let element = anns_element(&channel);
        // Ben's "author" put, in his own map, also names Ann's message as
        // the value it overwrites.
        let bytes = forged_post(&mut ben, |change| {
            let op = change
                .operations
                .iter_mut()
                .find(|op| op.key == Key::Map("author".into()))
                .unwrap();
            op.pred = vec![element.clone()].into();
        });
        assert_eq!(
            channel.verdict(&bytes, BEN),
            Err(WriteViolation::EditsOthersEntry)
        );
    }

    #[test]
    fn putting_over_anothers_entry_without_naming_it_is_refused() {
        let (channel, _ann, mut ben) = ann_posted();
        let element = anns_element(&channel);
        // An op on Ann's element that overwrites nothing would stand as a
        // conflicting value of it, and could win.
        let bytes = forged_post(&mut ben, |change| {
            let op = change.operations.iter_mut().find(|op| op.insert).unwrap();
            op.insert = false;
            op.key = Key::Seq(ElementId::Id(element.clone()));
        });
        assert_eq!(
            channel.verdict(&bytes, BEN),
            Err(WriteViolation::EditsOthersEntry)
        );
    }

    #[test]
    fn op_on_an_object_nobody_registered_is_refused() {
        let (channel, _ann, mut ben) = ann_posted();
        let bytes = forged_post(&mut ben, |change| {
            let stranger = OpId::new(1, &ActorId::from(b"stranger"));
            change.operations.last_mut().unwrap().obj = ObjectId::Id(stranger);
        });
        assert_eq!(
            channel.verdict(&bytes, BEN),
            Err(WriteViolation::EditsUnknown)
        );
    }

    #[test]
    fn garbage_is_undecodable() {
        let channel = Channel::new();
        for garbage in [
            &b""[..],
            b"\x42",
            b"not a sync message at all",
            &[
                0x42, 0, 0, 0, 1, 9, 0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 0x7f,
            ],
            &[0xff; 64],
        ] {
            assert_eq!(
                channel.verdict(garbage, BEN),
                Err(WriteViolation::Undecodable),
                "{garbage:?}"
            );
        }
    }

    /// Every byte of every chunk matters: a flipped one is refused, never
    /// checked as something else, and nothing panics.
    #[test]
    fn a_corrupted_chunk_is_undecodable() {
        let (mut channel, _ann, mut ben) = ann_posted();
        post(&mut ben, BEN, "hi Ann");
        let changes = Channel::outgoing(&mut ben);
        let mut fresh = Channel::new();
        let mut carl = fresh.join(ActorId::from(b"carl"));
        post(&mut carl, "a-carl", "first");
        let document = Channel::outgoing(&mut carl);
        for (channel, bytes) in [(&mut channel, changes), (&mut fresh, document)] {
            let message = sync::Message::decode(&bytes).unwrap();
            let entry = message.changes.iter().next().unwrap();
            let start = bytes
                .windows(entry.len())
                .position(|window| window == entry)
                .unwrap();
            for at in start..start + entry.len() {
                let mut corrupted = bytes.clone();
                corrupted[at] ^= 0x01;
                assert_eq!(
                    channel.verdict(&corrupted, BEN),
                    Err(WriteViolation::Undecodable),
                    "byte {at}"
                );
            }
            for end in 0..start + entry.len() {
                assert_eq!(
                    channel.verdict(&bytes[..end], BEN),
                    Err(WriteViolation::Undecodable),
                    "cut at {end}"
                );
            }
        }
    }
}
