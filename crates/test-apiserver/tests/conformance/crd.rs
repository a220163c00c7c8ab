//! CustomResourceDefinitions: serving, discovery, scope, the status subresource, generation and
//! Kubernetes' error strings for grouped resources.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn created_crd_is_established_and_discoverable() {
    let s = server().await;
    install_crd(&s, crd("Thing", "things", true, None)).await;
    let got = crd_api(&s).get("things.example.com").await.expect("crd");
    let conds = got.data["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .clone();
    for t in ["Established", "NamesAccepted"] {
        assert!(
            conds
                .iter()
                .any(|c| c["type"] == t && c["status"] == "True"),
            "{t}"
        );
    }
    assert_eq!(got.data["status"]["acceptedNames"]["kind"], "Thing");
    let discovery = Discovery::new(s.client()).run().await.expect("discovery");
    let (ar, caps) = discovery
        .resolve_gvk(&kube::core::GroupVersionKind::gvk(
            "example.com",
            "v1",
            "Thing",
        ))
        .expect("Thing discovered");
    assert_eq!(ar.plural, "things");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(sub, _)| sub.plural == "things/status" || sub.plural == "status")
    );
}

#[tokio::test]
async fn namespaced_custom_resources_round_trip() {
    let (_s, api) = with_things().await;
    let created = api
        .create(&PostParams::default(), &thing("t1", json!({"size": 1})))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    let got = api.get("t1").await.expect("get");
    assert_eq!(got.data["spec"]["size"], 1);
    let st = status_of(api.get("missing").await);
    assert_eq!(st.message, "things.example.com \"missing\" not found");
    let st = status_of(
        api.create(&PostParams::default(), &thing("t1", json!({})))
            .await,
    );
    assert_eq!(st.message, "things.example.com \"t1\" already exists");
}

#[tokio::test]
async fn cluster_scoped_custom_resources_have_no_namespace() {
    let s = server().await;
    install_crd(&s, crd("Widget", "widgets", false, None)).await;
    let api: Api<DynamicObject> = Api::all_with(s.client(), &widget_resource());
    let w: DynamicObject = serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {}})).expect("widget");
    let created = api
        .create(&PostParams::default(), &w)
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace, None);
    assert_eq!(
        api.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    let (code, _, _) = raw(
        &s,
        "GET",
        "/apis/example.com/v1/namespaces/default/widgets",
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn main_resource_writes_ignore_status_and_status_writes_ignore_the_rest() {
    let (_s, api) = with_things().await;
    let mut t = thing("t1", json!({"size": 1}));
    t.data["status"] = json!({"phase": "ignored-on-create"});
    let created = api
        .create(&PostParams::default(), &t)
        .await
        .expect("create");
    assert!(created.data.get("status").is_none());
    let patched = api
        .patch_status("t1", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Ready"}, "spec": {"size": 5}, "metadata": {"labels": {"x": "y"}}})))
        .await
        .expect("status patch");
    assert_eq!(patched.data["status"]["phase"], "Ready");
    assert_eq!(patched.data["spec"]["size"], 1);
    assert!(patched.metadata.labels.is_none());
    assert_eq!(
        patched.metadata.generation,
        Some(1),
        "status writes do not bump generation"
    );
    let main = api
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Hacked"}, "spec": {"size": 2}})),
        )
        .await
        .expect("main patch");
    assert_eq!(main.data["status"]["phase"], "Ready");
    assert_eq!(main.data["spec"]["size"], 2);
    assert_eq!(main.metadata.generation, Some(2));
    let got = api.get_status("t1").await.expect("get status");
    assert_eq!(got.data["status"]["phase"], "Ready");
    let mut whole = got.clone();
    whole.data["status"] = json!({"phase": "Replaced"});
    let replaced = api
        .replace_status("t1", &PostParams::default(), &whole)
        .await
        .expect("replace status");
    assert_eq!(replaced.data["status"]["phase"], "Replaced");
}

#[tokio::test]
async fn generation_changes_only_outside_metadata_and_status() {
    let (_s, api) = with_things().await;
    api.create(&PostParams::default(), &thing("t1", json!({"size": 1})))
        .await
        .expect("create");
    let labelled = api
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}}})),
        )
        .await
        .expect("labels");
    assert_eq!(labelled.metadata.generation, Some(1));
    let spec = api
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .expect("spec");
    assert_eq!(spec.metadata.generation, Some(2));
    let same = api
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .expect("same");
    assert_eq!(same.metadata.generation, Some(2));
    assert_eq!(rv(&same), rv(&spec));
}

#[tokio::test]
async fn conflict_message_names_the_grouped_resource() {
    let (_s, api) = with_things().await;
    let created = api
        .create(&PostParams::default(), &thing("x", json!({"a": 1})))
        .await
        .expect("create");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"a": 2}})),
    )
    .await
    .expect("patch");
    let st = status_of(api.replace("x", &PostParams::default(), &created).await);
    assert_eq!(
        st.message,
        "Operation cannot be fulfilled on things.example.com \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(st.details.expect("details").group, "example.com");
}

#[tokio::test]
async fn deleting_the_crd_stops_serving_its_resources() {
    let (s, api) = with_things().await;
    api.create(&PostParams::default(), &thing("t1", json!({})))
        .await
        .expect("create");
    crd_api(&s)
        .delete("things.example.com", &DeleteParams::default())
        .await
        .expect("delete crd");
    assert_eq!(status_of(api.get("t1").await).code, 404);
    let (code, _, _) = raw(&s, "GET", "/apis/example.com/v1", "application/json", "").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn crd_deletion_waits_for_custom_resource_finalizers() {
    let (s, api) = with_things().await;
    let mut held = thing("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create");
    crd_api(&s)
        .delete("things.example.com", &DeleteParams::default())
        .await
        .expect("delete crd");
    let crd = crd_api(&s)
        .get("things.example.com")
        .await
        .expect("crd waits");
    assert!(crd.metadata.deletion_timestamp.is_some());
    assert!(
        api.get("held")
            .await
            .expect("held")
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let st = status_of(
        api.create(&PostParams::default(), &thing("new", json!({})))
            .await,
    );
    assert_eq!(st.code, 405);
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    assert_eq!(
        status_of(crd_api(&s).get("things.example.com").await).code,
        404
    );
    assert_eq!(status_of(api.list(&ListParams::default()).await).code, 404);
}

#[tokio::test]
async fn crd_with_mismatched_name_is_422() {
    let s = server().await;
    let mut c = crd("Thing", "things", true, None);
    c["metadata"]["name"] = json!("wrong.example.com");
    let obj: DynamicObject = serde_json::from_value(c).expect("crd");
    let st = status_of(crd_api(&s).create(&PostParams::default(), &obj).await);
    assert_eq!(st.code, 422);
    assert!(st.message.starts_with("CustomResourceDefinition.apiextensions.k8s.io \"wrong.example.com\" is invalid: metadata.name"), "{}", st.message);
}
