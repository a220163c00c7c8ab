//! ManagedClusterViews on the hub: gets or creates the views Ramen HEAD uses (names, labels, annotation and
//! scope from [`drpolicy_api::view`]), keeps their scope and annotations as HEAD does, and deletes the
//! class views a cluster no longer lists. Reads come from the view cache (views labelled
//! `created-by-ramen`), so a converged hub costs no request.
//!
//! Differences from Ramen HEAD, on purpose:
//! - A view that exists without our `created-by-ramen` label (created by an older Ramen) is labelled when
//!   first used (BH13), so that the label-selected watch sees it; HEAD never relabels.
//! - A view this process created or updated is remembered until the watch delivers that very version
//!   (or a deletion), so a reconcile racing the watch neither creates it twice, nor reads the server, nor
//!   acts on the older cached copy.

use drpolicy_api::names::{CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE};
use drpolicy_api::view::{ManagedClusterView, ViewTarget};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use crate::presence::ApiPresence;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a just-created view's first answer is awaited before a policy reports that it waits for it.
/// OCM's agent answers within a second or two; waiting saves a status write per policy (the first write
/// carries the peer classes), and a hub whose agent is slow or absent still gets its report.
pub const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// Whether `cached` is an older version of the object than `mine`. resourceVersions are opaque in
/// principle; every API server we know numbers them (etcd revisions), so they are compared as numbers
/// when both are, and an unnumbered cache is taken as current (the behaviour without a memo).
fn older(cached: &ManagedClusterView, mine: &ManagedClusterView) -> bool {
    let version = |v: &ManagedClusterView| {
        v.metadata
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse::<u64>().ok())
    };
    matches!((version(cached), version(mine)), (Some(c), Some(m)) if c < m)
}

/// The view client: the cache of our views plus the views created but not yet seen in it.
pub struct Views {
    client: Client,
    store: Store<ManagedClusterView>,
    /// Whether the ManagedClusterView API is served.
    pub presence: Arc<ApiPresence>,
    created: Mutex<HashMap<ObjectRef<ManagedClusterView>, Arc<ManagedClusterView>>>,
    created_at: Mutex<HashMap<ObjectRef<ManagedClusterView>, Instant>>,
    /// One lock per view being created: reconciles of policies sharing a cluster wait for each
    /// other's creation of the same view, never for other views.
    creating: Mutex<HashMap<ObjectRef<ManagedClusterView>, Arc<tokio::sync::Mutex<()>>>>,
}

impl Views {
    /// A client over `store` (the label-selected view watch).
    pub fn new(
        client: Client,
        store: Store<ManagedClusterView>,
        presence: Arc<ApiPresence>,
    ) -> Self {
        Views {
            client,
            store,
            presence,
            created: Mutex::new(HashMap::new()),
            created_at: Mutex::new(HashMap::new()),
            creating: Mutex::new(HashMap::new()),
        }
    }

    fn api(&self, cluster: &str) -> Api<ManagedClusterView> {
        Api::namespaced(self.client.clone(), cluster)
    }

    /// The view as last known: the cache once it shows our own last write (or something newer), our
    /// write until then.
    fn known(&self, key: &ObjectRef<ManagedClusterView>) -> Option<Arc<ManagedClusterView>> {
        let cached = self.store.get(key);
        let mut own = self.created.lock();
        let Some(mine) = own.get(key) else {
            return cached;
        };
        match &cached {
            Some(cached) if !older(cached, mine) => {
                own.remove(key);
                Some(cached.clone())
            }
            _ => Some(mine.clone()),
        }
    }

    /// The watch delivered the deletion of `view`: nothing of ours about it stays.
    pub fn observed(&self, view: &ManagedClusterView, deleted: bool) {
        if deleted {
            self.created.lock().remove(&ObjectRef::from_obj(view));
        }
    }

    /// The view watch relisted: its cache is authoritative again.
    pub fn relisted(&self) {
        self.created.lock().clear();
    }

    /// Every cached view.
    pub fn cached(&self) -> Vec<Arc<ManagedClusterView>> {
        self.store.state()
    }

    /// How much longer the first answer of `view` is worth waiting for: set while this process created
    /// it less than [`ANSWER_GRACE`] ago (by this process' own clock).
    pub fn settling(&self, view: &ManagedClusterView) -> Option<Duration> {
        let key = ObjectRef::from_obj(view);
        let mut created_at = self.created_at.lock();
        created_at.retain(|_, at| at.elapsed() < ANSWER_GRACE);
        let at = created_at.get(&key)?;
        ANSWER_GRACE
            .checked_sub(at.elapsed())
            .filter(|left| !left.is_zero())
    }

    /// The view of `object` of kind `target` on `cluster`, created when missing and updated when its
    /// scope or annotations differ from Ramen's (§4.1). Returns the view as stored.
    pub async fn ensure(
        &self,
        target: ViewTarget,
        cluster: &str,
        object: &str,
    ) -> Result<Arc<ManagedClusterView>, kube::Error> {
        let desired = target.desired(cluster, object);
        let name = desired.name_any();
        let key = ObjectRef::new(&name).within(cluster);
        let existing = match self.known(&key) {
            Some(view) => view,
            None => self.create(&desired, cluster, &name, key).await?,
        };
        match existing.reconciled_with(&desired) {
            None => Ok(existing),
            Some(updated) => {
                let replaced = self
                    .api(cluster)
                    .replace(&name, &PostParams::default(), &updated)
                    .await?;
                tracing::debug!(cluster, view = %name, "updated ManagedClusterView scope or annotations");
                let replaced = Arc::new(replaced);
                self.created
                    .lock()
                    .insert(ObjectRef::new(&name).within(cluster), replaced.clone());
                Ok(replaced)
            }
        }
    }

    /// Creates a view missing from the cache, one creation per view at a time: reconciles of policies
    /// sharing a cluster would otherwise race to create the same view (and all but one get 409
    /// Conflict).
    async fn create(
        &self,
        desired: &ManagedClusterView,
        cluster: &str,
        name: &str,
        key: ObjectRef<ManagedClusterView>,
    ) -> Result<Arc<ManagedClusterView>, kube::Error> {
        let gate = self.creating.lock().entry(key.clone()).or_default().clone();
        let outcome = {
            let _one_at_a_time = gate.lock().await;
            self.create_unlocked(desired, cluster, name, key.clone())
                .await
        };
        let mut creating = self.creating.lock();
        // The last one through removes the lock (the map holds one reference, `gate` another).
        if creating
            .get(&key)
            .is_some_and(|g| Arc::strong_count(g) <= 2)
        {
            creating.remove(&key);
        }
        outcome
    }

    async fn create_unlocked(
        &self,
        desired: &ManagedClusterView,
        cluster: &str,
        name: &str,
        key: ObjectRef<ManagedClusterView>,
    ) -> Result<Arc<ManagedClusterView>, kube::Error> {
        if let Some(view) = self.known(&key) {
            return Ok(view);
        }
        match self
            .api(cluster)
            .create(&PostParams::default(), desired)
            .await
        {
            Ok(created) => {
                tracing::debug!(cluster, view = %name, "created ManagedClusterView");
                let created = Arc::new(created);
                self.created_at.lock().insert(key.clone(), Instant::now());
                self.created.lock().insert(key, created.clone());
                Ok(created)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // Made by someone else (Ramen's DRCluster controller, an older Ramen) and not in our
                // label-selected cache: label it so that it is from now on.
                self.adopt(desired, cluster, name).await
            }
            Err(error) => Err(error),
        }
    }

    /// Takes over an existing view missing from the cache: Ramen's labels added, scope and annotations
    /// set as [`Views::ensure`] would.
    async fn adopt(
        &self,
        desired: &ManagedClusterView,
        cluster: &str,
        name: &str,
    ) -> Result<Arc<ManagedClusterView>, kube::Error> {
        let current = self.api(cluster).get(name).await?;
        let mut updated = current.reconciled_with(desired).unwrap_or(current);
        let labels = updated.metadata.labels.get_or_insert_with(Default::default);
        for (key, value) in desired.metadata.labels.iter().flatten() {
            labels.entry(key.clone()).or_insert_with(|| value.clone());
        }
        labels.insert(
            CREATED_BY_RAMEN_LABEL.to_owned(),
            CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
        );
        let replaced = self
            .api(cluster)
            .replace(name, &PostParams::default(), &updated)
            .await?;
        tracing::info!(cluster, view = %name, "labelled an existing ManagedClusterView as ours");
        let replaced = Arc::new(replaced);
        self.created
            .lock()
            .insert(ObjectRef::new(name).within(cluster), replaced.clone());
        Ok(replaced)
    }

    /// Deletes the views of kind `target` on `cluster` whose object is not in `keep` (Ramen HEAD prunes
    /// only after reading every view of the kind, and only when the kind's list is non-empty; we also
    /// prune when it is empty — BH6). Returns how many were deleted.
    pub async fn prune(
        &self,
        target: ViewTarget,
        cluster: &str,
        keep: &BTreeSet<&str>,
    ) -> Result<usize, kube::Error> {
        let Some(label) = target.kind_label() else {
            return Ok(0);
        };
        let stale: Vec<String> = self
            .store
            .state()
            .iter()
            .filter(|v| v.metadata.namespace.as_deref() == Some(cluster))
            .filter(|v| v.labels().contains_key(label))
            .filter(|v| !keep.contains(v.spec.scope.name.as_str()))
            .map(|v| v.name_any())
            .collect();
        for name in &stale {
            match self
                .api(cluster)
                .delete(name, &DeleteParams::default())
                .await
            {
                Ok(_) => {
                    tracing::debug!(cluster, view = %name, "deleted a ManagedClusterView no longer listed")
                }
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
            self.created
                .lock()
                .remove(&ObjectRef::new(name).within(cluster));
        }
        Ok(stale.len())
    }

    /// Deletes the class views and CRD probes of `cluster` (no remaining policy names it, BH6). The
    /// DRClusterConfig and StorageClass views stay: Ramen's DRCluster controller shares them.
    pub async fn forget_cluster(&self, cluster: &str) -> Result<usize, kube::Error> {
        let ours: Vec<String> = self
            .store
            .state()
            .iter()
            .filter(|v| v.metadata.namespace.as_deref() == Some(cluster))
            .filter(|v| v.drpolicy_cluster().is_some())
            .filter(|v| {
                !matches!(
                    v.spec.scope.kind.as_str(),
                    "DRClusterConfig" | "StorageClass"
                )
            })
            .map(|v| v.name_any())
            .collect();
        for name in &ours {
            match self
                .api(cluster)
                .delete(name, &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
            self.created
                .lock()
                .remove(&ObjectRef::new(name).within(cluster));
        }
        Ok(ours.len())
    }

    /// Clusters that have views of ours.
    pub fn clusters(&self) -> BTreeSet<String> {
        self.store
            .state()
            .iter()
            .filter(|v| v.drpolicy_cluster().is_some())
            .filter_map(|v| v.metadata.namespace.clone())
            .collect()
    }
}

/// Deletes the views of clusters that no policy lists any more (BH6: Ramen HEAD keeps every view
/// forever): once the policy cache is ready (`ready`), those of clusters released while the operator was
/// not running, then as policies release clusters, until `shutdown`.
pub async fn release_unused(
    views: Arc<Views>,
    hub: Arc<crate::hub::HubView>,
    mut released: tokio::sync::mpsc::UnboundedReceiver<String>,
    ready: impl Fn() -> bool,
    shutdown: crate::Shutdown,
) {
    // The index must hold every policy before "no policy lists it" means anything.
    while !ready() {
        tokio::select! {
            _ = shutdown.clone() => return,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    for cluster in views.clusters() {
        forget_if_unused(&views, &hub, &cluster).await;
    }
    loop {
        let cluster = tokio::select! {
            _ = shutdown.clone() => return,
            next = released.recv() => match next {
                Some(cluster) => cluster,
                None => return,
            },
        };
        forget_if_unused(&views, &hub, &cluster).await;
    }
}

async fn forget_if_unused(views: &Views, hub: &crate::hub::HubView, cluster: &str) {
    let unused = hub.with_index(|i| i.policies_with_cluster(cluster).next().is_none());
    if !unused || views.presence.is_missing() {
        return;
    }
    match views.forget_cluster(cluster).await {
        Ok(0) => {}
        Ok(deleted) => {
            tracing::info!(
                cluster,
                deleted,
                "deleted the views of a cluster no policy lists"
            )
        }
        Err(error) => tracing::warn!(cluster, error = %error, "unable to delete unused views"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::watcher::Event;

    fn view(version: &str, answered: bool) -> ManagedClusterView {
        let mut view = ViewTarget::DRClusterConfig.desired("east", "east");
        view.metadata.resource_version = Some(version.to_owned());
        if answered {
            view.status = Some(Default::default());
        }
        view
    }

    fn views_over(cached: &[ManagedClusterView]) -> Views {
        let (store, mut writer) = kube::runtime::reflector::store();
        for v in cached {
            writer.apply_watcher_event(&Event::Apply(v.clone()));
        }
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = Client::try_from(config).unwrap();
        Views::new(client, store, Arc::new(ApiPresence::default()))
    }

    fn remember(views: &Views, mine: ManagedClusterView) -> ObjectRef<ManagedClusterView> {
        let key = ObjectRef::from_obj(&mine);
        views.created.lock().insert(key.clone(), Arc::new(mine));
        key
    }

    #[tokio::test]
    async fn our_write_wins_over_an_older_cache_and_yields_to_a_newer_one() {
        // The watch has not delivered our write (version 10) yet: the cache still shows version 9.
        let views = views_over(&[view("9", false)]);
        let key = remember(&views, view("10", false));
        assert_eq!(
            views
                .known(&key)
                .unwrap()
                .metadata
                .resource_version
                .as_deref(),
            Some("10")
        );
        // The watch delivered our write and the agent's answer before we even remembered the write:
        // the cache is newer, and the memo must not hide the answer.
        let views = views_over(&[view("11", true)]);
        let key = remember(&views, view("10", false));
        let known = views.known(&key).unwrap();
        assert!(known.status.is_some(), "the answered view is seen");
        assert!(views.created.lock().is_empty(), "the memo is dropped");
    }
}
