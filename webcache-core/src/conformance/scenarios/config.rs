//! Behaviour chosen by configuration: exemptions and the master salt.

use super::super::scenario::{Expect, Scenario, get};
use super::{built, ok};
use crate::config::Config;

pub(super) fn scenarios() -> Vec<Scenario> {
    let exempt = || built(Config::builder().resource_exemptions(["/private/"]));
    let salted = |salt: &str| built(Config::builder().master_salt(salt));
    vec![
        Scenario::new("config_resource_exemptions_bypass_the_cache", exempt())
            .then(
                get("/private/x").origin(ok("max-age=100", "a")).expect(
                    Expect::forwarded()
                        .body("a")
                        .absent("etag")
                        .cache_status("webcache; fwd=bypass; fwd-status=200"),
                ),
            )
            .then(
                get("/private/x")
                    .header("cache-control", "only-if-cached")
                    .origin(ok("max-age=100", "b"))
                    .expect(Expect::forwarded().body("b")),
            )
            .then(
                get("/public")
                    .origin(ok("max-age=100", "c"))
                    .expect(Expect::forwarded()),
            )
            .then(get("/public").expect(Expect::from_cache().body("c"))),
        Scenario::new(
            "config_master_salt_change_invalidates_everything",
            salted("one"),
        )
        .then(
            get("/m")
                .origin(ok("max-age=100", "a"))
                .expect(Expect::forwarded()),
        )
        .then(get("/m").expect(Expect::from_cache().body("a")))
        .restart(salted("two"))
        .then(
            get("/m").origin(ok("max-age=100", "b")).expect(
                Expect::forwarded()
                    .body("b")
                    .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
            ),
        )
        .restart(salted("one"))
        .then(get("/m").expect(Expect::from_cache().body("a"))),
        Scenario::new(
            "config_restart_with_the_same_configuration_keeps_entries",
            salted("one"),
        )
        .then(
            get("/m")
                .origin(ok("max-age=100", "a"))
                .expect(Expect::forwarded()),
        )
        .restart(salted("one"))
        .advance(5)
        .then(get("/m").expect(Expect::from_cache().body("a").header("age", "5"))),
    ]
}
