use clap::Parser;
use sync_server::Settings;

/// mimalloc rather than glibc's malloc. Under load the server's live heap
/// stayed near 8 MiB (heaptrack, 100 clients) while glibc's arenas held
/// several times that in freed pages, so its resident memory grew with
/// connections far faster than anything they hold (docs/performance.md);
/// malloc and free were also a tenth of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,samod=warn,samod_core=warn".into()),
        )
        .init();
    let settings = Settings::parse();
    let server = sync_server::start(settings).await?;
    server
        .run_until_signal(|addr| {
            // Tests and `cargo xtask run` read this line to learn the bound
            // port.
            println!("listening on http://{addr}");
        })
        .await
}
