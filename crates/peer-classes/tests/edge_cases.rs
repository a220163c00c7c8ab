//! The edge cases of the reference (§5.7) and the HEAD rules behind them that the table does not pin down.

mod support;

use drpolicy_api::names::class_labels::{GLOBAL, GROUP_REPLICATION_ID, OFFLOADED};
use peer_classes::{ClusterClasses, SnapshotClass, StorageClass, find_peers};
use serde_json::json;
use support::*;

#[test]
fn fewer_than_two_clusters_with_storage_classes_find_no_peers() {
    let clusters = [
        ClusterClasses::new("cl-1").with_storage_class(sc("sc1", "identical")),
        ClusterClasses::new("cl-2"),
    ];
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn a_cluster_without_storage_classes_is_skipped_so_its_neighbours_pair() {
    let clusters = [
        ClusterClasses::new("cl-1").with_storage_class(sc("sc1", "identical")),
        ClusterClasses::new("cl-2"),
        ClusterClasses::new("cl-3").with_storage_class(sc("sc1", "identical")),
    ];
    assert_peers(
        &clusters,
        json!([peer("sc1", &["identical"], "cl-1", "cl-3")]),
        json!([]),
    );
}

#[test]
fn a_storage_class_on_one_cluster_only_is_no_peer() {
    let clusters = pair(|n, c| {
        let only = if n == 1 { "sc1" } else { "sc2" };
        c.with_storage_class(sc(only, "identical"))
            .with_volume_snapshot_class(vsc("identical"))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn a_storage_class_without_the_storage_id_label_on_the_earlier_cluster_is_skipped() {
    let clusters = [
        ClusterClasses::new("cl-1").with_storage_class(StorageClass::new("sc1", SAMPLE)),
        ClusterClasses::new("cl-2").with_storage_class(sc("sc1", "")),
    ];
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn an_empty_storage_id_pairs_as_sync_with_an_empty_or_absent_one_later() {
    let clusters = [
        ClusterClasses::new("cl-1")
            .with_storage_class(sc("sc1", ""))
            .with_storage_class(sc("sc2", "")),
        ClusterClasses::new("cl-2")
            .with_storage_class(sc("sc1", ""))
            .with_storage_class(StorageClass::new("sc2", SAMPLE)),
    ];
    assert_peers(
        &clusters,
        json!([
            peer("sc1", &[""], "cl-1", "cl-2"),
            peer("sc2", &[""], "cl-1", "cl-2"),
        ]),
        json!([]),
    );
}

#[test]
fn sync_pairing_ignores_provisioners() {
    // BH14: kept as HEAD, since Ramen's DRPlacementControl controller reads the result.
    let clusters = pair(|n, c| {
        let provisioner = if n == 1 { P1 } else { P2 };
        c.with_storage_class(sc_by("sc1", "identical", provisioner))
    });
    assert_peers(
        &clusters,
        json!([peer("sc1", &["identical"], "cl-1", "cl-2")]),
        json!([]),
    );
}

#[test]
fn async_classes_match_the_provisioner_of_the_storage_class_on_their_own_cluster() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let provisioner = if n == 1 { P1 } else { P2 };
        c.with_storage_class(sc_by("sc1", &sid, provisioner))
            .with_volume_replication_class(provisioned_by(vrc(&sid, "rID", "1m"), provisioner))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2").rid("rID")]),
    );
}

#[test]
fn a_replication_class_of_the_other_clusters_provisioner_does_not_count() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let provisioner = if n == 1 { P1 } else { P2 };
        c.with_storage_class(sc_by("sc1", &sid, provisioner))
            .with_volume_replication_class(provisioned_by(vrc(&sid, "rID", "1m"), P1))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn the_schedule_is_compared_as_a_string() {
    for written in ["05m", "300s", ""] {
        let clusters = pair(|n, c| {
            let sid = format!("cl-{n}-sID");
            c.with_storage_class(sc("sc1", &sid))
                .with_volume_replication_class(vrc(&sid, "rID", written))
        });
        assert!(
            find_peers(&clusters, "5m").is_empty(),
            "a class at {written:?} must not serve a 5m policy"
        );
    }
}

#[test]
fn a_replication_class_without_a_scheduling_interval_does_not_count() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let mut class = vrc(&sid, "rID", "1m");
        class.scheduling_interval = None;
        c.with_storage_class(sc("sc1", &sid))
            .with_volume_replication_class(class)
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn without_a_storage_class_label_the_first_matching_group_replication_pair_wins() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let groups = if n == 1 { ["G1", "G2"] } else { ["G2", "G1"] };
        c.with_storage_class(sc("sc1", &sid))
            .with_volume_replication_class(vrc(&sid, "rID", "1m"))
            .with_volume_group_replication_class(vgrc(&sid, groups[0], "1m"))
            .with_volume_group_replication_class(vgrc(&sid, groups[1], "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
            .rid("rID")
            .grid("G1")
            .grouping()]),
    );
}

#[test]
fn the_storage_class_group_label_picks_its_group_over_an_earlier_matching_one() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let groups = if n == 1 { ["G1", "G2"] } else { ["G2", "G1"] };
        c.with_storage_class(sc("sc1", &sid).with_label(GROUP_REPLICATION_ID, "G2"))
            .with_volume_replication_class(vrc(&sid, "rID", "1m"))
            .with_volume_group_replication_class(vgrc(&sid, groups[0], "1m"))
            .with_volume_group_replication_class(vgrc(&sid, groups[1], "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
            .rid("rID")
            .grid("G2")
            .grouping()]),
    );
}

#[test]
fn any_value_of_the_offloaded_label_counts() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        c.with_storage_class(sc("sc1", &sid).with_label(OFFLOADED, "false"))
            .with_volume_group_replication_class(vgrc(&sid, "G", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
            .grid("G")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn only_the_value_true_makes_a_group_replication_class_global() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(vgrc(&sid, "G", "1m").with_label(GLOBAL, "True"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
            .grid("G")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn global_is_read_from_the_first_group_replication_class_with_the_group_id_whatever_its_storage() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(vgrc("elsewhere", "G", "1m"))
            .with_volume_group_replication_class(global(vgrc(&sid, "G", "1m")))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
            .grid("G")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn a_group_snapshot_class_on_one_side_falls_back_to_snapshot_classes() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let c = c
            .with_storage_class(sc("sc1", &sid))
            .with_volume_snapshot_class(vsc(&sid));
        if n == 1 {
            c.with_volume_group_snapshot_class(vgsc(&sid))
        } else {
            c
        }
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")]),
    );
}

#[test]
fn cluster_ids_and_storage_ids_follow_the_policys_cluster_order() {
    let cluster = |name: &str| {
        let sid = format!("{name}-sID");
        ClusterClasses::new(format!("id-{name}"))
            .with_storage_class(sc("sc1", &sid))
            .with_volume_snapshot_class(vsc(&sid))
    };
    assert_peers(
        &[cluster("west"), cluster("east")],
        json!([]),
        json!([peer("sc1", &["west-sID", "east-sID"], "id-west", "id-east")]),
    );
}

#[test]
fn duplicate_names_in_a_report_give_duplicate_peers() {
    let clusters = pair(|_, c| {
        c.with_storage_class(sc("sc1", "identical"))
            .with_storage_class(sc("sc1", "identical"))
    });
    assert_peers(
        &clusters,
        json!([
            peer("sc1", &["identical"], "cl-1", "cl-2"),
            peer("sc1", &["identical"], "cl-1", "cl-2"),
        ]),
        json!([]),
    );
}

#[test]
fn a_later_duplicate_name_is_compared_through_the_first_storage_class_of_that_name() {
    let clusters = [
        ClusterClasses::new("cl-1").with_storage_class(sc("sc1", "identical")),
        ClusterClasses::new("cl-2")
            .with_storage_class(sc("sc1", "other"))
            .with_storage_class(sc("sc1", "identical")),
    ];
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn a_policy_naming_one_cluster_twice_pairs_it_with_itself() {
    let cluster = || {
        ClusterClasses::new("id-1")
            .with_storage_class(sc("sc1", "sid"))
            .with_volume_snapshot_class(vsc("sid"))
    };
    assert_peers(
        &[cluster(), cluster()],
        json!([peer("sc1", &["sid"], "id-1", "id-1")]),
        json!([]),
    );
}

#[test]
fn a_storage_class_without_storage_id_on_the_later_cluster_is_no_async_peer() {
    let clusters = [
        ClusterClasses::new("cl-1")
            .with_storage_class(sc("sc1", "sid"))
            .with_volume_snapshot_class(vsc("sid")),
        ClusterClasses::new("cl-2")
            .with_storage_class(StorageClass::new("sc1", SAMPLE))
            .with_volume_snapshot_class(SnapshotClass::new("vsc", SAMPLE)),
    ];
    assert_peers(&clusters, json!([]), json!([]));
}
