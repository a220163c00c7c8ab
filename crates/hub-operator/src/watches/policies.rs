//! The DRPolicy watch: feeds the primary store and the policy index, queues the secrets whose holders
//! a policy change can move, requeues the policies whose conflicts it can change, and yields to the
//! controller the policies whose reconcile-relevant fields changed (not our own status writes, not
//! objects a relist found unchanged).

use drpolicy_api::DRPolicy;
use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector;
use kube::runtime::utils::PredicateConfig;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use crate::context::{Shared, SharedCell};
use crate::http::Readiness;
use crate::hub::holds_distribution;
use crate::metrics::Metrics;
use crate::watches::requeue::Requeue;
use crate::watches::watch::{Change, RelistDiff};

/// What the stream remembers per policy between events.
#[derive(Default)]
struct Seen {
    /// Fingerprints of the fields that can change which secrets a policy holds.
    distribution: HashMap<String, u64>,
    /// Whether the first complete list is in.
    synced: bool,
}

/// The DRPolicy stream for the controller (see the module doc).
pub(crate) fn policy_stream(
    client: &Client,
    base: &watcher::Config,
    writer: reflector::store::Writer<DRPolicy>,
    shared: SharedCell,
    requeue: Requeue,
    metrics: Metrics,
    readiness: Readiness,
) -> impl Stream<Item = Result<DRPolicy, watcher::Error>> + Send + 'static {
    let mut diff = RelistDiff::new(writer.as_reader()).reporting_first_list();
    let mut seen = Seen::default();
    // The events that are exactly our own writes, among the policies of the last watch event. They
    // pass the predicate filter (so it remembers their fields) and are dropped after it. Items go
    // through the chain one at a time, all of one watch event's before the next event is read.
    let own = Arc::new(Mutex::new(HashSet::<(String, String)>::new()));
    let own_filter = own.clone();
    watcher::watcher(Api::<DRPolicy>::all(client.clone()), base.clone())
        .default_backoff()
        .modify(|p: &mut DRPolicy| p.metadata.managed_fields = None)
        .reflect(writer)
        .flat_map(move |event| {
            let mut items: Vec<Result<DRPolicy, watcher::Error>> = Vec::new();
            own.lock().clear();
            match event {
                Err(error) => {
                    metrics
                        .watch_errors
                        .with_label_values(&["drpolicies"])
                        .inc();
                    tracing::warn!(resource = "drpolicies", error = %error, "watch error");
                    items.push(Err(error));
                }
                Ok(event) => {
                    if let Some(shared) = shared.get() {
                        diff.changes(&event, |change| match change {
                            Change::Applied(policy) => {
                                if applied(shared, &requeue, &mut seen, policy) {
                                    own.lock().insert(key(policy));
                                }
                                items.push(Ok(policy.clone()));
                            }
                            Change::Deleted(policy) => deleted(shared, &requeue, &mut seen, policy),
                            Change::Synced => {
                                seen.synced = true;
                                shared.distribution.set_policies_synced();
                                shared.distribution.queue_all(&shared.hub);
                                // Secondary caches synced before this stream started: everything
                                // is ready now. (Waiting on the store from another task is not an
                                // option: kube's readiness future wakes only its latest waiter,
                                // which is the controller.)
                                if !readiness.is_ready() {
                                    tracing::info!("caches synced; reconciling");
                                    readiness.set(true);
                                }
                            }
                            Change::Relisted => {}
                        });
                    }
                }
            }
            futures::stream::iter(items)
        })
        // Only a change of the reconcile-relevant fields reconciles (not our own status writes).
        .predicate_filter(reconcile_relevant, PredicateConfig::default())
        // Our own label-and-finalizer write comes back as an event; the reconcile that made it already
        // went on with the patched object.
        .filter(move |item| {
            let ours = match item {
                Ok(policy) => own_filter.lock().remove(&key(policy)),
                Err(_) => false,
            };
            futures::future::ready(!ours)
        })
}

/// An object's name and resourceVersion.
fn key(policy: &DRPolicy) -> (String, String) {
    (
        policy.metadata.name.clone().unwrap_or_default(),
        policy.metadata.resource_version.clone().unwrap_or_default(),
    )
}

/// A policy was created or changed (or listed). Returns whether the event is exactly one of our own
/// writes.
fn applied(shared: &Shared, requeue: &Requeue, seen: &mut Seen, policy: &DRPolicy) -> bool {
    let hub = &shared.hub;
    let name = policy.name_any();
    let (previous, new, was_metro) = hub.with_index(|i| {
        (
            i.clusters_of(&name)
                .map(|c| c.iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default(),
            i.clusters_of(&name).is_none(),
            i.is_metro(&name),
        )
    });
    hub.with_index_mut(|i| i.apply(policy));
    let own = shared.pending.policy_observed(policy);
    let fingerprint = distribution_relevant(policy);
    let moved = seen.distribution.insert(name, fingerprint) != Some(fingerprint);
    if !seen.synced {
        // The first list: every policy is reconciled and every secret queued once it is in.
        return own;
    }
    for dropped in previous.iter().filter(|c| !policy.contains_cluster(c)) {
        let _ = requeue.released_clusters.send(dropped.clone());
    }
    let metro_changed = was_metro != hub.with_index(|i| i.is_metro(&policy.name_any()));
    if moved || metro_changed {
        // Holders are re-decided (a conflicting policy does not start holding).
        shared.distribution.queue_for_policy(hub, policy, &previous);
    }
    if new || metro_changed {
        // Conflicts are re-decided: a new policy, or one whose sync peer classes (its metro groups)
        // appeared or went.
        requeue.each(sharing(hub, policy).iter().map(String::as_str));
    }
    own
}

/// A policy is gone (deleted, or no longer listed by a relist).
fn deleted(shared: &Shared, requeue: &Requeue, seen: &mut Seen, policy: &DRPolicy) {
    let hub = &shared.hub;
    let name = policy.name_any();
    let sharing = sharing(hub, policy);
    hub.with_index_mut(|i| i.delete(&name));
    for cluster in &policy.spec.dr_clusters {
        let _ = requeue.released_clusters.send(cluster.clone());
    }
    shared.pending.forget_policy(&name);
    shared.distribution.forget(&name);
    seen.distribution.remove(&name);
    shared.distribution.queue_for_policy(hub, policy, &[]);
    requeue.each(sharing.iter().map(String::as_str));
}

/// The fields of a policy that can change which secrets it holds: identity, spec, deletion, and our
/// finalizer once deleting (a valid policy holds with or without it).
fn distribution_relevant(policy: &DRPolicy) -> u64 {
    let mut hasher = DefaultHasher::new();
    policy.metadata.uid.hash(&mut hasher);
    policy.metadata.generation.hash(&mut hasher);
    let deleting = policy.metadata.deletion_timestamp.is_some();
    deleting.hash(&mut hasher);
    (deleting && holds_distribution(policy)).hash(&mut hasher);
    hasher.finish()
}

/// The fields whose change needs a reconcile: identity, spec (generation), deletion, finalizers and the
/// backup label (the predicate of the stream's filter).
fn reconcile_relevant(policy: &DRPolicy) -> Option<u64> {
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
    Some(hasher.finish())
}

/// The other policies sharing a cluster with `policy` (conflicts are re-decided).
fn sharing(hub: &crate::hub::HubView, policy: &DRPolicy) -> BTreeSet<String> {
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
