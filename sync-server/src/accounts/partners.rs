//! Making a partner (an approved application, a demo partner) and a team
//! channel. A partner's documents belong to the modules that own them:
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

/// Makes a team channel: its structure written by the server (whose actor
/// is registered as the server's, so no member can claim it), its
/// registry row and its members, on `conn`. The caller commits.
pub async fn create_channel(
    conn: &mut PgConnection,
    name: &str,
    members: &[String],
) -> anyhow::Result<String> {
    let mut doc = automerge::Automerge::new();
    model::ChannelDoc::init(&mut doc, name)?;
    let actor = doc.get_actor().to_bytes().to_vec();
    sqlx::query("INSERT INTO actors (actor, account_id) VALUES ($1, NULL)")
        .bind(&actor)
        .execute(&mut *conn)
        .await?;
    let doc_id = crate::platform::storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $2, NULL)")
        .bind(&doc_id)
        .bind(sync::DocKind::Channel.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO channel_members (doc_id, account_id) SELECT $1, unnest($2::text[])")
        .bind(&doc_id)
        .bind(members)
        .execute(&mut *conn)
        .await?;
    Ok(doc_id)
}
