//! Properties: validation never panics; every interval the CRD pattern accepts converts.

use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use drpolicy_validator::{
    may_conflict, metro_capable_clusters, metro_conflict, metro_regions,
    scheduling_interval_seconds, validate,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// DRClusters from (name, region) pairs.
fn drclusters<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<DRCluster> {
    pairs
        .map(|(name, region)| {
            DRCluster::new(
                name,
                DRClusterSpec {
                    region: Some(region.clone()),
                    ..Default::default()
                },
            )
        })
        .collect()
}

/// A policy over `clusters`.
fn mk(name: &str, clusters: &[String]) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.to_vec(),
            ..Default::default()
        },
    )
}

proptest! {
    #[test]
    fn intervals_matching_the_crd_pattern_always_convert(digits in "[0-9]{1,400}", unit in "[mhd]") {
        let value = scheduling_interval_seconds(&format!("{digits}{unit}")).unwrap();
        prop_assert!(value >= 0.0);
    }

    #[test]
    fn arbitrary_intervals_never_panic(text in any::<String>()) {
        let _ = scheduling_interval_seconds(&text);
    }

    #[test]
    fn validation_never_panics(
        clusters in proptest::collection::vec("[a-c]{0,2}", 0..5),
        existing in proptest::collection::vec(("[a-c]{0,2}", "[xy]{0,1}", any::<bool>()), 0..6),
        others in proptest::collection::vec(proptest::collection::vec("[a-c]{0,2}", 0..4), 0..4),
    ) {
        let drclusters = drclusters(existing.iter().map(|(name, region, _)| (name, region)));
        let policy = mk("p", &clusters);
        let others: Vec<DRPolicy> = others.iter().enumerate().map(|(i, c)| mk(&format!("o{i}"), c)).collect();
        let _ = validate(&policy, &drclusters, &others);
    }

    #[test]
    fn metro_conflict_is_a_shared_cluster_in_a_metro_region_of_either_policy(
        a in proptest::collection::vec("[a-d]", 0..4),
        b in proptest::collection::vec("[a-d]", 0..4),
        existing in proptest::collection::vec(("[a-d]", "[xy]{0,1}"), 0..5),
    ) {
        let drclusters = drclusters(existing.iter().map(|(name, region)| (name, region)));
        let (a, b) = (mk("a", &a), mk("b", &b));
        // The definition, spelled out with the region maps.
        let common: BTreeSet<&String> =
            a.spec.dr_clusters.iter().filter(|c| b.spec.dr_clusters.contains(c)).collect();
        let expected = metro_regions(&a, &drclusters)
            .values()
            .chain(metro_regions(&b, &drclusters).values())
            .any(|region| region.iter().any(|c| common.iter().any(|x| x.as_str() == *c)));
        prop_assert_eq!(metro_conflict(&a, &b, &drclusters), expected);
        prop_assert_eq!(metro_conflict(&b, &a, &drclusters), expected, "symmetric");
        // A policy none of whose clusters shares its region with another DRCluster conflicts with
        // nothing: the operator skips its conflict check.
        let capable = metro_capable_clusters(&drclusters);
        if !may_conflict(&a, &capable) {
            prop_assert!(!metro_conflict(&a, &b, &drclusters));
        }
        if !may_conflict(&b, &capable) {
            prop_assert!(!metro_conflict(&a, &b, &drclusters));
        }
    }
}
