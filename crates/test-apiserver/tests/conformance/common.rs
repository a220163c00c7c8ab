//! Helpers shared by the conformance tests, and the server they run against.
//!
//! Every test runs against a [`Target`]: its own embedded `TestApiServer` by default, or, when
//! `CONFORMANCE_KUBECONFIG` names a kubeconfig, that real kube-apiserver, shared by every test of
//! the run (`hack/conformance-real.sh`). So that parallel tests cannot see each other there, each
//! test gets its own namespace and its own API group for its CRDs, in both modes, so the test code
//! is the same. Tests that need the embedded server's hooks start it with [`embedded_only`], which
//! skips them (with a note) against a real server.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use test_apiserver::TestApiServer;

/// Generous timeout for anything that waits on the server (2 loaded cores).
pub const WAIT: Duration = Duration::from_secs(30);

/// The environment variable naming the kubeconfig of a real kube-apiserver to test against.
const KUBECONFIG_ENV: &str = "CONFORMANCE_KUBECONFIG";

/// The kubeconfig of the real kube-apiserver under test, if any.
pub fn real_kubeconfig() -> Option<PathBuf> {
    std::env::var_os(KUBECONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// An embedded server of its own, for a test that needs test-apiserver's hooks (request log,
/// faults, history compaction) or behaviour that a real server gets from kube-controller-manager,
/// which the real tier does not run. `None`, after a note, when testing a real server.
pub async fn embedded_only(reason: &str) -> Option<TestApiServer> {
    if real_kubeconfig().is_some() {
        println!("skipping against a real kube-apiserver: {reason}");
        return None;
    }
    Some(TestApiServer::start().await.expect("server starts"))
}

/// Anything a `kube::Client` for the server under test comes from.
pub trait Connect {
    fn client(&self) -> kube::Client;
}

impl Connect for TestApiServer {
    fn client(&self) -> kube::Client {
        TestApiServer::client(self)
    }
}

/// Names no other test of this run (nor of an earlier run against the same server) uses.
#[derive(Debug, Clone)]
pub struct Names {
    /// `ct-<run>-<n>-<test>`: a namespace, a DNS label.
    pub ns: String,
    /// `t<n>-<run>.example.com`: the API group of this test's CRDs.
    pub group: String,
    /// `<run>-<n>`: a suffix for cluster-scoped names.
    pub suffix: String,
}

impl Names {
    /// Fresh names for the calling test (named after its thread, which libtest names after it).
    pub fn next() -> Names {
        static RUN: LazyLock<String> = LazyLock::new(|| {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..4)
                .map(|_| {
                    char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])
                })
                .collect()
        });
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let run = RUN.as_str();
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("test");
        let slug: String = test
            .rsplit("::")
            .next()
            .unwrap_or(test)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let mut ns = format!("ct-{run}-{n}-{slug}");
        ns.truncate(63);
        let ns = ns.trim_end_matches('-').to_string();
        Names {
            ns,
            group: format!("t{n}-{run}.example.com"),
            suffix: format!("{run}-{n}"),
        }
    }
}

/// The server a test talks to, with the test's own namespace (created) and CRD group.
pub struct Target {
    embedded: Option<TestApiServer>,
    client: kube::Client,
    names: Names,
}

impl Connect for Target {
    fn client(&self) -> kube::Client {
        self.client.clone()
    }
}

/// The server under test for a test that runs against both: a fresh embedded server, or the
/// real one of `CONFORMANCE_KUBECONFIG`; either way with a new namespace for the test.
pub async fn target() -> Target {
    let names = Names::next();
    let (embedded, client) = match real_kubeconfig() {
        Some(path) => (None, real_client(&path).await),
        None => {
            let s = TestApiServer::start().await.expect("server starts");
            let client = s.client();
            (Some(s), client)
        }
    };
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": names.ns}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("test namespace created");
    Target {
        embedded,
        client,
        names,
    }
}

async fn real_client(path: &Path) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(path).expect("CONFORMANCE_KUBECONFIG readable");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("CONFORMANCE_KUBECONFIG usable");
    kube::Client::try_from(config).expect("client")
}

impl Target {
    /// The embedded server, `None` against a real one: for the parts of a test that need hooks.
    pub fn embedded(&self) -> Option<&TestApiServer> {
        self.embedded.as_ref()
    }

    /// This test's namespace.
    pub fn ns(&self) -> &str {
        &self.names.ns
    }

    /// This test's API group for CRDs.
    pub fn group(&self) -> &str {
        &self.names.group
    }

    /// A name for a cluster-scoped object (or a namespace) that no other test uses.
    pub fn unique(&self, base: &str) -> String {
        format!("{base}-{}", self.names.suffix)
    }

    /// A CRD of this test's group for `kind`/`plural` (namespaced or cluster-scoped), with a
    /// status subresource and a permissive schema unless `schema` is given.
    pub fn crd(&self, kind: &str, plural: &str, namespaced: bool, schema: Option<Value>) -> Value {
        let schema = schema.unwrap_or_else(|| {
            json!({"type": "object", "properties": {
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }})
        });
        let group = self.group();
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group,
                "scope": if namespaced { "Namespaced" } else { "Cluster" },
                "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List"), "shortNames": [format!("{}x", &plural[..2])]},
                "versions": [{"name": "v1", "served": true, "storage": true,
                              "schema": {"openAPIV3Schema": schema},
                              "subresources": {"status": {}}}]
            }
        })
    }

    /// `kind` of this test's group, version `v1`.
    pub fn resource(&self, kind: &str, plural: &str) -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group(), "v1", kind), plural)
    }

    pub fn thing_resource(&self) -> ApiResource {
        self.resource("Thing", "things")
    }

    pub fn widget_resource(&self) -> ApiResource {
        self.resource("Widget", "widgets")
    }

    /// A `Thing` of this test's group.
    pub fn thing(&self, name: &str, spec: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": format!("{}/v1", self.group()), "kind": "Thing",
            "metadata": {"name": name}, "spec": spec
        }))
        .expect("thing")
    }

    /// The Thing API in this test's namespace.
    pub fn things(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client(), self.ns(), &self.thing_resource())
    }

    /// Creates a CRD and waits until its resources are served (at once on the embedded server;
    /// a real one establishes a CRD asynchronously).
    pub async fn install_crd(&self, crd: Value) {
        let obj: DynamicObject = serde_json::from_value(crd.clone()).expect("crd object");
        let name = obj.metadata.name.clone().expect("crd name");
        crd_api(self)
            .create(&PostParams::default(), &obj)
            .await
            .expect("crd created");
        let api = crd_api(self);
        eventually(&format!("CRD {name} established"), || async {
            let got = api.get(&name).await.expect("crd");
            let conditions = got.data["status"]["conditions"].as_array()?.clone();
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
                .then_some(())
        })
        .await;
        let spec = &crd["spec"];
        let version = spec["versions"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["served"] == true))
            .and_then(|v| v["name"].as_str())
            .expect("a served version");
        let path = format!(
            "/apis/{}/{version}/{}",
            spec["group"].as_str().expect("group"),
            spec["names"]["plural"].as_str().expect("plural")
        );
        eventually(&format!("{path} served"), || async {
            (raw(self, "GET", &path, "application/json", "").await.0 == 200).then_some(())
        })
        .await;
    }
}

pub fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).expect("configmap")
}

pub fn cm_api(s: &impl Connect, ns: &str) -> Api<ConfigMap> {
    Api::namespaced(s.client(), ns)
}

pub fn crd_api(s: &impl Connect) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    Api::all_with(s.client(), &ar)
}

/// A target with the namespaced `Thing` CRD installed; returns the Thing API in its namespace.
pub async fn with_things() -> (Target, Api<DynamicObject>) {
    let t = target().await;
    t.install_crd(t.crd("Thing", "things", true, None)).await;
    let api = t.things();
    (t, api)
}

/// Polls `check` until it answers `Some`, for at most [`WAIT`]: what the embedded server does
/// at once, a real one may do a moment later (CRD establishment and deletion).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `metav1.Status` of a failed kube call.
pub fn status_of<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// An object's resourceVersion: an opaque string (compare only for equality, except against
/// the embedded server, whose versions are one increasing counter: see [`rv_number`]).
pub fn rv(obj: &impl kube::Resource) -> String {
    obj.meta()
        .resource_version
        .clone()
        .expect("resourceVersion")
}

/// An embedded server's resourceVersion as a number.
pub fn rv_number(rv: &str) -> u64 {
    rv.parse().expect("numeric resourceVersion")
}

/// Sends a raw request and returns status, headers and JSON body.
pub async fn raw(
    s: &impl Connect,
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
