//! `webcache-proxy`: a caching reverse proxy in front of one HTTP origin.
//!
//! Every setting is a command-line flag and an environment variable
//! (`WEBCACHE_*`); `webcache-proxy --help` lists them.

mod cli;
mod logging;
mod operator;

use std::process::ExitCode;

use webcache_core::{Cache, Store};
use webcache_memory::MemoryStore;
use webcache_proxy::{Error, Proxy, ProxyConfig, Server, shutdown_signal};

use cli::{Args, StoreChoice};

fn main() -> ExitCode {
    let args = Args::from_env();
    logging::init(&args);
    // One thread needs no work stealing: a current-thread runtime is
    // faster there.
    let mut runtime = if args.threads == Some(1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    runtime.enable_all();
    if let Some(threads) = args.threads.filter(|n| *n > 1) {
        runtime.worker_threads(threads);
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("webcache-proxy: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("webcache-proxy: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let proxy_config = args.proxy_config()?;
    let cache_config = args.cache_config()?;
    args.check_not_self(&proxy_config)?;
    // Before any cache is built: the cache registers its metrics then.
    let metrics = operator::install_recorder(&args)?;
    match args.store_choice()? {
        StoreChoice::Memory => {
            let store = MemoryStore::new(args.memory_capacity.bytes());
            let cache = Cache::new(store, cache_config);
            let gauges = operator::memory_gauges(&cache, metrics.is_some());
            serve(&args, cache, proxy_config, metrics, gauges).await
        }
        #[cfg(feature = "redis")]
        StoreChoice::Redis(url) => {
            let store = open_redis(&url, args.redis_near_cache.usize())?;
            let cache = Cache::new(store, cache_config);
            serve(&args, cache, proxy_config, metrics, None).await
        }
        #[cfg(feature = "sqlite")]
        StoreChoice::Sqlite(path) => {
            let store = open_sqlite(path, args.sqlite_max_size.bytes()).await?;
            let cache = Cache::new(store, cache_config);
            serve(&args, cache, proxy_config, metrics, None).await
        }
    }
}

/// The Redis store at `url`, with a near tier of `near` bytes unless 0.
#[cfg(feature = "redis")]
fn open_redis(url: &str, near: usize) -> Result<webcache_redis::RedisStore, Error> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::Store(format!("cannot use the Redis store at {url}: {e}"))
    };
    let client = webcache_redis::redis::Client::open(url).map_err(|e| failed(&e))?;
    let mut builder = webcache_redis::RedisStore::builder(client);
    if near > 0 {
        builder = builder.near_cache(near);
    }
    builder.build().map_err(|e| failed(&e))
}

/// Opens the SQLite store off the runtime's threads (opening may migrate
/// or replace the file).
#[cfg(feature = "sqlite")]
async fn open_sqlite(
    path: std::path::PathBuf,
    max_size: u64,
) -> Result<webcache_sqlite::SqliteStore, Error> {
    let shown = path.display().to_string();
    let opened = tokio::task::spawn_blocking(move || {
        webcache_sqlite::SqliteStore::builder(path)
            .max_size(max_size)
            .build()
    })
    .await;
    match opened {
        Ok(Ok(store)) => Ok(store),
        Ok(Err(e)) => Err(Error::Store(format!(
            "cannot use the SQLite store at {shown}: {e}"
        ))),
        Err(e) => Err(Error::Store(format!(
            "cannot open the SQLite store at {shown}: {e}"
        ))),
    }
}

/// Reads the certificate and key again on each SIGHUP; a failed reload
/// is logged and the old certificate kept.
#[cfg(feature = "tls")]
fn reload_on_sighup(tls: webcache_proxy::TlsConfig) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(target: "webcache::proxy", "cannot listen for SIGHUP: no certificate reload");
            return;
        };
        while hangups.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!(target: "webcache::proxy", "TLS certificate reloaded"),
                Err(error) => {
                    tracing::error!(target: "webcache::proxy", %error, "TLS certificate not reloaded; the old one stays")
                }
            }
        }
    });
    #[cfg(not(unix))]
    drop(tls);
}

async fn serve<S: Store>(
    args: &Args,
    cache: Cache<S>,
    config: ProxyConfig,
    metrics: Option<operator::Handle>,
    gauges: Option<operator::Gauges>,
) -> Result<(), Error> {
    let upstream = config.upstream().authority().to_owned();
    let proxy = Proxy::new(cache, config);
    let admin = operator::start(args, &proxy, metrics, gauges).await?;
    let server = Server::bind(args.listen, proxy).await?;
    #[cfg(feature = "tls")]
    let server = match args.tls_config()? {
        Some(tls) => {
            reload_on_sighup(tls.clone());
            server.with_tls(tls)
        }
        None => server,
    };
    tracing::info!(
        target: "webcache::proxy",
        listen = %server.local_addr()?,
        %upstream,
        store = %args.store,
        "webcache-proxy ready"
    );
    let served = server.serve(shutdown_signal()).await;
    admin.stop().await;
    served?;
    tracing::info!(target: "webcache::proxy", "stopped");
    Ok(())
}
