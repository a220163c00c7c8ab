//! From computed peers to a status list (reference §5.5): stored entries keep their place and take the
//! computed values, unmatched ones go, new peers are appended.
//!
//! Ramen's DRPlacementControl controller and users read the lists in order, so the order is HEAD's, and
//! duplicates are kept as HEAD keeps them.

use drpolicy_api::PeerClass;

/// Merges the `computed` peers of one list (sync or async) into the `stored` list, as Ramen HEAD does:
///
/// 1. each stored entry, in order, is replaced by the first computed peer that matches it, or dropped if
///    none does;
/// 2. each computed peer that matches no stored entry is appended, in computed order.
///
/// A stored entry and a computed peer match when their StorageClass names are equal (and, if both carry
/// a group replication ID, those are equal too) and their cluster IDs are equal as sets.
pub fn merge(stored: &[PeerClass], computed: &[PeerClass]) -> Vec<PeerClass> {
    merge_keeping(stored, computed, |_| false)
}

/// [`merge`], except that stored entries for which `keep` holds stay as they are.
pub(crate) fn merge_keeping(
    stored: &[PeerClass],
    computed: &[PeerClass],
    keep: impl Fn(&PeerClass) -> bool,
) -> Vec<PeerClass> {
    let refreshed = stored.iter().filter_map(|entry| {
        if keep(entry) {
            return Some(entry.clone());
        }
        computed.iter().find(|peer| matches(entry, peer)).cloned()
    });
    let added = computed
        .iter()
        .filter(|peer| !stored.iter().any(|entry| matches(entry, peer)))
        .cloned();
    refreshed.chain(added).collect()
}

fn matches(stored: &PeerClass, computed: &PeerClass) -> bool {
    let (stored_group, computed_group) = (group_id(stored), group_id(computed));
    let same_group =
        stored_group.is_empty() || computed_group.is_empty() || stored_group == computed_group;
    same_group
        && storage_class(stored) == storage_class(computed)
        && same_set(cluster_ids(stored), cluster_ids(computed))
}

/// Equal length and each contains the other (so `[a, a]` and `[a, b]` differ, `[a, b]` and `[b, a]` don't).
fn same_set(x: &[String], y: &[String]) -> bool {
    x.len() == y.len() && x.iter().all(|id| y.contains(id)) && y.iter().all(|id| x.contains(id))
}

fn group_id(peer: &PeerClass) -> &str {
    peer.group_replication_id.as_deref().unwrap_or("")
}

fn storage_class(peer: &PeerClass) -> &str {
    peer.storage_class_name.as_deref().unwrap_or("")
}

pub(crate) fn cluster_ids(peer: &PeerClass) -> &[String] {
    peer.cluster_ids.as_deref().unwrap_or_default()
}
