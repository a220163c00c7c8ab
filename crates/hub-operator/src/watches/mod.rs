//! Watches and requeue rules. Every watched kind feeds a reflector cache; its events are mapped to the
//! DRPolicies they concern (through the policy index, never a scan of all policies per event) and to
//! the hub Secrets whose distribution they can change (the distribution queue):
//!
//! | source | requeues policies | queues secrets |
//! | --- | --- | --- |
//! | DRPolicy create/delete, spec change, deletion | the policies sharing a cluster with it (conflicts are re-decided) | those of its clusters and of the policies sharing one |
//! | ConfigMap `ramen-hub-operator-config` (name-filtered, operator namespace), on a resourceVersion change | every policy | every known secret |
//! | Secret metadata in the operator namespace | — | that secret, when a profile names it or it carries our finalizer |
//! | DRCluster | the policies listing it | every known secret |
//! | DRPlacementControl (all namespaces) | the policy it references | — |
//! | Policy / PlacementRule / PlacementBinding with the created-by label | — | that secret (drift is repaired) |
//! | ManagedCluster, when it joins or leaves or its `id.k8s.io` claim changes | the policies listing it | — |
//! | ManagedClusterView labelled created-by-ramen and annotated `drpolicy.ramendr.openshift.io`, when its scope or answer changes | the policies listing its cluster (namespace) | — |
//!
//! A relist after a watch gap counts as the changes it finds against the cache it replaces
//! ([`watch::RelistDiff`]): with nothing changed, it requeues nothing.
//! A secret's distribution worker requeues the policies whose view of its outcome changed.

mod clusters;
mod mappers;
pub(crate) mod policies;
pub(crate) mod requeue;
pub(crate) mod watch;

use drpolicy_api::names::{CREATED_BY_RAMEN_LABEL, HUB_OPERATOR_CONFIGMAP};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy, ManagedCluster, ManagedClusterView};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, Resource};
use std::sync::Arc;
use tokio::task::JoinHandle;

use crate::context::SharedCell;
use crate::distribution::Kind;
use crate::hub::Caches;
use crate::metrics::Metrics;
use crate::presence::ApiPresence;
use crate::views::Views;
use requeue::Requeue;
use watch::spawn_watch;

/// The secondary watches: their stores (for [`Caches`]) and the tasks feeding them.
pub(crate) struct Secondary {
    /// DRCluster store.
    pub(crate) drclusters: Store<DRCluster>,
    /// DRPC store.
    pub(crate) drpcs: Store<DRPlacementControl>,
    /// Secret metadata store.
    pub(crate) secrets: Store<PartialObjectMeta<Secret>>,
    /// ConfigMap store.
    pub(crate) configmaps: Store<ConfigMap>,
    /// Distribution Policy store.
    pub(crate) ocm_policies: Store<Policy>,
    /// Distribution PlacementRule store.
    pub(crate) placement_rules: Store<PlacementRule>,
    /// Distribution PlacementBinding store.
    pub(crate) placement_bindings: Store<PlacementBinding>,
    /// ManagedCluster store (OCM; may be unserved).
    pub(crate) managed_clusters: Store<ManagedCluster>,
    /// Whether the hub serves ManagedClusters.
    pub(crate) managed_cluster_api: Arc<ApiPresence>,
    /// Store of our ManagedClusterViews (by the created-by label; may be unserved).
    pub(crate) views: Store<ManagedClusterView>,
    /// Whether the hub serves ManagedClusterViews.
    pub(crate) view_api: Arc<ApiPresence>,
    /// The view client over [`Secondary::views`].
    pub(crate) view_client: Arc<Views>,
    /// Background tasks (aborted on shutdown).
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

impl Secondary {
    /// [`Caches`] from these stores and the primary one.
    pub(crate) fn caches(&self, policies: Store<DRPolicy>) -> Caches {
        Caches {
            policies,
            drclusters: self.drclusters.clone(),
            drpcs: self.drpcs.clone(),
            secrets: self.secrets.clone(),
            configmaps: self.configmaps.clone(),
            ocm_policies: self.ocm_policies.clone(),
            placement_rules: self.placement_rules.clone(),
            placement_bindings: self.placement_bindings.clone(),
            managed_clusters: self.managed_clusters.clone(),
            views: self.views.clone(),
        }
    }
}

fn namespaced<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

/// Starts the secondary watches, each with `base`'s settings. `shared` is filled in once the stores
/// exist (the mappers need it).
pub(crate) fn start_secondary(
    client: &Client,
    base: &watcher::Config,
    namespace: &str,
    shared: SharedCell,
    requeue: Requeue,
    metrics: &Metrics,
) -> Secondary {
    let mut tasks = Vec::new();
    let created_by = base
        .clone()
        .labels(&format!("{CREATED_BY_RAMEN_LABEL}=true"));

    let (drclusters, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(Api::<DRCluster>::all(client.clone()), base.clone()),
        writer,
        "drclusters",
        metrics.clone(),
        mappers::drclusters(shared.clone(), requeue.clone()),
    ));

    let (drpcs, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(Api::<DRPlacementControl>::all(client.clone()), base.clone()),
        writer,
        "drplacementcontrols",
        metrics.clone(),
        mappers::drpcs(requeue.clone()),
    ));

    let (secrets, writer) = reflector::store();
    tasks.push(spawn_watch(
        // Metadata only, and only the fields we read: Secret values never reach this process.
        crate::secret_meta::watch(
            namespaced::<PartialObjectMeta<Secret>>(client, namespace),
            base.clone(),
        ),
        writer,
        "secrets",
        metrics.clone(),
        mappers::secrets(shared.clone()),
    ));

    let (configmaps, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(
            namespaced::<ConfigMap>(client, namespace),
            base.clone()
                .fields(&format!("metadata.name={HUB_OPERATOR_CONFIGMAP}")),
        ),
        writer,
        "configmaps",
        metrics.clone(),
        mappers::configmap(shared.clone(), requeue.clone()),
    ));

    let (ocm_policies, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(namespaced::<Policy>(client, namespace), created_by.clone()),
        writer,
        "policies",
        metrics.clone(),
        mappers::ocm(shared.clone(), Kind::Policy, |p| &p.ocm_policies),
    ));
    let (placement_rules, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(
            namespaced::<PlacementRule>(client, namespace),
            created_by.clone(),
        ),
        writer,
        "placementrules",
        metrics.clone(),
        mappers::ocm(shared.clone(), Kind::PlacementRule, |p| &p.placement_rules),
    ));
    let (placement_bindings, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(
            namespaced::<PlacementBinding>(client, namespace),
            created_by,
        ),
        writer,
        "placementbindings",
        metrics.clone(),
        mappers::ocm(shared.clone(), Kind::PlacementBinding, |p| {
            &p.placement_bindings
        }),
    ));

    let clusters = clusters::start(client, base, &shared, &requeue, metrics);
    tasks.extend(clusters.tasks);

    Secondary {
        managed_clusters: clusters.managed_clusters,
        managed_cluster_api: clusters.managed_cluster_api,
        views: clusters.views,
        view_api: clusters.view_api,
        view_client: clusters.view_client,
        drclusters,
        drpcs,
        secrets,
        configmaps,
        ocm_policies,
        placement_rules,
        placement_bindings,
        tasks,
    }
}
