//! The field client (`crates/field`) against the real server: signed in
//! with a bearer session, its documents fetched once, edited with no
//! connection, synced, and its SQLite tables, projected by the same code
//! as the server's, equal to the server's `leads` rows.

use std::time::{Duration, Instant};

use model::{LeadDraft, LeadId, LogKind, Money, PipelineEdit, Stage, Timestamp};
use portal_field::{
    engine::Field,
    local::{self, LeadLine},
    session::Home,
};

use crate::helpers::*;

/// A field client of Ben's in a directory of its own, signed in and
/// synced once (its pipeline fetched).
async fn field_client(server: &TestServer, device: &str) -> (tempfile::TempDir, Field) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(Some(dir.path().to_owned())).unwrap();
    let session = portal_field::sign_in::sign_in(
        &format!("http://{}", server.addr),
        "ben@okafor.example",
        "demo-ben-password".to_owned(),
        device.to_owned(),
    )
    .await
    .unwrap();
    home.save(&session).unwrap();
    let field = Field::open(&home).unwrap();
    field.sync(false, |_| {}).await.unwrap();
    (dir, field)
}

async fn local_leads(field: &Field) -> Vec<LeadLine> {
    let mut leads = field
        .store
        .call(|c| local::list_leads(c, "p-ben", None, true))
        .await
        .unwrap()
        .unwrap();
    leads.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
    leads
}

/// The server's `leads` rows of Ben, as the field client lists them.
async fn server_leads(pool: &sqlx::PgPool) -> Vec<LeadLine> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT lead_id, stage, contact_name, company, email, phone, notes, value_minor,
                currency::text, created_at, updated_at, archived_at, follow_up_at, follow_up_note
         FROM leads WHERE partner_id = 'p-ben' ORDER BY lead_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| LeadLine {
            lead_id: r.0,
            stage: r.1,
            contact_name: r.2,
            company: r.3,
            email: r.4,
            phone: r.5,
            notes: r.6,
            value_minor: r.7,
            currency: r.8,
            created_at: local::stamp(r.9),
            updated_at: local::stamp(r.10),
            archived_at: r.11.map(local::stamp),
            follow_up_at: r.12.map(local::stamp),
            follow_up_note: r.13,
        })
        .collect()
}

fn stage_of<'a>(leads: &'a [LeadLine], id: &str) -> &'a str {
    &leads.iter().find(|l| l.lead_id == id).unwrap().stage
}

#[tokio::test]
async fn two_field_clients_edit_one_lead_apart_and_converge_with_the_servers_rows() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let (_a_dir, a) = field_client(&server, "field-a").await;
    let (_b_dir, b) = field_client(&server, "field-b").await;
    assert_eq!(stage_of(&local_leads(&a).await, "ben-1"), "new");

    // Apart: neither syncs. The laptop moves the lead and logs a call; the
    // other moves it elsewhere and adds a lead.
    let now = Timestamp(chrono::Utc::now().timestamp_millis());
    let ben_1 = LeadId::parse("ben-1").unwrap();
    a.edit(PipelineEdit::Move {
        id: ben_1.clone(),
        to: Stage::Contacted,
    })
    .await
    .unwrap();
    a.edit(PipelineEdit::Log {
        id: ben_1.clone(),
        kind: LogKind::Note,
        text: "wants a demo".into(),
        at: now,
    })
    .await
    .unwrap();
    b.edit(PipelineEdit::Move {
        id: ben_1.clone(),
        to: Stage::Qualified,
    })
    .await
    .unwrap();
    let value = Money::new(250_050, model::Currency::parse("USD").unwrap());
    let draft = LeadDraft::parse("Nia Long", "Long Farms", "", "", value, "").unwrap();
    let nia = LeadId::parse("nia-field").unwrap();
    b.edit(PipelineEdit::AddLead {
        id: nia.clone(),
        draft,
    })
    .await
    .unwrap();
    // Each answers from its own tables, offline.
    assert_eq!(stage_of(&local_leads(&a).await, "ben-1"), "contacted");
    assert_eq!(stage_of(&local_leads(&b).await, "ben-1"), "qualified");
    assert!(
        !local_leads(&a)
            .await
            .iter()
            .any(|l| l.lead_id == "nia-field")
    );
    let waiting = a.status().await.unwrap().documents[0].changes_waiting;
    assert_eq!(waiting, 2, "the move and the note wait to go out");

    // Together again.
    let sent = a.sync(false, |_| {}).await.unwrap().sent;
    assert_eq!(sent, 2);
    b.sync(false, |_| {}).await.unwrap();
    a.sync(false, |_| {}).await.unwrap();
    assert_eq!(a.status().await.unwrap().documents[0].changes_waiting, 0);

    let (on_a, on_b) = (local_leads(&a).await, local_leads(&b).await);
    assert_eq!(on_a, on_b, "both laptops show the same leads");
    assert!(on_a.iter().any(|l| l.lead_id == "nia-field"));
    assert!(["contacted", "qualified"].contains(&stage_of(&on_a, "ben-1")));
    // The server projects what it stored on its own time.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let on_server = server_leads(&pool).await;
        if on_server == on_a {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server's rows differ from the field client's:\n{on_server:#?}\n{on_a:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}
