//! Secret distribution, converged per hub Secret in its own queue.
//!
//! The OCM objects of secret `S` (Policy `S`, PlacementRule `plrule-S`, PlacementBinding `plbinding-S`,
//! and while the config asks for the velero format Policy `vS`, `plrule-vS`, `plbinding-vS`) and the
//! Secret's protection finalizers are a function of the hub: the clusters of every policy that holds
//! a distribution of `S` ([`crate::holders`]). Each change of an input queues the secrets it can
//! affect, never the policies: one worker run per secret converges it and records an [`Outcome`], and
//! only the policies whose view of that outcome changed are requeued to report it in their
//! `SecretsDistributed` condition.
//!
//! This module owns the queue, the outcomes, which policies wait for which runs, and which policies
//! are being finalized; [`worker`] runs the queue.

mod objects;
mod worker;

pub(crate) use objects::Kind;
pub(crate) use worker::Worker;

use drpolicy_api::{DRCluster, DRPolicy};
use drpolicy_validator::secret_for_cluster;
use parking_lot::Mutex;
use ramen_config::RamenConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

use crate::holders::{Candidate, holders};
use crate::hub::HubView;
use crate::pending::Pending;
use crate::queue::{Backoff, KeyQueue};

/// What the last run for a secret concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Result {
    /// Distributed to the holders' clusters (or nothing to distribute: no holder).
    Distributed,
    /// Distribution is disabled in the config; nothing was created or grown.
    Disabled,
    /// The Secret cannot be distributed (missing, being deleted, name too long): why.
    Unavailable(String),
    /// Writes failed (retried with backoff).
    Failed(Vec<WriteFailure>),
}

/// One write of a run that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteFailure {
    /// What was written (kind and name, as the propagator describes it).
    pub(crate) what: String,
    /// The server's HTTP status, when it answered.
    pub(crate) code: Option<u16>,
    /// The server's answer (or the transport error), one line.
    pub(crate) message: String,
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.message)
    }
}

/// The failures of a run, as one line.
pub(crate) fn describe_failures(failures: &[WriteFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The last completed run for a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The run's start, on the [`State`] clock.
    pub(crate) epoch: u64,
    /// The policies that held a distribution of the secret in that run.
    pub(crate) holders: Arc<BTreeSet<String>>,
    /// What it concluded.
    pub(crate) result: Result,
}

/// First retry delay after a conflict caused by a cache behind a write.
const STALE_CACHE_RETRY: Duration = Duration::from_millis(200);
/// Longest retry delay after conflicts.
const CONFLICT_RETRY_CAP: Duration = Duration::from_secs(30);

/// Distribution state shared by the workers, the policy reconciles and the watches.
pub(crate) struct State {
    /// Secrets to converge.
    pub(crate) queue: KeyQueue,
    /// Own writes whose expiry is checked later (see [`crate::pending::OWN_WRITE_TTL`]).
    expiry: KeyQueue,
    clock: AtomicU64,
    outcomes: Mutex<BTreeMap<String, Outcome>>,
    waiters: Mutex<BTreeMap<String, BTreeSet<String>>>,
    releasing: Mutex<BTreeMap<String, (Option<String>, u64)>>,
    failures: Backoff,
    /// Retry delays after conflicts (a cache behind a write): 200 ms doubling up to 30 s, with
    /// jitter, so a conflict that persists does not retry five times a second forever.
    conflicts: Backoff,
    policies_synced: AtomicBool,
    synced_at: std::sync::OnceLock<tokio::time::Instant>,
    synced: Notify,
}

impl Default for State {
    fn default() -> Self {
        State {
            queue: KeyQueue::new(),
            expiry: KeyQueue::new(),
            clock: AtomicU64::new(0),
            outcomes: Mutex::default(),
            waiters: Mutex::default(),
            releasing: Mutex::default(),
            failures: Backoff::default(),
            conflicts: Backoff::new(STALE_CACHE_RETRY, CONFLICT_RETRY_CAP),
            policies_synced: AtomicBool::new(false),
            synced_at: std::sync::OnceLock::new(),
            synced: Notify::new(),
        }
    }
}

impl State {
    /// The DRPolicy cache holds its first complete list: holders can be decided. Until then the
    /// workers wait, so that a restart never takes an empty cache for "no holder" and removes
    /// distributions.
    pub(crate) fn set_policies_synced(&self) {
        let _ = self.synced_at.set(tokio::time::Instant::now());
        self.policies_synced.store(true, Ordering::SeqCst);
        self.synced.notify_waiters();
    }

    /// When the DRPolicy cache first held its complete list (the workers start then), if it has.
    pub(crate) fn policies_synced_at(&self) -> Option<tokio::time::Instant> {
        self.synced_at.get().copied()
    }

    async fn wait_policies_synced(&self) {
        loop {
            let notified = self.synced.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.policies_synced.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The last outcome for `secret`.
    pub(crate) fn outcome(&self, secret: &str) -> Option<Outcome> {
        self.outcomes.lock().get(secret).cloned()
    }

    /// Asks for `secrets` to be converged and for `policy` to be requeued when each run ends.
    pub(crate) fn wait_for(&self, policy: &str, secrets: &BTreeSet<String>) {
        let mut waiters = self.waiters.lock();
        for secret in secrets {
            waiters
                .entry(secret.clone())
                .or_default()
                .insert(policy.to_owned());
        }
        drop(waiters);
        secrets.iter().for_each(|s| self.queue.add(s));
    }

    /// Marks `policy` as being finalized: from now on it holds nothing. Returns the clock value that
    /// later outcomes must exceed to reflect that.
    pub(crate) fn release(&self, policy: &DRPolicy) -> u64 {
        let name = policy.metadata.name.clone().unwrap_or_default();
        let uid = policy.metadata.uid.clone();
        let mut releasing = self.releasing.lock();
        if let Some((marked_uid, epoch)) = releasing.get(&name)
            && *marked_uid == uid
        {
            return *epoch;
        }
        let epoch = self.tick();
        releasing.insert(name, (uid, epoch));
        epoch
    }

    /// Takes back a release (a DRPlacementControl appeared): the policy holds again.
    pub(crate) fn unrelease(&self, policy: &str) -> bool {
        self.releasing.lock().remove(policy).is_some()
    }

    /// Forgets a deleted policy.
    pub(crate) fn forget(&self, policy: &str) {
        self.releasing.lock().remove(policy);
    }

    /// Whether the policy object (name and uid) is being finalized.
    pub(crate) fn is_releasing(&self, policy: &DRPolicy) -> bool {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        self.releasing
            .lock()
            .get(name)
            .is_some_and(|(uid, _)| *uid == policy.metadata.uid)
    }

    /// The policies holding a distribution of `secret` (see [`crate::holders`]): the candidates are
    /// the policies listing a cluster whose profile names it.
    pub(crate) fn holders(
        &self,
        hub: &HubView,
        pending: &Pending,
        secret: &str,
        config: &RamenConfig,
        drclusters: &BTreeMap<String, Arc<DRCluster>>,
    ) -> Vec<Arc<DRPolicy>> {
        let clusters = drclusters
            .keys()
            .filter(|c| secret_for_cluster(c, drclusters, config).is_ok_and(|s| s == secret));
        let candidates = hub
            .policies_with_clusters(clusters.map(String::as_str))
            .iter()
            .filter_map(|name| hub.policy(name))
            .map(|cached| Candidate {
                written: pending.policy(&cached),
                releasing: self.is_releasing(&cached),
                cached,
            })
            .collect::<Vec<_>>();
        holders(candidates, |policy| hub.acceptable(policy, drclusters))
    }

    /// Every secret distribution may concern: the profiles' secrets of `config`, Secrets carrying our
    /// finalizer, secrets with distribution objects, and secrets distributed before.
    pub(crate) fn known_secrets(
        &self,
        hub: &HubView,
        config: Option<&RamenConfig>,
    ) -> BTreeSet<String> {
        let mut known: BTreeSet<String> = config
            .into_iter()
            .flat_map(|c| c.s3_store_profiles.iter())
            .map(|p| p.s3_secret_ref.name.clone())
            .filter(|n| !n.is_empty())
            .collect();
        known.extend(
            hub.secrets()
                .into_iter()
                .filter(|(_, s)| s.has_finalizer)
                .map(|(n, _)| n),
        );
        fn secrets_of<K: kube::Resource + Clone>(
            store: &kube::runtime::reflector::Store<K>,
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
        known.extend(secrets_of(&hub.caches.ocm_policies, Kind::Policy));
        known.extend(secrets_of(&hub.caches.placement_rules, Kind::PlacementRule));
        known.extend(secrets_of(
            &hub.caches.placement_bindings,
            Kind::PlacementBinding,
        ));
        known.extend(self.outcomes.lock().keys().cloned());
        known
    }

    /// Whether a profile of the config (or the last one that parsed) names Secret `name`, or it was
    /// distributed before: its changes matter to distribution.
    pub(crate) fn concerns_secret(&self, hub: &HubView, name: &str) -> bool {
        hub.config().names_secret(name) || self.outcome(name).is_some()
    }

    /// Queues every known secret.
    pub(crate) fn queue_all(&self, hub: &HubView) {
        let config = hub.config().usable();
        for secret in self.known_secrets(hub, config.as_deref()) {
            self.queue.add(&secret);
        }
    }

    /// Queues the secrets whose holders `policy` can change: the secrets of its clusters (and of
    /// `previous_clusters`, those it listed before) and of the clusters of the policies sharing one
    /// with it (their validity may depend on it).
    pub(crate) fn queue_for_policy(
        &self,
        hub: &HubView,
        policy: &DRPolicy,
        previous_clusters: &[String],
    ) {
        let Some(config) = hub.config().usable() else {
            return;
        };
        let drclusters = hub.drclusters();
        let mut clusters: BTreeSet<String> = policy
            .spec
            .dr_clusters
            .iter()
            .chain(previous_clusters)
            .cloned()
            .collect();
        for other in hub.policies_sharing_clusters(policy) {
            clusters.extend(other.spec.dr_clusters.iter().cloned());
        }
        let secrets: BTreeSet<String> = clusters
            .iter()
            .filter_map(|c| secret_for_cluster(c, &*drclusters, &config).ok())
            .collect();
        for secret in secrets {
            self.queue.add(&secret);
        }
    }
}
