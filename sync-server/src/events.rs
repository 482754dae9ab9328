//! The typed events modules send each other, the only way one module sets
//! another to work. Each is a message of its own type on an unbounded
//! channel (the receivers are workers that batch what accumulates, and a
//! sender never waits on a worker), so a document id cannot be sent where
//! a partner id is read. The composition root (`startup.rs`) makes the
//! channels and hands each module the ends it needs.
//!
//! Sending never fails the sender: a receiver is gone only when the server
//! is shutting down, and then nothing is left to tell.

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub mod relay;

/// A document's chunks were stored (by samod, the seed or an API call):
/// the projection worker reads it again. Sent by the platform's storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentStored(pub String);

/// A partner's figures moved (a decision in the ledger, a deal filed by
/// the projection, an account approved): their account view is written
/// again. Carries the partner id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FiguresMoved(pub String);

/// A partner's work was projected (their pipeline's leads, their
/// training): what others are shown of them (their team leader's team
/// view) is computed again. Carries the partner id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActivitySeen(pub String);

/// Challenges were defined or ended (the back-office): every partner's
/// standings are ranked and evaluated again, whoever's figures moved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChallengesChanged;

/// Where events of type `E` are sent.
#[derive(Debug)]
pub struct Outbox<E>(UnboundedSender<E>);

impl<E> Clone for Outbox<E> {
    fn clone(&self) -> Self {
        Outbox(self.0.clone())
    }
}

impl<E> Outbox<E> {
    pub fn send(&self, event: E) {
        // Err only when the receiving worker is gone: shutting down.
        let _ = self.0.send(event);
    }
}

/// Where a worker receives events of type `E`.
pub type Inbox<E> = UnboundedReceiver<E>;

/// A channel for events of type `E`.
pub fn channel<E>() -> (Outbox<E>, Inbox<E>) {
    let (tx, rx) = unbounded_channel();
    (Outbox(tx), rx)
}
