//! The policy index answers the requeue questions; secret needs follow DRCluster → profile → secret.

use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use drpolicy_validator::{PolicyIndex, SecretProblem, needed_secrets, secret_for_cluster};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;

fn policy(name: &str, clusters: &[&str]) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        },
    )
}

fn names<'a>(it: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    it.into_iter().collect()
}

#[test]
fn index_finds_policies_by_cluster_and_sharing() {
    let mut index = PolicyIndex::new();
    index.apply(&policy("p1", &["a", "b"]));
    index.apply(&policy("p2", &["b", "c"]));
    index.apply(&policy("p3", &["d", "e"]));
    assert_eq!(names(index.policies_with_cluster("b")), ["p1", "p2"]);
    assert_eq!(names(index.policies_with_cluster("z")), Vec::<&str>::new());
    assert_eq!(names(index.policies_sharing_clusters("p1")), ["p2"]);
    assert_eq!(
        names(index.policies_sharing_clusters("p3")),
        Vec::<&str>::new()
    );
    assert_eq!(index.len(), 3);
}

#[test]
fn index_updates_and_deletes_cleanly() {
    let mut index = PolicyIndex::new();
    index.apply(&policy("p1", &["a", "b"]));
    index.apply(&policy("p1", &["a", "c"]));
    assert_eq!(names(index.policies_with_cluster("b")), Vec::<&str>::new());
    assert_eq!(names(index.policies_with_cluster("c")), ["p1"]);
    index.delete("p1");
    assert!(index.is_empty());
    assert_eq!(names(index.policies_with_cluster("a")), Vec::<&str>::new());
    index.reset([&policy("p9", &["x", "y"])]);
    assert_eq!(names(index.policies_with_cluster("x")), ["p9"]);
}

fn config() -> ramen_config::RamenConfig {
    ramen_config::parse_str(
        "s3StoreProfiles:\n\
         - s3ProfileName: s3-a\n  s3SecretRef: {name: secret-a, namespace: ignored}\n\
         - s3ProfileName: s3-b\n  s3SecretRef: {name: secret-b}\n\
         - s3ProfileName: s3-b\n  s3SecretRef: {name: shadowed}\n\
         - s3ProfileName: s3-noref\n",
    )
    .unwrap()
    .config
}

fn clusters() -> BTreeMap<String, DRCluster> {
    [
        ("a", "s3-a"),
        ("b", "s3-b"),
        ("c", "s3-unknown"),
        ("d", "s3-noref"),
        ("e", "s3-a"),
    ]
    .into_iter()
    .map(|(n, p)| {
        let spec = DRClusterSpec {
            s3_profile_name: p.into(),
            ..Default::default()
        };
        (n.to_owned(), DRCluster::new(n, spec))
    })
    .collect()
}

#[test]
fn every_cluster_of_a_policy_needs_every_peer_secret_once() {
    let needs = needed_secrets(&policy("p", &["a", "b", "e"]), &clusters(), &config());
    assert_eq!(
        names(needs.secrets.iter().map(String::as_str)),
        ["secret-a", "secret-b"]
    );
    assert!(needs.problems.is_empty());
}

#[test]
fn the_first_profile_with_a_name_wins_as_in_ramen() {
    assert_eq!(
        secret_for_cluster("b", &clusters(), &config()).unwrap(),
        "secret-b"
    );
}

#[test]
fn clusters_without_a_usable_profile_are_reported_individually() {
    let needs = needed_secrets(&policy("p", &["a", "c", "d", "zz"]), &clusters(), &config());
    assert_eq!(
        names(needs.secrets.iter().map(String::as_str)),
        ["secret-a"]
    );
    assert_eq!(
        needs.problems,
        [
            SecretProblem::ProfileMissing {
                cluster: "c".into(),
                profile: "s3-unknown".into()
            },
            SecretProblem::SecretRefMissing {
                cluster: "d".into(),
                profile: "s3-noref".into()
            },
            SecretProblem::DRClusterMissing {
                cluster: "zz".into()
            },
        ]
    );
    assert_eq!(
        needs.problems[0].to_string(),
        "missing profile name (s3-unknown) in config for DRCluster (c)"
    );
}
