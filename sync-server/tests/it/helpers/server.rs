//! The server under test. By default it runs inside the test binary
//! ([`TestServer`]): `sync_server::start` with the same settings the binary
//! would parse, against the test's own database. [`ServerProcess`] spawns
//! the real binary, for the few tests where the process is what is under
//! test (the list is in `helpers/mod.rs`).

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use clap::Parser;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::oneshot,
};

/// What test servers ask for on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// What the helpers need of a running server, in-process or spawned.
pub trait ServerUnderTest {
    fn addr(&self) -> SocketAddr;

    fn database_url(&self) -> &str;

    fn ws_url(&self) -> url::Url {
        url::Url::parse(&format!("ws://{}/sync", self.addr())).unwrap()
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo.json")
}

/// The web directory of a server whose tests load no PWA files.
fn empty_web_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("portal-test-empty-web");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The command line (after the program name) both kinds of server start
/// with: the demo fixtures, the metrics token, then `extra`.
fn command_line(database_url: &str, web_dir: &Path, listen: &str, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--listen",
        listen,
        "--database-url",
        database_url,
        "--metrics-token",
        METRICS_TOKEN,
        // Files in memory: nothing left behind (the blob tests run the
        // filesystem store themselves).
        "--blob-store",
        "memory",
        "--seed",
    ]
    .map(OsString::from)
    .into();
    args.push(fixtures().into());
    args.push("--web-dir".into());
    args.push(web_dir.into());
    args.extend(extra.iter().map(OsString::from));
    args
}

/// The server, started inside the test binary on a free loopback port.
///
/// It runs on a Tokio runtime and thread of its own, as the binary runs on
/// its `#[tokio::main]` runtime: the test's runtime (often a current-thread
/// one) never carries the server's work, and ending the server's runtime
/// ends everything it started (workers, open connections) as the end of a
/// process does. Dropped without [`TestServer::stop`], it ends at once
/// without flushing, as the spawned binary was killed on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub database_url: String,
    /// Sent: stop as on SIGTERM; dropped: end at once.
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(database_url: &str) -> TestServer {
        Self::run(database_url, &empty_web_dir(), &[]).await
    }

    /// Starts with extra command-line settings.
    pub async fn start_with_args(database_url: &str, args: &[&str]) -> TestServer {
        Self::run(database_url, &empty_web_dir(), args).await
    }

    pub async fn start_with_web(database_url: &str, web_dir: &Path) -> TestServer {
        Self::run(database_url, web_dir, &[]).await
    }

    async fn run(database_url: &str, web_dir: &Path, extra: &[&str]) -> TestServer {
        let program = OsString::from("sync-server");
        let args = command_line(database_url, web_dir, "127.0.0.1:0", extra);
        let settings = sync_server::Settings::try_parse_from(std::iter::once(program).chain(args))
            .unwrap_or_else(|e| panic!("the test server's settings: {e}"));
        let (started, on_start) = oneshot::channel();
        let (stop, on_stop) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("sync-server".to_owned())
            .spawn(move || serve(settings, started, on_stop))
            .expect("a thread for the server");
        let addr = tokio::time::timeout(Duration::from_secs(60), on_start)
            .await
            .expect("sync-server did not start within 60 s")
            .expect("the server's thread ended before the server started")
            .unwrap_or_else(|e| panic!("sync-server did not start: {e:#}"));
        TestServer {
            addr,
            database_url: database_url.to_owned(),
            stop,
            thread,
        }
    }

    /// Stops the server as an operator would (what it does on SIGTERM:
    /// documents flushed to storage), and waits until everything it ran
    /// has ended.
    pub async fn stop(self) {
        let TestServer { stop, thread, .. } = self;
        let _ = stop.send(());
        tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || thread.join()),
        )
        .await
        .expect("server did not stop within 30 s")
        .unwrap()
        .expect("the server's thread panicked");
    }
}

impl ServerUnderTest for TestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn database_url(&self) -> &str {
        &self.database_url
    }
}

/// The server's thread: a multi-thread runtime like the binary's, the
/// server on it until told to stop (then it flushes) or until its
/// [`TestServer`] is dropped.
fn serve(
    settings: sync_server::Settings,
    started: oneshot::Sender<anyhow::Result<SocketAddr>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sync-server")
        .build()
        .expect("a runtime for the server");
    runtime.block_on(async move {
        let server = match sync_server::start(settings).await {
            Ok(server) => server,
            Err(e) => {
                let _ = started.send(Err(e));
                return;
            }
        };
        if started.send(Ok(server.local_addr)).is_ok() && stop.await.is_ok() {
            server.stop().await;
        }
    });
    // Ends every task still running, as the end of a process does; a
    // password hash under way on a blocking thread is left to finish.
    runtime.shutdown_timeout(Duration::from_secs(5));
}

/// The real server binary, started on a loopback port: for tests of the
/// process itself (SIGKILL, its peak memory, input that could bring a
/// whole process down).
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub database_url: String,
}

impl ServerProcess {
    pub async fn start(database_url: &str) -> ServerProcess {
        Self::spawn(database_url, "127.0.0.1:0", &[]).await
    }

    /// Starts with extra command-line settings.
    pub async fn start_with_args(database_url: &str, args: &[&str]) -> ServerProcess {
        Self::spawn(database_url, "127.0.0.1:0", args).await
    }

    /// Starts again where a stopped or killed server listened, so clients'
    /// dialers find it at the same URL.
    pub async fn restart_on(database_url: &str, addr: SocketAddr) -> ServerProcess {
        Self::spawn(database_url, &addr.to_string(), &[]).await
    }

    async fn spawn(database_url: &str, listen: &str, extra: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(command_line(database_url, &empty_web_dir(), listen, extra))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sync-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    return addr.parse::<SocketAddr>().unwrap();
                }
            }
            panic!("sync-server exited before listening");
        })
        .await
        .expect("sync-server did not start within 60 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess {
            child,
            addr,
            database_url: database_url.to_owned(),
        }
    }

    /// Kills the server with no chance to flush anything (SIGKILL).
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL the server");
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("server still running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server did not stop within 30 s after SIGTERM")
            .unwrap();
    }

    /// The server's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let pid = self.child.id().expect("the server runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status")
            * 1024
    }
}

impl ServerUnderTest for ServerProcess {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn database_url(&self) -> &str {
        &self.database_url
    }
}
