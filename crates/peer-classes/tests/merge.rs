//! From computed peers to the stored lists (reference §5.5): order kept, values refreshed, stale entries
//! dropped, new ones appended, duplicates kept — and the status shape Ramen HEAD writes.

mod support;

use drpolicy_api::{DRPolicyStatus, PeerClass};
use peer_classes::{EmptyReport, PeerClasses, merge, update};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

fn classes(list: Value) -> Vec<PeerClass> {
    serde_json::from_value(list).unwrap()
}

fn merged(stored: Value, computed: Value) -> Value {
    serde_json::to_value(merge(&classes(stored), &classes(computed))).unwrap()
}

#[test]
fn stored_entries_keep_their_position_and_take_the_computed_values() {
    let a = peer("a", &["s1", "s2"], "id-1", "id-2");
    let b = peer("b", &["s1", "s2"], "id-1", "id-2");
    assert_eq!(
        merged(
            json!([b.clone().rid("old"), a.clone()]),
            json!([a.clone(), b.clone().rid("new")]),
        ),
        json!([b.rid("new"), a])
    );
}

#[test]
fn stored_entries_nothing_computed_matches_are_dropped() {
    let a = peer("a", &["s1", "s2"], "id-1", "id-2");
    let gone = peer("gone", &["s1", "s2"], "id-1", "id-2");
    assert_eq!(
        merged(json!([gone, a.clone()]), json!([a.clone()])),
        json!([a])
    );
}

#[test]
fn new_peers_are_appended_in_computed_order() {
    let a = peer("a", &["s"], "id-1", "id-2");
    let b = peer("b", &["s"], "id-1", "id-2");
    let c = peer("c", &["s"], "id-1", "id-2");
    assert_eq!(
        merged(json!([b.clone()]), json!([c.clone(), a.clone(), b.clone()])),
        json!([b, c, a])
    );
}

#[test]
fn cluster_ids_match_as_sets_and_the_computed_order_wins() {
    let stored = peer("a", &["s2", "s1"], "id-2", "id-1");
    let computed = peer("a", &["s1", "s2"], "id-1", "id-2");
    assert_eq!(
        merged(json!([stored]), json!([computed.clone()])),
        json!([computed])
    );
}

#[test]
fn a_self_pair_does_not_match_a_pair_of_two_clusters() {
    let self_pair = peer("a", &["s"], "id-1", "id-1");
    let pair = peer("a", &["s"], "id-1", "id-2");
    assert_eq!(
        merged(json!([self_pair]), json!([pair.clone()])),
        json!([pair])
    );
}

#[test]
fn an_entry_whose_group_replication_id_changed_moves_to_the_end() {
    let a = peer("a", &["s1", "s2"], "id-1", "id-2")
        .grid("g-old")
        .grouping();
    let b = peer("b", &["s1", "s2"], "id-1", "id-2");
    let a_new = peer("a", &["s1", "s2"], "id-1", "id-2")
        .grid("g-new")
        .grouping();
    assert_eq!(
        merged(json!([a, b.clone()]), json!([a_new.clone(), b.clone()])),
        json!([b, a_new])
    );
}

#[test]
fn an_entry_gaining_or_losing_a_group_replication_id_stays_in_place() {
    let plain = peer("a", &["s1", "s2"], "id-1", "id-2");
    let grouped = peer("a", &["s1", "s2"], "id-1", "id-2")
        .grid("g")
        .grouping();
    let b = peer("b", &["s1", "s2"], "id-1", "id-2");
    assert_eq!(
        merged(
            json!([plain.clone(), b.clone()]),
            json!([b.clone(), grouped.clone()])
        ),
        json!([grouped.clone(), b.clone()])
    );
    assert_eq!(
        merged(
            json!([grouped, b.clone()]),
            json!([b.clone(), plain.clone()])
        ),
        json!([plain, b])
    );
}

#[test]
fn duplicate_stored_entries_are_all_refreshed_not_removed() {
    let a = peer("a", &["s"], "id-1", "id-2");
    assert_eq!(
        merged(json!([a.clone(), a.clone()]), json!([a.clone().grouping()])),
        json!([a.clone().grouping(), a.grouping()])
    );
}

#[test]
fn a_second_computed_peer_matching_a_stored_entry_is_not_appended() {
    let stored = peer("a", &["s"], "id-1", "id-2");
    let first = peer("a", &["s"], "id-1", "id-2").rid("r1");
    let second = peer("a", &["s"], "id-1", "id-2").rid("r2");
    assert_eq!(
        merged(json!([stored]), json!([first.clone(), second])),
        json!([first])
    );
}

#[test]
fn refreshed_entries_take_heads_wire_form() {
    let written_by_someone_else = json!({
        "storageClassName": "a", "storageID": ["s"], "clusterIDs": ["id-1", "id-2"],
        "replicationID": "", "grouping": false, "offloaded": false, "global": false
    });
    let computed = peer("a", &["s"], "id-1", "id-2");
    assert_eq!(
        merged(json!([written_by_someone_else]), json!([computed.clone()])),
        json!([computed])
    );
}

#[test]
fn update_merges_each_list_with_its_own_stored_list() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("metro", "array"))
            .with_storage_class(sc("rbd", &format!("cl-{n}-sID")))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID")))
    });
    let stale = peer("stale", &["x"], "cl-1", "cl-2");
    let stored = PeerClasses {
        sync: classes(json!([stale.clone()])),
        async_: classes(json!([stale])),
    };
    let peers = update(&stored, &clusters, "1m", EmptyReport::default());
    assert_eq!(
        wire(&peers),
        (
            json!([peer("metro", &["array"], "cl-1", "cl-2")]),
            json!([peer("rbd", &["cl-1-sID", "cl-2-sID"], "cl-1", "cl-2")]),
        )
    );
}

#[test]
fn an_update_that_changes_nothing_returns_the_stored_lists() {
    let clusters = pair(|n, c| {
        c.with_storage_class(sc("rbd", &format!("cl-{n}-sID")))
            .with_volume_snapshot_class(vsc(&format!("cl-{n}-sID")))
    });
    let first = update(
        &PeerClasses::default(),
        &clusters,
        "1m",
        EmptyReport::default(),
    );
    let second = update(&first, &clusters, "1m", EmptyReport::default());
    assert_eq!(second, first);
}

#[test]
fn empty_lists_are_written_as_heads_empty_async_and_sync() {
    let mut status = DRPolicyStatus::default();
    PeerClasses::default().write_to(&mut status);
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"async": {}, "sync": {}})
    );
}

#[test]
fn stored_lists_are_read_from_the_status_and_written_back_unchanged() {
    let a = peer("a", &["s"], "id-1", "id-2");
    let status: DRPolicyStatus = serde_json::from_value(json!({
        "async": {"peerClasses": [a.clone()]},
        "sync": {}
    }))
    .unwrap();
    let peers = PeerClasses::from_status(Some(&status));
    assert_eq!(wire(&peers), (json!([]), json!([a])));
    let mut written = DRPolicyStatus::default();
    peers.write_to(&mut written);
    assert_eq!(written, status);
    assert!(PeerClasses::from_status(None).is_empty());
}
