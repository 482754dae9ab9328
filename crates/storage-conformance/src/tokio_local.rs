//! The suite on tokio, for native storages: samod with local tasks, since
//! the suite's crash wrapper holds futures that are not `Send`.

use std::{future::Future, pin::Pin, time::Duration};

use samod::runtime::LocalRuntimeHandle;

/// Spawns on the current [`tokio::task::LocalSet`]; [`in_local_set`] gives
/// each check one.
#[derive(Clone)]
pub struct TokioLocal;

impl LocalRuntimeHandle for TokioLocal {
    fn spawn(&self, task: Pin<Box<dyn Future<Output = ()>>>) {
        tokio::task::spawn_local(task);
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Runs `check` in a local set of its own (pass it to `suite!`).
pub async fn in_local_set<F: Future>(check: F) -> F::Output {
    tokio::task::LocalSet::new().run_until(check).await
}
