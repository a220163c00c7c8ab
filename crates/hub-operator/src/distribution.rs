//! Secret distribution, converged per hub Secret in its own queue.
//!
//! The OCM objects of secret `S` (Policy `S`, PlacementRule `plrule-S`, PlacementBinding `plbinding-S`,
//! and while the config asks for the velero format Policy `vS`, `plrule-vS`, `plbinding-vS`) and the
//! Secret's protection finalizers are a function of the hub: the clusters of every policy that
//! holds a distribution and needs `S`. A policy holds when it carries our finalizer, or when it is
//! valid and not being deleted (so a new policy's clusters are planned before its finalizer lands, and
//! a PlacementRule is written once, not once per arriving policy); a policy being finalized no longer
//! holds. Each change of an input queues the secrets it can affect, never the policies: one worker run
//! per secret converges it and records an [`Outcome`], and only the policies whose view of that outcome
//! changed are requeued to report it in their `SecretsDistributed` condition.
//!
//! The caches lag this process' own writes; the worker overlays what the server answered to its
//! writes until the watch delivers the same resourceVersion, so a run right after a write does not
//! write again.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use kube::Client;
use kube::runtime::reflector::ObjectRef;
use secret_propagator::{Applier, LiveObjects, PlanInputs, Scope, SecretState, Secrets, plan};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::queue::{Backoff, KeyQueue};
use crate::reconcile::describe;

/// What the last run for a secret concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    /// Distributed to the holders' clusters (or nothing to distribute: no holder).
    Distributed,
    /// Distribution is disabled in the config; nothing was created or grown.
    Disabled,
    /// The Secret cannot be distributed (missing, being deleted, name too long): why.
    Unavailable(String),
    /// A write failed: what failed (retried with backoff).
    Failed(String),
}

/// The last completed run for a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The run's start, on the [`State`] clock.
    pub epoch: u64,
    /// The policies that held a distribution of the secret in that run.
    pub holders: Arc<BTreeSet<String>>,
    /// What it concluded.
    pub result: Result,
}

/// A write of this process the cache may not show yet, and when it was made.
struct Own<T> {
    value: T,
    at: Instant,
}

/// What this process wrote, until its caches show it (or [`OWN_WRITE_TTL`] passed).
#[derive(Default)]
struct OwnWrites {
    policies: BTreeMap<String, Own<Option<Arc<Policy>>>>,
    placement_rules: BTreeMap<String, Own<Option<Arc<PlacementRule>>>>,
    placement_bindings: BTreeMap<String, Own<Option<Arc<PlacementBinding>>>>,
    secrets: BTreeMap<String, Own<SecretState>>,
}

/// How long an own write overrides the cache at most. Normally the watch shows it within
/// milliseconds; if it never does (its event was consumed before the write was remembered, or a later
/// change hid it), the cache is trusted again after this, and the secret is converged once more.
const OWN_WRITE_TTL: Duration = Duration::from_secs(5);

/// The kinds whose own writes are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OCM Policy.
    Policy,
    /// OCM PlacementRule.
    PlacementRule,
    /// OCM PlacementBinding.
    PlacementBinding,
    /// Secret (metadata).
    Secret,
}

impl Kind {
    /// Every hub Secret an object of this kind named `name` may belong to (a Secret is its own). A
    /// name `vS` is the ramen format of Secret `vS` or the velero format of Secret `S`: both are
    /// returned, and converging either is harmless when it is not that one's.
    pub fn secrets_of(self, name: &str) -> Vec<String> {
        let kind = match self {
            Kind::Policy => "Policy",
            Kind::PlacementRule => "PlacementRule",
            Kind::PlacementBinding => "PlacementBinding",
            Kind::Secret => return vec![name.to_owned()],
        };
        drpolicy_api::names::ocm_names::owners(kind, name)
            .into_iter()
            .map(|(secret, _)| secret)
            .collect()
    }
}

/// The names the objects of `secret` are listed under in [`Hub::live_objects`]: its own (the ramen
/// format) and `v<secret>` (the velero format's objects are named like the ramen format's of `vS`).
fn object_bases(secret: &str) -> BTreeSet<String> {
    Format::ALL
        .iter()
        .map(|format| format.policy(secret))
        .collect()
}

/// The secrets other than `secret` whose objects share a name with what a run of `secret` wrote.
fn others_named(secret: &str, written: &secret_propagator::Written) -> BTreeSet<String> {
    let names = |kind: Kind, map: Vec<&String>| {
        map.into_iter()
            .flat_map(move |name| kind.secrets_of(name))
            .collect::<Vec<_>>()
    };
    let mut others: BTreeSet<String> = BTreeSet::new();
    others.extend(names(Kind::Policy, written.policies.keys().collect()));
    others.extend(names(
        Kind::PlacementRule,
        written.placement_rules.keys().collect(),
    ));
    others.extend(names(
        Kind::PlacementBinding,
        written.placement_bindings.keys().collect(),
    ));
    others.remove(secret);
    others
}

/// Distribution state shared by the workers, the policy reconciles and the watches.
#[derive(Default)]
pub struct State {
    /// Secrets to converge.
    pub queue: KeyQueue,
    clock: AtomicU64,
    outcomes: Mutex<BTreeMap<String, Outcome>>,
    waiters: Mutex<BTreeMap<String, BTreeSet<String>>>,
    releasing: Mutex<BTreeMap<String, (Option<String>, u64)>>,
    own: Mutex<OwnWrites>,
    failures: Backoff,
    conflicts: ConflictBackoff,
    policies_synced: AtomicBool,
    synced_at: std::sync::OnceLock<tokio::time::Instant>,
    synced: Notify,
}

/// Retry delays after conflicts (a cache behind a write): [`STALE_CACHE_RETRY`] doubling up to
/// [`CONFLICT_RETRY_CAP`], with jitter, so a conflict that persists does not retry five times a
/// second forever.
struct ConflictBackoff(Backoff);

impl Default for ConflictBackoff {
    fn default() -> Self {
        ConflictBackoff(Backoff::new(STALE_CACHE_RETRY, CONFLICT_RETRY_CAP))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section is a single map update: a panic cannot leave it half written.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn rv<K: kube::Resource>(object: &K) -> Option<&str> {
    object.meta().resource_version.as_deref()
}

impl State {
    /// A state around `queue`.
    pub fn new(queue: KeyQueue) -> Self {
        State {
            queue,
            ..Default::default()
        }
    }

    /// The DRPolicy cache holds its first complete list: holders can be decided. Until then the
    /// workers wait, so that a restart never takes an empty cache for "no holder" and removes
    /// distributions.
    pub fn set_policies_synced(&self) {
        let _ = self.synced_at.set(tokio::time::Instant::now());
        self.policies_synced.store(true, Ordering::SeqCst);
        self.synced.notify_waiters();
    }

    /// When the DRPolicy cache first held its complete list (the workers start then), if it has.
    pub fn policies_synced_at(&self) -> Option<tokio::time::Instant> {
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
    pub fn outcome(&self, secret: &str) -> Option<Outcome> {
        lock(&self.outcomes).get(secret).cloned()
    }

    /// Names of the secrets with an outcome.
    pub fn secrets_with_outcomes(&self) -> Vec<String> {
        lock(&self.outcomes).keys().cloned().collect()
    }

    /// Asks for `secrets` to be converged and for `policy` to be requeued when each run ends.
    pub fn wait_for(&self, policy: &str, secrets: &BTreeSet<String>) {
        let mut waiters = lock(&self.waiters);
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
    pub fn release(&self, policy: &DRPolicy) -> u64 {
        let name = policy.metadata.name.clone().unwrap_or_default();
        let uid = policy.metadata.uid.clone();
        let mut releasing = lock(&self.releasing);
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
    pub fn unrelease(&self, policy: &str) -> bool {
        lock(&self.releasing).remove(policy).is_some()
    }

    /// Forgets a deleted policy.
    pub fn forget(&self, policy: &str) {
        lock(&self.releasing).remove(policy);
    }

    /// Whether the policy object (name and uid) is being finalized.
    pub fn is_releasing(&self, policy: &DRPolicy) -> bool {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        lock(&self.releasing)
            .get(name)
            .is_some_and(|(uid, _)| *uid == policy.metadata.uid)
    }

    /// A watch delivered `name` of `kind` at `resource_version` (`None`: deleted): our write of it,
    /// if that is what it was, is now visible in the cache. Returns whether the event was exactly our
    /// own write, which the run that made it has already taken into account (no new run is needed).
    pub fn observed(&self, kind: Kind, name: &str, resource_version: Option<&str>) -> bool {
        fn seen<K: kube::Resource>(
            map: &mut BTreeMap<String, Own<Option<Arc<K>>>>,
            name: &str,
            version: Option<&str>,
        ) -> bool {
            let done = match (map.get(name).map(|o| &o.value), version) {
                (Some(Some(written)), Some(version)) => rv(written.as_ref()) == Some(version),
                (Some(None), None) => true,
                _ => false,
            };
            if done {
                map.remove(name);
            }
            done
        }
        let mut own = lock(&self.own);
        match kind {
            Kind::Policy => seen(&mut own.policies, name, resource_version),
            Kind::PlacementRule => seen(&mut own.placement_rules, name, resource_version),
            Kind::PlacementBinding => seen(&mut own.placement_bindings, name, resource_version),
            Kind::Secret => match resource_version {
                Some(version) => {
                    let ours = own
                        .secrets
                        .get(name)
                        .is_some_and(|own| own.value.resource_version == version);
                    if ours {
                        own.secrets.remove(name);
                    }
                    ours
                }
                // Gone: whatever we wrote is moot, and the outcome changes (deleting → missing).
                None => {
                    own.secrets.remove(name);
                    false
                }
            },
        }
    }

    /// A watch of `kind` relisted: its cache is authoritative again, whatever we wrote.
    pub fn relisted(&self, kind: Kind) {
        let mut own = lock(&self.own);
        match kind {
            Kind::Policy => own.policies.clear(),
            Kind::PlacementRule => own.placement_rules.clear(),
            Kind::PlacementBinding => own.placement_bindings.clear(),
            Kind::Secret => own.secrets.clear(),
        }
    }

    /// Remembers the writes of a run that the caches do not show yet; returns whether it remembered
    /// any.
    fn remember(&self, hub: &Hub, written: &secret_propagator::Written) -> bool {
        fn keep<K: kube::Resource>(
            own: &mut BTreeMap<String, Own<Option<Arc<K>>>>,
            written: &BTreeMap<String, Option<Arc<K>>>,
            cached: impl Fn(&str) -> Option<Arc<K>>,
            now: Instant,
        ) {
            for (name, object) in written {
                let shown = match (object, cached(name)) {
                    (Some(object), Some(live)) => rv(object.as_ref()) == rv(live.as_ref()),
                    (None, None) => true,
                    _ => false,
                };
                if shown {
                    own.remove(name);
                } else {
                    let value = object.clone();
                    own.insert(name.clone(), Own { value, at: now });
                }
            }
        }
        if written.is_empty() {
            return false;
        }
        let now = Instant::now();
        fn within<K: kube::Resource<DynamicType = ()>>(n: &str, ns: &str) -> ObjectRef<K> {
            ObjectRef::new(n).within(ns)
        }
        let ns = hub.namespace.as_str();
        // Decided under the lock against the cache: a watch event applied before this point will not
        // come again, so a write the cache already shows must not be remembered.
        let mut own = lock(&self.own);
        keep(
            &mut own.policies,
            &written.policies,
            |n| hub.caches.ocm_policies.get(&within(n, ns)),
            now,
        );
        keep(
            &mut own.placement_rules,
            &written.placement_rules,
            |n| hub.caches.placement_rules.get(&within(n, ns)),
            now,
        );
        keep(
            &mut own.placement_bindings,
            &written.placement_bindings,
            |n| hub.caches.placement_bindings.get(&within(n, ns)),
            now,
        );
        for (name, state) in &written.secrets {
            // Only existing Secrets are patched: one the cache does not hold any more is gone (its
            // deletion finished when we released it), not a write to wait for.
            match hub.caches.secrets.get(&within(name, ns)) {
                Some(cached)
                    if cached.metadata.resource_version.as_deref()
                        != Some(&state.resource_version) =>
                {
                    let value = state.clone();
                    own.secrets.insert(name.clone(), Own { value, at: now });
                }
                _ => {
                    own.secrets.remove(name);
                }
            }
        }
        !own.policies.is_empty()
            || !own.placement_rules.is_empty()
            || !own.placement_bindings.is_empty()
            || !own.secrets.is_empty()
    }

    /// Drops the own writes of `secret` older than [`OWN_WRITE_TTL`]; returns whether there were any.
    fn expire(&self, secret: &str) -> bool {
        fn drop_old<T>(map: &mut BTreeMap<String, Own<T>>, name: &str) -> bool {
            let old = map
                .get(name)
                .is_some_and(|own| own.at.elapsed() >= OWN_WRITE_TTL);
            if old {
                map.remove(name);
            }
            old
        }
        let mut own = lock(&self.own);
        // Every map is visited (no short-circuit): all stale entries of the secret go at once.
        let mut dropped = drop_old(&mut own.secrets, secret);
        for format in Format::ALL {
            let names = format.names(secret);
            dropped |= [
                drop_old(&mut own.policies, &names.policy),
                drop_old(&mut own.placement_rules, &names.placement_rule),
                drop_old(&mut own.placement_bindings, &names.placement_binding),
            ]
            .contains(&true);
        }
        dropped
    }

    /// The cached state with our own not-yet-visible writes on top (those younger than
    /// [`OWN_WRITE_TTL`]).
    fn overlay(&self, live: &mut LiveObjects, secrets: &mut Secrets) {
        fn fresh<K>(
            map: &BTreeMap<String, Own<Option<Arc<K>>>>,
        ) -> BTreeMap<String, Option<Arc<K>>> {
            map.iter()
                .filter(|(_, o)| o.at.elapsed() < OWN_WRITE_TTL)
                .map(|(n, o)| (n.clone(), o.value.clone()))
                .collect()
        }
        let own = lock(&self.own);
        let written = secret_propagator::Written {
            policies: fresh(&own.policies),
            placement_rules: fresh(&own.placement_rules),
            placement_bindings: fresh(&own.placement_bindings),
            secrets: BTreeMap::new(),
        };
        live.overlay(&written);
        for (name, own) in &own.secrets {
            if own.at.elapsed() < OWN_WRITE_TTL {
                secrets.insert(name.clone(), own.value.clone());
            }
        }
    }
}

/// What a distribution worker uses.
pub struct Worker {
    /// API client.
    pub client: Client,
    /// The hub view.
    pub hub: Arc<Hub>,
    /// Metrics.
    pub metrics: Metrics,
    /// Where policies are requeued.
    pub requeue: UnboundedSender<ObjectRef<DRPolicy>>,
}

/// First retry delay after a conflict caused by a cache behind a write.
const STALE_CACHE_RETRY: Duration = Duration::from_millis(200);
/// Longest retry delay after conflicts.
const CONFLICT_RETRY_CAP: Duration = Duration::from_secs(30);

impl Worker {
    /// Processes the queue until `shutdown` resolves; the run in progress completes.
    pub async fn run(self: Arc<Self>, shutdown: crate::Shutdown) {
        let queue = self.hub.distribution.queue.clone();
        tokio::select! {
            _ = shutdown.clone() => return,
            _ = self.hub.distribution.wait_policies_synced() => {}
        }
        loop {
            let key = tokio::select! {
                _ = shutdown.clone() => return,
                key = queue.next() => key,
            };
            let span = tracing::info_span!("distribute", secret = %key);
            let timer = self
                .metrics
                .distribution_duration
                .with_label_values::<&str>(&[])
                .start_timer();
            let label = tracing::Instrument::instrument(self.converge(&key), span).await;
            timer.observe_duration();
            self.metrics.distributions.with_label_values(&[label]).inc();
            queue.done(&key);
        }
    }

    /// Converges one secret; returns the result label for the metrics.
    async fn converge(&self, secret: &str) -> &'static str {
        let state = &self.hub.distribution;
        let epoch = state.tick();
        let view = self.hub.config();
        // A broken config does not stop distribution: the last config that parsed still applies (the
        // policies report the broken one in `Validated`).
        let Some(config) = view.usable() else {
            tracing::debug!("no config has been read yet");
            return "skipped";
        };
        let drclusters = self.hub.drclusters();
        let drclusters = &*drclusters;
        let holders = self.hub.distribution_holders(secret, &config, drclusters);
        let mut secrets = self.hub.secrets();
        let scope = BTreeSet::from([secret.to_owned()]);
        let mut live = self.hub.live_objects(Some(&object_bases(secret)));
        state.overlay(&mut live, &mut secrets);
        let inputs = PlanInputs {
            namespace: &self.hub.namespace,
            config: &config,
            drclusters: &drclusters,
            secrets: &secrets,
        };
        let plan = plan(
            &inputs,
            holders.iter().map(AsRef::as_ref),
            Scope::Secrets(scope),
        );
        let report = Applier::new(self.client.clone())
            .apply(&plan, &secrets, &live)
            .await;
        // The watch events of our own writes are swallowed; a name `vS` may also be another secret's
        // (the ramen format of Secret `vS` or the velero format of `S`), whose run must look again.
        for other in others_named(secret, &report.written) {
            state.queue.add(&other);
        }
        if state.remember(&self.hub, &report.written) {
            // Should the watch never show a write (see OWN_WRITE_TTL), converge again without it.
            let hub = self.hub.clone();
            let secret = secret.to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(OWN_WRITE_TTL).await;
                if hub.distribution.expire(&secret) {
                    hub.distribution.queue.add(&secret);
                }
            });
        }

        let (result, label) = if report.is_ok() {
            state.failures.reset(secret);
            state.conflicts.0.reset(secret);
            let unavailable = plan
                .warnings
                .iter()
                .find(|w| w.secret() == Some(secret))
                .map(|w| w.summary());
            let result = match unavailable {
                Some(why) => Result::Unavailable(why),
                None if !plan.enabled => Result::Disabled,
                None => Result::Distributed,
            };
            (result, "success")
        } else {
            let conflicts_only = report
                .errors
                .iter()
                .all(|e| matches!(&e.source, kube::Error::Api(s) if s.code == 409));
            if conflicts_only {
                // The cache was behind a write: the next run, once it caught up, succeeds. The
                // outcome stays what it was.
                let delay = state.conflicts.0.next(secret);
                tracing::debug!(retry_in = ?delay, "cache behind a write; retrying");
                state.queue.add_after(secret, delay);
                return "conflict";
            }
            let message = report
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.what(), describe(&e.source)))
                .collect::<Vec<_>>()
                .join("; ");
            let delay = state.failures.next(secret);
            tracing::warn!(error = %message, retry_in = ?delay, "secret distribution failed");
            state.queue.add_after(secret, delay);
            (Result::Failed(message), "error")
        };

        let outcome = Outcome {
            epoch,
            holders: Arc::new(
                holders
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect(),
            ),
            result,
        };
        let previous = lock(&state.outcomes).insert(secret.to_owned(), outcome.clone());
        let mut requeue: BTreeSet<String> = match previous {
            Some(previous) if previous.result == outcome.result => previous
                .holders
                .symmetric_difference(&outcome.holders)
                .cloned()
                .collect(),
            Some(previous) => previous.holders.union(&outcome.holders).cloned().collect(),
            None => (*outcome.holders).clone(),
        };
        if let Some(waiting) = lock(&state.waiters).remove(secret) {
            requeue.extend(waiting);
        }
        for policy in requeue {
            let _ = self.requeue.send(ObjectRef::new(&policy));
        }
        label
    }
}
