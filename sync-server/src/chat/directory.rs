//! The share policy's [`Directory`]: accounts as the accounts module knows
//! them, channels as this module does.

use std::collections::HashSet;

use futures::future::BoxFuture;
use model::ChannelForm;

use crate::{
    accounts::directory::PgDirectory,
    platform::policy::{AccountFacts, ChannelAccess, Directory},
};

pub struct ChatDirectory {
    pub accounts: PgDirectory,
}

impl Directory for ChatDirectory {
    fn account<'a>(
        &'a self,
        account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AccountFacts>, sqlx::Error>> {
        self.accounts.account(account_id)
    }

    /// A channel's index, or one of its messages documents: who reads it
    /// and who posts. A document of no channel is nobody's.
    fn channel<'a>(&'a self, doc_id: &'a str) -> BoxFuture<'a, Result<ChannelAccess, sqlx::Error>> {
        Box::pin(async move {
            let pool = &self.accounts.pool;
            let channel: Option<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT c.doc_id, c.form, c.team_leader_id FROM channels c
                 WHERE c.doc_id = $1
                    OR c.doc_id = (SELECT channel_id FROM channel_buckets WHERE doc_id = $1)",
            )
            .bind(doc_id)
            .fetch_optional(pool)
            .await?;
            let Some((channel, form, leader)) = channel else {
                return Ok(ChannelAccess::default());
            };
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT m.account_id FROM channel_members m
                 JOIN accounts a ON a.id = m.account_id AND a.status = 'approved'
                 WHERE m.doc_id = $1",
            )
            .bind(&channel)
            .fetch_all(pool)
            .await?;
            let form = ChannelForm::parse(&form);
            // A team's announcements: its leader posts.
            let posters = match form {
                Some(ChannelForm::TeamAnnouncements) => leader.into_iter().collect(),
                _ => HashSet::new(),
            };
            Ok(ChannelAccess {
                members: members.into_iter().collect::<HashSet<_>>(),
                everyone_reads: form == Some(ChannelForm::Announcements),
                members_post: form.is_some_and(ChannelForm::members_post),
                posters,
            })
        })
    }
}
