//! The storefront's pages: the catalog, a product, the cart. Written on
//! the server, with no script: a client on a phone on 3G reads a product
//! after one page and one stylesheet (and its picture), and never
//! downloads the partner app.

use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use model::{Currency, Money, NumberFormat};
use serde::Deserialize;

use super::{
    ShopState,
    cart::{self, Cart},
    catalog::{self, Product},
};
use crate::{
    http::{
        error::AppError,
        html::{escape, page},
        session::same_site_request,
    },
    platform::blob_http::serve_blob,
    referrals::clicks::cookie,
};

/// How amounts are written for this buyer: their browser's first language.
pub fn number_format(headers: &HeaderMap) -> NumberFormat {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .map(str::trim)
        .unwrap_or("en");
    NumberFormat::for_language(first)
}

pub fn price(minor: i64, currency: Currency, format: NumberFormat) -> String {
    format!(
        "{}\u{a0}{currency}",
        Money::new(minor, currency).format_grouped_in(format)
    )
}

/// The buyer's currency: the one they chose, if anything is sold in it;
/// else the first the catalog has.
pub async fn currency_of(state: &ShopState, headers: &HeaderMap) -> Result<Currency, AppError> {
    let sold = catalog::currencies(&state.pool).await?;
    let chosen = cookie(headers, cart::CURRENCY_COOKIE).filter(|c| sold.iter().any(|s| s == c));
    let code = chosen
        .map(str::to_owned)
        .or_else(|| sold.first().cloned())
        .unwrap_or_else(|| "USD".to_owned());
    Currency::parse(&code).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

/// The bar on top of every page: the shop's name and the cart.
pub fn bar(cart: &Cart) -> String {
    let units = cart.units();
    format!(
        "<header class=\"bar\"><a href=\"/shop\">Fieldkit shop</a>\
         <a href=\"/shop/cart\">Cart{}</a></header>",
        if units == 0 {
            String::new()
        } else {
            format!(" ({units} item{})", if units == 1 { "" } else { "s" })
        }
    )
}

fn image(p: &Product, eager: bool) -> String {
    match &p.image_sha256 {
        Some(sha) => format!(
            "<img src=\"/shop/images/{sha}\" alt=\"\" width=\"640\" height=\"480\"{}>",
            if eager { "" } else { " loading=\"lazy\"" }
        ),
        None => String::new(),
    }
}

/// `GET /shop`.
pub async fn index(
    State(state): State<ShopState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let currency = currency_of(&state, &headers).await?;
    let format = number_format(&headers);
    let products = catalog::all(&state.pool, currency).await?;
    let cart = Cart::parse(cookie(&headers, cart::COOKIE));
    let mut cards = String::new();
    for (i, p) in products.iter().enumerate() {
        cards.push_str(&format!(
            "<li class=\"card\">{}<div><a class=\"name\" href=\"/shop/p/{slug}\">{}</a>\
             <span>{}</span><span class=\"price\">{}</span></div></li>",
            image(p, i < 2),
            escape(&p.name),
            escape(&p.summary),
            p.price_minor.map_or_else(
                || format!("Not sold in {currency}"),
                |m| price(m, currency, format)
            ),
            slug = escape(&p.slug),
        ));
    }
    let body = format!(
        "{}<main><h1>Everything a field team needs</h1><ul class=\"grid\">{cards}</ul>{}</main>",
        bar(&cart),
        currency_picker(&state, currency, "/shop").await?,
    );
    Ok(page(StatusCode::OK, "Fieldkit shop", "", &body))
}

async fn currency_picker(
    state: &ShopState,
    current: Currency,
    back: &str,
) -> Result<String, AppError> {
    let sold = catalog::currencies(&state.pool).await?;
    if sold.len() < 2 {
        return Ok(String::new());
    }
    let options: String = sold
        .iter()
        .map(|c| {
            format!(
                "<option{}>{c}</option>",
                if c == current.as_str() {
                    " selected"
                } else {
                    ""
                }
            )
        })
        .collect();
    Ok(format!(
        "<form method=\"post\" action=\"/shop/currency\" class=\"row\">\
         <input type=\"hidden\" name=\"back\" value=\"{}\">\
         <label>Prices in <select name=\"currency\">{options}</select></label>\
         <button class=\"quiet\" type=\"submit\">Change</button></form>",
        escape(back)
    ))
}

/// `GET /shop/p/{slug}`.
pub async fn product(
    State(state): State<ShopState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let currency = currency_of(&state, &headers).await?;
    let format = number_format(&headers);
    let cart = Cart::parse(cookie(&headers, cart::COOKIE));
    let Some(p) = catalog::one(&state.pool, &slug, currency).await? else {
        let body = format!(
            "{}<main class=\"narrow\"><h1>No such product</h1><p>It may have left the \
             catalog. <a href=\"/shop\">See everything we sell</a>.</p></main>",
            bar(&cart)
        );
        return Ok(page(StatusCode::NOT_FOUND, "No such product", "", &body));
    };
    let buy = match p.price_minor {
        Some(minor) => format!(
            "<p class=\"price\">{}</p>\
             <form method=\"post\" action=\"/shop/cart\" class=\"row\">\
             <input type=\"hidden\" name=\"slug\" value=\"{}\">\
             <input type=\"hidden\" name=\"add\" value=\"1\">\
             <label>Quantity <input type=\"number\" name=\"quantity\" value=\"1\" min=\"1\" max=\"{}\" inputmode=\"numeric\"></label>\
             <button type=\"submit\">Add to cart</button></form>{}",
            price(minor, currency, format),
            escape(&p.slug),
            cart::MAX_QUANTITY,
            match cart.quantity(&p.slug) {
                0 => String::new(),
                n => format!("<p class=\"fine\">{n} in <a href=\"/shop/cart\">your cart</a>.</p>"),
            }
        ),
        None => format!("<p>Not sold in {currency}.</p>"),
    };
    let description: String = p
        .description
        .split("\n\n")
        .map(|para| format!("<p>{}</p>", escape(para)))
        .collect();
    let body = format!(
        "{}<main><article class=\"product\">{}<div><h1>{}</h1><p>{}</p>{buy}{description}</div>\
         </article></main>",
        bar(&cart),
        image(&p, true),
        escape(&p.name),
        escape(&p.summary),
    );
    Ok(page(StatusCode::OK, &p.name, "", &body))
}

#[derive(Deserialize)]
pub struct CartChange {
    slug: String,
    quantity: String,
    /// Present when the quantity adds to what the cart holds.
    #[serde(default)]
    add: Option<String>,
}

/// `POST /shop/cart`: a product added, a quantity changed (0 removes).
pub async fn change_cart(
    State(state): State<ShopState>,
    headers: HeaderMap,
    Form(change): Form<CartChange>,
) -> Result<Response, AppError> {
    refuse_other_sites(&headers, state.secure_cookies)?;
    let mut cart = Cart::parse(cookie(&headers, cart::COOKIE));
    let quantity: u32 = change
        .quantity
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("a quantity is a whole number".to_owned()))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM shop_products WHERE slug = $1)")
            .bind(&change.slug)
            .fetch_one(&state.pool)
            .await?;
    if exists {
        let quantity = if change.add.is_some() {
            cart.quantity(&change.slug).saturating_add(quantity)
        } else {
            quantity
        };
        cart.set(&change.slug, quantity);
    }
    Ok(see_other(
        "/shop/cart",
        Some(cart_cookie(&cart, state.secure_cookies)),
    ))
}

pub fn cart_cookie(cart: &Cart, secure: bool) -> String {
    let value = cart.value();
    format!(
        "{}={value}; Path=/shop; Max-Age={}; HttpOnly; SameSite=Lax{}",
        cart::COOKIE,
        if value.is_empty() { 0 } else { 30 * 24 * 3600 },
        if secure { "; Secure" } else { "" },
    )
}

/// A form posted from elsewhere: refused, so a page of another site
/// cannot fill or empty a buyer's cart, or pay. The browser's
/// `Sec-Fetch-Site` says where a form came from (only `same-origin`, and
/// `none` for one the person sent themselves, pass); a browser without
/// it is judged by `Origin` (our pages' `Referrer-Policy: no-referrer`
/// makes a form's Origin `null`, which says nothing). A request with
/// neither is no browser's, and no buyer's cookies ride on it by surprise.
pub fn refuse_other_sites(headers: &HeaderMap, secure: bool) -> Result<(), AppError> {
    let elsewhere = match headers.get("sec-fetch-site") {
        Some(site) => !matches!(site.as_bytes(), b"same-origin" | b"none"),
        None => headers
            .get(header::ORIGIN)
            .is_some_and(|o| o.as_bytes() != b"null" && !same_site_request(headers, secure)),
    };
    if elsewhere {
        return Err(AppError::Forbidden("a form from another site".to_owned()));
    }
    Ok(())
}

pub fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

#[derive(Deserialize)]
pub struct CurrencyChoice {
    currency: String,
    #[serde(default)]
    back: String,
}

/// `POST /shop/currency`.
pub async fn choose_currency(
    State(state): State<ShopState>,
    headers: HeaderMap,
    Form(choice): Form<CurrencyChoice>,
) -> Result<Response, AppError> {
    refuse_other_sites(&headers, state.secure_cookies)?;
    let sold = catalog::currencies(&state.pool).await?;
    if !sold.contains(&choice.currency) {
        return Err(AppError::BadRequest(format!(
            "nothing is sold in {:?}",
            choice.currency
        )));
    }
    // Back to a page of the shop only: never an address of elsewhere.
    let back = match choice.back.as_str() {
        back @ ("/shop" | "/shop/cart") => back,
        _ => "/shop",
    };
    Ok(see_other(
        back,
        Some(format!(
            "{}={}; Path=/shop; Max-Age=31536000; SameSite=Lax{}",
            cart::CURRENCY_COOKIE,
            choice.currency,
            if state.secure_cookies { "; Secure" } else { "" }
        )),
    ))
}

/// The cart priced: each line with its product, and the total; lines of
/// products gone or not sold in the currency are left out and named.
pub struct Priced {
    pub lines: Vec<(Product, u32, i64)>,
    pub left_out: Vec<String>,
    pub total_minor: i64,
}

pub async fn priced(
    state: &ShopState,
    cart: &Cart,
    currency: Currency,
) -> Result<Priced, AppError> {
    let mut priced = Priced {
        lines: Vec::new(),
        left_out: Vec::new(),
        total_minor: 0,
    };
    for (slug, quantity) in &cart.lines {
        match catalog::one(&state.pool, slug, currency).await? {
            Some(p) => match p.price_minor {
                Some(unit) => {
                    let line = unit * i64::from(*quantity);
                    priced.total_minor += line;
                    priced.lines.push((p, *quantity, line));
                }
                None => priced.left_out.push(p.name),
            },
            None => priced.left_out.push(slug.clone()),
        }
    }
    if priced.total_minor > Money::MAX_MINOR {
        return Err(AppError::BadRequest(
            "this cart is more than the shop can take".to_owned(),
        ));
    }
    Ok(priced)
}

/// `GET /shop/cart`.
pub async fn show_cart(
    State(state): State<ShopState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let currency = currency_of(&state, &headers).await?;
    let format = number_format(&headers);
    let cart = Cart::parse(cookie(&headers, cart::COOKIE));
    let priced = priced(&state, &cart, currency).await?;
    let body = if priced.lines.is_empty() {
        "<h1>Your cart is empty</h1><p><a class=\"button\" href=\"/shop\">See what we sell</a></p>"
            .to_owned()
    } else {
        let rows: String = priced
            .lines
            .iter()
            .map(|(p, q, line)| {
                format!(
                    "<tr><td><a href=\"/shop/p/{slug}\">{}</a></td>\
                     <td><form method=\"post\" action=\"/shop/cart\" class=\"row\">\
                     <input type=\"hidden\" name=\"slug\" value=\"{slug}\">\
                     <label><span class=\"sr\">Quantity of {name}</span>\
                     <input type=\"number\" name=\"quantity\" value=\"{q}\" min=\"0\" max=\"{}\" inputmode=\"numeric\"></label>\
                     <button class=\"quiet\" type=\"submit\">Update</button></form></td>\
                     <td class=\"num\">{}</td></tr>",
                    escape(&p.name),
                    cart::MAX_QUANTITY,
                    price(*line, currency, format),
                    slug = escape(&p.slug),
                    name = escape(&p.name),
                )
            })
            .collect();
        format!(
            "<h1>Your cart</h1><table><thead><tr><th>Product</th><th>Quantity</th>\
             <th class=\"num\">Amount</th></tr></thead><tbody>{rows}</tbody>\
             <tfoot><tr><th colspan=\"2\">Total</th><th class=\"num\">{}</th></tr></tfoot></table>\
             {}<p><a class=\"button\" href=\"/shop/checkout\">Check out</a></p>{}",
            price(priced.total_minor, currency, format),
            left_out(&priced.left_out, currency),
            currency_picker(&state, currency, "/shop/cart").await?,
        )
    };
    Ok(page(
        StatusCode::OK,
        "Your cart",
        "",
        &format!("{}<main class=\"narrow\">{body}</main>", bar(&cart)),
    ))
}

pub fn left_out(names: &[String], currency: Currency) -> String {
    if names.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"no\">Not in the total, as not sold in {currency}: {}.</p>",
        names
            .iter()
            .map(|n| escape(n))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `GET /shop/images/{sha}`: a catalog picture, cached for good (its
/// name is its content).
pub async fn picture(
    State(state): State<ShopState>,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (id, size, kind) = catalog::image(&state.pool, &sha)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut response = serve_blob(&state.blobs, &id, size, &kind, None, &headers)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
