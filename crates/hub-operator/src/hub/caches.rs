//! The reflector stores of every kind the operator watches.

use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy, ManagedCluster, ManagedClusterView};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};

/// Reflector stores of every watched kind.
#[derive(Clone)]
pub(crate) struct Caches {
    /// DRPolicies (cluster-scoped).
    pub(crate) policies: Store<DRPolicy>,
    /// DRClusters (cluster-scoped).
    pub(crate) drclusters: Store<DRCluster>,
    /// DRPlacementControls (all namespaces).
    pub(crate) drpcs: Store<DRPlacementControl>,
    /// Secret metadata of the operator namespace (values are never fetched).
    pub(crate) secrets: Store<PartialObjectMeta<Secret>>,
    /// The operator ConfigMap (name-filtered watch in the operator namespace).
    pub(crate) configmaps: Store<ConfigMap>,
    /// Distribution Policies (operator namespace, created-by label).
    pub(crate) ocm_policies: Store<Policy>,
    /// Distribution PlacementRules (operator namespace, created-by label).
    pub(crate) placement_rules: Store<PlacementRule>,
    /// Distribution PlacementBindings (operator namespace, created-by label).
    pub(crate) placement_bindings: Store<PlacementBinding>,
    /// OCM ManagedClusters (empty when the hub does not serve them).
    pub(crate) managed_clusters: Store<ManagedCluster>,
    /// Our ManagedClusterViews (empty when the hub does not serve them).
    pub(crate) views: Store<ManagedClusterView>,
}

/// The key of namespaced object `name` in `namespace`.
pub(crate) fn within<K>(name: &str, namespace: &str) -> ObjectRef<K>
where
    K: kube::Resource<DynamicType = ()>,
{
    ObjectRef::new(name).within(namespace)
}
