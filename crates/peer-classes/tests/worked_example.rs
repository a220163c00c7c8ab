//! The worked example of the reference (§5.6): a Ceph RBD, a CephFS and an offloaded vendor StorageClass
//! on `east` and `west`, then a shared `metro` StorageClass, then no scheduling interval.

mod support;

use drpolicy_api::DRPolicyStatus;
use drpolicy_api::names::class_labels::{
    GLOBAL, GROUP_REPLICATION_ID, OFFLOADED, REPLICATION_ID, STORAGE_ID,
};
use peer_classes::{
    ClusterClasses, EmptyReport, PeerClasses, ReplicationClass, SnapshotClass, StorageClass, update,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::*;

const RBD: &str = "rbd.csi.ceph.com";
const CEPHFS: &str = "cephfs.csi.ceph.com";
const VENDOR: &str = "vendor.csi.example.com";

fn replication(name: &str, provisioner: &str, schedule: &str) -> ReplicationClass {
    ReplicationClass::new(name, provisioner).with_scheduling_interval(schedule)
}

/// One cluster of the example; `s` is `east` or `west`.
fn cluster(s: &str) -> ClusterClasses {
    let ceph = format!("ceph-{s}");
    ClusterClasses::new(format!("id-{s}"))
        .with_storage_class(StorageClass::new("rbd", RBD).with_label(STORAGE_ID, &ceph))
        .with_storage_class(
            StorageClass::new("cephfs", CEPHFS).with_label(STORAGE_ID, format!("fs-{s}")),
        )
        .with_storage_class(
            StorageClass::new("vendor", VENDOR)
                .with_label(STORAGE_ID, format!("v-{s}"))
                .with_label(OFFLOADED, ""),
        )
        .with_volume_replication_class(
            replication("rbd-1m", RBD, "1m")
                .with_label(STORAGE_ID, &ceph)
                .with_label(REPLICATION_ID, "rep-1"),
        )
        .with_volume_replication_class(
            replication("rbd-5m", RBD, "5m")
                .with_label(STORAGE_ID, &ceph)
                .with_label(REPLICATION_ID, "rep-1"),
        )
        .with_volume_group_replication_class(
            replication("rbd-grp", RBD, "5m")
                .with_label(STORAGE_ID, &ceph)
                .with_label(GROUP_REPLICATION_ID, "grp-1"),
        )
        .with_volume_group_replication_class(
            replication("vendor-grp", VENDOR, "5m")
                .with_label(STORAGE_ID, format!("v-{s}"))
                .with_label(GROUP_REPLICATION_ID, "g-vendor")
                .with_label(GLOBAL, "true"),
        )
        .with_volume_snapshot_class(
            SnapshotClass::new("cephfs-snap", CEPHFS).with_label(STORAGE_ID, format!("fs-{s}")),
        )
        .with_volume_snapshot_class(
            SnapshotClass::new("rbd-snap", RBD).with_label(STORAGE_ID, &ceph),
        )
}

fn with_metro(cluster: ClusterClasses) -> ClusterClasses {
    cluster.with_storage_class(
        StorageClass::new("metro", "any.csi.example.com").with_label(STORAGE_ID, "array-1"),
    )
}

fn expected_async() -> serde_json::Value {
    json!([
        peer("rbd", &["ceph-east", "ceph-west"], "id-east", "id-west")
            .rid("rep-1")
            .grid("grp-1")
            .grouping(),
        peer("cephfs", &["fs-east", "fs-west"], "id-east", "id-west"),
        peer("vendor", &["v-east", "v-west"], "id-east", "id-west")
            .grid("g-vendor")
            .grouping()
            .offloaded()
            .global(),
    ])
}

#[test]
fn east_and_west_at_5m_have_three_async_peers_and_no_sync_peer() {
    assert_peers_at(
        &[cluster("east"), cluster("west")],
        "5m",
        json!([]),
        expected_async(),
    );
}

#[test]
fn the_status_written_for_the_example_is_heads() {
    let peers = update(
        &PeerClasses::default(),
        &[cluster("east"), cluster("west")],
        "5m",
        EmptyReport::default(),
    );
    let mut status = DRPolicyStatus::default();
    peers.write_to(&mut status);
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"async": {"peerClasses": expected_async()}, "sync": {}})
    );
}

#[test]
fn a_shared_metro_storage_class_adds_a_sync_peer() {
    assert_peers_at(
        &[with_metro(cluster("east")), with_metro(cluster("west"))],
        "5m",
        json!([peer("metro", &["array-1"], "id-east", "id-west")]),
        expected_async(),
    );
}

#[test]
fn without_a_scheduling_interval_only_the_sync_metro_peer_is_found() {
    assert_peers_at(
        &[with_metro(cluster("east")), with_metro(cluster("west"))],
        "",
        json!([peer("metro", &["array-1"], "id-east", "id-west")]),
        json!([]),
    );
}
