//! Properties: validation never panics; every interval the CRD pattern accepts converts.

use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use drpolicy_validator::{scheduling_interval_seconds, validate};
use proptest::prelude::*;

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
        let drclusters: Vec<DRCluster> = existing
            .iter()
            .map(|(name, region, _)| DRCluster::new(name, DRClusterSpec {
                region: Some(region.clone()),
                ..Default::default()
            }))
            .collect();
        let mk = |name: &str, c: &Vec<String>| DRPolicy::new(name, DRPolicySpec {
            dr_clusters: c.clone(),
            ..Default::default()
        });
        let policy = mk("p", &clusters);
        let others: Vec<DRPolicy> = others.iter().enumerate().map(|(i, c)| mk(&format!("o{i}"), c)).collect();
        let _ = validate(&policy, &drclusters, &others);
    }
}
