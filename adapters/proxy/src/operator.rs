//! The binary's admin listener (`--admin-listen`): the Prometheus
//! recorder, the store gauges set at scrape time, and the server's task.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use webcache_core::{Cache, Store};
use webcache_memory::MemoryStore;
use webcache_proxy::{Error, Proxy};

use crate::cli::Args;

/// The recorder's handle, or nothing in a build without the admin listener.
#[cfg(feature = "admin")]
pub type Handle = metrics_exporter_prometheus::PrometheusHandle;
#[cfg(not(feature = "admin"))]
pub type Handle = std::convert::Infallible;

/// What sets the store gauges before a scrape.
pub type Gauges = Arc<dyn Fn() + Send + Sync>;

/// Installs the Prometheus recorder when `--admin-listen` is given.
pub fn install_recorder(args: &Args) -> Result<Option<Handle>, Error> {
    if args.admin_listen.is_none() {
        return Ok(None);
    }
    #[cfg(feature = "admin")]
    {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map(Some)
            .map_err(|_| Error::Config("cannot install the metrics recorder"))
    }
    #[cfg(not(feature = "admin"))]
    Err(Error::Config(
        "this build has no admin listener (build with the `admin` feature)",
    ))
}

/// The gauges of entries and bytes held by the memory store, set at each
/// scrape (when there is a recorder).
#[cfg(feature = "admin")]
pub fn memory_gauges(cache: &Cache<MemoryStore>, recording: bool) -> Option<Gauges> {
    if !recording {
        return None;
    }
    let store = cache.store().clone();
    let entries = metrics::gauge!("webcache_store_entries", "backend" => "memory");
    let bytes = metrics::gauge!("webcache_store_bytes", "backend" => "memory");
    Some(Arc::new(move || {
        entries.set(store.entry_count() as f64);
        bytes.set(store.weighted_size() as f64);
    }))
}

#[cfg(not(feature = "admin"))]
pub fn memory_gauges(_: &Cache<MemoryStore>, _: bool) -> Option<Gauges> {
    None
}

/// The admin server's task, stopped with the proxy.
pub struct Running(Option<(oneshot::Sender<()>, JoinHandle<()>)>);

impl Running {
    /// Stops the admin server and waits for it.
    pub async fn stop(self) {
        if let Some((stop, task)) = self.0 {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// Starts the admin server when `--admin-listen` is given.
#[cfg(feature = "admin")]
pub async fn start<S: Store>(
    args: &Args,
    proxy: &Proxy<S>,
    metrics: Option<Handle>,
    gauges: Option<Gauges>,
) -> Result<Running, Error> {
    let Some(addr) = args.admin_listen else {
        return Ok(Running(None));
    };
    let mut server = webcache_proxy::AdminServer::bind(addr, proxy.clone()).await?;
    if let Some(handle) = metrics {
        server = server.metrics(handle);
    }
    if let Some(gauges) = gauges {
        server = server.before_scrape(gauges);
    }
    tracing::info!(target: "webcache::proxy", admin = %server.local_addr()?, "admin endpoints ready");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = server.serve(shutdown).await {
            tracing::warn!(target: "webcache::proxy", %error, "admin server failed");
        }
    });
    Ok(Running(Some((stop, task))))
}

#[cfg(not(feature = "admin"))]
pub async fn start<S: Store>(
    _: &Args,
    _: &Proxy<S>,
    _: Option<Handle>,
    _: Option<Gauges>,
) -> Result<Running, Error> {
    Ok(Running(None))
}
