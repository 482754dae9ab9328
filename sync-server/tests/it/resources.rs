//! The resources library through the real server: the library listed, an
//! asset served as published, a partner's co-branded copies (SVG, PNG,
//! PDF) carrying their name and a link of theirs that attributes to them,
//! kept and served again; the device's records of use kept once; and the
//! admin's figures tying use to clicks and revenue.

use std::io::Read;

use serde_json::json;

use crate::{helpers::*, shop::Browser};

fn resources_dir() -> String {
    format!("{}/../fixtures/resources", env!("CARGO_MANIFEST_DIR"))
}

async fn get(
    server: &TestServer,
    token: &str,
    path: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_get(
        server.addr(),
        path,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether `needle` is in the PDF, in its text or inside a compressed stream.
fn pdf_holds(pdf: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    if pdf.windows(needle.len()).any(|w| w == needle) {
        return true;
    }
    let mut at = 0;
    while let Some(start) = pdf[at..].windows(6).position(|w| w == b"stream") {
        let from = at + start + 6;
        let from = from
            + pdf[from..]
                .iter()
                .take_while(|b| **b == b'\r' || **b == b'\n')
                .count();
        let Some(len) = pdf[from..].windows(9).position(|w| w == b"endstream") else {
            break;
        };
        let mut out = Vec::new();
        if flate2::read::ZlibDecoder::new(&pdf[from..from + len])
            .read_to_end(&mut out)
            .is_ok()
            && out.windows(needle.len()).any(|w| w == needle)
        {
            return true;
        }
        at = from + len;
    }
    false
}

#[tokio::test]
async fn a_partners_co_branded_copies_carry_them_and_their_link_brings_orders() {
    let db = TestDb::new().await;
    let dir = resources_dir();
    let server = crate::shop::start(&db, &["--seed-resources", dir.as_str()]).await;
    let pool = db.pool().await;
    let ana = session_for(&server.database_url, "a-ana").await;
    let ben = session_for(&server.database_url, "a-ben").await;
    let admin = session_for(&server.database_url, "a-admin").await;

    // The library, by category; a template offers Ana her copies.
    let (status, library) = api(&server, &ana, "GET", "/api/resources", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = library["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Social posts and flyers", "Sales kit", "Brand"]);
    let flyer = &library["categories"][0]["resources"][0];
    assert_eq!(flyer["kind"], "template");
    // Each address names what it serves: a copy kept on a device under
    // one is stale once the branding changes, and the address does too.
    let png = flyer["cobranded"]["png"].as_str().unwrap().to_owned();
    assert!(
        png.starts_with("/api/resources/terminal-flyer/cobranded/png?v="),
        "{png}"
    );
    assert!(
        flyer["file"]
            .as_str()
            .unwrap()
            .starts_with("/api/resources/terminal-flyer/file?v="),
        "{}",
        flyer["file"]
    );
    let company: String = sqlx::query_scalar("SELECT company FROM partners WHERE id = 'p-ana'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE partners SET company = 'Renamed Ltd' WHERE id = 'p-ana'")
        .execute(&pool)
        .await
        .unwrap();
    let (_, renamed) = api(&server, &ana, "GET", "/api/resources", None).await;
    let renamed_png = renamed["categories"][0]["resources"][0]["cobranded"]["png"]
        .as_str()
        .unwrap();
    assert_ne!(renamed_png, png, "a new branding is a new address");
    sqlx::query("UPDATE partners SET company = $1 WHERE id = 'p-ana'")
        .bind(&company)
        .execute(&pool)
        .await
        .unwrap();
    let (_, again) = api(&server, &ana, "GET", "/api/resources", None).await;
    assert_eq!(
        again["categories"][0]["resources"][0]["cobranded"]["png"],
        png.as_str()
    );
    let (_, admins) = api(&server, &admin, "GET", "/api/resources", None).await;
    assert!(
        admins["categories"][0]["resources"][0]["cobranded"].is_null(),
        "an admin has no copy"
    );
    // An asset as published: the brochure laid out into a PDF at load.
    let (status, headers, pdf) = get(&server, &ana, "/api/resources/brochure/file").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        header(&headers, "content-disposition")
            .unwrap()
            .contains("brochure.pdf")
    );
    assert_eq!(
        header(&headers, "content-security-policy"),
        Some("sandbox; default-src 'none'"),
        "a stored file keeps its own policy, not the app's"
    );
    let (status, _, _) = http_get(server.addr(), "/api/resources/brochure/file", &[]).await;
    assert_eq!(status, 401, "the library is the programme's");

    // Ana's SVG copy: her name, her company, a link of hers for the flyer.
    let (status, headers, svg) =
        get(&server, &ana, "/api/resources/terminal-flyer/cobranded/svg").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&svg));
    assert!(
        header(&headers, "content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    let svg = String::from_utf8(svg).unwrap();
    let code: String = sqlx::query_scalar(
        "SELECT code FROM referral_links WHERE partner_id = 'p-ana' AND resource_id = 'terminal-flyer'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let link = format!("http://{}/r/{code}", server.addr());
    for carried in [
        "Ana Souza",
        "Souza Consulting",
        link.as_str(),
        "data:image/svg+xml;base64,",
    ] {
        assert!(svg.contains(carried), "the copy lacks {carried}");
    }
    // The PNG: drawn at the template's size, and Ben's is not Ana's.
    let (status, _, png) = get(&server, &ana, "/api/resources/terminal-flyer/cobranded/png").await;
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"));
    let side = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((side(16), side(20)), (1080, 1350));
    let (_, _, bens) = get(&server, &ben, "/api/resources/terminal-flyer/cobranded/png").await;
    assert!(bens.starts_with(b"\x89PNG"));
    assert_ne!(png, bens);
    // Asked again: the copy kept, the same bytes, made once.
    let (_, _, again) = get(&server, &ana, "/api/resources/terminal-flyer/cobranded/png").await;
    assert_eq!(png, again);
    let copies: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cobranded_copies WHERE partner_id = 'p-ana'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(copies, 2, "the SVG and the PNG, once each");
    // The PDF: her name as its author, her link live on the page.
    let (status, headers, pdf) =
        get(&server, &ana, "/api/resources/terminal-flyer/cobranded/pdf").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/pdf"));
    assert!(
        pdf_holds(&pdf, &format!("/r/{code}")),
        "the PDF carries Ana's link"
    );
    assert!(pdf_holds(&pdf, "Ana Souza"), "the PDF names Ana");
    for bad in [
        "/api/resources/terminal-flyer/cobranded/exe",
        "/api/resources/brochure/cobranded/png",
        "/api/resources/nothing/cobranded/png",
    ] {
        assert_eq!(get(&server, &ana, bad).await.0, 404, "{bad}");
    }
    assert_eq!(
        get(
            &server,
            &admin,
            "/api/resources/terminal-flyer/cobranded/png"
        )
        .await
        .0,
        403
    );

    // The copy's link attributes to Ana, and the flyer's figures show it.
    let mut client = Browser::default();
    let click = client.get(&server, &format!("/r/{code}")).await;
    assert_eq!(click.status, 302);
    let key = client.checkout_key(&server, "card-terminal", "1").await;
    assert_eq!(
        client
            .pay(&server, &key, "zoe@client.example", "")
            .await
            .status,
        303
    );
    let partner: Option<String> =
        sqlx::query_scalar("SELECT partner_id FROM orders WHERE checkout_key = $1")
            .bind(&key)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(partner.as_deref(), Some("p-ana"));

    // What Ana's device recorded, sent twice (a lost answer): kept once.
    let events = serde_json::json!({"events": [
        {"id": "01J-view-1", "resource_id": "terminal-flyer", "kind": "view", "at_ms": 1_700_000_000_000_i64},
        {"id": "01J-down-1", "resource_id": "terminal-flyer", "kind": "download", "at_ms": 1_700_000_000_001_i64},
        {"id": "01J-share-1", "resource_id": "terminal-flyer", "kind": "share", "at_ms": 4_000_000_000_000_i64},
        {"id": "01J-gone-1", "resource_id": "no-such-thing", "kind": "view", "at_ms": 1}
    ]});
    let (status, taken) = api(
        &server,
        &ana,
        "POST",
        "/api/resources/events",
        Some(events.clone()),
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(
        (
            taken["kept"].as_i64(),
            taken["already"].as_i64(),
            taken["unknown"].as_i64()
        ),
        (Some(3), Some(0), Some(1))
    );
    let (_, taken) = api(&server, &ana, "POST", "/api/resources/events", Some(events)).await;
    assert_eq!(
        (
            taken["kept"].as_i64(),
            taken["already"].as_i64(),
            taken["unknown"].as_i64()
        ),
        (Some(0), Some(3), Some(1))
    );
    let future: bool =
        sqlx::query_scalar("SELECT at <= now() FROM resource_events WHERE id = '01J-share-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        future,
        "a device's clock ahead records nothing in the future"
    );
    // Hostile batches are refused whole.
    let one = |id: &str, kind: &str| serde_json::json!({"id": id, "resource_id": "logo", "kind": kind, "at_ms": 1});
    let too_many: Vec<_> = (0..501).map(|i| one(&format!("e{i}"), "view")).collect();
    for (body, why) in [
        (serde_json::json!({"events": too_many}), "too many"),
        (
            serde_json::json!({"events": [one("ok", "delete")]}),
            "a kind",
        ),
        (
            serde_json::json!({"events": [one("no spaces", "view")]}),
            "an id",
        ),
        (
            serde_json::json!({"events": [one(&"x".repeat(65), "view")]}),
            "a long id",
        ),
        (
            serde_json::json!({"events": [], "more": 1}),
            "an unknown field",
        ),
    ] {
        let (status, _) = api(&server, &ana, "POST", "/api/resources/events", Some(body)).await;
        assert!(matches!(status, 400 | 422), "{why}: {status}");
    }
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        "/api/resources/events",
        Some(serde_json::json!({"events": []})),
    )
    .await;
    assert_eq!(status, 403);

    // The admin's figures: use, clicks and revenue per asset and partner.
    let (status, figures) = api(
        &server,
        &admin,
        "GET",
        "/api/admin/resources/analytics",
        None,
    )
    .await;
    assert_eq!(status, 200, "{figures}");
    let row = figures
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource_id"] == "terminal-flyer" && r["partner_id"] == "p-ana")
        .expect("Ana's flyer");
    assert_eq!(
        (
            row["views"].as_i64(),
            row["downloads"].as_i64(),
            row["shares"].as_i64(),
            row["clicks"].as_i64(),
            row["orders"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(1), Some(1)),
        "{row}"
    );
    assert_eq!(row["revenue"][0]["revenue_minor"], 24_900);
    assert_eq!(
        api(&server, &ana, "GET", "/api/admin/resources/analytics", None)
            .await
            .0,
        403
    );
    server.stop().await;
}

/// An admin uploads an SVG template and a PDF and publishes them, one into
/// a category made for it; a partner's copy of the new template carries
/// their name at once. What cannot be published is refused with why, and
/// nothing is left half made.
#[tokio::test]
async fn admins_publish_uploads_into_the_library_and_refuse_what_cannot_be_used() {
    let db = TestDb::new().await;
    let dir = resources_dir();
    let server = crate::shop::start(&db, &["--seed-resources", dir.as_str()]).await;
    let ana = session_for(&server.database_url, "a-ana").await;
    let admin = session_for(&server.database_url, "a-admin").await;
    let template = br##"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">
        <rect width="400" height="200" fill="#fff"/>
        <text x="20" y="60" font-size="28">Meet {{partner_name}}</text>
        <image x="280" y="80" width="100" height="100" href="{{qr}}"/>
    </svg>"##;
    let sha = crate::training::upload(&server, &admin, template, "image/svg+xml").await;
    let publish = |body: serde_json::Value| {
        let admin = admin.clone();
        let server = &server;
        async move { api(server, &admin, "POST", "/api/admin/resources", Some(body)).await }
    };
    let (status, made) = publish(json!({
        "category": "Trade fairs", "title": "Fair badge", "description": "Wear it at the stand.",
        "sha256": sha, "file_name": "badge.svg",
    }))
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            made["id"].as_str(),
            made["kind"].as_str(),
            made["category_id"].as_str()
        ),
        (Some("fair-badge"), Some("template"), Some("trade-fairs"))
    );
    // The same title again: a resource of its own.
    let (status, again) = publish(json!({
        "category": "trade FAIRS", "title": "Fair badge", "description": "",
        "sha256": sha, "file_name": "badge.svg",
    }))
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], "fair-badge-2");
    assert_eq!(
        again["category_id"], "trade-fairs",
        "the category's name, any case"
    );

    let (_, library) = api(&server, &ana, "GET", "/api/resources", None).await;
    let fairs = library["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "trade-fairs")
        .expect("the new category, listed");
    assert_eq!(fairs["name"], "Trade fairs");
    assert_eq!(fairs["resources"][0]["title"], "Fair badge");
    let png = fairs["resources"][0]["cobranded"]["png"].as_str().unwrap();
    let (status, headers, bytes) = get(&server, &ana, png).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/png"));
    assert!(bytes.starts_with(b"\x89PNG"));
    let svg = fairs["resources"][0]["cobranded"]["svg"].as_str().unwrap();
    let (_, _, filled) = get(&server, &ana, svg).await;
    assert!(String::from_utf8_lossy(&filled).contains("Meet Ana Souza"));

    // Refused, each with why, and nothing published.
    let before = library["categories"].as_array().unwrap().len();
    let no_slot = crate::training::upload(
        &server,
        &admin,
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#,
        "image/svg+xml",
    )
    .await;
    let broken = crate::training::upload(&server, &admin, b"<svg {{qr}}", "image/svg+xml").await;
    let huge = crate::training::upload(
        &server,
        &admin,
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="90000" height="10">{{qr}}</svg>"#,
        "image/svg+xml",
    )
    .await;
    for (body, why) in [
        (
            json!({ "category": "X", "title": "No slot", "description": "", "sha256": no_slot, "file_name": "a.svg" }),
            "at least one slot",
        ),
        (
            json!({ "category": "X", "title": "Broken", "description": "", "sha256": broken, "file_name": "a.svg" }),
            "cannot be drawn",
        ),
        (
            json!({ "category": "X", "title": "Huge", "description": "", "sha256": huge, "file_name": "a.svg" }),
            "cannot be drawn",
        ),
        (
            json!({ "category": "X", "title": "Missing", "description": "", "sha256": "ab".repeat(32), "file_name": "a.svg" }),
            "upload it first",
        ),
        (
            json!({ "category": "X", "title": "Bad hash", "description": "", "sha256": "../etc", "file_name": "a.svg" }),
            "sha256",
        ),
        (
            json!({ "category": "X", "title": "  ", "description": "", "sha256": sha, "file_name": "a.svg" }),
            "title is empty",
        ),
        (
            json!({ "category": "X", "title": "t".repeat(121), "description": "", "sha256": sha, "file_name": "a.svg" }),
            "at most 120",
        ),
        (
            json!({ "category": "X\u{7}", "title": "Nul", "description": "", "sha256": sha, "file_name": "a.svg" }),
            "control characters",
        ),
    ] {
        let (status, answer) = publish(body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(why), "{answer}");
    }
    let (status, _) = publish(json!({ "category": "X", "title": "T", "description": "", "sha256": sha, "file_name": "a.svg", "extra": 1 })).await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (status, _) = api(
        &server,
        &ana,
        "POST",
        "/api/admin/resources",
        Some(json!({ "category": "X", "title": "T", "description": "", "sha256": sha, "file_name": "a.svg" })),
    )
    .await;
    assert_eq!(status, 403, "a partner publishes nothing");
    let (_, library) = api(&server, &ana, "GET", "/api/resources", None).await;
    assert_eq!(
        library["categories"].as_array().unwrap().len(),
        before,
        "no category X was left behind"
    );
    server.stop().await;
}
