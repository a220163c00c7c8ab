//! Two operator processes on one hub: only the lease holder reconciles; the standby takes over when the
//! holder stops.

mod support;

use hub_operator::metrics::Metrics;
use hub_operator::settings::Settings;
use hub_operator::{run, shutdown_signal};
use support::{Hub, eventually};

fn settings(identity: &str) -> Settings {
    Settings {
        namespace: support::NS.into(),
        health_address: "127.0.0.1:0".parse().unwrap(),
        metrics_address: Some("127.0.0.1:0".parse().unwrap()),
        leader_elect: true,
        leader_election_id: "hub.ramendr.openshift.io".into(),
        identity: identity.into(),
        max_concurrent_reconciles: 2,
    }
}

fn reconciled(metrics: &Metrics) -> u64 {
    ["success", "invalid", "error"]
        .iter()
        .map(|r| metrics.reconciles.with_label_values(&[*r]).get())
        .sum()
}

#[tokio::test]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() {
    let hub = Hub::prepared(support::CONFIG).await;
    let (first_metrics, second_metrics) = (Metrics::new(), Metrics::new());
    let (stop_first, first_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_second, second_rx) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(run(
        hub.client.clone(),
        settings("first"),
        first_metrics.clone(),
        shutdown_signal(async move {
            let _ = first_rx.await;
        }),
    ));
    // Let the first one take the lease before the second starts.
    eventually("first holds the lease", || async {
        let lease = kube::Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(
            hub.client.clone(),
            support::NS,
        )
        .get_opt("hub.ramendr.openshift.io")
        .await
        .unwrap()?;
        (lease.spec?.holder_identity.as_deref() == Some("first")).then_some(())
    })
    .await;
    let second = tokio::spawn(run(
        hub.client.clone(),
        settings("second"),
        second_metrics.clone(),
        shutdown_signal(async move {
            let _ = second_rx.await;
        }),
    ));

    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.wait_condition("p1", "SecretsDistributed", "True", "Distributed")
        .await;
    hub.quiet().await;
    assert!(reconciled(&first_metrics) > 0);
    assert_eq!(
        reconciled(&second_metrics),
        0,
        "the standby never reconciles"
    );

    stop_first.send(()).unwrap();
    first.await.unwrap().unwrap();
    hub.create_policy("p2", &["dr2", "dr3"]).await;
    hub.wait_condition("p2", "SecretsDistributed", "True", "Distributed")
        .await;
    assert!(reconciled(&second_metrics) > 0, "the standby took over");

    stop_second.send(()).unwrap();
    second.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_leader_that_cannot_renew_its_lease_stops_reconciling() {
    use test_apiserver::{FaultAction, RequestFilter};
    let hub = Hub::prepared(support::CONFIG).await;
    let metrics = Metrics::new();
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let leader = tokio::spawn(run(
        hub.client.clone(),
        settings("lonely"),
        metrics.clone(),
        shutdown_signal(async move {
            let _ = rx.await;
        }),
    ));
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.wait_condition("p1", "SecretsDistributed", "True", "Distributed")
        .await;
    // The API server now refuses every Lease request: the lease can be neither renewed nor read.
    hub.server.hooks().fail_next(
        RequestFilter::any().resource("leases"),
        usize::MAX,
        FaultAction::Status(500),
    );
    let result = tokio::time::timeout(std::time::Duration::from_secs(60), leader)
        .await
        .expect("the leader gives up within the lease duration")
        .unwrap();
    let error = result.expect_err("losing the lease ends the run with an error");
    assert!(
        error.to_string().contains("leader election lost"),
        "{error}"
    );
    hub.server.hooks().clear_faults();
}
