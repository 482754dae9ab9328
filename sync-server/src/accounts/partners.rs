//! Making a partner (an approved application, a demo partner). A partner's documents belong to the modules that own them:
//! each gives a [`PartnerSetup`], and the composition root lists them
//! (`startup.rs`), so approving an applicant knows no module.

use futures::future::BoxFuture;
use model::{PartnerId, Timestamp};
use sqlx::PgConnection;

/// What a module makes for every new partner, in the transaction that
/// makes the partner: a document (created in storage and registered),
/// whose id it returns so the projection reads it once committed.
pub type PartnerSetup = for<'a> fn(
    &'a mut PgConnection,
    &'a PartnerId,
    Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>>;

/// Makes a partner's `partners` row on `conn`; the caller runs the
/// modules' [`PartnerSetup`]s in the same transaction and commits.
pub async fn create_partner(
    conn: &mut PgConnection,
    id: &PartnerId,
    name: &str,
    company: &str,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO partners (id, name, company) VALUES ($1, $2, $3)")
        .bind(id.as_str())
        .bind(name)
        .bind(company)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
