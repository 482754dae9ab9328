//! The field client killed in the middle of a burst of writes: every edit
//! it acknowledged is there after a restart, and the store still opens.
//!
//! Many `portal-field lead add` processes write to one store at once (the
//! single-writer store makes them take turns through SQLite's busy
//! timeout, not fail with "database is locked"); every third is SIGKILLed
//! as soon as the one before it has answered, which is while the burst is
//! writing. Offline throughout: the session names a server nobody serves.

use std::{
    collections::BTreeSet,
    process::{Child, Command, Stdio},
};

use model::PipelineDoc;
use portal_field::{
    engine::Field,
    local,
    session::{Home, Session},
};
use samod::{PeerId, Repo};

const PROCESSES: usize = 30;

fn add(home: &std::path::Path, i: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_portal-field"))
        .arg("--home")
        .arg(home)
        .args([
            "lead",
            "add",
            &format!("Contact {i}"),
            "--value",
            "1,000.50",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portal-field runs")
}

/// A repo over the field client's store, as the binary opens one.
async fn repo_over(field: &Field) -> Repo {
    Repo::build_tokio()
        .with_storage(field.store.clone())
        .with_peer_id(PeerId::from("a-ben/field-kill"))
        .load()
        .await
}

/// The lead id a finished `lead add` acknowledged, if it did.
fn acknowledged(child: Child) -> Option<String> {
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success().then_some(())?;
    Some(
        text.strip_prefix("added lead ")?
            .split(' ')
            .next()?
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_client_killed_mid_burst_keeps_every_edit_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(Some(dir.path().to_owned())).unwrap();
    // A pipeline kept locally, as after a first sync.
    let mut session = Session {
        server: "http://127.0.0.1:9".into(),
        token: "unused".into(),
        account_id: "a-ben".into(),
        partner_id: Some("p-ben".into()),
        name: "Ben".into(),
        expires_at: "2099-01-01T00:00:00Z".into(),
        affinity: String::new(),
        documents: Vec::new(),
        device: "field-kill".into(),
    };
    home.save(&session).unwrap();
    {
        let field = Field::open(&home).unwrap();
        let repo = repo_over(&field).await;
        let mut doc = automerge::Automerge::new();
        PipelineDoc::init(&mut doc, &model::PartnerId::parse("p-ben").unwrap()).unwrap();
        let handle = repo.create(doc).await.unwrap();
        session
            .documents
            .push((handle.document_id().to_string(), "pipeline".into()));
        repo.stop().await;
    }
    home.save(&session).unwrap();

    let mut acked = BTreeSet::new();
    let mut killed = 0;
    let mut children: Vec<Child> = (0..PROCESSES).map(|i| add(dir.path(), i)).collect();
    let mut previous_done = false;
    for (i, mut child) in children.drain(..).enumerate() {
        if i % 3 == 2 && previous_done {
            // The one before answered; this one is somewhere in its run.
            let _ = child.kill();
            let _ = child.wait();
            killed += 1;
            previous_done = false;
            continue;
        }
        match acknowledged(child) {
            Some(id) => {
                acked.insert(id);
                previous_done = true;
            }
            None => previous_done = false,
        }
    }
    assert!(killed >= 5, "only {killed} processes were killed");
    assert!(
        acked.len() >= PROCESSES / 2,
        "only {} of {PROCESSES} edits were acknowledged: the processes did not take turns",
        acked.len()
    );

    // After the restart: the document holds every acknowledged lead, and
    // so do the local tables once it is projected again.
    let field = Field::open(&home).unwrap();
    let repo = repo_over(&field).await;
    let id = session.documents[0].0.parse().unwrap();
    let handle = repo.find(id).await.unwrap().expect("the pipeline is kept");
    let pipeline = handle.with_document(|doc| PipelineDoc::read(doc)).unwrap();
    let in_doc: BTreeSet<String> = pipeline.leads.iter().map(|l| l.id.to_string()).collect();
    let missing: Vec<_> = acked.difference(&in_doc).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    repo.stop().await;
    let listed: BTreeSet<String> = field
        .store
        .call(|c| local::list_leads(c, "p-ben", None, true))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|l| l.lead_id)
        .collect();
    let unlisted: Vec<_> = acked.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "acknowledged but not listed: {unlisted:?}"
    );
}
