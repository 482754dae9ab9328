//! Each partner's read markers (`reads`): how far they read each channel,
//! written on their devices and synced across them. Made with the partner,
//! and by the chat worker for partners made before the chat existed.

use futures::future::BoxFuture;
use model::{PartnerId, ReadsDoc, Timestamp};
use sqlx::{PgConnection, PgPool};
use sync::DocKind;

use crate::platform::storage::insert_owned_document;

/// The chat's [`crate::accounts::partners::PartnerSetup`].
pub fn setup_partner<'a>(
    conn: &'a mut PgConnection,
    partner: &'a PartnerId,
    _now: Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(async move {
        let doc = ReadsDoc::create()?;
        insert_owned_document(conn, &doc, DocKind::Reads, partner.as_str())
            .await?
            .ok_or_else(|| anyhow::anyhow!("{partner} has read markers already"))
    })
}

/// Makes the read markers of every partner who has none.
pub async fn catch_up(pool: &PgPool) -> anyhow::Result<()> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT p.id FROM partners p WHERE NOT EXISTS
            (SELECT 1 FROM documents d WHERE d.owner_id = p.id AND d.kind = 'reads')",
    )
    .fetch_all(pool)
    .await?;
    for partner in missing {
        let mut tx = pool.begin().await?;
        let doc = ReadsDoc::create()?;
        // Another server made it meanwhile: nothing to do.
        if insert_owned_document(&mut tx, &doc, DocKind::Reads, &partner)
            .await?
            .is_some()
        {
            tx.commit().await?;
        }
    }
    Ok(())
}
