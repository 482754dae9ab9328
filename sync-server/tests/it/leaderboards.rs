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
    // Defining the challenge set the server's own pass going, which may
    // have awarded him first: at most one of the three did.
    assert!(awarded.is_empty() || awarded == ["p-ben"], "{awarded:?}");
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM achievements WHERE partner_id = 'p-ben' AND challenge_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(held, 1, "awarded once");

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

#[tokio::test]
async fn a_bonus_is_approved_into_the_ledger_once_and_a_rejection_says_why() {
    use sync_server::leaderboards::challenges;

    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben_token = session_for(&server.database_url, "a-ben").await;

    let define = |title: &str, reward: &str| {
        let mut body = serde_json::json!({
            "title": title, "metric": "deals", "operator": "at_least", "target": 1,
            "span": "month", "reward": reward,
        });
        if reward == "bonus" {
            body["bonus_minor"] = serde_json::json!(2_500);
            body["bonus_currency"] = serde_json::json!("EUR");
        }
        body
    };
    let mut ids = Vec::new();
    for (title, reward) in [("First deal", "bonus"), ("First badge", "badge")] {
        let (status, created) = api(
            &server,
            &admin,
            "POST",
            "/api/admin/challenges",
            Some(define(title, reward)),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().unwrap());
    }

    // Ben and Cleo each have a deal approved this month: both meet both.
    let now = Utc::now();
    approved_at(&pool, "p-ben", "bonus-ben", 1_000, now).await;
    approved_at(&pool, "p-cleo", "bonus-cleo", 1_000, now).await;
    let zone = Zone::parse(&pool, "UTC").await.unwrap();
    let month = periods::period_of(&pool, &zone, Span::Month, now)
        .await
        .unwrap();
    let live = boards::live(&pool, &month).await.unwrap();
    for challenge in challenges::active(&pool).await.unwrap() {
        let rows = challenges::scores_for(&challenge, &live).to_vec();
        challenges::award(&pool, &challenge, &month, &rows)
            .await
            .unwrap();
    }
    // What was promised is what is paid: the challenge's terms changing
    // after it was met move nothing.
    sqlx::query("UPDATE challenges SET bonus_minor = 999999 WHERE id = $1")
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap();

    // The queue lists the two bonuses, not the badges; partners may not
    // read it.
    let (status, _) = api(&server, &ben_token, "GET", "/api/admin/bonuses", None).await;
    assert_eq!(status, 403);
    let (status, queue) = api(&server, &admin, "GET", "/api/admin/bonuses", None).await;
    assert_eq!(status, 200, "{queue}");
    let queue: Vec<wire::BonusEntry> = serde_json::from_value(queue).unwrap();
    let mut who: Vec<(&str, i64, &str, &str)> = queue
        .iter()
        .map(|b| {
            (
                b.partner_id.as_str(),
                b.amount_minor,
                b.currency.as_str(),
                b.status.as_str(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            ("p-ben", 2_500, "EUR", "pending"),
            ("p-cleo", 2_500, "EUR", "pending")
        ]
    );
    let ben_bonus = queue.iter().find(|b| b.partner_id == "p-ben").unwrap().id;
    let cleo_bonus = queue.iter().find(|b| b.partner_id == "p-cleo").unwrap().id;

    // Two admins approve Ben's at once: one line, the same answered to both.
    let path = format!("/api/admin/bonuses/{ben_bonus}/approve");
    let ((s1, l1), (s2, l2)) = tokio::join!(
        api(&server, &admin, "POST", &path, None),
        api(&server, &admin, "POST", &path, None)
    );
    assert_eq!((s1, s2), (200, 200), "{l1} {l2}");
    assert_eq!(l1["id"], l2["id"]);
    assert_eq!(
        (&l1["kind"], &l1["amount_minor"], &l1["currency"]),
        (
            &serde_json::json!("bonus"),
            &serde_json::json!(2_500),
            &serde_json::json!("EUR")
        )
    );
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, amount_minor FROM ledger_lines WHERE partner_id = 'p-ben' AND kind = 'bonus'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(lines, [("bonus".to_owned(), 2_500)]);
    // Available at once: nothing can refund a bonus.
    let (status, balances) = api(&server, &ben_token, "GET", "/api/me/balances", None).await;
    assert_eq!(status, 200);
    let eur = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"] == "EUR")
        .unwrap_or_else(|| panic!("no EUR balance in {balances}"));
    assert_eq!(eur["available_minor"], 2_500, "{balances}");

    // An approved bonus is not rejected afterwards; a badge has nothing to
    // approve; an unknown one is not found; a rejection needs a reason.
    let reject = |id: i64, reason: &str| {
        (
            format!("/api/admin/bonuses/{id}/reject"),
            serde_json::json!({ "reason": reason }),
        )
    };
    let (p, body) = reject(ben_bonus, "changed my mind");
    let (status, answer) = api(&server, &admin, "POST", &p, Some(body)).await;
    assert_eq!(status, 409, "{answer}");
    let badge: i64 = sqlx::query_scalar(
        "SELECT id FROM achievements WHERE partner_id = 'p-ben' AND bonus_status = 'none'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (status, answer) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/bonuses/{badge}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer.to_string().contains("badge"), "{answer}");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/bonuses/987654/approve",
        None,
    )
    .await;
    assert_eq!(status, 404);
    for hostile in ["", " ", "why\u{1b}[2J", &"x".repeat(1001)] {
        let (p, body) = reject(cleo_bonus, hostile);
        let (status, answer) = api(&server, &admin, "POST", &p, Some(body)).await;
        assert_eq!(status, 400, "{hostile:?}: {answer}");
    }
    let (status, answer) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/bonuses/{cleo_bonus}/reject"),
        Some(serde_json::json!({ "reason": "no", "extra": 1 })),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {answer}");
    let (status, answer) = api(
        &server,
        &admin,
        "GET",
        "/api/admin/bonuses?status=paid",
        None,
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    // Cleo's is rejected, with why; approving it afterwards is refused,
    // and her ledger has no bonus.
    let (p, body) = reject(cleo_bonus, "The deal was a test order.");
    let (status, answer) = api(&server, &admin, "POST", &p, Some(body)).await;
    assert_eq!(status, 204, "{answer}");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/bonuses/{cleo_bonus}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    let cleo_lines: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_lines WHERE partner_id = 'p-cleo' AND kind = 'bonus'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(cleo_lines, 0);
    let (_, queue) = api(&server, &admin, "GET", "/api/admin/bonuses", None).await;
    assert_eq!(queue, serde_json::json!([]), "nothing waits");

    // Each is told, and each one's standings show where their bonus stands.
    let told: Vec<(String, String)> = sqlx::query_as(
        "SELECT account_id, title FROM notifications WHERE title LIKE 'Bonus%' ORDER BY account_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        told,
        [
            ("a-ben".to_owned(), "Bonus approved: First deal".to_owned()),
            (
                "a-cleo".to_owned(),
                "Bonus not approved: First deal".to_owned()
            )
        ]
    );
    let bonus_of = |s: &Standings| {
        s.achievements
            .values()
            .find_map(|a| a.bonus.clone())
            .map(|b| (b.amount_minor, b.status, b.reason))
    };
    let ben = standings(&pool, "p-ben", |s| {
        bonus_of(s).is_some_and(|b| b.1 == "approved")
    })
    .await;
    assert_eq!(ben.achievements.len(), 2, "the badge and the bonus");
    let cleo = standings(&pool, "p-cleo", |s| {
        bonus_of(s).is_some_and(|b| b.1 == "rejected")
    })
    .await;
    assert_eq!(
        bonus_of(&cleo),
        Some((
            2_500,
            "rejected".to_owned(),
            Some("The deal was a test order.".to_owned())
        ))
    );
}

#[tokio::test]
async fn a_challenge_defined_reaches_standings_at_once_and_ending_it_keeps_its_awards() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let pool = db.pool().await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let ben_token = session_for(&server.database_url, "a-ben").await;

    // Ben's deal is approved, and ranked, before the challenge exists, and
    // nothing of his moves afterwards: defining it alone has it evaluated
    // and shown.
    let deal = deal_of(&pool, "p-ben", "ben-5", "submitted").await;
    let (status, body) = approve(&server, &admin, deal).await;
    assert_eq!(status, 200, "{body}");
    standings(&pool, "p-ben", |s| {
        s.boards
            .values()
            .any(|b| b.span == "month" && !b.closed && b.metric == "deals" && b.me.is_some())
    })
    .await;
    let (status, created) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/challenges",
        Some(serde_json::json!({
            "title": "Open the month", "metric": "deals", "operator": "at_least",
            "target": 1, "span": "month", "reward": "badge",
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let key = id.to_string();
    let ben = standings(&pool, "p-ben", |s| {
        s.challenges.get(&key).is_some_and(|c| c.met) && !s.achievements.is_empty()
    })
    .await;
    assert_eq!(ben.achievements.len(), 1);

    // A pass that read it while active, and awards after it ended, awards
    // nothing: Cleo meets it too late.
    let seen_active = sync_server::leaderboards::challenges::active(&pool)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap();

    // Ending it: admins only, an unknown one is not found.
    let path = format!("/api/admin/challenges/{id}/end");
    let (status, _) = api(&server, &ben_token, "POST", &path, None).await;
    assert_eq!(status, 403);
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        "/api/admin/challenges/987654/end",
        None,
    )
    .await;
    assert_eq!(status, 404);
    for _ in 0..2 {
        let (status, ended) = api(&server, &admin, "POST", &path, None).await;
        assert_eq!(status, 200, "{ended}");
        assert_eq!(ended["active"], false);
        assert_eq!(ended["achieved"], 1);
    }
    let now = Utc::now();
    approved_at(&pool, "p-cleo", "late", 1_000, now).await;
    let zone = Zone::parse(&pool, "UTC").await.unwrap();
    let month = periods::period_of(&pool, &zone, Span::Month, now)
        .await
        .unwrap();
    let live = boards::live(&pool, &month).await.unwrap();
    let rows = sync_server::leaderboards::challenges::scores_for(&seen_active, &live).to_vec();
    assert!(rows.iter().any(|r| r.partner == "p-cleo"), "{rows:?}");
    let awarded = sync_server::leaderboards::challenges::award(&pool, &seen_active, &month, &rows)
        .await
        .unwrap();
    assert!(awarded.is_empty(), "{awarded:?}");
    // It leaves Ben's standings; his achievement stays.
    let ben = standings(&pool, "p-ben", |s| !s.challenges.contains_key(&key)).await;
    assert_eq!(ben.achievements.len(), 1, "{:?}", ben.achievements);
    assert_eq!(
        ben.achievements.values().next().unwrap().title,
        "Open the month"
    );
}
