//! Ramen objects survive a read and a write through our types without losing or changing anything.

use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use pretty_assertions::assert_eq;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn round_trip<T: Serialize + DeserializeOwned>(yaml: &str) -> (Value, T) {
    let original: Value = serde_saphyr::from_str(yaml).expect("fixture is valid YAML");
    let typed: T = serde_json::from_value(original.clone()).expect("fixture fits the type");
    let written = serde_json::to_value(&typed).unwrap();
    assert_eq!(written, original);
    (original, typed)
}

#[test]
fn drpolicy_round_trips_with_head_status_fields() {
    let (_, policy) = round_trip::<DRPolicy>(include_str!("fixtures/drpolicy.yaml"));
    assert_eq!(policy.spec.dr_clusters, ["dr1", "dr2"]);
    assert_eq!(policy.spec.scheduling_interval, "5m");
    assert!(policy.is_validated());
    assert!(policy.contains_cluster("dr2"));
    assert!(!policy.contains_cluster("dr3"));
    let peer = &policy
        .status
        .as_ref()
        .unwrap()
        .async_
        .as_ref()
        .unwrap()
        .peer_classes
        .as_ref()
        .unwrap()[0];
    assert_eq!(peer.group_replication_id.as_deref(), Some("grp"));
}

#[test]
fn drcluster_round_trips_with_and_without_region() {
    let (_, dr1) = round_trip::<DRCluster>(include_str!("fixtures/drcluster-dr1.yaml"));
    assert_eq!(dr1.region(), "west");
    assert!(dr1.is_validated());
    let (_, dr2) = round_trip::<DRCluster>(include_str!("fixtures/drcluster-dr2.yaml"));
    assert_eq!(dr2.region(), "");
    assert!(!dr2.is_validated());
}

#[test]
fn drpc_round_trips_fields_we_do_not_type() {
    let (original, drpc) = round_trip::<DRPlacementControl>(include_str!("fixtures/drpc.yaml"));
    assert_eq!(drpc.dr_policy_name(), "dr-policy");
    assert_eq!(drpc.spec.action.as_deref(), Some("Failover"));
    assert_eq!(
        drpc.spec.other["volSyncSpec"],
        original["spec"]["volSyncSpec"]
    );
    let status = drpc.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("FailedOver"));
    assert_eq!(status.other["preferredDecision"]["clusterName"], "dr2");
}

#[test]
fn go_style_empty_spec_fields_are_always_written() {
    // Ramen's Go types have no omitempty on these fields: a minimal policy still sends them.
    let policy = DRPolicy::new("p", Default::default());
    let value = serde_json::to_value(&policy).unwrap();
    assert_eq!(value["spec"]["schedulingInterval"], "");
    assert_eq!(value["spec"]["drClusters"], serde_json::json!([]));
    assert_eq!(
        value["spec"]["replicationClassSelector"],
        serde_json::json!({})
    );
    assert_eq!(
        value["spec"]["volumeSnapshotClassSelector"],
        serde_json::json!({})
    );
    assert!(
        value["spec"]
            .get("volumeGroupSnapshotClassSelector")
            .is_none()
    );
}

#[test]
fn a_validated_condition_for_an_older_generation_does_not_count() {
    let mut policy: DRPolicy =
        serde_saphyr::from_str(include_str!("fixtures/drpolicy.yaml")).unwrap();
    policy.metadata.generation = Some(2);
    assert!(!policy.is_validated());
}
