//! Watches and requeue rules. Every watched kind feeds a reflector cache; its events are mapped to the
//! DRPolicies they concern (through the policy index, never a scan of all policies per event) and sent to
//! the controller's queue:
//!
//! | source | enqueues |
//! | --- | --- |
//! | DRPolicy create/delete | the policies sharing a cluster with it (conflicts are re-decided) |
//! | ConfigMap `ramen-hub-operator-config` (name-filtered, operator namespace) | every policy, on a resourceVersion change |
//! | Secret metadata in the operator namespace | the policies whose secret set contains that secret |
//! | DRCluster | the policies listing it |
//! | DRPlacementControl (all namespaces) | the policy it references |
//! | Policy / PlacementRule / PlacementBinding with the created-by label | the policies using that secret |

use drpolicy_api::names::{CREATED_BY_RAMEN_LABEL, HUB_OPERATOR_CONFIGMAP, ocm_names};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::http::Readiness;
use crate::hub::{Caches, Hub};
use crate::metrics::Metrics;

/// Where mapped events go.
#[derive(Clone)]
pub struct Requeue {
    /// Single policies.
    pub policies: UnboundedSender<ObjectRef<DRPolicy>>,
    /// "Every policy" (ConfigMap changes).
    pub all: UnboundedSender<()>,
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
    /// Background tasks (aborted on shutdown).
    pub tasks: Vec<JoinHandle<()>>,
}

/// What changed in a watch event, for the mappers.
enum Change<'a, K> {
    /// Created, modified or deleted (resourceVersion changed or object gone).
    Touched(&'a K),
}

/// Runs a watcher into a store and calls `on_change` for every change after the first complete list;
/// a later relist requeues every policy through `relisted`.
fn spawn_watch<K, S>(
    stream: S,
    writer: reflector::store::Writer<K>,
    resource: &'static str,
    metrics: Metrics,
    relisted: UnboundedSender<()>,
    mut on_change: impl FnMut(Change<'_, K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut listed_once = false;
        let stream = stream.default_backoff().reflect(writer);
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(obj) | Event::Delete(obj)) => on_change(Change::Touched(&obj)),
                Ok(Event::InitDone) if listed_once => {
                    // A relist after a watch gap replaces the cache without telling what vanished
                    // meanwhile (a deleted DRPC, DRCluster or OCM object): reconcile everything.
                    tracing::info!(
                        resource,
                        "relisted after a watch gap; requeueing every policy"
                    );
                    let _ = relisted.send(());
                }
                Ok(Event::InitDone) => listed_once = true,
                Ok(_) => {}
                Err(error) => {
                    metrics.watch_errors.with_label_values(&[resource]).inc();
                    tracing::warn!(resource, error = %error, "watch error");
                }
            }
        }
    })
}

fn object<'a, K>(change: &Change<'a, K>) -> &'a K {
    match *change {
        Change::Touched(obj) => obj,
    }
}

fn namespaced<K>(client: &Client, namespace: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), namespace)
}

/// Starts the secondary watches. `hub` is filled in once the stores exist (the mappers need it), which
/// is why it arrives through a `OnceLock`.
pub fn start_secondary(
    client: &Client,
    namespace: &str,
    hub: Arc<std::sync::OnceLock<Arc<Hub>>>,
    requeue: Requeue,
    metrics: &Metrics,
) -> Secondary {
    let mut tasks = Vec::new();
    let created_by = watcher::Config::default().labels(&format!("{CREATED_BY_RAMEN_LABEL}=true"));

    // DRClusters → policies listing them.
    let (drclusters, writer) = reflector::store();
    let (h, r) = (hub.clone(), requeue.clone());
    tasks.push(spawn_watch(
        watcher::watcher(
            Api::<DRCluster>::all(client.clone()),
            watcher::Config::default(),
        ),
        writer,
        "drclusters",
        metrics.clone(),
        requeue.all.clone(),
        move |change| {
            let (Some(hub), Some(name)) = (h.get(), object(&change).metadata.name.as_deref())
            else {
                return;
            };
            let names: Vec<String> =
                hub.with_index(|i| i.policies_with_cluster(name).map(str::to_owned).collect());
            r.each(names.iter().map(String::as_str));
        },
    ));

    // DRPlacementControls → the policy they reference.
    let (drpcs, writer) = reflector::store();
    let r = requeue.clone();
    tasks.push(spawn_watch(
        watcher::watcher(
            Api::<DRPlacementControl>::all(client.clone()),
            watcher::Config::default(),
        ),
        writer,
        "drplacementcontrols",
        metrics.clone(),
        requeue.all.clone(),
        move |change| {
            let policy = object(&change).dr_policy_name();
            if !policy.is_empty() {
                r.policy(policy);
            }
        },
    ));

    // Secret metadata of the operator namespace → policies needing that secret.
    let (secrets, writer) = reflector::store();
    let (h, r) = (hub.clone(), requeue.clone());
    tasks.push(spawn_watch(
        // Metadata only: Secret values never reach this process.
        watcher::watcher(
            namespaced::<PartialObjectMeta<Secret>>(client, namespace),
            watcher::Config::default(),
        ),
        writer,
        "secrets",
        metrics.clone(),
        requeue.all.clone(),
        move |change| {
            let meta: &PartialObjectMeta<Secret> = object(&change);
            if let (Some(hub), Some(name)) = (h.get(), meta.metadata.name.as_deref()) {
                requeue_secret_users(hub, &r, name);
            }
        },
    ));

    // The operator ConfigMap → every policy when its resourceVersion changes.
    let (configmaps, writer) = reflector::store();
    let r = requeue.clone();
    let mut last_version: Option<String> = None;
    tasks.push(spawn_watch(
        watcher::watcher(
            namespaced::<ConfigMap>(client, namespace),
            watcher::Config::default().fields(&format!("metadata.name={HUB_OPERATOR_CONFIGMAP}")),
        ),
        writer,
        "configmaps",
        metrics.clone(),
        requeue.all.clone(),
        move |change| {
            let version = object(&change).resource_version();
            if version != last_version {
                last_version = version;
                let _ = r.all.send(());
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
        requeue.all.clone(),
        ocm_mapper(hub.clone(), requeue.clone(), "Policy"),
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
        requeue.all.clone(),
        ocm_mapper(hub.clone(), requeue.clone(), "PlacementRule"),
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
        requeue.all.clone(),
        ocm_mapper(hub, requeue, "PlacementBinding"),
    ));

    Secondary {
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

fn ocm_mapper<K: Resource>(
    hub: Arc<std::sync::OnceLock<Arc<Hub>>>,
    requeue: Requeue,
    kind: &'static str,
) -> impl FnMut(Change<'_, K>) + Send + 'static {
    move |change| {
        let Some(hub) = hub.get() else { return };
        let name = object(&change).meta().name.clone().unwrap_or_default();
        if let Some(secret) = ocm_names::secret_of(kind, &name) {
            requeue_secret_users(hub, &requeue, &secret);
        }
    }
}

fn requeue_secret_users(hub: &Hub, requeue: &Requeue, secret: &str) {
    // Without a readable config no policy can be mapped to secrets; a config fix requeues them all.
    if let Ok(config) = hub.config().current {
        let users = hub.policies_needing_secret(secret, &config);
        requeue.each(users.iter().map(String::as_str));
    }
}

/// The DRPolicy watch: feeds the primary store and the index, requeues the policies sharing a cluster
/// with a policy that appears or goes, and yields the policies whose reconcile-relevant fields changed.
pub fn policy_stream(
    client: &Client,
    writer: reflector::store::Writer<DRPolicy>,
    hub: Arc<std::sync::OnceLock<Arc<Hub>>>,
    requeue: Requeue,
    metrics: Metrics,
    readiness: Readiness,
) -> impl Stream<Item = Result<DRPolicy, watcher::Error>> + Send + 'static {
    let mut relisted: Vec<DRPolicy> = Vec::new();
    watcher::watcher(
        Api::<DRPolicy>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer)
    .inspect(move |event| {
        let Some(hub) = hub.get() else { return };
        match event {
            Ok(Event::Apply(policy)) => {
                let name = policy.name_any();
                let new = hub.with_index(|i| i.clusters_of(&name).is_none());
                hub.with_index_mut(|i| i.apply(policy));
                if new {
                    requeue.each(sharing(hub, policy).iter().map(String::as_str));
                }
            }
            Ok(Event::Delete(policy)) => {
                let sharing = sharing(hub, policy);
                hub.with_index_mut(|i| i.delete(&policy.name_any()));
                hub.forget_own_writes(&policy.name_any());
                requeue.each(sharing.iter().map(String::as_str));
            }
            Ok(Event::Init) => relisted.clear(),
            Ok(Event::InitApply(policy)) => relisted.push(policy.clone()),
            Ok(Event::InitDone) => {
                hub.with_index_mut(|i| i.reset(relisted.iter()));
                relisted = Vec::new();
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
    .predicate_filter(reconcile_relevant, Default::default())
}

/// The other policies sharing a cluster (conflicts are re-decided) or a secret (distribution is
/// re-planned) with `policy`.
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
    if let Ok(config) = hub.config().current {
        let drclusters = hub.drclusters();
        for secret in drpolicy_validator::needed_secrets(policy, &drclusters, &config).secrets {
            names.extend(hub.policies_needing_secret(&secret, &config));
        }
    }
    names.remove(&name);
    names
}

/// The fields whose change needs a reconcile: spec (generation), deletion, finalizers and the backup
/// label. Our own status writes do not retrigger.
fn reconcile_relevant(policy: &DRPolicy) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
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
    Some(hasher.finish())
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
    }
}
