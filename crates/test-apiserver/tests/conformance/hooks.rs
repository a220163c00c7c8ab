//! Test hooks: the request log and its counters, fault injection, latency, closing watches and
//! waiting until the server is quiet.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{ListParams, PostParams, WatchParams};
use serde_json::json;
use test_apiserver::{FaultAction, RequestFilter};

use crate::common::*;

#[tokio::test]
async fn request_log_records_kubernetes_request_info() {
    let Some(s) = embedded_only("the request log is a test-apiserver hook").await else {
        return;
    };
    let api = cm_api(&s, "default");
    api.create(
        &PostParams {
            field_manager: Some("me".into()),
            ..Default::default()
        },
        &cm("a", json!({})),
    )
    .await
    .expect("create");
    api.get("a").await.expect("get");
    let log = s.hooks().requests();
    let create = log
        .iter()
        .find(|r| r.verb == "create")
        .expect("create logged");
    assert_eq!(
        (
            create.resource.as_str(),
            create.namespace.as_str(),
            create.status,
            create.field_manager.as_deref()
        ),
        ("configmaps", "default", 201, Some("me"))
    );
    let get = log.iter().find(|r| r.verb == "get").expect("get logged");
    assert_eq!((get.name.as_str(), get.status), ("a", 200));
    assert_eq!(s.hooks().count("get", "configmaps"), 1);
}

#[tokio::test]
async fn writes_since_a_mark_count_only_later_writes() {
    let Some(s) = embedded_only("the request log is a test-apiserver hook").await else {
        return;
    };
    let api = cm_api(&s, "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("create");
    let mark = s.hooks().mark();
    api.list(&ListParams::default()).await.expect("list");
    assert!(s.hooks().writes_since(mark).is_empty());
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .expect("create");
    assert_eq!(s.hooks().writes_since(mark).len(), 1);
    assert_eq!(s.hooks().count_since(mark, "list", "configmaps"), 1);
}

#[tokio::test]
async fn injected_status_fails_only_the_next_matching_requests() {
    let Some(s) = embedded_only("fault injection is a test-apiserver hook").await else {
        return;
    };
    let api = cm_api(&s, "default");
    s.hooks().fail_next(
        RequestFilter::any()
            .verb("create")
            .resource("configmaps")
            .name(""),
        1,
        FaultAction::Status(500),
    );
    let st = status_of(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (500, "InternalError"));
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .expect("second attempt succeeds");
    s.hooks().fail_next(
        RequestFilter::any().verb("get").name("a"),
        1,
        FaultAction::Status(409),
    );
    assert_eq!(status_of(api.get("a").await).code, 409);
    assert!(s.hooks().requests().iter().filter(|r| r.faulted).count() == 2);
}

/// A plain HTTP/1.1 GET (no client-side retries), returning the raw response text.
async fn plain_get(s: &test_apiserver::TestApiServer, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(s.addr())
        .await
        .expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr()
    );
    conn.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    // A reset connection (HangUp) ends the read; what arrived before is the answer.
    let _ = conn.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let Some(s) = embedded_only("fault injection is a test-apiserver hook").await else {
        return;
    };
    s.hooks().fail_next(
        RequestFilter::any().verb("list"),
        1,
        FaultAction::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    let resp = plain_get(&s, "/api/v1/namespaces/default/configmaps").await;
    assert!(resp.starts_with("HTTP/1.1 429"), "{resp}");
    assert!(
        resp.to_ascii_lowercase().contains("retry-after: 7"),
        "{resp}"
    );
    assert!(resp.contains(r#""retryAfterSeconds":7"#), "{resp}");
}

#[tokio::test]
async fn kube_client_retries_after_too_many_requests() {
    let Some(s) = embedded_only("fault injection is a test-apiserver hook").await else {
        return;
    };
    s.hooks().fail_next(
        RequestFilter::any().verb("list"),
        1,
        FaultAction::TooManyRequests {
            retry_after_secs: 1,
        },
    );
    cm_api(&s, "default")
        .list(&ListParams::default())
        .await
        .expect("retried list succeeds");
    let statuses: Vec<u16> = s.hooks().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
}

#[tokio::test]
async fn hang_delays_then_answers_timeout() {
    let Some(s) = embedded_only("fault injection is a test-apiserver hook").await else {
        return;
    };
    s.hooks().fail_next(
        RequestFilter::any().verb("get"),
        1,
        FaultAction::Hang(Duration::from_millis(200)),
    );
    let started = Instant::now();
    let resp = plain_get(&s, "/api/v1/namespaces/default/configmaps/x").await;
    assert!(resp.starts_with("HTTP/1.1 504"), "{resp}");
    assert!(resp.contains(r#""reason":"Timeout""#), "{resp}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn hang_up_closes_the_connection_without_a_response() {
    let Some(s) = embedded_only("fault injection is a test-apiserver hook").await else {
        return;
    };
    s.hooks().fail_next(
        RequestFilter::any().verb("get"),
        1,
        FaultAction::HangUp(Duration::from_millis(50)),
    );
    let resp = plain_get(&s, "/api/v1/namespaces/default/configmaps/x").await;
    assert!(resp.is_empty(), "no response at all: {resp}");
    s.hooks().fail_next(
        RequestFilter::any().verb("get"),
        1,
        FaultAction::HangUp(Duration::from_millis(50)),
    );
    let err = cm_api(&s, "default")
        .get("x")
        .await
        .expect_err("transport error");
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
}

#[tokio::test]
async fn latency_delays_matching_requests() {
    let Some(s) = embedded_only("latency injection is a test-apiserver hook").await else {
        return;
    };
    s.hooks().add_latency(
        RequestFilter::any().resource("configmaps"),
        Duration::from_millis(150),
    );
    let started = Instant::now();
    cm_api(&s, "default")
        .list(&ListParams::default())
        .await
        .expect("list still succeeds");
    assert!(started.elapsed() >= Duration::from_millis(150));
    s.hooks().clear_faults();
}

#[tokio::test]
async fn close_watches_ends_open_streams() {
    let Some(s) = embedded_only("close_watches is a test-apiserver hook").await else {
        return;
    };
    let api = cm_api(&s, "default");
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .expect("watch")
        .boxed();
    s.close_watches();
    let end = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("stream ends in time");
    assert!(end.is_none());
}

#[tokio::test]
async fn wait_quiet_succeeds_when_idle_and_times_out_while_a_request_is_in_flight() {
    let Some(s) = embedded_only("wait_quiet is a test-apiserver hook").await else {
        return;
    };
    cm_api(&s, "default")
        .list(&ListParams::default())
        .await
        .expect("list");
    s.wait_quiet(Duration::from_millis(50), WAIT)
        .await
        .expect("quiet");
    s.hooks().fail_next(
        RequestFilter::any().verb("get"),
        1,
        FaultAction::Hang(Duration::from_secs(60)),
    );
    let client = s.client();
    let pending = tokio::spawn(async move { cm_api_for(client).get("x").await });
    while s.hooks().pending_faults() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        s.wait_quiet(Duration::from_millis(50), Duration::from_millis(300))
            .await
            .is_err()
    );
    pending.abort();
}

fn cm_api_for(client: kube::Client) -> kube::Api<k8s_openapi::api::core::v1::ConfigMap> {
    kube::Api::namespaced(client, "default")
}
