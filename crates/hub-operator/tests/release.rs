//! `hub-operator release` against the embedded API server: it takes exactly our finalizers off the
//! DRPolicies and the S3 Secrets (metadata patches, nothing else written, nothing deleted), lists only
//! what it would do in a dry run, and refuses while a fresh leader Lease says an operator runs.

mod support;

use drpolicy_api::names::{
    DRPOLICY_FINALIZER, SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO,
};
use hub_operator::release::{self, Options, ReleaseError};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Hub, NS};

const FOREIGN: &str = "example.com/keep-me";
const LEASE: &str = "hub.ramendr.openshift.io";

fn options(dry_run: bool, force: bool) -> Options {
    Options {
        namespace: NS.into(),
        lease: LEASE.into(),
        dry_run,
        force,
    }
}

/// A hub where policy `p1` (dr1, dr2) was distributed by the operator, which is then stopped; a foreign
/// finalizer sits beside ours on the policy and on one Secret, and that Secret carries the Velero
/// finalizer too (as when `kubeObjectProtection` is on).
async fn stopped_hub_with_finalizers() -> Hub {
    let mut hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.stop_operator().await;
    let policy = hub.policies().get("p1").await.unwrap();
    let mut finalizers = policy.finalizers().to_vec();
    assert!(finalizers.iter().any(|f| f == DRPOLICY_FINALIZER));
    finalizers.push(FOREIGN.into());
    hub.policies()
        .patch(
            "p1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": finalizers}})),
        )
        .await
        .unwrap();
    assert!(hub.secret_has_finalizer("ramen-s3-secret-dr1").await);
    assert!(hub.secret_has_finalizer("ramen-s3-secret-dr2").await);
    hub.secrets()
        .patch(
            "ramen-s3-secret-dr1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": [
                SECRET_POLICY_FINALIZER, FOREIGN, SECRET_POLICY_FINALIZER_VELERO
            ]}})),
        )
        .await
        .unwrap();
    hub
}

async fn finalizers_of_secret(hub: &Hub, name: &str) -> Vec<String> {
    hub.secrets()
        .get_metadata(name)
        .await
        .unwrap()
        .finalizers()
        .to_vec()
}

async fn hold_lease(hub: &Hub, renewed_ago: SignedDuration) {
    let lease = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(LEASE.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("ramen-hub-operator-6d9f-abcde".into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::now() - renewed_ago)),
            ..LeaseSpec::default()
        }),
    };
    Api::<Lease>::namespaced(hub.client.clone(), NS)
        .create(&PostParams::default(), &lease)
        .await
        .unwrap();
}

#[tokio::test]
async fn release_removes_only_our_finalizers_with_one_patch_per_object() {
    let hub = stopped_hub_with_finalizers().await;
    let objects_before = hub.ocm_object_count().await;
    let mark = hub.server.hooks().mark();

    let summary = release::run(&hub.client, &options(false, false))
        .await
        .unwrap();

    let names: Vec<(&str, &str)> = summary
        .released
        .iter()
        .map(|r| (r.kind, r.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("drpolicy", "p1"),
            ("secret", "ramen-system/ramen-s3-secret-dr1"),
            ("secret", "ramen-system/ramen-s3-secret-dr2"),
        ]
    );
    assert_eq!(
        summary.released[1].finalizers,
        [SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO]
    );
    let mut writes = hub.writes_since(mark);
    writes.sort();
    assert_eq!(
        writes,
        [
            "patch drpolicies p1",
            "patch secrets ramen-s3-secret-dr1",
            "patch secrets ramen-s3-secret-dr2",
        ]
    );
    // Reads: the Lease, then metadata-only lists; never a Secret by name.
    let reads: Vec<String> = hub
        .server
        .hooks()
        .requests_since(mark)
        .iter()
        .filter(|r| !r.is_write())
        .map(|r| format!("{} {}", r.verb, r.resource))
        .collect();
    assert_eq!(reads, ["get leases", "list drpolicies", "list secrets"]);

    let policy = hub.policies().get("p1").await.unwrap();
    assert_eq!(policy.finalizers(), [FOREIGN]);
    assert_eq!(
        finalizers_of_secret(&hub, "ramen-s3-secret-dr1").await,
        [FOREIGN]
    );
    assert!(
        finalizers_of_secret(&hub, "ramen-s3-secret-dr2")
            .await
            .is_empty()
    );
    assert!(
        finalizers_of_secret(&hub, "ramen-s3-secret-dr3")
            .await
            .is_empty()
    );
    assert_eq!(hub.ocm_object_count().await, objects_before);

    // Nothing of ours is left: a second run writes nothing.
    let mark = hub.server.hooks().mark();
    let again = release::run(&hub.client, &options(false, false))
        .await
        .unwrap();
    assert!(again.released.is_empty(), "{again}");
    assert!(hub.writes_since(mark).is_empty());
}

#[tokio::test]
async fn dry_run_lists_what_it_would_release_and_writes_nothing() {
    let hub = stopped_hub_with_finalizers().await;
    let mark = hub.server.hooks().mark();
    let summary = release::run(&hub.client, &options(true, false))
        .await
        .unwrap();
    assert!(
        hub.writes_since(mark).is_empty(),
        "{:?}",
        hub.writes_since(mark)
    );
    assert_eq!(summary.released.len(), 3, "{summary}");
    assert!(
        summary.to_string().contains("nothing was changed"),
        "{summary}"
    );
    assert!(
        hub.policy_finalizers("p1")
            .await
            .iter()
            .any(|f| f == DRPOLICY_FINALIZER)
    );
}

#[tokio::test]
async fn release_refuses_while_a_fresh_lease_is_held_unless_forced() {
    let hub = stopped_hub_with_finalizers().await;
    hold_lease(&hub, SignedDuration::from_secs(2)).await;
    let mark = hub.server.hooks().mark();

    let refused = release::run(&hub.client, &options(false, false)).await;
    let Err(ReleaseError::LeaseHeld { holder, .. }) = &refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!(holder, "ramen-hub-operator-6d9f-abcde");
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("--force") && message.contains("replicas=0"),
        "{message}"
    );
    assert!(hub.writes_since(mark).is_empty());

    let forced = release::run(&hub.client, &options(false, true))
        .await
        .unwrap();
    assert_eq!(forced.released.len(), 3, "{forced}");
}

#[tokio::test]
async fn release_goes_ahead_when_the_lease_expired() {
    let hub = stopped_hub_with_finalizers().await;
    hold_lease(&hub, SignedDuration::from_secs(60)).await;
    let summary = release::run(&hub.client, &options(false, false))
        .await
        .unwrap();
    assert_eq!(summary.released.len(), 3, "{summary}");
    assert!(
        hub.policy_finalizers("p1")
            .await
            .iter()
            .all(|f| f != DRPOLICY_FINALIZER)
    );
}
