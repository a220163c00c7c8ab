//! Watch protocol: event order, resume from a resourceVersion, no events for no-op writes,
//! selector transitions, 410 Expired, bookmarks, timeouts and streaming lists.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;

use crate::common::*;

/// The next event that is not a bookmark.
async fn next_event<S>(stream: &mut S) -> WatchEvent<ConfigMap>
where
    S: futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin,
{
    loop {
        let e = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("event ok");
        if !matches!(e, WatchEvent::Bookmark(_)) {
            return e;
        }
    }
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.as_deref().unwrap_or_default()),
        WatchEvent::Modified(o) => format!(
            "MODIFIED {}",
            o.metadata.name.as_deref().unwrap_or_default()
        ),
        WatchEvent::Deleted(o) => {
            format!("DELETED {}", o.metadata.name.as_deref().unwrap_or_default())
        }
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[tokio::test]
async fn watch_from_a_version_streams_changes_in_order() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let start = api
        .create(&PostParams::default(), &cm("before", json!({})))
        .await
        .expect("create");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create a");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("patch");
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&start))
        .await
        .expect("watch")
        .boxed();
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(seen, vec!["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn no_op_writes_emit_no_watch_event() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "v"})))
        .await
        .expect("create");
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&created))
        .await
        .expect("watch")
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("no-op");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .expect("change");
    let e = next_event(&mut stream).await;
    let WatchEvent::Modified(o) = e else {
        panic!("expected MODIFIED, got {}", describe(&e))
    };
    assert_eq!(o.data.expect("data")["k"], "w");
}

#[tokio::test]
async fn objects_leaving_and_entering_a_selector_are_deleted_and_added() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut o = cm("a", json!({}));
    o.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    let created = api
        .create(&PostParams::default(), &o)
        .await
        .expect("create");
    let wp = WatchParams::default().labels("app=web");
    let mut stream = api.watch(&wp, &rv(&created)).await.expect("watch").boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .expect("leave");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "1"}})),
    )
    .await
    .expect("outside");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .expect("enter");
    let seen = vec![
        describe(&next_event(&mut stream).await),
        describe(&next_event(&mut stream).await),
    ];
    assert_eq!(seen, vec!["DELETED a", "ADDED a"]);
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_an_expired_error_event() {
    let Some(s) = embedded_only("compact_history is a test-apiserver hook").await else {
        return;
    };
    let api = cm_api(&s, "default");
    let created = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .expect("patch");
    s.compact_history();
    let mut stream = api
        .watch(&WatchParams::default(), &rv(&created))
        .await
        .expect("watch starts with 200")
        .boxed();
    let WatchEvent::Error(e) = next_event(&mut stream).await else {
        panic!("expected ERROR")
    };
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn bookmarks_are_sent_when_allowed() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    // kube-apiserver sends a bookmark about a minute apart, and 2 s before the watch's timeout.
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv(&created))
        .await
        .expect("watch")
        .boxed();
    let e = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("ok");
    let WatchEvent::Bookmark(b) = e else {
        panic!("expected BOOKMARK, got {}", describe(&e))
    };
    assert!(!b.metadata.resource_version.is_empty());
    if s.embedded().is_some() {
        assert!(rv_number(&b.metadata.resource_version) >= rv_number(&rv(&created)));
    }
}

#[tokio::test]
async fn watch_ends_after_timeout_seconds() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let stream = api
        .watch(&WatchParams::default().disable_bookmarks().timeout(1), "0")
        .await
        .expect("watch");
    let events: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("stream ended");
    assert!(events.is_empty(), "no objects, no events");
}

#[tokio::test]
async fn watch_without_version_starts_with_current_objects() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let mut stream = api
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_objects_then_init_done() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let cfg = watcher::Config::default().streaming_lists();
    let mut stream = watcher(api.clone(), cfg).boxed();
    let mut seen = Vec::new();
    while let Some(ev) = tokio::time::timeout(WAIT, stream.try_next())
        .await
        .expect("in time")
        .expect("no error")
    {
        match ev {
            watcher::Event::Init => seen.push("init".to_string()),
            watcher::Event::InitApply(o) => {
                seen.push(format!("apply {}", o.metadata.name.unwrap_or_default()))
            }
            watcher::Event::InitDone => {
                seen.push("done".into());
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, vec!["init", "apply a", "done"]);
    if let Some(embedded) = s.embedded() {
        assert_eq!(
            embedded.hooks().count("list", "configmaps"),
            0,
            "streaming lists do not LIST"
        );
    }
}
