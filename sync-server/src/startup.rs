//! The composition root: the only place that knows every module. It parses
//! nothing (settings come parsed from `main`), makes the event channels,
//! starts the platform and each module's workers, builds [`AppState`] from
//! the modules' own states and merges their routes.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::net::TcpListener;

use crate::{
    account_view, accounts, chat, events, http, leaderboards, money, notifications, pipeline,
    platform, referrals, resources, seed, shop, state::AppState, team, training,
};

/// Every setting of the server; each is a flag and an environment variable.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "sync-server", about = "Partner portal sync server")]
pub struct Settings {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Postgres connection URL, e.g. postgres://user@127.0.0.1:5432/portal
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Directory of the built PWA (index.html, wasm, service worker).
    #[arg(long, env = "WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// Demo data to load at start when its partners are not there yet.
    #[arg(long, env = "SEED_FIXTURES")]
    pub seed: Option<PathBuf>,
    /// A demo training catalog to publish at start (a directory with
    /// `catalog.json` and its files; see `training/seed.rs`); tracks there
    /// are already are left alone.
    #[arg(long, env = "SEED_TRAINING")]
    pub seed_training: Option<PathBuf>,
    /// A storefront catalog to load at start (a directory with
    /// `catalog.json` and its pictures; `fixtures/shop`).
    #[arg(long, env = "SEED_SHOP")]
    pub seed_shop: Option<PathBuf>,
    /// A resources library to load at start (a directory with
    /// `catalog.json` and its files; `fixtures/resources`).
    #[arg(long, env = "SEED_RESOURCES")]
    pub seed_resources: Option<PathBuf>,
    /// Days a click on a referral link can win an order (and the life of
    /// the cookie that remembers it).
    #[arg(long, env = "REFERRAL_WINDOW_DAYS", default_value_t = 30)]
    pub referral_window_days: u32,
    /// Which click wins an order when a buyer clicked several partners'
    /// links: the first or the last (a coupon typed wins over both).
    #[arg(
        long,
        env = "ATTRIBUTION_MODEL",
        value_enum,
        default_value = "last-click"
    )]
    pub attribution_model: referrals::attribution::Model,
    /// Largest WebSocket message accepted on /sync, in bytes. The largest
    /// a real client sends is a first sync of a whole document made
    /// offline: a pipeline of 1,000 leads with notes is 68 KiB
    /// (`expansion.rs`'s `the_largest_real_messages_fit`; the reference JS
    /// client, `@automerge/automerge`, sends the same storage format for
    /// the same document), so 1 MiB leaves room for many times that, or
    /// for notes that compress worse.
    #[arg(long, env = "MAX_SYNC_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_sync_message_bytes: usize,
    /// Bytes the Automerge data of one /sync message may inflate to
    /// (compressed changes and columns).
    #[arg(long, env = "MAX_SYNC_EXPANDED_BYTES",
          default_value_t = platform::expansion::Limits::default().bytes)]
    pub max_sync_expanded_bytes: usize,
    /// Changes one /sync message may carry.
    #[arg(long, env = "MAX_SYNC_CHANGES",
          default_value_t = platform::expansion::Limits::default().changes)]
    pub max_sync_changes: u64,
    /// Operations one /sync message may carry (rows of its widest columns,
    /// counted before anything is decoded).
    #[arg(long, env = "MAX_SYNC_OPS", default_value_t = platform::expansion::Limits::default().ops)]
    pub max_sync_ops: u64,
    /// Open /sync sockets one account may have. A partner with a phone, a
    /// tablet and a laptop needs three, one more each while a dropped
    /// socket is noticed (`--sync-keepalive-secs`) and redialed, and a tab
    /// or two more: 8.
    #[arg(long, env = "MAX_SOCKETS_PER_ACCOUNT", default_value_t = 8)]
    pub max_sockets_per_account: usize,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is
    /// not served.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Messages a /sync connection may send in one burst.
    #[arg(long, env = "SYNC_BURST", default_value_t = 2000)]
    pub sync_burst: u32,
    /// Messages per second a /sync connection may sustain.
    #[arg(long, env = "SYNC_RATE_PER_SEC", default_value_t = 500)]
    pub sync_rate_per_sec: u32,
    /// Seconds a new /sync connection has to send its first message.
    #[arg(long, env = "SYNC_HANDSHAKE_SECS", default_value_t = 10)]
    pub sync_handshake_secs: u64,
    /// Seconds of silence after which a /sync connection is pinged; one
    /// that stays silent as long again is closed (1001), giving back its
    /// place among its account's sockets.
    #[arg(long, env = "SYNC_KEEPALIVE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub sync_keepalive_secs: u64,
    /// Documents held in memory before idle ones are let go (see
    /// `residency.rs`: a new generation takes over and reloads on demand).
    #[arg(long, env = "MAX_RESIDENT_DOCS", default_value_t = 50_000)]
    pub max_resident_docs: usize,
    /// Seconds a generation of documents lives at least, so a working set
    /// larger than the cap cannot make the server churn.
    #[arg(long, env = "MIN_GENERATION_SECS", default_value_t = 60)]
    pub min_generation_secs: u64,
    /// Independent samod repos the /sync connections are spread over, by
    /// team (see `residency.rs`): one repo's work on each event grows with
    /// its connections times its documents, and shards run in parallel.
    /// Each holds at least 1,000 documents of `--max-resident-docs`, so a
    /// small cap runs fewer shards. 32 rather than 16 (docs/performance.md,
    /// 1,000 clients): samod's hub work per event is connections times
    /// documents of its repo, 28% of the server's CPU at 16 shards, and
    /// each connection holds a state per document of its repo; a document
    /// opened across teams is held once per shard that opened it, which
    /// is what stops us going higher.
    #[arg(long, env = "SYNC_SHARDS", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub sync_shards: u16,
    /// Seconds between comparisons of the documents held in memory with
    /// what is stored, which repair what a lost notice from another node
    /// missed (`platform/cluster.rs`).
    #[arg(long, env = "CLUSTER_REPAIR_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cluster_repair_secs: u64,
    /// Seconds between passes, on one node of those over the database,
    /// that hand the projections every document written since the last:
    /// what a node stored and died before projecting is projected by
    /// another within this (`platform/cluster.rs`'s `rescan`).
    #[arg(long, env = "CLUSTER_RESCAN_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cluster_rescan_secs: u64,
    /// Proxies in front of the server whose `X-Forwarded-For` says which
    /// client a request comes from (comma-separated addresses, e.g.
    /// `127.0.0.1` for the HAProxy of `deploy/haproxy.cfg` on the same
    /// machine): the sign-in and application limits count by it. From
    /// any other peer the header is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Days a session lasts after sign-in.
    #[arg(long, env = "SESSION_DAYS", default_value_t = 30)]
    pub session_days: u32,
    /// The programme's time zone (an IANA name): where its months,
    /// quarters and years begin, for every figure "in the period".
    #[arg(long, env = "PROGRAMME_TIME_ZONE", default_value = "UTC")]
    pub programme_time_zone: String,
    /// Days a commission line is held (pending) before it is available.
    #[arg(long, env = "COMMISSION_HOLD_DAYS", default_value_t = 30)]
    pub commission_hold_days: u32,
    /// The smallest available balance a payout run pays, in minor units of
    /// the balance's currency.
    #[arg(long, env = "PAYOUT_MINIMUM_MINOR", default_value_t = 5000)]
    pub payout_minimum_minor: i64,
    /// Seconds between checks that the sessions of open /sync sockets are
    /// still valid (sign-out closes its sockets at once; expiry and
    /// revocations made elsewhere are found by this check).
    #[arg(long, env = "SESSION_SWEEP_SECS", default_value_t = 5)]
    pub session_sweep_secs: u64,
    /// Mark the session cookie `Secure`: set this when clients reach the
    /// server over TLS (TLS ends in front of the server, which cannot tell).
    /// It also says the app's origin is `https://<host>`: with it, a
    /// cookie-authenticated request must come from there, without it from
    /// `http://<host>`.
    #[arg(long, env = "SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Hosts a device's push subscription may name (comma-separated; a
    /// host's subdomains are allowed too): the browsers' push services.
    /// The server posts notifications to no other address.
    #[arg(
        long,
        env = "PUSH_HOSTS",
        value_delimiter = ',',
        default_value = "fcm.googleapis.com,updates.push.services.mozilla.com,notify.windows.com,push.apple.com"
    )]
    pub push_hosts: Vec<String>,
    /// The longest one request to a push service may take, in ms.
    #[arg(long, env = "PUSH_TIMEOUT_MS", default_value_t = 10_000)]
    pub push_timeout_ms: u64,
    /// Push messages sent at once.
    #[arg(long, env = "PUSH_CONCURRENCY", default_value_t = 64)]
    pub push_concurrency: usize,
    /// Who push services may contact about this server's messages (the
    /// VAPID `sub`: a `mailto:` or an `https:` address; Apple refuses a
    /// made-up one).
    #[arg(
        long,
        env = "VAPID_SUBJECT",
        default_value = "mailto:partners@portal.example"
    )]
    pub vapid_subject: String,
    /// The app's public origin (`https://partners.example`): a push
    /// message's click opens an address there. Without it, messages name
    /// only the app's screen, which the app's service worker opens.
    #[arg(long, env = "PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// Where the server keeps files (blobs) on disk.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where blobs live: `fs` (under `--data-dir`), `memory` (gone at
    /// exit: tests and trials), or `s3` (a bucket, `--s3-bucket`).
    #[arg(long, env = "BLOB_STORE", default_value = "fs")]
    pub blob_store: BlobStoreKind,
    /// With `--blob-store s3`: the bucket.
    #[arg(long, env = "S3_BUCKET", default_value = "")]
    pub s3_bucket: String,
    /// With `--blob-store s3`: the bucket's region; else as the AWS tools
    /// find it.
    #[arg(long, env = "AWS_REGION", default_value = "")]
    pub s3_region: String,
    /// With `--blob-store s3`: credentials; else as the AWS tools find
    /// them (a role's included).
    #[arg(
        long,
        env = "AWS_ACCESS_KEY_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_access_key_id: String,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_access_key: String,
    /// With `--blob-store s3`: an S3-compatible service's URL (MinIO,
    /// Ceph...); empty for AWS. Plain http only on loopback.
    #[arg(long, env = "S3_ENDPOINT", default_value = "")]
    pub s3_endpoint: String,
    /// The largest file an admin may upload, in MiB.
    #[arg(long, env = "MAX_BLOB_MIB", default_value_t = 512)]
    pub max_blob_mib: u64,
    /// Exam attempts a partner has for each exam.
    #[arg(long, env = "EXAM_ATTEMPTS", default_value_t = 3)]
    pub exam_attempts: u32,
    /// Hours after a failed exam before the next attempt is graded.
    #[arg(long, env = "EXAM_COOLDOWN_HOURS", default_value_t = 24)]
    pub exam_cooldown_hours: u32,
    /// Seconds between two passes keeping channels in step with accounts
    /// (a team's members, next month's message documents).
    #[arg(long, env = "CHAT_SWEEP_SECS", default_value_t = 5)]
    pub chat_sweep_secs: u64,
    /// Messages in a channel's document of the month past which the next
    /// ones go into a new document of that month, so that a busy channel
    /// syncs documents of a few thousand messages, not one that grows all
    /// month.
    #[arg(long, env = "CHAT_SPLIT_AT", default_value_t = 3000)]
    pub chat_split_at: u32,
}

/// How often the views' leader starts its workers again, each with a pass
/// over everyone: what makes up for events a node had gathered and not
/// yet published when it died.
const VIEWS_CATCH_UP: Duration = Duration::from_secs(10 * 60);

/// While this node leads the views: listens to every node's events,
/// starts the workers (`start` spawns them into a set of its own), and
/// hands on what it hears. Returns when the listening connection broke
/// (notices may have been lost), when a worker ended, and every
/// [`VIEWS_CATCH_UP`]: dropping the set ends the workers, and the next call
/// starts them again, each with a pass over everyone.
async fn lead_views(
    pool: PgPool,
    start: impl FnOnce(&mut tokio::task::JoinSet<()>) -> events::relay::Workers,
) {
    let mut listener = platform::cluster::listener_on(&pool, events::relay::CHANNEL).await;
    let mut running = tokio::task::JoinSet::new();
    let workers = start(&mut running);
    let catch_up = tokio::time::sleep(VIEWS_CATCH_UP);
    tokio::pin!(catch_up);
    loop {
        let heard = tokio::select! {
            heard = listener.try_recv() => heard,
            () = &mut catch_up => return,
            ended = running.join_next() => {
                tracing::error!(?ended, "a view worker ended; starting them again");
                return;
            }
        };
        match heard {
            Ok(Some(notice)) => match events::relay::Relayed::decode(notice.payload()) {
                Some(relayed) => workers.hand_on(relayed),
                None => tracing::warn!(payload = notice.payload(), "not an event notice"),
            },
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "the events' listener failed; starting the views again");
                return;
            }
        }
    }
}

/// Where blobs live (`--blob-store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlobStoreKind {
    Fs,
    Memory,
    /// An S3-compatible bucket: `--s3-bucket`, `--s3-endpoint`.
    S3,
}

/// A started server: bound, migrated, seeded, serving.
pub struct Server {
    pub local_addr: SocketAddr,
    residency: Arc<platform::residency::Residency>,
    serve: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Serves until SIGINT or SIGTERM, then flushes documents to storage.
    /// `ready` runs once both signals are caught, so whoever it tells the
    /// server is up (the "listening on" line, which scripts wait for before
    /// stopping it) cannot kill it with a signal it does not handle yet.
    pub async fn run_until_signal(self, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        ready(self.local_addr);
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = term.recv() => {},
            res = self.serve => { res??; }
        }
        tracing::info!("shutting down");
        self.residency.stop().await;
        Ok(())
    }

    /// Stops serving at once and flushes documents to storage: a server
    /// started in-process (the integration tests) ends here. The workers
    /// end with the runtime that runs them.
    pub async fn stop(self) {
        self.serve.abort();
        self.residency.stop().await;
    }
}

pub async fn connect_db(url: &str) -> anyhow::Result<PgPool> {
    let options: sqlx::postgres::PgConnectOptions = url.parse().context("the database URL")?;
    // No JIT compilation: every statement here is short, but the planner
    // prices a join on key ranges (a batch of documents' chunks) at
    // millions of rows, and above `jit_above_cost` Postgres spent 250 ms of
    // CPU compiling each such statement to run it in 6 ms. Measured with
    // `cargo xtask load --nodes 3` (docs/performance.md, 2026-12-05).
    let options = options.options([("jit", "off")]);
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("connecting to Postgres")
}

/// Applies the migrations in `schema/` that the database has not seen.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("../schema")
        .run(pool)
        .await
        .context("applying migrations in schema/")
}

pub async fn start(settings: Settings) -> anyhow::Result<Server> {
    let pool = connect_db(&settings.database_url).await?;
    migrate(&pool).await?;
    let zone = platform::periods::Zone::parse(&pool, &settings.programme_time_zone)
        .await
        .context("--programme-time-zone")?;

    let (changed_tx, mut changed_rx) = events::channel::<events::DocumentStored>();
    let storage = platform::storage::PgStorage::new(pool.clone(), changed_tx.clone());
    let node = storage.node();
    // A stored document goes to the projection of its kind; one whose kind
    // is not known (not registered yet, or the database could not say) to
    // every projection, each of which checks. The kinds the server writes
    // itself are projected by nobody.
    let (pipeline_changed_tx, pipeline_changed_rx) = events::channel();
    let pipeline_catch_up = pipeline_changed_tx.clone();
    let (training_changed_tx, training_changed_rx) = events::channel();
    let (chat_changed_tx, chat_changed_rx) = events::channel();
    let (referrals_changed_tx, referrals_changed_rx) = events::channel();
    let kinds = platform::doc_kinds::DocKinds::new(pool.clone());
    tokio::spawn(async move {
        use sync::DocKind;
        while let Some(stored) = changed_rx.recv().await {
            match kinds.of(&stored.0).await {
                Some(DocKind::Pipeline | DocKind::Note) => pipeline_changed_tx.send(stored),
                Some(DocKind::Training) => training_changed_tx.send(stored),
                Some(DocKind::Messages) => chat_changed_tx.send(stored),
                Some(DocKind::Referrals) => referrals_changed_tx.send(stored),
                Some(
                    DocKind::AccountView
                    | DocKind::Catalog
                    | DocKind::Channel
                    | DocKind::Inbox
                    | DocKind::Reads
                    | DocKind::Team
                    | DocKind::Standings,
                ) => {}
                None => {
                    chat_changed_tx.send(stored.clone());
                    referrals_changed_tx.send(stored.clone());
                    training_changed_tx.send(stored.clone());
                    pipeline_changed_tx.send(stored);
                }
            }
        }
    });
    let policy = platform::policy::AccessPolicy::new(
        pool.clone(),
        Arc::new(chat::directory::ChatDirectory {
            accounts: accounts::directory::PgDirectory { pool: pool.clone() },
        }),
        node.clone(),
    );
    policy.follow_other_nodes();
    let residency = platform::residency::Residency::start(
        storage,
        policy.clone(),
        platform::residency::Limits {
            max_resident_docs: settings.max_resident_docs,
            min_generation_age: Duration::from_secs(settings.min_generation_secs),
            shards: settings.sync_shards.into(),
        },
    )
    .await;

    platform::cluster::follow(
        pool.clone(),
        node,
        &residency,
        Duration::from_secs(settings.cluster_repair_secs),
    );

    {
        let (pool, stored) = (pool.clone(), changed_tx.clone());
        let every = Duration::from_secs(settings.cluster_rescan_secs);
        tokio::spawn(platform::leader::while_leading(
            pool.clone(),
            "rescan",
            move || platform::cluster::rescan(pool.clone(), stored.clone(), every),
        ));
    }
    let hashing = accounts::passwords::Hashing::for_this_machine();
    if let Some(path) = &settings.seed {
        let added = seed::load_fixtures(&pool, path, &changed_tx, &hashing)
            .await
            .with_context(|| format!("loading fixtures from {}", path.display()))?;
        tracing::info!(partners = added, "seeded demo data");
    }

    // Partners whose earnings moved (a decision in the ledger, a deal filed
    // by the projection): their account views are rewritten.
    let (earnings_tx, earnings_rx) = events::channel();
    let figures_tx = earnings_tx.clone();
    {
        let pool = pool.clone();
        tokio::spawn(platform::leader::while_leading(
            pool.clone(),
            "follow-up reminders",
            move || pipeline::reminders::run(pool.clone()),
        ));
    }
    // Whose work was projected or whose figures moved: the team views
    // that show them are computed again.
    let (activity_tx, activity_rx) = events::channel();
    let applicants_tx = activity_tx.clone();
    {
        // Documents that moved while no node projected: one node looks.
        let (pool, pipeline_changed) = (pool.clone(), pipeline_catch_up);
        tokio::spawn(platform::leader::while_leading(
            pool.clone(),
            "pipeline catch-up",
            move || pipeline::projection::catch_up(pool.clone(), pipeline_changed.clone()),
        ));
    }
    tokio::spawn(pipeline::projection::run(
        pool.clone(),
        residency.clone(),
        pipeline_changed_rx,
        earnings_tx.clone(),
        activity_tx.clone(),
    ));
    let training = training::TrainingState {
        pool: pool.clone(),
        blobs: match settings.blob_store {
            BlobStoreKind::Fs => {
                platform::blobs::BlobStore::filesystem(&settings.data_dir.join("blobs"))
                    .with_context(|| format!("blob store under {}", settings.data_dir.display()))?
            }
            BlobStoreKind::Memory => platform::blobs::BlobStore::in_memory(),
            BlobStoreKind::S3 => platform::blobs::BlobStore::s3(&platform::blobs::S3Config {
                bucket: settings.s3_bucket.clone(),
                endpoint: settings.s3_endpoint.clone(),
                region: settings.s3_region.clone(),
                access_key_id: settings.s3_access_key_id.clone(),
                secret_access_key: settings.s3_secret_access_key.clone(),
            })
            .with_context(|| format!("the S3 bucket {:?}", settings.s3_bucket))?,
        },
        residency: residency.clone(),
        max_blob_bytes: settings.max_blob_mib.saturating_mul(1024 * 1024),
        public_origin: settings
            .public_origin
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/')
            .into(),
        figures: earnings_tx.clone(),
        signer: training::badges::Signer::load(&pool)
            .await
            .context("the certificates' signing key")?,
    };
    training::start(
        &training,
        training::projection::ExamPolicy {
            attempts: settings.exam_attempts.max(1),
            cooldown: chrono::Duration::hours(settings.exam_cooldown_hours.into()),
        },
        training_changed_rx,
        earnings_tx.clone(),
    )
    .await?;
    if let Some(dir) = &settings.seed_training {
        let published = training::seed::load(&training, dir)
            .await
            .with_context(|| format!("publishing the demo catalog of {}", dir.display()))?;
        tracing::info!(published, "seeded the demo training catalog");
    }
    let chat = chat::ChatState {
        pool: pool.clone(),
        residency: residency.clone(),
        policy: policy.clone(),
        blobs: training.blobs.clone(),
        split_at: settings.chat_split_at.max(1),
    };
    chat::start(
        &chat,
        Duration::from_secs(settings.chat_sweep_secs.max(1)),
        chat_changed_rx,
        earnings_tx.clone(),
    )
    .await
    .context("the chat's channels")?;
    referrals::start(&pool, referrals_changed_rx, earnings_tx.clone())
        .await
        .context("the referral links")?;
    let ledger = Arc::new(money::LedgerSettings {
        rules: rules::RulesConfig::default(),
        hold: chrono::Duration::days(settings.commission_hold_days.into()),
        payout_minimum_minor: settings.payout_minimum_minor,
        changed: earnings_tx,
    });
    // Every figure moved, on any node, reaches the account views, the team
    // views and the leaderboards, which run on one node at a time: this
    // node's events go to all of them through Postgres, and the leader
    // hands on what it hears.
    let (challenges_changed_tx, challenges_changed_rx) = events::channel();
    tokio::spawn(events::relay::publish(
        pool.clone(),
        events::relay::Local {
            figures: earnings_rx,
            activity: activity_rx,
            challenges: challenges_changed_rx,
        },
    ));
    {
        let (workers_pool, residency, zone) = (pool.clone(), residency.clone(), zone.clone());
        let rules = ledger.rules.clone();
        let start = move |running: &mut tokio::task::JoinSet<()>| {
            let pool = &workers_pool;
            let (views_tx, views_rx) = events::channel();
            let (boards_tx, boards_rx) = events::channel();
            let (challenges_tx, challenges_rx) = events::channel();
            let (activity_tx, activity_rx) = events::channel();
            running.spawn(leaderboards::standings::run(
                leaderboards::standings::StandingsWriter {
                    pool: pool.clone(),
                    residency: residency.clone(),
                    zone: zone.clone(),
                },
                boards_rx,
                challenges_rx,
            ));
            running.spawn(account_view::views::run(
                account_view::views::Views {
                    pool: pool.clone(),
                    residency: residency.clone(),
                    rules: rules.clone(),
                },
                views_rx,
            ));
            running.spawn(team::views::run(
                team::views::TeamViews {
                    pool: pool.clone(),
                    residency: residency.clone(),
                    rules: rules.clone(),
                    zone: zone.clone(),
                },
                activity_rx,
            ));
            events::relay::Workers {
                figures: vec![views_tx, boards_tx],
                activity: activity_tx,
                challenges: challenges_tx,
            }
        };
        let pool = pool.clone();
        tokio::spawn(platform::leader::while_leading(
            pool.clone(),
            "views",
            move || lead_views(pool.clone(), start.clone()),
        ));
    }
    let notifications = notifications::start(
        pool.clone(),
        residency.clone(),
        notifications::push::PushSettings {
            hosts: settings.push_hosts.clone(),
            timeout: Duration::from_millis(settings.push_timeout_ms.max(1)),
            subject: settings.vapid_subject.clone(),
            public_origin: settings
                .public_origin
                .as_deref()
                .map(|o| o.trim_end_matches('/').to_owned()),
            concurrency: settings.push_concurrency.max(1),
        },
    )
    .await?;
    let sessions = http::session::SessionSettings {
        lifetime: chrono::Duration::days(settings.session_days.into()),
        secure_cookies: settings.secure_cookies,
    };
    let live_sessions = http::live_sessions::LiveSessions::start(
        pool.clone(),
        Duration::from_secs(settings.session_sweep_secs.max(1)),
    );
    let attribution = referrals::attribution::Settings {
        window: chrono::Duration::days(settings.referral_window_days.into()),
        model: settings.attribution_model,
    };
    let click_key = Arc::new(
        referrals::clicks::ClickKey::load(&pool)
            .await
            .context("the referral clicks' key")?,
    );
    if let Some(dir) = &settings.seed_shop {
        let loaded = shop::catalog::load(&pool, &training.blobs, dir)
            .await
            .with_context(|| format!("loading the shop's catalog of {}", dir.display()))?;
        tracing::info!(loaded, "loaded the shop's catalog");
    }
    if let Some(dir) = &settings.seed_resources {
        let loaded = resources::library::load(&pool, &training.blobs, dir)
            .await
            .with_context(|| format!("loading the resources of {}", dir.display()))?;
        tracing::info!(loaded, "loaded the resources library");
    }
    let resources = resources::ResourcesState {
        pool: pool.clone(),
        blobs: training.blobs.clone(),
        public_origin: training.public_origin.clone(),
        secure_cookies: settings.secure_cookies,
    };
    let shop = shop::ShopState {
        pool: pool.clone(),
        blobs: training.blobs.clone(),
        ledger: ledger.clone(),
        attribution,
        key: click_key.clone(),
        provider: Arc::new(shop::payment::TestProvider::default()),
        secure_cookies: settings.secure_cookies,
    };
    let state = AppState {
        pool: pool.clone(),
        sessions,
        accounts: accounts::AccountsState {
            pool: pool.clone(),
            accounts: Arc::new(accounts::Accounts {
                sessions,
                limits: accounts::shared_limits::SharedLimits::new(
                    pool.clone(),
                    Default::default(),
                    Default::default(),
                ),
                trusted_proxies: settings.trusted_proxies.clone().into(),
                changed: changed_tx,
                figures: figures_tx,
                activity: applicants_tx,
                // Each module that gives a new partner a document: one line.
                hashing,
                partner_setups: vec![
                    pipeline::documents::setup_partner,
                    notifications::inbox::setup_partner,
                    training::documents::setup_partner,
                    chat::reads::setup_partner,
                    referrals::documents::setup_partner,
                ],
            }),
            live_sessions: live_sessions.clone(),
            policy: policy.clone(),
        },
        money: money::MoneyState {
            pool: pool.clone(),
            ledger,
        },
        leaderboards: leaderboards::LeaderboardsState {
            pool: pool.clone(),
            changed: challenges_changed_tx,
        },
        notifications,
        training,
        chat,
        referrals: referrals::ReferralsState {
            pool: pool.clone(),
            key: click_key.clone(),
            attribution,
            secure_cookies: settings.secure_cookies,
        },
        shop,
        resources,
        sync: http::sync::SyncState {
            pool: pool.clone(),
            policy,
            live_sessions,
            residency: residency.clone(),
            max_sync_message_bytes: settings.max_sync_message_bytes,
            limits: platform::guard::Limits {
                burst: settings.sync_burst,
                per_second: settings.sync_rate_per_sec,
                handshake: Duration::from_secs(settings.sync_handshake_secs),
                keepalive: Duration::from_secs(settings.sync_keepalive_secs),
                expansion: platform::expansion::Limits {
                    bytes: settings.max_sync_expanded_bytes,
                    changes: settings.max_sync_changes,
                    ops: settings.max_sync_ops,
                },
            },
            sockets: Arc::new(platform::sockets::SocketCounts::new(
                settings.max_sockets_per_account,
            )),
            secure_cookies: settings.secure_cookies,
        },
        ops: http::OpsState {
            pool,
            residency: residency.clone(),
            metrics_token: settings.metrics_token.clone().map(Arc::from),
        },
    };
    // Each product module's routes: one line each.
    let modules = axum::Router::new()
        .merge(accounts::router())
        .merge(notifications::router())
        .merge(training::router())
        .merge(chat::router())
        .merge(referrals::router())
        .merge(shop::router())
        .merge(resources::router())
        .merge(money::router())
        .merge(leaderboards::router());
    let router = http::router(modules, state, &settings.web_dir);
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let local_addr = listener.local_addr()?;
    let serve = tokio::spawn(async move {
        axum::serve(
            listener,
            // The client's address is what sign-in failures are limited by.
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok(Server {
        local_addr,
        residency,
        serve,
    })
}
