//! Validation outcomes with Ramen's reasons and messages, and the conflict rules of reference §3.3.

use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use drpolicy_validator::{Invalid, metro_conflict, supports_metro, validate};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pretty_assertions::assert_eq;
use serde_json::json;

fn policy(name: &str, clusters: &[&str]) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
            scheduling_interval: "5m".into(),
            ..Default::default()
        },
    )
}

fn created_at(mut policy: DRPolicy, second: i64) -> DRPolicy {
    let ts = k8s_openapi::jiff::Timestamp::from_second(1_790_000_000 + second).unwrap();
    policy.metadata.creation_timestamp = Some(Time(ts));
    policy
}

/// A DRCluster named like `e1` lives in region `east`, `w1` in `west`, `c1` in `central`.
fn cluster(name: &str, validated: bool) -> DRCluster {
    let region = match &name[..1] {
        "e" => "east",
        "w" => "west",
        "c" => "central",
        _ => "",
    };
    let mut c = DRCluster::new(
        name,
        DRClusterSpec {
            s3_profile_name: format!("s3-{name}"),
            region: Some(region.into()),
            ..Default::default()
        },
    );
    if validated {
        c.status = serde_json::from_value(json!({"conditions": [{
            "type": "Validated", "status": "True", "reason": "Succeeded",
            "message": "Validated the cluster", "lastTransitionTime": "2026-11-26T10:00:00Z"
        }]}))
        .unwrap();
    }
    c
}

fn all_clusters() -> Vec<DRCluster> {
    ["e1", "e2", "e3", "e4", "w1", "w2", "w3", "w4", "c1"]
        .iter()
        .map(|n| cluster(n, true))
        .collect()
}

#[test]
fn a_policy_without_clusters_fails_validation() {
    let err = validate(&policy("p", &[]), &all_clusters(), []).unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(err.to_string(), "missing DRClusters list in policy");
    assert!(!err.waits_for_drclusters());
}

#[test]
fn a_cluster_listed_twice_fails_validation_naming_it() {
    let err = validate(&policy("p", &["e1", "e1"]), &all_clusters(), []).unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(
        err.to_string(),
        r#"duplicate DRCluster "e1" in policy ([e1 e1])"#
    );
}

#[test]
fn a_missing_drcluster_is_reported_with_ramens_message_and_waits() {
    let clusters = vec![cluster("e1", true)];
    let err = validate(&policy("p", &["e1", "w9"]), &clusters, []).unwrap_err();
    assert_eq!(err.reason(), "DRClusterNotFound");
    assert_eq!(
        err.to_string(),
        "failed to find DRClusters specified in policy ([e1 w9])"
    );
    assert!(err.waits_for_drclusters());
    assert!(matches!(err, Invalid::DRClusterNotFound { missing, .. } if missing == ["w9"]));
}

#[test]
fn no_validated_drcluster_makes_the_policy_unavailable() {
    let clusters = vec![cluster("e1", false), cluster("w1", false)];
    let err = validate(&policy("p", &["e1", "w1"]), &clusters, []).unwrap_err();
    assert_eq!(err.reason(), "DRClustersUnavailable");
    assert_eq!(
        err.to_string(),
        "none of the DRClusters are validated ([e1 w1])"
    );
    assert!(!err.waits_for_drclusters());
}

#[test]
fn one_validated_drcluster_is_enough() {
    let clusters = vec![cluster("e1", true), cluster("w1", false)];
    assert_eq!(validate(&policy("p", &["e1", "w1"]), &clusters, []), Ok(()));
}

#[test]
fn metro_classification_follows_regions() {
    let clusters = all_clusters();
    assert!(supports_metro(&policy("p", &["e1", "e2"]), &clusters));
    assert!(!supports_metro(&policy("p", &["e1", "w1"]), &clusters));
    // A cluster without a DRCluster object is skipped, not grouped.
    assert!(!supports_metro(
        &policy("p", &["e1", "e9"]),
        &[cluster("e1", true)][..]
    ));
    // Two clusters without a region share the empty region.
    let bare = |n: &str| DRCluster::new(n, DRClusterSpec::default());
    assert!(supports_metro(
        &policy("p", &["x", "y"]),
        &[bare("x"), bare("y")][..]
    ));
}

#[test]
fn conflict_table_of_ramens_comment_holds() {
    let clusters = all_clusters();
    let valid: &[(&[&str], &[&str])] = &[
        (&["e1", "w1"], &["e1", "c1"]),
        (&["e1", "w1"], &["e1", "w1"]),
        (&["e1", "w1"], &["e2", "e3", "w1"]),
        (&["e1", "e2", "w1"], &["e3", "e4", "w1"]),
        (
            &["e1", "e2", "w1", "w2", "c1"],
            &["e3", "e4", "w3", "w4", "c1"],
        ),
        (&["e1", "e2"], &["w1", "w2"]),
    ];
    let conflicting: &[(&[&str], &[&str])] = &[
        (&["e1", "e2"], &["e1", "e3"]),
        (&["e1", "e2"], &["e1", "w1"]),
        (&["e1", "e2", "w1"], &["e1", "e2", "w1"]),
        (&["e1", "e2", "c1"], &["e1", "w1"]),
    ];
    for (a, b) in valid {
        assert!(
            !metro_conflict(&policy("a", a), &policy("b", b), &clusters),
            "{a:?} {b:?}"
        );
        assert!(
            !metro_conflict(&policy("b", b), &policy("a", a), &clusters),
            "{b:?} {a:?}"
        );
    }
    for (a, b) in conflicting {
        assert!(
            metro_conflict(&policy("a", a), &policy("b", b), &clusters),
            "{a:?} {b:?}"
        );
        assert!(
            metro_conflict(&policy("b", b), &policy("a", a), &clusters),
            "{b:?} {a:?}"
        );
    }
}

#[test]
fn only_the_newer_of_two_conflicting_policies_is_invalid_whichever_is_checked() {
    let clusters = all_clusters();
    let older = created_at(policy("zz-older", &["e1", "e2"]), 0);
    let newer = created_at(policy("aa-newer", &["e1", "e3"]), 10);
    assert_eq!(validate(&older, &clusters, [&older, &newer]), Ok(()));
    let err = validate(&newer, &clusters, [&older, &newer]).unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(
        err.to_string(),
        "validate managed cluster in drpolicy failed: drpolicy: aa-newer has overlapping metro region with another drpolicy zz-older"
    );
}

#[test]
fn equal_creation_times_are_ordered_by_name() {
    let clusters = all_clusters();
    let a = created_at(policy("a", &["e1", "e2"]), 5);
    let b = created_at(policy("b", &["e1", "e2"]), 5);
    assert_eq!(validate(&a, &clusters, [&b]), Ok(()));
    assert!(matches!(
        validate(&b, &clusters, [&a]),
        Err(Invalid::Conflict { other, .. }) if other == "a"
    ));
}

#[test]
fn the_conflict_names_the_oldest_conflicting_policy() {
    let clusters = all_clusters();
    let oldest = created_at(policy("oldest", &["e1", "e2"]), 0);
    let middle = created_at(policy("middle", &["e1", "e3"]), 1);
    let newest = created_at(policy("newest", &["e1", "e4"]), 2);
    assert!(matches!(
        validate(&newest, &clusters, [&middle, &oldest]),
        Err(Invalid::Conflict { other, .. }) if other == "oldest"
    ));
}
