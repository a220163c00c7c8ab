//! The checks a policy must pass, judged on the hub view, before it may hold a distribution: Ramen
//! HEAD's ManagedCluster gate, validation, conflicts with the other policies, and symmetric network
//! attachments as last recorded.

use drpolicy_api::{DRCluster, DRPolicy};
use drpolicy_validator::{
    ClusterDetailsError, Conflict, check_conflicts, cluster_details, cluster_ids,
    nads_missing_recorded, validate,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::HubView;

impl HubView {
    /// Ramen HEAD's ManagedCluster gate (D2) for `policy`, judged on its own clusters (our BH5
    /// decision). A hub that does not serve ManagedClusters is not an OCM hub: the gate passes there.
    pub(crate) fn cluster_gate(
        &self,
        policy: &DRPolicy,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> Result<(), ClusterDetailsError> {
        if self.managed_cluster_api.is_missing() {
            return Ok(());
        }
        let managed = self.managed_clusters(policy.spec.dr_clusters.iter().map(String::as_str));
        cluster_details(policy, drclusters, &managed).map(|_| ())
    }

    /// Ramen HEAD's conflict check (D7) of `policy` with the peer classes it carries, against the
    /// policies that can conflict with it (their stored peer classes).
    pub(crate) fn conflicts(
        &self,
        policy: &DRPolicy,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> Result<(), Conflict> {
        let others: Vec<Arc<DRPolicy>> = self
            .with_index(|i| {
                i.conflict_candidates(policy)
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .iter()
            .filter_map(|n| self.policy(n))
            .collect();
        let mut names: BTreeSet<&str> =
            policy.spec.dr_clusters.iter().map(String::as_str).collect();
        names.extend(
            others
                .iter()
                .flat_map(|o| o.spec.dr_clusters.iter().map(String::as_str)),
        );
        names.retain(|n| drclusters.contains_key(*n));
        let managed = self.managed_clusters(names.iter().copied());
        let ids = cluster_ids(names.iter().copied(), &managed);
        check_conflicts(policy, others.iter().map(AsRef::as_ref), &ids)
    }

    /// Whether `policy`, as stored, passes every check a reconcile makes before it may hold a
    /// distribution: the ManagedCluster gate, validation, and conflicts with its stored peer classes.
    pub(crate) fn acceptable(
        &self,
        policy: &DRPolicy,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> bool {
        self.cluster_gate(policy, drclusters).is_ok()
            && validate(policy, drclusters, []).is_ok()
            && self.conflicts(policy, drclusters).is_ok()
            && !nads_missing_recorded(policy)
    }
}
