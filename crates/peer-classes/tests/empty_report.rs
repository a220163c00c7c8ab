//! Ramen HEAD bug BH7 and our decision: a cluster whose DRClusterConfig lists no StorageClass keeps its
//! stored peer classes by default ([`EmptyReport::KeepStoredPeers`]); HEAD's wipe stays available.

mod support;

use drpolicy_api::PeerClass;
use peer_classes::{ClusterClasses, EmptyReport, PeerClasses, update};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

fn reporting(n: u32) -> ClusterClasses {
    let sid = format!("cl-{n}-sID");
    ClusterClasses::new(format!("cl-{n}"))
        .with_storage_class(sc("metro", "array"))
        .with_storage_class(sc("rbd", &sid))
        .with_volume_snapshot_class(vsc(&sid))
}

fn silent(n: u32) -> ClusterClasses {
    ClusterClasses::new(format!("cl-{n}"))
}

fn classes(list: Value) -> Vec<PeerClass> {
    serde_json::from_value(list).unwrap()
}

/// What two reporting clusters store.
fn stored_for_two() -> PeerClasses {
    update(
        &PeerClasses::default(),
        &[reporting(1), reporting(2)],
        "1m",
        EmptyReport::default(),
    )
}

#[test]
fn keeping_stored_peers_is_the_default() {
    assert_eq!(EmptyReport::default(), EmptyReport::KeepStoredPeers);
}

#[test]
fn a_cluster_reporting_no_storage_classes_keeps_both_lists_by_default() {
    let stored = stored_for_two();
    assert!(!stored.sync.is_empty() && !stored.async_.is_empty());
    let peers = update(
        &stored,
        &[reporting(1), silent(2)],
        "1m",
        EmptyReport::KeepStoredPeers,
    );
    assert_eq!(peers, stored);
}

#[test]
fn heads_behaviour_wipes_both_lists_when_one_cluster_reports_no_storage_classes() {
    let peers = update(
        &stored_for_two(),
        &[reporting(1), silent(2)],
        "1m",
        EmptyReport::DropStoredPeers,
    );
    assert_eq!(peers, PeerClasses::default());
}

#[test]
fn kept_entries_come_back_to_life_once_the_cluster_reports_again() {
    let stored = stored_for_two();
    let while_silent = update(
        &stored,
        &[reporting(1), silent(2)],
        "1m",
        EmptyReport::default(),
    );
    let mut changed = reporting(2);
    changed.storage_classes.retain(|sc| sc.name != "metro");
    let after = update(
        &while_silent,
        &[reporting(1), changed],
        "1m",
        EmptyReport::default(),
    );
    assert_eq!(
        wire(&after),
        (
            json!([]),
            json!([peer("rbd", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")]),
        )
    );
}

#[test]
fn only_entries_involving_the_silent_cluster_are_kept() {
    let with_silent = peer("rbd", &["cl-1-sID", "cl-3-sID"], "cl-1", "cl-3");
    let stale = peer("gone", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2");
    let stored = PeerClasses {
        sync: vec![],
        async_: classes(json!([stale, with_silent.clone()])),
    };
    let peers = update(
        &stored,
        &[reporting(1), reporting(2), silent(3)],
        "1m",
        EmptyReport::KeepStoredPeers,
    );
    assert_eq!(
        wire(&peers),
        (
            json!([peer("metro", &["array"], "cl-1", "cl-2")]),
            json!([
                with_silent,
                peer("rbd", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2"),
            ]),
        )
    );
}

#[test]
fn when_every_cluster_reports_both_choices_agree() {
    let stale = peer("gone", &["x"], "cl-1", "cl-2");
    let stored = PeerClasses {
        sync: classes(json!([stale.clone()])),
        async_: classes(json!([stale])),
    };
    let clusters = [reporting(1), reporting(2)];
    assert_eq!(
        update(&stored, &clusters, "1m", EmptyReport::KeepStoredPeers),
        update(&stored, &clusters, "1m", EmptyReport::DropStoredPeers),
    );
}
