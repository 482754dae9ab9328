//! Checkout: the buyer's details, the payment, the order, its
//! attribution and the partner's referral line, and the confirmation.
//!
//! Each checkout page carries an idempotency key of 128 random bits. A
//! submit stores the checkout under it (amount and lines as priced then)
//! before the payment provider is asked, and asks with the same key every
//! time; the order is then made in one transaction with the checkout
//! locked, so a double submit, a retry after a lost answer, or two tabs
//! make one charge and one order, and the second is shown the first's
//! confirmation. A key whose payment was declined is done with: the page
//! comes back with a new one.

use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use chrono::Utc;
use model::{Currency, Money};
use serde::Deserialize;

use super::{
    ShopState,
    cart::{self, Cart},
    pages::{
        bar, cart_cookie, currency_of, left_out, number_format, price, priced, refuse_other_sites,
        see_other,
    },
    payment::{Charge, Outcome},
};
use crate::{
    accounts::email::Email,
    http::{
        error::AppError,
        html::{escape, page},
    },
    money::orders::record_order_on,
    referrals::{
        attribution::{self, Buyer},
        clicks::{self, cookie},
        coupons,
    },
};

fn new_key() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    coupon: String,
    #[serde(default)]
    card: String,
}

/// The cookie that keeps the checkout's key while it is unpaid, so a
/// reload or a second tab is the same checkout (one charge), not another.
const KEY_COOKIE: &str = "checkout";

/// `GET /shop/checkout`: the key of this browser's unpaid checkout, or a
/// new one.
pub async fn show(
    State(state): State<ShopState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let kept = match cookie(&headers, KEY_COOKIE).filter(|k| valid_key(k)) {
        Some(key) => {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM checkouts WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&state.pool)
                    .await?;
            matches!(status.as_deref(), None | Some("pending")).then(|| key.to_owned())
        }
        None => None,
    };
    form_page(
        &state,
        &headers,
        &CheckoutForm::default(),
        &kept.unwrap_or_else(new_key),
        &[],
        StatusCode::OK,
    )
    .await
}

fn key_cookie(key: Option<&str>, secure: bool) -> String {
    format!(
        "{KEY_COOKIE}={}; Path=/shop; Max-Age={}; HttpOnly; SameSite=Lax{}",
        key.unwrap_or(""),
        if key.is_some() { 86_400 } else { 0 },
        if secure { "; Secure" } else { "" }
    )
}

async fn form_page(
    state: &ShopState,
    headers: &HeaderMap,
    form: &CheckoutForm,
    key: &str,
    errors: &[(&str, String)],
    status: StatusCode,
) -> Result<Response, AppError> {
    let currency = currency_of(state, headers).await?;
    let format = number_format(headers);
    let cart = Cart::parse(cookie(headers, cart::COOKIE));
    let priced = priced(state, &cart, currency).await?;
    if priced.lines.is_empty() {
        return Ok(see_other("/shop/cart", None));
    }
    let summary: String = priced
        .lines
        .iter()
        .map(|(p, q, line)| {
            format!(
                "<tr><td>{} × {q}</td><td class=\"num\">{}</td></tr>",
                escape(&p.name),
                price(*line, currency, format)
            )
        })
        .collect();
    let error_of = |field: &str| errors.iter().find(|(f, _)| *f == field).map(|(_, e)| e);
    // A value comes back as typed, cut to what the field takes.
    // A field's hint (said before it, as its description) and error.
    let field = |name: &str, label: &str, kind: &str, value: &str, max: usize, extra: &str| {
        let error = error_of(name);
        let value: String = value.chars().take(max).collect();
        let hint = (name == "coupon")
            .then_some("A partner gave you a code? It makes sure they are thanked for this order.");
        let described: Vec<String> = [
            hint.map(|_| format!("{name}-hint")),
            error.map(|_| format!("{name}-error")),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!(
            "<label for=\"{name}\">{label}</label>{}\
             <input id=\"{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\" maxlength=\"{max}\" {extra}{}{}>{}",
            hint.map_or_else(String::new, |h| format!(
                "<p class=\"fine\" id=\"{name}-hint\">{h}</p>"
            )),
            escape(&value),
            if error.is_some() {
                " aria-invalid=\"true\""
            } else {
                ""
            },
            if described.is_empty() {
                String::new()
            } else {
                format!(" aria-describedby=\"{}\"", described.join(" "))
            },
            error.map_or_else(String::new, |e| format!(
                "<p class=\"no\" id=\"{name}-error\">{}</p>",
                escape(e)
            )),
        )
    };
    // What went wrong, said first (and read out), each field's error a
    // link to the field.
    let general = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|(field, e)| match *field {
                "payment" => format!("<li>{}</li>", escape(e)),
                field => format!("<li><a href=\"#{field}\">{}</a></li>", escape(e)),
            })
            .collect();
        format!("<div class=\"no\" role=\"alert\"><ul>{items}</ul></div>")
    };
    let body = format!(
        "{}<main class=\"narrow\"><h1>Check out</h1>{general}\
         <table><tbody>{summary}</tbody><tfoot><tr><th>Total</th><th class=\"num\">{}</th></tr></tfoot></table>{}\
         <form method=\"post\" action=\"/shop/checkout\">\
         <input type=\"hidden\" name=\"key\" value=\"{key}\">\
         {}{}{}\
         {}<p class=\"fine\">A test shop: no money moves. Pay with 4242 4242 4242 4242.</p>\
         <p><button type=\"submit\">Pay {}</button></p></form></main>",
        bar(&cart),
        price(priced.total_minor, currency, format),
        left_out(&priced.left_out, currency),
        field(
            "name",
            "Your name",
            "text",
            &form.name,
            100,
            "autocomplete=\"name\" required"
        ),
        field(
            "email",
            "Email",
            "email",
            &form.email,
            254,
            "autocomplete=\"email\" required"
        ),
        field(
            "coupon",
            "Partner code (if you have one)",
            "text",
            &form.coupon,
            24,
            "autocapitalize=\"characters\""
        ),
        field(
            "card",
            "Card number",
            "text",
            // A card number is never written back into a page.
            "",
            23,
            "autocomplete=\"cc-number\" inputmode=\"numeric\" required"
        ),
        price(priced.total_minor, currency, format),
        key = escape(key),
    );
    let title = if errors.is_empty() {
        "Check out"
    } else {
        "Error: check out"
    };
    let mut response = page(status, title, "", &body);
    if let Ok(value) = HeaderValue::from_str(&key_cookie(Some(key), state.secure_cookies)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /shop/checkout`.
pub async fn submit(
    State(state): State<ShopState>,
    headers: HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> Result<Response, AppError> {
    refuse_other_sites(&headers, state.secure_cookies)?;
    if !valid_key(&form.key) {
        // A page of ours always carries a key: this one is not ours.
        return Err(AppError::BadRequest(
            "this checkout has no valid key; open the checkout again".to_owned(),
        ));
    }
    // A key already paid: the order it made, whatever this submit says.
    if let Some(done) = paid(&state, &form.key).await? {
        return Ok(see_other(
            &done,
            Some(key_cookie(None, state.secure_cookies)),
        ));
    }
    let mut errors: Vec<(&str, String)> = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(("name", "Give your name (up to 100 characters).".to_owned()));
    }
    let email = Email::parse(form.email.trim());
    if email.is_err() {
        errors.push((
            "email",
            "Give an email address such as name@example.com.".to_owned(),
        ));
    }
    let coupon = match form.coupon.trim() {
        "" => None,
        typed => match coupons::normalise(typed) {
            None => {
                errors.push((
                    "coupon",
                    "That is not a partner code: they are letters, digits and a dash.".to_owned(),
                ));
                None
            }
            Some(code) => {
                let known: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM partner_coupons WHERE code = $1)",
                )
                .bind(&code)
                .fetch_one(&state.pool)
                .await?;
                if !known {
                    errors.push((
                        "coupon",
                        format!("No partner has the code {code}. Check it, or leave it empty."),
                    ));
                }
                Some(code)
            }
        },
    };
    let card: String = form
        .card
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&card.len()) || !card.bytes().all(|b| b.is_ascii_digit()) {
        errors.push((
            "card",
            "Give the card's number: 12 to 19 digits.".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return form_page(
            &state,
            &headers,
            &form,
            &form.key,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let email = email.map_err(AppError::BadRequest)?;
    let currency = currency_of(&state, &headers).await?;
    let cart = Cart::parse(cookie(&headers, cart::COOKIE));
    let priced = priced(&state, &cart, currency).await?;
    if priced.lines.is_empty() {
        return Ok(see_other("/shop/cart", None));
    }
    let items = serde_json::Value::Array(
        priced
            .lines
            .iter()
            .map(|(p, q, line)| serde_json::json!({"slug": p.slug, "name": p.name, "quantity": q, "amount_minor": line}))
            .collect(),
    );
    // Stored before the provider is asked. A checkout under this key that
    // is still pending (a retry after a lost answer, a second tab) is
    // charged as it was stored, not as this cart says now.
    sqlx::query(
        "INSERT INTO checkouts (key, currency, amount_minor, items, email, name, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT (key) DO NOTHING",
    )
    .bind(&form.key)
    .bind(currency.as_str())
    .bind(priced.total_minor)
    .bind(&items)
    .bind(email.as_str())
    .bind(name)
    .execute(&state.pool)
    .await?;
    // The checkout is locked from here until its outcome is written, the
    // provider's answer included: a second submit of it (a double tap, a
    // second tab) waits, then finds it paid, and is shown the order.
    let mut tx = state.pool.begin().await?;
    let (status, stored_currency, amount_minor): (String, String, i64) = sqlx::query_as(
        "SELECT status, currency::text, amount_minor FROM checkouts WHERE key = $1 FOR UPDATE",
    )
    .bind(&form.key)
    .fetch_one(&mut *tx)
    .await?;
    if status == "paid" {
        tx.commit().await?;
        return Ok(paid_page(&state, &form.key));
    }
    if status == "pending"
        && (stored_currency.as_str(), amount_minor) != (currency.as_str(), priced.total_minor)
    {
        // The cart moved since this checkout was stored (and perhaps
        // asked for): it is not charged for what the page no longer shows.
        let errors = [(
            "payment",
            "Your cart changed since you opened the checkout. Check the total, then pay."
                .to_owned(),
        )];
        return form_page(
            &state,
            &headers,
            &form,
            &new_key(),
            &errors,
            StatusCode::CONFLICT,
        )
        .await;
    }
    if status == "declined" {
        let errors = [(
            "payment",
            "That payment was declined. Check the card and try again.".to_owned(),
        )];
        return form_page(
            &state,
            &headers,
            &form,
            &new_key(),
            &errors,
            StatusCode::PAYMENT_REQUIRED,
        )
        .await;
    }
    let currency = Currency::parse(&stored_currency)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let amount = Money::new(amount_minor, currency);
    let outcome = state
        .provider
        .charge(Charge {
            key: &form.key,
            amount,
            card: &card,
        })
        .await;
    let payment_ref = match outcome {
        Ok(Outcome::Paid(reference)) => reference,
        Ok(Outcome::Declined(why)) => {
            sqlx::query("UPDATE checkouts SET status = 'declined', declined = $2 WHERE key = $1")
                .bind(&form.key)
                .bind(&why)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            let errors = [("payment", why)];
            return form_page(
                &state,
                &headers,
                &form,
                &new_key(),
                &errors,
                StatusCode::PAYMENT_REQUIRED,
            )
            .await;
        }
        Err(unavailable) => {
            tracing::warn!(%unavailable, "checkout: the payment provider did not answer");
            drop(tx);
            // The same key: trying again is the same payment, never a second.
            let errors = [("payment", "We could not confirm the payment with the payment service. Try again: you will not pay twice.".to_owned())];
            return form_page(
                &state,
                &headers,
                &form,
                &form.key,
                &errors,
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
    };
    let visitor = cookie(&headers, clicks::COOKIE).and_then(|v| state.key.verify(v));
    let partner = place_order(
        &mut tx,
        &state,
        &form.key,
        &payment_ref,
        visitor,
        coupon.as_deref(),
        email.as_str(),
        amount,
    )
    .await?;
    tx.commit().await?;
    state.ledger.tell(partner);
    Ok(paid_page(&state, &form.key))
}

/// Off to the confirmation, the cart and the checkout's key done with.
fn paid_page(state: &ShopState, key: &str) -> Response {
    let mut done = see_other(
        &format!("/shop/orders/{key}"),
        Some(cart_cookie(&Cart::default(), state.secure_cookies)),
    );
    if let Ok(value) = HeaderValue::from_str(&key_cookie(None, state.secure_cookies)) {
        done.headers_mut().append(header::SET_COOKIE, value);
    }
    done
}

async fn paid(state: &ShopState, key: &str) -> Result<Option<String>, AppError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM checkouts WHERE key = $1")
        .bind(key)
        .fetch_optional(&state.pool)
        .await?;
    Ok((status.as_deref() == Some("paid")).then(|| format!("/shop/orders/{key}")))
}

/// The order of a paid checkout, on `tx`, which holds the checkout locked
/// (so it is made once). Attribution is decided in this transaction, so
/// the clicks it reads are those there were when the order was made. The
/// partner whose figures moved.
#[allow(clippy::too_many_arguments)]
async fn place_order(
    tx: &mut sqlx::PgConnection,
    state: &ShopState,
    key: &str,
    payment_ref: &str,
    visitor: Option<i64>,
    coupon: Option<&str>,
    email: &str,
    amount: Money,
) -> Result<Option<String>, AppError> {
    let now = Utc::now();
    let decision = attribution::decide(
        &mut *tx,
        &state.attribution,
        &Buyer {
            visitor,
            coupon,
            email,
        },
        now,
    )
    .await?;
    let partner = decision.winner.as_ref().map(|w| w.partner.clone());
    let recorded = record_order_on(
        &mut *tx,
        &state.ledger,
        // Not the key: the reference is shown to the partner and the
        // back-office, the key opens the buyer's confirmation.
        &format!("shop-{}", &new_key()[..16]),
        partner.as_deref(),
        amount,
        None,
        now,
    )
    .await?;
    let mut record = serde_json::to_value(&decision).map_err(|e| AppError::Internal(e.into()))?;
    if let Some(note) = &recorded.no_line {
        record["commission"] = serde_json::Value::String(note.clone());
    }
    sqlx::query(
        "UPDATE orders SET checkout_key = $2, link_code = $3, attribution = $4 WHERE id = $1",
    )
    .bind(recorded.order_id)
    .bind(key)
    .bind(decision.winner.as_ref().and_then(|w| w.code.as_deref()))
    .bind(&record)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE checkouts SET status = 'paid', payment_ref = $2, order_id = $3 WHERE key = $1",
    )
    .bind(key)
    .bind(payment_ref)
    .bind(recorded.order_id)
    .execute(&mut *tx)
    .await?;
    Ok(partner)
}

/// `GET /shop/orders/{key}`: the confirmation, for whoever holds the key
/// (128 random bits, in the buyer's history only).
pub async fn confirmation(
    State(state): State<ShopState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !valid_key(&key) {
        return Err(AppError::NotFound);
    }
    let row: Option<(String, i64, serde_json::Value, String, String, Option<i64>)> =
        sqlx::query_as(
            "SELECT currency::text, amount_minor, items, email, name, order_id FROM checkouts
         WHERE key = $1 AND status = 'paid'",
        )
        .bind(&key)
        .fetch_optional(&state.pool)
        .await?;
    let Some((currency, amount_minor, items, email, name, order_id)) = row else {
        return Err(AppError::NotFound);
    };
    let currency =
        Currency::parse(&currency).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let format = number_format(&headers);
    let rows: String = items
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            format!(
                "<tr><td>{} × {}</td><td class=\"num\">{}</td></tr>",
                escape(item["name"].as_str().unwrap_or("")),
                item["quantity"].as_u64().unwrap_or(0),
                price(item["amount_minor"].as_i64().unwrap_or(0), currency, format),
            )
        })
        .collect();
    let rating = match order_id {
        Some(order) => rating_part(&state, &key, order).await?,
        None => String::new(),
    };
    let body = format!(
        "{}<main class=\"narrow\"><h1>Thank you, {}</h1>\
         <p class=\"ok\" role=\"status\">Your order {} is paid. A receipt goes to {}.</p>\
         <table><tbody>{rows}</tbody><tfoot><tr><th>Paid</th><th class=\"num\">{}</th></tr></tfoot></table>\
         {rating}<p><a class=\"button quiet\" href=\"/shop\">Back to the shop</a></p></main>",
        bar(&Cart::default()),
        escape(&name),
        order_id.map_or_else(String::new, |id| format!("no. {id}")),
        escape(&email),
        price(amount_minor, currency, format),
    );
    Ok(page(StatusCode::OK, "Thank you", "", &body))
}

/// The rating of the partner who brought an order, on its confirmation:
/// asked for once the order is delivered (and not refunded), one per
/// order, changed by rating again.
async fn rating_part(state: &ShopState, key: &str, order: i64) -> Result<String, AppError> {
    let row: Option<(Option<String>, Option<i16>)> = sqlx::query_as(
        "SELECT p.name, r.stars FROM orders o
         JOIN partners p ON p.id = o.partner_id
         LEFT JOIN order_ratings r ON r.order_id = o.id
         WHERE o.id = $1 AND o.delivered_at IS NOT NULL AND o.refunded_at IS NULL",
    )
    .bind(order)
    .fetch_optional(&state.pool)
    .await?;
    let Some((name, stars)) = row else {
        return Ok(String::new());
    };
    let name = escape(name.as_deref().unwrap_or("your partner"));
    let choices: String = (1..=5)
        .map(|n| {
            format!(
                "<label class=\"star\"><input type=\"radio\" name=\"stars\" value=\"{n}\" required{}> {n}<span class=\"sr\"> star{}</span></label>",
                if stars == Some(n) { " checked" } else { "" },
                if n == 1 { "" } else { "s" }
            )
        })
        .collect();
    Ok(format!(
        "<form method=\"post\" action=\"/shop/orders/{key}/rating\" class=\"rating\">\
         <fieldset><legend>How well did {name} help you? (1 poor, 5 excellent)</legend>\
         <div class=\"row\">{choices}</div></fieldset>{}\
         <p><button type=\"submit\">{}</button></p></form>",
        stars.map_or_else(String::new, |s| format!(
            "<p class=\"fine\" role=\"status\">You rated {name} {s} of 5. Thank you.</p>"
        )),
        if stars.is_some() {
            "Change my rating"
        } else {
            "Send my rating"
        },
    ))
}

#[derive(Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    stars: String,
}

/// `POST /shop/orders/{key}/rating`: 1 to 5 stars for the partner who
/// brought the delivered order the key opens.
pub async fn rate(
    State(state): State<ShopState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RatingForm>,
) -> Result<Response, AppError> {
    refuse_other_sites(&headers, state.secure_cookies)?;
    if !valid_key(&key) {
        return Err(AppError::NotFound);
    }
    // What went wrong is said on a page of the shop's, with the way back:
    // the client posted a form, and a bare error is no answer to them.
    let refused = |status: StatusCode, why: &str| {
        Ok(page(
            status,
            "Rating not sent",
            "",
            &format!(
                "<main><h1>Your rating was not sent</h1><p>{}</p>                 <p><a href=\"/shop/orders/{key}\">Back to your order</a></p></main>",
                escape(why)
            ),
        ))
    };
    let stars: i16 = match form.stars.trim().parse() {
        Ok(n) if (1..=5).contains(&n) => n,
        _ => return refused(StatusCode::BAD_REQUEST, "Choose 1 to 5 stars."),
    };
    let order: Option<(i64, Option<String>, bool)> = sqlx::query_as(
        "SELECT o.id, o.partner_id, o.delivered_at IS NOT NULL AND o.refunded_at IS NULL
         FROM checkouts c JOIN orders o ON o.id = c.order_id WHERE c.key = $1",
    )
    .bind(&key)
    .fetch_optional(&state.pool)
    .await?;
    let Some((order, Some(partner), true)) = order else {
        return refused(
            StatusCode::CONFLICT,
            "This order cannot be rated: it names no partner, or it is not delivered (or was refunded).",
        );
    };
    sqlx::query(
        "INSERT INTO order_ratings (order_id, partner_id, stars) VALUES ($1, $2, $3)
         ON CONFLICT (order_id) DO UPDATE SET stars = $3",
    )
    .bind(order)
    .bind(&partner)
    .bind(stars)
    .execute(&state.pool)
    .await?;
    state.ledger.tell([partner]);
    Ok(see_other(&format!("/shop/orders/{key}"), None))
}
