//! An index of DRPolicies by cluster, kept up to date from watch events, so that "which policies contain
//! this DRCluster" and "which policies share a cluster with this one" cost a lookup, not a scan.

use drpolicy_api::DRPolicy;
use std::collections::{BTreeSet, HashMap};

/// Policies by cluster name. Feed it with [`PolicyIndex::apply`] / [`PolicyIndex::delete`] (or
/// [`PolicyIndex::reset`] after a relist).
#[derive(Debug, Clone, Default)]
pub struct PolicyIndex {
    by_cluster: HashMap<String, BTreeSet<String>>,
    clusters_of: HashMap<String, BTreeSet<String>>,
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
        if self.clusters_of.get(name) == Some(&clusters) {
            return;
        }
        self.delete(name);
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
