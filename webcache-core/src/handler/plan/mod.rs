//! The handlers' decisions, as plain data: what to do with a request given
//! what the lookup found ([`plan_request`]), and what to do with a forwarded
//! response ([`plan_response`]). No store, no runtime, no clock of their
//! own: everything comes in as arguments, so every branch is a unit test.
//!
//! The executors, [`RequestHandler::handle`](super::RequestHandler::handle)
//! and [`ResponseHandler::handle`](super::ResponseHandler::handle), do the
//! I/O each plan names.
//!
//! ```
//! use std::time::SystemTime;
//! use http::Request;
//! use webcache_core::Config;
//! use webcache_core::handler::plan::{RequestPlan, plan_request};
//! use webcache_core::request::RequestFacts;
//! use webcache_core::status::Forward;
//!
//! let (parts, _) = Request::get("http://a.test/").body(()).unwrap().into_parts();
//! let config = Config::default();
//! let facts = RequestFacts::from_parts(&parts, &config);
//! // Nothing stored for the URI: forward, and say why in Cache-Status.
//! let plan = plan_request(None, false, &parts.headers, &facts, &config, SystemTime::now());
//! assert_eq!(plan, RequestPlan::Forward(Forward::UriMiss));
//! ```

mod request;
mod response;

pub(crate) use request::plan_parsed;
pub use request::{RequestPlan, Served, plan_request, validates_variants};
pub use response::{ResponsePlan, plan_response};
