//! CustomResourceDefinitions: serving, discovery, scope, the status subresource, generation and
//! Kubernetes' error strings for grouped resources.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn created_crd_is_established_and_discoverable() {
    let s = target().await;
    s.install_crd(s.crd("Thing", "things", true, None)).await;
    let got = crd_api(&s)
        .get(&format!("things.{}", s.group()))
        .await
        .expect("crd");
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
    // A real server publishes a new group's discovery a moment after establishing the CRD.
    let gvk = kube::core::GroupVersionKind::gvk(s.group(), "v1", "Thing");
    let (ar, caps) = eventually("Thing discovered", || async {
        Discovery::new(s.client())
            .filter(&[s.group()])
            .run()
            .await
            .expect("discovery")
            .resolve_gvk(&gvk)
    })
    .await;
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
    let (s, api) = with_things().await;
    let created = api
        .create(&PostParams::default(), &s.thing("t1", json!({"size": 1})))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    let got = api.get("t1").await.expect("get");
    assert_eq!(got.data["spec"]["size"], 1);
    let st = status_of(api.get("missing").await);
    assert_eq!(
        st.message,
        format!("things.{} \"missing\" not found", s.group())
    );
    let st = status_of(
        api.create(&PostParams::default(), &s.thing("t1", json!({})))
            .await,
    );
    assert_eq!(
        st.message,
        format!("things.{} \"t1\" already exists", s.group())
    );
}

#[tokio::test]
async fn cluster_scoped_custom_resources_have_no_namespace() {
    let s = target().await;
    s.install_crd(s.crd("Widget", "widgets", false, None)).await;
    let api: Api<DynamicObject> = Api::all_with(s.client(), &s.widget_resource());
    let w: DynamicObject = serde_json::from_value(json!({"apiVersion": format!("{}/v1", s.group()), "kind": "Widget", "metadata": {"name": "w1"}, "spec": {}})).expect("widget");
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
        &format!("/apis/{}/v1/namespaces/{}/widgets", s.group(), s.ns()),
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn main_resource_writes_ignore_status_and_status_writes_ignore_the_rest() {
    let (s, api) = with_things().await;
    let mut t = s.thing("t1", json!({"size": 1}));
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
    let (s, api) = with_things().await;
    api.create(&PostParams::default(), &s.thing("t1", json!({"size": 1})))
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
    let (s, api) = with_things().await;
    let created = api
        .create(&PostParams::default(), &s.thing("x", json!({"a": 1})))
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
        format!(
            "Operation cannot be fulfilled on things.{} \"x\": the object has been modified; please apply your changes to the latest version and try again",
            s.group()
        )
    );
    assert_eq!(st.details.expect("details").group, s.group());
}

#[tokio::test]
async fn deleting_the_crd_stops_serving_its_resources() {
    let (s, api) = with_things().await;
    api.create(&PostParams::default(), &s.thing("t1", json!({})))
        .await
        .expect("create");
    crd_api(&s)
        .delete(&format!("things.{}", s.group()), &DeleteParams::default())
        .await
        .expect("delete crd");
    // At once on the embedded server; a real one cleans up in the background.
    eventually("the group to go", || async {
        let path = format!("/apis/{}/v1", s.group());
        (raw(&s, "GET", &path, "application/json", "").await.0 == 404).then_some(())
    })
    .await;
    assert_eq!(status_of(api.get("t1").await).code, 404);
}

#[tokio::test]
async fn crd_deletion_waits_for_custom_resource_finalizers() {
    let (s, api) = with_things().await;
    let crd_name = format!("things.{}", s.group());
    let mut held = s.thing("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create");
    crd_api(&s)
        .delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete crd");
    let crd = crd_api(&s).get(&crd_name).await.expect("crd waits");
    assert!(crd.metadata.deletion_timestamp.is_some());
    eventually("the held object to be deleting", || async {
        let held = api.get("held").await.expect("held");
        held.metadata.deletion_timestamp.map(|_| ())
    })
    .await;
    let st = status_of(
        api.create(&PostParams::default(), &s.thing("new", json!({})))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        st.message,
        format!(
            "things.{} \"new\" is forbidden: create not allowed while custom resource definition is terminating",
            s.group()
        )
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    eventually("the CRD to go", || async {
        match crd_api(&s).get(&crd_name).await {
            Err(kube::Error::Api(st)) if st.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
    assert_eq!(status_of(api.list(&ListParams::default()).await).code, 404);
}

#[tokio::test]
async fn crd_with_mismatched_name_is_422() {
    let s = target().await;
    let mut c = s.crd("Thing", "things", true, None);
    c["metadata"]["name"] = json!("wrong.example.com");
    let obj: DynamicObject = serde_json::from_value(c).expect("crd");
    let st = status_of(crd_api(&s).create(&PostParams::default(), &obj).await);
    assert_eq!(st.code, 422);
    assert!(st.message.starts_with("CustomResourceDefinition.apiextensions.k8s.io \"wrong.example.com\" is invalid: metadata.name"), "{}", st.message);
}

#[tokio::test]
async fn strategic_merge_patch_of_a_custom_resource_is_415() {
    let (s, api) = with_things().await;
    api.create(&PostParams::default(), &s.thing("t", json!({"a": 1})))
        .await
        .expect("create");
    let smp = Patch::Strategic(json!({"spec": {"a": 2}}));
    let accepted =
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
    for st in [
        status_of(api.patch("t", &PatchParams::default(), &smp).await),
        status_of(api.patch_status("t", &PatchParams::default(), &smp).await),
        // The media type is checked before the object is looked up.
        status_of(api.patch("missing", &PatchParams::default(), &smp).await),
    ] {
        assert_eq!((st.code, st.reason.as_str()), (415, "UnsupportedMediaType"));
        assert_eq!(
            st.message,
            format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}"
            )
        );
    }
    assert_eq!(api.get("t").await.expect("get").data["spec"]["a"], 1);
}

#[tokio::test]
async fn map_list_keys_must_be_required_or_defaulted() {
    let s = target().await;
    let schema = json!({"type": "object", "properties": {
        "status": {"type": "object", "properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object", "properties": {"type": {"type": "string"}}}
        }}}
    }});
    let obj: DynamicObject =
        serde_json::from_value(s.crd("Thing", "things", true, Some(schema))).expect("crd");
    let st = status_of(crd_api(&s).create(&PostParams::default(), &obj).await);
    assert_eq!(st.code, 422);
    assert_eq!(
        st.message,
        format!(
            "CustomResourceDefinition.apiextensions.k8s.io \"things.{}\" is invalid: spec.validation.openAPIV3Schema.properties[status].properties[conditions].items.properties[type].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
            s.group()
        )
    );
}

#[tokio::test]
async fn unqualified_custom_resource_finalizers_get_a_warning() {
    let (s, _api) = with_things().await;
    let mut t = s.thing("t", json!({}));
    t.metadata.finalizers = Some(vec!["cleanup".into(), "example.com/ok".into()]);
    let path = format!("/apis/{}/v1/namespaces/{}/things", s.group(), s.ns());
    let body = serde_json::to_string(&t).expect("json");
    let (code, headers, _) = raw(&s, "POST", &path, "application/json", &body).await;
    assert_eq!(code, 201);
    let warnings: Vec<&str> = headers
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().expect("text"))
        .collect();
    assert_eq!(
        warnings,
        vec![
            r#"299 - "metadata.finalizers: \"cleanup\": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers""#
        ]
    );
}

#[tokio::test]
async fn update_operations_record_custom_resource_fields() {
    let (s, api) = with_things().await;
    let pp = PostParams {
        field_manager: Some("creator".into()),
        ..Default::default()
    };
    let created = api
        .create(&pp, &s.thing("t", json!({"a": 1, "b": {"c": 2}})))
        .await
        .expect("create");
    let fields = created.metadata.managed_fields.expect("managedFields")[0]
        .fields_v1
        .clone()
        .expect("fieldsV1")
        .0;
    // Known difference: kube-apiserver also records the object nodes an Update creates
    // (FieldsV1 "."); test-apiserver records their leaves only.
    let want = if s.embedded().is_some() {
        json!({"f:spec": {"f:a": {}, "f:b": {"f:c": {}}}})
    } else {
        json!({"f:spec": {".": {}, "f:a": {}, "f:b": {".": {}, "f:c": {}}}})
    };
    assert_eq!(fields, want);
}
