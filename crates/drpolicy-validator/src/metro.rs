//! Metro (synchronous, same-region) classification and the metro-overlap conflict between policies, as
//! Ramen ccc4a73c decides them from `DRCluster.spec.region` (`dRPolicySupportsMetro`,
//! `hasConflictingDRPolicy`).

use drpolicy_api::DRPolicy;
use std::collections::{BTreeMap, BTreeSet};

use crate::DRClusterLookup;

/// The policy's metro regions: region → its clusters, for every region holding more than one of the
/// policy's clusters. Clusters without a DRCluster object are skipped; clusters without a region share
/// the empty region (Ramen compares region strings).
pub fn metro_regions<'p>(
    policy: &'p DRPolicy,
    drclusters: &(impl DRClusterLookup + ?Sized),
) -> BTreeMap<String, BTreeSet<&'p str>> {
    let mut regions: BTreeMap<String, BTreeSet<&'p str>> = BTreeMap::new();
    for name in &policy.spec.dr_clusters {
        if let Some(cluster) = drclusters.drcluster(name) {
            regions
                .entry(cluster.region().to_owned())
                .or_default()
                .insert(name.as_str());
        }
    }
    regions.retain(|_, clusters| clusters.len() > 1);
    regions
}

/// The DRClusters whose region at least one other DRCluster shares: the only clusters a metro region
/// of any policy can hold.
pub fn metro_capable_clusters<'a>(
    drclusters: impl IntoIterator<Item = &'a drpolicy_api::DRCluster>,
) -> BTreeSet<String> {
    let mut by_region: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for cluster in drclusters {
        if let Some(name) = cluster.metadata.name.as_deref() {
            by_region.entry(cluster.region()).or_default().push(name);
        }
    }
    by_region
        .into_values()
        .filter(|names| names.len() > 1)
        .flatten()
        .map(str::to_owned)
        .collect()
}

/// Whether `policy` can have a metro conflict with any policy at all: one of its clusters is
/// metro-capable (see [`metro_capable_clusters`]). When it cannot, its conflict check needs no other
/// policy.
pub fn may_conflict(policy: &DRPolicy, metro_capable: &BTreeSet<String>) -> bool {
    policy
        .spec
        .dr_clusters
        .iter()
        .any(|c| metro_capable.contains(c))
}

/// Whether the policy has a metro region (two of its clusters in one region).
pub fn supports_metro(policy: &DRPolicy, drclusters: &(impl DRClusterLookup + ?Sized)) -> bool {
    !metro_regions(policy, drclusters).is_empty()
}

/// Whether `a` and `b` conflict: they share a cluster that lies in a metro region of either policy.
///
/// Symmetric. Policies that share no cluster, or share clusters only outside metro regions (regional
/// policies), never conflict.
pub fn metro_conflict(
    a: &DRPolicy,
    b: &DRPolicy,
    drclusters: &(impl DRClusterLookup + ?Sized),
) -> bool {
    // Called for every pair of policies sharing a cluster: no allocation, policies list few clusters.
    b.spec
        .dr_clusters
        .iter()
        .filter(|c| a.spec.dr_clusters.contains(c))
        .any(|c| in_metro_region(a, c, drclusters) || in_metro_region(b, c, drclusters))
}

/// Whether `cluster` (one of `policy`'s) lies in a metro region of `policy`: another of its clusters has
/// a DRCluster in the same region.
fn in_metro_region(
    policy: &DRPolicy,
    cluster: &str,
    drclusters: &(impl DRClusterLookup + ?Sized),
) -> bool {
    let Some(region) = drclusters.drcluster(cluster).map(|d| d.region()) else {
        return false;
    };
    policy
        .spec
        .dr_clusters
        .iter()
        .filter(|other| other.as_str() != cluster)
        .any(|other| {
            drclusters
                .drcluster(other)
                .is_some_and(|d| d.region() == region)
        })
}
