//! Leaderboards through the real server and Postgres: ranks with ties as
//! `rules::rank` documents them, published in each partner's standings
//! document; periods in the programme's time zone; a closed period frozen
//! once, by two at once, and unmoved by data that arrives late.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use model::Standings;
use sqlx::PgPool;
use sync_server::{
    leaderboards::boards::{self, Metric},
    platform::periods::{self, Span, Zone},
};

use crate::helpers::*;

/// `partner`'s standings as the server stored them, once `check` holds.
async fn standings(pool: &PgPool, partner: &str, check: impl Fn(&Standings) -> bool) -> Standings {
    let id = standings_doc(pool, partner).await;
    wait_for(
        &format!("{partner}'s standings"),
        Duration::from_secs(30),
        || async {
            let doc = stored(pool, &id).await;
            let view = model::json_doc::read(&doc, model::STANDINGS_KIND).ok()?;
            serde_json::from_value::<Standings>(view.body)
                .ok()
                .filter(|s| check(s))
        },
    )
    .await
}

/// A deal of `partner` approved at `at`, straight in the table.
async fn approved_at(pool: &PgPool, partner: &str, lead: &str, minor: i64, at: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status, decided_at)
         VALUES ($1, $2, (SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = 'pipeline'),
                 $3, 'USD', 'approved', $4)",
    )
    .bind(partner)
    .bind(lead)
    .bind(minor)
    .bind(at)
    .execute(pool)
    .await
    .unwrap();
}

fn board<'a>(s: &'a Standings, id: &str) -> &'a model::Board {
    s.boards
        .get(id)
        .unwrap_or_else(|| panic!("no board {id} in {:?}", s.boards.keys()))
}

fn lines(b: &model::Board) -> Vec<(&str, u32, i64)> {
    b.entries
        .iter()
        .map(|e| (e.partner.as_str(), e.rank, e.score))
        .collect()
}

#[tokio::test]
async fn partners_see_their_ranks_with_ties_across_the_programme_and_their_team() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;

    // Ana and Cleo each have two deals approved at the same instant; Ben
    // one then, and his fixtures' deal approved now, later.
    // Now, not a moment ago: a moment ago may be last month.
    let then = Utc::now();
    for (partner, n) in [("p-ana", 2), ("p-cleo", 2), ("p-ben", 1)] {
        for i in 0..n {
            approved_at(&pool, partner, &format!("history-{i}"), 1_000, then).await;
        }
    }
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, body) = approve(&server, &admin, deal).await;
    assert_eq!(status, 200, "{body}");

    let ben = standings(&pool, "p-ben", |s| {
        s.boards
            .get("month-current-deals-programme")
            .is_some_and(|b| b.ranked == 3)
    })
    .await;
    let deals = board(&ben, "month-current-deals-programme");
    // Same score, same instant: one rank, shown by id; Ben reached his two
    // later, so he is third, not second.
    assert_eq!(
        lines(deals),
        [("p-ana", 1, 2), ("p-cleo", 1, 2), ("p-ben", 3, 2)]
    );
    assert_eq!(deals.entries[0].name, "Ana Souza");
    let me = deals.me.as_ref().unwrap();
    assert_eq!((me.rank, me.score, me.top_percent), (3, 2, 100));
    assert!(!deals.closed);
    // Revenue per currency: Ben's 900.00 USD puts him first.
    let revenue = board(&ben, "month-current-revenue.USD-programme");
    assert_eq!(revenue.currency.as_deref(), Some("USD"));
    assert_eq!(lines(revenue)[0], ("p-ben", 1, 91_000));
    // His team is Ana's: two ranked.
    let team = board(&ben, "month-current-deals-team");
    assert_eq!(lines(team), [("p-ana", 1, 2), ("p-ben", 2, 2)]);
    // The quarter and the year count the same deals.
    assert_eq!(board(&ben, "year-current-deals-programme").ranked, 3);
    // Nobody completed a module: a board with nobody on it.
    let training = board(&ben, "month-current-training-programme");
    assert_eq!((training.ranked, training.me.is_none()), (0, true));
    // The previous month is closed, and frozen.
    assert!(board(&ben, "month-previous-deals-programme").closed);

    // Cleo is in no team: she has no team boards.
    let cleo = standings(&pool, "p-cleo", |s| {
        s.boards
            .get("month-current-deals-programme")
            .is_some_and(|b| b.ranked == 3)
    })
    .await;
    assert!(!cleo.boards.contains_key("month-current-deals-team"));
    assert_eq!(
        cleo.boards["month-current-deals-programme"]
            .me
            .as_ref()
            .unwrap()
            .rank,
        1
    );
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn deals_of(scores: &std::collections::BTreeMap<Metric, Vec<boards::Row>>) -> Vec<(String, i64)> {
    let mut rows: Vec<(String, i64)> = scores
        .get(&Metric {
            name: "deals",
            currency: None,
        })
        .map(|rows| rows.iter().map(|r| (r.partner.clone(), r.score)).collect())
        .unwrap_or_default();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_closed_period_is_frozen_once_and_late_data_does_not_move_it() {
    let db = TestDb::new().await;
    let _server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let auckland = Zone::parse(&pool, "Pacific/Auckland").await.unwrap();

    // November 2025 in Auckland (UTC+13 then) runs from 31 October 11:00
    // UTC to 30 November 11:00 UTC.
    let november = periods::period_of(&pool, &auckland, Span::Month, at(2025, 11, 15, 0, 0))
        .await
        .unwrap();
    assert_eq!(november.key, "2025-11");
    // Ana's deal at 10:30 UTC on 30 November is hers in November there;
    // Ben's at 11:30 UTC is already December in Auckland.
    approved_at(&pool, "p-ana", "late-nov", 5_000, at(2025, 11, 30, 10, 30)).await;
    approved_at(&pool, "p-ben", "early-dec", 5_000, at(2025, 11, 30, 11, 30)).await;
    let live = boards::live(&pool, &november).await.unwrap();
    assert_eq!(deals_of(&live), [("p-ana".to_owned(), 1)]);

    // Two freeze it at once: one set of scores, the same for both.
    let (a, b) = tokio::join!(
        boards::frozen(&pool, Span::Month, &november),
        boards::frozen(&pool, Span::Month, &november)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(deals_of(&a.0), [("p-ana".to_owned(), 1)]);
    assert_eq!(deals_of(&a.0), deals_of(&b.0));
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM leaderboard_scores WHERE span = 'month' AND period_key = '2025-11'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // Ana's deals and her revenue in USD.
    assert_eq!(rows, 2);
    // Her team then was her own.
    assert_eq!(a.1.get("p-ana").map(String::as_str), Some("a-ana"));

    // Late data: a deal of Cleo's dated in November arrives after. The
    // live figures see it; the frozen board does not.
    approved_at(&pool, "p-cleo", "very-late", 5_000, at(2025, 11, 20, 0, 0)).await;
    assert_eq!(
        deals_of(&boards::live(&pool, &november).await.unwrap()).len(),
        2
    );
    let again = boards::frozen(&pool, Span::Month, &november).await.unwrap();
    assert_eq!(deals_of(&again.0), [("p-ana".to_owned(), 1)]);

    // Nobody edits history, not even with SQL.
    for statement in [
        "UPDATE leaderboard_scores SET score = 99",
        "DELETE FROM leaderboard_scores",
        "DELETE FROM leaderboard_periods",
    ] {
        let refused = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("frozen"),
            "{statement}: {refused}"
        );
    }
}

#[tokio::test]
async fn a_challenge_met_twice_in_a_period_awards_once_even_concurrently() {
    use sync_server::leaderboards::challenges;

    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben_token = session_for(&server.database_url, "a-ben").await;

    // Admins only, and every field checked, with a message naming it.
    let good = serde_json::json!({
        "title": "Two deals this month", "description": "Close two deals.",
        "metric": "deals", "operator": "at_least", "target": 2, "span": "month",
        "reward": "bonus", "bonus_minor": 5_000, "bonus_currency": "USD",
    });
    let (status, _) = api(
        &server,
        &ben_token,
        "POST",
        "/api/admin/challenges",
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 403);
    for (field, value, says) in [
        ("metric", serde_json::json!("hugs"), "metric"),
        ("operator", serde_json::json!("gte"), "operator"),
        ("target", serde_json::json!(0), "target"),
        ("target", serde_json::json!(i64::MAX), "target"),
        ("span", serde_json::json!("week"), "span"),
        ("reward", serde_json::json!("cash"), "reward"),
        ("bonus_minor", serde_json::json!(-5), "bonus_minor"),
        (
            "bonus_currency",
            serde_json::json!("XXXX"),
            "bonus_currency",
        ),
        ("currency", serde_json::json!("USD"), "currency"),
        ("title", serde_json::json!("Two\u{1b}[31m deals"), "title"),
        ("title", serde_json::json!(" "), "title"),
        ("title", serde_json::json!("x".repeat(121)), "title"),
        ("surprise", serde_json::json!(true), "surprise"),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let (status, answer) =
            api(&server, &admin, "POST", "/api/admin/challenges", Some(body)).await;
        assert!(status == 400 || status == 422, "{field}: {status} {answer}");
        assert!(answer.to_string().contains(says), "{field}: {answer}");
    }
    let revenue_without_currency = serde_json::json!({
        "title": "Revenue", "metric": "revenue", "operator": "at_least", "target": 1,
        "span": "month", "reward": "badge",
    });
    let (status, answer) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/challenges",
        Some(revenue_without_currency),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM challenges")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing refused was stored");

    let (status, created) = api(&server, &admin, "POST", "/api/admin/challenges", Some(good)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();

    // Ben makes two deals approved this month: two evaluations at once
    // award him once, and notify him once.
    let now = Utc::now();
    for i in 0..2 {
        approved_at(&pool, "p-ben", &format!("quick-{i}"), 1_000, now).await;
    }
    let zone = Zone::parse(&pool, "UTC").await.unwrap();
    let month = periods::period_of(&pool, &zone, Span::Month, now)
        .await
        .unwrap();
    let live = boards::live(&pool, &month).await.unwrap();
    let challenge = challenges::active(&pool)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap();
    let rows = challenges::scores_for(&challenge, &live).to_vec();
    let (a, b) = tokio::join!(
        challenges::award(&pool, &challenge, &month, &rows),
        challenges::award(&pool, &challenge, &month, &rows)
    );
    let mut awarded = a.unwrap();
    awarded.extend(b.unwrap());
    assert_eq!(awarded, ["p-ben"]);

    // A third deal, through the server: met again, in the same month,
    // awards nothing more. His standings show the challenge met, the
    // achievement, and the bonus waiting for approval.
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, body) = approve(&server, &admin, deal).await;
    assert_eq!(status, 200, "{body}");
    let ben = standings(&pool, "p-ben", |s| {
        s.challenges
            .get(&id.to_string())
            .is_some_and(|c| c.score == 3 && c.met)
    })
    .await;
    assert_eq!(ben.achievements.len(), 1, "{:?}", ben.achievements);
    let held = ben.achievements.values().next().unwrap();
    assert_eq!(
        (held.title.as_str(), held.period.as_str()),
        ("Two deals this month", month.key.as_str())
    );
    let (count, bonus): (i64, String) = sqlx::query_as(
        "SELECT count(*), min(bonus_status) FROM achievements WHERE partner_id = 'p-ben'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((count, bonus.as_str()), (1, "pending"));
    let notices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE account_id = 'a-ben' AND kind = 'achievement'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(notices, 1);
    // Cleo has not met it: it shows with her score of nothing.
    let cleo = standings(&pool, "p-cleo", |s| {
        s.challenges.contains_key(&id.to_string())
    })
    .await;
    let hers = &cleo.challenges[&id.to_string()];
    assert_eq!((hers.score, hers.met, hers.target), (0, false, 2));
    assert!(cleo.achievements.is_empty());
}
