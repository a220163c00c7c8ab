//! The watches of OCM's cluster kinds, which a hub may not serve: `ManagedCluster` (→ the policies listing
//! a cluster, when it joins or leaves or its `id.k8s.io` claim changes) and our `ManagedClusterView`s
//! (label-selected; → the policies listing the view's cluster, when its scope or answer changes).
//!
//! Each records whether its API is served ([`ApiPresence`]); while it is not, the watch retries quietly
//! every few minutes (no steady API traffic from a hub without OCM's view add-on), and when it appears
//! every policy is requeued. The fingerprints that keep unchanged objects from requeueing anything are
//! rebuilt from the cache after every (re)list, so a change during a watch gap is never mistaken for
//! "unchanged".

use drpolicy_api::names::CREATED_BY_RAMEN_LABEL;
use drpolicy_api::{ManagedCluster, ManagedClusterView};
use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::context::SharedCell;
use crate::kube_util::is_not_served;
use crate::metrics::Metrics;
use crate::presence::ApiPresence;
use crate::views::Views;
use crate::watches::requeue::Requeue;
use crate::watches::watch::{Change, spawn_watch};

/// The two watches' stores, presences and tasks.
pub(crate) struct ClusterWatches {
    /// ManagedCluster store.
    pub(crate) managed_clusters: Store<ManagedCluster>,
    /// Whether ManagedClusters are served.
    pub(crate) managed_cluster_api: Arc<ApiPresence>,
    /// Store of our views.
    pub(crate) views: Store<ManagedClusterView>,
    /// Whether ManagedClusterViews are served.
    pub(crate) view_api: Arc<ApiPresence>,
    /// The view client over `views`, kept in step with the watch.
    pub(crate) view_client: Arc<Views>,
}

/// Retries of a watch whose API may be absent: 1 s, doubling, at most every 5 minutes; reset by any
/// event.
#[derive(Debug, Clone)]
pub struct QuietBackoff {
    next: Duration,
}

/// The longest wait of [`QuietBackoff`].
pub const QUIET_BACKOFF_MAX: Duration = Duration::from_secs(300);

impl Default for QuietBackoff {
    fn default() -> Self {
        QuietBackoff {
            next: Duration::from_secs(1),
        }
    }
}

impl Iterator for QuietBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let current = self.next;
        self.next = (current * 2).min(QUIET_BACKOFF_MAX);
        Some(current)
    }
}

impl Backoff for QuietBackoff {
    fn reset(&mut self) {
        *self = QuietBackoff::default();
    }
}

/// Marks `presence` from a watch's events (served once it lists, missing on a 404) and requeues every
/// policy when an API that was missing appears.
fn track_presence<K>(
    presence: Arc<ApiPresence>,
    all: UnboundedSender<()>,
) -> impl FnMut(&Result<Event<K>, watcher::Error>) + Send + 'static {
    move |event| match event {
        Ok(Event::InitDone) => {
            if presence.is_missing() {
                tracing::info!("an OCM API appeared; requeueing every policy");
                let _ = all.send(());
            }
            presence.served();
        }
        Err(error) if is_not_served(error) => presence.missing(),
        _ => {}
    }
}

/// Starts both watches; their tasks go to `tasks`.
pub(crate) fn start(
    client: &Client,
    base: &watcher::Config,
    shared: &SharedCell,
    requeue: &Requeue,
    metrics: &Metrics,
    tasks: &mut Vec<JoinHandle<()>>,
) -> ClusterWatches {
    let (managed_clusters, writer) = reflector::store();
    let managed_cluster_api = Arc::new(ApiPresence::default());
    let stream = watcher::watcher(Api::<ManagedCluster>::all(client.clone()), base.clone())
        .backoff(QuietBackoff::default())
        .inspect(track_presence(
            managed_cluster_api.clone(),
            requeue.all.clone(),
        ));
    tasks.push(spawn_watch(
        stream,
        writer,
        "managedclusters",
        metrics.clone(),
        managed_cluster_mapper(shared.clone(), requeue.clone(), managed_clusters.clone()),
    ));

    let (views, writer) = reflector::store();
    let view_api = Arc::new(ApiPresence::default());
    let view_client = Arc::new(Views::new(client.clone(), views.clone(), view_api.clone()));
    let stream = watcher::watcher(
        Api::<ManagedClusterView>::all(client.clone()),
        base.clone()
            .labels(&format!("{CREATED_BY_RAMEN_LABEL}=true")),
    )
    // Ramen's DRPlacementControl controller labels its views too (VRGs, NetworkFences): keep only
    // their identity, not their answers.
    .map_ok(|event| event.modify(strip_foreign_answer))
    .backoff(QuietBackoff::default())
    .inspect(track_presence(view_api.clone(), requeue.all.clone()));
    tasks.push(spawn_watch(
        stream,
        writer,
        "managedclusterviews",
        metrics.clone(),
        view_mapper(shared.clone(), requeue.clone(), view_client.clone()),
    ));

    ClusterWatches {
        managed_clusters,
        managed_cluster_api,
        views,
        view_api,
        view_client,
    }
}

fn strip_foreign_answer(view: &mut ManagedClusterView) {
    if view.drpolicy_cluster().is_none() {
        view.status = None;
    }
}

type Identity = (bool, Option<String>);

fn identity(mc: &ManagedCluster) -> Identity {
    (mc.is_joined(), mc.cluster_id().map(str::to_owned))
}

fn managed_cluster_mapper(
    shared: SharedCell,
    requeue: Requeue,
    store: Store<ManagedCluster>,
) -> impl FnMut(Change<'_, ManagedCluster>) + Send + 'static {
    let mut identities: HashMap<String, Identity> = HashMap::new();
    move |change| {
        let (name, now) = match change {
            Change::Applied(mc) => (mc.name_any(), Some(identity(mc))),
            Change::Deleted(mc) => (mc.name_any(), None),
            Change::Relisted | Change::Synced => {
                // The cache is authoritative again (a relist reported its changes before this).
                identities = store
                    .state()
                    .iter()
                    .map(|mc| (mc.name_any(), identity(mc)))
                    .collect();
                return;
            }
        };
        let previous = match now {
            Some(now) => identities.insert(name.clone(), now),
            None => identities.remove(&name),
        };
        if previous != identities.get(&name).cloned()
            && let Some(shared) = shared.get()
        {
            requeue.cluster(&shared.hub, &name);
        }
    }
}

fn answer_fingerprint(view: &ManagedClusterView) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(&view.spec.scope)
        .unwrap_or_default()
        .hash(&mut hasher);
    serde_json::to_string(&view.status)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

fn view_key(view: &ManagedClusterView) -> (String, String) {
    (view.namespace().unwrap_or_default(), view.name_any())
}

fn view_mapper(
    shared: SharedCell,
    requeue: Requeue,
    views: Arc<Views>,
) -> impl FnMut(Change<'_, ManagedClusterView>) + Send + 'static {
    let mut answers: HashMap<(String, String), u64> = HashMap::new();
    move |change| {
        let (view, deleted) = match change {
            Change::Applied(view) => (view, false),
            Change::Deleted(view) => (view, true),
            Change::Relisted | Change::Synced => {
                views.relisted();
                answers = views
                    .cached()
                    .iter()
                    .filter(|v| v.drpolicy_cluster().is_some())
                    .map(|v| (view_key(v), answer_fingerprint(v)))
                    .collect();
                return;
            }
        };
        views.observed(view, deleted);
        if view.drpolicy_cluster().is_none() {
            return;
        }
        let key = view_key(view);
        let changed = if deleted {
            answers.remove(&key).is_some()
        } else {
            let fingerprint = answer_fingerprint(view);
            answers.insert(key.clone(), fingerprint) != Some(fingerprint)
        };
        if changed && let Some(shared) = shared.get() {
            requeue.cluster(&shared.hub, &key.0);
        }
    }
}
