//! Properties of the Ramen HEAD rules: overlap is symmetric, of two overlapping policies exactly one is
//! invalid (BH8), and NAD validation accounts for every NAD exactly once.

use drpolicy_api::{
    DRClusterConfig, DRClusterConfigStatus, DRPolicy, DRPolicySpec, DRPolicyStatus,
    NetworkAttachment, PeerClass, PeerClassesStatus,
};
use drpolicy_validator::{
    ClusterIds, Conflict, check_conflicts, dr_type, metro_clusters, overlapping, validate_nads,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// A peer class: storage IDs and cluster IDs drawn from small alphabets.
fn peer_class() -> impl Strategy<Value = PeerClass> {
    (
        proptest::collection::vec("s[12]", 0..3),
        proptest::collection::vec("id-[a-d]", 0..3),
    )
        .prop_map(|(sids, cids)| PeerClass {
            storage_id: Some(sids),
            cluster_ids: Some(cids),
            ..Default::default()
        })
}

/// A policy over clusters `a`..`d`, with optional peer classes and creation second.
fn policy(name: &'static str) -> impl Strategy<Value = DRPolicy> {
    (
        proptest::collection::vec("[a-d]", 0..3),
        prop_oneof![Just(""), Just("0m"), Just("5m"), Just("5x")],
        proptest::collection::vec(peer_class(), 0..3),
        proptest::collection::vec(peer_class(), 0..2),
        proptest::option::of(0i64..3),
    )
        .prop_map(move |(clusters, interval, sync, async_, second)| {
            let mut policy = DRPolicy::new(
                name,
                DRPolicySpec {
                    dr_clusters: clusters,
                    scheduling_interval: interval.into(),
                    ..Default::default()
                },
            );
            policy.status = Some(DRPolicyStatus {
                sync: Some(PeerClassesStatus {
                    peer_classes: Some(sync),
                }),
                async_: Some(PeerClassesStatus {
                    peer_classes: Some(async_),
                }),
                ..Default::default()
            });
            policy.metadata.creation_timestamp = second.map(|s| {
                Time(k8s_openapi::jiff::Timestamp::from_second(1_790_000_000 + s).unwrap())
            });
            policy
        })
}

fn ids() -> ClusterIds {
    ["a", "b", "c"]
        .into_iter()
        .map(|c| (format!("id-{c}"), c.to_owned()))
        .collect()
}

fn config(nads: &[(String, String)]) -> DRClusterConfig {
    let mut config = DRClusterConfig::new("c", Default::default());
    config.status = Some(DRClusterConfigStatus {
        network_attachments: Some(
            nads.iter()
                .map(|(namespace, name)| NetworkAttachment {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    cni_type: None,
                })
                .collect(),
        ),
        ..Default::default()
    });
    config
}

proptest! {
    #[test]
    fn overlap_is_symmetric_and_needs_a_shared_metro_grouped_cluster(a in policy("a"), b in policy("b")) {
        let ids = ids();
        let got = overlapping(&a, &b, &ids);
        prop_assert_eq!(got, overlapping(&b, &a, &ids));
        let shared: BTreeSet<&String> =
            a.spec.dr_clusters.iter().filter(|c| b.contains_cluster(c)).collect();
        let (ma, mb) = (metro_clusters(&a, &ids), metro_clusters(&b, &ids));
        let expected = shared.iter().any(|c| ma.holds(c) || mb.holds(c));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn of_two_overlapping_policies_exactly_one_is_invalid(a in policy("a"), b in policy("b")) {
        let ids = ids();
        let is_overlap = |r: Result<(), Conflict>| matches!(r, Err(Conflict::Overlap { .. }));
        let a_invalid = is_overlap(check_conflicts(&a, [&b], &ids));
        let b_invalid = is_overlap(check_conflicts(&b, [&a], &ids));
        let both_single = !a_invalid && !b_invalid;
        // Rule 1 (sync and async together) pre-empts the overlap check.
        let mixed = |p: &DRPolicy| check_conflicts(p, [], &ids) == Err(Conflict::SyncAndAsync);
        if overlapping(&a, &b, &ids) && !mixed(&a) && !mixed(&b) {
            prop_assert!(a_invalid != b_invalid, "a: {a_invalid}, b: {b_invalid}");
        } else {
            prop_assert!(both_single || mixed(&a) || mixed(&b));
        }
    }

    #[test]
    fn dr_type_never_panics(interval in any::<String>(), p in policy("p")) {
        let mut p = p;
        p.spec.scheduling_interval = interval;
        let _ = dr_type(&p);
    }

    #[test]
    fn every_nad_is_a_peer_or_missing_on_the_other_cluster(
        a in proptest::collection::vec(("[xy]{0,1}", "[pq]"), 0..4),
        b in proptest::collection::vec(("[xy]{0,1}", "[pq]"), 0..4),
    ) {
        let result = validate_nads("A", &config(&a), "B", &config(&b));
        let keys = |nads: &[(String, String)]| nads.iter().cloned().collect::<BTreeSet<_>>();
        let (ka, kb) = (keys(&a), keys(&b));
        let peers: BTreeSet<(String, String)> = result
            .network_peers
            .iter()
            .map(|p| (p.nad_namespace.clone(), p.nad_name.clone()))
            .collect();
        prop_assert_eq!(&peers, &ka.intersection(&kb).cloned().collect());
        prop_assert_eq!(peers.len(), result.network_peers.len(), "no duplicate peers");
        let missing_on = |cluster: &str| -> BTreeSet<(String, String)> {
            result
                .missing
                .iter()
                .filter(|m| m.missing_on == cluster)
                .map(|m| (m.namespace.clone(), m.name.clone()))
                .collect()
        };
        prop_assert_eq!(missing_on("B"), ka.difference(&kb).cloned().collect());
        prop_assert_eq!(missing_on("A"), kb.difference(&ka).cloned().collect());
        prop_assert_eq!(result.is_valid(), ka == kb);
        let mut sorted = result.missing.clone();
        sorted.sort();
        prop_assert_eq!(sorted, result.missing);
    }
}
