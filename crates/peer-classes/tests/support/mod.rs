//! A small language for the class layouts of Ramen's peer-class tests, and for the expected peers in
//! their wire form (so that every assertion also checks that nothing Go would omit is written).

#![allow(dead_code)] // each test file uses a different part

use drpolicy_api::names::class_labels::{
    GLOBAL, GROUP_REPLICATION_ID, OFFLOADED, REPLICATION_ID, STORAGE_ID,
};
use peer_classes::{
    ClusterClasses, EmptyReport, PeerClasses, ReplicationClass, SnapshotClass, StorageClass,
    find_peers, update,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// The provisioner/driver of every class unless a case says otherwise.
pub const SAMPLE: &str = "sample.csi.com";
/// `P1` of the reference table.
pub const P1: &str = "sample1.csi.com";
/// `P2` of the reference table.
pub const P2: &str = "sample2.csi.com";
/// The scheduling interval of every table case.
pub const SCHEDULE: &str = "1m";

/// Cluster `cl-<n>` with the classes `shape(n)` adds, for each `n` (the table's `cl-N` notation).
pub fn clusters(
    ns: &[u32],
    shape: impl Fn(u32, ClusterClasses) -> ClusterClasses,
) -> Vec<ClusterClasses> {
    ns.iter()
        .map(|&n| shape(n, ClusterClasses::new(format!("cl-{n}"))))
        .collect()
}

/// The same shape on `cl-1` and `cl-2`.
pub fn pair(shape: impl Fn(u32, ClusterClasses) -> ClusterClasses) -> Vec<ClusterClasses> {
    clusters(&[1, 2], shape)
}

/// StorageClass `name` with storage ID `sid`, provisioned by [`SAMPLE`].
pub fn sc(name: &str, sid: &str) -> StorageClass {
    StorageClass::new(name, SAMPLE).with_label(STORAGE_ID, sid)
}

/// [`sc`] with provisioner `provisioner`.
pub fn sc_by(name: &str, sid: &str, provisioner: &str) -> StorageClass {
    StorageClass::new(name, provisioner).with_label(STORAGE_ID, sid)
}

/// `class` labelled offloaded (value `""`: presence is what counts).
pub fn offloaded(class: StorageClass) -> StorageClass {
    class.with_label(OFFLOADED, "")
}

/// VolumeReplicationClass with storage ID `sid`, replication ID `rid` and schedule `schedule`.
pub fn vrc(sid: &str, rid: &str, schedule: &str) -> ReplicationClass {
    ReplicationClass::new(format!("vrc-{sid}-{rid}-{schedule}"), SAMPLE)
        .with_label(STORAGE_ID, sid)
        .with_label(REPLICATION_ID, rid)
        .with_scheduling_interval(schedule)
}

/// VolumeGroupReplicationClass with storage ID `sid`, group replication ID `grid` and schedule `schedule`.
pub fn vgrc(sid: &str, grid: &str, schedule: &str) -> ReplicationClass {
    ReplicationClass::new(format!("vgrc-{sid}-{grid}-{schedule}"), SAMPLE)
        .with_label(STORAGE_ID, sid)
        .with_label(GROUP_REPLICATION_ID, grid)
        .with_scheduling_interval(schedule)
}

/// `class` labelled `global: "true"`.
pub fn global(class: ReplicationClass) -> ReplicationClass {
    class.with_label(GLOBAL, "true")
}

/// `class` with provisioner `provisioner`.
pub fn provisioned_by(class: ReplicationClass, provisioner: &str) -> ReplicationClass {
    ReplicationClass {
        provisioner: provisioner.to_owned(),
        ..class
    }
}

/// VolumeSnapshotClass with storage ID `sid`, driver [`SAMPLE`].
pub fn vsc(sid: &str) -> SnapshotClass {
    SnapshotClass::new(format!("vsc-{sid}"), SAMPLE).with_label(STORAGE_ID, sid)
}

/// [`vsc`] with driver `driver`.
pub fn vsc_by(sid: &str, driver: &str) -> SnapshotClass {
    SnapshotClass::new(format!("vsc-{sid}"), driver).with_label(STORAGE_ID, sid)
}

/// VolumeGroupSnapshotClass with storage ID `sid`, driver [`SAMPLE`].
pub fn vgsc(sid: &str) -> SnapshotClass {
    SnapshotClass::new(format!("vgsc-{sid}"), SAMPLE).with_label(STORAGE_ID, sid)
}

/// The wire form of a plain peer: StorageClass `sc`, storage IDs `sids`, clusters `a` then `b`.
pub fn peer(sc: &str, sids: &[&str], a: &str, b: &str) -> Value {
    json!({"storageClassName": sc, "storageID": sids, "clusterIDs": [a, b]})
}

/// Adds the optional fields of a peer's wire form.
pub trait PeerJson {
    /// `replicationID`.
    fn rid(self, id: &str) -> Self;
    /// `groupreplicationID`.
    fn grid(self, id: &str) -> Self;
    /// `grouping: true`.
    fn grouping(self) -> Self;
    /// `offloaded: true`.
    fn offloaded(self) -> Self;
    /// `global: true`.
    fn global(self) -> Self;
}

impl PeerJson for Value {
    fn rid(mut self, id: &str) -> Self {
        self["replicationID"] = json!(id);
        self
    }
    fn grid(mut self, id: &str) -> Self {
        self["groupreplicationID"] = json!(id);
        self
    }
    fn grouping(mut self) -> Self {
        self["grouping"] = json!(true);
        self
    }
    fn offloaded(mut self) -> Self {
        self["offloaded"] = json!(true);
        self
    }
    fn global(mut self) -> Self {
        self["global"] = json!(true);
        self
    }
}

/// Both lists in wire form.
pub fn wire(peers: &PeerClasses) -> (Value, Value) {
    (
        serde_json::to_value(&peers.sync).unwrap(),
        serde_json::to_value(&peers.async_).unwrap(),
    )
}

/// The peers of `clusters` at `schedule` are exactly `sync` and `async_`, in order, both as found and as
/// stored into an empty status.
pub fn assert_peers_at(clusters: &[ClusterClasses], schedule: &str, sync: Value, async_: Value) {
    let found = find_peers(clusters, schedule);
    assert_eq!(wire(&found), (sync, async_), "(sync, async) peers");
    let stored = update(
        &PeerClasses::default(),
        clusters,
        schedule,
        EmptyReport::default(),
    );
    assert_eq!(
        stored, found,
        "an empty status stores exactly the peers found"
    );
}

/// [`assert_peers_at`] with the table's [`SCHEDULE`].
pub fn assert_peers(clusters: &[ClusterClasses], sync: Value, async_: Value) {
    assert_peers_at(clusters, SCHEDULE, sync, async_);
}
