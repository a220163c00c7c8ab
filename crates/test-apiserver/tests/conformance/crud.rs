//! CRUD, errors, concurrency, patches, finalizers, namespaces, selectors and paging on built-in
//! kinds through `kube::Client`.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn configmap_round_trips_with_server_set_metadata() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "v"})))
        .await
        .expect("create");
    let md = &created.metadata;
    assert!(md.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(md.creation_timestamp.is_some());
    assert_eq!(md.namespace.as_deref(), Some(s.ns()));
    let got = api.get("a").await.expect("get");
    assert_eq!(got.data.as_ref().expect("data")["k"], "v");
    let mut updated = got.clone();
    updated.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = api
        .replace("a", &PostParams::default(), &updated)
        .await
        .expect("replace");
    assert_ne!(rv(&updated), rv(&created));
    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    let list_rv = list.metadata.resource_version.expect("list rv");
    if s.embedded().is_some() {
        // Versions are opaque on a real server; the embedded one counts up.
        assert!(rv_number(&rv(&updated)) > rv_number(&rv(&created)));
        assert!(rv_number(&list_rv) >= rv_number(&rv(&updated)));
    }
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(status_of(api.get("a").await).code, 404);
}

#[tokio::test]
async fn generate_name_gives_distinct_names() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut obj = cm("", json!({}));
    obj.metadata.name = None;
    obj.metadata.generate_name = Some("gen-".into());
    let a = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("first");
    let b = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("second");
    let (na, nb) = (
        a.metadata.name.expect("name"),
        b.metadata.name.expect("name"),
    );
    assert!(na.starts_with("gen-") && na.len() == 9, "{na}");
    assert_ne!(na, nb);
}

#[tokio::test]
async fn missing_object_is_404_with_kubernetes_message() {
    let s = target().await;
    let st = status_of(cm_api(&s, s.ns()).get("nope").await);
    assert_eq!((st.code, st.reason.as_str()), (404, "NotFound"));
    assert_eq!(st.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn creating_an_existing_name_is_409_already_exists() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let st = status_of(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(st.message, "configmaps \"a\" already exists");
}

#[tokio::test]
async fn stale_resource_version_is_409_conflict_on_put_and_patch() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let first = api
        .create(&PostParams::default(), &cm("a", json!({"n": "1"})))
        .await
        .expect("create");
    let mut second = first.clone();
    second.data = Some([("n".to_string(), "2".to_string())].into());
    api.replace("a", &PostParams::default(), &second)
        .await
        .expect("first writer wins");
    let st = status_of(api.replace("a", &PostParams::default(), &second).await);
    assert_eq!((st.code, st.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        st.message,
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let stale = json!({"metadata": {"resourceVersion": first.metadata.resource_version}, "data": {"n": "3"}});
    let st = status_of(
        api.patch("a", &PatchParams::default(), &Patch::Merge(&stale))
            .await,
    );
    assert_eq!(st.code, 409);
}

#[tokio::test]
async fn create_in_missing_namespace_is_404() {
    let s = target().await;
    let ghost = s.unique("ghost");
    let st = status_of(
        cm_api(&s, &ghost)
            .create(&PostParams::default(), &cm("a", json!({})))
            .await,
    );
    assert_eq!(st.code, 404);
    assert_eq!(st.message, format!("namespaces \"{ghost}\" not found"));
}

#[tokio::test]
async fn write_that_changes_nothing_keeps_the_resource_version() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "v"})))
        .await
        .expect("create");
    let same = api
        .replace("a", &PostParams::default(), &created)
        .await
        .expect("replace");
    assert_eq!(rv(&same), rv(&created));
    let patched = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "v"}})),
        )
        .await
        .expect("patch");
    assert_eq!(rv(&patched), rv(&created));
}

#[tokio::test]
async fn json_merge_and_strategic_patches_apply() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    api.create(
        &PostParams::default(),
        &cm("a", json!({"x": "1", "y": "2"})),
    )
    .await
    .expect("create");
    let p: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/data/x", "value": "9"}]))
            .expect("patch");
    let o = api
        .patch("a", &PatchParams::default(), &Patch::Json::<()>(p))
        .await
        .expect("json patch");
    assert_eq!(o.data.as_ref().expect("data")["x"], "9");
    let o = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"y": null}})),
        )
        .await
        .expect("merge");
    assert!(!o.data.as_ref().expect("data").contains_key("y"));
    let o = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"finalizers": ["f/one"]}})),
        )
        .await
        .expect("strategic");
    assert_eq!(o.metadata.finalizers, Some(vec!["f/one".to_string()]));
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut obj = cm("a", json!({}));
    obj.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create");
    let resp = api
        .delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let deleting = resp
        .left()
        .expect("object returned while finalizers remain");
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.deletion_grace_period_seconds, Some(0));
    let st = status_of(
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold", "x"]}})),
        )
        .await,
    );
    assert_eq!(st.code, 422);
    assert_eq!(
        st.message,
        "ConfigMap \"a\" is invalid: [metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x\"}, metadata.finalizers[1]: Invalid value: \"x\": name is neither a standard finalizer name nor is it fully qualified]"
    );
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    assert_eq!(status_of(api.get("a").await).code, 404);
}

#[tokio::test]
async fn deleting_a_namespace_removes_its_objects() {
    let Some(s) = embedded_only(
        "namespace deletion needs kube-controller-manager, which the real tier does not run",
    )
    .await
    else {
        return;
    };
    let ns_api: Api<Namespace> = Api::all(s.client());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("ns");
    let created = ns_api
        .create(&PostParams::default(), &ns)
        .await
        .expect("create ns");
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    cm_api(&s, "team")
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create cm");
    ns_api
        .delete("team", &DeleteParams::default())
        .await
        .expect("delete ns");
    assert_eq!(status_of(cm_api(&s, "team").get("a").await).code, 404);
    assert_eq!(status_of(ns_api.get("team").await).code, 404);
}

#[tokio::test]
async fn namespace_terminates_until_finalized_content_is_gone() {
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
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create held");
    api.create(&PostParams::default(), &cm("free", json!({})))
        .await
        .expect("create free");
    ns_api
        .delete("team", &DeleteParams::default())
        .await
        .expect("delete ns");
    let terminating = ns_api.get("team").await.expect("namespace waits");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert_eq!(status_of(api.get("free").await).code, 404);
    assert!(
        api.get("held")
            .await
            .expect("held")
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let st = status_of(
        api.create(&PostParams::default(), &cm("new", json!({})))
            .await,
    );
    assert_eq!(st.code, 403);
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    assert_eq!(status_of(ns_api.get("team").await).code, 404);
}

#[tokio::test]
async fn creating_in_a_terminating_namespace_is_403_forbidden() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create held");
    let ns_api: Api<Namespace> = Api::all(s.client());
    ns_api
        .delete(s.ns(), &DeleteParams::default())
        .await
        .expect("delete ns");
    let terminating = ns_api.get(s.ns()).await.expect("namespace waits");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    // A real server's admission learns of the deletion from its informer, a moment later.
    let st = eventually("creates to be forbidden", || async {
        match api
            .create(&PostParams::default(), &cm("new", json!({})))
            .await
        {
            Err(kube::Error::Api(st)) if st.code == 403 => Some(st),
            _ => None,
        }
    })
    .await;
    assert_eq!(st.reason, "Forbidden");
    assert_eq!(
        st.message,
        format!(
            "configmaps \"new\" is forbidden: unable to create new content in namespace {} because it is being terminated",
            s.ns()
        )
    );
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    for (name, app) in [("a", "web"), ("b", "db"), ("c", "cache")] {
        let mut o = cm(name, json!({}));
        o.metadata.labels = Some([("app".to_string(), app.to_string())].into());
        api.create(&PostParams::default(), &o)
            .await
            .expect("create");
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect()
    };
    for (sel, want) in [
        ("app=web", vec!["a"]),
        ("app!=web", vec!["b", "c"]),
        ("app in (web,db)", vec!["a", "b"]),
        ("app notin (web,db)", vec!["c"]),
        ("app", vec!["a", "b", "c"]),
        ("!app", vec![]),
    ] {
        let got = names(
            api.list(&ListParams::default().labels(sel))
                .await
                .expect("list"),
        );
        assert_eq!(got, want, "{sel}");
    }
    let got = names(
        api.list(&ListParams::default().fields("metadata.name=b"))
            .await
            .expect("list"),
    );
    assert_eq!(got, vec!["b"]);
    let all: Api<ConfigMap> = Api::all(s.client());
    let got = names(
        all.list(
            &ListParams::default()
                .fields(&format!("metadata.namespace={},metadata.name!=a", s.ns())),
        )
        .await
        .expect("list"),
    );
    assert_eq!(got, vec!["b", "c"]);
}

#[tokio::test]
async fn limit_and_continue_page_through_a_list() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    for i in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), json!({})))
            .await
            .expect("create");
    }
    let first = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("continue token");
    let second = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    let third = api
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(&second.metadata.continue_.clone().expect("token")),
        )
        .await
        .expect("page 3");
    assert_eq!(third.items.len(), 1);
    assert!(
        third
            .metadata
            .continue_
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn malformed_body_is_400_bad_request() {
    let s = target().await;
    let (code, _, body) = raw(
        &s,
        "POST",
        &format!("/api/v1/namespaces/{}/configmaps", s.ns()),
        "application/json",
        "{not json",
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(body["kind"], "Status");
}

#[tokio::test]
async fn field_validation_strict_rejects_and_warn_reports_unknown_fields() {
    let s = target().await;
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"bogus":1}"#;
    let (code, _, st) = raw(
        &s,
        "POST",
        &format!(
            "/api/v1/namespaces/{}/configmaps?fieldValidation=Strict",
            s.ns()
        ),
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\""
    );
    let dup = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1","k":"2"}}"#;
    let (code, _, st) = raw(
        &s,
        "POST",
        &format!(
            "/api/v1/namespaces/{}/configmaps?fieldValidation=Strict",
            s.ns()
        ),
        "application/json",
        dup,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"data.k\""
    );
    let (code, headers, obj) = raw(
        &s,
        "POST",
        &format!(
            "/api/v1/namespaces/{}/configmaps?fieldValidation=Warn",
            s.ns()
        ),
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 201);
    assert!(obj.get("bogus").is_none());
    assert_eq!(
        headers.get("warning").expect("warning header"),
        "299 - \"unknown field \\\"bogus\\\"\""
    );
    let (code, headers, _) = raw(
        &s,
        "POST",
        &format!(
            "/api/v1/namespaces/{}/configmaps?fieldValidation=Ignore",
            s.ns()
        ),
        "application/json",
        &body.replace("\"a\"", "\"b\""),
    )
    .await;
    assert_eq!(code, 201);
    assert!(headers.get("warning").is_none());
}

#[tokio::test]
async fn invalid_name_is_422_invalid() {
    let s = target().await;
    let st = status_of(
        cm_api(&s, s.ns())
            .create(&PostParams::default(), &cm("Not_Valid", json!({})))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
    assert!(st.message.starts_with("ConfigMap \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\": a lowercase RFC 1123 subdomain"), "{}", st.message);
}

#[tokio::test]
async fn delete_collection_removes_matching_objects() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    for name in ["a", "b"] {
        let mut o = cm(name, json!({}));
        o.metadata.labels = Some([("del".to_string(), (name == "a").to_string())].into());
        api.create(&PostParams::default(), &o)
            .await
            .expect("create");
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("del=true"),
    )
    .await
    .expect("deletecollection");
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(left, vec!["b"]);
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data_and_type_defaults_to_opaque() {
    use k8s_openapi::api::core::v1::Secret;
    let s = target().await;
    let api: Api<Secret> = Api::namespaced(s.client(), s.ns());
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}))
            .expect("secret");
    let created = api
        .create(&PostParams::default(), &secret)
        .await
        .expect("create");
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert!(created.string_data.is_none());
    assert_eq!(created.data.expect("data")["k"].0, b"v".to_vec());
    let body = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"bad"},"data":{"k":"not base64!"}}"#;
    let (code, _, st) = raw(
        &s,
        "POST",
        &format!("/api/v1/namespaces/{}/secrets", s.ns()),
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 3"
    );
}

#[tokio::test]
async fn malformed_requests_get_client_errors_and_the_server_keeps_serving() {
    let s = target().await;
    cm_api(&s, s.ns())
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let base = &format!("/api/v1/namespaces/{}/configmaps", s.ns());
    let item = &format!("{base}/a");
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("POST", base.into(), "application/json", "[1,2,3]"),
        ("POST", base.into(), "application/json", "\"text\""),
        (
            "POST",
            base.into(),
            "application/json",
            r#"{"metadata": "nope"}"#,
        ),
        (
            "POST",
            base.into(),
            "application/json",
            r#"{"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "b"}}"#,
        ),
        (
            "POST",
            base.into(),
            "application/json",
            r#"{"kind": "Secret", "metadata": {"name": "b"}}"#,
        ),
        (
            "POST",
            base.into(),
            "application/vnd.kubernetes.protobuf",
            "garbage",
        ),
        ("POST", base.into(), "application/cbor", "garbage"),
        ("PUT", item.into(), "application/json", "null"),
        (
            "PUT",
            item.into(),
            "application/json",
            r#"{"metadata": {"name": "other"}}"#,
        ),
        (
            "PATCH",
            item.into(),
            "application/json-patch+json",
            r#"{"op": "add"}"#,
        ),
        (
            "PATCH",
            item.into(),
            "application/json-patch+json",
            r#"[{"op": "replace", "path": "", "value": 5}]"#,
        ),
        (
            "PATCH",
            item.into(),
            "application/json-patch+json",
            r#"[{"op": "remove", "path": "/nope/deeper"}]"#,
        ),
        ("PATCH", item.into(), "application/merge-patch+json", "[1]"),
        (
            "PATCH",
            item.into(),
            "application/merge-patch+json",
            r#"{"metadata": 5}"#,
        ),
        (
            "PATCH",
            item.into(),
            "application/strategic-merge-patch+json",
            "7",
        ),
        (
            "PATCH",
            item.into(),
            "application/apply-patch+yaml",
            ": : :",
        ),
        (
            "PATCH",
            format!("{item}?fieldManager=m"),
            "application/apply-patch+yaml",
            "- a\n- b",
        ),
        (
            "PATCH",
            format!("{item}?fieldManager=m"),
            "application/apply-patch+yaml",
            "kind: ConfigMap",
        ),
        ("PATCH", item.into(), "text/plain", "x"),
        (
            "GET",
            format!("{base}?labelSelector=a%20in%20(b"),
            "application/json",
            "",
        ),
        (
            "GET",
            format!("{base}?fieldSelector=nonsense"),
            "application/json",
            "",
        ),
        ("GET", format!("{base}?limit=x"), "application/json", ""),
        (
            "GET",
            format!("{base}?limit=1&continue=zz"),
            "application/json",
            "",
        ),
        (
            "POST",
            format!("{base}?fieldValidation=Bogus"),
            "application/json",
            r#"{"metadata": {"name": "c"}}"#,
        ),
        ("DELETE", format!("{base}/zz"), "application/json", ""),
        ("DELETE", item.into(), "application/json", "{bad"),
        ("GET", format!("{item}/status"), "application/json", ""),
        (
            "POST",
            "/api/v1/configmaps".into(),
            "application/json",
            r#"{"metadata": {"name": "c"}}"#,
        ),
    ];
    for (method, path, ct, body) in &cases {
        let (code, _, st) = raw(&s, method, path, ct, body).await;
        assert!(
            (400..500).contains(&code),
            "{method} {path} {body:?}: {code} {st}"
        );
        assert_eq!(st["kind"], "Status", "{method} {path} {body:?}");
    }
    // A group nobody serves gets Go's plain-text 404, not a Status.
    let (code, _, body) = raw(&s, "GET", "/apis/nope.io/v1/things", "", "").await;
    assert_eq!((code, body), (404, serde_json::Value::Null));
    // Known difference: kube-apiserver answers a watch from a resourceVersion that is not a
    // number with 500 InternalError, test-apiserver with 400 BadRequest.
    let path = format!("{base}?watch=1&resourceVersion=abc");
    let (code, _, st) = raw(&s, "GET", &path, "application/json", "").await;
    assert_eq!(code, if s.embedded().is_some() { 400 } else { 500 }, "{st}");
    // Known difference: kube-apiserver starts a watch with a negative timeoutSeconds and ends it
    // at once (at times with an ERROR event, 500 "context deadline exceeded"); test-apiserver
    // answers 400.
    let path = format!("{base}?watch=1&timeoutSeconds=-1");
    let (code, _, st) = raw(&s, "GET", &path, "application/json", "").await;
    if s.embedded().is_some() {
        assert_eq!((code, st["reason"].as_str()), (400, Some("BadRequest")));
    } else {
        assert_eq!(code, 200, "{st}");
    }
    let got = cm_api(&s, s.ns())
        .get("a")
        .await
        .expect("still serving, object intact");
    assert!(got.data.is_none_or(|d| d.is_empty()));
}

#[tokio::test]
async fn later_pages_come_from_the_first_pages_snapshot() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    for i in 0..4 {
        api.create(
            &PostParams::default(),
            &cm(&format!("c{i}"), json!({"v": "old"})),
        )
        .await
        .expect("create");
    }
    let first = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    api.patch(
        "c2",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "new"}})),
    )
    .await
    .expect("modify");
    api.delete("c3", &DeleteParams::default())
        .await
        .expect("delete");
    api.create(&PostParams::default(), &cm("c9", json!({})))
        .await
        .expect("create later");
    let token = first.metadata.continue_.clone().expect("token");
    let second = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(
        second.metadata.resource_version,
        first.metadata.resource_version
    );
    let seen: Vec<(String, String)> = second
        .items
        .iter()
        .map(|o| {
            (
                o.metadata.name.clone().unwrap_or_default(),
                o.data.as_ref().map(|d| d["v"].clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![("c2".into(), "old".into()), ("c3".into(), "old".into())]
    );
    let Some(embedded) = s.embedded() else {
        return; // compact_history is a test-apiserver hook
    };
    embedded.compact_history();
    let st = status_of(
        api.list(&ListParams::default().limit(1).continue_token(&token))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn invalid_label_value_is_422() {
    let s = target().await;
    let mut o = cm("a", json!({}));
    o.metadata.labels = Some([("app".to_string(), "not a value".to_string())].into());
    let st = status_of(cm_api(&s, s.ns()).create(&PostParams::default(), &o).await);
    assert_eq!(st.code, 422);
    assert!(
        st.message.starts_with("ConfigMap \"a\" is invalid: metadata.labels: Invalid value: \"not a value\": a valid label must be an empty string"),
        "{}",
        st.message
    );
}

#[tokio::test]
async fn immutable_configmap_data_cannot_change() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut o = cm("a", json!({"k": "v"}));
    o.immutable = Some(true);
    api.create(&PostParams::default(), &o)
        .await
        .expect("create");
    let st = status_of(
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "w"}})),
        )
        .await,
    );
    assert_eq!(st.code, 422);
    assert_eq!(
        st.message,
        "ConfigMap \"a\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .expect("metadata may change");
}

#[tokio::test]
async fn list_with_exact_resource_version_returns_that_state() {
    use kube::api::VersionMatch;
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"v": "1"})))
        .await
        .expect("create");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .expect("patch");
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .expect("create b");
    let at = rv(&created);
    let then = api
        .list(&ListParams::default().at(&at).matching(VersionMatch::Exact))
        .await
        .expect("exact list");
    assert_eq!(then.metadata.resource_version.as_deref(), Some(at.as_str()));
    assert_eq!(then.items.len(), 1);
    assert_eq!(then.items[0].data.as_ref().expect("data")["v"], "1");
}

#[tokio::test]
async fn writes_record_update_entries_in_managed_fields() {
    let s = target().await;
    let api = cm_api(&s, s.ns());
    let mut o = cm("a", json!({"k": "v"}));
    o.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    let pp = PostParams {
        field_manager: Some("creator".into()),
        ..Default::default()
    };
    let created = api.create(&pp, &o).await.expect("create");
    let entries = |o: &ConfigMap| -> Vec<serde_json::Value> {
        o.metadata
            .managed_fields
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                json!({"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version,
                       "fieldsType": m.fields_type, "fieldsV1": m.fields_v1.map(|f| f.0),
                       "subresource": m.subresource, "timed": m.time.is_some()})
            })
            .collect()
    };
    assert_eq!(
        entries(&created),
        vec![
            json!({"manager": "creator", "operation": "Update", "apiVersion": "v1",
                    "fieldsType": "FieldsV1", "subresource": null, "timed": true,
                    "fieldsV1": {"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}})
        ]
    );
    let pp = PatchParams {
        field_manager: Some("editor".into()),
        ..Default::default()
    };
    let patched = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"data": {"k": "w", "x": "y"}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        entries(&patched),
        vec![
            json!({"manager": "creator", "operation": "Update", "apiVersion": "v1",
                   "fieldsType": "FieldsV1", "subresource": null, "timed": true,
                   "fieldsV1": {"f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}),
            json!({"manager": "editor", "operation": "Update", "apiVersion": "v1",
                   "fieldsType": "FieldsV1", "subresource": null, "timed": true,
                   "fieldsV1": {"f:data": {"f:k": {}, "f:x": {}}}}),
        ]
    );
}

/// The column names of a Table of `path` and the cells of its row named `name` (without Age).
async fn table(s: &Target, path: &str, name: &str) -> (Vec<String>, Vec<serde_json::Value>) {
    let req = http::Request::get(path)
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .expect("request");
    let table: serde_json::Value = s.client().request(req).await.expect("table");
    assert_eq!(table["kind"], "Table");
    let columns = table["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["name"].as_str().unwrap_or_default(),
                c["type"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let row = table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["cells"][0] == name)
        .expect("row");
    // Without includeObject, rows carry the object's metadata only.
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    let mut cells = row["cells"].as_array().expect("cells").clone();
    cells.pop();
    (columns, cells)
}

#[tokio::test]
async fn tables_of_built_in_kinds_have_kubernetes_columns() {
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::Secret;
    let s = target().await;
    cm_api(&s, s.ns())
        .create(
            &PostParams::default(),
            &cm("a", json!({"k": "v", "l": "w"})),
        )
        .await
        .expect("create");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}))
            .expect("secret");
    Api::<Secret>::namespaced(s.client(), s.ns())
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret");
    let lease: Lease = serde_json::from_value(
        json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}}),
    )
    .expect("lease");
    Api::<Lease>::namespaced(s.client(), s.ns())
        .create(&PostParams::default(), &lease)
        .await
        .expect("lease");
    let ns = s.ns();
    let cases = [
        (
            format!("/api/v1/namespaces/{ns}/configmaps"),
            "a",
            vec!["Name:string", "Data:string", "Age:string"],
            json!(["a", 2]),
        ),
        (
            format!("/api/v1/namespaces/{ns}/secrets"),
            "s",
            vec!["Name:string", "Type:string", "Data:string", "Age:string"],
            json!(["s", "Opaque", 1]),
        ),
        (
            "/api/v1/namespaces".to_string(),
            ns,
            vec!["Name:string", "Status:string", "Age:string"],
            json!([ns, "Active"]),
        ),
        (
            format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"),
            "l",
            vec!["Name:string", "Holder:string", "Age:string"],
            json!(["l", "me"]),
        ),
    ];
    for (path, name, want_columns, want_cells) in cases {
        let (columns, cells) = table(&s, &path, name).await;
        assert_eq!(columns, want_columns, "{path}");
        assert_eq!(serde_json::Value::Array(cells), want_cells, "{path}");
    }
    // Known difference: Events (and CRDs) get Name and Age only from test-apiserver.
    let path = format!("/apis/events.k8s.io/v1/namespaces/{ns}/events");
    let req = http::Request::get(&path)
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(Vec::new())
        .expect("request");
    let events: serde_json::Value = s.client().request(req).await.expect("table");
    let names: Vec<&str> = events["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    if s.embedded().is_some() {
        assert_eq!(names, ["Name", "Age"]);
    } else {
        assert_eq!(
            names,
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
    }
}

#[tokio::test]
async fn namespaces_get_kubernetes_defaults() {
    let s = target().await;
    let ns = Api::<Namespace>::all(s.client())
        .get(s.ns())
        .await
        .expect("namespace");
    assert_eq!(
        ns.metadata.labels,
        Some(
            [(
                "kubernetes.io/metadata.name".to_string(),
                s.ns().to_string()
            )]
            .into()
        )
    );
    let spec = ns.spec.expect("spec");
    assert_eq!(spec.finalizers, Some(vec!["kubernetes".to_string()]));
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
}

#[tokio::test]
async fn discovery_describes_built_in_and_custom_resources() {
    let (s, _api) = with_things().await;
    let find = |list: &serde_json::Value, name: &str| -> serde_json::Value {
        let r = list["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .expect("resource listed");
        let mut verbs: Vec<String> = serde_json::from_value(r["verbs"].clone()).expect("verbs");
        verbs.sort();
        json!({"kind": r["kind"], "namespaced": r["namespaced"], "singularName": r["singularName"],
               "shortNames": r["shortNames"], "verbs": verbs})
    };
    let (_, _, core) = raw(&s, "GET", "/api/v1", "", "").await;
    let verbs = json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ]);
    assert_eq!(
        find(&core, "configmaps"),
        json!({"kind": "ConfigMap", "namespaced": true, "singularName": "configmap", "shortNames": ["cm"], "verbs": verbs})
    );
    let path = format!("/apis/{}/v1", s.group());
    let (_, _, group) = eventually("the group's discovery", || async {
        let got = raw(&s, "GET", &path, "", "").await;
        (got.0 == 200).then_some(got)
    })
    .await;
    assert_eq!(
        find(&group, "things"),
        json!({"kind": "Thing", "namespaced": true, "singularName": "thing", "shortNames": ["thx"], "verbs": verbs})
    );
    assert_eq!(
        find(&group, "things/status"),
        json!({"kind": "Thing", "namespaced": true, "singularName": "", "shortNames": null, "verbs": ["get", "patch", "update"]})
    );
}

#[tokio::test]
async fn strict_field_validation_of_a_patch_rejects_unknown_fields() {
    let s = target().await;
    cm_api(&s, s.ns())
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let path = format!(
        "/api/v1/namespaces/{}/configmaps/a?fieldValidation=Strict",
        s.ns()
    );
    let patch = r#"{"bogus": 1}"#;
    let (code, _, st) = raw(&s, "PATCH", &path, "application/merge-patch+json", patch).await;
    let message = st["message"].as_str().unwrap_or_default();
    // Known difference: kube-apiserver answers 422 with the whole patched object in the message;
    // test-apiserver 400 with the strict decoding error alone.
    if s.embedded().is_some() {
        assert_eq!(code, 400);
        assert_eq!(message, r#"strict decoding error: unknown field "bogus""#);
    } else {
        assert_eq!(code, 422);
        assert!(
            message.starts_with(r#" "" is invalid: patch: Invalid value: "{"#)
                && message.ends_with(r#"strict decoding error: unknown field "bogus""#),
            "{message}"
        );
    }
}
