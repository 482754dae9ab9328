//! Channels, their members and their documents, kept in step with the
//! accounts by [`reconcile`]: it runs at start and then on a timer, each
//! step an idempotent statement, so a run cut short is finished by the
//! next. Nodes over one database take turns (an advisory lock held for
//! the pass): every row it adds has a unique key, so two at once would
//! make nothing twice, but the second would fail on the first's rows,
//! and at start that stopped it booting.
//!
//! - the programme's announcements channel exists (admins listed as its
//!   members, so the index names them; everyone reads it anyway);
//! - each approved team leader has a team channel and the team's
//!   announcements (the leader posts, the team reads), whose members are
//!   the leader and the team's approved partners, no one else;
//! - every channel has a messages document for this month and the next,
//!   so a device offline at the turn of a month has one to write into;
//! - a month's document holding `split_at` messages is followed by
//!   another of that month (`2026-12.2`, `.3` ...), which devices write
//!   into as soon as the index names it (one that has not heard yet goes
//!   on writing into the full one, which takes it);
//! - an index whose members or documents changed is written again.

use automerge::Automerge;
use chrono::{Datelike, Utc};
use model::{Bucket, ChannelForm, ChannelIndex, ChannelIndexDoc, Member, MessagesDoc};
use sqlx::{PgConnection, PgPool};
use sync::DocKind;

use super::{ChatState, SPLIT_ORDER};
use crate::platform::{server_docs, storage};

/// One pass (see the module's doc), one node at a time.
pub async fn reconcile(state: &ChatState) -> anyhow::Result<()> {
    // Held by a transaction of its own for the pass, which writes through
    // others: its end, or the connection's, releases it whatever happens.
    let mut turn = state.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('chat_reconcile'))")
        .execute(&mut *turn)
        .await?;
    let pass = reconcile_pass(state).await;
    turn.rollback().await?;
    pass
}

async fn reconcile_pass(state: &ChatState) -> anyhow::Result<()> {
    let pool = &state.pool;
    let has_announcements: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM channels WHERE form = 'announcements')")
            .fetch_one(pool)
            .await?;
    if !has_announcements {
        let mut tx = pool.begin().await?;
        create(
            &mut tx,
            ChannelForm::Announcements,
            "Announcements",
            None,
            None,
        )
        .await?;
        tx.commit().await?;
    }
    // A team's channel, and its announcements.
    for form in [ChannelForm::Team, ChannelForm::TeamAnnouncements] {
        let leaders: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, a.name FROM accounts a
             WHERE a.role = 'team_leader' AND a.status = 'approved'
               AND NOT EXISTS (SELECT 1 FROM channels c
                               WHERE c.team_leader_id = a.id AND c.form = $1)",
        )
        .bind(form.as_str())
        .fetch_all(pool)
        .await?;
        for (leader, name) in leaders {
            let mut tx = pool.begin().await?;
            let name = match form {
                ChannelForm::TeamAnnouncements => format!("{name}'s team announcements"),
                _ => format!("Team {name}"),
            };
            let name: String = name.chars().take(80).collect();
            create(&mut tx, form, &name, Some(&leader), None).await?;
            tx.commit().await?;
        }
    }
    // Who belongs: a team's leader and approved partners in its channels;
    // the admins in the announcements. Topic and direct channels keep
    // their own lists.
    let belongs = "SELECT c.doc_id, a.id FROM channels c JOIN accounts a
         ON a.status = 'approved'
        AND ((c.form IN ('team', 'team_announcements')
              AND (a.id = c.team_leader_id OR a.team_leader_id = c.team_leader_id))
          OR (c.form = 'announcements' AND a.role = 'admin'))";
    // Whose access moved is said to the share policy, so their open
    // connections follow (a partner moved out of a team stops receiving
    // its channel at once).
    let added = members_moved(
        pool,
        &format!(
            "INSERT INTO channel_members (doc_id, account_id) {belongs}
             ON CONFLICT DO NOTHING RETURNING doc_id, account_id"
        ),
    )
    .await?;
    let gone = members_moved(
        pool,
        &format!(
            "DELETE FROM channel_members m USING channels c
             WHERE m.doc_id = c.doc_id AND c.form IN ('team', 'team_announcements', 'announcements')
               AND (m.doc_id, m.account_id) NOT IN ({belongs})
             RETURNING m.doc_id, m.account_id"
        ),
    )
    .await?;
    let moved: Vec<String> = added.into_iter().chain(gone).collect();
    if !moved.is_empty() {
        state.policy.changed(&moved);
    }
    // This month's and the next month's documents.
    let now = Utc::now();
    let this_month = format!("{:04}-{:02}", now.year(), now.month());
    let next = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .unwrap_or(now.date_naive());
    let next_month = format!("{:04}-{:02}", next.year(), next.month());
    for period in [this_month.clone(), next_month] {
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT doc_id FROM channels c WHERE NOT EXISTS
               (SELECT 1 FROM channel_buckets b WHERE b.channel_id = c.doc_id AND b.period = $1)",
        )
        .bind(&period)
        .fetch_all(pool)
        .await?;
        for channel in missing {
            open_bucket_once(pool, &channel, &period).await?;
        }
    }
    // This month's newest document of each channel, where it is full.
    let full: Vec<(String, String)> = sqlx::query_as(&format!(
        "WITH newest AS (
             SELECT DISTINCT ON (channel_id) channel_id, doc_id, period
             FROM channel_buckets WHERE split_part(period, '.', 1) = $1
             ORDER BY channel_id, {SPLIT_ORDER} DESC)
         SELECT n.channel_id, n.period FROM newest n
         JOIN chat_projected p ON p.doc_id = n.doc_id AND p.messages >= $2"
    ))
    .bind(&this_month)
    .bind(i64::from(state.split_at))
    .fetch_all(pool)
    .await?;
    for (channel, period) in full {
        open_bucket_once(pool, &channel, &next_split(&period)).await?;
    }
    write_stale_indexes(state).await
}

/// Makes a channel: its index document (written in full by the next
/// [`reconcile`]), its registry and `channels` rows, its listed members.
pub async fn create(
    conn: &mut PgConnection,
    form: ChannelForm,
    name: &str,
    team_leader: Option<&str>,
    members: Option<(&str, &[String])>,
) -> anyhow::Result<String> {
    let mut doc = Automerge::new();
    ChannelIndexDoc::write(
        &mut doc,
        &ChannelIndex {
            name: name.to_owned(),
            form,
            members: Vec::new(),
            buckets: Vec::new(),
        },
    )?;
    let doc_id = storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $2, NULL)")
        .bind(&doc_id)
        .bind(DocKind::Channel.as_str())
        .execute(&mut *conn)
        .await?;
    let created_by = members.map(|(by, _)| by);
    sqlx::query(
        "INSERT INTO channels (doc_id, form, name, team_leader_id, created_by)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&doc_id)
    .bind(form.as_str())
    .bind(name)
    .bind(team_leader)
    .bind(created_by)
    .execute(&mut *conn)
    .await?;
    if let Some((_, members)) = members {
        sqlx::query(
            "INSERT INTO channel_members (doc_id, account_id) SELECT $1, unnest($2::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(&doc_id)
        .bind(members)
        .execute(&mut *conn)
        .await?;
    }
    tracing::info!(%doc_id, form = form.as_str(), name, "channel created");
    Ok(doc_id)
}

/// The period after `period` in the same month: `2026-12` → `2026-12.2`
/// → `2026-12.3`.
fn next_split(period: &str) -> String {
    let (month, n) = period.split_once('.').unwrap_or((period, "1"));
    format!("{month}.{}", n.parse::<u32>().unwrap_or(1) + 1)
}

/// [`open_bucket`] in a transaction of its own; another pass having
/// opened it first is no failure.
async fn open_bucket_once(pool: &PgPool, channel: &str, period: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    match open_bucket(&mut tx, channel, period).await {
        Ok(()) => tx.commit().await?,
        Err(error) => tracing::debug!(%error, "chat: no new messages document"),
    }
    Ok(())
}

/// Opens the messages document of `channel` for `period`: its structure
/// written by the server, whose actor is registered as the server's, so no
/// member can claim it.
async fn open_bucket(conn: &mut PgConnection, channel: &str, period: &str) -> anyhow::Result<()> {
    let mut doc = Automerge::new();
    MessagesDoc::init(&mut doc, channel, period)?;
    sqlx::query("INSERT INTO actors (actor, account_id) VALUES ($1, NULL)")
        .bind(doc.get_actor().to_bytes())
        .execute(&mut *conn)
        .await?;
    let doc_id = storage::insert_new_document(&mut *conn, &doc)
        .await?
        .to_string();
    sqlx::query("INSERT INTO documents (doc_id, kind, owner_id) VALUES ($1, $2, NULL)")
        .bind(&doc_id)
        .bind(DocKind::Messages.as_str())
        .execute(&mut *conn)
        .await?;
    let opened = sqlx::query(
        "INSERT INTO channel_buckets (doc_id, channel_id, period) VALUES ($1, $2, $3)
         ON CONFLICT (channel_id, period) DO NOTHING",
    )
    .bind(&doc_id)
    .bind(channel)
    .bind(period)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if opened == 0 {
        // Another pass opened it first: this document is nobody's; the
        // caller's transaction is dropped with it.
        anyhow::bail!("{channel} has its {period} document already");
    }
    mark_stale(&mut *conn, channel).await?;
    Ok(())
}

/// Runs `change`, a statement on `channel_members` returning `doc_id,
/// account_id`, marks the channels it touched for their index to be
/// written again, and says whose access moved: those members, and their
/// teams' leaders (a leader reads their team's pipelines).
async fn members_moved(pool: &PgPool, change: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "WITH moved AS ({change}),
         stale AS (
             UPDATE channels SET index_stale = true WHERE doc_id IN (SELECT doc_id FROM moved))
         SELECT account_id FROM moved
         UNION SELECT c.team_leader_id FROM moved JOIN channels c USING (doc_id)
         WHERE c.team_leader_id IS NOT NULL"
    ))
    .fetch_all(pool)
    .await
}

/// Marks `channel`'s index to be written again (by [`write_stale_indexes`]).
pub(super) async fn mark_stale(
    conn: impl sqlx::PgExecutor<'_>,
    channel: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET index_stale = true WHERE doc_id = $1")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a channel's index should say, from the tables.
pub async fn index_of(pool: &PgPool, channel: &str) -> anyhow::Result<Option<ChannelIndex>> {
    let Some((name, form)): Option<(String, String)> =
        sqlx::query_as("SELECT name, form FROM channels WHERE doc_id = $1")
            .bind(channel)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    let form = ChannelForm::parse(&form).ok_or_else(|| anyhow::anyhow!("form {form:?}"))?;
    let members = sqlx::query_as::<_, (String, String)>(
        "SELECT a.id, a.name FROM channel_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.doc_id = $1 AND a.status = 'approved' ORDER BY a.name, a.id",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(account_id, name)| Member { account_id, name })
    .collect();
    let buckets = sqlx::query_as::<_, (String, String)>(&format!(
        // A month's splits in their order (`.10` after `.9`).
        "SELECT period, doc_id FROM channel_buckets WHERE channel_id = $1
         ORDER BY split_part(period, '.', 1), {SPLIT_ORDER}"
    ))
    .bind(channel)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(period, doc_id)| Bucket { period, doc_id })
    .collect();
    Ok(Some(ChannelIndex {
        name,
        form,
        members,
        buckets,
    }))
}

async fn write_index(state: &ChatState, channel: &str) -> anyhow::Result<()> {
    let Some(index) = index_of(&state.pool, channel).await? else {
        return Ok(());
    };
    let mut doc = storage::load_document(&state.pool, channel)
        .await
        .map_err(|e| anyhow::anyhow!("it does not load: {e}"))?;
    let before = doc.get_heads();
    ChannelIndexDoc::write(&mut doc, &index)?;
    server_docs::store_changes_since(&state.residency, channel, &doc, &before)
        .await
        .map(drop)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes every index the tables moved away from, as a difference stored
/// outside the repos (the devices holding it get it from the bus).
pub(super) async fn write_stale_indexes(state: &ChatState) -> anyhow::Result<()> {
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT doc_id FROM channels WHERE index_stale ORDER BY doc_id")
            .fetch_all(&state.pool)
            .await?;
    for channel in stale {
        // Cleared first: a change after this read sets it again.
        sqlx::query("UPDATE channels SET index_stale = false WHERE doc_id = $1")
            .bind(&channel)
            .execute(&state.pool)
            .await?;
        if let Err(error) = write_index(state, &channel).await {
            // Written again at the next pass.
            mark_stale(&state.pool, &channel).await?;
            anyhow::bail!("channel {channel}: {error}");
        }
    }
    Ok(())
}
