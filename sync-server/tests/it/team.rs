//! The team leader's view through the real server: Ana's `team` document
//! carries Ben's figures and deals, what overrides his deals would have
//! paid her below Performer, and, once she is a Performer, the override
//! line with the member and deal it comes from. The programme's calendar
//! is checked against Postgres's zones.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use model::{Stage, TeamView};
use samod::DocHandle;
use sync_server::platform::periods::{self, Span, Zone};

use crate::helpers::*;

const DEADLINE: Duration = Duration::from_secs(30);

/// The view as the device holds it; `None` until it reads as one.
fn view(handle: &DocHandle) -> Option<TeamView> {
    let read = handle.with_document(|doc| model::json_doc::read(doc, model::TEAM_KIND));
    serde_json::from_value(read.ok()?.body).ok()
}

async fn wait_view(handle: &DocHandle, what: &str, check: impl Fn(&TeamView) -> bool) -> TeamView {
    wait_for(what, DEADLINE, || async {
        view(handle).filter(|v| check(v))
    })
    .await
}

#[tokio::test]
async fn a_team_leader_sees_her_members_figures_and_where_her_overrides_come_from() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ana_token = session_for(&server.database_url, "a-ana").await;

    // Ana leads a team, so she has a team view, listed read-only for her;
    // nobody else leads one.
    let team_id = team_doc(&pool, "p-ana").await;
    let (status, me) = api(&server, &ana_token, "GET", "/api/me", None).await;
    assert_eq!(status, 200);
    let listed: Vec<_> = me["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "team")
        .collect();
    assert_eq!(listed.len(), 1, "{me}");
    assert_eq!(listed[0]["doc_id"], team_id.as_str());
    assert_eq!(listed[0]["access"], "read_only");
    let teams: i64 = sqlx::query_scalar("SELECT count(*) FROM documents WHERE kind = 'team'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(teams, 1);

    let ana = client("a-ana").await;
    let _link = connect(&ana, &server).await;
    let handle = open(&ana, &team_id).await;
    // Once his pipeline is projected (a node that starts catches up
    // while its views are first written).
    let first = wait_view(&handle, "Ben and his pipeline in Ana's team view", |v| {
        v.members
            .get("p-ben")
            .is_some_and(|b| !b.pipeline.is_empty())
    })
    .await;
    // Ben is her one member (Cleo is solo).
    assert_eq!(first.members.keys().collect::<Vec<_>>(), ["p-ben"]);
    assert_eq!(first.period.time_zone, "UTC");
    let ben = &first.members["p-ben"];
    assert_eq!(
        (ben.name.as_str(), ben.account_id.as_str()),
        ("Ben Okafor", "a-ben")
    );
    assert_eq!(
        (ben.tier.as_str(), ben.next_tier.as_deref()),
        ("starter", Some("active"))
    );
    // His open leads by stage, in the pipeline's order, per currency.
    let pipeline: Vec<_> = ben
        .pipeline
        .iter()
        .map(|s| {
            (
                s.stage.as_str(),
                s.leads,
                s.value_minor,
                s.currency.as_str(),
            )
        })
        .collect();
    assert_eq!(
        pipeline,
        [
            ("new", 1, 120_000, "USD"),
            ("contacted", 1, 260_000, "USD"),
            ("qualified", 1, 410_000, "EUR"),
            ("proposal", 1, 175_000, "USD"),
        ]
    );
    // The fixtures' won lead was filed as a deal this month.
    assert_eq!(ben.won_in_period, 1);
    let deal = &ben.deals["ben-5"];
    assert_eq!(
        (
            deal.contact.as_str(),
            deal.status.as_str(),
            deal.amount_minor
        ),
        ("Grace Kim", "submitted", 90_000)
    );
    assert!(ben.last_active_at.is_some());
    // Ana is a Starter: overrides start at Performer, ten approved deals
    // of her own away, and nothing of Ben's was approved yet.
    let o = &first.overrides;
    assert_eq!(
        (
            o.leader_tier.as_str(),
            o.earns,
            o.from_tier.as_str(),
            o.rate_bps,
            o.deals_to_go
        ),
        ("starter", false, "performer", 1000, 10)
    );
    assert!(o.lines.is_empty() && o.missed.is_empty(), "{o:?}");

    // Eli applies by Ana's invite link: Ana sees him waiting, then in her
    // team once approved into it.
    let (status, invite) = api(&server, &ana_token, "POST", "/api/team/invite", None).await;
    assert_eq!(status, 200, "{invite}");
    let code = invite["code"].as_str().unwrap().to_owned();
    let eli = crate::onboarding::apply(&server, "eli@moss.example", Some(&code)).await;
    let applied = wait_view(&handle, "Eli's application", |v| {
        v.invitees.contains_key(&eli)
    })
    .await;
    let invitee = &applied.invitees[&eli];
    assert_eq!(
        (
            invitee.name.as_str(),
            invitee.status.as_str(),
            invitee.in_team,
            invitee.decided_at
        ),
        ("Eli Moss", "applied", false, None)
    );
    let (status, body) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/applications/{eli}/approve"),
        Some(serde_json::json!({ "team_leader_id": "a-ana" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let joined = wait_view(&handle, "Eli in Ana's team", |v| {
        v.invitees[&eli].in_team && v.members.len() == 2
    })
    .await;
    assert_eq!(joined.invitees[&eli].status, "approved");
    assert!(joined.members.values().any(|m| m.name == "Eli Moss"));

    // Ben was assigned a module of a published track, due two days ago,
    // and has not done it: it shows open and overdue with the next change.
    let track = serde_json::json!({
        "id": "team-basics", "channel": "Selling", "title": "Team basics", "audience": "everyone",
        "summary": "What every new partner reads first.",
        "modules": [{ "id": "first-week", "title": "Your first week", "minutes": 5,
            "lessons": [{ "id": "hello", "title": "Hello", "body": "Call three customers." }] }],
    });
    let (status, body) = api(
        &server,
        &admin,
        "PUT",
        "/api/admin/training/tracks/team-basics",
        Some(track),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/training/tracks/team-basics/publish",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    sqlx::query(
        "INSERT INTO training_assignments (partner_id, track_id, module_id, due_on, assigned_by)
         VALUES ('p-ben', 'team-basics', 'first-week', current_date - 2, 'a-ana')",
    )
    .execute(&pool)
    .await
    .unwrap();

    // Ben's deal is approved: 20% of 900.00 USD is his 180.00 base line,
    // which paid Ana nothing; at Performer it would have paid her 18.00.
    let ben5 = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, body) = approve(&server, &admin, ben5).await;
    assert_eq!(status, 200, "{body}");
    let approved = wait_view(&handle, "the missed override", |v| {
        !v.overrides.missed.is_empty()
    })
    .await;
    let missed = &approved.overrides.missed;
    assert_eq!(missed.len(), 1);
    assert_eq!(
        (
            missed[0].currency.as_str(),
            missed[0].deals,
            missed[0].amount_minor
        ),
        ("USD", 1, 1_800)
    );
    assert_eq!(approved.members["p-ben"].deals["ben-5"].status, "approved");
    let ben = &approved.members["p-ben"];
    assert_eq!(
        (
            ben.modules_done,
            ben.assignments_open,
            ben.assignments_overdue
        ),
        (0, 1, 1)
    );

    // Ana reaches Performer (ten deals of her own approved lately), then
    // Ben wins ben-4 on his device and it is approved: Ana's override line
    // names Ben, the lead and its customer.
    let ana_pipeline = pipeline_doc(&pool, "p-ana").await;
    approved_history(&pool, "p-ana", &ana_pipeline, 10, "USD", 3).await;
    let ben_repo = client("a-ben").await;
    let _ben_link = connect(&ben_repo, &server).await;
    let ben_pipeline = open(&ben_repo, &pipeline_doc(&pool, "p-ben").await).await;
    move_to(&ben_pipeline, "ben-4", Stage::Won);
    let ben4 = deal_of(&pool, "p-ben", "ben-4", "submitted").await;
    let (status, body) = approve(&server, &admin, ben4).await;
    assert_eq!(status, 200, "{body}");
    let earning = wait_view(&handle, "Ana's override line", |v| {
        !v.overrides.lines.is_empty()
    })
    .await;
    let o = &earning.overrides;
    assert_eq!(
        (o.leader_tier.as_str(), o.earns, o.deals_to_go),
        ("performer", true, 0)
    );
    let lines = o.recent_lines();
    assert_eq!(lines.len(), 1, "{o:?}");
    let line = lines[0];
    // Ben is still a Starter (this is his second approval): 20% of
    // 1,750.00 USD is 350.00, and Ana's 10% of that is 35.00.
    assert_eq!(
        (
            line.member.as_str(),
            line.member_name.as_str(),
            line.lead_id.as_deref()
        ),
        ("p-ben", "Ben Okafor", Some("ben-4"))
    );
    assert_eq!((line.amount_minor, line.currency.as_str()), (3_500, "USD"));
    assert_eq!(line.contact, "Luis Vega", "{line:?}");
    assert!(!line.reversed);
    // The line is Ana's own in the ledger, with that base line as source.
    let (kind, source_partner): (String, String) = sqlx::query_as(
        "SELECT o.kind, b.partner_id FROM ledger_lines o
         JOIN ledger_lines b ON b.id = o.source_line_id WHERE o.partner_id = 'p-ana'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), source_partner.as_str()),
        ("override", "p-ben")
    );
    // ben-5's approval, before she was a Performer, stays missed.
    assert_eq!(o.missed[0].deals, 1);
    assert_eq!(earning.members["p-ben"].won_in_period, 2);
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

#[tokio::test]
async fn periods_are_the_programmes_calendar_in_its_time_zone() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    assert!(Zone::parse(&pool, "Mars/Olympus_Mons").await.is_err());
    assert!(
        Zone::parse(&pool, "'; DROP TABLE accounts; --")
            .await
            .is_err()
    );
    let auckland = Zone::parse(&pool, "Pacific/Auckland").await.unwrap();
    let lisbon = Zone::parse(&pool, "Europe/Lisbon").await.unwrap();
    let utc = Zone::parse(&pool, "UTC").await.unwrap();

    // 31 December, 12:30 UTC is already 1 January in Auckland (UTC+13).
    let instant = at(2026, 12, 31, 12, 30);
    let p = periods::period_of(&pool, &auckland, Span::Year, instant)
        .await
        .unwrap();
    assert_eq!(p.key, "2027");
    assert_eq!(
        (p.starts_at, p.ends_at),
        (at(2026, 12, 31, 11, 0), at(2027, 12, 31, 11, 0))
    );
    let p = periods::period_of(&pool, &utc, Span::Year, instant)
        .await
        .unwrap();
    assert_eq!(p.key, "2026");
    let p = periods::period_of(&pool, &auckland, Span::Quarter, instant)
        .await
        .unwrap();
    assert_eq!(p.key, "2027-Q1");
    // Auckland's summer time ends in April: the quarter ends at UTC+12.
    assert_eq!(p.ends_at, at(2027, 3, 31, 11, 0));
    assert_eq!(
        periods::today(&pool, &auckland, instant).await.unwrap(),
        "2027-01-01"
    );
    // Its next day begins at 11:00 UTC; Lisbon's, in summer time, at
    // 23:00 UTC.
    assert_eq!(
        periods::next_midnight(&pool, &auckland, instant)
            .await
            .unwrap(),
        at(2027, 1, 1, 11, 0)
    );
    assert_eq!(
        periods::next_midnight(&pool, &lisbon, at(2026, 3, 31, 12, 0))
            .await
            .unwrap(),
        at(2026, 3, 31, 23, 0)
    );

    // Lisbon's March begins at UTC+0 and ends at UTC+1 (summer time from
    // the last Sunday): the month is an hour short, as its clocks say.
    let p = periods::period_of(&pool, &lisbon, Span::Month, at(2026, 3, 15, 12, 0))
        .await
        .unwrap();
    assert_eq!(p.key, "2026-03");
    assert_eq!(
        (p.starts_at, p.ends_at),
        (at(2026, 3, 1, 0, 0), at(2026, 3, 31, 23, 0))
    );
    // The first instant of a period is in it; the last one before is not.
    let start = periods::period_of(&pool, &lisbon, Span::Month, at(2026, 3, 31, 23, 0))
        .await
        .unwrap();
    assert_eq!(start.key, "2026-04");
    let before = periods::period_of(
        &pool,
        &lisbon,
        Span::Month,
        at(2026, 3, 31, 23, 0) - chrono::Duration::milliseconds(1),
    )
    .await
    .unwrap();
    assert_eq!(before.key, "2026-03");
}

/// Writes `edit` into a messages document as `account`, on a fresh actor
/// of theirs.
fn chat_as(handle: &DocHandle, account: &str, edit: model::ChatEdit) {
    handle.with_document(|doc| {
        doc.set_actor(model::actor_for(account, rand::random()));
        edit.apply(doc).unwrap();
    });
}

fn said(id: &str, body: &str, reply_to: Option<&str>) -> model::ChatEdit {
    model::ChatEdit::Post {
        id: id.into(),
        at: model::Timestamp(chrono::Utc::now().timestamp_millis()),
        body: body.into(),
        reply_to: reply_to.map(Into::into),
        file: None,
    }
}

#[tokio::test]
async fn support_engagement_counts_the_questions_a_partner_answered() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let channel: String =
        sqlx::query_scalar("SELECT doc_id FROM channels WHERE form = 'team' LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let bucket = crate::access::bucket_of(&pool, &channel).await;
    let ana = client("a-ana").await;
    let _ana_link = connect(&ana, &server).await;
    let ben = client("a-ben").await;
    let _ben_link = connect(&ben, &server).await;
    let on_ana = open(&ana, &bucket).await;
    let on_ben = open(&ben, &bucket).await;

    // Ana asks two questions; Ben answers the first twice (one question
    // answered), and replies to a note of his own (no question of
    // anyone's).
    chat_as(
        &on_ana,
        "a-ana",
        said("q1", "How do I price a clinic?", None),
    );
    chat_as(
        &on_ana,
        "a-ana",
        said("q2", "Who has the new brochure?", None),
    );
    chat_as(&on_ben, "a-ben", said("mine", "Note to self", None));
    wait_for("Ana's questions on Ben's device", DEADLINE, || async {
        let n = on_ben.with_document(|doc| {
            model::MessagesDoc::read(doc, None, None).map_or(0, |m| m.messages.len())
        });
        (n == 3).then_some(())
    })
    .await;
    chat_as(
        &on_ben,
        "a-ben",
        said("a1", "Per seat, see the sheet.", Some("q1")),
    );
    chat_as(
        &on_ben,
        "a-ben",
        said("a2", "And ask about volume.", Some("q1")),
    );
    chat_as(&on_ben, "a-ben", said("a3", "Done.", Some("mine")));

    let view_id = account_view_doc(&pool, "p-ben").await;
    let support = || async {
        let doc = stored(&pool, &view_id).await;
        let view = model::AccountViewDoc::read(&doc).ok()?;
        view.progress
            .components
            .iter()
            .find(|c| c.name == "support")
            .map(|c| (c.counted, c.points))
    };
    let (counted, points) = wait_for("Ben's answer counted", DEADLINE, || async {
        support().await.filter(|(counted, _)| *counted >= 1)
    })
    .await;
    assert_eq!(counted, 1, "one question answered, however many replies");
    assert!(points > 0, "it earns progress points");

    // Ben answers the second question: two.
    chat_as(
        &on_ben,
        "a-ben",
        said("a4", "I do, I'll share it.", Some("q2")),
    );
    wait_for("Ben's second answer counted", DEADLINE, || async {
        support().await.filter(|(counted, _)| *counted == 2)
    })
    .await;
    // Ana follows up on her own question (not an answer), then answers
    // Ben's note: one.
    chat_as(&on_ana, "a-ana", said("q1-more", "Anyone?", Some("q1")));
    chat_as(&on_ana, "a-ana", said("a5", "Nice note.", Some("mine")));
    let ana_view = account_view_doc(&pool, "p-ana").await;
    let ana_support = || async {
        let doc = stored(&pool, &ana_view).await;
        model::AccountViewDoc::read(&doc)
            .ok()?
            .progress
            .components
            .into_iter()
            .find(|c| c.name == "support")
            .map(|c| c.counted)
    };
    wait_for("Ana's answer counted", DEADLINE, || async {
        ana_support().await.filter(|n| *n >= 1)
    })
    .await;
    // Ben answers once more (a new thread of Ana's): once his view shows
    // it, every write before it was projected, and Ana's stands at one.
    chat_as(&on_ana, "a-ana", said("q3", "Lunch?", None));
    wait_for("Ana's third question on Ben's device", DEADLINE, || async {
        let has = on_ben.with_document(|doc| {
            model::MessagesDoc::read(doc, None, None)
                .is_ok_and(|m| m.messages.iter().any(|m| m.id == "q3"))
        });
        has.then_some(())
    })
    .await;
    chat_as(&on_ben, "a-ben", said("a6", "Yes.", Some("q3")));
    wait_for("Ben's third answer counted", DEADLINE, || async {
        support().await.filter(|(counted, _)| *counted == 3)
    })
    .await;
    assert_eq!(
        ana_support().await,
        Some(1),
        "her own follow-up is no answer"
    );
    // Ben deletes his one answer to the second question: it no longer
    // counts (an edit of another answer moves nothing).
    chat_as(
        &on_ben,
        "a-ben",
        model::ChatEdit::Change {
            id: "a6".into(),
            at: model::Timestamp(chrono::Utc::now().timestamp_millis()),
            body: "Yes, at one.".into(),
        },
    );
    chat_as(
        &on_ben,
        "a-ben",
        model::ChatEdit::Delete {
            id: "a4".into(),
            at: model::Timestamp(chrono::Utc::now().timestamp_millis()),
        },
    );
    wait_for("Ben's deleted answer uncounted", DEADLINE, || async {
        support().await.filter(|(counted, _)| *counted == 2)
    })
    .await;
}
