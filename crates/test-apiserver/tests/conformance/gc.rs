//! Garbage collection through `ownerReferences`: dependents go with their last owner, unless
//! the owner is deleted with the Orphan propagation policy.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::common::*;

fn owned(name: &str, owners: &[&ConfigMap]) -> ConfigMap {
    let refs: Vec<serde_json::Value> = owners
        .iter()
        .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o.metadata.name, "uid": o.metadata.uid}))
        .collect();
    serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": refs}}))
        .expect("configmap")
}

#[tokio::test]
async fn deleting_the_owner_deletes_its_dependents_transitively() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .expect("owner");
    let child = api
        .create(&PostParams::default(), &owned("child", &[&owner]))
        .await
        .expect("child");
    api.create(&PostParams::default(), &owned("grandchild", &[&child]))
        .await
        .expect("grandchild");
    api.delete("owner", &DeleteParams::default())
        .await
        .expect("delete owner");
    assert_eq!(status_of(api.get("child").await).code, 404);
    assert_eq!(status_of(api.get("grandchild").await).code, 404);
}

#[tokio::test]
async fn dependents_with_another_owner_lose_only_the_dangling_reference() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let a = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("a");
    let b = api
        .create(&PostParams::default(), &cm("b", json!({})))
        .await
        .expect("b");
    api.create(&PostParams::default(), &owned("shared", &[&a, &b]))
        .await
        .expect("shared");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete a");
    let shared = api.get("shared").await.expect("still there");
    let owners: Vec<String> = shared
        .metadata
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(owners, vec!["b"]);
}

#[tokio::test]
async fn orphan_propagation_keeps_dependents() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .expect("owner");
    api.create(&PostParams::default(), &owned("child", &[&owner]))
        .await
        .expect("child");
    api.delete("owner", &DeleteParams::orphan())
        .await
        .expect("delete owner");
    let child = api.get("child").await.expect("orphaned child remains");
    assert!(child.metadata.owner_references.is_none());
}

#[tokio::test]
async fn dependents_with_finalizers_are_marked_for_deletion() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .expect("owner");
    let mut child = owned("child", &[&owner]);
    child.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &child)
        .await
        .expect("child");
    api.delete("owner", &DeleteParams::default())
        .await
        .expect("delete owner");
    let child = api.get("child").await.expect("held by its finalizer");
    assert!(child.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .expect("owner");
    let mut child = owned("child", &[&owner]);
    child.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &child)
        .await
        .expect("child");
    api.delete("owner", &DeleteParams::foreground())
        .await
        .expect("delete owner");
    let waiting = api.get("owner").await.expect("owner waits");
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(
        waiting.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert!(
        api.get("child")
            .await
            .expect("child")
            .metadata
            .deletion_timestamp
            .is_some()
    );
    api.patch(
        "child",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release child");
    assert_eq!(status_of(api.get("child").await).code, 404);
    assert_eq!(status_of(api.get("owner").await).code, 404);
}

#[tokio::test]
async fn foreground_deletion_without_blockers_completes_at_once() {
    let Some(s) = embedded_only(
        "garbage collection needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let api = cm_api(&s, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .expect("owner");
    api.create(&PostParams::default(), &owned("child", &[&owner]))
        .await
        .expect("child");
    api.delete("owner", &DeleteParams::foreground())
        .await
        .expect("delete owner");
    assert_eq!(status_of(api.get("owner").await).code, 404);
    assert_eq!(status_of(api.get("child").await).code, 404);
}

#[tokio::test]
async fn namespace_deletion_emits_one_deleted_event_per_object() {
    let Some(s) = embedded_only(
        "namespace deletion needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let ns_api: Api<Namespace> = Api::all(s.client());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("ns");
    ns_api
        .create(&PostParams::default(), &ns)
        .await
        .expect("create ns");
    let api = cm_api(&s, "team");
    let owner = api
        .create(&PostParams::default(), &cm("a-owner", json!({})))
        .await
        .expect("owner");
    let last = api
        .create(&PostParams::default(), &owned("b-child", &[&owner]))
        .await
        .expect("child");
    let mut stream = api
        .watch(
            &WatchParams::default().disable_bookmarks(),
            &last.metadata.resource_version.clone().expect("rv"),
        )
        .await
        .expect("watch")
        .boxed();
    ns_api
        .delete("team", &DeleteParams::default())
        .await
        .expect("delete ns");
    let mut deleted = Vec::new();
    while deleted.len() < 2 {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("event in time")
            .expect("open")
            .expect("ok")
        {
            WatchEvent::Deleted(o) => deleted.push(o.metadata.name.unwrap_or_default()),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Nothing else follows (a duplicate DELETED would arrive right behind the others).
    let extra = tokio::time::timeout(std::time::Duration::from_millis(300), stream.next()).await;
    assert!(extra.is_err(), "unexpected extra event {extra:?}");
    deleted.sort();
    assert_eq!(deleted, vec!["a-owner", "b-child"]);
}
