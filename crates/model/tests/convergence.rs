//! Convergence under random schedules: three to five in-process replicas of a
//! pipeline document make random edits, are partitioned and healed at random,
//! and sync pairwise over Automerge's sync protocol (the protocol samod runs
//! on the wire). However the schedule goes, once the network heals and every
//! pair has synced, all replicas hold identical documents.

use std::collections::HashMap;

use automerge::{
    Automerge,
    sync::{State, SyncDoc},
};
use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
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
