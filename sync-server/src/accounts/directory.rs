//! The accounts module's answer to the share policy's question about an
//! account: an approved account's role, partner and team, from its tables
//! (the chat module answers about channels and composes the two into the
//! policy's `Directory`).

use std::collections::HashSet;

use futures::future::BoxFuture;
use sqlx::PgPool;

use crate::platform::policy::{AccountFacts, Role, readable_role};

pub struct PgDirectory {
    pub pool: PgPool,
}

impl PgDirectory {
    /// The ids `sql` selects for `key`, when `wanted`; none otherwise.
    async fn ids_if(
        &self,
        wanted: bool,
        sql: &'static str,
        key: &str,
    ) -> Result<HashSet<String>, sqlx::Error> {
        if !wanted {
            return Ok(HashSet::new());
        }
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .bind(key)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().collect())
    }
}

impl PgDirectory {
    /// Approved accounts only: a session outliving its account's approval
    /// reads nothing.
    pub fn account<'a>(
        &'a self,
        account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AccountFacts>, sqlx::Error>> {
        Box::pin(async move {
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT role, partner_id FROM accounts WHERE id = $1 AND status = 'approved'",
            )
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
            let facts = match row
                .and_then(|(role, partner)| Some((readable_role(account_id, &role)?, partner)))
            {
                None => None,
                Some((role, partner_id)) => {
                    let team_partners = self
                        .ids_if(
                            role == Role::TeamLeader,
                            "SELECT partner_id FROM accounts
                             WHERE team_leader_id = $1 AND status = 'approved'
                               AND partner_id IS NOT NULL",
                            account_id,
                        )
                        .await?;
                    Some(AccountFacts {
                        role,
                        partner_id,
                        team_partners,
                    })
                }
            };
            Ok(facts)
        })
    }
}
