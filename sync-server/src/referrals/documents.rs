//! Each partner's referrals document: made with the partner, and at start
//! for partners made before referral links existed.

use futures::future::BoxFuture;
use model::{PartnerId, ReferralsDoc, Timestamp};
use sqlx::{PgConnection, PgPool};
use sync::DocKind;

use crate::platform::storage::insert_owned_document;

/// Referrals' [`crate::accounts::partners::PartnerSetup`].
pub fn setup_partner<'a>(
    conn: &'a mut PgConnection,
    partner: &'a PartnerId,
    _now: Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(async move {
        let doc = ReferralsDoc::create(partner)?;
        insert_owned_document(conn, &doc, DocKind::Referrals, partner.as_str())
            .await?
            .ok_or_else(|| anyhow::anyhow!("{partner} has a referrals document already"))
    })
}

/// Makes the referrals document of every partner who has none.
pub async fn catch_up(pool: &PgPool) -> anyhow::Result<usize> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT p.id FROM partners p WHERE NOT EXISTS
            (SELECT 1 FROM documents d WHERE d.owner_id = p.id AND d.kind = 'referrals')",
    )
    .fetch_all(pool)
    .await?;
    let mut made = 0;
    for partner in missing {
        let Ok(id) = PartnerId::parse(&partner) else {
            continue;
        };
        let mut tx = pool.begin().await?;
        let doc = ReferralsDoc::create(&id)?;
        if insert_owned_document(&mut tx, &doc, DocKind::Referrals, &partner)
            .await?
            .is_some()
        {
            tx.commit().await?;
            made += 1;
        }
    }
    Ok(made)
}
