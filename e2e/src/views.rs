//! Plays OCM for a hub without managed clusters: registers ManagedClusters the way OCM's registration
//! leaves them (joined, with the `id.k8s.io` claim), and answers ManagedClusterViews the way OCM's view
//! agent on each managed cluster would, from a table of the objects each cluster holds.
//!
//! The hub operator reads every managed cluster's `DRClusterConfig` and storage, snapshot and replication
//! classes through views (Ramen HEAD §4). Tests, the e2e suite and the local demo have no managed
//! clusters, so [`ViewAgent`] stands in for OCM: it watches every view on the hub and writes the answer a
//! real agent would write — one `Processing` condition plus the object, or `GetResourceFailed` with a
//! message ending in `not found` — and answers again whenever the table ([`ManagedObjects`]) changes.
//! The builders at the end ([`storage_class`], [`async_peers`], ...) make tables that pair up as Ramen's
//! peer-class algorithm expects.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> anyhow::Result<()> {
//! use e2e::views::{ManagedClusterFixture, ManagedObjects, ViewAgent, async_peers};
//!
//! for (cluster, id) in [("east", "id-east"), ("west", "id-west")] {
//!     ManagedClusterFixture::joined(cluster, id).ensure(&client).await?;
//! }
//! // east and west replicate StorageClass `rbd` between storage ceph-east and ceph-west every 5m.
//! let objects = ManagedObjects::new(async_peers(
//!     &[("east", "ceph-east"), ("west", "ceph-west")], "rbd", "rep-1", "5m",
//! ));
//! let agent = ViewAgent::new(client.clone(), objects.clone()).spawn();
//! // ... the operator creates views, the agent answers them; tests change `objects` as they go ...
//! agent.stop().await?;
//! # Ok(()) }
//! ```

use anyhow::{Context, bail};
use drpolicy_api::names::class_labels::{
    GROUP_REPLICATION_ID, REPLICATION_ID, SCHEDULING_INTERVAL_PARAMETER, STORAGE_ID,
};
use drpolicy_api::view::{
    CONDITION_PROCESSING, GroupSnapshotApi, REASON_GET_RESOURCE_FAILED,
    REASON_GET_RESOURCE_PROCESSING, ViewTarget,
};
use drpolicy_api::{
    DRClusterConfig, DRClusterConfigSpec, DRClusterConfigStatus, ManagedClusterView,
    ManagedClusterViewStatus,
};
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use test_fixtures::{CrdSet, Patience};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use test_fixtures::crds::{MANAGED_CLUSTER_CRD, MANAGED_CLUSTER_VIEW_CRD};
pub use test_fixtures::managed_cluster::ManagedClusterFixture;

/// The CSI provisioner (and snapshot driver) the scenario builders give every class.
pub const DEFAULT_PROVISIONER: &str = "rbd.csi.ceph.com";
/// Message of the success condition, as OCM's view agent writes it.
pub const MESSAGE_WATCHING: &str = "Watching resources successfully";

/// Field manager of what this module writes (what OCM's registration and view agent would own).
const MANAGER: &str = "ramen-e2e-ocm-agent";
/// How long the agent waits before answering again after a failed write.
const RETRY_AFTER: Duration = Duration::from_millis(500);

fn write_params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// Creates the ManagedCluster and ManagedClusterView CRDs where the hub has none (a real OCM hub has
/// OCM's own, which these minimal ones must not replace) and waits until both are established.
pub async fn ensure_crds(client: &Client) -> anyhow::Result<()> {
    let set = CrdSet {
        managed_clusters: true,
        views: true,
        ..CrdSet::none()
    };
    test_fixtures::crds::install(client, set, Patience::CLUSTER).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// The table of what each managed cluster holds

/// Cluster name → the objects on that managed cluster (each with `apiVersion`, `kind` and
/// `metadata.name`; `metadata.namespace` for namespaced ones).
pub type ClusterTable = BTreeMap<String, Vec<Value>>;

/// The shared, mutable table a [`ViewAgent`] answers from. Clones share one table; every change that
/// changes something wakes the agents reading it.
#[derive(Clone, Debug)]
pub struct ManagedObjects {
    table: Arc<watch::Sender<ClusterTable>>,
}

impl Default for ManagedObjects {
    fn default() -> Self {
        Self::new(ClusterTable::new())
    }
}

impl ManagedObjects {
    /// A table holding `table`.
    pub fn new(table: ClusterTable) -> Self {
        Self {
            table: Arc::new(watch::Sender::new(table)),
        }
    }

    /// A copy of the whole table.
    pub fn snapshot(&self) -> ClusterTable {
        self.table.borrow().clone()
    }

    /// The objects of `cluster` (empty when the table does not list it).
    pub fn objects(&self, cluster: &str) -> Vec<Value> {
        self.table
            .borrow()
            .get(cluster)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes the table with `change`; agents are woken only when the table differs afterwards.
    pub fn update(&self, change: impl FnOnce(&mut ClusterTable)) {
        self.table.send_if_modified(|table| {
            let before = table.clone();
            change(table);
            *table != before
        });
    }

    /// Replaces the whole table.
    pub fn replace(&self, table: ClusterTable) {
        self.update(|t| *t = table);
    }

    /// Replaces everything `cluster` holds (adding the cluster when the table does not list it).
    pub fn set_cluster(&self, cluster: &str, objects: Vec<Value>) {
        self.update(|t| {
            t.insert(cluster.to_owned(), objects);
        });
    }

    /// Replaces everything `cluster` holds with `classes` and the DRClusterConfig listing them
    /// ([`with_drcluster_config`]).
    pub fn set_classes(&self, cluster: &str, classes: Vec<Value>) {
        self.set_cluster(cluster, with_drcluster_config(cluster, classes));
    }

    /// Takes `cluster` out of the table: its views are no longer answered.
    pub fn remove_cluster(&self, cluster: &str) {
        self.update(|t| {
            t.remove(cluster);
        });
    }

    /// Puts `object` on `cluster`, replacing the object of the same API group, kind, namespace and name.
    pub fn put(&self, cluster: &str, object: Value) {
        self.update(|t| {
            let objects = t.entry(cluster.to_owned()).or_default();
            let id = Identity::of(&object);
            match objects.iter_mut().find(|o| Identity::of(o) == id) {
                Some(slot) => *slot = object,
                None => objects.push(object),
            }
        });
    }

    /// Deletes the cluster-scoped object `api_group`/`kind` `name` from `cluster`; whether it was there.
    pub fn remove(&self, cluster: &str, api_group: &str, kind: &str, name: &str) -> bool {
        let mut removed = false;
        self.update(|t| {
            if let Some(objects) = t.get_mut(cluster) {
                let before = objects.len();
                objects.retain(|o| {
                    let id = Identity::of(o);
                    !(id.group == api_group
                        && id.kind == kind
                        && id.name == name
                        && id.namespace.is_empty())
                });
                removed = objects.len() != before;
            }
        });
        removed
    }

    fn subscribe(&self) -> watch::Receiver<ClusterTable> {
        self.table.subscribe()
    }
}

/// What identifies an object on a cluster, as a view scope names it.
#[derive(Debug, PartialEq, Eq)]
struct Identity<'a> {
    group: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> Identity<'a> {
    fn of(object: &'a Value) -> Self {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        Identity {
            group: api_version.rsplit_once('/').map_or("", |(g, _)| g),
            kind: object["kind"].as_str().unwrap_or_default(),
            namespace: object["metadata"]["namespace"].as_str().unwrap_or_default(),
            name: object["metadata"]["name"].as_str().unwrap_or_default(),
        }
    }
}

/// The resource (plural) of `kind`, as the API server would name it in a NotFound message. A scope may
/// name a `resource` instead of a `kind`; the table only knows kinds, so both are compared this way.
fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

// ---------------------------------------------------------------------------------------------------
// Answers

/// The status OCM's view agent would give `view` when its cluster holds `objects`: the scoped object
/// (same API group, kind — or resource — namespace and name; the version is not compared, as the real
/// agent's API server would convert) with `Processing=True/GetResourceProcessing`, else
/// `Processing=False/GetResourceFailed` with `failed to get resource with err: <resource>.<group>
/// "<name>" not found`. Like the real agent, a failure keeps the previous `result`, and
/// `lastTransitionTime` moves only when the condition's status changes (else `now`).
pub fn answer(
    view: &ManagedClusterView,
    objects: &[Value],
    now: Timestamp,
) -> ManagedClusterViewStatus {
    let scope = &view.spec.scope;
    let found = objects.iter().find(|o| {
        let id = Identity::of(o);
        id.group == scope.api_group
            && (id.kind == scope.kind
                || (scope.kind.is_empty() && plural(id.kind) == scope.resource))
            && id.namespace == scope.namespace
            && id.name == scope.name
    });
    let current = view.status.as_ref();
    let (status, reason, message, result) = match found {
        Some(object) => (
            "True",
            REASON_GET_RESOURCE_PROCESSING,
            MESSAGE_WATCHING.to_owned(),
            Some(object.clone()),
        ),
        None => {
            let resource = if scope.resource.is_empty() {
                plural(&scope.kind)
            } else {
                scope.resource.clone()
            };
            let qualified = if scope.api_group.is_empty() {
                resource
            } else {
                format!("{resource}.{}", scope.api_group)
            };
            (
                "False",
                REASON_GET_RESOURCE_FAILED,
                format!(
                    "failed to get resource with err: {qualified} \"{}\" not found",
                    scope.name
                ),
                current.and_then(|s| s.result.clone()),
            )
        }
    };
    let since = current
        .and_then(|s| s.conditions.as_deref())
        .and_then(|c| c.iter().find(|c| c.type_ == CONDITION_PROCESSING))
        .filter(|c| c.status == status)
        .map_or(Time(now), |c| c.last_transition_time.clone());
    ManagedClusterViewStatus {
        conditions: Some(vec![Condition {
            type_: CONDITION_PROCESSING.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message,
            last_transition_time: since,
            observed_generation: None,
        }]),
        result,
    }
}

/// Whether two view statuses give the same answer, timestamps aside.
pub fn same_answer(a: &ManagedClusterViewStatus, b: &ManagedClusterViewStatus) -> bool {
    fn untimed(s: &ManagedClusterViewStatus) -> Vec<(&str, &str, &str, &str, Option<i64>)> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| {
                (
                    c.type_.as_str(),
                    c.status.as_str(),
                    c.reason.as_str(),
                    c.message.as_str(),
                    c.observed_generation,
                )
            })
            .collect()
    }
    untimed(a) == untimed(b) && a.result == b.result
}

// ---------------------------------------------------------------------------------------------------
// The agent

/// Answers every ManagedClusterView on the hub from a [`ManagedObjects`] table, as OCM's view agents on
/// the managed clusters would. A view in namespace `<cluster>` is answered when the table lists
/// `<cluster>` (an empty list answers everything with NotFound) and the cluster is not silenced with
/// [`never_answer`](Self::never_answer); views of other namespaces keep no status, as on a hub where no
/// agent runs for them. The agent writes a view's status only when the answer differs from the one it
/// carries (timestamps aside), and answers again whenever the table changes.
pub struct ViewAgent {
    client: Client,
    objects: ManagedObjects,
    unanswered: BTreeSet<String>,
}

impl ViewAgent {
    /// An agent answering from `objects` through `client`.
    pub fn new(client: Client, objects: ManagedObjects) -> Self {
        Self {
            client,
            objects,
            unanswered: BTreeSet::new(),
        }
    }

    /// Never answers the views of `cluster`, as if its agent were down.
    pub fn never_answer(mut self, cluster: impl Into<String>) -> Self {
        self.unanswered.insert(cluster.into());
        self
    }

    /// Runs the agent as a tokio task until [`ViewAgentHandle::stop`] (or until the handle is dropped).
    pub fn spawn(self) -> ViewAgentHandle {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            // A dropped sender stops the agent too.
            let _ = stopped.await;
        }));
        ViewAgentHandle {
            stop: Some(stop),
            task,
        }
    }

    /// Answers views until `stop` completes. Watch errors are retried with backoff and failed writes
    /// after a short pause, so this returns an error only if the watch itself ends.
    pub async fn run(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let mut table = self.objects.subscribe();
        let views: Api<ManagedClusterView> = Api::all(self.client.clone());
        let events = watcher(views, watcher::Config::default()).default_backoff();
        tokio::pin!(stop, events);
        let mut state = AgentState::default();
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            let todo = tokio::select! {
                () = &mut stop => return Ok(()),
                event = events.next() => match event {
                    None => bail!("the ManagedClusterView watch ended"),
                    Some(Err(e)) => {
                        eprintln!("view-agent: watching ManagedClusterViews: {e}");
                        continue;
                    }
                    Some(Ok(event)) => match state.apply(event) {
                        Some(todo) => todo,
                        None => continue,
                    },
                },
                changed = table.changed() => {
                    changed.context("the table of managed objects is gone")?;
                    Todo::All
                }
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    retry_at = None;
                    Todo::All
                }
            };
            let snapshot = table.borrow_and_update().clone();
            let keys = match todo {
                Todo::One(key) => vec![key],
                Todo::All => state.views.keys().cloned().collect(),
            };
            for key in keys {
                if let Err(e) = self.answer_one(&mut state, &key, &snapshot).await {
                    eprintln!("view-agent: answering view {}/{}: {e:#}", key.0, key.1);
                    retry_at = Some(tokio::time::Instant::now() + RETRY_AFTER);
                }
            }
        }
    }

    async fn answer_one(
        &self,
        state: &mut AgentState,
        key: &ViewKey,
        table: &ClusterTable,
    ) -> anyhow::Result<()> {
        let (namespace, name) = key;
        let Some(view) = state.views.get(key) else {
            return Ok(());
        };
        if self.unanswered.contains(namespace) {
            return Ok(());
        }
        let Some(objects) = table.get(namespace) else {
            return Ok(());
        };
        let desired = answer(view, objects, Timestamp::now());
        let current = view.status.clone().unwrap_or_default();
        let version = view.resource_version().unwrap_or_default();
        if same_answer(&current, &desired) {
            state.written.remove(key);
            return Ok(());
        }
        // Our last write to this version may not have come back through the watch yet.
        if let Some((written_on, written)) = state.written.get(key)
            && *written_on == version
            && same_answer(written, &desired)
        {
            return Ok(());
        }
        // Replace the status as a whole: a merge patch would merge an old result into the new one.
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "add", "path": "/status", "value": desired}
        ]))?;
        Api::<ManagedClusterView>::namespaced(self.client.clone(), namespace)
            .patch_status(name, &write_params(), &Patch::Json::<()>(patch))
            .await?;
        state.written.insert(key.clone(), (version, desired));
        Ok(())
    }
}

impl std::fmt::Debug for ViewAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewAgent")
            .field("unanswered", &self.unanswered)
            .finish_non_exhaustive()
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `(namespace, name)` of a view.
type ViewKey = (String, String);

/// Which views to answer after an event.
enum Todo {
    One(ViewKey),
    All,
}

/// The agent's index of the hub's views and the answers it wrote, owned by its one task.
#[derive(Default)]
struct AgentState {
    views: BTreeMap<ViewKey, ManagedClusterView>,
    /// Views being relisted (between `Init` and `InitDone`).
    relisting: Option<BTreeMap<ViewKey, ManagedClusterView>>,
    /// The answer last written per view, with the resourceVersion it was written on.
    written: HashMap<ViewKey, (String, ManagedClusterViewStatus)>,
}

impl AgentState {
    fn key(view: &ManagedClusterView) -> ViewKey {
        (view.namespace().unwrap_or_default(), view.name_any())
    }

    fn apply(&mut self, event: watcher::Event<ManagedClusterView>) -> Option<Todo> {
        match event {
            watcher::Event::Apply(view) => {
                let key = Self::key(&view);
                self.views.insert(key.clone(), view);
                Some(Todo::One(key))
            }
            watcher::Event::Delete(view) => {
                let key = Self::key(&view);
                self.views.remove(&key);
                self.written.remove(&key);
                None
            }
            watcher::Event::Init => {
                self.relisting = Some(BTreeMap::new());
                None
            }
            watcher::Event::InitApply(view) => {
                self.relisting
                    .get_or_insert_with(BTreeMap::new)
                    .insert(Self::key(&view), view);
                None
            }
            watcher::Event::InitDone => {
                self.views = self.relisting.take().unwrap_or_default();
                let views = &self.views;
                self.written.retain(|k, _| views.contains_key(k));
                Some(Todo::All)
            }
        }
    }
}

/// A running [`ViewAgent`]. Dropping it stops the agent.
#[derive(Debug)]
pub struct ViewAgentHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl ViewAgentHandle {
    /// Stops the agent and waits for it; returns the error that ended it early, if any.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.context("the view agent panicked")?
    }

    /// Whether the agent has ended (stopped, or failed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for ViewAgentHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------------
// Table files (the `view-agent` binary)

/// A table file: a YAML map of cluster → objects on that cluster, plus the optional key `clusterIDs`
/// (cluster → `id.k8s.io` claim; a cluster without an entry gets its own name).
///
/// ```yaml
/// clusterIDs: {dr1: id-dr1}
/// dr1:
/// - {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: rbd}, provisioner: rbd.csi.ceph.com}
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableFile {
    /// The objects of each cluster.
    pub objects: ClusterTable,
    /// Cluster IDs given in `clusterIDs`.
    pub cluster_ids: BTreeMap<String, String>,
}

/// The key of a table file naming cluster IDs (never a cluster: cluster names are lower case).
pub const CLUSTER_IDS_KEY: &str = "clusterIDs";

impl TableFile {
    /// Parses a table file, checking that every object has `apiVersion`, `kind` and `metadata.name`.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        let document: Value = serde_saphyr::from_str(text).context("the table is not YAML")?;
        let Value::Object(map) = document else {
            bail!("the table must be a map of cluster name to a list of objects");
        };
        let mut table = TableFile::default();
        for (key, value) in map {
            if key == CLUSTER_IDS_KEY {
                table.cluster_ids = serde_json::from_value(value).with_context(|| {
                    format!("{CLUSTER_IDS_KEY} must map cluster names to ID strings")
                })?;
                continue;
            }
            let objects = match value {
                Value::Array(objects) => objects,
                Value::Null => Vec::new(),
                _ => bail!("cluster {key}: expected a list of objects"),
            };
            for (i, object) in objects.iter().enumerate() {
                for (field, value) in [
                    ("apiVersion", &object["apiVersion"]),
                    ("kind", &object["kind"]),
                    ("metadata.name", &object["metadata"]["name"]),
                ] {
                    if value.as_str().is_none_or(str::is_empty) {
                        bail!("cluster {key}, object {i}: {field} is missing");
                    }
                }
            }
            table.objects.insert(key, objects);
        }
        Ok(table)
    }

    /// Every cluster the file names, in the table or in `clusterIDs`.
    pub fn clusters(&self) -> BTreeSet<String> {
        self.objects
            .keys()
            .chain(self.cluster_ids.keys())
            .cloned()
            .collect()
    }

    /// The `id.k8s.io` claim of `cluster`: its `clusterIDs` entry, else its name.
    pub fn cluster_id<'a>(&'a self, cluster: &'a str) -> &'a str {
        self.cluster_ids
            .get(cluster)
            .map_or(cluster, String::as_str)
    }

    /// The table to answer from: every cluster the file names, those without objects holding none.
    pub fn table(&self) -> ClusterTable {
        let mut table = self.objects.clone();
        for cluster in self.cluster_ids.keys() {
            table.entry(cluster.clone()).or_default();
        }
        table
    }
}

// ---------------------------------------------------------------------------------------------------
// Builders of managed-cluster objects

fn class(target: ViewTarget, name: &str, labels: &[(&str, &str)]) -> Value {
    let (group, version, kind) = target.api();
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    json!({"apiVersion": format!("{group}/{version}"), "kind": kind,
           "metadata": {"name": name, "labels": labels}})
}

/// A StorageClass `name` of storage `storage_id` (label `ramendr.openshift.io/storageid`).
pub fn storage_class(name: &str, storage_id: &str, provisioner: &str) -> Value {
    let mut sc = class(ViewTarget::StorageClass, name, &[(STORAGE_ID, storage_id)]);
    sc["provisioner"] = json!(provisioner);
    sc
}

/// A VolumeSnapshotClass `name` of storage `storage_id`, for CSI driver `driver`.
pub fn volume_snapshot_class(name: &str, storage_id: &str, driver: &str) -> Value {
    let mut vsc = class(
        ViewTarget::VolumeSnapshotClass,
        name,
        &[(STORAGE_ID, storage_id)],
    );
    vsc["driver"] = json!(driver);
    vsc["deletionPolicy"] = json!("Delete");
    vsc
}

/// A VolumeReplicationClass `name` of storage `storage_id` with replication ID `replication_id`,
/// replicating every `scheduling_interval` (`spec.parameters.schedulingInterval`).
pub fn volume_replication_class(
    name: &str,
    storage_id: &str,
    replication_id: &str,
    provisioner: &str,
    scheduling_interval: &str,
) -> Value {
    let mut vrc = class(
        ViewTarget::VolumeReplicationClass,
        name,
        &[(STORAGE_ID, storage_id), (REPLICATION_ID, replication_id)],
    );
    vrc["spec"] = json!({"provisioner": provisioner,
                         "parameters": {SCHEDULING_INTERVAL_PARAMETER: scheduling_interval}});
    vrc
}

/// A VolumeGroupReplicationClass `name` of storage `storage_id` with group replication ID
/// `group_replication_id`, replicating every `scheduling_interval`.
pub fn volume_group_replication_class(
    name: &str,
    storage_id: &str,
    group_replication_id: &str,
    provisioner: &str,
    scheduling_interval: &str,
) -> Value {
    let mut vgrc = class(
        ViewTarget::VolumeGroupReplicationClass,
        name,
        &[
            (STORAGE_ID, storage_id),
            (GROUP_REPLICATION_ID, group_replication_id),
        ],
    );
    vgrc["spec"] = json!({"provisioner": provisioner,
                          "parameters": {SCHEDULING_INTERVAL_PARAMETER: scheduling_interval}});
    vgrc
}

/// A VolumeGroupSnapshotClass `name` of storage `storage_id` under `api`, for CSI driver `driver`.
/// Ramen views it only where the cluster serves that API: add [`group_snapshot_crd`] too.
pub fn volume_group_snapshot_class(
    api: GroupSnapshotApi,
    name: &str,
    storage_id: &str,
    driver: &str,
) -> Value {
    let mut vgsc = class(
        ViewTarget::VolumeGroupSnapshotClass(api),
        name,
        &[(STORAGE_ID, storage_id)],
    );
    vgsc["driver"] = json!(driver);
    vgsc["deletionPolicy"] = json!("Delete");
    vgsc
}

/// The `volumegroupsnapshots` CRD of `api`, whose presence on a cluster tells Ramen which
/// VolumeGroupSnapshotClass API the cluster serves (§4.5).
pub fn group_snapshot_crd(api: GroupSnapshotApi) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": api.crd_name()},
           "spec": {"group": api.group(), "scope": "Namespaced",
                    "names": {"kind": "VolumeGroupSnapshot", "plural": "volumegroupsnapshots"},
                    "versions": [{"name": api.version(), "served": true, "storage": true}]}})
}

/// `object` with label `key` set to `value` (e.g. `offloaded`, `global`, or `groupreplicationid` on a
/// StorageClass).
pub fn with_label(mut object: Value, key: &str, value: &str) -> Value {
    let labels = &mut object["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[key] = json!(value);
    object
}

/// The DRClusterConfig (named like the cluster) that Ramen's DR cluster operator would write for a
/// cluster holding `classes`: each list names the classes of its kind carrying the kind's label
/// (StorageClass, VolumeSnapshotClass, VolumeGroupSnapshotClass: `storageid`; VolumeReplicationClass:
/// `replicationid`; VolumeGroupReplicationClass: `groupreplicationid`), sorted by name; empty lists are
/// left out. `spec.clusterID` is the cluster name (the hub reads IDs from the ManagedCluster claims).
pub fn drcluster_config(cluster: &str, classes: &[Value]) -> Value {
    let names = |kind: &str, label: &str| -> Option<Vec<String>> {
        let mut names: Vec<String> = classes
            .iter()
            .filter(|o| o["kind"] == kind && o["metadata"]["labels"].get(label).is_some())
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        (!names.is_empty()).then_some(names)
    };
    let mut config = DRClusterConfig::new(
        cluster,
        DRClusterConfigSpec {
            cluster_id: cluster.to_owned(),
            replication_schedules: None,
        },
    );
    config.status = Some(DRClusterConfigStatus {
        storage_classes: names("StorageClass", STORAGE_ID),
        volume_snapshot_classes: names("VolumeSnapshotClass", STORAGE_ID),
        volume_replication_classes: names("VolumeReplicationClass", REPLICATION_ID),
        volume_group_snapshot_classes: names("VolumeGroupSnapshotClass", STORAGE_ID),
        volume_group_replication_classes: names(
            "VolumeGroupReplicationClass",
            GROUP_REPLICATION_ID,
        ),
        ..DRClusterConfigStatus::default()
    });
    serde_json::to_value(config).expect("a DRClusterConfig serializes")
}

/// `classes` followed by the DRClusterConfig listing them ([`drcluster_config`]); any DRClusterConfig
/// already among `classes` is replaced.
pub fn with_drcluster_config(cluster: &str, classes: Vec<Value>) -> Vec<Value> {
    let mut objects: Vec<Value> = classes
        .into_iter()
        .filter(|o| o["kind"] != "DRClusterConfig")
        .collect();
    let config = drcluster_config(cluster, &objects);
    objects.push(config);
    objects
}

/// Synchronous (metro) peers: every cluster of `clusters` has StorageClass `storage_class` of the one
/// storage `storage_id` and a VolumeSnapshotClass `<storage_class>-snap`, plus its DRClusterConfig.
/// Ramen pairs them as sync peers (same StorageClass name, same storage ID).
pub fn sync_peers(clusters: &[&str], storage_class: &str, storage_id: &str) -> ClusterTable {
    clusters
        .iter()
        .map(|cluster| {
            let classes = vec![
                self::storage_class(storage_class, storage_id, DEFAULT_PROVISIONER),
                volume_snapshot_class(
                    &format!("{storage_class}-snap"),
                    storage_id,
                    DEFAULT_PROVISIONER,
                ),
            ];
            (
                (*cluster).to_owned(),
                with_drcluster_config(cluster, classes),
            )
        })
        .collect()
}

/// Asynchronous (regional) peers: each `(cluster, storage ID)` of `clusters` has StorageClass
/// `storage_class` of its own storage, a VolumeReplicationClass `<storage_class>-<interval>` with
/// replication ID `replication_id` replicating every `scheduling_interval`, a VolumeSnapshotClass
/// `<storage_class>-snap`, and its DRClusterConfig. For a DRPolicy whose `schedulingInterval` is
/// `scheduling_interval`, Ramen pairs them as async peers with that replication ID.
pub fn async_peers(
    clusters: &[(&str, &str)],
    storage_class: &str,
    replication_id: &str,
    scheduling_interval: &str,
) -> ClusterTable {
    clusters
        .iter()
        .map(|(cluster, storage_id)| {
            let classes = vec![
                self::storage_class(storage_class, storage_id, DEFAULT_PROVISIONER),
                volume_replication_class(
                    &format!("{storage_class}-{scheduling_interval}"),
                    storage_id,
                    replication_id,
                    DEFAULT_PROVISIONER,
                    scheduling_interval,
                ),
                volume_snapshot_class(
                    &format!("{storage_class}-snap"),
                    storage_id,
                    DEFAULT_PROVISIONER,
                ),
            ];
            (
                (*cluster).to_owned(),
                with_drcluster_config(cluster, classes),
            )
        })
        .collect()
}

/// Puts several tables together: each cluster holds the classes of every table (in table order) and one
/// DRClusterConfig listing them all.
pub fn merge_tables(tables: impl IntoIterator<Item = ClusterTable>) -> ClusterTable {
    let mut merged = ClusterTable::new();
    for table in tables {
        for (cluster, objects) in table {
            merged.entry(cluster).or_default().extend(objects);
        }
    }
    merged
        .into_iter()
        .map(|(cluster, objects)| {
            let objects = with_drcluster_config(&cluster, objects);
            (cluster, objects)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::view::read_result;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_held_object_is_the_result_and_a_missing_one_is_not_found_as_ocm_words_it() {
        let objects = vec![storage_class("gold", "s1", DEFAULT_PROVISIONER)];
        let mut view = ViewTarget::StorageClass.desired("east", "gold");
        view.status = Some(answer(&view, &objects, now()));
        let sc: Value = read_result(&view).unwrap();
        assert_eq!(sc, objects[0]);

        let mut missing = ViewTarget::StorageClass.desired("east", "silver");
        missing.status = Some(answer(&missing, &objects, now()));
        let condition = &missing
            .status
            .as_ref()
            .unwrap()
            .conditions
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            condition.message,
            "failed to get resource with err: storageclasses.storage.k8s.io \"silver\" not found"
        );
        assert!(read_result::<Value>(&missing).unwrap_err().is_not_found());
    }

    #[test]
    fn group_snapshot_probes_and_classes_answer_only_for_the_api_the_cluster_serves() {
        let private = GroupSnapshotApi::Private;
        let objects = vec![
            group_snapshot_crd(private),
            volume_group_snapshot_class(private, "rbd-gsnap", "s1", DEFAULT_PROVISIONER),
        ];
        let status = |target: ViewTarget, object: &str| {
            let view = target.desired("east", object);
            answer(&view, &objects, now()).conditions.unwrap()[0]
                .status
                .clone()
        };
        for api in [GroupSnapshotApi::Public, private] {
            let expected = if api == private { "True" } else { "False" };
            assert_eq!(
                status(ViewTarget::GroupSnapshotCrd(api), &api.crd_name()),
                expected
            );
            assert_eq!(
                status(ViewTarget::VolumeGroupSnapshotClass(api), "rbd-gsnap"),
                expected,
                "the scope's API group tells the two classes apart"
            );
        }
    }

    #[test]
    fn a_failure_keeps_the_old_result_and_the_transition_time_moves_only_with_the_status() {
        let objects = vec![storage_class("gold", "s1", DEFAULT_PROVISIONER)];
        let mut view = ViewTarget::StorageClass.desired("east", "gold");
        view.status = Some(answer(&view, &objects, now()));
        let later: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
        let again = answer(&view, &objects, later);
        assert_eq!(again, view.status.clone().unwrap(), "nothing moves");

        let gone = answer(&view, &[], later);
        assert_eq!(gone.result, Some(objects[0].clone()));
        assert_eq!(
            gone.conditions.as_ref().unwrap()[0].last_transition_time,
            Time(later)
        );
        assert!(!same_answer(&gone, view.status.as_ref().unwrap()));
    }

    #[test]
    fn the_drcluster_config_lists_labelled_classes_by_kind_sorted() {
        let classes = vec![
            storage_class("rbd", "s1", DEFAULT_PROVISIONER),
            storage_class("cephfs", "s1", DEFAULT_PROVISIONER),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "unlabelled"}, "provisioner": "x"}),
            volume_replication_class("rbd-5m", "s1", "r1", DEFAULT_PROVISIONER, "5m"),
            volume_group_replication_class("rbd-grp", "s1", "g1", DEFAULT_PROVISIONER, "5m"),
            volume_snapshot_class("rbd-snap", "s1", DEFAULT_PROVISIONER),
            volume_group_snapshot_class(GroupSnapshotApi::Public, "rbd-gsnap", "s1", "x"),
        ];
        let config: DRClusterConfig =
            serde_json::from_value(drcluster_config("east", &classes)).unwrap();
        let status = config.status.unwrap();
        assert_eq!(status.storage_classes(), ["cephfs", "rbd"]);
        assert_eq!(status.volume_replication_classes(), ["rbd-5m"]);
        assert_eq!(status.volume_group_replication_classes(), ["rbd-grp"]);
        assert_eq!(status.volume_snapshot_classes(), ["rbd-snap"]);
        assert_eq!(status.volume_group_snapshot_classes(), ["rbd-gsnap"]);
        assert_eq!(config.metadata.name.as_deref(), Some("east"));
    }

    #[test]
    fn the_table_changes_only_notify_when_something_changed() {
        let objects = ManagedObjects::new(sync_peers(&["east"], "metro", "a1"));
        let mut rx = objects.subscribe();
        rx.borrow_and_update();
        objects.replace(objects.snapshot());
        assert!(!rx.has_changed().unwrap());
        objects.put("east", storage_class("metro", "a2", DEFAULT_PROVISIONER));
        assert!(rx.has_changed().unwrap());
        let east = objects.objects("east");
        assert_eq!(east.len(), 3, "the StorageClass was replaced, not added");
        assert_eq!(east[0]["metadata"]["labels"][STORAGE_ID], "a2");
        assert!(objects.remove("east", "storage.k8s.io", "StorageClass", "metro"));
        assert!(!objects.remove("east", "storage.k8s.io", "StorageClass", "metro"));
    }

    #[test]
    fn table_files_name_clusters_objects_and_ids() {
        let file = TableFile::from_yaml(
            "clusterIDs: {dr1: id-1, dr3: id-3}\n\
             dr1:\n- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: rbd}}\n\
             dr2: []\n",
        )
        .unwrap();
        assert_eq!(
            file.clusters(),
            BTreeSet::from(["dr1".into(), "dr2".into(), "dr3".into()])
        );
        assert_eq!(file.cluster_id("dr1"), "id-1");
        assert_eq!(file.cluster_id("dr2"), "dr2");
        assert_eq!(file.table()["dr3"], Vec::<Value>::new());

        let err = TableFile::from_yaml("dr1:\n- {apiVersion: v1, kind: ConfigMap}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cluster dr1, object 0: metadata.name is missing"
        );
        assert!(TableFile::from_yaml("- dr1\n").is_err());
    }

    #[test]
    fn the_example_table_parses() {
        let file = TableFile::from_yaml(include_str!(
            "../../examples/hub/managed-clusters/views.yaml"
        ))
        .unwrap();
        assert_eq!(
            file.clusters(),
            BTreeSet::from(["dr1".into(), "dr2".into()])
        );
        for (cluster, objects) in &file.objects {
            let config = objects
                .iter()
                .find(|o| o["kind"] == "DRClusterConfig")
                .unwrap();
            assert_eq!(
                config["status"],
                drcluster_config(cluster, objects)["status"],
                "{cluster}'s DRClusterConfig lists its labelled classes"
            );
            assert_eq!(config["spec"]["clusterID"], file.cluster_id(cluster));
        }
    }
}
