//! The Cache-Status field (RFC 9211 §2).

use super::super::origin::OriginResponse;
use super::super::scenario::{Expect, Scenario, get, request};
use super::{app, built, gateway, not_modified, ok};
use crate::config::Config;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("rfc9211_2_1_hit_reports_hit_and_ttl", app())
            .then(
                get("/s")
                    .origin(ok("max-age=60", "a"))
                    .expect(Expect::forwarded()),
            )
            .advance(20)
            .then(get("/s").expect(Expect::from_cache().cache_status("webcache; hit; ttl=40"))),
        Scenario::new("rfc9211_2_2_miss_reports_uri_miss_and_stored", app()).then(
            get("/s").origin(ok("max-age=60", "a")).expect(
                Expect::forwarded().cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
            ),
        ),
        Scenario::new("rfc9211_2_2_other_variant_reports_vary_miss", app())
            .then(
                get("/s")
                    .header("foo", "1")
                    .origin(ok("max-age=60", "a").header("vary", "foo"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/s")
                    .header("foo", "2")
                    .origin(ok("max-age=60", "b").header("vary", "foo"))
                    .expect(
                        Expect::forwarded()
                            .cache_status("webcache; fwd=vary-miss; fwd-status=200; stored"),
                    ),
            ),
        Scenario::new(
            "rfc9211_2_3_revalidated_stale_response_reports_fwd_status_304",
            gateway(),
        )
        .then(
            get("/s")
                .origin(ok("max-age=10", "a").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/s")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=stale; fwd-status=304; ttl=10; stored"),
                ),
        ),
        Scenario::new("rfc9211_2_2_request_directive_reports_fwd_request", app())
            .then(
                get("/s")
                    .origin(ok("max-age=60", "a"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/s")
                    .header("cache-control", "no-cache")
                    .origin(ok("max-age=60", "b"))
                    .expect(
                        Expect::forwarded()
                            .cache_status("webcache; fwd=request; fwd-status=200; stored"),
                    ),
            ),
        Scenario::new("rfc9211_2_2_unsafe_method_reports_fwd_method", app()).then(
            request("POST", "/s")
                .origin(OriginResponse::new(200).date())
                .expect(Expect::forwarded().cache_status("webcache; fwd=method; fwd-status=200")),
        ),
        Scenario::new("rfc9211_2_8_only_if_cached_reports_a_detail", app()).then(
            get("/s").header("cache-control", "only-if-cached").expect(
                Expect::from_cache()
                    .status(504)
                    .cache_status("webcache; detail=\"only-if-cached\""),
            ),
        ),
        Scenario::new("rfc9211_2_appends_after_upstream_caches", app())
            .then(
                get("/s")
                    .origin(ok("max-age=60", "a").header("cache-status", "upstream; hit"))
                    .expect(Expect::forwarded().header_lines(
                        "cache-status",
                        [
                            "upstream; hit",
                            "webcache; fwd=uri-miss; fwd-status=200; stored",
                        ],
                    )),
            )
            .then(
                get("/s").expect(
                    Expect::from_cache()
                        .header_lines("cache-status", ["upstream; hit", "webcache; hit; ttl=60"]),
                ),
            ),
        Scenario::new(
            "config_cache_status_name_is_configurable",
            built(Config::builder().cache_status(Some("edge"))),
        )
        .then(
            get("/s").origin(ok("max-age=60", "a")).expect(
                Expect::forwarded().cache_status("edge; fwd=uri-miss; fwd-status=200; stored"),
            ),
        ),
        Scenario::new(
            "config_cache_status_can_be_turned_off",
            built(Config::builder().cache_status(None)),
        )
        .then(
            get("/s")
                .origin(ok("max-age=60", "a"))
                .expect(Expect::forwarded().absent("cache-status")),
        )
        .then(get("/s").expect(Expect::from_cache().absent("cache-status"))),
    ]
}
