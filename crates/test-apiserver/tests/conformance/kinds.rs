//! The other built-in kinds (Lease, both Event APIs), multi-version CRDs, dry runs and the watch
//! view of a finalizer-delayed deletion.

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::GroupVersionKind;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn lease_replace_with_stale_version_conflicts_like_leader_election_expects() {
    let s = target().await;
    let api: Api<Lease> = Api::namespaced(s.client(), s.ns());
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).expect("lease");
    let first = api
        .create(&PostParams::default(), &lease)
        .await
        .expect("create");
    let mut mine = first.clone();
    mine.spec.as_mut().expect("spec").holder_identity = Some("b".into());
    api.replace("leader", &PostParams::default(), &mine)
        .await
        .expect("b takes over");
    let mut stale = first;
    stale.spec.as_mut().expect("spec").holder_identity = Some("c".into());
    assert_eq!(
        status_of(api.replace("leader", &PostParams::default(), &stale).await).code,
        409
    );
    let got = api.get("leader").await.expect("get");
    assert_eq!(
        got.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("b")
    );
}

#[tokio::test]
async fn both_event_apis_are_served() {
    let s = target().await;
    let core: Api<CoreEvent> = Api::namespaced(s.client(), s.ns());
    let ev: CoreEvent = serde_json::from_value(json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": s.ns()}, "reason": "Test", "message": "hello"})).expect("event");
    core.create(&PostParams::default(), &ev)
        .await
        .expect("core event");
    let got = core
        .list(&ListParams::default().fields("involvedObject.name=x"))
        .await
        .expect("field selector");
    assert_eq!(got.items.len(), 1);
    let new: Api<Event> = Api::namespaced(s.client(), s.ns());
    let ev: Event = serde_json::from_value(json!({"metadata": {"name": "e2"}, "eventTime": "2026-01-01T00:00:00.000000Z", "regarding": {"kind": "ConfigMap", "name": "x", "namespace": s.ns()}, "reason": "Test", "action": "Do", "reportingController": "c", "reportingInstance": "i", "type": "Normal"})).expect("event");
    new.create(&PostParams::default(), &ev)
        .await
        .expect("events.k8s.io event");
    assert_eq!(
        new.get("e2").await.expect("get").reason.as_deref(),
        Some("Test")
    );
}

#[tokio::test]
async fn events_must_be_about_objects_of_their_own_namespace() {
    let s = target().await;
    let core: Api<CoreEvent> = Api::namespaced(s.client(), s.ns());
    let ev: CoreEvent = serde_json::from_value(json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": "elsewhere"}, "reason": "Test"})).expect("event");
    let st = status_of(core.create(&PostParams::default(), &ev).await);
    assert_eq!(
        st.message,
        r#"Event "e1" is invalid: involvedObject.namespace: Invalid value: "elsewhere": does not match event.namespace"#
    );
    let new: Api<Event> = Api::namespaced(s.client(), s.ns());
    let ev: Event = serde_json::from_value(json!({"metadata": {"name": "e2"}, "eventTime": "2026-01-01T00:00:00.000000Z", "regarding": {"kind": "Node", "name": "n"}, "type": "Normal"})).expect("event");
    let st = status_of(new.create(&PostParams::default(), &ev).await);
    assert_eq!(
        st.message,
        r#"Event "e2" is invalid: [involvedObject.namespace: Invalid value: "": does not match event.namespace, reportingController: Required value, reportingController: Invalid value: "": name part must be non-empty, reportingController: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), reportingInstance: Required value, action: Required value, reason: Required value]"#
    );
}

#[tokio::test]
async fn every_served_crd_version_serves_the_same_objects() {
    let s = target().await;
    let mut c = s.crd("Thing", "things", true, None);
    let v1 = c["spec"]["versions"][0].clone();
    let mut v1alpha1 = v1.clone();
    v1alpha1["name"] = json!("v1alpha1");
    v1alpha1["storage"] = json!(false);
    c["spec"]["versions"] = json!([v1, v1alpha1]);
    s.install_crd(c).await;
    let v1_api = s.things();
    v1_api
        .create(&PostParams::default(), &s.thing("t", json!({"a": 1})))
        .await
        .expect("create v1");
    let alpha = kube::api::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(s.group(), "v1alpha1", "Thing"),
        "things",
    );
    let alpha_api: Api<DynamicObject> = Api::namespaced_with(s.client(), s.ns(), &alpha);
    let got = alpha_api.get("t").await.expect("get v1alpha1");
    assert_eq!(
        got.types.expect("types").api_version,
        format!("{}/v1alpha1", s.group())
    );
    assert_eq!(got.data["spec"]["a"], 1);
}

#[tokio::test]
async fn dry_run_create_does_not_persist() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    api.create(&pp, &cm("a", json!({}))).await.expect("dry run");
    assert_eq!(status_of(api.get("a").await).code, 404);
}

#[tokio::test]
async fn finalizer_delayed_deletion_is_modified_then_deleted_on_the_watch() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut o = cm("a", json!({}));
    o.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    let created = api
        .create(&PostParams::default(), &o)
        .await
        .expect("create");
    let wp = WatchParams::default()
        .disable_bookmarks()
        .fields("metadata.name=a");
    let mut stream = api.watch(&wp, &rv(&created)).await.expect("watch").boxed();
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let ev = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("ok");
        kinds.push(match ev {
            WatchEvent::Modified(o) => format!(
                "MODIFIED deleting={}",
                o.metadata.deletion_timestamp.is_some()
            ),
            WatchEvent::Deleted(o) => format!("DELETED finalizers={:?}", o.metadata.finalizers),
            other => format!("{other:?}"),
        });
        if kinds.last().is_some_and(|k| k.starts_with("DELETED")) {
            break;
        }
    }
    // As kube-apiserver: the update that removes the last finalizer is the deletion itself.
    // The DELETED event carries the object as last stored, finalizers and all.
    assert_eq!(
        kinds,
        vec![
            "MODIFIED deleting=true",
            "DELETED finalizers=Some([\"example.com/hold\"])"
        ]
    );
}

#[tokio::test]
async fn status_write_with_stale_version_conflicts() {
    let (s, api) = with_things().await;
    let created = api
        .create(&PostParams::default(), &s.thing("t", json!({})))
        .await
        .expect("create");
    api.patch(
        "t",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"a": 1}})),
    )
    .await
    .expect("bump");
    let mut stale = created.clone();
    stale.data["status"] = json!({"phase": "X"});
    assert_eq!(
        status_of(
            api.replace_status("t", &PostParams::default(), &stale)
                .await
        )
        .code,
        409
    );
}
