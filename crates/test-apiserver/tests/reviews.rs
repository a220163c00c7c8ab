//! The review APIs (`TokenReview`, `SubjectAccessReview`) through a `kube::Client`, raw HTTP
//! and `kubectl`: what a process protecting an endpoint with delegated authentication and
//! authorization (controller-runtime's secure metrics) sees.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    SubjectAccessReviewStatus,
};
use kube::api::{Api, ListParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope, verbs};
use serde_json::{Value, json};
use test_apiserver::{Subject, TestApiServer, TokenUser};

const PROMETHEUS: &str = "system:serviceaccount:monitoring:prometheus";
const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

async fn server() -> TestApiServer {
    TestApiServer::start().await.expect("server starts")
}

async fn review_token(s: &TestApiServer, token: &str) -> TokenReview {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: token.to_string(),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<TokenReview>::all(s.client())
        .create(&PostParams::default(), &review)
        .await
        .expect("TokenReview answered")
}

fn sar_spec(user: &str, groups: &[&str]) -> SubjectAccessReviewSpec {
    SubjectAccessReviewSpec {
        user: Some(user.to_string()).filter(|u| !u.is_empty()),
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        ..Default::default()
    }
}

fn non_resource(verb: &str, path: &str) -> Option<NonResourceAttributes> {
    Some(NonResourceAttributes {
        verb: Some(verb.to_string()),
        path: Some(path.to_string()),
    })
}

async fn review_access(
    s: &TestApiServer,
    spec: SubjectAccessReviewSpec,
) -> SubjectAccessReviewStatus {
    let review = SubjectAccessReview {
        spec,
        ..Default::default()
    };
    Api::<SubjectAccessReview>::all(s.client())
        .create(&PostParams::default(), &review)
        .await
        .expect("SubjectAccessReview answered")
        .status
        .expect("status")
}

async fn may_get_metrics(
    s: &TestApiServer,
    user: &str,
    groups: &[&str],
) -> SubjectAccessReviewStatus {
    review_access(
        s,
        SubjectAccessReviewSpec {
            non_resource_attributes: non_resource("get", "/metrics"),
            ..sar_spec(user, groups)
        },
    )
    .await
}

/// Sends a raw request; returns the status code and the JSON body (`null` if not JSON).
async fn raw(s: &TestApiServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .expect("request");
    let resp = s
        .client()
        .send(req.map(kube::client::Body::from))
        .await
        .expect("response");
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn token_review_of_a_registered_token_authenticates_its_user_and_groups() {
    let s = server().await;
    s.reviews().add_token(
        "t0k3n",
        PROMETHEUS,
        &[SERVICE_ACCOUNTS, "system:authenticated"],
    );

    let answered = review_token(&s, "t0k3n").await;

    let status = answered.status.expect("status");
    assert!(status.authenticated.unwrap_or_default());
    assert_eq!(status.error, None);
    let user = status.user.expect("user");
    assert_eq!(user.username.as_deref(), Some(PROMETHEUS));
    assert_eq!(
        user.groups,
        Some(vec![
            SERVICE_ACCOUNTS.to_string(),
            "system:authenticated".to_string()
        ])
    );
    assert_eq!(answered.spec.token, "t0k3n");
}

#[tokio::test]
async fn token_review_reports_the_uid_and_the_audiences_in_common() {
    let s = server().await;
    s.reviews().add_token_user(
        "bound",
        TokenUser {
            username: PROMETHEUS.into(),
            uid: "3f1c2a8e-0000-4000-8000-000000000001".into(),
            groups: vec![SERVICE_ACCOUNTS.into()],
            audiences: vec!["https://kubernetes.default.svc".into(), "metrics".into()],
        },
    );
    let review = |audiences: &[&str]| TokenReview {
        spec: TokenReviewSpec {
            token: "bound".into(),
            audiences: Some(audiences.iter().map(|a| a.to_string()).collect()),
        },
        ..Default::default()
    };
    let api = Api::<TokenReview>::all(s.client());

    let ok = api
        .create(&PostParams::default(), &review(&["metrics", "other"]))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert!(ok.authenticated.unwrap_or_default());
    assert_eq!(ok.audiences, Some(vec!["metrics".to_string()]));
    assert_eq!(
        ok.user.and_then(|u| u.uid).as_deref(),
        Some("3f1c2a8e-0000-4000-8000-000000000001")
    );

    let wrong = api
        .create(&PostParams::default(), &review(&["other"]))
        .await
        .expect("answered")
        .status
        .expect("status");
    assert!(!wrong.authenticated.unwrap_or_default());
    assert!(
        wrong
            .error
            .unwrap_or_default()
            .contains("invalid for the target audiences"),
        "audience mismatch is explained"
    );
}

#[tokio::test]
async fn token_review_of_an_unknown_token_is_not_authenticated() {
    let s = server().await;
    s.reviews()
        .add_token("t0k3n", PROMETHEUS, &[SERVICE_ACCOUNTS]);

    let status = review_token(&s, "not-the-token")
        .await
        .status
        .expect("status");

    assert!(!status.authenticated.unwrap_or_default());
    assert_eq!(status.error.as_deref(), Some("invalid bearer token"));
    assert_eq!(status.user.and_then(|u| u.username), None);
}

#[tokio::test]
async fn removed_token_is_no_longer_authenticated() {
    let s = server().await;
    s.reviews().add_token("t0k3n", PROMETHEUS, &[]);
    assert!(s.reviews().remove_token("t0k3n"));

    let status = review_token(&s, "t0k3n").await.status.expect("status");

    assert!(!status.authenticated.unwrap_or_default());
}

#[tokio::test]
async fn token_review_without_a_token_is_a_bad_request() {
    let s = server().await;

    let err = Api::<TokenReview>::all(s.client())
        .create(&PostParams::default(), &TokenReview::default())
        .await
        .expect_err("rejected");

    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "token is required for TokenReview in authentication"
    );
}

#[tokio::test]
async fn subject_access_review_is_allowed_by_a_grant_to_the_user() {
    let s = server().await;
    s.reviews()
        .grant_non_resource(PROMETHEUS, "get", "/metrics");

    let status = may_get_metrics(&s, PROMETHEUS, &[]).await;

    assert!(status.allowed);
    assert!(
        status.reason.unwrap_or_default().contains(PROMETHEUS),
        "the reason names the grant's subject"
    );
}

#[tokio::test]
async fn subject_access_review_is_allowed_by_a_grant_to_one_of_the_groups() {
    let s = server().await;
    s.reviews().add_token(
        "t0k3n",
        PROMETHEUS,
        &["system:authenticated", SERVICE_ACCOUNTS],
    );
    s.reviews()
        .grant_non_resource(Subject::group(SERVICE_ACCOUNTS), "get", "/metrics");
    // As controller-runtime's filter does: authenticate the token, then ask about its user.
    let user = review_token(&s, "t0k3n")
        .await
        .status
        .and_then(|st| st.user)
        .expect("authenticated user");

    let status = review_access(
        &s,
        SubjectAccessReviewSpec {
            user: user.username,
            groups: user.groups,
            non_resource_attributes: non_resource("get", "/metrics"),
            ..Default::default()
        },
    )
    .await;

    assert!(status.allowed);
    assert!(status.reason.unwrap_or_default().contains(SERVICE_ACCOUNTS));
}

#[tokio::test]
async fn subject_access_review_without_a_matching_grant_is_denied_with_a_reason() {
    let s = server().await;
    s.reviews()
        .grant_non_resource(PROMETHEUS, "get", "/metrics");
    s.reviews()
        .grant_non_resource(Subject::group("monitoring"), "get", "/metrics");

    let other_user = may_get_metrics(
        &s,
        "system:serviceaccount:default:intruder",
        &[SERVICE_ACCOUNTS],
    )
    .await;
    let other_verb = review_access(
        &s,
        SubjectAccessReviewSpec {
            non_resource_attributes: non_resource("post", "/metrics"),
            ..sar_spec(PROMETHEUS, &[])
        },
    )
    .await;
    let other_path = review_access(
        &s,
        SubjectAccessReviewSpec {
            non_resource_attributes: non_resource("get", "/debug/pprof"),
            ..sar_spec(PROMETHEUS, &["monitoring"])
        },
    )
    .await;

    for denied in [&other_user, &other_verb, &other_path] {
        assert!(!denied.allowed, "{denied:?}");
    }
    assert_eq!(
        other_user.reason.as_deref(),
        Some(
            r#"User "system:serviceaccount:default:intruder" cannot get path "/metrics": no test-apiserver grant to the user or its groups ["system:serviceaccounts"]"#
        )
    );
    assert!(
        other_path
            .reason
            .unwrap_or_default()
            .contains(r#"cannot get path "/debug/pprof""#)
    );
}

#[tokio::test]
async fn resource_grant_in_a_namespace_allows_that_namespace_only() {
    let s = server().await;
    s.reviews()
        .grant_resource(PROMETHEUS, "list", "", "pods", Some("monitoring"));
    let list_pods_in = |ns: &str| SubjectAccessReviewSpec {
        resource_attributes: Some(ResourceAttributes {
            verb: Some("list".into()),
            group: Some(String::new()),
            version: Some("v1".into()),
            resource: Some("pods".into()),
            namespace: Some(ns.to_string()),
            ..Default::default()
        }),
        ..sar_spec(PROMETHEUS, &[])
    };

    let here = review_access(&s, list_pods_in("monitoring")).await;
    let elsewhere = review_access(&s, list_pods_in("kube-system")).await;

    assert!(here.allowed);
    assert!(!elsewhere.allowed);
    assert!(
        elsewhere.reason.unwrap_or_default().contains(
            r#"cannot list resource "pods" in API group "" in the namespace "kube-system""#
        )
    );
}

#[tokio::test]
async fn subject_access_review_without_user_or_groups_is_invalid() {
    let s = server().await;
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            non_resource_attributes: non_resource("get", "/metrics"),
            ..Default::default()
        },
        ..Default::default()
    };

    let err = Api::<SubjectAccessReview>::all(s.client())
        .create(&PostParams::default(), &review)
        .await
        .expect_err("rejected");

    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        r#"SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified"#
    );
}

#[tokio::test]
async fn reviews_are_not_stored_so_list_is_not_allowed_and_get_not_found() {
    let s = server().await;
    s.reviews().add_token("t0k3n", PROMETHEUS, &[]);
    review_token(&s, "t0k3n").await;

    let list = Api::<TokenReview>::all(s.client())
        .list(&ListParams::default())
        .await
        .expect_err("list rejected");
    let get = Api::<SubjectAccessReview>::all(s.client())
        .get("anything")
        .await
        .expect_err("get rejected");

    let (kube::Error::Api(list), kube::Error::Api(get)) = (list, get) else {
        panic!("expected API errors")
    };
    assert_eq!((list.code, list.reason.as_str()), (405, "MethodNotAllowed"));
    assert_eq!(
        list.message,
        "the server does not allow this method on the requested resource"
    );
    assert_eq!((get.code, get.reason.as_str()), (404, "NotFound"));
    let (code, _) = raw(
        &s,
        "GET",
        "/apis/authentication.k8s.io/v1/tokenreviews?watch=true",
        "",
    )
    .await;
    assert_eq!(code, 405, "watch is not allowed either");
    let (code, _) = raw(
        &s,
        "PATCH",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "{}",
    )
    .await;
    assert_eq!(code, 405, "nor is patch");
}

#[tokio::test]
async fn reviews_are_logged_as_create_of_their_group_and_resource() {
    let s = server().await;
    let mark = s.hooks().mark();

    review_token(&s, "whatever").await;
    may_get_metrics(&s, PROMETHEUS, &[]).await;

    let logged: Vec<(String, String, String, u16)> = s
        .hooks()
        .requests_since(mark)
        .into_iter()
        .map(|r| (r.verb, r.group, r.resource, r.status))
        .collect();
    assert_eq!(
        logged,
        vec![
            (
                "create".into(),
                "authentication.k8s.io".into(),
                "tokenreviews".into(),
                201
            ),
            (
                "create".into(),
                "authorization.k8s.io".into(),
                "subjectaccessreviews".into(),
                201
            ),
        ]
    );
}

#[tokio::test]
async fn review_apis_are_discovered_as_create_only_cluster_scoped_resources() {
    let s = server().await;

    let discovery = Discovery::new(s.client())
        .filter(&["authentication.k8s.io", "authorization.k8s.io"])
        .run()
        .await
        .expect("discovery");

    for (group, kind, plural) in [
        ("authentication.k8s.io", "TokenReview", "tokenreviews"),
        (
            "authorization.k8s.io",
            "SubjectAccessReview",
            "subjectaccessreviews",
        ),
    ] {
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(group, "v1", kind))
            .unwrap_or_else(|| panic!("{kind} discovered"));
        assert_eq!(ar.plural, plural);
        assert_eq!(caps.scope, Scope::Cluster);
        assert_eq!(caps.operations, vec![verbs::CREATE.to_string()]);
    }
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_status() {
    let s = server().await;

    let (code, body) = raw(
        &s,
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "{\"spec\": {",
    )
    .await;
    let (wrong_type, typed) = raw(
        &s,
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        r#"{"spec": {"token": 42}}"#,
    )
    .await;

    assert_eq!(code, 400);
    assert_eq!(
        (body["kind"].as_str(), body["reason"].as_str()),
        (Some("Status"), Some("BadRequest"))
    );
    assert_eq!(wrong_type, 400);
    assert!(
        typed["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("TokenReview in version \"v1\" cannot be handled as a TokenReview"),
        "{typed}"
    );
}

/// `kubectl` (`$KUBECTL`, else `/usr/bin/kubectl`), if installed.
fn kubectl_path() -> Option<PathBuf> {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/bin/kubectl")])
        .find(|p| p.exists())
}

/// Runs kubectl against `s` with `args` and `stdin`; its stdout, or a panic with its stderr.
async fn kubectl(s: &TestApiServer, kubectl: &Path, args: &[&str], stdin: &str) -> String {
    let mut cmd = std::process::Command::new(kubectl);
    cmd.arg("--kubeconfig")
        .arg(s.kubeconfig_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_string();
    // kubectl talks to this test's server, so it must not block the runtime serving it.
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("kubectl runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin written");
        child.wait_with_output().expect("kubectl output")
    })
    .await
    .expect("kubectl task");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn kubectl_lists_the_review_apis_and_creates_a_token_review() {
    let Some(path) = kubectl_path() else {
        println!("skipping: kubectl is not installed");
        return;
    };
    let s = server().await;
    s.reviews()
        .add_token("t0k3n", PROMETHEUS, &[SERVICE_ACCOUNTS]);
    let manifest = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": "t0k3n"}
    })
    .to_string();

    let resources = kubectl(&s, &path, &["api-resources", "-o", "name"], "").await;
    let created = kubectl(&s, &path, &["create", "-f", "-", "-o", "json"], &manifest).await;

    for name in [
        "tokenreviews.authentication.k8s.io",
        "subjectaccessreviews.authorization.k8s.io",
    ] {
        assert!(
            resources.lines().any(|l| l == name),
            "{name} in {resources}"
        );
    }
    let created: Value = serde_json::from_str(&created).expect("JSON output");
    assert_eq!(created["status"]["authenticated"], true);
    assert_eq!(created["status"]["user"]["username"], PROMETHEUS);
}
