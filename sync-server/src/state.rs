//! The server's state, part of the composition root: one field per
//! module's own state, each handed to that module's routes by `FromRef`
//! (axum's way to give a router only the part it reads). Modules never name
//! [`AppState`]; their routers are generic over any state that gives them
//! what they need.

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::{accounts::AccountsState, http, money::MoneyState, notifications::NotificationsState};

/// `AppState` with one field per line, and `FromRef<AppState>` for each
/// field's type: what `#[derive(FromRef)]` would write, without axum's
/// macros crate, and a new module's state is one line below.
macro_rules! app_state {
    ($($field:ident: $ty:ty),* $(,)?) => {
        #[derive(Clone)]
        pub struct AppState {
            $(pub $field: $ty,)*
        }

        $(
            impl FromRef<AppState> for $ty {
                fn from_ref(state: &AppState) -> Self {
                    state.$field.clone()
                }
            }
        )*
    };
}

app_state! {
    pool: PgPool,
    sessions: http::session::SessionSettings,
    sync: http::sync::SyncState,
    ops: http::OpsState,
    accounts: AccountsState,
    money: MoneyState,
    notifications: NotificationsState,
    training: crate::training::TrainingState,
    chat: crate::chat::ChatState,
    referrals: crate::referrals::ReferralsState,
    shop: crate::shop::ShopState,
    resources: crate::resources::ResourcesState,
    leaderboards: crate::leaderboards::LeaderboardsState,
}
