//! Helpers shared by the conformance tests.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use test_apiserver::TestApiServer;

/// Generous timeout for anything that waits on the server (2 loaded cores).
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn server() -> TestApiServer {
    TestApiServer::start().await.expect("server starts")
}

pub fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).expect("configmap")
}

pub fn cm_api(s: &TestApiServer, ns: &str) -> Api<ConfigMap> {
    Api::namespaced(s.client(), ns)
}

/// A CRD for `Thing`/`things.example.com` (or a cluster-scoped `Widget`), with a status
/// subresource and a permissive schema unless `schema` is given.
pub fn crd(kind: &str, plural: &str, namespaced: bool, schema: Option<Value>) -> Value {
    let schema = schema.unwrap_or_else(|| {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }})
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.example.com")},
        "spec": {
            "group": "example.com",
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List"), "shortNames": [format!("{}x", &plural[..2])]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": schema},
                          "subresources": {"status": {}}}]
        }
    })
}

pub fn crd_api(s: &TestApiServer) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    Api::all_with(s.client(), &ar)
}

pub fn thing_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Thing"),
        "things",
    )
}

pub fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    )
}

pub async fn install_crd(s: &TestApiServer, crd: Value) {
    let obj: DynamicObject = serde_json::from_value(crd).expect("crd object");
    crd_api(s)
        .create(&PostParams::default(), &obj)
        .await
        .expect("crd created");
}

/// A server with the namespaced `Thing` CRD installed; returns the Thing API in `default`.
pub async fn with_things() -> (TestApiServer, Api<DynamicObject>) {
    let s = server().await;
    install_crd(&s, crd("Thing", "things", true, None)).await;
    let api = Api::namespaced_with(s.client(), "default", &thing_resource());
    (s, api)
}

pub fn thing(name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Thing",
        "metadata": {"name": name}, "spec": spec
    }))
    .expect("thing")
}

/// The `metav1.Status` of a failed kube call.
pub fn status_of<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub fn rv(obj: &impl kube::Resource) -> u64 {
    obj.meta()
        .resource_version
        .as_deref()
        .expect("resourceVersion")
        .parse()
        .expect("numeric resourceVersion")
}

/// Sends a raw request and returns status, headers and JSON body.
pub async fn raw(
    s: &TestApiServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, http::HeaderMap, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .expect("request");
    let resp = s
        .client()
        .send(req.map(kube::client::Body::from))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
