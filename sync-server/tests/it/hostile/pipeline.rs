//! See `mod.rs`. A partner's own pipeline document, written by a client the
//! server does not control: what the projection and the share policy make
//! of what it says.

use std::time::Duration;

use automerge::{ROOT, ReadDoc, ScalarValue, Value};
use model::{AccountViewDoc, DealStatus, LeadId, Stage};
use samod::{DocHandle, Repo};
use sqlx::PgPool;

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// Puts raw values into a lead of the pipeline on a device, in one
/// transaction: what a broken or hostile client may write, past the model's
/// checks.
fn put_raw(handle: &DocHandle, lead: &str, fields: &[(&str, ScalarValue)]) {
    handle
        .with_document(|doc| -> Result<(), String> {
            let Some((Value::Object(_), leads)) =
                doc.get(ROOT, "leads").map_err(|e| e.to_string())?
            else {
                return Err("no leads".into());
            };
            let Some((Value::Object(_), obj)) = doc.get(&leads, lead).map_err(|e| e.to_string())?
            else {
                return Err(format!("no lead {lead}"));
            };
            doc.transact(|tx| {
                for (field, value) in fields {
                    automerge::transaction::Transactable::put(tx, &obj, *field, value.clone())?;
                }
                Ok::<_, automerge::AutomergeError>(())
            })
            .map_err(|f| f.error.to_string())?;
            Ok(())
        })
        .unwrap();
}

/// Waits until the server has projected exactly the heads the device has.
async fn wait_projected(pool: &PgPool, doc_id: &str, handle: &DocHandle) {
    // Hex of sorted hashes sorts like the hashes.
    let want: Vec<String> = heads(handle).iter().map(|h| h.to_string()).collect();
    wait_for("the projection of the device's heads", DEADLINE, || async {
        let projected: Option<Vec<String>> =
            sqlx::query_scalar("SELECT heads FROM projections WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_optional(pool)
                .await
                .unwrap();
        (projected? == want).then_some(())
    })
    .await;
}

async fn find(repo: &Repo, doc_id: &str) -> Option<DocHandle> {
    tokio::time::timeout(Duration::from_secs(15), repo.find(doc_id.parse().unwrap()))
        .await
        .expect("find answers within 15 s")
        .unwrap()
}

/// Item 12: a lead whose deal is approved, moved to Lost by a device that
/// did not know. The deal stands (approved, its lines untouched, nothing
/// clawed back), the conflict is recorded, and the partner's account view
/// (what the lead card reads, offline too) says where the lead went, until
/// it is won again.
#[tokio::test]
async fn a_lead_moved_out_of_won_after_approval_keeps_its_deal_and_the_card_says_so() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;

    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, approved) = approve(&server, &admin, deal).await;
    assert_eq!(status, 200, "{approved}");
    let lines = || async {
        sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT id, kind, amount_minor FROM ledger_lines WHERE deal_id = $1 ORDER BY id",
        )
        .bind(deal)
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let paid = lines().await;
    assert_eq!(paid.len(), 1, "{paid:?}");

    // Another device of Ben's, offline since before the approval, moves it.
    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let pipeline_id = pipeline_doc(&pool, "p-ben").await;
    let pipeline = open(&ben, &pipeline_id).await;
    move_to(&pipeline, "ben-5", Stage::Lost);

    let conflict = || async {
        sqlx::query_as::<_, (String, bool)>(
            "SELECT stage, resolved_at IS NOT NULL FROM deal_conflicts WHERE deal_id = $1",
        )
        .bind(deal)
        .fetch_optional(&pool)
        .await
        .unwrap()
    };
    wait_for("the conflict to be recorded", DEADLINE, || async {
        conflict().await.filter(|(_, resolved)| !resolved)
    })
    .await;
    wait_projected(&pool, &pipeline_id, &pipeline).await;
    assert_eq!(conflict().await, Some(("lost".into(), false)));
    // The lead's row follows the document; the deal does not.
    let stage: String = sqlx::query_scalar(
        "SELECT stage FROM leads WHERE partner_id = 'p-ben' AND lead_id = 'ben-5'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stage, "lost");
    let (status, reversed): (String, bool) =
        sqlx::query_as("SELECT status, reversed_at IS NOT NULL FROM deals WHERE id = $1")
            .bind(deal)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reversed), ("approved", false));
    assert_eq!(lines().await, paid, "no line added or clawed back");

    // The card reads the deal's outcome from the account view.
    let ben5 = LeadId::parse("ben-5").unwrap();
    let view = open(&ben, &account_view_doc(&pool, "p-ben").await).await;
    let deal_in_view = |moved: Option<Stage>| {
        let (view, ben5) = (&view, &ben5);
        move || async move {
            let read = view.with_document(|doc| AccountViewDoc::read(doc)).ok()?;
            read.deal(ben5)
                .filter(|d| d.status == DealStatus::Approved && d.moved_to == moved)
                .cloned()
        }
    };
    wait_for(
        "the view to say ben-5 moved to Lost after approval",
        DEADLINE,
        deal_in_view(Some(Stage::Lost)),
    )
    .await;

    // Moved on again, still out of "won": the conflict follows the stage
    // (the projection files deals only where something concerns them).
    move_to(&pipeline, "ben-5", Stage::Proposal);
    wait_for("the conflict to say Proposal", DEADLINE, || async {
        conflict()
            .await
            .filter(|(stage, resolved)| stage == "proposal" && !resolved)
    })
    .await;
    wait_for(
        "the view to say ben-5 moved to Proposal after approval",
        DEADLINE,
        deal_in_view(Some(Stage::Proposal)),
    )
    .await;

    // Won again on a device: resolved, the record kept, the note gone.
    move_to(&pipeline, "ben-5", Stage::Won);
    wait_for("the conflict to be resolved", DEADLINE, || async {
        conflict().await.filter(|(_, resolved)| *resolved)
    })
    .await;
    wait_for("the view to drop the note", DEADLINE, deal_in_view(None)).await;
    assert_eq!(lines().await, paid);
}

/// Item 16: values the projection cannot write without inventing one (a
/// negative amount, times outside any calendar) leave the lead's previous
/// row and deal as they were, and are counted in `projection_rejects`.
/// Before, the amount became a deal of 0.00, `i64::MAX` became 1970, and a
/// time before 4713 BC stopped the document's projection for good (Postgres
/// refused it and the worker retried forever).
#[tokio::test]
async fn a_lead_the_projection_cannot_read_keeps_its_row_and_is_counted() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let doc_id = pipeline_doc(&pool, "p-ben").await;
    let pipeline = open(&ben, &doc_id).await;
    wait_for_rows(&pool, "p-ben", &rows_of(&read(&pipeline))).await;
    wait_projected(&pool, &doc_id, &pipeline).await;
    let rows = lead_rows(&pool, "p-ben").await;
    let times = || async {
        sqlx::query_as::<
            _,
            (
                String,
                chrono::DateTime<chrono::Utc>,
                chrono::DateTime<chrono::Utc>,
            ),
        >(
            "SELECT lead_id, created_at, updated_at FROM leads
             WHERE partner_id = 'p-ben' ORDER BY lead_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let times_before = times().await;

    // Won at a negative amount, in one change: no deal at 0.00.
    put_raw(
        &pipeline,
        "ben-4",
        &[
            ("stage", "won".into()),
            ("value_minor", ScalarValue::Int(-500)),
        ],
    );
    put_raw(
        &pipeline,
        "ben-3",
        &[("created_at", ScalarValue::Timestamp(i64::MAX))],
    );
    put_raw(
        &pipeline,
        "ben-2",
        &[("updated_at", ScalarValue::Timestamp(-8_000_000_000_000_000))],
    );
    wait_projected(&pool, &doc_id, &pipeline).await;

    assert_eq!(lead_rows(&pool, "p-ben").await, rows, "previous rows kept");
    assert_eq!(times().await, times_before, "no invented time");
    let ben4_deals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deals WHERE partner_id = 'p-ben' AND lead_id = 'ben-4'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ben4_deals, 0, "no deal filed at an invented amount");
    let rejects = || async {
        sqlx::query_as::<_, (String, String, i64)>(
            "SELECT lead_id, reason, times FROM projection_rejects WHERE doc_id = $1
             ORDER BY lead_id",
        )
        .bind(&doc_id)
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let recorded = rejects().await;
    let leads: Vec<&str> = recorded.iter().map(|(lead, _, _)| lead.as_str()).collect();
    assert_eq!(leads, ["ben-2", "ben-3", "ben-4"], "{recorded:?}");
    assert!(recorded[0].1.contains("updated_at"), "{recorded:?}");
    assert!(recorded[1].1.contains("created_at"), "{recorded:?}");
    assert_eq!(recorded[2].1, "value_minor -500 is negative");

    // Counted, not repeated: another edit of the broken lead.
    put_raw(
        &pipeline,
        "ben-4",
        &[("value_minor", ScalarValue::Int(-600))],
    );
    wait_projected(&pool, &doc_id, &pipeline).await;
    let again = rejects().await;
    assert_eq!(again.len(), 3, "{again:?}");
    assert_eq!(
        (again[2].1.as_str(), again[2].2),
        ("value_minor -600 is negative", recorded[2].2 + 1)
    );

    // Repaired: the lead is projected again, and its deal filed.
    put_raw(
        &pipeline,
        "ben-4",
        &[("value_minor", ScalarValue::Int(1_000))],
    );
    wait_projected(&pool, &doc_id, &pipeline).await;
    let ben4 = lead_rows(&pool, "p-ben")
        .await
        .into_iter()
        .find(|row| row.lead_id == "ben-4")
        .unwrap();
    assert_eq!((ben4.stage.as_str(), ben4.value_minor), ("won", 1_000));
    deal_of(&pool, "p-ben", "ben-4", "submitted").await;
}

/// Item 16: the share policy reads an account's role; one it does not know
/// (a role only a newer server has, say) no longer passes for a partner's.
#[tokio::test]
async fn an_account_whose_role_the_policy_cannot_read_reaches_nothing() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let pipeline = pipeline_doc(&pool, "p-cleo").await;
    // Connected first: signing in refuses an unknown role outright. Nothing
    // of Cleo's has been asked for, so the policy has not read her account.
    let cleo = client("a-cleo").await;
    let _link = connect(&cleo, &server).await;
    sqlx::query("ALTER TABLE accounts DROP CONSTRAINT accounts_role_known")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET role = 'auditor' WHERE id = 'a-cleo'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        find(&cleo, &pipeline).await.is_none(),
        "an unknown role read as a partner's"
    );
    // Her own pipeline is still there for an account the policy can read.
    let admin = client("a-admin").await;
    let _admin_link = connect(&admin, &server).await;
    assert!(find(&admin, &pipeline).await.is_some());
}

/// A NUL in a lead's text, or in the key of an entry, is something
/// Postgres text cannot hold: the projection used to fail on it, and retry
/// the document forever.
#[tokio::test]
async fn a_nul_in_a_lead_never_stops_the_projection() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let ben = client("a-ben").await;
    let _link = connect(&ben, &server).await;
    let doc_id = pipeline_doc(&pool, "p-ben").await;
    let pipeline = open(&ben, &doc_id).await;
    wait_projected(&pool, &doc_id, &pipeline).await;
    let before = lead_rows(&pool, "p-ben").await;

    put_raw(&pipeline, "ben-1", &[("contact_name", "Ann\0Lee".into())]);
    pipeline.with_document(|doc| {
        let (_, leads) = doc.get(ROOT, "leads").unwrap().unwrap();
        doc.transact(|tx| {
            automerge::transaction::Transactable::put(tx, &leads, "odd\0key", 1)?;
            Ok::<_, automerge::AutomergeError>(())
        })
        .unwrap();
    });
    put_raw(
        &pipeline,
        "ben-2",
        &[("contact_name", "Still projected".into())],
    );
    wait_projected(&pool, &doc_id, &pipeline).await;

    let after = lead_rows(&pool, "p-ben").await;
    let row = |rows: &[LeadRow], id: &str| {
        rows.iter()
            .find(|r| r.lead_id == id)
            .map(|r| r.contact_name.clone())
    };
    assert_eq!(
        row(&after, "ben-1"),
        row(&before, "ben-1"),
        "previous row kept"
    );
    assert_eq!(row(&after, "ben-2").as_deref(), Some("Still projected"));
    let rejects: Vec<(String, String)> = sqlx::query_as(
        "SELECT lead_id, reason FROM projection_rejects WHERE doc_id = $1 ORDER BY lead_id",
    )
    .bind(&doc_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(rejects[0].0, "ben-1");
    assert!(rejects[0].1.contains("NUL"), "{rejects:?}");
    assert_eq!(rejects[1].0, "odd\u{fffd}key");
}
