//! Each partner's training document: made with the partner, and at start
//! for partners made before training existed.

use futures::future::BoxFuture;
use model::{PartnerId, Timestamp, TrainingDoc};
use sqlx::{PgConnection, PgPool};
use sync::DocKind;

use crate::platform::storage::insert_owned_document;

/// Training's [`crate::accounts::partners::PartnerSetup`].
pub fn setup_partner<'a>(
    conn: &'a mut PgConnection,
    partner: &'a PartnerId,
    _now: Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(async move {
        let doc = TrainingDoc::create(partner)?;
        insert_owned_document(conn, &doc, DocKind::Training, partner.as_str())
            .await?
            .ok_or_else(|| anyhow::anyhow!("{partner} has a training document already"))
    })
}

/// Makes the training document of every partner who has none.
pub async fn catch_up(pool: &PgPool) -> anyhow::Result<usize> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT p.id FROM partners p WHERE NOT EXISTS
            (SELECT 1 FROM documents d WHERE d.owner_id = p.id AND d.kind = 'training')",
    )
    .fetch_all(pool)
    .await?;
    let mut made = 0;
    for partner in missing {
        let Ok(id) = PartnerId::parse(&partner) else {
            continue;
        };
        let mut tx = pool.begin().await?;
        let doc = TrainingDoc::create(&id)?;
        if insert_owned_document(&mut tx, &doc, DocKind::Training, &partner)
            .await?
            .is_some()
        {
            tx.commit().await?;
            made += 1;
        }
    }
    Ok(made)
}
