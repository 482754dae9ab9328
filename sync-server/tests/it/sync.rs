use std::time::Duration;

use model::{Currency, FollowUp, LeadDraft, LeadId, Money, PipelineDoc, Stage, Timestamp};

use crate::helpers::*;

fn lead(id: &str) -> LeadId {
    LeadId::parse(id).unwrap()
}

fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

#[tokio::test]
async fn offline_edits_of_two_clients_converge_and_reach_postgres() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let doc_id = pipeline_doc(&pool, "p-ana").await;

    let (phone, laptop) = (client("a-ana").await, client("a-ana").await);
    let phone_link = connect(&phone, &server).await;
    let laptop_link = connect(&laptop, &server).await;
    let on_phone = open(&phone, &doc_id).await;
    let on_laptop = open(&laptop, &doc_id).await;
    assert_eq!(read(&on_phone).leads.len(), 6, "the seeded leads arrive");

    // Both go offline and edit the same pipeline.
    phone_link.close();
    laptop_link.close();
    on_phone
        .with_document(|doc| {
            PipelineDoc::move_lead(doc, &lead("ana-4"), Stage::Won, now())?;
            PipelineDoc::archive_lead(doc, &lead("ana-1"), now())
        })
        .unwrap();
    let follow_up = FollowUp::parse(Timestamp(1_800_000_000_000), "send the contract").unwrap();
    on_laptop
        .with_document(|doc| {
            let pipeline = PipelineDoc::read(doc)?;
            let current = pipeline.lead(&lead("ana-4")).unwrap();
            let mut draft = LeadDraft::parse(
                &current.contact_name,
                &current.company,
                &current.email,
                &current.phone,
                current.value,
                "Proposal sent. Called back: they want it signed this week.",
            )?;
            draft.company = current.company.clone();
            PipelineDoc::edit_lead(doc, &lead("ana-4"), &draft, now())?;
            let new = LeadDraft::parse(
                "Nora Field",
                "Field & Sons",
                "nora@field.example",
                "",
                Money::new(72_000, Currency::parse("USD")?),
                "met on the train",
            )?;
            PipelineDoc::add_lead(doc, &lead("laptop-1"), &new, now())?;
            PipelineDoc::set_follow_up(doc, &lead("ana-2"), Some(&follow_up), now())
        })
        .unwrap();
    assert_ne!(heads(&on_phone), heads(&on_laptop));

    // Back online: both replicas converge through the server.
    let _phone_link = connect(&phone, &server).await;
    let _laptop_link = connect(&laptop, &server).await;
    wait_for(
        "the replicas to converge",
        Duration::from_secs(20),
        || async { (heads(&on_phone) == heads(&on_laptop)).then_some(()) },
    )
    .await;

    let merged = read(&on_phone);
    assert_eq!(merged, read(&on_laptop));
    let moved = merged.lead(&lead("ana-4")).unwrap();
    assert_eq!(moved.stage, Stage::Won, "the phone's move survives");
    assert!(
        moved.notes.contains("signed this week"),
        "the laptop's notes survive"
    );
    assert!(
        merged.lead(&lead("laptop-1")).is_some(),
        "the laptop's new lead survives"
    );
    assert_eq!(merged.leads.len(), 7);
    assert!(merged.lead(&lead("ana-1")).unwrap().is_archived());
    assert_eq!(
        merged.lead(&lead("ana-2")).unwrap().follow_up,
        Some(follow_up)
    );

    wait_for_rows(&pool, "p-ana", &rows_of(&merged)).await;
}

#[tokio::test]
async fn documents_and_projection_survive_a_restart() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let server = TestServer::start(&db.url).await;
    let doc_id = pipeline_doc(&pool, "p-ben").await;

    let repo = client("a-ben").await;
    let _link = connect(&repo, &server).await;
    let handle = open(&repo, &doc_id).await;
    handle
        .with_document(|doc| {
            let draft = LeadDraft::parse(
                "Rita Moss",
                "Moss Ltd",
                "",
                "",
                Money::new(5_000, Currency::parse("EUR")?),
                "",
            )?;
            PipelineDoc::add_lead(doc, &lead("ben-restart"), &draft, now())
        })
        .unwrap();
    let before = read(&handle);
    wait_for_rows(&pool, "p-ben", &rows_of(&before)).await;
    repo.stop().await;
    server.stop().await;

    // Pretend the projection fell behind while the server was down: the
    // restarted server must notice the heads moved and project again.
    sqlx::query("DELETE FROM leads WHERE partner_id = 'p-ben'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE projections SET heads = '{}' WHERE doc_id = $1")
        .bind(&doc_id)
        .execute(&pool)
        .await
        .unwrap();

    let server = TestServer::start(&db.url).await;
    wait_for_rows(&pool, "p-ben", &rows_of(&before)).await;

    let fresh = client("a-ben").await;
    let _link = connect(&fresh, &server).await;
    let again = open(&fresh, &doc_id).await;
    assert_eq!(
        read(&again),
        before,
        "the document came back whole from Postgres"
    );

    let partners: i64 = sqlx::query_scalar("SELECT count(*) FROM partners")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(partners, 3, "seeding twice adds nothing");
}
