//! Entries outlive the store that wrote them: a store reopened on the file
//! serves them, and two processes on one file see each other's entries.

mod support;

use std::io::Read;

use support::{Origin, TempDir, body, child_role, get, is_hit, spawn_child};
use webcache_core::{Cache, Config};
use webcache_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_served_after_the_store_is_reopened() {
    let dir = TempDir::new("restart");
    let origin = Origin::default();
    {
        let store = SqliteStore::open(dir.db()).expect("open");
        let cache = Cache::new(store.clone(), Config::default());
        let miss = cache
            .serve(get("http://restart.test/page"), origin.clone())
            .await
            .expect("miss");
        assert_eq!(body(miss).await, "/page 1");
        cache.quiesce().await;
        store.close().await.expect("close");
    }
    let store = SqliteStore::open(dir.db()).expect("reopen");
    let cache = Cache::new(store.clone(), Config::default());
    let hit = cache
        .serve(get("http://restart.test/page"), origin.clone())
        .await
        .expect("hit");
    assert!(is_hit(&hit), "served from the file after a restart");
    assert_eq!(body(hit).await, "/page 1");
    assert_eq!(origin.calls(), 1);
}

/// The child's half of [`two_processes_on_one_file_see_each_others_entries`]:
/// serves the parent's entry from the file, stores one of its own, exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process() {
    let Some((role, db)) = child_role() else {
        return;
    };
    assert_eq!(role, "share");
    let store = SqliteStore::open(&db).expect("the child opens the file");
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    let from_parent = cache
        .serve(get("http://shared.test/parent"), origin.clone())
        .await
        .expect("served");
    let hit = is_hit(&from_parent);
    let text = body(from_parent).await;
    cache
        .serve(get("http://shared.test/child"), origin.clone())
        .await
        .expect("served");
    cache.quiesce().await;
    store.close().await.expect("close");
    println!("CHILD hit={hit} body={text:?} calls={}", origin.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_file_see_each_others_entries() {
    let dir = TempDir::new("processes");
    let store = SqliteStore::open(dir.db()).expect("open");
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    cache
        .serve(get("http://shared.test/parent"), origin.clone())
        .await
        .expect("miss");
    cache.quiesce().await;

    // The parent keeps its store open while the child works on the file.
    let mut child = spawn_child("child_process", "share", &dir.db());
    drop(child.stdin.take());
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .expect("the child's output");
    let status = child.wait().expect("the child exits");
    assert!(status.success(), "child: {status:?}\n{out}");
    assert!(
        out.contains(r#"CHILD hit=true body="/parent 1" calls=1"#),
        "the child served the parent's entry and stored one: {out}"
    );

    let from_child = cache
        .serve(get("http://shared.test/child"), origin.clone())
        .await
        .expect("served");
    assert!(is_hit(&from_child), "the parent serves the child's entry");
    assert_eq!(
        body(from_child).await,
        "/child 1",
        "the child's origin answered it"
    );
    assert_eq!(origin.calls(), 1, "the parent's origin was asked once");
}

/// A flush (and a URL purge) is kept in the file: the store reopened after
/// a restart still misses on everything stored before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_survives_a_restart() {
    let dir = TempDir::new("flush");
    let origin = Origin::default();
    {
        let store = SqliteStore::open(dir.db()).expect("open");
        let cache = Cache::new(store.clone(), Config::default());
        for path in ["a", "b"] {
            let uri = format!("http://flush.test/{path}");
            cache.serve(get(&uri), origin.clone()).await.expect("miss");
        }
        cache.quiesce().await;
        cache
            .flush(webcache_core::PurgeMode::Hard)
            .await
            .expect("flush");
        store.close().await.expect("close");
    }
    let store = SqliteStore::open(dir.db()).expect("reopen");
    let cache = Cache::new(store.clone(), Config::default());
    for path in ["a", "b"] {
        let uri = format!("http://flush.test/{path}");
        let r = cache
            .serve(get(&uri), origin.clone())
            .await
            .expect("served");
        assert!(!is_hit(&r), "flushed before the restart: {path}");
    }
    assert_eq!(origin.calls(), 4);
    let r = cache
        .serve(get("http://flush.test/a"), origin.clone())
        .await
        .expect("hit");
    assert!(is_hit(&r), "stored again after the flush");
}
