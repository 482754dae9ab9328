//! What the partner does with resources (views, downloads, shares,
//! co-branded copies), recorded on the device as it happens, offline too,
//! and sent when online (`POST /api/resources/events`). Each event has an
//! id made here, so a batch sent again after an answer was lost is kept
//! once by the server; an event leaves the device only once the server
//! answered for it.

use std::cell::Cell;

use wasm_bindgen_futures::spawn_local;
use web_common::api::{self, ResourceEvent, ResourceEvents};

use crate::engine;

/// The events a device keeps waiting: a year of heavy use offline. Beyond
/// it the oldest go: these are figures about use, never anyone's work.
const MAX_WAITING: usize = 5_000;
/// Events per request (the server takes at most 500).
const BATCH: usize = 200;

/// What the device keeps events under, per account.
fn key(account: &str) -> String {
    format!("resource-events:{account}")
}

/// `view`, `download`, `share` or `cobrand`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    View,
    Download,
    Share,
    Cobrand,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Download => "download",
            Kind::Share => "share",
            Kind::Cobrand => "cobrand",
        }
    }
}

/// The events waiting on the device for `account`.
pub fn waiting(account: &str) -> Vec<ResourceEvent> {
    engine::local_get(&key(account))
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn keep(account: &str, events: &[ResourceEvent]) {
    if events.is_empty() {
        engine::local_remove(&key(account));
    } else if let Ok(json) = serde_json::to_string(events) {
        engine::local_set(&key(account), &json);
    }
}

/// `event` added to `waiting`, the oldest dropped beyond `max`.
fn push_bounded(waiting: &mut Vec<ResourceEvent>, event: ResourceEvent, max: usize) {
    waiting.push(event);
    if waiting.len() > max {
        let over = waiting.len() - max;
        waiting.drain(..over);
    }
}

/// `waiting` without the events whose ids were `sent`.
fn settle(waiting: &mut Vec<ResourceEvent>, sent: &[ResourceEvent]) {
    waiting.retain(|e| !sent.iter().any(|s| s.id == e.id));
}

fn event_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom03::fill(&mut bytes).is_err() {
        // No CSPRNG: the clock and Math.random still make ids that do not
        // meet (the id is a de-duplication key, not a secret).
        let a = js_sys::Date::now() as u64;
        let b = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Records that the partner did `kind` with `resource`, and sends what
/// waits if the browser is online.
pub fn record(account: &str, resource: &str, kind: Kind) {
    let mut all = waiting(account);
    push_bounded(
        &mut all,
        ResourceEvent {
            id: event_id(),
            resource_id: resource.to_owned(),
            kind: kind.name().to_owned(),
            at_ms: js_sys::Date::now() as i64,
        },
        MAX_WAITING,
    );
    keep(account, &all);
    if api::browser_online() {
        send(account.to_owned());
    }
}

thread_local! {
    /// One sending at a time: two would send the same events twice (which
    /// the server would keep once, but at twice the cost).
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// Sends what waits, in batches, until nothing does or the network fails
/// (what was not answered for stays, to be sent next time).
pub fn send(account: String) {
    if SENDING.with(|s| s.replace(true)) {
        return;
    }
    spawn_local(async move {
        loop {
            let batch: Vec<ResourceEvent> = waiting(&account).into_iter().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let body = serde_json::to_string(&ResourceEvents {
                events: batch.clone(),
            })
            .ok();
            match api::call("POST", "/api/resources/events", body).await {
                // Any answer of the server's (it says what it kept and
                // what it had already, `EventsTaken`) is an answer for
                // every event of the batch.
                Ok(_) => {
                    // Read again: events recorded while this was in flight
                    // stay.
                    let mut all = waiting(&account);
                    settle(&mut all, &batch);
                    keep(&account, &all);
                }
                // Refused as a whole (a batch the server cannot read, which
                // sending again would not change): dropped, or it would
                // block every later event.
                Err(api::ApiError::Refused(_)) => {
                    let mut all = waiting(&account);
                    settle(&mut all, &batch);
                    keep(&account, &all);
                }
                _ => break,
            }
        }
        SENDING.with(|s| s.set(false));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> ResourceEvent {
        ResourceEvent {
            id: id.to_owned(),
            resource_id: "flyer".to_owned(),
            kind: "view".to_owned(),
            at_ms: 1,
        }
    }

    #[test]
    fn the_oldest_go_beyond_the_bound_and_only_answered_events_leave() {
        let mut waiting = Vec::new();
        for id in ["a", "b", "c", "d"] {
            push_bounded(&mut waiting, event(id), 3);
        }
        let ids = |w: &[ResourceEvent]| w.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&waiting), ["b", "c", "d"]);
        // "e" was recorded while "b" and "c" were being sent.
        push_bounded(&mut waiting, event("e"), 3);
        settle(&mut waiting, &[event("b"), event("c")]);
        assert_eq!(ids(&waiting), ["d", "e"]);
    }
}
