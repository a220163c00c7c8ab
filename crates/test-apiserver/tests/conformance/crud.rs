//! CRUD, errors, concurrency, patches, finalizers, namespaces, selectors and paging on built-in
//! kinds through `kube::Client`.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn configmap_round_trips_with_server_set_metadata() {
    let s = server().await;
    let api = cm_api(&s, "default");
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"k": "v"})))
        .await
        .expect("create");
    let md = &created.metadata;
    assert!(md.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(md.creation_timestamp.is_some());
    assert_eq!(md.namespace.as_deref(), Some("default"));
    let got = api.get("a").await.expect("get");
    assert_eq!(got.data.as_ref().expect("data")["k"], "v");
    let mut updated = got.clone();
    updated.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = api
        .replace("a", &PostParams::default(), &updated)
        .await
        .expect("replace");
    assert!(rv(&updated) > rv(&created));
    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert!(
        list.metadata
            .resource_version
            .expect("list rv")
            .parse::<u64>()
            .expect("numeric")
            >= rv(&updated)
    );
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(status_of(api.get("a").await).code, 404);
}

#[tokio::test]
async fn generate_name_gives_distinct_names() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let st = status_of(cm_api(&s, "default").get("nope").await);
    assert_eq!((st.code, st.reason.as_str()), (404, "NotFound"));
    assert_eq!(st.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn creating_an_existing_name_is_409_already_exists() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let st = status_of(
        cm_api(&s, "ghost")
            .create(&PostParams::default(), &cm("a", json!({})))
            .await,
    );
    assert_eq!(st.code, 404);
    assert_eq!(st.message, "namespaces \"ghost\" not found");
}

#[tokio::test]
async fn write_that_changes_nothing_keeps_the_resource_version() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let api = cm_api(&s, "default");
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
        "ConfigMap \"a\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x\"}"
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
    let s = server().await;
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
    let s = server().await;
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
async fn label_and_field_selectors_filter_lists() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
        all.list(&ListParams::default().fields("metadata.namespace=default,metadata.name!=a"))
            .await
            .expect("list"),
    );
    assert_eq!(got, vec!["b", "c"]);
}

#[tokio::test]
async fn limit_and_continue_page_through_a_list() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let (code, _, body) = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps",
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
    let s = server().await;
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"bogus":1}"#;
    let (code, _, st) = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "strict decoding error: unknown field \"bogus\""
    );
    let dup = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1","k":"2"}}"#;
    let (code, _, st) = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        "application/json",
        dup,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "strict decoding error: duplicate field \"data.k\""
    );
    let (code, headers, obj) = raw(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Warn",
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
        "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
        "application/json",
        &body.replace("\"a\"", "\"b\""),
    )
    .await;
    assert_eq!(code, 201);
    assert!(headers.get("warning").is_none());
}

#[tokio::test]
async fn invalid_name_is_422_invalid() {
    let s = server().await;
    let st = status_of(
        cm_api(&s, "default")
            .create(&PostParams::default(), &cm("Not_Valid", json!({})))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
    assert!(st.message.starts_with("ConfigMap \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\": a lowercase RFC 1123 subdomain"), "{}", st.message);
}

#[tokio::test]
async fn delete_collection_removes_matching_objects() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let api: Api<Secret> = Api::namespaced(s.client(), "default");
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
        "/api/v1/namespaces/default/secrets",
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
    let s = server().await;
    cm_api(&s, "default")
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let base = "/api/v1/namespaces/default/configmaps";
    let item = "/api/v1/namespaces/default/configmaps/a";
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
            "GET",
            format!("{base}?watch=1&resourceVersion=abc"),
            "application/json",
            "",
        ),
        (
            "GET",
            format!("{base}?watch=1&timeoutSeconds=-1"),
            "application/json",
            "",
        ),
        (
            "POST",
            format!("{base}?fieldValidation=Bogus"),
            "application/json",
            r#"{"metadata": {"name": "c"}}"#,
        ),
        ("DELETE", item.replace("/a", "/zz"), "application/json", ""),
        ("DELETE", item.into(), "application/json", "{bad"),
        (
            "GET",
            "/api/v1/namespaces/default/configmaps/a/status".into(),
            "application/json",
            "",
        ),
        (
            "GET",
            "/apis/nope.io/v1/things".into(),
            "application/json",
            "",
        ),
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
    let got = cm_api(&s, "default")
        .get("a")
        .await
        .expect("still serving, object intact");
    assert!(got.data.is_none_or(|d| d.is_empty()));
}

#[tokio::test]
async fn later_pages_come_from_the_first_pages_snapshot() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    s.compact_history();
    let st = status_of(
        api.list(&ListParams::default().limit(1).continue_token(&token))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn invalid_label_value_is_422() {
    let s = server().await;
    let mut o = cm("a", json!({}));
    o.metadata.labels = Some([("app".to_string(), "not a value".to_string())].into());
    let st = status_of(
        cm_api(&s, "default")
            .create(&PostParams::default(), &o)
            .await,
    );
    assert_eq!(st.code, 422);
    assert!(
        st.message.starts_with("ConfigMap \"a\" is invalid: metadata.labels: Invalid value: \"not a value\": a valid label must be an empty string"),
        "{}",
        st.message
    );
}

#[tokio::test]
async fn immutable_configmap_data_cannot_change() {
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let s = server().await;
    let api = cm_api(&s, "default");
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
    let at = rv(&created).to_string();
    let then = api
        .list(&ListParams::default().at(&at).matching(VersionMatch::Exact))
        .await
        .expect("exact list");
    assert_eq!(then.metadata.resource_version.as_deref(), Some(at.as_str()));
    assert_eq!(then.items.len(), 1);
    assert_eq!(then.items[0].data.as_ref().expect("data")["v"], "1");
}
