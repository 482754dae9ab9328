//! The client storefront at `/shop`: a catalog, a cart, a checkout through
//! a payment provider, and the order it makes, attributed to the partner
//! whose link or coupon brought the buyer (`referrals::attribution`), with
//! the partner's referral line appended through the ledger
//! (`money::orders`). Server-written pages with no script: clients are
//! anonymous and online, so none of it is a document.
//!
//! | `GET /shop`                 | the catalog |
//! | `GET /shop/p/{slug}`        | a product |
//! | `GET /shop/images/{sha}`    | a product's picture |
//! | `GET, POST /shop/cart`      | the cart; a product added or a quantity changed |
//! | `POST /shop/currency`       | the prices' currency |
//! | `GET, POST /shop/checkout`  | the checkout form; paying |
//! | `GET /shop/orders/{key}`    | the confirmation (and, once delivered, the partner's rating) |
//! | `POST /shop/orders/{key}/rating` | 1 to 5 stars for the partner |

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod pages;
pub mod payment;

use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};
use sqlx::PgPool;

use crate::{
    money::LedgerSettings,
    platform::blobs::BlobStore,
    referrals::{attribution, clicks::ClickKey},
};

/// What the storefront's routes read from the server's state.
#[derive(Clone)]
pub struct ShopState {
    pub pool: PgPool,
    pub blobs: BlobStore,
    pub ledger: Arc<LedgerSettings>,
    pub attribution: attribution::Settings,
    pub key: Arc<ClickKey>,
    pub provider: Arc<dyn payment::PaymentProvider>,
    pub secure_cookies: bool,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ShopState: FromRef<S>,
{
    Router::new()
        .route("/shop", get(pages::index))
        .route("/shop/p/{slug}", get(pages::product))
        .route("/shop/images/{sha}", get(pages::picture))
        .route("/shop/cart", get(pages::show_cart).post(pages::change_cart))
        .route("/shop/currency", post(pages::choose_currency))
        .route("/shop/checkout", get(checkout::show).post(checkout::submit))
        .route("/shop/orders/{key}", get(checkout::confirmation))
        .route("/shop/orders/{key}/rating", post(checkout::rate))
}
