//! A Postgres database of its own for each test, made on the cluster that
//! `TEST_DATABASE_URL` names.

use sqlx::PgPool;

/// A database of its own for one test, dropped by nobody: the test cluster is
/// thrown away whole.
pub struct TestDb {
    pub url: String,
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
