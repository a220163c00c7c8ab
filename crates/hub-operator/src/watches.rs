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
//! | a relist after a watch gap | every policy | every known secret |
//!
//! A secret's distribution worker requeues the policies whose view of its outcome changed.

use drpolicy_api::names::{
    CREATED_BY_RAMEN_LABEL, HUB_OPERATOR_CONFIGMAP, SECRET_POLICY_FINALIZER,
};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy, ManagedCluster, ManagedClusterView};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::distribution::Kind;
use crate::http::Readiness;
use crate::hub::{Caches, Hub};
use crate::metrics::Metrics;
use crate::views::{ApiPresence, Views};
use drpolicy_validator::PolicyIndex;

/// Where mapped events go.
#[derive(Clone)]
pub struct Requeue {
    /// Single policies.
    pub policies: UnboundedSender<ObjectRef<DRPolicy>>,
    /// "Every policy" (ConfigMap changes).
    pub all: UnboundedSender<()>,
    /// Clusters a policy stopped listing (deleted, or its spec changed): their views may be unneeded.
    pub released_clusters: UnboundedSender<String>,
}

impl Requeue {
    fn policy(&self, name: &str) {
        let _ = self.policies.send(ObjectRef::new(name));
    }

    fn each<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        names.into_iter().for_each(|n| self.policy(n));
    }
}

/// The secondary watches: their stores (for [`Caches`]) and the tasks feeding them.
pub struct Secondary {
    /// DRCluster store.
    pub drclusters: Store<DRCluster>,
    /// DRPC store.
    pub drpcs: Store<DRPlacementControl>,
    /// Secret metadata store.
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// ConfigMap store.
    pub configmaps: Store<ConfigMap>,
    /// Distribution Policy store.
    pub ocm_policies: Store<Policy>,
    /// Distribution PlacementRule store.
    pub placement_rules: Store<PlacementRule>,
    /// Distribution PlacementBinding store.
    pub placement_bindings: Store<PlacementBinding>,
    /// ManagedCluster store (OCM; may be unserved).
    pub managed_clusters: Store<ManagedCluster>,
    /// Whether the hub serves ManagedClusters.
    pub managed_cluster_api: Arc<ApiPresence>,
    /// Store of our ManagedClusterViews (by the created-by label; may be unserved).
    pub views: Store<ManagedClusterView>,
    /// Whether the hub serves ManagedClusterViews.
    pub view_api: Arc<ApiPresence>,
    /// The view client over [`Secondary::views`].
    pub view_client: Arc<Views>,
    /// Background tasks (aborted on shutdown).
    pub tasks: Vec<JoinHandle<()>>,
}

/// What changed in a watch event, for the mappers.
pub(crate) enum Change<'a, K> {
    /// Created or modified.
    Applied(&'a K),
    /// Deleted.
    Deleted(&'a K),
    /// The cache was replaced by a relist after a watch gap.
    Relisted,
    /// The first complete list is in the cache.
    Synced,
}

/// Runs a watcher into a store and calls `on_change` for every change after the first complete list;
/// a later relist requeues every policy through `relisted` and every known secret.
pub(crate) fn spawn_watch<K, S>(
    stream: S,
    writer: reflector::store::Writer<K>,
    resource: &'static str,
    metrics: Metrics,
    (relisted, hub): (UnboundedSender<()>, HubCell),
    mut on_change: impl FnMut(Change<'_, K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut listed_once = false;
        let mut reported_missing = false;
        // managedFields are never read: not caching them saves about half of each object.
        let stream = stream
            .default_backoff()
            .modify(|o: &mut K| o.meta_mut().managed_fields = None)
            .reflect(writer);
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(obj)) => on_change(Change::Applied(&obj)),
                Ok(Event::Delete(obj)) => on_change(Change::Deleted(&obj)),
                Ok(Event::InitDone) if listed_once => {
                    // A relist after a watch gap replaces the cache without telling what vanished
                    // meanwhile (a deleted DRPC, DRCluster or OCM object): reconcile everything.
                    tracing::info!(
                        resource,
                        "relisted after a watch gap; requeueing every policy and secret"
                    );
                    on_change(Change::Relisted);
                    let _ = relisted.send(());
                    if let Some(hub) = hub.get() {
                        hub.distribute_all();
                    }
                }
                Ok(Event::InitDone) => {
                    listed_once = true;
                    on_change(Change::Synced);
                }
                Ok(_) => {}
                Err(error) if is_not_served(&error) => {
                    // An optional API (OCM's views): said once, then retried quietly.
                    metrics.watch_errors.with_label_values(&[resource]).inc();
                    if !reported_missing {
                        reported_missing = true;
                        tracing::warn!(
                            resource,
                            "the API server does not serve this resource; retrying quietly until it does"
                        );
                    }
                }
                Err(error) => {
                    metrics.watch_errors.with_label_values(&[resource]).inc();
                    tracing::warn!(resource, error = %error, "watch error");
                }
            }
        }
    })
}

/// Whether a watch failed because the resource is not served (404: its CRD is not installed).
pub fn is_not_served(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.code == 404,
        watcher::Error::WatchError(status) => status.code == 404,
        _ => false,
    }
}

fn object<'a, K>(change: &Change<'a, K>) -> Option<&'a K> {
    match *change {
        Change::Applied(obj) | Change::Deleted(obj) => Some(obj),
        Change::Relisted | Change::Synced => None,
    }
}

/// The hub, once it exists (the mappers are created before it).
pub(crate) type HubCell = Arc<std::sync::OnceLock<Arc<Hub>>>;

fn namespaced<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

/// Starts the secondary watches, each with `base`'s settings. `hub` is filled in once the stores exist
/// (the mappers need it), which is why it arrives through a `OnceLock`.
pub fn start_secondary(
    client: &Client,
    base: &watcher::Config,
    namespace: &str,
    hub: HubCell,
    requeue: Requeue,
    metrics: &Metrics,
) -> Secondary {
    let mut tasks = Vec::new();
    let created_by = base
        .clone()
        .labels(&format!("{CREATED_BY_RAMEN_LABEL}=true"));

    // DRClusters → policies listing them.
    let (drclusters, writer) = reflector::store();
    let (h, r) = (hub.clone(), requeue.clone());
    tasks.push(spawn_watch(
        watcher::watcher(Api::<DRCluster>::all(client.clone()), base.clone()),
        writer,
        "drclusters",
        metrics.clone(),
        (requeue.all.clone(), hub.clone()),
        move |change| {
            let Some(hub) = h.get() else { return };
            hub.drclusters_changed();
            let Some(name) = object(&change).and_then(|c| c.metadata.name.as_deref()) else {
                return;
            };
            let names: Vec<String> =
                hub.with_index(|i| i.policies_with_cluster(name).map(str::to_owned).collect());
            r.each(names.iter().map(String::as_str));
            // Its profile, region or validity can change any secret's holders.
            hub.distribute_all();
        },
    ));

    // DRPlacementControls → the policy they reference.
    let (drpcs, writer) = reflector::store();
    let r = requeue.clone();
    tasks.push(spawn_watch(
        watcher::watcher(Api::<DRPlacementControl>::all(client.clone()), base.clone()),
        writer,
        "drplacementcontrols",
        metrics.clone(),
        (requeue.all.clone(), hub.clone()),
        move |change| {
            let Some(drpc) = object(&change) else { return };
            let policy = drpc.dr_policy_name();
            if !policy.is_empty() {
                r.policy(policy);
            }
        },
    ));

    // Secret metadata of the operator namespace → its distribution.
    let (secrets, writer) = reflector::store();
    let h = hub.clone();
    tasks.push(spawn_watch(
        // Metadata only, and only the fields we read: Secret values never reach this process.
        crate::secret_meta::watch(
            namespaced::<PartialObjectMeta<Secret>>(client, namespace),
            base.clone(),
        ),
        writer,
        "secrets",
        metrics.clone(),
        (requeue.all.clone(), hub.clone()),
        move |change| {
            let Some(hub) = h.get() else { return };
            let deleted = matches!(change, Change::Deleted(_));
            let Some(meta): Option<&PartialObjectMeta<Secret>> = object(&change) else {
                hub.distribution.relisted(Kind::Secret);
                return;
            };
            let Some(name) = meta.metadata.name.as_deref() else {
                return;
            };
            let version = meta.metadata.resource_version.as_deref();
            if hub
                .distribution
                .observed(Kind::Secret, name, version.filter(|_| !deleted))
            {
                // Our own finalizer write: the run that made it already used it.
                return;
            }
            let ours = meta
                .metadata
                .finalizers
                .iter()
                .flatten()
                .any(|f| f == SECRET_POLICY_FINALIZER);
            if ours || hub.concerns_secret(name) {
                hub.distribution.queue.add(name);
            }
        },
    ));

    // The operator ConfigMap → every policy when its resourceVersion changes.
    let (configmaps, writer) = reflector::store();
    let (h, r) = (hub.clone(), requeue.clone());
    let mut last_version: Option<String> = None;
    tasks.push(spawn_watch(
        watcher::watcher(
            namespaced::<ConfigMap>(client, namespace),
            base.clone()
                .fields(&format!("metadata.name={HUB_OPERATOR_CONFIGMAP}")),
        ),
        writer,
        "configmaps",
        metrics.clone(),
        (requeue.all.clone(), hub.clone()),
        move |change| {
            let Some(configmap) = object(&change) else {
                return;
            };
            let version = configmap.resource_version();
            if version != last_version {
                last_version = version;
                let _ = r.all.send(());
                if let Some(hub) = h.get() {
                    hub.distribute_all();
                }
            }
        },
    ));

    // Distribution objects (ours, by label) → the policies using that secret (self-heal).
    let (ocm_policies, writer) = reflector::store();
    tasks.push(spawn_watch(
        watcher::watcher(namespaced::<Policy>(client, namespace), created_by.clone()),
        writer,
        "policies",
        metrics.clone(),
        (requeue.all.clone(), hub.clone()),
        ocm_mapper(hub.clone(), Kind::Policy),
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
        (requeue.all.clone(), hub.clone()),
        ocm_mapper(hub.clone(), Kind::PlacementRule),
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
        (requeue.all.clone(), hub.clone()),
        ocm_mapper(hub.clone(), Kind::PlacementBinding),
    ));

    let clusters = crate::cluster_watches::start(client, base, &hub, &requeue, metrics);
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

fn ocm_mapper<K: Resource>(hub: HubCell, kind: Kind) -> impl FnMut(Change<'_, K>) + Send + 'static {
    move |change| {
        let Some(hub) = hub.get() else { return };
        let deleted = matches!(change, Change::Deleted(_));
        let Some(object) = object(&change) else {
            hub.distribution.relisted(kind);
            return;
        };
        let name = object.meta().name.clone().unwrap_or_default();
        let version = object.meta().resource_version.as_deref();
        if hub
            .distribution
            .observed(kind, &name, version.filter(|_| !deleted))
        {
            // Our own write: the run that made it already used it.
            return;
        }
        for secret in kind.secrets_of(&name) {
            hub.distribution.queue.add(&secret);
        }
    }
}

/// The DRPolicy watch: feeds the primary store and the index, requeues the policies sharing a cluster
/// with a policy that appears or goes, and yields the policies whose reconcile-relevant fields changed.
pub fn policy_stream(
    client: &Client,
    base: &watcher::Config,
    writer: reflector::store::Writer<DRPolicy>,
    hub: HubCell,
    requeue: Requeue,
    metrics: Metrics,
    readiness: Readiness,
) -> impl Stream<Item = Result<DRPolicy, watcher::Error>> + Send + 'static {
    // A relist builds the index and fingerprints aside (no copy of the policies), swapped in at its end.
    let mut relisted = PolicyIndex::new();
    let mut relisted_fingerprints: HashMap<String, u64> = HashMap::new();
    let mut fingerprints: HashMap<String, u64> = HashMap::new();
    // Reconcile-relevant fields last seen per policy (a policy whose relevant fields did not change is
    // not reconciled again: our own status writes, say).
    let mut last_relevant: HashMap<String, u64> = HashMap::new();
    let hub_filter = hub.clone();
    watcher::watcher(Api::<DRPolicy>::all(client.clone()), base.clone())
        .default_backoff()
        .modify(|p: &mut DRPolicy| p.metadata.managed_fields = None)
        .reflect(writer)
        .inspect(move |event| {
            let Some(hub) = hub.get() else { return };
            match event {
                Ok(Event::Apply(policy)) => {
                    let name = policy.name_any();
                    let previous: Vec<String> = hub.with_index(|i| {
                        i.clusters_of(&name)
                            .map(|c| c.iter().cloned().collect())
                            .unwrap_or_default()
                    });
                    let new = hub.with_index(|i| i.clusters_of(&name).is_none());
                    let was_metro = hub.with_index(|i| i.is_metro(&name));
                    hub.with_index_mut(|i| i.apply(policy));
                    let metro_changed = was_metro != hub.with_index(|i| i.is_metro(&name));
                    for dropped in previous.iter().filter(|c| !policy.contains_cluster(c)) {
                        let _ = requeue.released_clusters.send(dropped.clone());
                    }
                    let fingerprint = distribution_relevant(policy);
                    if fingerprints.insert(name, fingerprint) != Some(fingerprint) {
                        hub.distribute_for_policy(policy, &previous);
                    }
                    if new || metro_changed {
                        // Conflicts are re-decided: a new policy, or one whose sync peer classes (its
                        // metro groups) appeared or went.
                        requeue.each(sharing(hub, policy).iter().map(String::as_str));
                    }
                    if metro_changed {
                        // Holders are re-decided too (a conflicting policy does not start holding).
                        hub.distribute_for_policy(policy, &previous);
                    }
                }
                Ok(Event::Delete(policy)) => {
                    let name = policy.name_any();
                    let sharing = sharing(hub, policy);
                    hub.with_index_mut(|i| i.delete(&name));
                    for cluster in &policy.spec.dr_clusters {
                        let _ = requeue.released_clusters.send(cluster.clone());
                    }
                    hub.forget_own_writes(&name);
                    hub.distribution.forget(&name);
                    fingerprints.remove(&name);
                    hub.distribute_for_policy(policy, &[]);
                    requeue.each(sharing.iter().map(String::as_str));
                }
                Ok(Event::Init) => {
                    relisted = PolicyIndex::new();
                    relisted_fingerprints.clear();
                }
                Ok(Event::InitApply(policy)) => {
                    relisted.apply(policy);
                    relisted_fingerprints.insert(policy.name_any(), distribution_relevant(policy));
                }
                Ok(Event::InitDone) => {
                    hub.policies_relisted();
                    let index = std::mem::replace(&mut relisted, PolicyIndex::new());
                    hub.with_index_mut(|i| *i = index);
                    fingerprints = std::mem::take(&mut relisted_fingerprints);
                    hub.distribution.set_policies_synced();
                    hub.distribute_all();
                    // Secondary caches synced before this stream started: everything is ready now.
                    // (Waiting on the store from another task is not an option: kube's readiness
                    // future wakes only its latest waiter, which is the controller.)
                    if !readiness.is_ready() {
                        tracing::info!("caches synced; reconciling");
                        readiness.set(true);
                    }
                }
                Err(error) => {
                    metrics
                        .watch_errors
                        .with_label_values(&["drpolicies"])
                        .inc();
                    tracing::warn!(resource = "drpolicies", error = %error, "watch error");
                }
            }
        })
        .applied_objects()
        .filter_map(move |item| {
            let keep = match (&item, hub_filter.get()) {
                (Ok(policy), Some(hub)) => {
                    let own = hub.policy_observed(policy);
                    let relevant = reconcile_relevant(policy);
                    let previous = last_relevant.insert(policy.name_any(), relevant);
                    if last_relevant.len() > 2 * hub.with_index(|i| i.len()) + 1024 {
                        // Forget policies that are gone.
                        last_relevant
                            .retain(|name, _| hub.with_index(|i| i.clusters_of(name).is_some()));
                    }
                    // Our own label-and-finalizer write comes back as an event; the reconcile that
                    // made it already went on with the patched object.
                    previous != Some(relevant) && !own
                }
                _ => true,
            };
            futures::future::ready(keep.then_some(item))
        })
}

/// The fields of a policy that can change which secrets it holds: identity, spec, deletion, and our
/// finalizer once deleting (a valid policy holds with or without it).
fn distribution_relevant(policy: &DRPolicy) -> u64 {
    let mut hasher = DefaultHasher::new();
    policy.metadata.uid.hash(&mut hasher);
    policy.metadata.generation.hash(&mut hasher);
    let deleting = policy.metadata.deletion_timestamp.is_some();
    deleting.hash(&mut hasher);
    (deleting && crate::hub::holds_distribution(policy)).hash(&mut hasher);
    hasher.finish()
}

/// The other policies sharing a cluster with `policy` (conflicts are re-decided).
fn sharing(hub: &Hub, policy: &DRPolicy) -> BTreeSet<String> {
    let name = policy.name_any();
    let mut names: BTreeSet<String> = hub.with_index(|i| {
        policy
            .spec
            .dr_clusters
            .iter()
            .flat_map(|c| i.policies_with_cluster(c))
            .map(str::to_owned)
            .collect()
    });
    names.remove(&name);
    names
}

/// The fields whose change needs a reconcile: identity, spec (generation), deletion, finalizers and the
/// backup label. Our own status writes do not retrigger.
fn reconcile_relevant(policy: &DRPolicy) -> u64 {
    let mut hasher = DefaultHasher::new();
    policy.metadata.uid.hash(&mut hasher);
    policy.metadata.generation.hash(&mut hasher);
    policy
        .metadata
        .deletion_timestamp
        .is_some()
        .hash(&mut hasher);
    policy.metadata.finalizers.hash(&mut hasher);
    policy
        .labels()
        .get(drpolicy_api::names::OCM_BACKUP_LABEL)
        .hash(&mut hasher);
    hasher.finish()
}

/// Assembles [`Caches`] from the primary store and the secondary watches.
pub fn caches(policies: Store<DRPolicy>, secondary: &Secondary) -> Caches {
    Caches {
        policies,
        drclusters: secondary.drclusters.clone(),
        drpcs: secondary.drpcs.clone(),
        secrets: secondary.secrets.clone(),
        configmaps: secondary.configmaps.clone(),
        ocm_policies: secondary.ocm_policies.clone(),
        placement_rules: secondary.placement_rules.clone(),
        placement_bindings: secondary.placement_bindings.clone(),
        managed_clusters: secondary.managed_clusters.clone(),
        views: secondary.views.clone(),
    }
}
