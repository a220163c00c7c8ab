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
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, Resource};
use tokio::task::JoinHandle;

use crate::context::SharedCell;
use crate::distribution::Kind;
use crate::hub::Caches;
use crate::metrics::Metrics;
use requeue::Requeue;
use watch::spawn_watch;

/// Every watch but the DRPolicy one: the caches they fill, OCM's cluster kinds, and the tasks feeding
/// them.
pub(crate) struct Secondary {
    /// Every store, the DRPolicy one included (it is passed in).
    pub(crate) caches: Caches,
    /// Whether OCM's cluster kinds are served, and the view client.
    pub(crate) clusters: clusters::ClusterWatches,
    /// Background tasks (aborted on shutdown).
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

fn namespaced<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

/// A watch of one kind of distribution object (ours, by label), with its store.
fn ocm_watch<K>(
    api: Api<K>,
    config: &watcher::Config,
    resource: &'static str,
    metrics: &Metrics,
    mapper: impl FnMut(watch::Change<'_, K>) + Send + 'static,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let task = spawn_watch(
        watcher::watcher(api, config.clone()),
        writer,
        resource,
        metrics.clone(),
        mapper,
    );
    (store, task)
}

/// Starts the secondary watches, each with `base`'s settings, beside the DRPolicy store `policies`.
/// `shared` is filled in once the stores exist (the mappers need it).
pub(crate) fn start_secondary(
    policies: Store<DRPolicy>,
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

    let (ocm_policies, task) = ocm_watch(
        namespaced::<Policy>(client, namespace),
        &created_by,
        "policies",
        metrics,
        mappers::ocm(shared.clone(), Kind::Policy, |p| &p.ocm_policies),
    );
    tasks.push(task);
    let (placement_rules, task) = ocm_watch(
        namespaced::<PlacementRule>(client, namespace),
        &created_by,
        "placementrules",
        metrics,
        mappers::ocm(shared.clone(), Kind::PlacementRule, |p| &p.placement_rules),
    );
    tasks.push(task);
    let (placement_bindings, task) = ocm_watch(
        namespaced::<PlacementBinding>(client, namespace),
        &created_by,
        "placementbindings",
        metrics,
        mappers::ocm(shared.clone(), Kind::PlacementBinding, |p| {
            &p.placement_bindings
        }),
    );
    tasks.push(task);

    let clusters = clusters::start(client, base, &shared, &requeue, metrics, &mut tasks);
    Secondary {
        caches: Caches {
            policies,
            drclusters,
            drpcs,
            secrets,
            configmaps,
            ocm_policies,
            placement_rules,
            placement_bindings,
            managed_clusters: clusters.managed_clusters.clone(),
            views: clusters.views.clone(),
        },
        clusters,
        tasks,
    }
}
