//! The operator's read-only view of the hub: reflector caches of everything it watches, the DRPolicy
//! index, the parsed RamenConfig and the DRCluster map. Every read of a reconcile or a distribution
//! run comes from here — no GET or LIST per reconcile. Only the watches change it (the stores, the
//! index, the DRCluster version); what this process wrote and the caches do not show yet is kept
//! beside it, in [`crate::pending`].

mod caches;
mod checks;
mod config;

pub(crate) use caches::{Caches, within};
pub(crate) use config::{ConfigProblem, ConfigView};

use drpolicy_api::names::{DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP, ocm_names};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy, ManagedCluster};
use drpolicy_validator::PolicyIndex;
use kube::runtime::reflector::{ObjectRef, Store};
use parking_lot::{Mutex, RwLock};
use secret_propagator::{LiveObjects, SecretState, Secrets};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::presence::ApiPresence;

/// DRClusters by name, shared by the reconciles that read them.
pub(crate) type DRClusterMap = Arc<BTreeMap<String, Arc<DRCluster>>>;

/// The view.
pub(crate) struct HubView {
    /// The operator namespace.
    pub(crate) namespace: String,
    /// The stores.
    pub(crate) caches: Caches,
    /// Whether the hub serves ManagedClusters (the gate passes where it does not).
    pub(crate) managed_cluster_api: Arc<ApiPresence>,
    index: RwLock<PolicyIndex>,
    config: config::ConfigCache,
    drclusters_version: AtomicU64,
    drclusters_map: Mutex<Option<(u64, DRClusterMap)>>,
}

impl HubView {
    /// A view over `caches`.
    pub(crate) fn new(
        namespace: String,
        caches: Caches,
        managed_cluster_api: Arc<ApiPresence>,
    ) -> Self {
        HubView {
            namespace,
            caches,
            managed_cluster_api,
            index: RwLock::new(PolicyIndex::new()),
            config: config::ConfigCache::default(),
            drclusters_version: AtomicU64::new(0),
            drclusters_map: Mutex::new(None),
        }
    }

    /// Runs `f` with the policy index for writing (the DRPolicy watch only).
    pub(crate) fn with_index_mut<R>(&self, f: impl FnOnce(&mut PolicyIndex) -> R) -> R {
        f(&mut self.index.write())
    }

    /// Runs `f` with the policy index.
    pub(crate) fn with_index<R>(&self, f: impl FnOnce(&PolicyIndex) -> R) -> R {
        f(&self.index.read())
    }

    /// The names of the policies listing any of `clusters`.
    pub(crate) fn policies_with_clusters<'a>(
        &self,
        clusters: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        self.with_index(|index| {
            clusters
                .into_iter()
                .flat_map(|c| index.policies_with_cluster(c))
                .map(str::to_owned)
                .collect()
        })
    }

    /// A DRPolicy by name.
    pub(crate) fn policy(&self, name: &str) -> Option<Arc<DRPolicy>> {
        self.caches.policies.get(&ObjectRef::new(name))
    }

    /// The ManagedClusters named `names`, by name (those that exist).
    pub(crate) fn managed_clusters<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, Arc<ManagedCluster>> {
        names
            .into_iter()
            .filter_map(|n| {
                let mc = self.caches.managed_clusters.get(&ObjectRef::new(n))?;
                Some((n.to_owned(), mc))
            })
            .collect()
    }

    /// Every DRCluster by name. The map is rebuilt only after the DRCluster watch reported a change
    /// ([`HubView::drclusters_changed`]); every reconcile reads it.
    pub(crate) fn drclusters(&self) -> DRClusterMap {
        let version = self.drclusters_version.load(Ordering::SeqCst);
        let mut cached = self.drclusters_map.lock();
        if let Some((built, map)) = cached.as_ref()
            && *built == version
        {
            return map.clone();
        }
        let map: DRClusterMap = Arc::new(
            self.caches
                .drclusters
                .state()
                .into_iter()
                .filter_map(|c| Some((c.metadata.name.clone()?, c)))
                .collect(),
        );
        *cached = Some((version, map.clone()));
        map
    }

    /// The DRCluster cache changed: the next [`HubView::drclusters`] rebuilds its map.
    pub(crate) fn drclusters_changed(&self) {
        self.drclusters_version.fetch_add(1, Ordering::SeqCst);
    }

    /// The other policies sharing a cluster with `policy`.
    pub(crate) fn policies_sharing_clusters(&self, policy: &DRPolicy) -> Vec<Arc<DRPolicy>> {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        self.policies_with_clusters(policy.spec.dr_clusters.iter().map(String::as_str))
            .iter()
            .filter(|other| *other != name)
            .filter_map(|n| self.policy(n))
            .collect()
    }

    /// DRPlacementControls referencing policy `name`, as `namespace/name`, sorted.
    pub(crate) fn drpcs_using(&self, policy: &str) -> Vec<String> {
        drpc_users(self.caches.drpcs.state().iter().map(AsRef::as_ref), policy)
    }

    /// The config (see [`config::ConfigCache::get`]).
    pub(crate) fn config(&self) -> ConfigView {
        let configmap = self
            .caches
            .configmaps
            .get(&within(HUB_OPERATOR_CONFIGMAP, &self.namespace));
        self.config.get(&self.namespace, configmap.as_deref())
    }

    /// Secret states of the operator namespace (metadata only).
    pub(crate) fn secrets(&self) -> Secrets {
        self.caches
            .secrets
            .state()
            .iter()
            .filter_map(|s| {
                Some((
                    s.metadata.name.clone()?,
                    SecretState::from_meta(&s.metadata),
                ))
            })
            .collect()
    }

    /// The live distribution objects named after `bases` (all of them with `None`).
    pub(crate) fn live_objects(&self, bases: Option<&BTreeSet<String>>) -> LiveObjects {
        fn pick<K: kube::Resource + Clone>(
            store: &Store<K>,
            wanted: Option<BTreeSet<String>>,
        ) -> BTreeMap<String, Arc<K>>
        where
            K::DynamicType: Default + Eq + std::hash::Hash + Clone,
        {
            store
                .state()
                .into_iter()
                .filter_map(|o| Some((o.meta().name.clone()?, o)))
                .filter(|(n, _)| wanted.as_ref().is_none_or(|w| w.contains(n)))
                .collect()
        }
        let names = |f: fn(&str) -> String| bases.map(|s| s.iter().map(|n| f(n)).collect());
        LiveObjects {
            policies: pick(&self.caches.ocm_policies, names(ocm_names::policy)),
            placement_rules: pick(
                &self.caches.placement_rules,
                names(ocm_names::placement_rule),
            ),
            placement_bindings: pick(
                &self.caches.placement_bindings,
                names(ocm_names::placement_binding),
            ),
        }
    }
}

/// The DRPlacementControls among `drpcs` that reference `policy`, as `namespace/name`, sorted.
pub(crate) fn drpc_users<'a>(
    drpcs: impl IntoIterator<Item = &'a DRPlacementControl>,
    policy: &str,
) -> Vec<String> {
    let mut users: Vec<String> = drpcs
        .into_iter()
        .filter(|d| d.dr_policy_name() == policy)
        .map(|d| {
            format!(
                "{}/{}",
                d.metadata.namespace.as_deref().unwrap_or_default(),
                d.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    users.sort();
    users
}

/// Whether a policy holds a distribution: it carries our finalizer.
pub(crate) fn holds_distribution(policy: &DRPolicy) -> bool {
    policy
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == DRPOLICY_FINALIZER)
}
