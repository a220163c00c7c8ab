//! Leader election in-process: only the lease holder reconciles; the standby takes over when the
//! holder stops; a holder whose renewals fail or hang stops writing before its lease could pass to
//! anyone else; an idle holder only renews its lease. (Two operator *processes* are in
//! `leader_processes.rs`.)

mod support;

use hub_operator::metrics::Metrics;
use hub_operator::settings::Settings;
use k8s_openapi::api::coordination::v1::Lease;
use std::time::{Duration, SystemTime};
use support::{Hub, eventually, from_operator, is_lease_request, operator_client, spawn_run};
use test_apiserver::{FaultAction, Hooks, RequestFilter};

const LEASE: &str = "hub.ramendr.openshift.io";

fn settings(identity: &str) -> Settings {
    support::operator_settings(identity, true)
}

fn reconciled(metrics: &Metrics) -> u64 {
    ["success", "invalid", "error"]
        .iter()
        .map(|r| metrics.reconciles.with_label_values(&[*r]).get())
        .sum()
}

#[tokio::test]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() {
    let hub = Hub::prepared(&support::config()).await;
    let (first_metrics, second_metrics) = (Metrics::new(), Metrics::new());
    let (stop_first, first) =
        spawn_run(hub.client.clone(), settings("first"), first_metrics.clone());
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
    let (stop_second, second) = spawn_run(
        hub.client.clone(),
        settings("second"),
        second_metrics.clone(),
    );

    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.quiet().await;
    assert!(reconciled(&first_metrics) > 0);
    assert_eq!(
        reconciled(&second_metrics),
        0,
        "the standby never reconciles"
    );
    assert_eq!(
        (first_metrics.leader.get(), second_metrics.leader.get()),
        (1, 0),
        "ramen_hub_leader says who holds the lease"
    );

    stop_first.send(()).unwrap();
    first.await.unwrap().unwrap();
    hub.create_distributed("p2", &["dr2", "dr3"]).await;
    assert!(reconciled(&second_metrics) > 0, "the standby took over");

    stop_second.send(()).unwrap();
    second.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_leader_that_cannot_renew_its_lease_stops_reconciling() {
    use test_apiserver::{FaultAction, RequestFilter};
    let hub = Hub::prepared(&support::config()).await;
    let metrics = Metrics::new();
    let (_stop, leader) = spawn_run(hub.client.clone(), settings("lonely"), metrics.clone());
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
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

/// Creates a DRPolicy every 200 ms until aborted, so that the operator always has something to
/// write.
fn keep_the_operator_busy(hub: &Hub) -> tokio::task::JoinHandle<()> {
    let policies = hub.policies();
    tokio::spawn(async move {
        for n in 0.. {
            let policy = test_fixtures::drpolicy(&format!("load-{n}"), &["dr1", "dr2"], "5m");
            let _ = policies
                .create(&kube::api::PostParams::default(), &policy)
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// Starts a leader with `fault` applied to the Lease requests once it reconciles, keeps it busy,
/// and asserts that none of its writes reached the server at or after `renewTime +
/// leaseDurationSeconds` of its last accepted renewal — when a standby could hold the lease.
async fn writes_stop_before_the_lease_expires(fault: impl Fn(&Hooks)) {
    let hub = Hub::prepared(&support::config()).await;
    let (_stop, leader) = spawn_run(operator_client(&hub), settings("leader"), Metrics::new());
    hub.create_distributed("p0", &["dr1", "dr2"]).await;
    let load = keep_the_operator_busy(&hub);
    let faults_from = SystemTime::now();
    fault(hub.server.hooks());

    let result = tokio::time::timeout(Duration::from_secs(90), leader)
        .await
        .expect("the leader gives up")
        .unwrap();
    load.abort();
    hub.server.hooks().clear_faults();
    let error = result.expect_err("losing the lease ends the run with an error");
    assert!(
        error.to_string().contains("leader election lost"),
        "{error}"
    );

    // The Lease as the last accepted renewal left it: every later write of it failed.
    let lease = kube::Api::<Lease>::namespaced(hub.client.clone(), support::NS)
        .get(LEASE)
        .await
        .unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("leader"));
    let renewed = spec.renew_time.unwrap().0;
    let duration = i64::from(spec.lease_duration_seconds.unwrap());
    let expiry = renewed + k8s_openapi::jiff::SignedDuration::from_secs(duration);
    let at = |time: SystemTime| k8s_openapi::jiff::Timestamp::try_from(time).unwrap();

    let writes: Vec<_> = hub
        .server
        .hooks()
        .requests()
        .into_iter()
        .filter(|r| from_operator(r) && !is_lease_request(r) && r.is_write())
        .collect();
    assert!(
        writes.iter().any(|w| w.received_at > faults_from),
        "the operator kept writing after the lease requests began to fail (else this proves nothing)"
    );
    let late: Vec<String> = writes
        .iter()
        .filter(|w| at(w.received_at) >= expiry || (w.status < 300 && at(w.answered_at) >= expiry))
        .map(|w| {
            format!(
                "{} {} {} at {} (status {})",
                w.verb,
                w.resource,
                w.name,
                at(w.received_at),
                w.status
            )
        })
        .collect();
    assert!(
        late.is_empty(),
        "writes at or after the lease could pass to a standby ({expiry}): {late:#?}"
    );
}

#[tokio::test]
async fn a_leader_whose_renewals_fail_while_reads_succeed_stops_writing_before_its_lease_expires() {
    writes_stop_before_the_lease_expires(|hooks| {
        for verb in ["update", "patch", "create"] {
            hooks.fail_next(
                RequestFilter::any().resource("leases").verb(verb),
                usize::MAX,
                FaultAction::Status(500),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_leader_whose_lease_requests_hang_stops_writing_before_its_lease_expires() {
    writes_stop_before_the_lease_expires(|hooks| {
        hooks.fail_next(
            RequestFilter::any().resource("leases"),
            usize::MAX,
            FaultAction::Hang(Duration::from_secs(600)),
        );
    })
    .await;
}

#[tokio::test]
async fn an_idle_leader_only_renews_its_lease_once_per_retry_period() {
    let hub = Hub::prepared(&support::config()).await;
    let (stop, leader) = spawn_run(operator_client(&hub), settings("idle"), Metrics::new());
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.quiet().await;

    let periods = 5;
    let mark = hub.server.hooks().mark();
    tokio::time::sleep(hub_operator::leader::RETRY_PERIOD * periods).await;
    let requests: Vec<_> = hub
        .server
        .hooks()
        .requests_since(mark)
        .into_iter()
        .filter(from_operator)
        .collect();
    let others: Vec<String> = requests
        .iter()
        .filter(|r| !(is_lease_request(r) && r.verb == "update" && r.name == LEASE))
        .map(|r| format!("{} {} {} {}", r.verb, r.resource, r.name, r.query))
        .collect();
    assert!(
        others.is_empty(),
        "an idle leader sends nothing but lease renewals: {others:#?}"
    );
    assert!(
        !requests.is_empty() && requests.len() <= periods as usize + 1,
        "one renewal per retry period: {} in {periods} periods",
        requests.len()
    );

    stop.send(()).unwrap();
    leader.await.unwrap().unwrap();
    let lease = kube::Api::<Lease>::namespaced(hub.client.clone(), support::NS)
        .get(LEASE)
        .await
        .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity,
        None,
        "a leader that stops gives its lease up"
    );
}
