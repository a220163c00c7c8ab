//! The operator's view of the hub: reflector caches of everything it watches, the DRPolicy index, and
//! the parsed RamenConfig. Every read of a reconcile comes from here — no GET or LIST per reconcile.

use drpolicy_api::names::{DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP, ocm_names};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy, ManagedCluster, ManagedClusterView};
use drpolicy_validator::{
    ClusterDetailsError, Conflict, PolicyIndex, check_conflicts, cluster_details, cluster_ids,
    nads_missing_recorded, secret_for_cluster, validate,
};

use crate::distribution::Kind;
use crate::status_fields::StatusFields;
use crate::views::ApiPresence;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use ramen_config::RamenConfig;
use secret_propagator::{LiveObjects, SecretState, Secrets};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Reflector stores of every watched kind.
#[derive(Clone)]
pub struct Caches {
    /// DRPolicies (cluster-scoped).
    pub policies: Store<DRPolicy>,
    /// DRClusters (cluster-scoped).
    pub drclusters: Store<DRCluster>,
    /// DRPlacementControls (all namespaces).
    pub drpcs: Store<DRPlacementControl>,
    /// Secret metadata of the operator namespace (values are never fetched).
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// The operator ConfigMap (name-filtered watch in the operator namespace).
    pub configmaps: Store<ConfigMap>,
    /// Distribution Policies (operator namespace, created-by label).
    pub ocm_policies: Store<Policy>,
    /// Distribution PlacementRules (operator namespace, created-by label).
    pub placement_rules: Store<PlacementRule>,
    /// Distribution PlacementBindings (operator namespace, created-by label).
    pub placement_bindings: Store<PlacementBinding>,
    /// OCM ManagedClusters (empty when the hub does not serve them).
    pub managed_clusters: Store<ManagedCluster>,
    /// Our ManagedClusterViews (empty when the hub does not serve them).
    pub views: Store<ManagedClusterView>,
}

/// The config as the reconcile sees it.
#[derive(Clone, Debug)]
pub struct ConfigView {
    /// The current config, or why it cannot be used (the `ConfigMapGetFailed` message).
    pub current: Result<Arc<RamenConfig>, String>,
    /// The last config that parsed, for cleaning up deleting policies while the current one is broken.
    pub last_good: Option<Arc<RamenConfig>>,
}

impl ConfigView {
    /// The config to act on: the current one, or while it is broken the last one that parsed.
    pub fn usable(&self) -> Option<Arc<RamenConfig>> {
        self.current.clone().ok().or_else(|| self.last_good.clone())
    }
}

#[derive(Default)]
struct ConfigCache {
    resource_version: Option<String>,
    current: Option<Result<Arc<RamenConfig>, String>>,
    last_good: Option<Arc<RamenConfig>>,
}

impl ConfigCache {
    fn view(&self) -> ConfigView {
        ConfigView {
            current: self
                .current
                .clone()
                .unwrap_or_else(|| Err("config not read yet".into())),
            last_good: self.last_good.clone(),
        }
    }
}

/// Whether ConfigMap version `candidate` should replace `stored`: it differs, and is not older when
/// both are numeric (resourceVersions are opaque, but the API server's are increasing numbers).
fn newer(candidate: Option<&str>, stored: Option<&str>) -> bool {
    if candidate == stored {
        return false;
    }
    match (
        candidate.and_then(|v| v.parse::<u64>().ok()),
        stored.and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(candidate), Some(stored)) => candidate > stored,
        _ => true,
    }
}

/// What this process just did to a policy's finalizer, until the cache shows it. Entries belong to
/// one object (its uid): a policy re-created under the same name is a different object.
#[derive(Clone)]
enum OwnWrite {
    /// We added the finalizer: the policy holds a distribution (the patched object).
    Holding(Arc<DRPolicy>),
    /// We removed the finalizer of the object with this uid: it no longer holds one.
    Released(Option<String>),
}

impl OwnWrite {
    fn uid(&self) -> Option<&str> {
        match self {
            OwnWrite::Holding(policy) => policy.metadata.uid.as_deref(),
            OwnWrite::Released(uid) => uid.as_deref(),
        }
    }
}

/// The status this process wrote to a policy object (by uid) — conditions and peer classes — and its
/// JSON form for comparison.
struct OwnStatus {
    uid: Option<String>,
    conditions: Vec<Condition>,
    fields: StatusFields,
    json: serde_json::Value,
}

fn cached_status_json(policy: &DRPolicy) -> serde_json::Value {
    StatusFields::from_status(policy.status.as_ref()).comparable(cached_conditions(policy))
}

fn cached_conditions(policy: &DRPolicy) -> &[Condition] {
    policy
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
}

/// DRClusters by name, shared by the reconciles that read them.
type DRClusterMap = Arc<BTreeMap<String, Arc<DRCluster>>>;

/// Caches plus derived state.
pub struct Hub {
    /// The operator namespace.
    pub namespace: String,
    /// The stores.
    pub caches: Caches,
    index: RwLock<PolicyIndex>,
    config: Mutex<ConfigCache>,
    // Finalizer writes the policy cache may not have seen yet. Without this, a reconcile of another
    // policy sharing a secret could plan from a cache that lags our own write and shrink (or regrow) a
    // PlacementRule for a moment.
    own_writes: Mutex<BTreeMap<String, OwnWrite>>,
    // Status conditions this process wrote, until the cache shows them: (uid, conditions, their JSON).
    own_status: Mutex<BTreeMap<String, OwnStatus>>,
    drclusters_version: AtomicU64,
    drclusters_map: Mutex<Option<(u64, DRClusterMap)>>,
    /// Secret distribution: its queue, outcomes and this process' own OCM writes.
    pub distribution: crate::distribution::State,
    /// Whether the hub serves ManagedClusters (the gate passes where it does not).
    pub managed_cluster_api: Arc<ApiPresence>,
}

fn lock_poisoned<T>(lock: std::sync::LockResult<T>) -> T {
    // A panic while holding one of these locks cannot leave the data half-written (every critical
    // section is a single assignment or map update), so the data stays usable.
    lock.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hub {
    /// A hub view over `caches`, queueing secrets to distribute in `queue`.
    pub fn new(namespace: String, caches: Caches, queue: crate::queue::KeyQueue) -> Self {
        Hub {
            namespace,
            caches,
            index: RwLock::new(PolicyIndex::new()),
            config: Mutex::new(ConfigCache::default()),
            own_writes: Mutex::new(BTreeMap::new()),
            own_status: Mutex::new(BTreeMap::new()),
            drclusters_version: AtomicU64::new(0),
            drclusters_map: Mutex::new(None),
            distribution: crate::distribution::State::new(queue),
            managed_cluster_api: Arc::new(ApiPresence::default()),
        }
    }

    /// Records that this process added our finalizer to `policy` (the patched object).
    pub fn finalizer_added(&self, policy: Arc<DRPolicy>) {
        let Some(name) = policy.metadata.name.clone() else {
            return;
        };
        let mut own = lock_poisoned(self.own_writes.lock());
        // Decided under the lock against the cache: if the watch already delivered the write, there
        // is nothing to remember (and nothing would ever forget it).
        let cached = self.policy(&name);
        if cached
            .as_deref()
            .is_some_and(|c| c.metadata.uid == policy.metadata.uid && holds_distribution(c))
        {
            own.remove(&name);
            return;
        }
        // Kept until the watch shows it: without managedFields, which are never read.
        let mut stripped = (*policy).clone();
        stripped.metadata.managed_fields = None;
        own.insert(name, OwnWrite::Holding(Arc::new(stripped)));
    }

    /// The status conditions of `policy` as this process last wrote them, or as cached.
    pub fn conditions_of(&self, policy: &DRPolicy) -> Vec<Condition> {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        match lock_poisoned(self.own_status.lock()).get(name) {
            Some(own) if own.uid == policy.metadata.uid => own.conditions.clone(),
            _ => cached_conditions(policy).to_vec(),
        }
    }

    /// The peer classes and network peers of `policy` as this process last wrote them, or as cached.
    pub fn status_fields_of(&self, policy: &DRPolicy) -> StatusFields {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        match lock_poisoned(self.own_status.lock()).get(name) {
            Some(own) if own.uid == policy.metadata.uid => own.fields.clone(),
            _ => StatusFields::from_status(policy.status.as_ref()),
        }
    }

    /// Records the conditions and peer classes this process just wrote to `policy`, until the watch
    /// shows them.
    pub fn status_written(
        &self,
        policy: &DRPolicy,
        conditions: Vec<Condition>,
        fields: StatusFields,
    ) {
        let Some(name) = policy.metadata.name.clone() else {
            return;
        };
        let json = fields.comparable(&conditions);
        let mut own = lock_poisoned(self.own_status.lock());
        let shown = self.policy(&name).is_some_and(|cached| {
            cached.metadata.uid == policy.metadata.uid && cached_status_json(&cached) == json
        });
        if shown {
            own.remove(&name);
        } else {
            let uid = policy.metadata.uid.clone();
            own.insert(
                name,
                OwnStatus {
                    uid,
                    conditions,
                    fields,
                    json,
                },
            );
        }
    }

    /// The DRPolicy watch relisted: its cache is authoritative again.
    pub fn policies_relisted(&self) {
        lock_poisoned(self.own_status.lock()).clear();
    }

    /// The DRPolicy watch delivered `policy`: what this process wrote to its finalizer or status and
    /// the cache now shows is forgotten. Returns whether the object is exactly the result of our own
    /// finalizer write (same resourceVersion): the reconcile that made it already went on with it.
    pub fn policy_observed(&self, policy: &DRPolicy) -> bool {
        let Some(name) = policy.metadata.name.as_deref() else {
            return false;
        };
        {
            let mut own = lock_poisoned(self.own_status.lock());
            let shown = own.get(name).is_some_and(|own| {
                own.uid != policy.metadata.uid || own.json == cached_status_json(policy)
            });
            if shown {
                own.remove(name);
            }
        }
        let mut own = lock_poisoned(self.own_writes.lock());
        let (shown, exact) = match own.get(name) {
            Some(entry) if entry.uid() != policy.metadata.uid.as_deref() => (true, false),
            Some(OwnWrite::Holding(patched)) => (
                holds_distribution(policy),
                patched.metadata.resource_version.is_some()
                    && patched.metadata.resource_version == policy.metadata.resource_version,
            ),
            Some(OwnWrite::Released(_)) => (!holds_distribution(policy), false),
            None => (false, false),
        };
        if shown {
            own.remove(name);
        }
        exact
    }

    /// How many finalizer and status writes of this process the cache does not show yet.
    pub fn pending_own_writes(&self) -> usize {
        lock_poisoned(self.own_writes.lock()).len() + lock_poisoned(self.own_status.lock()).len()
    }

    /// Records that this process removed our finalizer from `policy`.
    pub fn finalizer_removed(&self, policy: &DRPolicy) {
        if let Some(name) = policy.metadata.name.clone() {
            let uid = policy.metadata.uid.clone();
            lock_poisoned(self.own_writes.lock()).insert(name, OwnWrite::Released(uid));
        }
    }

    /// Forgets what this process wrote to policy `name` (it was deleted).
    pub fn forget_own_writes(&self, name: &str) {
        lock_poisoned(self.own_writes.lock()).remove(name);
        lock_poisoned(self.own_status.lock()).remove(name);
    }

    /// The policy as a holder: the cached object when it holds a distribution, the object we patched
    /// when the cache has not seen our finalizer yet, nothing when we just released it. Entries the
    /// cache has caught up with are forgotten.
    fn as_holder(&self, name: &str, cached: Option<Arc<DRPolicy>>) -> Option<Arc<DRPolicy>> {
        let mut own = lock_poisoned(self.own_writes.lock());
        let cached_holds = cached.as_deref().is_some_and(holds_distribution);
        let cached_uid = cached.as_deref().and_then(|p| p.metadata.uid.as_deref());
        if let Some(entry) = own.get(name)
            && cached.is_some()
            && entry.uid() != cached_uid
        {
            // A different object under the same name: what we wrote was about the old one.
            own.remove(name);
        }
        match own.get(name).cloned() {
            Some(OwnWrite::Holding(patched)) => {
                // Gone from the cache means deleted: not a holder any more.
                if cached_holds || cached.is_none() {
                    own.remove(name);
                }
                match cached {
                    Some(_) if cached_holds => cached,
                    Some(_) => Some(patched),
                    None => None,
                }
            }
            Some(OwnWrite::Released(_)) => {
                if !cached_holds {
                    own.remove(name);
                }
                None
            }
            None => cached.filter(|p| holds_distribution(p)),
        }
    }

    /// Runs `f` with the policy index for writing (watch event handling).
    pub fn with_index_mut<R>(&self, f: impl FnOnce(&mut PolicyIndex) -> R) -> R {
        let mut index = lock_poisoned(self.index.write());
        f(&mut index)
    }

    /// Runs `f` with the policy index.
    pub fn with_index<R>(&self, f: impl FnOnce(&PolicyIndex) -> R) -> R {
        let index = lock_poisoned(self.index.read());
        f(&index)
    }

    /// A DRPolicy by name.
    pub fn policy(&self, name: &str) -> Option<Arc<DRPolicy>> {
        self.caches.policies.get(&ObjectRef::new(name))
    }

    /// The ManagedClusters named `names`, by name (those that exist).
    fn managed_clusters<'a>(
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

    /// Ramen HEAD's ManagedCluster gate (D2) for `policy`, judged on its own clusters (our BH5
    /// decision). A hub that does not serve ManagedClusters is not an OCM hub: the gate passes there.
    pub fn cluster_gate(
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
    pub fn conflicts(
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
    pub fn acceptable(
        &self,
        policy: &DRPolicy,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> bool {
        self.cluster_gate(policy, drclusters).is_ok()
            && validate(policy, drclusters, []).is_ok()
            && self.conflicts(policy, drclusters).is_ok()
            && !nads_missing_recorded(policy)
    }

    /// Every DRCluster by name. The map is rebuilt only after the DRCluster watch reported a change
    /// ([`Hub::drclusters_changed`]); every reconcile reads it.
    pub fn drclusters(&self) -> Arc<BTreeMap<String, Arc<DRCluster>>> {
        self.drcluster_view()
    }

    fn drcluster_view(&self) -> DRClusterMap {
        let version = self.drclusters_version.load(Ordering::SeqCst);
        let mut cached = lock_poisoned(self.drclusters_map.lock());
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

    /// The DRCluster cache changed: the next [`Hub::drclusters`] rebuilds its map.
    pub fn drclusters_changed(&self) {
        self.drclusters_version.fetch_add(1, Ordering::SeqCst);
    }

    /// The other policies sharing a cluster with `policy`.
    pub fn policies_sharing_clusters(&self, policy: &DRPolicy) -> Vec<Arc<DRPolicy>> {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        let names: BTreeSet<String> = self.with_index(|index| {
            policy
                .spec
                .dr_clusters
                .iter()
                .flat_map(|c| index.policies_with_cluster(c))
                .filter(|other| *other != name)
                .map(str::to_owned)
                .collect()
        });
        names.iter().filter_map(|n| self.policy(n)).collect()
    }

    /// DRPlacementControls referencing policy `name`, as `namespace/name`, sorted.
    pub fn drpcs_using(&self, policy: &str) -> Vec<String> {
        drpc_users(self.caches.drpcs.state().iter().map(AsRef::as_ref), policy)
    }

    /// The config, re-parsed only when the ConfigMap's resourceVersion changed. Warnings are logged once
    /// per ConfigMap version.
    ///
    /// The parse runs outside the lock: readers of the parsed config never wait for a parse (several
    /// reconciles meeting a new version at once may each parse it; parsing is bounded in time and
    /// memory by `ramen-config`, and only the first result is kept and logged).
    pub fn config(&self) -> ConfigView {
        let configmap = self
            .caches
            .configmaps
            .get(&ObjectRef::new(HUB_OPERATOR_CONFIGMAP).within(&self.namespace));
        let version = configmap
            .as_ref()
            .and_then(|c| c.metadata.resource_version.clone());
        {
            let cache = lock_poisoned(self.config.lock());
            if cache.current.is_some() && cache.resource_version == version {
                return cache.view();
            }
        }
        let parsed = crate::settings::parse_operator_config(&self.namespace, configmap.as_deref());
        let mut cache = lock_poisoned(self.config.lock());
        if cache.current.is_some() && !newer(version.as_deref(), cache.resource_version.as_deref())
        {
            // Another reconcile stored this version (or a newer one) meanwhile.
            return cache.view();
        }
        let current = match parsed {
            Ok(parsed) => {
                for warning in &parsed.warnings {
                    tracing::warn!(configmap = HUB_OPERATOR_CONFIGMAP, "{warning}");
                }
                let config = Arc::new(parsed.config);
                cache.last_good = Some(config.clone());
                Ok(config)
            }
            Err(error) => {
                tracing::error!(configmap = HUB_OPERATOR_CONFIGMAP, "{error}");
                Err(error.to_string())
            }
        };
        cache.current = Some(current);
        cache.resource_version = version;
        cache.view()
    }

    /// Secret states of the operator namespace (metadata only).
    pub fn secrets(&self) -> Secrets {
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

    /// The policies holding a distribution of `secret`: those needing it that carry our finalizer
    /// (as this process last wrote it), plus the valid ones not being deleted, minus those being
    /// finalized.
    pub fn distribution_holders(
        &self,
        secret: &str,
        config: &RamenConfig,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> Vec<Arc<DRPolicy>> {
        let clusters: Vec<&String> = drclusters
            .keys()
            .filter(|c| secret_for_cluster(c, drclusters, config).is_ok_and(|s| s == secret))
            .collect();
        let names: BTreeSet<String> = self.with_index(|index| {
            clusters
                .iter()
                .flat_map(|c| index.policies_with_cluster(c))
                .map(str::to_owned)
                .collect()
        });
        names
            .iter()
            .filter_map(|name| {
                let cached = self.policy(name);
                if cached
                    .as_deref()
                    .is_some_and(|p| self.distribution.is_releasing(p))
                {
                    return None;
                }
                if let Some(holder) = self.as_holder(name, cached.clone()) {
                    return Some(holder);
                }
                let policy = cached?;
                if policy.metadata.deletion_timestamp.is_some() {
                    return None;
                }
                self.acceptable(&policy, drclusters).then_some(policy)
            })
            .collect()
    }

    /// Every secret distribution may concern: the profiles' secrets of `config`, Secrets carrying our
    /// finalizer, secrets with distribution objects, and secrets distributed before.
    pub fn known_secrets(&self, config: Option<&RamenConfig>) -> BTreeSet<String> {
        let mut known: BTreeSet<String> = config
            .into_iter()
            .flat_map(|c| c.s3_store_profiles.iter())
            .map(|p| p.s3_secret_ref.name.clone())
            .filter(|n| !n.is_empty())
            .collect();
        known.extend(
            self.secrets()
                .into_iter()
                .filter(|(_, s)| s.has_finalizer)
                .map(|(n, _)| n),
        );
        fn secrets_of<K: kube::Resource + Clone>(
            store: &Store<K>,
            kind: Kind,
        ) -> impl Iterator<Item = String> + use<K>
        where
            K::DynamicType: Default + Eq + std::hash::Hash + Clone,
        {
            store
                .state()
                .into_iter()
                .flat_map(move |o| kind.secrets_of(o.meta().name.as_deref().unwrap_or_default()))
        }
        known.extend(secrets_of(&self.caches.ocm_policies, Kind::Policy));
        known.extend(secrets_of(
            &self.caches.placement_rules,
            Kind::PlacementRule,
        ));
        known.extend(secrets_of(
            &self.caches.placement_bindings,
            Kind::PlacementBinding,
        ));
        known.extend(self.distribution.secrets_with_outcomes());
        known
    }

    /// Whether a profile of the config (or the last one that parsed) names Secret `name`, or it was
    /// distributed before: its changes matter to distribution.
    pub fn concerns_secret(&self, name: &str) -> bool {
        let view = self.config();
        let named = view
            .current
            .ok()
            .into_iter()
            .chain(view.last_good)
            .any(|c| {
                c.s3_store_profiles
                    .iter()
                    .any(|p| p.s3_secret_ref.name == name)
            });
        named || self.distribution.outcome(name).is_some()
    }

    /// Queues every known secret for distribution.
    pub fn distribute_all(&self) {
        let view = self.config();
        let config = view.usable();
        for secret in self.known_secrets(config.as_deref()) {
            self.distribution.queue.add(&secret);
        }
    }

    /// Queues the secrets whose holders `policy` can change: the secrets of its clusters and of the
    /// clusters of the policies sharing one with it (their validity may depend on it).
    pub fn distribute_for_policy(&self, policy: &DRPolicy, previous_clusters: &[String]) {
        let view = self.config();
        let Some(config) = view.usable() else {
            return;
        };
        let drclusters = self.drclusters();
        let drclusters = &*drclusters;
        let mut clusters: BTreeSet<String> = policy
            .spec
            .dr_clusters
            .iter()
            .chain(previous_clusters)
            .cloned()
            .collect();
        for other in self.policies_sharing_clusters(policy) {
            clusters.extend(other.spec.dr_clusters.iter().cloned());
        }
        let secrets: BTreeSet<String> = clusters
            .iter()
            .filter_map(|c| secret_for_cluster(c, &drclusters, &config).ok())
            .collect();
        for secret in secrets {
            self.distribution.queue.add(&secret);
        }
    }

    /// Every policy holding a distribution, other than `except`.
    pub fn all_holders(&self, except: &str) -> Vec<Arc<DRPolicy>> {
        self.caches
            .policies
            .state()
            .into_iter()
            .filter_map(|p| {
                let name = p.metadata.name.clone()?;
                (name != except).then(|| self.as_holder(&name, Some(p)))?
            })
            .collect()
    }

    /// The live distribution objects of `secrets` (all of them with `None`).
    pub fn live_objects(&self, secrets: Option<&BTreeSet<String>>) -> LiveObjects {
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
        let names = |f: fn(&str) -> String| secrets.map(|s| s.iter().map(|n| f(n)).collect());
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
pub fn drpc_users<'a>(
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
pub fn holds_distribution(policy: &DRPolicy) -> bool {
    policy
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == DRPOLICY_FINALIZER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::DRPolicySpec;
    use kube::runtime::reflector::store;
    use kube::runtime::watcher::Event;

    #[test]
    fn a_config_parsed_meanwhile_is_replaced_only_by_a_newer_version() {
        assert!(!newer(Some("7"), Some("7")));
        assert!(
            !newer(Some("6"), Some("7")),
            "a slower reconcile's older parse loses"
        );
        assert!(newer(Some("8"), Some("7")));
        assert!(newer(None, Some("7")), "the ConfigMap was deleted");
        assert!(newer(Some("7"), None));
        assert!(newer(Some("opaque"), Some("7")));
    }

    fn policy(name: &str, finalized: bool) -> DRPolicy {
        let mut p = DRPolicy::new(
            name,
            DRPolicySpec {
                dr_clusters: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        );
        if finalized {
            p.metadata.finalizers = Some(vec![DRPOLICY_FINALIZER.into()]);
        }
        p
    }

    fn hub_with(policies: store::Store<DRPolicy>) -> Hub {
        let caches = Caches {
            policies,
            drclusters: store::<DRCluster>().0,
            drpcs: store::<DRPlacementControl>().0,
            secrets: store::<PartialObjectMeta<Secret>>().0,
            configmaps: store::<ConfigMap>().0,
            ocm_policies: store::<Policy>().0,
            placement_rules: store::<PlacementRule>().0,
            placement_bindings: store::<PlacementBinding>().0,
            managed_clusters: store::<ManagedCluster>().0,
            views: store::<ManagedClusterView>().0,
        };
        Hub::new("ramen-system".into(), caches, crate::queue::KeyQueue::new())
    }

    fn holder_names(hub: &Hub) -> Vec<String> {
        hub.all_holders("")
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn our_own_finalizer_writes_count_before_the_cache_shows_them() {
        let (reader, mut writer) = store::<DRPolicy>();
        writer.apply_watcher_event(&Event::Apply(policy("p", false)));
        let hub = hub_with(reader);
        assert!(holder_names(&hub).is_empty());

        hub.finalizer_added(Arc::new(policy("p", true)));
        assert_eq!(holder_names(&hub), ["p"], "held although the cache lags");
        writer.apply_watcher_event(&Event::Apply(policy("p", true)));
        assert_eq!(holder_names(&hub), ["p"]);

        hub.finalizer_removed(&policy("p", true));
        assert!(
            holder_names(&hub).is_empty(),
            "released although the cache lags"
        );
        writer.apply_watcher_event(&Event::Apply(policy("p", false)));
        assert!(holder_names(&hub).is_empty());
        // Once the cache caught up, nothing of ours overrides it any more.
        writer.apply_watcher_event(&Event::Apply(policy("p", true)));
        assert_eq!(holder_names(&hub), ["p"]);
    }

    #[test]
    fn a_policy_recreated_under_the_same_name_is_not_taken_for_the_released_one() {
        let with_uid = |uid: &str, finalized: bool| {
            let mut p = policy("p", finalized);
            p.metadata.uid = Some(uid.into());
            p
        };
        let (reader, mut writer) = store::<DRPolicy>();
        writer.apply_watcher_event(&Event::Apply(with_uid("old", true)));
        let hub = hub_with(reader);
        hub.finalizer_removed(&with_uid("old", true));
        // Deleted before the cache showed the release, then re-created with our finalizer (a restore).
        writer.apply_watcher_event(&Event::Delete(with_uid("old", true)));
        writer.apply_watcher_event(&Event::Apply(with_uid("new", true)));
        assert_eq!(holder_names(&hub), ["p"]);
    }

    #[test]
    fn own_finalizer_writes_are_forgotten_once_the_watch_shows_them() {
        let (reader, mut writer) = store::<DRPolicy>();
        writer.apply_watcher_event(&Event::Apply(policy("p", false)));
        writer.apply_watcher_event(&Event::Apply(policy("q", false)));
        let hub = hub_with(reader);
        hub.finalizer_added(Arc::new(policy("p", true)));
        hub.finalizer_added(Arc::new(policy("q", true)));
        assert_eq!(hub.pending_own_writes(), 2);
        // The watch delivers p with our finalizer: its entry goes, whether or not anyone asked.
        writer.apply_watcher_event(&Event::Apply(policy("p", true)));
        hub.policy_observed(&policy("p", true));
        assert_eq!(hub.pending_own_writes(), 1);
        // An event that does not show the write yet (an older version) keeps it.
        hub.policy_observed(&policy("q", false));
        assert_eq!(hub.pending_own_writes(), 1);
        // A write the cache already shows when it is recorded is not remembered at all.
        writer.apply_watcher_event(&Event::Apply(policy("r", true)));
        hub.finalizer_added(Arc::new(policy("r", true)));
        assert_eq!(hub.pending_own_writes(), 1);
    }
}
