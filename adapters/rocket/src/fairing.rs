//! The fairing: the cache, the cached routes it makes, and the server's
//! own address it learns at liftoff.

use std::sync::Arc;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Status;
use rocket::{Orbit, Request, Response, Rocket, Route};
use webcache_core::handler::{Mixins, Policy};
use webcache_core::{Cache, Store};

use crate::handler::{CachedHandler, finish};
use crate::local::RequestLocal;
use crate::loopback::{Loopback, LoopbackUpstream};

/// The cache for a Rocket app: attach it, and mount the routes it should
/// answer with [`CacheFairing::cached`] (or [`cached`](crate::cached)).
///
/// ```no_run
/// use rocket::{get, routes};
/// use webcache_rocket::CacheFairing;
///
/// #[get("/")]
/// fn index() -> &'static str { "hello" }
///
/// #[rocket::launch]
/// fn rocket() -> _ {
///     let cache = CacheFairing::new(webcache_memory::easy_setup());
///     rocket::build().mount("/", cache.cached(routes![index])).attach(cache)
/// }
/// ```
///
/// Cheap to clone; clones share the cache. The fairing learns where the
/// server listens when it lifts off: the cache sends its background
/// refreshes, the validations the route must see and its one retry there,
/// as requests to itself over loopback (plain HTTP: a Rocket built with TLS
/// gets no background refreshes).
pub struct CacheFairing<S, M = Mixins> {
    cache: Cache<S, M>,
    loopback: Arc<Loopback>,
}

impl<S, M> std::fmt::Debug for CacheFairing<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheFairing")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<S, M> Clone for CacheFairing<S, M> {
    fn clone(&self) -> Self {
        CacheFairing {
            cache: self.cache.clone(),
            loopback: self.loopback.clone(),
        }
    }
}

impl<S, M> CacheFairing<S, M>
where
    S: Store + Sync + 'static,
    M: Policy + Sync + 'static,
{
    /// A fairing over `cache` (for example
    /// [`webcache_memory::easy_setup()`](https://docs.rs/webcache-memory)).
    ///
    /// ```
    /// use rocket::{get, routes};
    /// use webcache_rocket::CacheFairing;
    ///
    /// #[get("/")]
    /// fn index() -> &'static str {
    ///     "hello"
    /// }
    ///
    /// let cache = CacheFairing::new(webcache_memory::easy_setup());
    /// let rocket = rocket::build().mount("/", cache.cached(routes![index])).attach(cache);
    /// # let _ = rocket;
    /// ```
    pub fn new(cache: Cache<S, M>) -> Self {
        CacheFairing {
            cache,
            loopback: Arc::new(Loopback::new()),
        }
    }

    /// The cache.
    ///
    /// ```
    /// let fairing = webcache_rocket::CacheFairing::new(webcache_memory::easy_setup());
    /// assert_eq!(fairing.cache().stats().hits, 0);
    /// ```
    pub fn cache(&self) -> &Cache<S, M> {
        &self.cache
    }

    /// `routes` with their handlers behind the cache: a hit is answered
    /// without calling the route's handler (nor its request guards).
    ///
    /// ```
    /// use rocket::{get, routes};
    /// use webcache_rocket::CacheFairing;
    ///
    /// #[get("/")]
    /// fn index() -> &'static str {
    ///     "hello"
    /// }
    ///
    /// let cache = CacheFairing::new(webcache_memory::easy_setup());
    /// let routes = cache.cached(routes![index]);
    /// assert_eq!(routes.len(), 1);
    /// ```
    pub fn cached(&self, routes: Vec<Route>) -> Vec<Route> {
        routes.into_iter().map(|route| self.wrap(route)).collect()
    }

    fn wrap(&self, mut route: Route) -> Route {
        let inner = std::mem::replace(&mut route.handler, Box::new(Placeholder));
        route.handler = Box::new(CachedHandler {
            cache: self.cache.clone(),
            loopback: self.loopback.clone(),
            inner: Arc::from(inner),
        });
        route
    }
}

/// Stands in for a route's handler while it is moved into the wrapper.
#[derive(Clone)]
struct Placeholder;

#[rocket::async_trait]
impl rocket::route::Handler for Placeholder {
    async fn handle<'r>(
        &self,
        _request: &'r rocket::Request<'_>,
        data: rocket::Data<'r>,
    ) -> rocket::route::Outcome<'r> {
        rocket::route::Outcome::Forward((data, rocket::http::Status::NotFound))
    }
}

#[rocket::async_trait]
impl<S, M> Fairing for CacheFairing<S, M>
where
    S: Store + Sync + 'static,
    M: Policy + Sync + 'static,
{
    fn info(&self) -> Info {
        Info {
            name: "webcache",
            kind: Kind::Liftoff | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let config = rocket.config();
        self.loopback.set_addr(config.address, config.port);
    }

    /// The response side: finishes the response of a cached route's handler
    /// (stores it, validates, adds `ETag`, `Age`, `Cache-Status`), after
    /// Rocket added its cookies and the fairings attached before this one
    /// ran. Every other response passes untouched.
    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let slot = RequestLocal::of(request);
        let Some(pending) = slot.take(self.loopback.id()) else {
            return;
        };
        let route = std::mem::replace(response, Response::new());
        let mut upstream = LoopbackUpstream(self.loopback.clone());
        match finish(&self.cache, pending, route, &mut upstream).await {
            Ok(done) => *response = done,
            Err(error) => {
                tracing::warn!(target: "webcache::rocket", %error, "loopback request failed");
                *response = Response::new();
                response.set_status(Status::BadGateway);
            }
        }
    }
}
