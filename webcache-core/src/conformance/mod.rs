//! The shared conformance scenarios (feature `conformance`): one list of
//! RFC behaviours that every way of running the cache — [`Cache::serve`]
//! in process, the tower layer over loopback HTTP, the reverse proxy —
//! must show identically.
//!
//! A [`Scenario`] is a sequence of [`Step`]s against a fresh cache: moving
//! the shared [`ManualClock`](crate::clock::ManualClock), sending a request
//! (an [`Exchange`]) with what the scripted [`Origin`] answers if the cache
//! forwards it, and what must be seen ([`Expect`]): whether the origin was
//! reached, the status, fields, body and Age of the response, and the
//! fields of the requests the origin received. Names carry the RFC section
//! they prove (`rfc9111_4_2_1_s_maxage_overrides_max_age`); `config_…` and
//! `deviation_…` name configured and documented non-RFC behaviour.
//!
//! An adapter implements [`Harness`] (build a cache in front of an app that
//! calls [`Origin::respond`], send a request, wait for background work) and
//! runs [`assert_all`]. Requests are sent in origin-form with
//! `Host: conformance.test` ([`HOST_NAME`]); every exchange is followed by
//! [`Harness::settle`], so background refreshes and stores have finished
//! before anything is checked.
//!
//! The in-process harness, as `tests/conformance.rs` has it:
//!
//! ```no_run
//! use std::collections::HashMap;
//! use std::convert::Infallible;
//! use std::sync::{Arc, Mutex};
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use webcache_core::clock::ManualClock;
//! use webcache_core::conformance::{self, Harness, Origin};
//! use webcache_core::store::{Store, StoreKey, Write};
//! use webcache_core::{Cache, Config, StoreError, Upstream};
//!
//! #[derive(Clone, Default)]
//! struct MapStore(Arc<Mutex<HashMap<StoreKey, Bytes>>>);
//!
//! impl Store for MapStore {
//!     async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
//!         let map = self.0.lock().unwrap();
//!         Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
//!     }
//!     async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
//!         let mut map = self.0.lock().unwrap();
//!         for w in writes { map.insert(w.key, w.value); }
//!         Ok(())
//!     }
//!     async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
//!         let mut map = self.0.lock().unwrap();
//!         for k in keys { map.remove(k); }
//!         Ok(())
//!     }
//! }
//!
//! /// The application: whatever the scripted origin says.
//! #[derive(Clone)]
//! struct App(Origin);
//!
//! impl Upstream<Bytes> for App {
//!     type Body = Full<Bytes>;
//!     type Error = Infallible;
//!     async fn call(&mut self, request: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
//!         let (parts, body) = request.into_parts();
//!         Ok(self.0.respond(&parts, body).map(Full::new))
//!     }
//! }
//!
//! #[derive(Default)]
//! struct InProcess(Option<(Cache<MapStore>, App, MapStore, ManualClock)>);
//!
//! impl Harness for InProcess {
//!     async fn start(&mut self, config: Config, clock: ManualClock, origin: Origin) {
//!         let store = MapStore::default();
//!         let cache = Cache::builder(store.clone()).config(config).clock(clock.clone()).build();
//!         self.0 = Some((cache, App(origin), store, clock));
//!     }
//!     async fn restart(&mut self, config: Config) {
//!         let (_, app, store, clock) = self.0.take().expect("started");
//!         let cache = Cache::builder(store.clone()).config(config).clock(clock.clone()).build();
//!         self.0 = Some((cache, app, store, clock));
//!     }
//!     async fn send(&mut self, request: Request<Bytes>) -> Response<Bytes> {
//!         let (cache, app, ..) = self.0.as_ref().expect("started");
//!         let response = cache.serve(request, app.clone()).await.unwrap();
//!         let (parts, body) = response.into_parts();
//!         Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
//!     }
//!     async fn settle(&mut self) {
//!         self.0.as_ref().expect("started").0.quiesce().await;
//!     }
//! }
//!
//! # async fn doc() {
//! conformance::assert_all(&mut InProcess::default()).await;
//! # }
//! ```
//!
//! [`Cache::serve`]: crate::Cache::serve

mod origin;
mod runner;
mod scenario;
mod scenarios;

pub use origin::{Origin, OriginResponse, RecordedRequest, Unreachable, Value};
pub use runner::{
    Harness, assert_all, needs_absolute_form, needs_unreachable, run, run_all, start_time,
};
pub use scenario::{
    ClientRequest, Exchange, Expect, HOST_NAME, RequestCheck, Scenario, Step, get, head, request,
};
pub use scenarios::scenarios;
