//! The events that cross nodes. The workers that write what partners read
//! of the programme as a whole (account views, team views, standings) run
//! on one node at a time (`platform::leader`), but what sets them to work
//! happens on every node: a decision taken on one, a pipeline projected on
//! another. So every node publishes those events on a Postgres channel,
//! and the node that leads the workers listens and hands them on.
//!
//! An event is a partner's id (or a bare "challenges changed"), gathered
//! for [`GATHER`] and sent in notices under Postgres's 8,000-byte limit,
//! after the transaction that caused it has committed (the local senders
//! send then). A notice can be lost when the leader's listening connection
//! breaks; the leader then starts its workers again, and each begins with
//! a pass over everyone.

use std::{collections::BTreeSet, time::Duration};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{ActivitySeen, ChallengesChanged, FiguresMoved, Inbox, Outbox};

/// The Postgres channel the events travel on.
pub const CHANNEL: &str = "portal_events";

/// How long a node gathers events before it publishes them: one notice
/// for a burst (an approval moves several partners' figures).
const GATHER: Duration = Duration::from_millis(20);

/// The largest notice this sends, in bytes (Postgres refuses 8,000).
const MAX_NOTICE: usize = 7_000;

/// Partner ids longer than this are not ids of ours, and are dropped from
/// a notice read.
const MAX_ID: usize = 200;

/// One notice: whose figures moved, whose work was seen, and whether the
/// challenges changed.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relayed {
    #[serde(default, rename = "f", skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<String>,
    #[serde(default, rename = "a", skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<String>,
    #[serde(default, rename = "c", skip_serializing_if = "std::ops::Not::not")]
    pub challenges: bool,
}

impl Relayed {
    fn is_empty(&self) -> bool {
        self.figures.is_empty() && self.activity.is_empty() && !self.challenges
    }

    /// A notice as read, if it is one: its ids that can be ids.
    pub fn decode(payload: &str) -> Option<Relayed> {
        let mut relayed: Relayed = serde_json::from_str(payload).ok()?;
        let fits = |id: &String| !id.is_empty() && id.len() <= MAX_ID;
        relayed.figures.retain(fits);
        relayed.activity.retain(fits);
        Some(relayed)
    }
}

/// What a node's own senders publish into.
pub struct Local {
    pub figures: Inbox<FiguresMoved>,
    pub activity: Inbox<ActivitySeen>,
    pub challenges: Inbox<ChallengesChanged>,
}

/// Publishes what this node's senders send, until they are all gone.
pub async fn publish(pool: PgPool, mut local: Local) {
    let mut open = true;
    while open {
        let mut gathered = Relayed::default();
        let (mut figures, mut activity) = (BTreeSet::new(), BTreeSet::new());
        // Wait for a first event, then gather for a while.
        tokio::select! {
            Some(FiguresMoved(p)) = local.figures.recv() => { figures.insert(p); }
            Some(ActivitySeen(p)) = local.activity.recv() => { activity.insert(p); }
            Some(ChallengesChanged) = local.challenges.recv() => gathered.challenges = true,
            else => open = false,
        }
        let until = tokio::time::Instant::now() + GATHER;
        while open {
            tokio::select! {
                Some(FiguresMoved(p)) = local.figures.recv() => { figures.insert(p); }
                Some(ActivitySeen(p)) = local.activity.recv() => { activity.insert(p); }
                Some(ChallengesChanged) = local.challenges.recv() => gathered.challenges = true,
                () = tokio::time::sleep_until(until) => break,
                else => open = false,
            }
        }
        gathered.figures = figures.into_iter().collect();
        gathered.activity = activity.into_iter().collect();
        for notice in notices(gathered) {
            let send = || {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&notice)
                    .execute(&pool)
            };
            sync::retry_forever(send, tokio::time::sleep, |error, delay| {
                tracing::warn!(%error, ?delay, "cannot publish events to the other nodes; retrying");
            })
            .await;
        }
    }
}

/// `relayed` as notices of at most [`MAX_NOTICE`] bytes each.
fn notices(mut relayed: Relayed) -> Vec<String> {
    let mut out = Vec::new();
    while !relayed.is_empty() {
        let mut notice = Relayed {
            challenges: std::mem::take(&mut relayed.challenges),
            ..Relayed::default()
        };
        // An id costs what it takes in JSON (quotes, escapes) and a comma.
        let mut room = MAX_NOTICE - 32;
        for (from, to) in [
            (&mut relayed.figures, &mut notice.figures),
            (&mut relayed.activity, &mut notice.activity),
        ] {
            while let Some(id) = from.last() {
                let cost = serde_json::to_string(id).map_or(usize::MAX, |json| json.len() + 1);
                if cost > room {
                    break;
                }
                room -= cost;
                to.push(from.pop().expect("looked at it"));
            }
        }
        if notice.is_empty() {
            // One id larger than a notice: not an id of ours.
            relayed.figures.retain(|id| id.len() <= MAX_ID);
            relayed.activity.retain(|id| id.len() <= MAX_ID);
            continue;
        }
        out.push(serde_json::to_string(&notice).expect("strings serialise"));
    }
    out
}

/// Where the leader hands what it hears.
pub struct Workers {
    /// Each worker that follows figures.
    pub figures: Vec<Outbox<FiguresMoved>>,
    pub activity: Outbox<ActivitySeen>,
    pub challenges: Outbox<ChallengesChanged>,
}

impl Workers {
    /// Hands one notice's events on. A partner whose figures moved also
    /// shows up in their team leader's view.
    pub fn hand_on(&self, relayed: Relayed) {
        for partner in relayed.figures {
            self.activity.send(ActivitySeen(partner.clone()));
            for worker in &self.figures {
                worker.send(FiguresMoved(partner.clone()));
            }
        }
        for partner in relayed.activity {
            self.activity.send(ActivitySeen(partner));
        }
        if relayed.challenges {
            self.challenges.send(ChallengesChanged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_partners_go_in_several_notices_each_under_the_limit_and_none_is_lost() {
        let figures: Vec<String> = (0..2_000).map(|i| format!("p-{i:06}")).collect();
        let relayed = Relayed {
            figures: figures.clone(),
            activity: vec!["p-a".into()],
            challenges: true,
        };
        let sent = notices(relayed);
        assert!(sent.len() > 1);
        let mut back = Relayed::default();
        for notice in &sent {
            assert!(notice.len() <= MAX_NOTICE, "{}", notice.len());
            let read = Relayed::decode(notice).unwrap();
            back.figures.extend(read.figures);
            back.activity.extend(read.activity);
            back.challenges |= read.challenges;
        }
        back.figures.sort();
        assert_eq!(back.figures, figures);
        assert_eq!(back.activity, ["p-a"]);
        assert!(back.challenges);
        assert!(notices(Relayed::default()).is_empty());
    }

    #[test]
    fn hostile_notices_are_dropped_or_trimmed() {
        for payload in ["", "null", "{\"f\": 3}", "{\"f\": [1]}", "not json"] {
            assert_eq!(Relayed::decode(payload), None, "{payload}");
        }
        // serde reads a struct from a sequence too: an empty one is nothing.
        assert!(Relayed::decode("[]").unwrap().is_empty());
        let long = "x".repeat(MAX_ID + 1);
        let read = Relayed::decode(&format!(r#"{{"f": ["p-1", "", "{long}"], "z": 1}}"#)).unwrap();
        assert_eq!(read.figures, ["p-1"]);
        // Ids whose escapes make them long in JSON still fit.
        let quoted = vec!["\"".repeat(150); 100];
        for notice in notices(Relayed {
            figures: quoted.clone(),
            ..Relayed::default()
        }) {
            assert!(notice.len() <= MAX_NOTICE, "{}", notice.len());
        }
        // An id too long for any notice is dropped, not looped over.
        let sent = notices(Relayed {
            figures: vec!["y".repeat(MAX_NOTICE), "p-2".into()],
            ..Relayed::default()
        });
        assert_eq!(sent.len(), 1);
        assert_eq!(Relayed::decode(&sent[0]).unwrap().figures, ["p-2"]);
    }
}
