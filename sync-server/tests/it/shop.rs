//! From a link to a paid commission through the real server: a partner's
//! device makes a link, the server confirms it, a client's click at
//! `/r/{code}` is recorded with its signed cookie, the storefront's
//! checkout pays through the test provider, attribution decides in the
//! order's transaction, the ledger appends the referral line, and a refund
//! claws it back. And the checkout's hostile inputs.

use std::time::Duration;

use model::{ReferralsDoc, Timestamp};
use sqlx::PgPool;

use crate::helpers::*;

fn shop_dir() -> String {
    format!("{}/../fixtures/shop", env!("CARGO_MANIFEST_DIR"))
}

pub(crate) async fn start(db: &TestDb, extra: &[&str]) -> TestServer {
    let dir = shop_dir();
    let mut args = vec!["--seed-shop", dir.as_str(), "--commission-hold-days", "0"];
    args.extend_from_slice(extra);
    TestServer::start_with_args(&db.url, &args).await
}

/// A link made on the partner's device (offline, as far as the server
/// knows, until it syncs), then waited for until the server confirms it.
pub(crate) async fn make_link(
    server: &TestServer,
    pool: &PgPool,
    account: &str,
    partner: &str,
    random: u64,
    label: &str,
) -> String {
    let doc_id: String = sqlx::query_scalar(
        "SELECT doc_id FROM documents WHERE owner_id = $1 AND kind = 'referrals'",
    )
    .bind(partner)
    .fetch_one(pool)
    .await
    .unwrap();
    let device = client(account).await;
    let _dialer = connect(&device, server).await;
    let doc = open(&device, &doc_id).await;
    let code = doc
        .with_document(|d| {
            ReferralsDoc::create_link(d, &model::referral_nonce_of(random), label, Timestamp(1))
        })
        .unwrap();
    wait_for(
        "the link to be confirmed",
        Duration::from_secs(30),
        || async {
            sqlx::query_scalar::<_, String>("SELECT partner_id FROM referral_links WHERE code = $1")
                .bind(&code)
                .fetch_optional(pool)
                .await
                .unwrap()
                .filter(|p| p == partner)
        },
    )
    .await;
    code
}

/// A browser: its cookies, kept as a server sets them.
#[derive(Default, Clone)]
pub(crate) struct Browser {
    pub(crate) cookies: Vec<(String, String)>,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) body: String,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn request(
        &mut self,
        server: &TestServer,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Answer {
        let cookie = self.header();
        let body = form.map(|pairs| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        });
        let mut headers = vec![("accept-language", "en-US")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let (status, headers, bytes) = http_request(
            server.addr(),
            method,
            path,
            &headers,
            body.as_deref().map(str::as_bytes),
        )
        .await;
        let mut answer = Answer {
            status,
            location: None,
            set_cookies: Vec::new(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        for (name, value) in headers {
            match name.as_str() {
                "location" => answer.location = Some(value),
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap_or_default();
                    if let Some((k, v)) = pair.split_once('=') {
                        self.cookies.retain(|(name, _)| name != k);
                        let gone = value.contains("Max-Age=0");
                        if !gone {
                            self.cookies.push((k.to_owned(), v.to_owned()));
                        }
                    }
                    answer.set_cookies.push(value);
                }
                _ => {}
            }
        }
        answer
    }

    pub(crate) async fn get(&mut self, server: &TestServer, path: &str) -> Answer {
        self.request(server, "GET", path, None).await
    }

    async fn post(&mut self, server: &TestServer, path: &str, form: &[(&str, &str)]) -> Answer {
        self.request(server, "POST", path, Some(form)).await
    }

    /// The checkout page's key, with `slug` in the cart.
    pub(crate) async fn checkout_key(
        &mut self,
        server: &TestServer,
        slug: &str,
        quantity: &str,
    ) -> String {
        let added = self
            .post(
                server,
                "/shop/cart",
                &[("slug", slug), ("quantity", quantity), ("add", "1")],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        let page = self.get(server, "/shop/checkout").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let at = page
            .body
            .find("name=\"key\" value=\"")
            .expect("a key on the page")
            + 18;
        page.body[at..at + 32].to_owned()
    }

    pub(crate) async fn pay(
        &mut self,
        server: &TestServer,
        key: &str,
        email: &str,
        coupon: &str,
    ) -> Answer {
        self.post(
            server,
            "/shop/checkout",
            &[
                ("key", key),
                ("name", "Dana Client"),
                ("email", email),
                ("coupon", coupon),
                ("card", "4242 4242 4242 4242"),
            ],
        )
        .await
    }
}

async fn order_of(pool: &PgPool, key: &str) -> (i64, Option<String>, i64, serde_json::Value) {
    sqlx::query_as(
        "SELECT id, partner_id, amount_minor, attribution FROM orders WHERE checkout_key = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_link_a_click_and_a_checkout_pay_the_partner_and_a_refund_claws_it_back() {
    let db = TestDb::new().await;
    let server = start(&db, &[]).await;
    let pool = db.pool().await;
    // Ana is a Performer (referral share 5%); Ben a Starter.
    let ana_doc = pipeline_doc(&pool, "p-ana").await;
    approved_history(&pool, "p-ana", &ana_doc, 10, "USD", 10).await;
    let ana_code = make_link(&server, &pool, "a-ana", "p-ana", 0xA11A, "Spring fair").await;
    let ben_code = make_link(&server, &pool, "a-ben", "p-ben", 0xBE11, "Newsletter").await;

    // The click: recorded, a signed first-party cookie for the window, the shop.
    let mut phone = Browser::default();
    let click = phone.get(&server, &format!("/r/{ana_code}")).await;
    assert_eq!(click.status, 302);
    assert_eq!(click.location.as_deref(), Some("/shop"));
    let cookie = click
        .set_cookies
        .iter()
        .find(|c| c.starts_with("ref="))
        .expect("the click's cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Max-Age=2592000", "Path=/"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    // The shop: the catalog, a product, the cart, the checkout.
    let shop = phone.get(&server, "/shop").await;
    assert_eq!(shop.status, 200);
    assert!(
        shop.body.contains("Card terminal") && shop.body.contains("249.00"),
        "{}",
        shop.body
    );
    assert!(!shop.body.contains("<script"), "the shop sends no script");
    let product = phone.get(&server, "/shop/p/card-terminal").await;
    assert!(product.body.contains("Add to cart"), "{}", product.body);
    let key = phone.checkout_key(&server, "card-terminal", "2").await;
    // Submitted twice (a double tap, a retry): one order, one charge.
    let first = phone.pay(&server, &key, "dana@client.example", "").await;
    let mut again = phone.clone();
    again
        .cookies
        .push(("cart".into(), "card-terminal:2".into()));
    let second = again.pay(&server, &key, "dana@client.example", "").await;
    for paid in [&first, &second] {
        assert_eq!(paid.status, 303, "{}", paid.body);
        assert_eq!(
            paid.location.as_deref(),
            Some(format!("/shop/orders/{key}").as_str())
        );
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    let thanks = phone.get(&server, &format!("/shop/orders/{key}")).await;
    assert!(
        thanks.body.contains("Thank you, Dana Client") && thanks.body.contains("498.00"),
        "{}",
        thanks.body
    );
    let (order_id, partner, amount, attribution) = order_of(&pool, &key).await;
    assert_eq!((partner.as_deref(), amount), (Some("p-ana"), 49_800));
    assert_eq!(
        attribution["winner"]["code"],
        ana_code.as_str(),
        "{attribution}"
    );
    assert_eq!(attribution["model"], "last_click");
    let line: (String, i64) = sqlx::query_as(
        "SELECT kind, amount_minor FROM ledger_lines WHERE order_id = $1 AND partner_id = 'p-ana'",
    )
    .bind(order_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(line, ("referral".to_owned(), 2_490), "5% of 498.00");

    // Ana's figures: the click, the order, the revenue, the commission.
    let ana = session_for(&server.database_url, "a-ana").await;
    let (_, mine) = api(&server, &ana, "GET", "/api/referrals", None).await;
    let link = &mine["links"][0];
    assert_eq!(
        (
            link["code"].as_str(),
            link["clicks"].as_i64(),
            link["orders"].as_i64()
        ),
        (Some(ana_code.as_str()), Some(1), Some(1)),
        "{mine}"
    );
    assert_eq!(link["amounts"][0]["revenue_minor"], 49_800);
    assert_eq!(link["amounts"][0]["commission_minor"], 2_490);
    assert!(
        mine["coupon"]
            .as_str()
            .is_some_and(|c| c.starts_with("ANA-")),
        "{mine}"
    );

    // Delivered, the client rates Ana: her satisfaction, in her account view.
    let admin = session_for(&server.database_url, "a-admin").await;
    let thanks = phone.get(&server, &format!("/shop/orders/{key}")).await;
    assert!(
        !thanks.body.contains("How well did"),
        "no rating before delivery"
    );
    let early = phone
        .post(
            &server,
            &format!("/shop/orders/{key}/rating"),
            &[("stars", "5")],
        )
        .await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(
        early.body.contains("<h1>Your rating was not sent</h1>")
            && early.body.contains(&format!("href=\"/shop/orders/{key}\"")),
        "a page that says why, with the way back: {}",
        early.body
    );
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/orders/{order_id}/delivered"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let thanks = phone.get(&server, &format!("/shop/orders/{key}")).await;
    assert!(
        thanks.body.contains("How well did Ana Souza help you?"),
        "{}",
        thanks.body
    );
    for bad in ["0", "6", "", "4.5", "-1"] {
        let refused = phone
            .post(
                &server,
                &format!("/shop/orders/{key}/rating"),
                &[("stars", bad)],
            )
            .await;
        assert_eq!(refused.status, 400, "{bad:?}");
        assert!(
            refused.body.contains("Choose 1 to 5 stars."),
            "{}",
            refused.body
        );
    }
    let rated = phone
        .post(
            &server,
            &format!("/shop/orders/{key}/rating"),
            &[("stars", "4")],
        )
        .await;
    assert_eq!(rated.status, 303);
    let rated = phone
        .post(
            &server,
            &format!("/shop/orders/{key}/rating"),
            &[("stars", "5")],
        )
        .await;
    assert_eq!(rated.status, 303, "a rating is changed by rating again");
    let thanks = phone.get(&server, &format!("/shop/orders/{key}")).await;
    assert!(
        thanks.body.contains("You rated Ana Souza 5 of 5"),
        "{}",
        thanks.body
    );
    let view_doc = account_view_doc(&pool, "p-ana").await;
    let device = client("a-ana").await;
    let _dialer = connect(&device, &server).await;
    let view = open(&device, &view_doc).await;
    wait_for(
        "Ana's satisfaction in her view",
        Duration::from_secs(30),
        || {
            let view = view.clone();
            async move {
                let read = view
                    .with_document(|d| model::AccountViewDoc::read(d))
                    .ok()?;
                let c = read
                    .progress
                    .components
                    .iter()
                    .find(|c| c.name == "satisfaction")?;
                // 5 stars, counted up to the 4.5 that counts in full.
                (c.counted == 450).then_some(())
            }
        },
    )
    .await;

    // A refund: the order leaves the revenue, its line is clawed back.
    let (status, _) = api(
        &server,
        &admin,
        "POST",
        &format!("/api/admin/orders/{order_id}/refund"),
        Some(serde_json::json!({"reason": "returned"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, mine) = api(&server, &ana, "GET", "/api/referrals", None).await;
    assert_eq!(mine["links"][0]["amounts"][0]["revenue_minor"], 0);
    assert_eq!(mine["links"][0]["amounts"][0]["commission_minor"], 0);
    assert_eq!(mine["orders"][0]["commission_minor"], 0);

    // A Starter's attributed order: recorded, no line, and the reason.
    let mut laptop = Browser::default();
    laptop.get(&server, &format!("/r/{ben_code}")).await;
    let key = laptop.checkout_key(&server, "field-starter-kit", "1").await;
    assert_eq!(
        laptop
            .pay(&server, &key, "eve@client.example", "")
            .await
            .status,
        303
    );
    let (_, partner, _, _) = order_of(&pool, &key).await;
    assert_eq!(partner.as_deref(), Some("p-ben"));
    let ben = session_for(&server.database_url, "a-ben").await;
    let (_, mine) = api(&server, &ben, "GET", "/api/referrals", None).await;
    let order = &mine["orders"][0];
    assert!(order["commission_minor"].is_null(), "{mine}");
    assert_eq!(
        order["why"], "Starter earns no referral share: it starts at Active",
        "{mine}"
    );
    server.stop().await;
}

#[tokio::test]
async fn attribution_follows_the_model_the_window_and_the_coupon() {
    let db = TestDb::new().await;
    let server = start(&db, &["--attribution-model", "first-click"]).await;
    let pool = db.pool().await;
    let ana_code = make_link(&server, &pool, "a-ana", "p-ana", 1, "A").await;
    let cleo_code = make_link(&server, &pool, "a-cleo", "p-cleo", 2, "C").await;
    let buy = |browser: &mut Browser, coupon: &'static str| {
        let mut browser = browser.clone();
        let server = &server;
        let pool = &pool;
        async move {
            let key = browser.checkout_key(server, "training-day", "1").await;
            let paid = browser
                .pay(server, &key, "buyer@client.example", coupon)
                .await;
            assert_eq!(paid.status, 303, "{}", paid.body);
            order_of(pool, &key).await
        }
    };
    // Two partners' links, in either order: the first click wins here.
    let mut one = Browser::default();
    one.get(&server, &format!("/r/{ana_code}")).await;
    one.get(&server, &format!("/r/{cleo_code}")).await;
    assert_eq!(buy(&mut one, "").await.1.as_deref(), Some("p-ana"));
    let mut two = Browser::default();
    two.get(&server, &format!("/r/{cleo_code}")).await;
    two.get(&server, &format!("/r/{ana_code}")).await;
    assert_eq!(buy(&mut two, "").await.1.as_deref(), Some("p-cleo"));
    // The first click out of the window: the next one wins.
    sqlx::query(
        "UPDATE referral_clicks SET clicked_at = now() - interval '31 days' WHERE code = $1",
    )
    .bind(&cleo_code)
    .execute(&pool)
    .await
    .unwrap();
    let (_, partner, _, why) = buy(&mut two, "").await;
    assert_eq!(partner.as_deref(), Some("p-ana"), "{why}");
    assert_eq!(why["candidates"][0]["lost"], "outside the window", "{why}");
    // A coupon after another partner's click: the coupon's partner.
    let cleo_coupon: String =
        sqlx::query_scalar("SELECT code FROM partner_coupons WHERE partner_id = 'p-cleo'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let coupon: &'static str = Box::leak(cleo_coupon.to_lowercase().into_boxed_str());
    let (_, partner, _, why) = buy(&mut one, coupon).await;
    assert_eq!(partner.as_deref(), Some("p-cleo"), "{why}");
    assert_eq!(why["winner"]["by"], "coupon");
    // Every click expired: a direct sale, the clicks kept as considered.
    sqlx::query("UPDATE referral_clicks SET clicked_at = now() - interval '31 days'")
        .execute(&pool)
        .await
        .unwrap();
    let (_, partner, _, why) = buy(&mut one, "").await;
    assert_eq!(partner, None, "{why}");
    assert_eq!(why["candidates"].as_array().unwrap().len(), 2);
    server.stop().await;

    // The same clicks under last-click (the default) on a fresh server.
    let db = TestDb::new().await;
    let server = start(&db, &[]).await;
    let pool = db.pool().await;
    let ana_code = make_link(&server, &pool, "a-ana", "p-ana", 1, "A").await;
    let cleo_code = make_link(&server, &pool, "a-cleo", "p-cleo", 2, "C").await;
    let mut browser = Browser::default();
    browser.get(&server, &format!("/r/{ana_code}")).await;
    browser.get(&server, &format!("/r/{cleo_code}")).await;
    let key = browser.checkout_key(&server, "training-day", "1").await;
    browser.pay(&server, &key, "buyer@client.example", "").await;
    assert_eq!(order_of(&pool, &key).await.1.as_deref(), Some("p-cleo"));
    // A partner buying through their own link is not paid for it.
    let mut own = Browser::default();
    own.get(&server, &format!("/r/{ana_code}")).await;
    let key = own.checkout_key(&server, "training-day", "1").await;
    own.pay(&server, &key, "ANA@souza.example", "").await;
    let (_, partner, _, why) = order_of(&pool, &key).await;
    assert_eq!(partner, None, "{why}");
    server.stop().await;
}

#[tokio::test]
async fn the_checkout_refuses_hostile_input_and_loses_nothing() {
    let db = TestDb::new().await;
    let server = start(&db, &[]).await;
    let pool = db.pool().await;
    let ana_code = make_link(&server, &pool, "a-ana", "p-ana", 7, "A").await;
    let mut browser = Browser::default();
    // A code no link has, or out of shape: the shop, nothing recorded.
    for code in ["zzzzzzzzzzzz", "../../admin", "%00", &"a".repeat(5_000)] {
        let answer = browser.get(&server, &format!("/r/{code}")).await;
        assert!(
            matches!(answer.status, 302 | 404),
            "{code}: {}",
            answer.status
        );
        assert!(answer.set_cookies.is_empty(), "{code}");
    }
    let clicks: i64 = sqlx::query_scalar("SELECT count(*) FROM referral_clicks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clicks, 0);
    // Another visitor's clicks cannot be claimed with a forged cookie.
    let mut clicker = Browser::default();
    clicker.get(&server, &format!("/r/{ana_code}")).await;
    let signed = clicker
        .cookies
        .iter()
        .find(|(k, _)| k == "ref")
        .unwrap()
        .1
        .clone();
    let (visitor, _) = signed.split_once('.').unwrap();
    let mut forger = Browser::default();
    forger
        .cookies
        .push(("ref".into(), format!("{visitor}.{}", "0".repeat(64))));
    let key = forger.checkout_key(&server, "card-terminal", "1").await;
    forger.pay(&server, &key, "f@client.example", "").await;
    assert_eq!(
        order_of(&pool, &key).await.1,
        None,
        "a forged cookie attributed an order"
    );
    // A hostile cart cookie reads as a bounded cart.
    let mut hostile = Browser::default();
    hostile.cookies.push((
        "cart".into(),
        format!("card-terminal:99999,{}", "x:1,".repeat(600)),
    ));
    let cart = hostile.get(&server, "/shop/cart").await;
    assert_eq!(cart.status, 200);
    assert!(
        cart.body.contains("Your cart is empty"),
        "an over-long cookie is no cart"
    );
    hostile.cookies = vec![("cart".into(), "card-terminal:99999,nope:1".into())];
    let cart = hostile.get(&server, "/shop/cart").await;
    assert!(
        cart.body.contains("value=\"99\""),
        "quantities are capped: {}",
        cart.body
    );
    // Bad fields: the page again, with each error, the same key, no order.
    let mut buyer = Browser::default();
    let key = buyer.checkout_key(&server, "card-terminal", "1").await;
    let bad = buyer
        .post(
            &server,
            "/shop/checkout",
            &[
                ("key", &key),
                ("name", ""),
                ("email", "not-an-address"),
                ("coupon", "NOBODY-1234"),
                ("card", "42"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    for said in [
        "Give your name",
        "Give an email address",
        "No partner has the code NOBODY-1234",
        "12 to 19 digits",
    ] {
        assert!(bad.body.contains(said), "{said}: {}", bad.body);
    }
    assert!(bad.body.contains(&key), "the same checkout");
    assert!(
        !bad.body.contains("value=\"42\""),
        "a card number is never written back"
    );
    // A reload, a second tab: the same checkout, so one charge.
    let again = buyer.get(&server, "/shop/checkout").await;
    assert!(again.body.contains(&key), "a reload made another checkout");
    // A form posted from another site changes nothing.
    let (status, _, _) = http_request(
        server.addr(),
        "POST",
        "/shop/cart",
        &[
            ("origin", "https://elsewhere.example"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(b"slug=card-terminal&quantity=5"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = http_request(
        server.addr(),
        "POST",
        "/shop/cart",
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "null"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(b"slug=card-terminal&quantity=5"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(bad.body.contains("aria-invalid=\"true\""));
    let long = "x".repeat(10_000);
    let bad = buyer
        .post(
            &server,
            "/shop/checkout",
            &[
                ("key", &key),
                ("name", &long),
                ("email", &long),
                ("card", &long),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        !bad.body.contains(&long),
        "a hostile value is not echoed whole"
    );
    // A key not of ours, a key of nobody's confirmation.
    let forged = buyer
        .post(
            &server,
            "/shop/checkout",
            &[("key", "'; DROP TABLE orders; --")],
        )
        .await;
    assert_eq!(forged.status, 400);
    assert_eq!(
        buyer
            .get(&server, &format!("/shop/orders/{}", "a".repeat(32)))
            .await
            .status,
        404
    );
    // A declined card: the page again with a new key; then paid.
    let declined = buyer
        .post(
            &server,
            "/shop/checkout",
            &[
                ("key", &key),
                ("name", "Dana"),
                ("email", "d@client.example"),
                ("card", "4000 0000 0000 0002"),
            ],
        )
        .await;
    assert_eq!(declined.status, 402);
    assert!(declined.body.contains("The card was declined."));
    assert!(!declined.body.contains(&key), "a declined key is done with");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE checkout_key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
    // Two submits of one checkout at once: one waits for the other, both
    // see the one order.
    let mut twin = buyer.clone();
    let key = buyer.checkout_key(&server, "card-terminal", "1").await;
    twin.cookies = buyer.cookies.clone();
    let (a, b) = tokio::join!(
        buyer.pay(&server, &key, "d@client.example", ""),
        twin.pay(&server, &key, "d@client.example", "")
    );
    assert_eq!((a.status, b.status), (303, 303), "{} {}", a.body, b.body);
    assert_eq!(a.location, b.location);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE checkout_key = $1")
        .bind(&key)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    // A product or picture that is not there.
    assert_eq!(
        buyer.get(&server, "/shop/p/no-such-thing").await.status,
        404
    );
    assert_eq!(
        buyer
            .get(&server, &format!("/shop/images/{}", "0".repeat(64)))
            .await
            .status,
        404
    );
    server.stop().await;
}
