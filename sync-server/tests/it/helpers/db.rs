//! A Postgres database of its own for each test, made on the cluster that
//! `TEST_DATABASE_URL` names.

use sqlx::PgPool;

/// A database of its own for one test, dropped when the test ends, passed
/// or failed: some 600 databases of about 10 MB each filled a CI machine's
/// disk when they were left for the cluster to be thrown away whole.
pub struct TestDb {
    pub url: String,
}

impl Drop for TestDb {
    /// Drop cannot await, and the test's runtime may be the current-thread
    /// kind that is busy dropping us, so the database is dropped from a
    /// thread of its own with a runtime of its own, and waited for. `FORCE`
    /// ends whatever connection a pool or a spawned server still holds.
    fn drop(&mut self) {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        let name = self.url.rsplit('/').next().unwrap_or_default().to_owned();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop a test database");
            runtime.block_on(async {
                let pool = PgPool::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await?;
                pool.close().await;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        // A database left behind costs disk, not correctness: say so and go on.
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

impl TestDb {
    pub async fn new() -> TestDb {
        let admin = std::env::var("TEST_DATABASE_URL").expect(
            "TEST_DATABASE_URL is not set: run the tests with `cargo xtask test`, \
             which starts Postgres, or point it at a Postgres that may create databases",
        );
        let name = format!("t_{:016x}", rand::random::<u64>());
        let pool = PgPool::connect(&admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin.rsplit_once('/').expect("database URL has a path").0;
        TestDb {
            url: format!("{base}/{name}"),
        }
    }

    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// Cuts the database off from everyone (no new connections, existing
    /// ones terminated) or lets them back: to a server, Postgres is down.
    pub async fn set_reachable(&self, reachable: bool) {
        let name = self.url.rsplit('/').next().unwrap();
        let admin = PgPool::connect(&std::env::var("TEST_DATABASE_URL").unwrap())
            .await
            .unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
        ))
        .execute(&admin)
        .await
        .unwrap();
        if !reachable {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(name)
            .execute(&admin)
            .await
            .unwrap();
        }
        admin.close().await;
    }
}
