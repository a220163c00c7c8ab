//! An index of DRPolicies by cluster, kept up to date from watch events, so that "which policies contain
//! this DRCluster", "which policies share a cluster with this one" and "which policies can conflict with
//! this one" cost a lookup, not a scan.

use drpolicy_api::DRPolicy;
use std::collections::{BTreeSet, HashMap};

/// Policies by cluster name. Feed it with [`PolicyIndex::apply`] / [`PolicyIndex::delete`] (or
/// [`PolicyIndex::reset`] after a relist).
#[derive(Debug, Clone, Default)]
pub struct PolicyIndex {
    by_cluster: HashMap<String, BTreeSet<String>>,
    clusters_of: HashMap<String, BTreeSet<String>>,
    /// Policies whose stored status has sync peer classes: the only ones with metro groups.
    metro: BTreeSet<String>,
}

fn has_sync_peers(policy: &DRPolicy) -> bool {
    policy
        .status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.peer_classes.as_ref())
        .is_some_and(|p| !p.is_empty())
}

impl PolicyIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or updates) a policy.
    pub fn apply(&mut self, policy: &DRPolicy) {
        let Some(name) = policy.metadata.name.as_deref() else {
            return;
        };
        let clusters: BTreeSet<String> = policy.spec.dr_clusters.iter().cloned().collect();
        if has_sync_peers(policy) {
            self.metro.insert(name.to_owned());
        } else {
            self.metro.remove(name);
        }
        if self.clusters_of.get(name) == Some(&clusters) {
            return;
        }
        self.remove_clusters(name);
        for cluster in &clusters {
            self.by_cluster
                .entry(cluster.clone())
                .or_default()
                .insert(name.to_owned());
        }
        self.clusters_of.insert(name.to_owned(), clusters);
    }

    /// Forgets a policy.
    pub fn delete(&mut self, name: &str) {
        self.metro.remove(name);
        self.remove_clusters(name);
    }

    fn remove_clusters(&mut self, name: &str) {
        let Some(clusters) = self.clusters_of.remove(name) else {
            return;
        };
        for cluster in clusters {
            if let Some(policies) = self.by_cluster.get_mut(&cluster) {
                policies.remove(name);
                if policies.is_empty() {
                    self.by_cluster.remove(&cluster);
                }
            }
        }
    }

    /// Replaces the whole content (after a relist).
    pub fn reset<'a>(&mut self, policies: impl IntoIterator<Item = &'a DRPolicy>) {
        self.by_cluster.clear();
        self.clusters_of.clear();
        self.metro.clear();
        policies.into_iter().for_each(|p| self.apply(p));
    }

    /// Names of the policies listing `cluster`, sorted.
    pub fn policies_with_cluster(&self, cluster: &str) -> impl Iterator<Item = &str> {
        self.by_cluster
            .get(cluster)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Names of the other policies sharing at least one cluster with policy `name`, sorted.
    pub fn policies_sharing_clusters(&self, name: &str) -> BTreeSet<&str> {
        self.clusters_of
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|c| self.policies_with_cluster(c))
            .filter(|other| *other != name)
            .collect()
    }

    /// The other policies `policy` can conflict with by Ramen HEAD's rule ([`check_conflicts`](crate::check_conflicts)):
    /// when it has sync peer classes, every policy sharing a cluster with it; otherwise only those
    /// sharing a cluster that have sync peer classes themselves (a conflict needs a metro group on one
    /// side). Sorted.
    pub fn conflict_candidates(&self, policy: &DRPolicy) -> BTreeSet<&str> {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        let shares = |other: &str| {
            other != name
                && self
                    .clusters_of
                    .get(other)
                    .is_some_and(|c| policy.spec.dr_clusters.iter().any(|d| c.contains(d)))
        };
        if has_sync_peers(policy) {
            policy
                .spec
                .dr_clusters
                .iter()
                .flat_map(|c| self.policies_with_cluster(c))
                .filter(|other| *other != name)
                .collect()
        } else {
            self.metro
                .iter()
                .map(String::as_str)
                .filter(|other| shares(other))
                .collect()
        }
    }

    /// Whether policy `name`, as last applied, has sync peer classes (a metro group).
    pub fn is_metro(&self, name: &str) -> bool {
        self.metro.contains(name)
    }

    /// The clusters the index holds for policy `name`.
    pub fn clusters_of(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.clusters_of.get(name)
    }

    /// Number of policies indexed.
    pub fn len(&self) -> usize {
        self.clusters_of.len()
    }

    /// Whether no policy is indexed.
    pub fn is_empty(&self) -> bool {
        self.clusters_of.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::{DRPolicySpec, DRPolicyStatus, PeerClass, PeerClassesStatus};

    fn policy(name: &str, clusters: &[&str], sync: bool) -> DRPolicy {
        let mut p = DRPolicy::new(
            name,
            DRPolicySpec {
                dr_clusters: clusters.iter().map(|c| (*c).to_owned()).collect(),
                ..Default::default()
            },
        );
        if sync {
            p.status = Some(DRPolicyStatus {
                sync: Some(PeerClassesStatus {
                    peer_classes: Some(vec![PeerClass::default()]),
                }),
                ..Default::default()
            });
        }
        p
    }

    #[test]
    fn conflict_candidates_need_a_metro_side() {
        let mut index = PolicyIndex::new();
        let regional = policy("regional", &["a", "b"], false);
        let other_regional = policy("other-regional", &["b", "c"], false);
        let metro = policy("metro", &["b", "d"], true);
        let far_metro = policy("far-metro", &["x", "y"], true);
        for p in [&regional, &other_regional, &metro, &far_metro] {
            index.apply(p);
        }
        fn names(set: BTreeSet<&str>) -> Vec<String> {
            set.into_iter().map(str::to_owned).collect()
        }
        // A regional policy: only metro policies sharing a cluster.
        assert_eq!(names(index.conflict_candidates(&regional)), ["metro"]);
        // A metro policy: every policy sharing a cluster.
        assert_eq!(
            names(index.conflict_candidates(&metro)),
            ["other-regional", "regional"]
        );
        // Peer classes gone: no longer a candidate.
        index.apply(&policy("metro", &["b", "d"], false));
        assert!(index.conflict_candidates(&regional).is_empty());
        index.delete("far-metro");
        assert!(
            index
                .conflict_candidates(&policy("n", &["x"], false))
                .is_empty()
        );
    }
}
