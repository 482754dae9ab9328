//! From visitor to partner: the programme a visitor reads, a team leader's
//! invite link, an application made by it, the admin placing the applicant
//! in a team (or not), and what an applicant reads when signing in before
//! or after a decision.

use serde_json::{Value, json};

use crate::helpers::*;

async fn anonymous(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, _, bytes) = http_request(
        server.addr,
        method,
        path,
        &[("content-type", "application/json")],
        body.as_deref().map(str::as_bytes),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(crate) async fn apply(server: &TestServer, email: &str, invite: Option<&str>) -> String {
    let mut application = json!({
        "name": "Eli Moss", "email": email, "company": "Moss Ltd",
        "password": "correct horse battery"
    });
    if let Some(code) = invite {
        application["invite"] = json!(code);
    }
    let (status, body) = anonymous(server, "POST", "/api/applications", Some(application)).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn sign_in(server: &TestServer, email: &str) -> (u16, Value) {
    anonymous(
        server,
        "POST",
        "/api/sessions",
        Some(json!({ "email": email, "password": "correct horse battery", "kind": "bearer" })),
    )
    .await
}

fn entry<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("application {id} in {list}"))
}

#[tokio::test]
async fn the_programme_is_public_and_is_the_rules_the_ledger_prices_with() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let (status, programme) = anonymous(&server, "GET", "/api/programme", None).await;
    assert_eq!(status, 200, "{programme}");
    let tiers: Vec<(String, u64, u64)> = programme["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tier"].as_str().unwrap().to_owned(),
                t["min_deals"].as_u64().unwrap(),
                t["base_rate_bps"].as_u64().unwrap(),
            )
        })
        .collect();
    let rules = rules::RulesConfig::default();
    let expected: Vec<(String, u64, u64)> = rules::Tier::ALL
        .iter()
        .map(|&t| {
            let rule = rules.tiers.get(t);
            (
                t.as_str().to_owned(),
                rule.min_deals.into(),
                rule.base_rate.bps().into(),
            )
        })
        .collect();
    assert_eq!(tiers, expected);
    assert_eq!(programme["referral"]["min_tier"], "active");
    server.stop().await;
}

#[tokio::test]
async fn an_invited_applicant_is_placed_in_the_team_and_reads_how_they_stand() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let ana = session_for(&db.url, "a-ana").await;
    let ben = session_for(&db.url, "a-ben").await;
    let admin = session_for(&db.url, "a-admin").await;

    // A team leader's link: the same code each time; partners have none.
    let (status, invite) = api(&server, &ana, "POST", "/api/team/invite", None).await;
    assert_eq!(status, 200, "{invite}");
    let code = invite["code"].as_str().unwrap().to_owned();
    assert_eq!(invite["leader_name"], "Ana Souza");
    let (_, again) = api(&server, &ana, "POST", "/api/team/invite", None).await;
    assert_eq!(again["code"], code.as_str());
    let (status, _) = api(&server, &ben, "POST", "/api/team/invite", None).await;
    assert_eq!(status, 403);

    // A visitor who follows it reads whose team it is; any other code is
    // no invite.
    let (status, read) = anonymous(&server, "GET", &format!("/api/invites/{code}"), None).await;
    assert_eq!((status, &read["leader_name"]), (200, &json!("Ana Souza")));
    for other in ["aaaaaaaaaa", "short", "AAAAAAAAAA", "aaaaaaaaa1"] {
        let (status, _) = anonymous(&server, "GET", &format!("/api/invites/{other}"), None).await;
        assert_eq!(status, 404, "{other}");
    }

    // Applied by the link: the desk names the leader.
    let eli = apply(&server, "eli@moss.example", Some(&code)).await;
    // By a code of no team: the application stands, invited by nobody.
    let fay = apply(&server, "fay@moss.example", Some("bbbbbbbbbb")).await;
    let (status, list) = api(&server, &admin, "GET", "/api/admin/applications", None).await;
    assert_eq!(status, 200, "{list}");
    let invited = &entry(&list, &eli)["invited_by"];
    assert_eq!(
        (
            &invited["account_id"],
            &invited["name"],
            &invited["members"]
        ),
        (&json!("a-ana"), &json!("Ana Souza"), &json!(1))
    );
    assert_eq!(entry(&list, &fay)["invited_by"], Value::Null);

    // Before a decision, the applicant reads that it is being reviewed.
    let (status, body) = sign_in(&server, "eli@moss.example").await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("being reviewed"),
        "{body}"
    );

    // The teams an admin can choose from: team leaders only.
    let (status, teams) = api(&server, &admin, "GET", "/api/admin/teams", None).await;
    assert_eq!(status, 200, "{teams}");
    let leaders: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(leaders, ["a-ana"]);
    let (status, _) = api(&server, &ana, "GET", "/api/admin/teams", None).await;
    assert_eq!(status, 403);

    // A team that is not a team leader's is refused, and decides nothing.
    let approve = format!("/api/admin/applications/{eli}/approve");
    for wrong in ["a-ben", "a-nobody", "a-admin", "a-\u{1}ana"] {
        let (status, body) = api(
            &server,
            &admin,
            "POST",
            &approve,
            Some(json!({ "team_leader_id": wrong })),
        )
        .await;
        assert_eq!(status, 400, "{wrong}: {body}");
    }
    let (status, body) = api(
        &server,
        &admin,
        "POST",
        &approve,
        Some(json!({ "team": "a-ana" })),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");

    let (status, decision) = api(
        &server,
        &admin,
        "POST",
        &approve,
        Some(json!({ "team_leader_id": "a-ana" })),
    )
    .await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["team_leader_id"], "a-ana");
    let (_, approved) = api(
        &server,
        &admin,
        "GET",
        "/api/admin/applications?status=approved",
        None,
    )
    .await;
    assert_eq!(entry(&approved, &eli)["team_leader_id"], "a-ana");

    // Ana's team has them, and their pipeline with it.
    let (_, me) = api(&server, &ana, "GET", "/api/me", None).await;
    let team: Vec<&str> = me["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(team, ["Ben Okafor", "Eli Moss"]);
    let partner = decision["partner_id"].as_str().unwrap();
    assert!(
        me["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["partner_id"] == partner && d["kind"] == "pipeline"),
        "{me}"
    );
    let (status, _) = sign_in(&server, "eli@moss.example").await;
    assert_eq!(status, 200);

    // Rejected: the applicant reads why, once they prove who they are.
    let reject = format!("/api/admin/applications/{fay}/reject");
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &reject,
        Some(json!({ "reason": "We only take partners in the EU for now." })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = sign_in(&server, "fay@moss.example").await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        "your application was not approved: We only take partners in the EU for now."
    );
    let (status, _) = anonymous(
        &server,
        "POST",
        "/api/sessions",
        Some(json!({ "email": "fay@moss.example", "password": "wrong horse", "kind": "bearer" })),
    )
    .await;
    assert_eq!(
        status, 401,
        "a wrong password learns nothing of the decision"
    );

    // Rejected, Fay applies again: her application waits for a decision
    // once more, and signing in says so.
    let again = apply(&server, "fay@moss.example", None).await;
    assert_ne!(again, fay, "every answer has an id of its own");
    let (_, waiting) = api(&server, &admin, "GET", "/api/admin/applications", None).await;
    let fay_again = waiting
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "fay@moss.example")
        .expect("Fay's application waits again");
    assert_eq!(fay_again["id"], fay.as_str());
    assert_eq!(fay_again["reject_reason"], Value::Null);
    let (status, body) = sign_in(&server, "fay@moss.example").await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("being reviewed"),
        "{body}"
    );
    // An approved partner's email: answered the same, and nothing changes.
    apply(&server, "eli@moss.example", None).await;
    let (status, _) = sign_in(&server, "eli@moss.example").await;
    assert_eq!(status, 200, "Eli is still approved, with his own password");
    server.stop().await;
}

#[tokio::test]
async fn an_application_s_invite_must_look_like_a_code() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    for invite in [
        json!("x"),
        json!("aaaaaaaaaa' OR 1=1"),
        json!(7),
        json!("a".repeat(10_000)),
    ] {
        let (status, body) = anonymous(
            &server,
            "POST",
            "/api/applications",
            Some(json!({
                "name": "Gus", "email": "gus@moss.example", "password": "correct horse battery",
                "invite": invite
            })),
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
    let pool = db.pool().await;
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM accounts WHERE email = 'gus@moss.example'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
    server.stop().await;
}

#[tokio::test]
async fn a_profile_is_finished_field_by_field_and_shows_in_me() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let ben = session_for(&db.url, "a-ben").await;
    let (status, profile) = api(&server, &ben, "GET", "/api/me/profile", None).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(
        profile,
        json!({ "name": "Ben Okafor", "company": "Okafor Partners", "phone": "", "country": null, "currency": null })
    );
    let wanted = json!({
        "name": " Ben Okafor ", "company": "Okafor Partners Ltd",
        "phone": "+234 1 555 0100", "country": "NG", "currency": "USD"
    });
    let (status, saved) = api(&server, &ben, "PUT", "/api/me/profile", Some(wanted)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["name"], "Ben Okafor");
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    assert_eq!(
        (
            &me["company"],
            &me["phone"],
            &me["country"],
            &me["currency"]
        ),
        (
            &json!("Okafor Partners Ltd"),
            &json!("+234 1 555 0100"),
            &json!("NG"),
            &json!("USD")
        )
    );
    // The partner row follows (statements, the back-office).
    let pool = db.pool().await;
    let company: String = sqlx::query_scalar("SELECT company FROM partners WHERE id = 'p-ben'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(company, "Okafor Partners Ltd");

    // Hostile or wrong input: a 400 naming the field, and nothing changed.
    for (body, field) in [
        (
            json!({ "name": "", "company": "", "phone": "", "country": null, "currency": null }),
            "name",
        ),
        (
            json!({ "name": "B", "company": "", "phone": "call me", "country": null, "currency": null }),
            "phone",
        ),
        (
            json!({ "name": "B", "company": "", "phone": "", "country": "Nigeria", "currency": null }),
            "country",
        ),
        (
            json!({ "name": "B", "company": "", "phone": "", "country": null, "currency": "NGX" }),
            "currency",
        ),
        (
            json!({ "name": "B", "company": "x".repeat(201), "phone": "", "country": null, "currency": null }),
            "company",
        ),
        (
            json!({ "name": "B\u{0}", "company": "", "phone": "", "country": null, "currency": null }),
            "",
        ),
        (
            json!({ "name": "B", "company": "", "phone": "", "country": null, "currency": null, "role": "admin" }),
            "",
        ),
    ] {
        let (status, answer) =
            api(&server, &ben, "PUT", "/api/me/profile", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    let (_, after) = api(&server, &ben, "GET", "/api/me/profile", None).await;
    assert_eq!(after, saved);
    let (status, _) = api(&server, "", "GET", "/api/me/profile", None).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_photo_is_an_image_of_its_stated_type_and_bounded_size() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db.url).await;
    let ben = session_for(&db.url, "a-ben").await;
    let auth = format!("Bearer {ben}");
    let put = |body: Vec<u8>, kind: &'static str| {
        let auth = auth.clone();
        async move {
            let (status, _, answer) = http_request(
                server.addr,
                "PUT",
                "/api/me/photo",
                &[("authorization", &auth), ("content-type", kind)],
                Some(&body),
            )
            .await;
            (status, String::from_utf8_lossy(&answer).into_owned())
        }
    };
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(std::iter::repeat_n(7u8, 40_000));
    let (status, body) = put(jpeg.clone(), "image/jpeg").await;
    assert_eq!(status, 204, "{body}");
    let (status, headers, got) = http_request(
        server.addr,
        "GET",
        "/api/me/photo",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, jpeg);
    assert_eq!(header(&headers, "content-type"), Some("image/jpeg"));
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    let (_, me) = api(&server, &ben, "GET", "/api/me", None).await;
    assert_eq!(me["has_photo"], true);

    // Hostile or wrong: refused, and the photo kept is the one before.
    for (body, kind, expected) in [
        (
            b"<svg onload=alert(1)></svg>".to_vec(),
            "image/svg+xml",
            400,
        ),
        (b"<svg onload=alert(1)></svg>".to_vec(), "image/jpeg", 400),
        (b"\x89PNG\r\n\x1a\nxxxx".to_vec(), "image/jpeg", 400),
        (Vec::new(), "image/jpeg", 400),
        (
            [&[0xFF, 0xD8, 0xFF][..], &vec![0u8; 300 * 1024]].concat(),
            "image/jpeg",
            413,
        ),
    ] {
        let (status, answer) = put(body, kind).await;
        assert_eq!(status, expected, "{kind}: {answer}");
    }
    let (_, _, still) = http_request(
        server.addr,
        "GET",
        "/api/me/photo",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(still, jpeg);
    let (status, _, _) = http_request(server.addr, "GET", "/api/me/photo", &[], None).await;
    assert_eq!(status, 401);

    let (status, _) = api(&server, &ben, "DELETE", "/api/me/photo", None).await;
    assert_eq!(status, 204);
    let (status, _, _) = http_request(
        server.addr,
        "GET",
        "/api/me/photo",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}
