//! The secure metrics endpoint: HTTPS only, and only for callers whose token the API server
//! authenticates (TokenReview) and authorizes for `get` on `/metrics` (SubjectAccessReview); the
//! probes stay plain HTTP.

use hub_operator::http::{Readiness, SecureMetrics, serve};
use hub_operator::liveness::Liveness;
use hub_operator::metrics::Metrics;
use hub_operator::metrics_auth::Authorizer;
use hub_operator::metrics_tls::server_config;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use test_apiserver::TestApiServer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const SCRAPER: &str = "system:serviceaccount:monitoring:prometheus";
const TOKEN: &str = "scraper-token";

/// A certificate for `localhost` written as `tls.crt` / `tls.key` into a fresh directory.
fn cert_dir() -> (PathBuf, CertificateDer<'static>) {
    let dir = std::env::temp_dir().join(format!(
        "metrics-tls-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("tls.crt"), generated.cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), generated.signing_key.serialize_pem()).unwrap();
    (dir, generated.cert.der().clone())
}

async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin, request: &str) -> (u16, String) {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn request(path: &str, token: Option<&str>) -> String {
    let authorization = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n")
}

/// GET over TLS, trusting `cert`.
async fn get_tls(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    token: Option<&str>,
) -> (u16, String) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    exchange(tls, &request("/metrics", token)).await
}

async fn get_plain(addr: SocketAddr, path: &str) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    exchange(tcp, &request(path, None)).await
}

#[tokio::test]
async fn metrics_are_served_over_tls_to_authorized_callers_only() {
    let server = TestApiServer::start().await.unwrap();
    server
        .reviews()
        .add_token(TOKEN, SCRAPER, &["system:serviceaccounts"]);
    server
        .reviews()
        .add_token("intruder-token", "intruder", &[]);
    let (dir, cert) = cert_dir();
    let metrics = Metrics::new();
    metrics.reconciles.with_label_values(&["success"]).inc();
    let secure = SecureMetrics {
        tls: server_config(Some(&dir), &[]).unwrap(),
        authorizer: Authorizer::new(server.client()),
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (health, metrics_addr) = serve(
        any,
        Some(any),
        Readiness::default(),
        Liveness::default(),
        metrics,
        Some(secure),
    )
    .await
    .unwrap();
    let metrics_addr = metrics_addr.unwrap();

    assert_eq!(
        get_plain(health, "/healthz").await.0,
        200,
        "probes stay plain HTTP"
    );
    assert_ne!(
        get_plain(metrics_addr, "/metrics").await.0,
        200,
        "no metrics over plain HTTP"
    );
    assert_eq!(get_tls(metrics_addr, &cert, None).await.0, 401);
    assert_eq!(get_tls(metrics_addr, &cert, Some("unknown")).await.0, 401);
    let (status, body) = get_tls(metrics_addr, &cert, Some("intruder-token")).await;
    assert_eq!(
        (status, body.trim()),
        (403, "intruder may not get /metrics")
    );
    // Authenticated, not yet authorized: the denial is cached for a minute, so grant a fresh token.
    assert_eq!(get_tls(metrics_addr, &cert, Some(TOKEN)).await.0, 403);
    server
        .reviews()
        .grant_non_resource(SCRAPER, "get", "/metrics");
    server.reviews().add_token("second-token", SCRAPER, &[]);
    let mark = server.hooks().mark();
    let (status, body) = get_tls(metrics_addr, &cert, Some("second-token")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("ramen_hub_drpolicy_reconciles_total"),
        "{body}"
    );
    assert_eq!(
        get_tls(metrics_addr, &cert, Some("second-token")).await.0,
        200
    );
    assert_eq!(
        server.hooks().count_since(mark, "create", "tokenreviews"),
        1,
        "the decision is reused for the next scrape"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_self_signed_certificate_is_generated_without_a_directory_and_a_missing_one_is_named() {
    assert!(server_config(None, &["localhost".to_owned()]).is_ok());
    let missing = std::path::Path::new("/nonexistent/metrics-tls");
    let error = format!("{:#}", server_config(Some(missing), &[]).unwrap_err());
    assert!(
        error.contains("/nonexistent/metrics-tls/tls.crt"),
        "{error}"
    );
}

#[tokio::test]
async fn a_flood_of_new_tokens_is_answered_503_beyond_two_reviews_in_flight() {
    let server = TestApiServer::start().await.unwrap();
    // A slow API server: each TokenReview takes 2 s.
    server.hooks().add_latency(
        test_apiserver::RequestFilter::any().resource("tokenreviews"),
        std::time::Duration::from_secs(2),
    );
    let (dir, cert) = cert_dir();
    let secure = SecureMetrics {
        tls: server_config(Some(&dir), &[]).unwrap(),
        authorizer: Authorizer::new(server.client()),
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (_, metrics_addr) = serve(
        any,
        Some(any),
        Readiness::default(),
        Liveness::default(),
        Metrics::new(),
        Some(secure),
    )
    .await
    .unwrap();
    let metrics_addr = metrics_addr.unwrap();
    let scrapes = (0..5).map(|i| {
        let cert = cert.clone();
        async move {
            get_tls(metrics_addr, &cert, Some(&format!("made-up-{i}")))
                .await
                .0
        }
    });
    let mut statuses = futures::future::join_all(scrapes).await;
    statuses.sort();
    assert_eq!(
        statuses,
        [401, 401, 503, 503, 503],
        "two reviewed, three turned away"
    );
    assert_eq!(server.hooks().count("create", "tokenreviews"), 2);
    let _ = std::fs::remove_dir_all(dir);
}
