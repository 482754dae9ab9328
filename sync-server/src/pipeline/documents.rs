//! A partner's pipeline document: made when the partner is (empty for an
//! approved applicant, with leads for a demo partner).

use anyhow::Context;
use futures::future::BoxFuture;
use model::{
    Currency, FollowUp, LeadDraft, LeadId, LogKind, Money, PartnerId, PipelineDoc, Stage, Timestamp,
};
use serde::Deserialize;
use sqlx::PgConnection;

/// A lead as the fixtures write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadFixture {
    pub id: LeadId,
    pub contact_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    pub value_minor: i64,
    pub currency: Currency,
    #[serde(default)]
    pub notes: String,
    /// Where it ends up, after its history.
    pub stage: Stage,
    /// Days before the seed it was made; without it, the fixture's leads
    /// are made a minute apart, in the fixture's order.
    #[serde(default)]
    pub created_days_ago: Option<u32>,
    /// Its history (fixtures/big-pipeline.mjs writes a year of it).
    #[serde(default)]
    pub activity: Vec<ActivityFixture>,
    /// A follow-up this many days from the seed (negative: overdue).
    #[serde(default)]
    pub follow_up_in_days: Option<i32>,
    #[serde(default)]
    pub archived: bool,
}

/// One entry of a lead's history in the fixtures: a move to `to`, or a
/// logged call, meeting or note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityFixture {
    pub days_ago: u32,
    /// `move`, `call`, `meeting` or `note`.
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub to: Option<Stage>,
}

const DAY_MS: i64 = rules::MS_PER_DAY;

/// The pipeline's [`crate::accounts::partners::PartnerSetup`]: an empty
/// pipeline for a new partner.
pub fn setup_partner<'a>(
    conn: &'a mut PgConnection,
    partner: &'a PartnerId,
    now: Timestamp,
) -> BoxFuture<'a, anyhow::Result<String>> {
    Box::pin(create_pipeline(conn, partner, &[], now))
}

/// Makes `partner`'s pipeline document (with `leads`) in storage and its
/// registry row on `conn`. The caller commits and then tells the
/// projection worker about the returned document id. Should the
/// transaction roll back, the document stays in storage with no registry
/// row, unreachable by anyone.
pub async fn create_pipeline(
    conn: &mut PgConnection,
    partner: &PartnerId,
    leads: &[LeadFixture],
    now: Timestamp,
) -> anyhow::Result<String> {
    let doc = pipeline_for(partner, leads, now)?;
    crate::platform::storage::insert_owned_document(
        &mut *conn,
        &doc,
        sync::DocKind::Pipeline,
        partner.as_str(),
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("{partner} has a pipeline already"))
}

fn pipeline_for(
    partner: &PartnerId,
    leads: &[LeadFixture],
    now: Timestamp,
) -> anyhow::Result<automerge::Automerge> {
    let mut doc = automerge::Automerge::new();
    PipelineDoc::init(&mut doc, partner)?;
    for (i, lead) in leads.iter().enumerate() {
        // Older leads first, a minute apart, so the demo has a history.
        let created = match lead.created_days_ago {
            Some(days) => Timestamp(now.0 - i64::from(days) * DAY_MS),
            None => Timestamp(now.0 - (leads.len() - i) as i64 * 60_000),
        };
        let draft = LeadDraft::parse(
            &lead.contact_name,
            &lead.company,
            &lead.email,
            &lead.phone,
            Money::new(lead.value_minor, lead.currency),
            &lead.notes,
        )
        .with_context(|| format!("lead {}", lead.id))?;
        PipelineDoc::add_lead(&mut doc, &lead.id, &draft, created)?;
        // Oldest first; entries of one day a second apart, in order.
        let mut history: Vec<&ActivityFixture> = lead.activity.iter().collect();
        history.sort_by_key(|entry| std::cmp::Reverse(entry.days_ago));
        let mut last = created;
        for entry in history {
            let day = now.0 - i64::from(entry.days_ago) * DAY_MS;
            let at = Timestamp(day.max(last.0 + 1_000));
            match (entry.kind.as_str(), entry.to) {
                ("move", Some(to)) => PipelineDoc::move_lead(&mut doc, &lead.id, to, at)?,
                ("move", None) => anyhow::bail!("lead {}: a move with no `to`", lead.id),
                (kind, _) => {
                    let kind = LogKind::parse(kind).with_context(|| format!("lead {}", lead.id))?;
                    PipelineDoc::log_activity(&mut doc, &lead.id, kind, &entry.text, at, at)
                        .with_context(|| format!("lead {}", lead.id))?;
                }
            }
            last = at;
        }
        PipelineDoc::move_lead(&mut doc, &lead.id, lead.stage, Timestamp(last.0 + 1_000))?;
        // After everything above, even what was dated today.
        let later = Timestamp(now.0.max(last.0 + 2_000));
        if let Some(days) = lead.follow_up_in_days {
            let at = Timestamp(now.0 + i64::from(days) * DAY_MS);
            let follow_up = FollowUp::parse(at, "Call back")
                .with_context(|| format!("lead {}: follow_up_in_days {days}", lead.id))?;
            PipelineDoc::set_follow_up(&mut doc, &lead.id, Some(&follow_up), later)?;
        }
        if lead.archived {
            PipelineDoc::archive_lead(&mut doc, &lead.id, later)?;
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use model::Activity;

    use super::*;

    #[test]
    fn a_fixture_lead_keeps_its_history_follow_up_and_archive() {
        let fixture: LeadFixture = serde_json::from_value(serde_json::json!({
            "id": "big-1", "contact_name": "Ada Obi", "value_minor": 1000, "currency": "USD",
            "stage": "qualified", "created_days_ago": 30, "follow_up_in_days": -2, "archived": true,
            "activity": [
                { "days_ago": 5, "kind": "move", "to": "qualified" },
                { "days_ago": 20, "kind": "call", "text": "Left a voicemail" },
                { "days_ago": 20, "kind": "move", "to": "contacted" },
                { "days_ago": 0, "kind": "note", "text": "today" },
            ],
        }))
        .unwrap();
        let now = Timestamp(1_750_000_000_000);
        let doc = pipeline_for(&PartnerId::parse("p-big").unwrap(), &[fixture], now).unwrap();
        let lead = PipelineDoc::read(&doc).unwrap().leads.remove(0);
        assert_eq!(lead.created_at, Timestamp(now.0 - 30 * DAY_MS));
        assert_eq!(lead.stage, Stage::Qualified);
        let kinds: Vec<String> = lead
            .activity
            .iter()
            .map(|a| match a {
                Activity::Moved { to, .. } => format!("move {to}"),
                Activity::Logged { kind, .. } => kind.as_str().to_owned(),
                Activity::Archived { .. } => "archived".into(),
                Activity::Restored { .. } => "restored".into(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "call",
                "move contacted",
                "move qualified",
                "note",
                "archived"
            ],
            "oldest first, a day's entries in the fixture's order"
        );
        assert!(
            lead.activity.windows(2).all(|w| w[0].at() < w[1].at()),
            "in time order, what was dated today included"
        );
        assert_eq!(
            lead.follow_up.as_ref().map(|f| f.at),
            Some(Timestamp(now.0 - 2 * DAY_MS))
        );
        assert!(lead.is_archived());
    }

    #[test]
    fn a_move_without_a_stage_is_refused() {
        let fixture: LeadFixture = serde_json::from_value(serde_json::json!({
            "id": "big-1", "contact_name": "Ada", "value_minor": 0, "currency": "USD", "stage": "new",
            "activity": [{ "days_ago": 1, "kind": "move" }],
        }))
        .unwrap();
        let err = pipeline_for(
            &PartnerId::parse("p-big").unwrap(),
            &[fixture],
            Timestamp(0),
        )
        .unwrap_err();
        assert!(err.to_string().contains("a move with no `to`"), "{err}");
    }
}
