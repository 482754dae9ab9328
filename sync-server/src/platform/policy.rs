//! Who may read and write which document: the share policy samod asks for
//! every (document, peer) pair before it syncs anything between them.
//!
//! A peer is an account: the guard has already checked that a connection's
//! peer id is `<account id>/<device>` for the account its session signed in
//! (see `guard.rs`), so the account named in a peer id can be trusted here.
//! The decision comes from the document registry (`documents`: kind and
//! owner), channel membership and the account (role, partner, team), the
//! last two asked of a [`Directory`] that a product module provides:
//!
//! | kind           | owner          | team leader of owner | channel member | others | admin |
//! |----------------|----------------|----------------------|----------------|--------|-------|
//! | `pipeline`     | read-write     | read                 |                | none   | read-write |
//! | `training`     | read-write     | read                 |                | none   | read-write |
//! | `note`         | read-write     | none                 |                | none   | read-write |
//! | `account_view` | read           | none                 |                | none   | read-write |
//! | `catalog`      | (no owner)     |                      |                | read (1) | read-write |
//! | `channel`      | (no owner)     |                      | read (2)       | none (2) | read-write |
//! | `messages`     | (no owner)     |                      | read-write (3) | none (2) | read-write |
//! | `reads`        | read-write     | none                 |                | none   | read-write |
//! | `referrals`    | read-write     | none                 |                | none   | read-write |
//! | `inbox`, `team`, `standings` | read | none                 |                | none   | read-write |
//!
//! (1) A catalog may be for one role only (`documents.readers`: a track
//! for team leaders); others get none.
//! (2) The programme's announcements are read by every account.
//! (3) Read only where members do not post (the announcements).
//!
//! An account whose role this server cannot read gets "none" everywhere
//! (and a warning in the log), never a partner's access by default.
//!
//! "none" is answered exactly as a document that does not exist (samod
//! sends `doc-unavailable`), so a peer cannot learn that a document id is
//! taken. "read" means samod sends our changes and drops theirs, so a write
//! to a read-only document is never stored nor projected.
//!
//! A document id the registry does not know and storage has never seen is
//! a document a partner has just made on their device: it is registered as
//! that partner's `note`. (Ids are 128 random bits, so nobody else can claim
//! a document before its maker syncs it.) An id with chunks in storage but
//! no registry row is nobody's and stays unreachable.
//!
//! A decision is made when samod first pairs a document with a peer, and
//! made again, on the open connection, when a module says the account's
//! access changed ([`AccessPolicy::changed`]: a member removed from a
//! channel stops receiving it at once, not at their next reconnect). The
//! account and document facts are cached for a few seconds: samod asks for
//! every pair of resident document and connected peer, so asking Postgres
//! each time would put the database in the path of every connection; a
//! decision made again reads them afresh.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use samod::{DocumentId, PeerId, ShareConfig};
use sqlx::PgPool;
use sync::DocKind;
use tokio::sync::broadcast;

use crate::lock;

/// How long account and document facts are reused.
const FRESH_FOR: Duration = Duration::from_secs(10);
/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 100_000;

/// What the policy needs to know of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub role: Role,
    pub partner_id: Option<String>,
    /// For a team leader, the partners of their team.
    pub team_partners: HashSet<String>,
}

/// What the policy needs to know of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocFacts {
    pub kind: DocKind,
    /// The owning partner; `None` for catalogs and channels.
    pub owner: Option<String>,
    /// For a channel's index and messages: who belongs and who posts.
    pub channel: ChannelAccess,
    /// For a catalog kept for some readers only (`documents.readers`),
    /// the role they have; `None`: every signed-in account.
    pub readers: Option<Role>,
}

/// Who reads and who writes a channel's documents (its index and its
/// messages), as its module keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelAccess {
    /// The accounts listed as its members.
    pub members: HashSet<String>,
    /// Every approved account reads it (the announcements).
    pub everyone_reads: bool,
    /// Members write its messages; otherwise admins do, and `posters`.
    pub members_post: bool,
    /// Members who post where the others read (a team's announcements:
    /// its leader).
    pub posters: HashSet<String>,
}

impl ChannelAccess {
    fn reads(&self, account_id: &str) -> bool {
        self.everyone_reads || self.members.contains(account_id)
    }
}

/// Read-write, read-only or nothing, for one account and one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None,
    Read,
    ReadWrite,
}

impl Access {
    pub fn share_config(self) -> ShareConfig {
        // The server never offers a document to a peer that did not ask
        // for it (so a reconnecting client brings back only its own
        // working set), whatever the peer may do with it.
        match self {
            Access::None => ShareConfig::none(),
            Access::Read => ShareConfig::read_only().with_announce(false),
            Access::ReadWrite => ShareConfig::read_write().with_announce(false),
        }
    }
}

/// The table at the top of this file.
pub fn decide(account_id: &str, account: &AccountFacts, doc: &DocFacts) -> Access {
    if account.role == Role::Admin {
        return Access::ReadWrite;
    }
    let owns = doc.owner.is_some() && doc.owner == account.partner_id;
    let leads_owner = account.role == Role::TeamLeader
        && doc
            .owner
            .as_ref()
            .is_some_and(|owner| account.team_partners.contains(owner));
    match doc.kind {
        DocKind::Pipeline | DocKind::Training if owns => Access::ReadWrite,
        DocKind::Pipeline | DocKind::Training if leads_owner => Access::Read,
        DocKind::Note | DocKind::Reads | DocKind::Referrals if owns => Access::ReadWrite,
        DocKind::AccountView | DocKind::Inbox | DocKind::Team | DocKind::Standings if owns => {
            Access::Read
        }
        DocKind::Catalog if doc.readers.is_none_or(|role| role == account.role) => Access::Read,
        DocKind::Channel if doc.channel.reads(account_id) => Access::Read,
        DocKind::Messages
            if (doc.channel.members_post || doc.channel.posters.contains(account_id))
                && doc.channel.members.contains(account_id) =>
        {
            Access::ReadWrite
        }
        DocKind::Messages if doc.channel.reads(account_id) => Access::Read,
        _ => Access::None,
    }
}

/// The role of an account, or `None` (which the policy answers with
/// nothing) when it is none this server knows: a role it cannot read is no
/// reason to grant a partner's access, nor any other. Sign-in refuses such
/// an account too (`wire::Role::parse`, in `http::session`).
pub fn readable_role(account_id: &str, role: &str) -> Option<Role> {
    let parsed = Role::parse(role);
    if parsed.is_none() {
        tracing::warn!(
            account_id,
            role,
            "share policy: the account's role is unknown; denied"
        );
    }
    parsed
}

/// The role `documents.readers` names (its CHECK allows `team_leaders`
/// only).
pub fn readers_role(readers: &str) -> Role {
    match readers {
        "team_leaders" => Role::TeamLeader,
        other => {
            // Unreachable while the CHECK holds; the strictest answer.
            tracing::warn!(
                readers = other,
                "share policy: unknown readers; admins only"
            );
            Role::Admin
        }
    }
}

/// The account a peer id names: `<account id>/<device>`.
pub fn account_of_peer(peer: &str) -> Option<&str> {
    let (account, device) = peer.split_once('/')?;
    let valid = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (valid(account, 64) && valid(device, 64)).then_some(account)
}

struct Cached<T> {
    at: Instant,
    value: Option<T>,
}

#[derive(Default)]
struct Cache {
    accounts: HashMap<String, Cached<AccountFacts>>,
    docs: HashMap<String, Cached<DocFacts>>,
    /// Moved by every [`AccessPolicy::changed`]: facts read while it
    /// moved may predate the change and are not kept.
    generation: u64,
}

/// Who an account is and who belongs to a channel: the facts the policy
/// decides from about accounts. They are kept by a product module (the
/// accounts module answers with its tables, `accounts::directory`); the
/// platform asks through this trait and runs no SQL on product tables.
pub trait Directory: Send + Sync + 'static {
    /// An approved account's facts; `None` for an account that is not
    /// approved, does not exist, or has a role [`readable_role`] refuses.
    fn account<'a>(
        &'a self,
        account_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AccountFacts>, sqlx::Error>>;
    /// Who reads and writes a channel's document (its index, or one of
    /// its messages documents); nobody for a document of no channel.
    fn channel<'a>(&'a self, doc_id: &'a str) -> BoxFuture<'a, Result<ChannelAccess, sqlx::Error>>;
}

/// The share policy over the document registry and a [`Directory`], with
/// its cache. Cheap to clone.
#[derive(Clone)]
pub struct AccessPolicy {
    pool: PgPool,
    /// This node, in the notices of [`ACCESS_CHANGED`] it sends.
    node: Arc<str>,
    directory: Arc<dyn Directory>,
    cache: Arc<Mutex<Cache>>,
    /// The accounts whose access just changed, to every open decision.
    changes: broadcast::Sender<Arc<str>>,
}

/// Changes announced and not yet read before a decision's stream counts
/// as behind (and decides again whatever they were).
const CHANGES_KEPT: usize = 1024;

/// The Postgres channel on which a node tells the others whose access
/// changed: `<node> <JSON array of account ids>`.
pub const ACCESS_CHANGED: &str = "access_changed";

/// Account ids one notice carries at most (each is a short id; a notice
/// must stay under Postgres's 8,000 bytes).
const ACCOUNTS_PER_NOTICE: usize = 64;

/// Account ids longer than this are not ids, and are dropped from a
/// notice read.
const MAX_ACCOUNT_ID: usize = 100;

/// Said on the open decisions' channel when every account's access may
/// have changed (notices were lost): no account id is a lone asterisk.
const EVERYONE: &str = "*";

/// Tries at sending one access notice before the other nodes are left to
/// their caches' expiry.
const NOTICE_TRIES: u32 = 5;

impl AccessPolicy {
    /// The policy of `node` (see `storage::PgStorage::node`).
    pub fn new(pool: PgPool, directory: Arc<dyn Directory>, node: Arc<str>) -> AccessPolicy {
        AccessPolicy {
            pool,
            node,
            directory,
            cache: Arc::default(),
            changes: broadcast::channel(CHANGES_KEPT).0,
        }
    }

    /// Says that what `accounts` may read or write changed (a channel's
    /// members, say): their facts and the channels' are forgotten, and
    /// every open (document, peer) pair of theirs is decided again from
    /// Postgres, which samod applies to the open connection. Call it after
    /// the change is committed. Every other node over the database is told
    /// too ([`ACCESS_CHANGED`]) and does the same for its connections.
    pub fn changed(&self, accounts: &[String]) {
        self.changed_here(accounts);
        let notices: Vec<String> = accounts
            .chunks(ACCOUNTS_PER_NOTICE)
            .map(|some| {
                let ids = serde_json::to_string(some).expect("strings serialise");
                format!("{} {ids}", self.node)
            })
            .collect();
        let pool = self.pool.clone();
        // After the caller's commit, and not in its way; retried a few
        // times (a database away for longer than that has the other nodes'
        // listeners reconnecting, which re-decides everything there).
        tokio::spawn(async move {
            for notice in notices {
                let mut delay = Duration::from_millis(100);
                for attempt in 1..=NOTICE_TRIES {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(ACCESS_CHANGED)
                        .bind(&notice)
                        .execute(&pool)
                        .await;
                    match sent {
                        Ok(_) => break,
                        Err(error) if attempt == NOTICE_TRIES => {
                            tracing::warn!(%error, "cannot tell the other nodes of an access change");
                        }
                        Err(_) => {
                            tokio::time::sleep(delay).await;
                            delay *= 2;
                        }
                    }
                }
            }
        });
    }

    /// Follows the access changes other nodes announce, for as long as
    /// the process runs. When notices may have been lost (the listener
    /// reconnected), every cached fact is dropped and every open decision
    /// of this node is made again.
    pub fn follow_other_nodes(&self) {
        let policy = self.clone();
        tokio::spawn(async move {
            loop {
                let mut listener = super::cluster::listener_on(&policy.pool, ACCESS_CHANGED).await;
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notice)) => {
                            if let Some(accounts) = accounts_changed(notice.payload(), &policy.node)
                            {
                                policy.changed_here(&accounts);
                            }
                        }
                        Ok(None) => {
                            policy.forget_everything();
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the access changes' listener failed");
                            policy.forget_everything();
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Drops every cached fact and decides every open pair again
    /// (notices may have been lost).
    fn forget_everything(&self) {
        {
            let mut cache = lock(&self.cache);
            cache.generation += 1;
            cache.accounts.clear();
            cache.docs.clear();
        }
        let _ = self.changes.send(Arc::from(EVERYONE));
    }

    /// [`Self::changed`] for this node's connections only.
    fn changed_here(&self, accounts: &[String]) {
        {
            let mut cache = lock(&self.cache);
            cache.generation += 1;
            for account in accounts {
                cache.accounts.remove(account);
            }
            // A channel's members are facts of its documents.
            cache.docs.retain(|_, doc| {
                doc.value
                    .as_ref()
                    .is_some_and(|d| !matches!(d.kind, DocKind::Channel | DocKind::Messages))
            });
        }
        for account in accounts {
            // No receiver: no open decision to change.
            let _ = self.changes.send(Arc::from(account.as_str()));
        }
    }

    /// The access of the account behind `peer` to `doc_id`. Waits out a
    /// database outage rather than answering "none": a denial would stand
    /// for the whole connection, long after the database came back.
    pub async fn access(&self, doc_id: &str, peer: &str) -> Access {
        self.decide_now(doc_id, peer, false).await
    }

    /// [`Self::access`]; `fresh`: from Postgres, not from the cache (a
    /// cached fact may have been read before the change was committed).
    async fn decide_now(&self, doc_id: &str, peer: &str, fresh: bool) -> Access {
        let Some(account_id) = account_of_peer(peer) else {
            return Access::None;
        };
        let account = sync::retry_forever(
            || self.account(account_id, fresh),
            tokio::time::sleep,
            |error, delay| tracing::warn!(%error, ?delay, "share policy: account lookup failed"),
        )
        .await;
        let Some(account) = account else {
            return Access::None;
        };
        let doc = sync::retry_forever(
            || self.document(doc_id, account_id, &account, fresh),
            tokio::time::sleep,
            |error, delay| tracing::warn!(%error, ?delay, "share policy: document lookup failed"),
        )
        .await;
        match doc {
            Some(doc) => decide(account_id, &account, &doc),
            None => Access::None,
        }
    }

    /// The kind of a registered document (for the guard's checks of shared
    /// writes); `None` when unregistered.
    pub async fn kind(&self, doc_id: &str) -> Result<Option<DocKind>, sqlx::Error> {
        Ok(self
            .document_facts(doc_id, false)
            .await?
            .map(|doc| doc.kind))
    }

    /// The facts the policy decides `account_id`'s access from, read now
    /// (not from the cache) and once: `/api/me` decides each of the
    /// account's documents with [`decide`] from them, so what it lists is
    /// what `/sync` gives, with one query and no wait on a database outage.
    pub async fn fresh_facts(&self, account_id: &str) -> Result<Option<AccountFacts>, sqlx::Error> {
        self.directory.account(account_id).await
    }

    /// Approved accounts only: a session outliving its account's approval
    /// reads nothing.
    async fn account(
        &self,
        account_id: &str,
        fresh: bool,
    ) -> Result<Option<AccountFacts>, sqlx::Error> {
        if !fresh && let Some(hit) = self.cached(|c| &c.accounts, account_id) {
            return Ok(hit);
        }
        let since = lock(&self.cache).generation;
        let facts = self.directory.account(account_id).await?;
        self.keep(|c| &mut c.accounts, account_id, facts.clone(), since);
        Ok(facts)
    }

    /// The registered facts of `doc_id`, registering it as the partner's
    /// new note when nothing of it exists yet.
    async fn document(
        &self,
        doc_id: &str,
        account_id: &str,
        account: &AccountFacts,
        fresh: bool,
    ) -> Result<Option<DocFacts>, sqlx::Error> {
        if let Some(doc) = self.document_facts(doc_id, fresh).await? {
            return Ok(Some(doc));
        }
        let Some(partner) = &account.partner_id else {
            return Ok(None);
        };
        if doc_id.parse::<DocumentId>().is_err() {
            return Ok(None);
        }
        let (lo, hi) = sync::prefix_range(
            &samod::storage::StorageKey::from_parts([doc_id]).expect("a document id is a key"),
        );
        // One statement: the registry row appears only if no chunk of the
        // document exists, and a concurrent claim loses on the primary key.
        let claimed = sqlx::query(
            "INSERT INTO documents (doc_id, kind, owner_id)
             SELECT $1, $5, $2
             WHERE NOT EXISTS (SELECT 1 FROM doc_chunks WHERE key >= $3 AND key < $4)
             ON CONFLICT (doc_id) DO NOTHING",
        )
        .bind(doc_id)
        .bind(partner)
        .bind(lo)
        .bind(hi)
        .bind(DocKind::Note.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            // Someone else registered it meanwhile, or it has chunks.
            return self.document_facts(doc_id, true).await;
        }
        tracing::info!(doc_id, account_id, "new document registered as a note");
        let facts = DocFacts {
            kind: DocKind::Note,
            owner: Some(partner.clone()),
            channel: ChannelAccess::default(),
            readers: None,
        };
        // A note: no channel's member list is among its facts.
        let now = lock(&self.cache).generation;
        self.keep(|c| &mut c.docs, doc_id, Some(facts.clone()), now);
        Ok(Some(facts))
    }

    async fn document_facts(
        &self,
        doc_id: &str,
        fresh: bool,
    ) -> Result<Option<DocFacts>, sqlx::Error> {
        if !fresh && let Some(hit) = self.cached(|c| &c.docs, doc_id) {
            return Ok(hit);
        }
        let since = lock(&self.cache).generation;
        let row: Option<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT kind, owner_id, readers FROM documents WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_optional(&self.pool)
                .await?;
        let facts = match row {
            None => None,
            Some((kind, owner, readers)) => match DocKind::parse(&kind) {
                Err(error) => {
                    tracing::error!(%error, doc_id, "document of an unknown kind: nobody's");
                    None
                }
                Ok(kind) => {
                    let channel = if matches!(kind, DocKind::Channel | DocKind::Messages) {
                        self.directory.channel(doc_id).await?
                    } else {
                        ChannelAccess::default()
                    };
                    Some(DocFacts {
                        kind,
                        owner,
                        channel,
                        readers: readers.as_deref().map(readers_role),
                    })
                }
            },
        };
        // Unregistered ids are not cached: one may be registered any moment.
        if let Some(facts) = &facts {
            self.keep(|c| &mut c.docs, doc_id, Some(facts.clone()), since);
        }
        Ok(facts)
    }

    /// Keeps `value`, read at `since` (a generation), unless a change came
    /// in between: read across a change, it was right for the decision it
    /// was read for, maybe not for the next (see `changed`).
    fn keep<T>(
        &self,
        map: impl FnOnce(&mut Cache) -> &mut HashMap<String, Cached<T>>,
        key: &str,
        value: Option<T>,
        since: u64,
    ) {
        let mut cache = lock(&self.cache);
        if cache.generation != since {
            return;
        }
        let map = map(&mut cache);
        sweep(map);
        map.insert(
            key.to_owned(),
            Cached {
                at: Instant::now(),
                value,
            },
        );
    }

    fn cached<T: Clone>(
        &self,
        map: impl Fn(&Cache) -> &HashMap<String, Cached<T>>,
        key: &str,
    ) -> Option<Option<T>> {
        let cache = lock(&self.cache);
        let entry = map(&cache).get(key)?;
        (entry.at.elapsed() < FRESH_FOR).then(|| entry.value.clone())
    }
}

fn sweep<T>(map: &mut HashMap<String, Cached<T>>) {
    if map.len() >= SWEEP_AT {
        map.retain(|_, entry| entry.at.elapsed() < FRESH_FOR);
    }
}

impl samod::SharePolicy for AccessPolicy {
    fn share(
        &self,
        doc_id: DocumentId,
        peer_id: PeerId,
    ) -> impl futures::Stream<Item = ShareConfig> + Send + 'static {
        // Subscribed before the first decision, so a change committed
        // while it is made is not missed.
        let changes = self.changes.subscribe();
        futures::stream::unfold(
            (self.clone(), changes, true),
            move |(policy, mut changes, first)| {
                let doc_id = doc_id.to_string();
                let peer = peer_id.clone();
                async move {
                    if !first {
                        let account = account_of_peer(peer.as_str())?;
                        loop {
                            match changes.recv().await {
                                Ok(changed) if *changed == *account || &*changed == EVERYONE => {
                                    break;
                                }
                                Ok(_) => {}
                                // Behind: one of the missed may be ours.
                                Err(broadcast::error::RecvError::Lagged(_)) => break,
                                Err(broadcast::error::RecvError::Closed) => return None,
                            }
                        }
                    }
                    let access = policy.decide_now(&doc_id, peer.as_str(), !first).await;
                    tracing::debug!(doc_id, peer = peer.as_str(), ?access, first, "share policy");
                    Some((access.share_config(), (policy, changes, false)))
                }
            },
        )
    }
}

/// What an account may do: the API's word list (`wire`), which the
/// schema's CHECK on `accounts.role` spells the same (a test in `wire`).
pub use wire::Role;

/// The accounts a notice from another node names; `None` for this node's
/// own notices and for anything that is not a notice.
fn accounts_changed(payload: &str, node: &str) -> Option<Vec<String>> {
    let (from, ids) = payload.split_once(' ')?;
    if from == node {
        return None;
    }
    let mut accounts: Vec<String> = serde_json::from_str(ids).ok()?;
    accounts.retain(|id| !id.is_empty() && id.len() <= MAX_ACCOUNT_ID);
    Some(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_notice_names_accounts_only_from_another_node() {
        assert_eq!(
            accounts_changed(r#"n1 ["a-ben","a-ana"]"#, "n2"),
            Some(vec!["a-ben".to_owned(), "a-ana".to_owned()])
        );
        assert_eq!(accounts_changed(r#"n1 ["a-ben"]"#, "n1"), None);
        // Hostile or broken payloads name nothing, or only what can be ids.
        for payload in ["", "n1", "n1 ", "n1 {}", "n1 [1]", "n1 \"a\"", "n1 [\"a\""] {
            assert_eq!(accounts_changed(payload, "n2"), None, "{payload}");
        }
        let long = "x".repeat(MAX_ACCOUNT_ID + 1);
        assert_eq!(
            accounts_changed(&format!(r#"n1 ["", "{long}", "a-cleo"]"#), "n2"),
            Some(vec!["a-cleo".to_owned()])
        );
    }

    fn account(role: Role, partner: Option<&str>, team: &[&str]) -> AccountFacts {
        AccountFacts {
            role,
            partner_id: partner.map(str::to_owned),
            team_partners: team.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn doc(kind: DocKind, owner: Option<&str>, members: &[&str]) -> DocFacts {
        DocFacts {
            kind,
            owner: owner.map(str::to_owned),
            channel: ChannelAccess {
                members: members.iter().map(|s| s.to_string()).collect(),
                everyone_reads: false,
                members_post: true,
                posters: HashSet::new(),
            },
            readers: None,
        }
    }

    #[test]
    fn peer_ids_name_an_account_and_a_device() {
        assert_eq!(account_of_peer("a-ben/3f9c"), Some("a-ben"));
        assert_eq!(account_of_peer("a-ben/"), None);
        assert_eq!(account_of_peer("/3f9c"), None);
        assert_eq!(account_of_peer("a-ben"), None);
        assert_eq!(account_of_peer("a-ben/x/y"), None);
        assert_eq!(account_of_peer("a ben/x"), None);
    }

    #[test]
    fn an_unknown_role_is_no_role_at_all() {
        assert_eq!(readable_role("a-ben", "partner"), Some(Role::Partner));
        assert_eq!(
            readable_role("a-ana", "team_leader"),
            Some(Role::TeamLeader)
        );
        assert_eq!(readable_role("a-admin", "admin"), Some(Role::Admin));
        for unknown in ["auditor", "Partner", "", "admin "] {
            assert_eq!(readable_role("a-ben", unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn a_catalog_for_team_leaders_is_theirs_and_admins_only() {
        let mut catalog = doc(DocKind::Catalog, None, &[]);
        let partner = account(Role::Partner, Some("p-ben"), &[]);
        let leader = account(Role::TeamLeader, Some("p-ana"), &["p-ben"]);
        let admin = account(Role::Admin, None, &[]);
        assert_eq!(decide("a-ben", &partner, &catalog), Access::Read);
        catalog.readers = Some(readers_role("team_leaders"));
        assert_eq!(decide("a-ben", &partner, &catalog), Access::None);
        assert_eq!(decide("a-ana", &leader, &catalog), Access::Read);
        assert_eq!(decide("a-admin", &admin, &catalog), Access::ReadWrite);
        assert_eq!(readers_role("anything else"), Role::Admin);
    }

    #[test]
    fn a_leader_reads_but_never_writes_a_members_pipeline() {
        let leader = account(Role::TeamLeader, Some("p-ana"), &["p-ben"]);
        let ben_pipeline = doc(DocKind::Pipeline, Some("p-ben"), &[]);
        let ben_note = doc(DocKind::Note, Some("p-ben"), &[]);
        let cleo_pipeline = doc(DocKind::Pipeline, Some("p-cleo"), &[]);
        assert_eq!(decide("a-ana", &leader, &ben_pipeline), Access::Read);
        assert_eq!(decide("a-ana", &leader, &ben_note), Access::None);
        assert_eq!(decide("a-ana", &leader, &cleo_pipeline), Access::None);
        // A partner listing a team means nothing without the role.
        let partner = account(Role::Partner, Some("p-ana"), &["p-ben"]);
        assert_eq!(decide("a-ana", &partner, &ben_pipeline), Access::None);
    }

    #[test]
    fn server_written_and_shared_kinds() {
        let ben = account(Role::Partner, Some("p-ben"), &[]);
        let admin = account(Role::Admin, None, &[]);
        let view = doc(DocKind::AccountView, Some("p-ben"), &[]);
        let catalog = doc(DocKind::Catalog, None, &[]);
        let channel = doc(DocKind::Channel, None, &["a-ben"]);
        assert_eq!(decide("a-ben", &ben, &view), Access::Read);
        // An inbox is its owner's to read, and nobody else's, their team
        // leader included.
        let inbox = doc(DocKind::Inbox, Some("p-ben"), &[]);
        assert_eq!(decide("a-ben", &ben, &inbox), Access::Read);
        let leader = account(Role::TeamLeader, Some("p-ana"), &["p-ben"]);
        assert_eq!(decide("a-ana", &leader, &inbox), Access::None);
        let cleo = account(Role::Partner, Some("p-cleo"), &[]);
        assert_eq!(decide("a-cleo", &cleo, &inbox), Access::None);
        assert_eq!(decide("a-ben", &ben, &catalog), Access::Read);
        // A channel's index is the server's; its messages are its
        // members'.
        let messages = doc(DocKind::Messages, None, &["a-ben"]);
        assert_eq!(decide("a-ben", &ben, &channel), Access::Read);
        assert_eq!(decide("a-ben", &ben, &messages), Access::ReadWrite);
        assert_eq!(decide("a-cleo", &ben, &channel), Access::None);
        assert_eq!(decide("a-cleo", &ben, &messages), Access::None);
        for d in [&view, &catalog, &channel, &messages] {
            assert_eq!(decide("a-admin", &admin, d), Access::ReadWrite);
        }
    }

    #[test]
    fn announcements_are_read_by_everyone_and_written_by_admins() {
        let ben = account(Role::Partner, Some("p-ben"), &[]);
        let leader = account(Role::TeamLeader, Some("p-ana"), &["p-ben"]);
        let admin = account(Role::Admin, None, &[]);
        let rules = ChannelAccess {
            members: HashSet::new(),
            everyone_reads: true,
            members_post: false,
            posters: HashSet::new(),
        };
        for kind in [DocKind::Channel, DocKind::Messages] {
            let mut d = doc(kind, None, &[]);
            d.channel = rules.clone();
            assert_eq!(decide("a-ben", &ben, &d), Access::Read);
            assert_eq!(decide("a-ana", &leader, &d), Access::Read);
            assert_eq!(decide("a-admin", &admin, &d), Access::ReadWrite);
        }
    }

    #[test]
    fn a_teams_announcements_are_posted_by_its_leader_and_read_by_the_team() {
        let ben = account(Role::Partner, Some("p-ben"), &[]);
        let ana = account(Role::TeamLeader, Some("p-ana"), &["p-ben"]);
        let cleo = account(Role::Partner, Some("p-cleo"), &[]);
        let mut news = doc(DocKind::Messages, None, &["a-ana", "a-ben"]);
        news.channel.members_post = false;
        news.channel.posters = HashSet::from(["a-ana".to_owned()]);
        assert_eq!(decide("a-ana", &ana, &news), Access::ReadWrite);
        assert_eq!(decide("a-ben", &ben, &news), Access::Read);
        assert_eq!(decide("a-cleo", &cleo, &news), Access::None);
        // A leader moved out of the team (no longer a member) posts no more.
        news.channel.members.remove("a-ana");
        assert_eq!(decide("a-ana", &ana, &news), Access::None);
    }
}
