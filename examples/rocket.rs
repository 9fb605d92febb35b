//! A Rocket app behind webcache's in-memory cache: cached routes whose
//! hits never run the handler, a guard-protected page that stays private,
//! and the header helpers as a responder.
//!
//! ```sh
//! cargo run -p webcache-examples --features rocket --example rocket   # ROCKET_PORT=8080 to change the port
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, State, get, routes};
use webcache_core::headers::CacheControl;
use webcache_rocket::{CacheFairing, Cached};

/// Seconds since the epoch, to show in bodies whether a response is new.
fn stamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How many times the handlers ran: hits leave it alone.
#[derive(Default)]
struct Renders(AtomicU64);

#[get("/")]
fn index() -> &'static str {
    "webcache + Rocket: /expensive /hello /me /news /renders\n"
}

/// An expensive page, cacheable for 30 s.
#[get("/expensive")]
async fn expensive(renders: &State<Renders>) -> Cached<String> {
    renders.0.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = format!("computed the hard way at {}\n", stamp());
    Cached::cache_for(Duration::from_secs(30), body)
}

/// The client's preferred language, for `/hello`.
struct Language(&'static str);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Language {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let lang = request.headers().get_one("accept-language").unwrap_or("en");
        let greeting = match lang.get(..2) {
            Some("de") => "Hallo",
            Some("fr") => "Bonjour",
            _ => "Hello",
        };
        Outcome::Success(Language(greeting))
    }
}

/// Negotiated by language: one stored response per Accept-Language.
#[get("/hello")]
fn hello(lang: Language, renders: &State<Renders>) -> Cached<String> {
    renders.0.fetch_add(1, Ordering::Relaxed);
    let body = format!("{} (rendered at {})\n", lang.0, stamp());
    Cached::cache_for(Duration::from_secs(60), body).vary(["accept-language"])
}

/// A signed-in user, from `Authorization: Bearer <name>`.
struct User(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let bearer = request.headers().get_one("authorization");
        match bearer.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(name) => Outcome::Success(User(name.to_owned())),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

/// Per user, behind a guard: a request with Authorization is never
/// answered from the shared cache unless the page says it may be.
#[get("/me")]
fn me(user: User) -> Cached<String> {
    Cached::private(format!("{}'s account, rendered at {}\n", user.0, stamp()))
}

/// Served stale for 30 s while refreshed in the background.
#[get("/news")]
fn news() -> Cached<String> {
    let cc = CacheControl::new()
        .with_max_age(Duration::from_secs(5))
        .with_stale_while_revalidate(Duration::from_secs(30));
    Cached::cache_control(cc, format!("news as of {}\n", stamp()))
}

/// Not cached: how many times the cached handlers ran.
#[get("/renders")]
fn renders(renders: &State<Renders>) -> String {
    format!("{} renders\n", renders.0.load(Ordering::Relaxed))
}

#[rocket::launch]
fn rocket() -> _ {
    let cache = CacheFairing::new(webcache_memory::easy_setup());
    println!("Try (run each twice; watch Age and Cache-Status; port 8000 unless ROCKET_PORT):");
    println!(
        "  curl -i http://127.0.0.1:8000/expensive                       # slow miss, then an instant hit"
    );
    println!(
        "  curl -i -H 'Accept-Language: de' http://127.0.0.1:8000/hello  # one stored response per language"
    );
    println!(
        "  curl -i -H 'Authorization: Bearer ann' http://127.0.0.1:8000/me   # private: never stored"
    );
    println!(
        "  curl -i http://127.0.0.1:8000/renders                         # the handlers ran only on misses\n"
    );
    rocket::build()
        .manage(Renders::default())
        .mount(
            "/",
            cache.cached(routes![index, expensive, hello, me, news]),
        )
        .mount("/", routes![renders])
        .attach(cache)
}
