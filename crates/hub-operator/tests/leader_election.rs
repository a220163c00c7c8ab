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
        metrics_address: "127.0.0.1:0".parse().unwrap(),
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
