//! The field client killed in the middle of a burst of writes: every edit
//! it acknowledged is there after a restart, and the store still opens.
//!
//! `portal-field lead add` processes write to one store four at a time
//! (the single-writer store makes them take turns through SQLite's busy
//! timeout, not fail with "database is locked"); the last of each four is
//! SIGKILLed as soon as the first has answered, while the others write. Offline throughout: the session names a server nobody serves.

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

/// Waves of four `lead add` processes.
const WAVES: usize = 10;

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
        // The amount as written in English, whatever the machine's locale.
        .env("LC_ALL", "en_US.UTF-8")
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

    // Waves of four at once: when the first of a wave has answered, the
    // last (started last, behind the others for the file's lock) is
    // killed wherever it is in its run.
    let mut acked = BTreeSet::new();
    let mut killed = 0;
    for wave in 0..WAVES {
        let mut children: Vec<Child> = (0..4).map(|k| add(dir.path(), wave * 4 + k)).collect();
        let mut last = children.pop().unwrap();
        let mut children = children.into_iter();
        acked.extend(acknowledged(children.next().unwrap()));
        let _ = last.kill();
        // Only a process the signal ended counts: one that had finished
        // first was not killed mid-run.
        match last.try_wait() {
            Ok(Some(status)) if status.success() => acked.extend(acknowledged(last)),
            _ => {
                let status = last.wait().unwrap();
                if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
                    killed += 1;
                }
            }
        }
        for child in children {
            acked.extend(acknowledged(child));
        }
    }
    assert!(
        killed >= WAVES / 3,
        "only {killed} processes were killed mid-run"
    );
    assert!(
        acked.len() >= WAVES * 3,
        "only {} edits were acknowledged: the processes did not take turns",
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
