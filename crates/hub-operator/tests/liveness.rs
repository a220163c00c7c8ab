//! `/healthz` tells whether the operator makes progress: ok through a healthy run (watches re-issued at
//! every watch timeout), failing when every watch keeps failing or a secret distribution hangs, ok
//! again once the API server answers.

mod support;

use hub_operator::http::{Readiness, serve};
use hub_operator::liveness::{Limits, Liveness};
use hub_operator::metrics::Metrics;
use hub_operator::{ControllerOptions, run_controller, shutdown_signal};
use std::net::SocketAddr;
use std::time::Duration;
use support::{Hub, config, eventually};
use test_apiserver::{FaultAction, RequestFilter};

async fn healthz(addr: SocketAddr) -> (u16, String) {
    support::http_get(addr, "/healthz").await
}

const STALL: Duration = Duration::from_secs(4);

/// The controller on `hub` with a client carrying the liveness layer, and `/healthz` served.
async fn start(hub: &Hub) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let liveness = Liveness::new(Limits {
        watch_stall: STALL,
        work_stall: STALL,
    });
    let config = kube::Config::new(hub.server.url().parse().unwrap());
    let client = kube::client::ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&liveness.layer())
        .build();
    let readiness = Readiness::default();
    let (health, _) = serve(
        "127.0.0.1:0".parse().unwrap(),
        None,
        readiness.clone(),
        liveness.clone(),
        Metrics::new(),
        None,
    )
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ControllerOptions {
        namespace: support::NS.into(),
        concurrency: 2,
        identity: "liveness".into(),
        metrics: Metrics::new(),
        readiness: readiness.clone(),
        liveness,
    };
    tokio::spawn(run_controller(
        client,
        options,
        shutdown_signal(async move {
            let _ = stopped.await;
        }),
    ));
    eventually("operator ready", || {
        let ready = readiness.is_ready();
        async move { ready.then_some(()) }
    })
    .await;
    (health, stop)
}

#[tokio::test]
async fn healthz_stays_ok_while_watches_are_renewed_and_fails_while_they_all_fail() {
    let hub = Hub::prepared(&config()).await;
    let (health, _stop) = start(&hub).await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    // Three stall limits of an idle hub: each watch ends at its 1 s timeout and is re-issued.
    for _ in 0..24 {
        assert_eq!(healthz(health).await, (200, "ok".to_owned()));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for verb in ["list", "watch"] {
        hub.server.hooks().fail_next(
            RequestFilter::any().verb(verb),
            1_000_000,
            FaultAction::Status(500),
        );
    }
    hub.server.close_watches();
    // The watches go stale one after another (each from its own last success): wait for the
    // DRPolicy watch to be named too.
    let body = eventually("healthz fails naming the DRPolicy watch", || async {
        let (status, body) = healthz(health).await;
        (status == 503 && body.contains("/drpolicies")).then_some(body)
    })
    .await;
    assert!(body.starts_with("no progress: watch "), "{body}");

    hub.server.hooks().clear_faults();
    eventually("healthz recovers", || async {
        (healthz(health).await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn healthz_fails_while_a_secret_distribution_hangs() {
    let hub = Hub::prepared(&config()).await;
    let (health, _stop) = start(&hub).await;
    hub.server.hooks().add_latency(
        RequestFilter::any().verb("patch").resource("policies"),
        STALL * 3,
    );
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    let body = eventually("healthz fails", || async {
        let (status, body) = healthz(health).await;
        (status == 503).then_some(body)
    })
    .await;
    assert!(
        body.contains("distribution of secret ramen-s3-secret-dr"),
        "{body}"
    );
    hub.server.hooks().clear_faults();
    hub.wait_distributed("p1").await;
    eventually("healthz recovers", || async {
        (healthz(health).await.0 == 200).then_some(())
    })
    .await;
}
