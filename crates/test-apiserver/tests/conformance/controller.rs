//! kube-runtime end to end: a `Controller` reconciles objects created after it started, and
//! watchers resume after dropped connections and relist after 410 Expired.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

use crate::common::*;

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed: {0}")]
struct ReconcileError(#[from] kube::Error);

async fn reconcile(
    obj: Arc<DynamicObject>,
    api: Arc<Api<DynamicObject>>,
) -> Result<Action, ReconcileError> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let generation = obj.metadata.generation.unwrap_or_default();
    let status = json!({"status": {"observedGeneration": generation, "phase": "Reconciled"}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(Action::await_change())
}

#[tokio::test]
async fn controller_reconciles_custom_resources_created_after_start() {
    let (s, api) = with_things().await;
    let api = Arc::new(api);
    let ctl = Controller::new_with(
        (*api).clone(),
        watcher::Config::default(),
        s.thing_resource(),
    )
    .run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_secs(1)),
        api.clone(),
    )
    .for_each(|_| async {});
    let handle = tokio::spawn(ctl);
    api.create(&PostParams::default(), &s.thing("late", json!({"size": 1})))
        .await
        .expect("create");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = api.get("late").await.expect("get");
        if got.data["status"]["phase"] == "Reconciled" {
            assert_eq!(got.data["status"]["observedGeneration"], 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reconciled in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.patch(
        "late",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .expect("spec change");
    loop {
        let got = api.get("late").await.expect("get");
        if got.data["status"]["observedGeneration"] == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "generation 2 not reconciled in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.abort();
    drop(s);
}

async fn wait_for<F: Fn(&watcher::Event<ConfigMap>) -> bool>(
    stream: &mut (
             impl futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin
         ),
    pred: F,
) {
    tokio::time::timeout(WAIT, async {
        while let Some(ev) = stream.next().await {
            if let Ok(ev) = ev
                && pred(&ev)
            {
                return;
            }
        }
        panic!("watcher ended");
    })
    .await
    .expect("event in time");
}

fn applied(name: &'static str) -> impl Fn(&watcher::Event<ConfigMap>) -> bool {
    move |e| matches!(e, watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some(name))
}

#[tokio::test]
async fn watcher_resumes_without_relisting_after_a_dropped_connection() {
    let Some(s) = embedded_only("close_watches and the request log are test-apiserver hooks").await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
    wait_for(&mut stream, |e| matches!(e, watcher::Event::InitDone)).await;
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create a");
    wait_for(&mut stream, applied("a")).await;
    s.close_watches();
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .expect("create b");
    wait_for(&mut stream, applied("b")).await;
    assert_eq!(
        s.hooks().count("list", "configmaps"),
        1,
        "resumed from its resourceVersion"
    );
    assert!(s.hooks().count("watch", "configmaps") >= 2);
}

#[tokio::test]
async fn watcher_relists_after_410_expired() {
    let Some(s) =
        embedded_only("expire_next_watch and the request log are test-apiserver hooks").await
    else {
        return;
    };
    let api: Api<ConfigMap> = cm_api(&s, "default");
    let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
    wait_for(&mut stream, |e| matches!(e, watcher::Event::InitDone)).await;
    // Make sure the watch is open, so the fault hits the reconnection.
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.open_watches() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "watch not opened in time"
        );
        let _ = tokio::time::timeout(Duration::from_millis(20), stream.next()).await;
    }
    s.expire_next_watch("configmaps");
    s.close_watches();
    api.create(&PostParams::default(), &cm("after", json!({})))
        .await
        .expect("create");
    // Depending on timing "after" is in the relist or in the watch that follows it.
    wait_for(&mut stream, |e| match e {
        watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
            o.metadata.name.as_deref() == Some("after")
        }
        _ => false,
    })
    .await;
    assert_eq!(
        s.hooks().count("list", "configmaps"),
        2,
        "relisted once after 410"
    );
}

#[tokio::test]
async fn event_recorder_creates_then_patches_an_event_series() {
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let s = target().await;
    let created = cm_api(&s, s.ns())
        .create(&PostParams::default(), &cm("subject", json!({})))
        .await
        .expect("create");
    let reference = kube::Resource::object_ref(&created, &());
    let recorder = Recorder::new(
        s.client(),
        Reporter {
            controller: "test-ctl".into(),
            instance: None,
        },
    );
    let ev = Event {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("all good".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder
        .publish(&ev, &reference)
        .await
        .expect("first publish creates");
    recorder
        .publish(&ev, &reference)
        .await
        .expect("second publish patches");
    let events: Api<K8sEvent> = Api::namespaced(s.client(), s.ns());
    let list = events.list(&Default::default()).await.expect("list events");
    assert_eq!(list.items.len(), 1);
    let e = &list.items[0];
    assert_eq!(e.reason.as_deref(), Some("Reconciled"));
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(
        e.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("subject")
    );
}

#[tokio::test]
async fn metadata_watcher_and_metadata_get_see_partial_objects() {
    use kube::core::PartialObjectMeta;
    let s = target().await;
    let api = cm_api(&s, s.ns());
    api.create(&PostParams::default(), &cm("a", json!({"big": "data"})))
        .await
        .expect("create");
    let meta = api.get_metadata("a").await.expect("metadata get");
    assert_eq!(
        meta.types.map(|t| t.kind).as_deref(),
        Some("PartialObjectMetadata")
    );
    let meta_api: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(s.client(), s.ns());
    let mut stream = watcher(meta_api, watcher::Config::default()).boxed();
    tokio::time::timeout(WAIT, async {
        while let Some(ev) = stream.next().await {
            if let Ok(watcher::Event::InitApply(o)) = ev {
                assert_eq!(o.metadata.name.as_deref(), Some("a"));
                return;
            }
        }
    })
    .await
    .expect("metadata watcher lists the object");
}

#[tokio::test]
async fn kube_runtime_finalizer_helper_adds_and_removes_its_finalizer() {
    use kube::runtime::finalizer::{Event as Fin, finalizer};
    let (s, api) = with_things().await;
    api.create(&PostParams::default(), &s.thing("t", json!({})))
        .await
        .expect("create");
    let name = "example.com/cleanup";
    // First pass: the helper adds its finalizer (JSON patch with `test` against null).
    let obj = Arc::new(api.get("t").await.expect("get"));
    let r = finalizer(&api, name, obj, |_ev: Fin<DynamicObject>| async {
        Ok::<_, ReconcileError>(Action::await_change())
    })
    .await;
    assert!(r.is_ok(), "{r:?}");
    let obj = api.get("t").await.expect("get");
    assert_eq!(obj.metadata.finalizers, Some(vec![name.to_string()]));
    // Second pass: apply runs.
    let r = finalizer(
        &api,
        name,
        Arc::new(obj),
        |ev: Fin<DynamicObject>| async move {
            assert!(matches!(ev, Fin::Apply(_)));
            Ok::<_, ReconcileError>(Action::await_change())
        },
    )
    .await;
    assert!(r.is_ok(), "{r:?}");
    api.delete("t", &Default::default()).await.expect("delete");
    let deleting = Arc::new(api.get("t").await.expect("held by the finalizer"));
    let r = finalizer(&api, name, deleting, |ev: Fin<DynamicObject>| async move {
        assert!(matches!(ev, Fin::Cleanup(_)));
        Ok::<_, ReconcileError>(Action::await_change())
    })
    .await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(status_of(api.get("t").await).code, 404);
}
