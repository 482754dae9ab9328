//! A private PostgreSQL cluster under `target/`, made with the system's
//! PostgreSQL binaries. Private so tests and demos never touch a database
//! someone else uses, and so a fresh machine needs nothing prepared.
//!
//! PostgreSQL refuses to run as root; when we are root the server runs as the
//! `postgres` system user, which owns the data directory.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::exec;

pub const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// The cluster `cargo xtask run` uses.
    pub fn dev(root: &Path) -> Cluster {
        Cluster {
            dir: root.join("target/pg/dev"),
            port: 54329,
        }
    }

    /// The cluster `cargo xtask test` starts and stops.
    pub fn test(root: &Path) -> Cluster {
        Cluster {
            dir: root.join("target/pg/test"),
            port: 54330,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn database_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn as_owner(&self, program: &str) -> Command {
        let path = format!("{BIN}/{program}");
        if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--", &path]);
            cmd
        } else {
            Command::new(path)
        }
    }

    pub fn start(&self) -> Result<()> {
        if !self.dir.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&self.dir)?;
            if is_root() {
                exec(
                    Command::new("chown")
                        .args(["-R", "postgres:postgres"])
                        .arg(&self.dir),
                )?;
                // The postgres user must be able to reach the directory.
                let mut p = self.dir.parent();
                while let Some(dir) = p {
                    exec(Command::new("chmod").arg("o+x").arg(dir))?;
                    p = dir.parent();
                }
            }
            exec(
                self.as_owner("initdb")
                    .args([
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--no-sync",
                        "-D",
                    ])
                    .arg(&self.dir)
                    .stdout(std::process::Stdio::null()),
            )
            .context("initdb of the private Postgres cluster")?;
        }
        if self.is_running() {
            return Ok(());
        }
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
             -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=256MB",
            self.port,
            self.dir.display()
        );
        exec(
            self.as_owner("pg_ctl")
                .args(["-w", "-t", "60", "-D"])
                .arg(&self.dir)
                .args(["-o", &opts, "-l"])
                .arg(self.dir.join("server.log"))
                .arg("start")
                .stdout(std::process::Stdio::null()),
        )
        .with_context(|| {
            format!(
                "starting Postgres; see {}",
                self.dir.join("server.log").display()
            )
        })?;
        self.wait_ready(Duration::from_secs(30))
    }

    pub fn is_running(&self) -> bool {
        self.as_owner("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn wait_ready(&self, deadline: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let ok = Command::new(format!("{BIN}/pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            if start.elapsed() > deadline {
                bail!(
                    "Postgres on port {} not ready after {deadline:?}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn create_database(&self, name: &str) -> Result<()> {
        let exists = self
            .client("psql")
            .arg("-tAc")
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{name}'"
            ))
            .output()?;
        if String::from_utf8_lossy(&exists.stdout).trim() == "1" {
            return Ok(());
        }
        exec(self.client("createdb").arg(name))
    }

    /// A Postgres client program, pointed at this cluster as `postgres`.
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(format!("{BIN}/{program}"));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        command
    }

    /// Drops a database, first disconnecting whoever uses it.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        exec(
            self.client("psql")
                .arg("-qc")
                .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .env("PGOPTIONS", "-c client_min_messages=warning"),
        )
    }

    pub fn stop(&self) -> Result<()> {
        if !self.dir.join("PG_VERSION").exists() || !self.is_running() {
            return Ok(());
        }
        exec(
            self.as_owner("pg_ctl")
                .args(["-w", "-m", "fast", "-D"])
                .arg(&self.dir)
                .arg("stop")
                .stdout(std::process::Stdio::null()),
        )
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
