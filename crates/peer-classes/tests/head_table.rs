//! Every case of Ramen HEAD's peer-class table (reference §13.4, `drpolicy_peerclass_internal_test.go`),
//! one test each, named after its row. Outputs are full, ordered lists; the schedule is `1m` throughout.

mod support;

use drpolicy_api::names::class_labels::{GROUP_REPLICATION_ID, REPLICATION_ID};
use serde_json::json;
use support::*;

#[test]
fn pc01_no_clusters_no_peers() {
    assert_peers(&[], json!([]), json!([]));
}

#[test]
fn pc02_a_single_cluster_has_no_peers() {
    let clusters = clusters(&[1], |_, c| c.with_storage_class(sc("sc1", "identical")));
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc03_same_storage_id_on_both_clusters_is_a_sync_peer() {
    let clusters = pair(|_, c| c.with_storage_class(sc("sc1", "identical")));
    assert_peers(
        &clusters,
        json!([peer("sc1", &["identical"], "cl-1", "cl-2")]),
        json!([]),
    );
}

#[test]
fn pc04_two_shared_storage_classes_are_two_sync_peers_in_report_order() {
    let clusters = pair(|_, c| {
        c.with_storage_class(sc("sc1", "identical1"))
            .with_storage_class(sc("sc2", "identical2"))
    });
    assert_peers(
        &clusters,
        json!([
            peer("sc1", &["identical1"], "cl-1", "cl-2"),
            peer("sc2", &["identical2"], "cl-1", "cl-2"),
        ]),
        json!([]),
    );
}

#[test]
fn pc05_different_storage_ids_without_any_class_are_no_peer() {
    let clusters = pair(|n, c| c.with_storage_class(sc("sc1", &format!("cl-{n}-sID"))));
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc06_replication_classes_of_another_storage_id_do_not_pair() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID-mismatch"), "cl-1-2-rID", "1m"))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc07_snapshot_classes_of_another_storage_id_do_not_pair() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID-mismatch")))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc08_replication_and_snapshot_classes_of_another_storage_id_do_not_pair() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID-mismatch"), "cl-1-2-rID", "1m"))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID-mismatch")))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc09_matching_replication_classes_make_an_async_peer_with_replication_id() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID"), "cl-1-2-rID", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2").rid("cl-1-2-rID")]),
    );
}

#[test]
fn pc10_matching_snapshot_classes_make_a_plain_async_peer() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID")))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")]),
    );
}

#[test]
fn pc11_a_snapshot_class_on_one_side_only_is_no_peer() {
    let clusters = pair(|n, c| {
        let snapshot = if n == 1 {
            "cl-1-sID"
        } else {
            "cl-2-sID-mismatch"
        };
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_snapshot_class(vsc(snapshot))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc12_a_replication_class_without_replication_id_is_no_peer() {
    let clusters = pair(|n, c| {
        let mut replication = vrc(&format!("cl-{n}-sID"), "cl-1-2-rID", "1m");
        if n == 1 {
            replication.labels.remove(REPLICATION_ID);
        }
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(replication)
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc13_a_replication_class_with_another_schedule_is_no_peer() {
    let clusters = pair(|n, c| {
        let schedule = if n == 1 { "2m" } else { "1m" };
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID"), "cl-1-2-rID", schedule))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc14_mismatching_replication_ids_are_no_peer() {
    let clusters = pair(|n, c| {
        let rid = if n == 1 {
            "cl-1-2-rID"
        } else {
            "cl-1-2-rID-mismatch"
        };
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID"), rid, "1m"))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc15_each_storage_class_pairs_through_its_own_classes() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("sc1", &format!("cl-{n}-sID1")))
            .with_storage_class(sc("sc2", &format!("cl-{n}-sID2")))
            .with_volume_replication_class(vrc(&format!("cl-{n}-sID2"), "cl-1-2-rID", "1m"))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID1")))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2"),
            peer("sc2", &["cl-1-sID2", "cl-2-sID2"], "cl-1", "cl-2").rid("cl-1-2-rID"),
        ]),
    );
}

#[test]
fn pc16_four_clusters_pair_every_earlier_cluster_with_every_later_one() {
    let (x, y, r) = ("cl-[1|2]-sID1", "cl-[3|4]-sID1", "cl-[1|2]-[3|4]-rID");
    let clusters = clusters(&[1, 2, 3, 4], |n, c| {
        let sid = if n <= 2 { x } else { y };
        c.with_storage_class(sc("sc1", sid))
            .with_volume_replication_class(vrc(sid, r, "1m"))
    });
    assert_peers(
        &clusters,
        json!([
            peer("sc1", &[x], "cl-1", "cl-2"),
            peer("sc1", &[y], "cl-3", "cl-4"),
        ]),
        json!([
            peer("sc1", &[x, y], "cl-1", "cl-3").rid(r),
            peer("sc1", &[x, y], "cl-1", "cl-4").rid(r),
            peer("sc1", &[x, y], "cl-2", "cl-3").rid(r),
            peer("sc1", &[x, y], "cl-2", "cl-4").rid(r),
        ]),
    );
}

#[test]
fn pc17_storage_classes_sharing_a_storage_id_pair_through_their_own_provisioner() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc_by("sc1", &sid, P1))
            .with_storage_class(sc_by("sc2", &sid, P2))
            .with_volume_replication_class(provisioned_by(vrc(&sid, "cl-1-2-rID", "1m"), P2))
            .with_volume_snapshot_class(vsc_by(&sid, P1))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2"),
            peer("sc2", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").rid("cl-1-2-rID"),
        ]),
    );
}

#[test]
fn pc18_a_snapshot_class_of_another_driver_is_no_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc_by("sc1", &sid, P1))
            .with_volume_snapshot_class(vsc_by(&sid, P2))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc19_replication_and_group_replication_classes_make_a_grouping_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc_by("sc1", &sid, P1))
            .with_volume_replication_class(provisioned_by(vrc(&sid, "cl-1-2-rID", "1m"), P1))
            .with_volume_group_replication_class(provisioned_by(
                vgrc(&sid, "cl-1-2-grID", "1m"),
                P1,
            ))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .rid("cl-1-2-rID")
            .grid("cl-1-2-grID")
            .grouping()]),
    );
}

#[test]
fn pc20_group_snapshot_classes_alone_make_a_grouping_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc("sc1", &sid))
            .with_volume_group_snapshot_class(vgsc(&sid))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").grouping()]),
    );
}

#[test]
fn pc21_snapshot_grouping_and_replication_grouping_side_by_side() {
    let clusters = pair(|n, c| {
        let (sid1, sid2) = (format!("cl-{n}-sID1"), format!("cl-{n}-sID2"));
        c.with_storage_class(sc("sc1", &sid1))
            .with_storage_class(sc("sc2", &sid2))
            .with_volume_replication_class(vrc(&sid2, "cl-1-2-rID", "1m"))
            .with_volume_group_replication_class(vgrc(&sid2, "cl-1-2-grID", "1m"))
            .with_volume_snapshot_class(vsc(&sid1))
            .with_volume_group_snapshot_class(vgsc(&sid1))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").grouping(),
            peer("sc2", &["cl-1-sID2", "cl-2-sID2"], "cl-1", "cl-2")
                .rid("cl-1-2-rID")
                .grid("cl-1-2-grID")
                .grouping(),
        ]),
    );
}

#[test]
fn pc22_offloaded_storage_with_group_replication_classes_is_an_offloaded_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(vgrc(&sid, "cl-1-2-grID", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .grid("cl-1-2-grID")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn pc23_offloaded_storage_with_mismatching_group_replication_ids_is_no_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        let grid = if n == 1 {
            "cl-1-2-grID"
        } else {
            "cl-1-2-grID-mismatch"
        };
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(vgrc(&sid, grid, "1m"))
    });
    assert_peers(&clusters, json!([]), json!([]));
}

#[test]
fn pc24_two_offloaded_storage_classes_pair_through_their_own_group_replication_classes() {
    let clusters = pair(|n, c| {
        let (sid1, sid2) = (format!("cl-{n}-sID1"), format!("cl-{n}-sID2"));
        c.with_storage_class(offloaded(sc("sc1", &sid1)))
            .with_storage_class(offloaded(sc("sc2", &sid2)))
            .with_volume_group_replication_class(vgrc(&sid1, "cl-1-2-grID1", "1m"))
            .with_volume_group_replication_class(vgrc(&sid2, "cl-1-2-grID2", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
                .grid("cl-1-2-grID1")
                .grouping()
                .offloaded(),
            peer("sc2", &["cl-1-sID2", "cl-2-sID2"], "cl-1", "cl-2")
                .grid("cl-1-2-grID2")
                .grouping()
                .offloaded(),
        ]),
    );
}

#[test]
fn pc25_the_storage_class_label_selects_among_group_replication_classes_sharing_a_storage_id() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID");
        let (g1, g2) = ("cl-1-2-grID1", "cl-1-2-grID2");
        let groups = if n == 1 { [g1, g2] } else { [g2, g1] };
        c.with_storage_class(offloaded(sc("sc1", &sid)).with_label(GROUP_REPLICATION_ID, g1))
            .with_storage_class(offloaded(sc("sc2", &sid)).with_label(GROUP_REPLICATION_ID, g2))
            .with_volume_group_replication_class(vgrc(&sid, groups[0], "1m"))
            .with_volume_group_replication_class(vgrc(&sid, groups[1], "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
                .grid("cl-1-2-grID1")
                .grouping()
                .offloaded(),
            peer("sc2", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")
                .grid("cl-1-2-grID2")
                .grouping()
                .offloaded(),
        ]),
    );
}

#[test]
fn pc26_offloaded_storage_with_the_same_storage_id_is_a_plain_sync_peer() {
    let clusters = pair(|_, c| c.with_storage_class(offloaded(sc("sc1", "identical"))));
    assert_peers(
        &clusters,
        json!([peer("sc1", &["identical"], "cl-1", "cl-2")]),
        json!([]),
    );
}

#[test]
fn pc27_an_offloaded_peer_never_carries_a_replication_id() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_replication_class(vrc(&sid, "cl-1-2-rID", "1m"))
            .with_volume_group_replication_class(vgrc(&sid, "cl-1-2-grID", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .grid("cl-1-2-grID")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn pc28_offloaded_on_one_side_only_is_no_peer() {
    let clusters = pair(|n, c| {
        let class = sc("sc1", &format!("cl-{n}-sID1"));
        c.with_storage_class(if n == 1 { offloaded(class) } else { class })
    });
    assert_peers(&clusters, json!([]), json!([]));
}

fn two_storage_classes_sharing_one_replication_class() -> Vec<peer_classes::ClusterClasses> {
    pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc("sc1", &sid))
            .with_storage_class(sc("sc2", &sid))
            .with_volume_replication_class(vrc(&sid, "cl-rID", "1m"))
    })
}

#[test]
fn pc29_storage_classes_sharing_a_storage_id_each_pair_through_the_same_replication_class() {
    assert_peers(
        &two_storage_classes_sharing_one_replication_class(),
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").rid("cl-rID"),
            peer("sc2", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").rid("cl-rID"),
        ]),
    );
}

#[test]
fn pc30_duplicate_of_pc29_gives_the_same_peers() {
    assert_peers(
        &two_storage_classes_sharing_one_replication_class(),
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").rid("cl-rID"),
            peer("sc2", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2").rid("cl-rID"),
        ]),
    );
}

#[test]
fn pc31_replication_id_labels_on_storage_classes_are_ignored_and_group_labels_select() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        let labelled = |name: &str| {
            sc(name, &sid)
                .with_label(REPLICATION_ID, "cl-rID")
                .with_label(GROUP_REPLICATION_ID, "cl-gRID")
        };
        c.with_storage_class(labelled("sc1"))
            .with_storage_class(labelled("sc2"))
            .with_volume_replication_class(vrc(&sid, "cl-rID", "1m"))
            .with_volume_group_replication_class(vgrc(&sid, "cl-gRID", "1m"))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([
            peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
                .rid("cl-rID")
                .grid("cl-gRID")
                .grouping(),
            peer("sc2", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
                .rid("cl-rID")
                .grid("cl-gRID")
                .grouping(),
        ]),
    );
}

#[test]
fn pc32_offloaded_with_both_group_replication_classes_global_is_a_global_peer() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(global(vgrc(&sid, "cl-1-2-grID", "1m")))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .grid("cl-1-2-grID")
            .grouping()
            .offloaded()
            .global()]),
    );
}

#[test]
fn pc33_global_on_one_side_only_is_not_global() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        let group = vgrc(&sid, "cl-1-2-grID", "1m");
        c.with_storage_class(offloaded(sc("sc1", &sid)))
            .with_volume_group_replication_class(if n == 1 { global(group) } else { group })
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .grid("cl-1-2-grID")
            .grouping()
            .offloaded()]),
    );
}

#[test]
fn pc34_global_group_replication_classes_without_offload_are_not_global() {
    let clusters = pair(|n, c| {
        let sid = format!("cl-{n}-sID1");
        c.with_storage_class(sc("sc1", &sid))
            .with_volume_replication_class(vrc(&sid, "cl-1-2-rID", "1m"))
            .with_volume_group_replication_class(global(vgrc(&sid, "cl-1-2-grID", "1m")))
    });
    assert_peers(
        &clusters,
        json!([]),
        json!([peer("sc1", &["cl-1-sID1", "cl-2-sID1"], "cl-1", "cl-2")
            .rid("cl-1-2-rID")
            .grid("cl-1-2-grID")
            .grouping()]),
    );
}
