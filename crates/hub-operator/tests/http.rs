//! The probe and metrics endpoints answer as Kubernetes and Prometheus expect.

mod support;

use hub_operator::http::{Readiness, serve};
use hub_operator::liveness::Liveness;
use hub_operator::metrics::Metrics;
use std::net::SocketAddr;
use support::http_get as get;

#[tokio::test]
async fn probes_and_metrics_are_served() {
    let readiness = Readiness::default();
    let metrics = Metrics::new();
    metrics.set_interval("p1", 300.0);
    metrics.reconciles.with_label_values(&["success"]).inc();
    metrics
        .reconcile_duration
        .with_label_values::<&str>(&[])
        .observe(0.02);
    metrics
        .watch_errors
        .with_label_values(&["drclusters"])
        .inc();
    metrics.distributions.with_label_values(&["success"]).inc();
    metrics
        .distribution_duration
        .with_label_values::<&str>(&[])
        .observe(0.004);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (health, metrics_addr) = serve(
        any,
        Some(any),
        readiness.clone(),
        Liveness::default(),
        metrics.clone(),
        None,
    )
    .await
    .unwrap();
    let metrics_addr = metrics_addr.unwrap();
    assert_eq!(
        health, metrics_addr,
        "one listener when both addresses are the same"
    );
    // Without a metrics address ("0"), the probes are served and /metrics is not.
    let (probes_only, none) = serve(
        any,
        None,
        readiness.clone(),
        Liveness::default(),
        metrics,
        None,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    assert_eq!(get(probes_only, "/healthz").await.0, 200);
    assert_eq!(get(probes_only, "/metrics").await.0, 404);

    assert_eq!(get(health, "/healthz").await.0, 200);
    assert_eq!(
        get(health, "/readyz").await.0,
        503,
        "not ready before the caches synced"
    );
    readiness.set(true);
    assert_eq!(get(health, "/readyz").await.0, 200);

    let (status, body) = get(metrics_addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains(
        "# HELP ramen_policy_schedule_interval_seconds Schedule interval for a policy in seconds"
    ));
    assert!(body.contains("ramen_policy_schedule_interval_seconds{policyname=\"p1\"} 300"));
    for family in [
        "ramen_hub_leader",
        "ramen_hub_drpolicy_reconciles_total",
        "ramen_hub_drpolicy_reconcile_duration_seconds_bucket",
        "ramen_hub_watch_errors_total",
        "ramen_hub_secret_distributions_total",
        "ramen_hub_secret_distribution_duration_seconds_bucket",
    ] {
        assert!(body.contains(family), "{family} missing from\n{body}");
    }
    promtool_accepts(&body);
}

/// `promtool check metrics` (Debian package `prometheus`) when it is installed.
fn promtool_accepts(exposition: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not installed: skipping `promtool check metrics`");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
