//! Convergence under random schedules: three to five in-process replicas of a
//! pipeline document make random edits, are partitioned and healed at random,
//! and sync pairwise over Automerge's sync protocol (the protocol samod runs
//! on the wire). However the schedule goes, once the network heals and every
//! pair has synced, all replicas hold identical documents, read alike
//! (conflict marks included), and a conflict settled on one replica is
//! settled on all.

#![cfg(feature = "doc")]

use std::collections::HashMap;

use automerge::{
    Automerge,
    sync::{State, SyncDoc},
};
use model::{
    ConflictValue, Currency, FollowUp, LeadDraft, LeadId, LogKind, Money, PartnerId, PipelineDoc,
    Stage, Timestamp,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    AddLead {
        replica: usize,
        seed: u16,
    },
    Move {
        replica: usize,
        lead: usize,
        stage: usize,
    },
    Notes {
        replica: usize,
        lead: usize,
        text: String,
    },
    /// Sets one field of a lead (the name, the amount or the stage, from a
    /// small set of values so that two sides often pick different ones).
    Field {
        replica: usize,
        lead: usize,
        field: usize,
        pick: usize,
    },
    Archive {
        replica: usize,
        lead: usize,
        archived: bool,
    },
    Log {
        replica: usize,
        lead: usize,
        kind: usize,
        text: String,
    },
    FollowUp {
        replica: usize,
        lead: usize,
        at: Option<u8>,
    },
    /// Settles the first conflict the replica sees on the lead, keeping
    /// either the value shown or the first other.
    Settle {
        replica: usize,
        lead: usize,
        other: bool,
    },
    /// Assigns each replica to one of two sides; replicas on different sides
    /// cannot talk, and connections across the cut are dropped.
    Partition {
        sides: Vec<bool>,
    },
    Heal,
    Sync {
        a: usize,
        b: usize,
    },
}

fn step(replicas: usize) -> impl Strategy<Value = Step> {
    let r = 0..replicas;
    prop_oneof![
        (r.clone(), any::<u16>()).prop_map(|(replica, seed)| Step::AddLead { replica, seed }),
        (r.clone(), 0..8usize, 0..6usize).prop_map(|(replica, lead, stage)| Step::Move {
            replica,
            lead,
            stage
        }),
        (r.clone(), 0..8usize, "[a-z ]{0,12}").prop_map(|(replica, lead, text)| Step::Notes {
            replica,
            lead,
            text
        }),
        (r.clone(), 0..8usize, 0..4usize, 0..3usize).prop_map(|(replica, lead, field, pick)| {
            Step::Field {
                replica,
                lead,
                field,
                pick,
            }
        }),
        (r.clone(), 0..8usize, any::<bool>()).prop_map(|(replica, lead, archived)| Step::Archive {
            replica,
            lead,
            archived
        }),
        (r.clone(), 0..8usize, 0..3usize, "[a-z]{1,8}").prop_map(|(replica, lead, kind, text)| {
            Step::Log {
                replica,
                lead,
                kind,
                text,
            }
        }),
        (r.clone(), 0..8usize, prop::option::of(any::<u8>()))
            .prop_map(|(replica, lead, at)| { Step::FollowUp { replica, lead, at } }),
        (r.clone(), 0..8usize, any::<bool>()).prop_map(|(replica, lead, other)| Step::Settle {
            replica,
            lead,
            other
        }),
        prop::collection::vec(any::<bool>(), replicas).prop_map(|sides| Step::Partition { sides }),
        Just(Step::Heal),
        (r.clone(), r).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

fn schedule() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (3..=5usize).prop_flat_map(|n| (Just(n), prop::collection::vec(step(n), 1..60)))
}

struct Network {
    docs: Vec<Automerge>,
    sides: Vec<bool>,
    /// Sync state per directed connection, as a live connection keeps it.
    links: HashMap<(usize, usize), State>,
    clock: i64,
    /// Every amount a replica wrote.
    typed: Vec<Money>,
}

impl Network {
    fn new(n: usize) -> Network {
        let mut base = Automerge::new();
        PipelineDoc::init(&mut base, &PartnerId::parse("p-prop").unwrap()).unwrap();
        let docs = (0..n)
            .map(|i| {
                base.fork()
                    .with_actor(automerge::ActorId::from(vec![i as u8 + 1]))
            })
            .collect();
        Network {
            docs,
            sides: vec![false; n],
            links: HashMap::new(),
            clock: 0,
            typed: Vec::new(),
        }
    }

    fn tick(&mut self) -> Timestamp {
        self.clock += 1;
        Timestamp(self.clock)
    }

    fn lead_at(&self, replica: usize, index: usize) -> Option<LeadId> {
        let pipeline = PipelineDoc::read(&self.docs[replica]).unwrap();
        let n = pipeline.leads.len();
        (n > 0).then(|| pipeline.leads[index % n].id.clone())
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Step::AddLead { replica, seed } => {
                let now = self.tick();
                let id = LeadId::parse(&format!("r{replica}-{seed}")).unwrap();
                let draft = LeadDraft::parse(
                    &format!("Contact {seed}"),
                    "Co",
                    "",
                    "",
                    Money::new(i64::from(*seed) * 100, Currency::parse("USD").unwrap()),
                    "",
                )
                .unwrap();
                self.typed.push(draft.value);
                // Adding an id this replica already has is refused; fine.
                let _ = PipelineDoc::add_lead(&mut self.docs[*replica], &id, &draft, now);
            }
            Step::Move {
                replica,
                lead,
                stage,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    PipelineDoc::move_lead(&mut self.docs[*replica], &id, Stage::ALL[*stage], now)
                        .unwrap();
                }
            }
            Step::Notes {
                replica,
                lead,
                text,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    let doc = &mut self.docs[*replica];
                    let current = PipelineDoc::read(doc).unwrap().lead(&id).unwrap().clone();
                    let draft = LeadDraft::parse(
                        &current.contact_name,
                        &current.company,
                        &current.email,
                        &current.phone,
                        current.value,
                        text,
                    )
                    .unwrap();
                    PipelineDoc::edit_lead(doc, &id, &draft, now).unwrap();
                }
            }
            Step::Field {
                replica,
                lead,
                field,
                pick,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    let doc = &mut self.docs[*replica];
                    let current = PipelineDoc::read(doc).unwrap().lead(&id).unwrap().clone();
                    match field {
                        0..=2 => {
                            let (mut name, mut value) =
                                (current.contact_name.clone(), current.value);
                            match field {
                                0 => name = ["Ada", "Bea", "Cy"][*pick].to_owned(),
                                // The amount alone, or the currency alone:
                                // merged, they must never make a value
                                // nobody typed.
                                1 => value = Money::new(100 * *pick as i64, value.currency),
                                _ => {
                                    let currency = ["USD", "EUR", "JPY"][*pick];
                                    value =
                                        Money::new(value.minor, Currency::parse(currency).unwrap());
                                }
                            }
                            self.typed.push(value);
                            let draft = LeadDraft::parse(
                                &name,
                                &current.company,
                                &current.email,
                                &current.phone,
                                value,
                                &current.notes,
                            )
                            .unwrap();
                            PipelineDoc::edit_lead(doc, &id, &draft, now).unwrap();
                        }
                        _ => PipelineDoc::move_lead(doc, &id, Stage::ALL[*pick], now).unwrap(),
                    }
                }
            }
            Step::Archive {
                replica,
                lead,
                archived,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    let doc = &mut self.docs[*replica];
                    if *archived {
                        PipelineDoc::archive_lead(doc, &id, now).unwrap();
                    } else {
                        PipelineDoc::restore_lead(doc, &id, now).unwrap();
                    }
                }
            }
            Step::Log {
                replica,
                lead,
                kind,
                text,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    PipelineDoc::log_activity(
                        &mut self.docs[*replica],
                        &id,
                        LogKind::ALL[*kind],
                        text,
                        now,
                        now,
                    )
                    .unwrap();
                }
            }
            Step::FollowUp { replica, lead, at } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    let follow_up =
                        at.map(|at| FollowUp::parse(Timestamp(i64::from(at)), "call").unwrap());
                    PipelineDoc::set_follow_up(
                        &mut self.docs[*replica],
                        &id,
                        follow_up.as_ref(),
                        now,
                    )
                    .unwrap();
                }
            }
            Step::Settle {
                replica,
                lead,
                other,
            } => {
                let now = self.tick();
                if let Some(id) = self.lead_at(*replica, *lead) {
                    let doc = &mut self.docs[*replica];
                    let current = PipelineDoc::read(doc).unwrap().lead(&id).unwrap().clone();
                    if let Some(conflict) = current.conflicts.first() {
                        let keep = if *other {
                            conflict.others[0].clone()
                        } else {
                            current.value_of(conflict.field)
                        };
                        PipelineDoc::settle(doc, &id, &keep, now).unwrap();
                        let after = PipelineDoc::read(doc).unwrap().lead(&id).unwrap().clone();
                        assert_eq!(
                            after.conflict(conflict.field),
                            None,
                            "settled where it was done"
                        );
                        assert_eq!(
                            after.value_of(conflict.field),
                            keep,
                            "the value kept is shown"
                        );
                    }
                }
            }
            Step::Partition { sides } => {
                self.sides = sides.clone();
                let cut = self.sides.clone();
                self.links.retain(|(a, b), _| cut[*a] == cut[*b]);
            }
            Step::Heal => self.sides = vec![false; self.docs.len()],
            Step::Sync { a, b } => {
                if a != b && self.sides[*a] == self.sides[*b] {
                    self.sync(*a, *b);
                }
            }
        }
    }

    /// Runs the sync protocol between two replicas until neither has
    /// anything more to say.
    fn sync(&mut self, a: usize, b: usize) {
        for _round in 0..100 {
            let mut quiet = true;
            for (from, to) in [(a, b), (b, a)] {
                let mut state = self.links.remove(&(from, to)).unwrap_or_default();
                let message = self.docs[from].generate_sync_message(&mut state);
                self.links.insert((from, to), state);
                if let Some(message) = message {
                    quiet = false;
                    let mut back = self.links.remove(&(to, from)).unwrap_or_default();
                    self.docs[to]
                        .receive_sync_message(&mut back, message)
                        .unwrap();
                    self.links.insert((to, from), back);
                }
            }
            if quiet {
                return;
            }
        }
        panic!("sync between {a} and {b} did not go quiet in 100 rounds");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_schedule((n, steps) in schedule()) {
        let mut net = Network::new(n);
        for step in &steps {
            net.apply(step);
        }
        net.apply(&Step::Heal);
        // A ring, twice around, reaches everyone from everyone.
        for _ in 0..2 {
            for i in 0..n {
                net.sync(i, (i + 1) % n);
            }
        }
        let heads: Vec<_> = net.docs.iter().map(|d| {
            let mut h = d.get_heads();
            h.sort();
            h
        }).collect();
        let pipelines: Vec<_> = net.docs.iter().map(|d| PipelineDoc::read(d).unwrap()).collect();
        for i in 1..n {
            prop_assert_eq!(&heads[0], &heads[i], "heads of replica {} differ", i);
            prop_assert_eq!(&pipelines[0], &pipelines[i], "content of replica {} differs", i);
        }
        // Every amount shown, or offered as the other device's, is one a
        // replica wrote: merging never makes up a value.
        for lead in &pipelines[0].leads {
            prop_assert!(net.typed.contains(&lead.value), "made-up amount {:?}", lead.value);
            for conflict in &lead.conflicts {
                for other in &conflict.others {
                    if let ConflictValue::Value(v) = other {
                        prop_assert!(net.typed.contains(v), "made-up other amount {:?}", v);
                    }
                }
            }
        }
        // Settling every conflict on one replica settles it on all.
        for lead in pipelines[0].leads.clone() {
            for conflict in &lead.conflicts {
                let now = net.tick();
                PipelineDoc::settle(&mut net.docs[0], &lead.id, &conflict.others[0], now).unwrap();
            }
        }
        for _ in 0..2 {
            for i in 0..n {
                net.sync(i, (i + 1) % n);
            }
        }
        for doc in &net.docs {
            let pipeline = PipelineDoc::read(doc).unwrap();
            prop_assert!(pipeline.leads.iter().all(|l| l.conflicts.is_empty()), "a conflict outlived settling");
        }
        // Nothing written anywhere was lost: every lead added on any replica
        // is in the merged pipeline.
        for step in &steps {
            if let Step::AddLead { replica, seed } = step {
                let id = LeadId::parse(&format!("r{replica}-{seed}")).unwrap();
                prop_assert!(pipelines[0].lead(&id).is_some(), "lead {} lost", id);
            }
        }
    }
}
