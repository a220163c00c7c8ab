//! What the managed clusters of a harness hub hold, and what the operator should make of it: the
//! tables the OCM view agent answers from (`e2e::views`), the ManagedClusterViews the operator needs
//! to read them, and the peer classes Ramen HEAD's algorithm computes from them.
//!
//! The expectations are derived from the tables the same way the operator reads them — the
//! DRClusterConfig's lists, in list order, each class looked up by kind and name — so the benchmark
//! can count the minimal view creations and both harnesses can check every policy's peer classes
//! exactly.

use drpolicy_api::DRClusterConfig;
use drpolicy_api::view::{GroupSnapshotApi, ViewTarget};
use e2e::views::{
    ClusterTable, ManagedObjects, ViewAgent, ViewAgentHandle, storage_class, volume_snapshot_class,
};
use peer_classes::{ClusterClasses, EmptyReport, PeerClasses};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::hub;

/// The CSI provisioner of the snapshot-only `cephfs` classes (distinct from the `rbd` one, so that
/// they pair through their own VolumeSnapshotClass).
pub const CEPHFS_PROVISIONER: &str = "cephfs.csi.ceph.com";

/// A StorageClass `cephfs` of storage `storage_id` with its VolumeSnapshotClass `cephfs-snap` and no
/// replication class: two clusters holding it with different storage IDs pair asynchronously through
/// snapshots (a peer class without a replication ID).
pub fn snapshot_only_classes(storage_id: &str) -> Vec<Value> {
    vec![
        storage_class("cephfs", storage_id, CEPHFS_PROVISIONER),
        volume_snapshot_class("cephfs-snap", storage_id, CEPHFS_PROVISIONER),
    ]
}

fn api_group(object: &Value) -> &str {
    object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(group, _)| group)
}

/// The object of `target`'s API group and kind named `name` among `objects`.
fn find<'a>(objects: &'a [Value], target: ViewTarget, name: &str) -> Option<&'a Value> {
    let (group, _, kind) = target.api();
    objects.iter().find(|o| {
        api_group(o) == group && o["kind"] == kind && o["metadata"]["name"].as_str() == Some(name)
    })
}

/// The DRClusterConfig a cluster holds (the operator views it by the cluster's name; the tables hold
/// one per cluster).
fn config_of(objects: &[Value]) -> Option<DRClusterConfig> {
    let (group, _, kind) = ViewTarget::DRClusterConfig.api();
    let object = objects
        .iter()
        .find(|o| api_group(o) == group && o["kind"] == kind)?;
    serde_json::from_value(object.clone()).ok()
}

/// Which VolumeGroupSnapshot API a cluster serves, as the operator probes it (public, then private),
/// with the probes that takes; `None` when it serves neither.
fn group_snapshot_api(
    objects: &[Value],
    probes: &mut Vec<(ViewTarget, String)>,
) -> Option<GroupSnapshotApi> {
    for api in [GroupSnapshotApi::Public, GroupSnapshotApi::Private] {
        let crd = api.crd_name();
        let found = find(objects, ViewTarget::GroupSnapshotCrd(api), &crd).is_some();
        probes.push((ViewTarget::GroupSnapshotCrd(api), crd));
        if found {
            return Some(api);
        }
    }
    None
}

/// The views (kind and object) the operator creates in the namespace of cluster `cluster` holding
/// `objects` once a valid policy lists it: its DRClusterConfig's, then one per class the config lists
/// (plus the VolumeGroupSnapshot CRD probes when it lists group snapshot classes).
pub fn view_targets(cluster: &str, objects: &[Value]) -> Vec<(ViewTarget, String)> {
    let mut views = vec![(ViewTarget::DRClusterConfig, cluster.to_owned())];
    let Some(status) = config_of(objects).and_then(|c| c.status) else {
        return views;
    };
    if status.storage_classes().is_empty() {
        return views;
    }
    let mut add = |target: ViewTarget, names: &[String]| {
        views.extend(names.iter().map(|n| (target, n.clone())));
    };
    add(ViewTarget::StorageClass, status.storage_classes());
    add(
        ViewTarget::VolumeSnapshotClass,
        status.volume_snapshot_classes(),
    );
    add(
        ViewTarget::VolumeReplicationClass,
        status.volume_replication_classes(),
    );
    add(
        ViewTarget::VolumeGroupReplicationClass,
        status.volume_group_replication_classes(),
    );
    let group_snapshots = status.volume_group_snapshot_classes();
    if !group_snapshots.is_empty() {
        let mut probes = Vec::new();
        let api = group_snapshot_api(objects, &mut probes);
        views.extend(probes);
        if let Some(api) = api {
            views.extend(
                group_snapshots
                    .iter()
                    .map(|n| (ViewTarget::VolumeGroupSnapshotClass(api), n.clone())),
            );
        }
    }
    views
}

/// The names of [`view_targets`].
pub fn views_of(cluster: &str, objects: &[Value]) -> BTreeSet<String> {
    view_targets(cluster, objects)
        .into_iter()
        .map(|(target, object)| target.view_name(&object))
        .collect()
}

/// Every view the operator needs for policies over `clusters`: `namespace/name`.
pub fn expected_views<'a>(
    table: &ClusterTable,
    clusters: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    let used: BTreeSet<&str> = clusters.into_iter().collect();
    used.into_iter()
        .flat_map(|cluster| {
            let objects = table.get(cluster).map(Vec::as_slice).unwrap_or_default();
            views_of(cluster, objects)
                .into_iter()
                .map(move |view| format!("{cluster}/{view}"))
        })
        .collect()
}

/// The classes of `names` (kind `target`) a cluster holds, in list order, read as the operator reads
/// a view's answer; names the cluster does not hold are left out.
fn read<T: DeserializeOwned>(objects: &[Value], target: ViewTarget, names: &[String]) -> Vec<T> {
    names
        .iter()
        .filter_map(|name| find(objects, target, name))
        .filter_map(|object| serde_json::from_value(object.clone()).ok())
        .collect()
}

/// What the operator reads of a cluster holding `objects`, as input of the peer-class algorithm.
pub fn cluster_classes(cluster: &str, objects: &[Value]) -> ClusterClasses {
    let mut classes = ClusterClasses::new(hub::cluster_id(cluster));
    let Some(status) = config_of(objects).and_then(|c| c.status) else {
        return classes;
    };
    if status.storage_classes().is_empty() {
        return classes;
    }
    classes.storage_classes = read(objects, ViewTarget::StorageClass, status.storage_classes());
    classes.volume_snapshot_classes = read(
        objects,
        ViewTarget::VolumeSnapshotClass,
        status.volume_snapshot_classes(),
    );
    classes.volume_replication_classes = read(
        objects,
        ViewTarget::VolumeReplicationClass,
        status.volume_replication_classes(),
    );
    classes.volume_group_replication_classes = read(
        objects,
        ViewTarget::VolumeGroupReplicationClass,
        status.volume_group_replication_classes(),
    );
    let mut probes = Vec::new();
    if let Some(api) = group_snapshot_api(objects, &mut probes) {
        classes.volume_group_snapshot_classes = read(
            objects,
            ViewTarget::VolumeGroupSnapshotClass(api),
            status.volume_group_snapshot_classes(),
        );
    }
    classes
}

/// The peer classes a fresh policy over `clusters` (in `spec.drClusters` order) replicating every
/// `interval` gets from `table`.
pub fn expected_peers(table: &ClusterTable, clusters: &[String], interval: &str) -> PeerClasses {
    let classes: Vec<ClusterClasses> = clusters
        .iter()
        .map(|c| cluster_classes(c, table.get(c).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    peer_classes::update(
        &PeerClasses::default(),
        &classes,
        interval,
        EmptyReport::default(),
    )
}

/// OCM's view agents for a hub: `shards` agents (at least one), each answering the views of its share
/// of the clusters of `table`, as the agents of separate managed clusters answer in parallel. Their
/// requests carry [`crate::requests::OCM_AGENT`].
pub struct Agents {
    handles: Vec<ViewAgentHandle>,
}

impl Agents {
    /// Starts the agents, each with a client from `client` (one carrying
    /// [`crate::requests::OCM_AGENT`], e.g. [`hub::ocm_agent_client`]).
    pub fn spawn(
        client: impl Fn() -> anyhow::Result<kube::Client>,
        table: &ClusterTable,
        shards: usize,
    ) -> anyhow::Result<Self> {
        let shards = shards.max(1);
        let mut parts: Vec<ClusterTable> = vec![BTreeMap::new(); shards];
        for (i, (cluster, objects)) in table.iter().enumerate() {
            parts[i % shards].insert(cluster.clone(), objects.clone());
        }
        let mut handles = Vec::with_capacity(shards);
        for part in parts {
            let client = client()?;
            handles.push(ViewAgent::new(client, ManagedObjects::new(part)).spawn());
        }
        Ok(Agents { handles })
    }

    /// Stops every agent; returns the first error one of them ended with.
    pub async fn stop(self) -> anyhow::Result<()> {
        let mut first = Ok(());
        for handle in self.handles {
            let result = handle.stop().await;
            if first.is_ok() {
                first = result;
            }
        }
        first
    }

    /// Whether an agent ended on its own (its watch failed for good).
    pub fn any_finished(&self) -> bool {
        self.handles.iter().any(ViewAgentHandle::is_finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e::views::{async_peers, merge_tables, sync_peers};

    fn names(clusters: &[&str]) -> Vec<String> {
        clusters.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn metro_clusters_pair_synchronously_and_regional_ones_asynchronously() {
        let table = merge_tables([
            sync_peers(&["m1", "m2"], "metro", "array-m"),
            async_peers(&[("r1", "a1"), ("r2", "a2")], "rbd", "rep", "5m"),
            [
                ("r1".to_owned(), snapshot_only_classes("f1")),
                ("r2".to_owned(), snapshot_only_classes("f2")),
            ]
            .into(),
        ]);
        let metro = expected_peers(&table, &names(&["m1", "m2"]), "0m");
        assert_eq!((metro.sync.len(), metro.async_.len()), (1, 0));
        let regional = expected_peers(&table, &names(&["r1", "r2"]), "5m");
        assert_eq!((regional.sync.len(), regional.async_.len()), (0, 2));
        let replicated: Vec<Option<&str>> = regional
            .async_
            .iter()
            .map(|p| p.replication_id.as_deref())
            .collect();
        assert!(replicated.contains(&Some("rep")), "{replicated:?}");
        assert!(replicated.contains(&None), "{replicated:?}");
        let mixed = expected_peers(&table, &names(&["m1", "r1"]), "5m");
        assert!(mixed.is_empty());
    }

    #[test]
    fn a_cluster_needs_its_config_view_and_one_view_per_listed_class() {
        let table = merge_tables([
            async_peers(&[("r1", "a1")], "rbd", "rep", "5m"),
            [("r1".to_owned(), snapshot_only_classes("f1"))].into(),
        ]);
        assert_eq!(
            views_of("r1", &table["r1"]),
            BTreeSet::from(
                [
                    "r1-drcconfig-mcv",
                    "rbd-sc-mcv",
                    "cephfs-sc-mcv",
                    "rbd-snap-vsc-mcv",
                    "cephfs-snap-vsc-mcv",
                    "rbd-5m-vrc-mcv",
                ]
                .map(String::from)
            )
        );
        assert_eq!(
            views_of("empty", &[]),
            BTreeSet::from(["empty-drcconfig-mcv".to_owned()])
        );
        assert_eq!(expected_views(&table, ["r1", "r1"]).len(), 6);
    }
}
