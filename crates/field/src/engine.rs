//! What the commands do: a samod repo over the local store, the partner's
//! documents found in it (or fetched once from the server), edits made
//! and projected into the local tables, and syncs with the server.
//!
//! Every edit is stored before the command returns: samod's `stop` waits
//! for its storage tasks, and the store commits each write durably.

use std::time::Duration;

use automerge::ReadDoc;
use futures::StreamExt;
use model::{PipelineEdit, Timestamp};
use rusqlite::OptionalExtension;
use samod::{BackoffConfig, DocHandle, DocumentId, PeerId, Repo};

use crate::{
    local,
    session::{Home, Session, create_private_dir},
    store::Store,
};

/// The documents a field client keeps: the partner's pipeline (read and
/// written) and account view (read).
pub const PIPELINE: &str = "pipeline";
pub const ACCOUNT_VIEW: &str = "account_view";
const KEPT_KINDS: [&str; 2] = [PIPELINE, ACCOUNT_VIEW];

/// How long a one-off sync waits for the server to answer at all.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);
/// A one-off sync's tries at connecting: a refused connection (no network,
/// the server down) is said within about three seconds, not after the
/// whole wait; `--watch` tries forever instead.
const ONE_OFF_BACKOFF: BackoffConfig = BackoffConfig {
    initial_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(2),
    max_retries: Some(4),
};
/// How often a long exchange says it goes on.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// How long an exchange waits with nothing arriving before it gives up.
const EXCHANGE_IDLE: Duration = Duration::from_secs(120);

/// The local tables beyond the projection's: when each document was last
/// synced, and at which heads.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS synced (
        doc_id TEXT PRIMARY KEY NOT NULL,
        heads TEXT NOT NULL,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
";

#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the local store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("this account has no {0} document; is it a partner account?")]
    NoDocument(&'static str),
    #[error("there is no local copy of your {0} yet: run `portal-field sync` once while online")]
    NoLocalCopy(&'static str),
    #[error("{0}")]
    Model(#[from] model::ModelError),
    #[error(transparent)]
    Project(#[from] local::ProjectError),
    #[error(
        "the server at {server} cannot be reached ({why}); your changes are kept here and go out at the next sync"
    )]
    Unreachable { server: String, why: String },
    #[error("the session has ended (the server said {0}): run `portal-field sign-in` again")]
    SessionEnded(u16),
    #[error(
        "nothing of the {0} arrived for {1:?}; your changes are kept here: run `portal-field sync` again"
    )]
    Slow(String, Duration),
    #[error("stopped before the server answered; your changes are kept here")]
    Stopped,
    #[error("{0}")]
    Other(String),
}

/// The field client over its home: the session and the store.
pub struct Field {
    pub session: Session,
    pub store: Store,
}

impl Field {
    /// Opens the store of the signed-in session.
    pub fn open(home: &Home) -> Result<Field, FieldError> {
        let session = home.load()?;
        create_private_dir(&home.data).map_err(|e| {
            FieldError::Other(format!("cannot create {}: {e}", home.data.display()))
        })?;
        let schema = format!("{}{SCHEMA}", local::SCHEMA);
        let store = Store::open(&home.store_file(), &schema)?;
        Ok(Field { session, store })
    }

    /// The partner whose pipeline this is (an account without one has no
    /// leads to keep).
    pub fn owner(&self) -> Result<String, FieldError> {
        self.session
            .partner_id
            .clone()
            .ok_or(FieldError::NoDocument(PIPELINE))
    }

    async fn repo(&self) -> Repo {
        Repo::build_tokio()
            .with_storage(self.store.clone())
            .with_peer_id(PeerId::from(self.session.peer_id()))
            .load()
            .await
    }

    fn document_id(&self, kind: &'static str) -> Result<DocumentId, FieldError> {
        self.session
            .document(kind)
            .ok_or(FieldError::NoDocument(kind))?
            .parse()
            .map_err(|_| FieldError::NoDocument(kind))
    }

    /// Makes `edit` on the pipeline, stores it and projects it, in one
    /// transaction (`local::edit_stored_pipeline`); works with no network.
    pub async fn edit(&self, edit: PipelineEdit) -> Result<(), FieldError> {
        let doc_id = self.document_id(PIPELINE)?.to_string();
        let owner = self.owner()?;
        let now = Timestamp(chrono::Utc::now().timestamp_millis());
        let projected = self
            .store
            .call(move |c| {
                local::edit_stored_pipeline(c, &doc_id, &owner, |doc| edit.apply(doc, now))
            })
            .await?
            .map_err(|e| match e {
                local::ProjectError::Empty => FieldError::NoLocalCopy(PIPELINE),
                other => other.into(),
            })?;
        say_projected(&projected);
        Ok(())
    }

    /// Projects the pipeline, as stored, into the local tables; the heads
    /// projected.
    async fn project(&self) -> Result<String, FieldError> {
        let doc_id = self.document_id(PIPELINE)?.to_string();
        let owner = self.owner()?;
        let projected = self
            .store
            .call(move |c| local::project_stored_pipeline(c, &doc_id, &owner))
            .await??;
        say_projected(&projected);
        Ok(projected.heads)
    }

    /// Takes into `doc` what other processes stored of it since it was
    /// loaded (a `lead add` while this one watches); whether there was any.
    async fn take_stored(&self, doc: &DocHandle) -> Result<bool, FieldError> {
        let id = doc.document_id().to_string();
        let (mut stored, damaged) = self
            .store
            .call(move |c| local::stored_document(c, &id))
            .await??;
        say_damaged(&damaged);
        let news = doc.with_document(|held| {
            let missing = stored
                .get_heads()
                .iter()
                .any(|h| held.get_change_by_hash(h).is_none());
            if missing {
                held.merge(&mut stored).map(|_| true)
            } else {
                Ok(false)
            }
        });
        news.map_err(|e| FieldError::Model(e.into()))
    }

    /// The account view from the local store.
    pub async fn account_view(&self) -> Result<model::AccountView, FieldError> {
        let doc = self.stored(ACCOUNT_VIEW).await?;
        Ok(model::AccountViewDoc::read(&doc)?)
    }

    /// The document of `kind` as the store holds it, with no repo: what
    /// a command reads.
    async fn stored(&self, kind: &'static str) -> Result<automerge::Automerge, FieldError> {
        let id = self.document_id(kind)?.to_string();
        let (doc, damaged) = self
            .store
            .call(move |c| local::stored_document(c, &id))
            .await??;
        say_damaged(&damaged);
        if doc.get_heads().is_empty() {
            return Err(FieldError::NoLocalCopy(kind));
        }
        Ok(doc)
    }

    /// Syncs every kept document once with the server; with `watch`, stays
    /// connected (redialing with backoff when the network drops) and
    /// projects what arrives, until interrupted. `progress` hears what
    /// happens, for the terminal.
    pub async fn sync(&self, watch: bool, progress: impl Fn(&str)) -> Result<Synced, FieldError> {
        let repo = self.repo().await;
        let result = self.sync_with(&repo, watch, &progress).await;
        repo.stop().await;
        // Everything received is stored now. The sync's own failure says
        // more than the listing's.
        let synced = result?;
        if self.document_id(PIPELINE).is_ok() {
            self.project().await?;
        }
        Ok(synced)
    }

    async fn sync_with(
        &self,
        repo: &Repo,
        watch: bool,
        progress: &impl Fn(&str),
    ) -> Result<Synced, FieldError> {
        let server = self.session.server.clone();
        let mut url = url::Url::parse(&server)
            .map_err(|e| FieldError::Other(format!("the server address {server}: {e}")))?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| FieldError::Other(format!("the server address {server}")))?;
        url.set_path("/sync");
        let mut dialer = client::BearerDialer::new(url, &self.session.token);
        if !self.session.affinity.is_empty() {
            dialer = dialer.with_affinity(&self.session.affinity);
        }
        // What waits to go out, counted before the connection can fetch
        // anything.
        let mut waiting = std::collections::HashMap::new();
        for kind in KEPT_KINDS {
            let pending = match self.stored(kind).await {
                Ok(doc) => self.pending(kind, &doc).await,
                Err(_) => 0,
            };
            waiting.insert(kind, pending);
        }
        progress(&format!("connecting to {server}"));
        let backoff = if watch {
            BackoffConfig::default()
        } else {
            ONE_OFF_BACKOFF
        };
        let handle = repo
            .dial(backoff, std::sync::Arc::new(dialer))
            .map_err(|_| FieldError::Other("the repo stopped".into()))?;
        let mut events = handle.events();
        // Ctrl-C is how a watch stops. A one-off sync keeps the default (the
        // process ends; SQLite's transactions leave the store whole).
        let mut interrupted = watch.then(|| Box::pin(tokio::signal::ctrl_c()));
        // A watch waits for the network as long as it takes.
        let wait = if watch { Duration::MAX } else { CONNECT_WITHIN };
        let established = tokio::select! {
            established = tokio::time::timeout(wait, handle.established()) => established,
            () = ctrl_c(&mut interrupted) => return Err(FieldError::Stopped),
        };
        match established {
            Ok(Ok(_)) => {}
            Ok(Err(failed)) => return Err(self.failed(&server, failed)),
            Err(_) => {
                return Err(FieldError::Unreachable {
                    server,
                    why: format!("no answer within {CONNECT_WITHIN:?}"),
                });
            }
        }
        let mut synced = Synced::default();
        let mut handles = Vec::new();
        // The heads last recorded as the server's, by kind.
        let mut marked = std::collections::HashMap::new();
        for kind in KEPT_KINDS {
            let Ok(id) = self.document_id(kind) else {
                continue;
            };
            let before = waiting.get(kind).copied().unwrap_or(0);
            progress(&format!("{kind}: exchanging ({before} change(s) to send)"));
            let exchange = async {
                let doc = repo.find(id.clone()).await.ok().flatten()?;
                let heads = in_sync(&doc).await?;
                Some((doc, heads))
            };
            tokio::pin!(exchange);
            // A long exchange (a first sync of a big pipeline, a slow
            // network) says every few seconds that it goes on, and how
            // much of the document is kept here so far; one where nothing
            // arrives for EXCHANGE_IDLE gives up.
            let started = tokio::time::Instant::now();
            let mut every = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
            let mut kept = self.kept_bytes(id.to_string()).await.unwrap_or(0);
            let mut moved = started;
            let (doc, heads) = loop {
                tokio::select! {
                    done = &mut exchange => break done.ok_or_else(|| FieldError::Other(format!(
                        "the server has no {kind} document for this account"
                    )))?,
                    _ = every.tick() => {
                        let now = self.kept_bytes(id.to_string()).await.unwrap_or(kept);
                        if now != kept {
                            (kept, moved) = (now, tokio::time::Instant::now());
                        } else if moved.elapsed() >= EXCHANGE_IDLE {
                            return Err(FieldError::Slow(kind.to_owned(), EXCHANGE_IDLE));
                        }
                        progress(&format!(
                            "{kind}: still exchanging after {} s; {:.1} KiB kept here",
                            started.elapsed().as_secs(),
                            kept as f64 / 1024.0
                        ));
                    }
                    event = events.next() => self.dialer_event(&handle, &server, event, progress).await?,
                    () = ctrl_c(&mut interrupted) => return Err(FieldError::Stopped),
                }
            };
            self.mark_synced(id.to_string(), &heads).await?;
            marked.insert(kind, heads);
            synced.sent += before;
            synced.documents += 1;
            progress(&format!("{kind}: in sync"));
            handles.push((kind, doc));
        }
        if !watch {
            return Ok(synced);
        }
        progress("watching for changes; Ctrl-C stops");
        let mut streams = futures::stream::select_all(
            handles
                .iter()
                .map(|(kind, doc)| doc.changes().map(move |_| (*kind, doc.clone()))),
        );
        let mut dirty = false;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = streams.next() => {
                    let Some((kind, _)) = changed else { return Ok(synced) };
                    // Projected, and what the server has recorded, at a
                    // tick: samod stores a change just after it is
                    // applied, and says the server has it when it answers.
                    dirty |= kind == PIPELINE;
                    progress(&format!("{kind}: changed"));
                }
                _ = tick.tick() => {
                    for (kind, doc) in &handles {
                        if self.take_stored(doc).await? {
                            progress(&format!("{kind}: a change made here goes out"));
                        }
                        let heads = server_heads(doc);
                        if heads.is_some() && marked.get(kind) != heads.as_ref() {
                            let heads = heads.unwrap_or_default();
                            self.mark_synced(doc.document_id().to_string(), &heads).await?;
                            marked.insert(kind, heads);
                        }
                    }
                    if dirty {
                        // Until what is stored is what is held.
                        let projected = self.project().await?;
                        dirty = handles
                            .iter()
                            .find(|(kind, _)| *kind == PIPELINE)
                            .is_some_and(|(_, doc)| {
                                doc.with_document(|d| local::heads_of(d)) != projected
                            });
                    }
                }
                event = events.next() => self.dialer_event(&handle, &server, event, progress).await?,
                () = ctrl_c(&mut interrupted) => return Ok(synced),
            }
        }
    }

    /// What the connection's events mean for a sync under way: said, or
    /// the error that ends it (the session ended, the dialer gave up).
    async fn dialer_event(
        &self,
        handle: &samod::DialerHandle<client::Refused>,
        server: &str,
        event: Option<samod::DialerEvent>,
        progress: &impl Fn(&str),
    ) -> Result<(), FieldError> {
        match event {
            Some(samod::DialerEvent::Connected { .. }) => progress("connected"),
            Some(samod::DialerEvent::Disconnected { .. }) => {
                progress("disconnected; trying again with backoff");
            }
            Some(samod::DialerEvent::Reconnecting { attempt }) => {
                progress(&format!("reconnecting (attempt {attempt})"));
            }
            None => return Err(FieldError::Other("the connection ended".into())),
            Some(samod::DialerEvent::PermanentFailure | samod::DialerEvent::MaxRetriesReached) => {
                // The dialer keeps why; asking it says it.
                return Err(match handle.established().await {
                    Err(failed) => self.failed(server, failed),
                    Ok(_) => FieldError::Other("the connection ended".into()),
                });
            }
        }
        Ok(())
    }

    /// Why the dialer gave up, in words.
    fn failed(&self, server: &str, failed: samod::DialerFailed<client::Refused>) -> FieldError {
        match failed {
            samod::DialerFailed::MaxRetriesReached => FieldError::Unreachable {
                server: server.to_owned(),
                why: format!(
                    "{} tries refused",
                    ONE_OFF_BACKOFF.max_retries.unwrap_or(0) + 1
                ),
            },
            samod::DialerFailed::PermanentFailure(refused) => match *refused {
                client::Refused::Session(status) => FieldError::SessionEnded(status),
                ref other => FieldError::Other(other.to_string()),
            },
        }
    }

    /// The bytes of `doc_id`'s chunks in the store.
    async fn kept_bytes(&self, doc_id: String) -> Result<i64, FieldError> {
        let (lo, hi) = local::chunk_range(&doc_id)?;
        Ok(self
            .store
            .call(move |c| {
                c.query_row(
                    "SELECT coalesce(sum(length(data)), 0) FROM chunks WHERE key >= ?1 AND key < ?2",
                    [lo, hi],
                    |r| r.get(0),
                )
            })
            .await??)
    }

    /// Records `heads` as what the server has of `doc_id`.
    async fn mark_synced(
        &self,
        doc_id: String,
        heads: &[automerge::ChangeHash],
    ) -> Result<(), FieldError> {
        let mut heads: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        heads.sort();
        let heads = heads.join(",");
        let at = local::stamp(chrono::Utc::now());
        self.store
            .call(move |c| {
                c.execute(
                    "INSERT INTO synced (doc_id, heads, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (doc_id) DO UPDATE SET heads = excluded.heads, at = excluded.at",
                    [&doc_id, &heads, &at],
                )
            })
            .await??;
        Ok(())
    }

    /// The heads the server had at the last sync of `doc_id`, and when.
    async fn last_sync(&self, doc_id: String) -> Result<Option<(String, String)>, FieldError> {
        Ok(self
            .store
            .call(move |c| {
                c.query_row(
                    "SELECT heads, at FROM synced WHERE doc_id = ?1",
                    [doc_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
            })
            .await??)
    }

    /// Changes of the document of `kind` the server has not acknowledged.
    async fn pending(&self, kind: &'static str, doc: &automerge::Automerge) -> usize {
        let Ok(id) = self.document_id(kind) else {
            return 0;
        };
        let synced = self.last_sync(id.to_string()).await.ok().flatten();
        let heads: Vec<automerge::ChangeHash> = synced
            .map(|(heads, _)| heads)
            .unwrap_or_default()
            .split(',')
            .filter_map(|h| h.parse().ok())
            .collect();
        // Heads the document does not hold (never synced): everything.
        let known: Vec<_> = heads
            .into_iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        doc.get_changes(&known).len()
    }

    /// What `status` shows.
    pub async fn status(&self) -> Result<Status, FieldError> {
        let mut status = Status {
            account: self.session.account_id.clone(),
            server: self.session.server.clone(),
            session_expires_at: self.session.expires_at.clone(),
            documents: Vec::new(),
        };
        for kind in KEPT_KINDS {
            let Ok(id) = self.document_id(kind) else {
                continue;
            };
            // The document read once for both.
            let stored = self.stored(kind).await.ok();
            let held = stored.is_some();
            let pending = match &stored {
                Some(doc) => self.pending(kind, doc).await,
                None => 0,
            };
            let last_sync = self.last_sync(id.to_string()).await?.map(|(_, at)| at);
            status.documents.push(DocumentStatus {
                kind,
                held,
                changes_waiting: pending,
                last_sync,
            });
        }
        Ok(status)
    }
}

/// Says on standard error which stored chunks did not read (set aside in
/// `damaged_chunks` as they were found).
fn say_damaged(damaged: &[String]) {
    if let Some(first) = damaged.first() {
        eprintln!(
            "portal-field: {} stored piece(s) of a document do not read and were set aside \
             (first: {}); `portal-field sync` fetches again what the server has",
            damaged.len(),
            crate::shown(first, 200)
        );
    }
}

/// Until the server (whichever connection to it is up: the exchange
/// outlives a reconnect) has every change here and this copy has every
/// change it advertised; the heads both then hold. `None` if the document
/// is dropped.
async fn in_sync(doc: &DocHandle) -> Option<Vec<automerge::ChangeHash>> {
    loop {
        let (peers, mut changes) = doc.peers();
        let done = doc.with_document(|d| {
            let heads = d.get_heads();
            peers
                .values()
                .any(|p| {
                    p.shared_heads.as_ref() == Some(&heads)
                        && p.their_heads.as_ref().is_some_and(|theirs| {
                            theirs.iter().all(|h| d.get_change_by_hash(h).is_some())
                        })
                })
                .then_some(heads)
        });
        if done.is_some() {
            return done;
        }
        changes.next().await?;
    }
}

/// The heads the server is known to hold of `doc`: what a connection to
/// it shares with this copy, once the server has answered on it (a new
/// connection shares nothing until then, which is not "the server has
/// nothing").
fn server_heads(doc: &DocHandle) -> Option<Vec<automerge::ChangeHash>> {
    doc.peers()
        .0
        .into_values()
        .filter(|p| p.their_heads.is_some())
        .find_map(|p| p.shared_heads)
}

/// Ctrl-C, when it is listened for (`Some`); never otherwise.
async fn ctrl_c(
    interrupted: &mut Option<std::pin::Pin<Box<impl Future<Output = std::io::Result<()>>>>>,
) {
    match interrupted {
        Some(signal) => {
            let _ = signal.await;
        }
        None => std::future::pending().await,
    }
}

/// Says on standard error what a projection could not do: damaged chunks
/// skipped, entries that are no rows.
fn say_projected(projected: &local::Projected) {
    say_damaged(&projected.damaged);
    for (key, why) in projected.rejected.iter().take(10) {
        eprintln!(
            "portal-field: lead {} is not listed: {}",
            crate::shown(key, 64),
            crate::shown(why, 200)
        );
    }
}

/// What one sync did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Synced {
    pub documents: usize,
    /// Local changes the server had not acknowledged before.
    pub sent: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct Status {
    pub account: String,
    pub server: String,
    pub session_expires_at: String,
    pub documents: Vec<DocumentStatus>,
}

#[derive(Debug, serde::Serialize)]
pub struct DocumentStatus {
    pub kind: &'static str,
    /// Whether a copy is kept here.
    pub held: bool,
    pub changes_waiting: usize,
    pub last_sync: Option<String>,
}
