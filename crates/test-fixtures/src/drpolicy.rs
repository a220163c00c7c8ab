//! DRPolicies, and the index by name that planners and caches take.

use drpolicy_api::{DRPolicy, DRPolicySpec};
use kube::{Resource, ResourceExt};
use std::collections::BTreeMap;

/// DRPolicy `name` over `clusters`, replicating every `interval` (`""`: the field left empty).
pub fn drpolicy(name: &str, clusters: &[impl AsRef<str>], interval: &str) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.iter().map(|c| c.as_ref().to_owned()).collect(),
            scheduling_interval: interval.into(),
            ..Default::default()
        },
    )
}

/// `objects` by name.
pub fn by_name<K: Resource>(objects: impl IntoIterator<Item = K>) -> BTreeMap<String, K> {
    objects.into_iter().map(|o| (o.name_any(), o)).collect()
}
