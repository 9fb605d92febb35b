//! The scenario list, one file per area of the RFCs.

mod age;
mod cache_status;
mod conditional;
mod config;
mod fields;
mod freshness;
mod head;
mod invalidation;
mod partial;
mod poisoning;
mod request;
mod role;
mod stale;
mod storage;
mod validation;
mod vary;

use super::origin::OriginResponse;
use super::scenario::Scenario;
use crate::config::{Config, ConfigBuilder};

/// Every scenario, in a stable order.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    all.extend(storage::scenarios());
    all.extend(freshness::scenarios());
    all.extend(age::scenarios());
    all.extend(request::scenarios());
    all.extend(validation::scenarios());
    all.extend(conditional::scenarios());
    all.extend(role::scenarios());
    all.extend(invalidation::scenarios());
    all.extend(vary::scenarios());
    all.extend(head::scenarios());
    all.extend(partial::scenarios());
    all.extend(stale::scenarios());
    all.extend(cache_status::scenarios());
    all.extend(fields::scenarios());
    all.extend(config::scenarios());
    all.extend(poisoning::scenarios());
    all
}

/// The default configuration: a shared cache in the application role.
fn app() -> Config {
    Config::default()
}

/// A shared cache in the gateway role: it adds no ETag, so what reaches
/// the origin is exactly what the RFC's cache sends.
fn gateway() -> Config {
    built(Config::gateway_builder())
}

/// A private cache in the gateway role.
fn private_cache() -> Config {
    built(Config::gateway_builder().shared(false))
}

fn built(builder: ConfigBuilder) -> Config {
    builder.build().expect("scenario configurations are valid")
}

/// `200 OK` with `Date: now`, `Cache-Control: cc` and `body`.
fn ok(cc: &str, body: &'static str) -> OriginResponse {
    OriginResponse::ok()
        .date()
        .header("cache-control", cc)
        .body(body)
}

/// `200 OK` with `Date: now` and `body`, nothing else.
fn bare(body: &'static str) -> OriginResponse {
    OriginResponse::ok().date().body(body)
}

/// `304 Not Modified` with `Date: now`.
fn not_modified() -> OriginResponse {
    OriginResponse::new(304).date()
}
