//! Finding the peers (reference §5.2–5.4): which StorageClasses pair up between which clusters, and how.
//!
//! Every rule is Ramen HEAD's, including the ones that look accidental, because Ramen's DRPlacementControl
//! controller reads the result: sync pairing ignores provisioners (BH14), an absent `storageid` label on
//! the later cluster reads as `""`, and whenever a class is looked up by name only the first one counts.

use drpolicy_api::PeerClass;
use drpolicy_api::names::class_labels::{
    GLOBAL, GLOBAL_VALUE, GROUP_REPLICATION_ID, OFFLOADED, REPLICATION_ID, STORAGE_ID,
};
use std::collections::BTreeMap;

use crate::PeerClasses;
use crate::classes::{ClusterClasses, ReplicationClass, SnapshotClass, StorageClass};

/// The peer classes of clusters `clusters` (a policy's clusters in `spec.drClusters` order) for
/// replication interval `scheduling_interval` (`spec.schedulingInterval`, compared verbatim), in Ramen
/// HEAD's order, before any merge with a stored status.
///
/// Clusters that report no StorageClass are left out. For every cluster but the last, for each of its
/// StorageClasses carrying a `storageid` label, in report order: first the sync peers with every later
/// cluster, then (only when `scheduling_interval` is not empty) the async peers with every later cluster.
pub fn find_peers(clusters: &[ClusterClasses], scheduling_interval: &str) -> PeerClasses {
    let reporting: Vec<&ClusterClasses> = clusters
        .iter()
        .filter(|c| c.reports_storage_classes())
        .collect();
    let mut peers = PeerClasses::default();
    for (i, a) in reporting.iter().enumerate() {
        let later = &reporting[i + 1..];
        for sc in &a.storage_classes {
            let Some(sid) = sc.labels.get(STORAGE_ID) else {
                continue;
            };
            for b in later {
                let Some(other) = b.storage_class(&sc.name) else {
                    continue;
                };
                if label(&other.labels, STORAGE_ID) == sid {
                    peers
                        .sync
                        .push(Peer::new(&sc.name, vec![sid.clone()], a, b).into());
                }
            }
            if scheduling_interval.is_empty() {
                continue;
            }
            for b in later {
                if let Some(peer) = async_peer(a, b, sc, sid, scheduling_interval) {
                    peers.async_.push(peer.into());
                }
            }
        }
    }
    peers
}

/// The async peer of StorageClass `sc` (storage ID `sid`) of cluster `a` with cluster `b`, if any.
fn async_peer(
    a: &ClusterClasses,
    b: &ClusterClasses,
    sc: &StorageClass,
    sid: &str,
    schedule: &str,
) -> Option<Peer> {
    let other = b.storage_class(&sc.name)?;
    let sid_b = label(&other.labels, STORAGE_ID);
    if sid_b == sid {
        return None; // the same storage on both sides: that pair is sync
    }
    let offloaded = sc.labels.contains_key(OFFLOADED);
    if offloaded != other.labels.contains_key(OFFLOADED) {
        return None;
    }
    let pair = Pair {
        a: Side {
            cluster: a,
            storage_id: sid,
        },
        b: Side {
            cluster: b,
            storage_id: sid_b,
        },
        storage_class: &sc.name,
        schedule,
    };
    // The first cluster's StorageClass names the VGRC to use when several share its storage ID.
    let wanted_group = a
        .storage_class(&sc.name)
        .map_or("", |first| label(&first.labels, GROUP_REPLICATION_ID));
    let group = pair.group_replication_id(wanted_group);

    let mut peer = Peer::new(&sc.name, vec![sid.to_owned(), sid_b.to_owned()], a, b);
    if offloaded {
        if group.is_empty() {
            return None;
        }
        peer.group_replication_id = group.to_owned();
        peer.grouping = true;
        peer.offloaded = true;
        peer.global = is_global(a, b, group);
        return Some(peer);
    }
    let replication = pair.replication_id();
    if !replication.is_empty() {
        peer.replication_id = replication.to_owned();
        peer.group_replication_id = group.to_owned();
        peer.grouping = !group.is_empty();
    } else if pair.both_have(|c| c.volume_group_snapshot_classes.as_slice()) {
        // A group snapshot class alone is enough: no VolumeSnapshotClass needed.
        peer.grouping = true;
    } else if !pair.both_have(|c| c.volume_snapshot_classes.as_slice()) {
        return None;
    }
    Some(peer)
}

/// Both clusters' VolumeGroupReplicationClasses labelled with group replication ID `group` (the first of
/// each, whatever its storage ID) are labelled global.
fn is_global(a: &ClusterClasses, b: &ClusterClasses, group: &str) -> bool {
    let global = |c: &ClusterClasses| {
        c.volume_group_replication_classes
            .iter()
            .find(|vgrc| label(&vgrc.labels, GROUP_REPLICATION_ID) == group)
            .is_some_and(|vgrc| label(&vgrc.labels, GLOBAL) == GLOBAL_VALUE)
    };
    global(a) && global(b)
}

/// One cluster of a candidate pair, with the storage ID of its StorageClass.
struct Side<'a> {
    cluster: &'a ClusterClasses,
    storage_id: &'a str,
}

impl Side<'_> {
    /// The cluster's first StorageClass named `storage_class` is provisioned by `provisioner`.
    fn provisioned_by(&self, storage_class: &str, provisioner: &str) -> bool {
        self.cluster
            .storage_class(storage_class)
            .is_some_and(|sc| sc.provisioner == provisioner)
    }

    /// Some snapshot class of the list carries this side's (non-empty) storage ID and the StorageClass's
    /// provisioner as its driver.
    fn has_snapshot_class(&self, classes: &[SnapshotClass], storage_class: &str) -> bool {
        classes.iter().any(|class| {
            let sid = label(&class.labels, STORAGE_ID);
            !sid.is_empty()
                && sid == self.storage_id
                && self.provisioned_by(storage_class, &class.driver)
        })
    }

    /// The replication class serves this side's StorageClass: its (non-empty) storage ID, its schedule
    /// and its provisioner all match.
    fn serves(&self, class: &ReplicationClass, storage_class: &str, schedule: &str) -> bool {
        let sid = label(&class.labels, STORAGE_ID);
        !sid.is_empty()
            && sid == self.storage_id
            && class.scheduling_interval.as_deref().unwrap_or("") == schedule
            && self.provisioned_by(storage_class, &class.provisioner)
    }
}

/// Two clusters that may peer for one StorageClass (same name, different storage IDs).
struct Pair<'a> {
    a: Side<'a>,
    b: Side<'a>,
    storage_class: &'a str,
    schedule: &'a str,
}

impl<'a> Pair<'a> {
    /// The replication ID of the first pair of VolumeReplicationClasses (a's in order, then b's in order)
    /// that both serve the StorageClass and carry the same non-empty `replicationid`; `""` if none.
    fn replication_id(&self) -> &'a str {
        let id = |side: &Side<'a>, class: &'a ReplicationClass| {
            if side.serves(class, self.storage_class, self.schedule) {
                label(&class.labels, REPLICATION_ID)
            } else {
                ""
            }
        };
        first_common_id(
            &self.a.cluster.volume_replication_classes,
            &self.b.cluster.volume_replication_classes,
            |class| id(&self.a, class),
            |class| id(&self.b, class),
        )
    }

    /// The same over VolumeGroupReplicationClasses and `groupreplicationid`; a class whose ID differs
    /// from a non-empty `wanted` does not count.
    fn group_replication_id(&self, wanted: &str) -> &'a str {
        let id = |side: &Side<'a>, class: &'a ReplicationClass| {
            if !side.serves(class, self.storage_class, self.schedule) {
                return "";
            }
            let group = label(&class.labels, GROUP_REPLICATION_ID);
            if !wanted.is_empty() && wanted != group {
                return "";
            }
            group
        };
        first_common_id(
            &self.a.cluster.volume_group_replication_classes,
            &self.b.cluster.volume_group_replication_classes,
            |class| id(&self.a, class),
            |class| id(&self.b, class),
        )
    }

    /// Both sides have a snapshot class of the selected kind for the StorageClass.
    fn both_have(&self, kind: impl Fn(&ClusterClasses) -> &[SnapshotClass]) -> bool {
        self.a
            .has_snapshot_class(kind(self.a.cluster), self.storage_class)
            && self
                .b
                .has_snapshot_class(kind(self.b.cluster), self.storage_class)
    }
}

/// The first non-empty ID that a class of `a` and a class of `b` share, a's classes in the outer loop.
fn first_common_id<'a>(
    a: &'a [ReplicationClass],
    b: &'a [ReplicationClass],
    id_a: impl Fn(&'a ReplicationClass) -> &'a str,
    id_b: impl Fn(&'a ReplicationClass) -> &'a str,
) -> &'a str {
    for class_a in a {
        let left = id_a(class_a);
        if left.is_empty() {
            continue;
        }
        if b.iter().any(|class_b| id_b(class_b) == left) {
            return left;
        }
    }
    ""
}

/// A label's value, `""` when absent.
fn label<'a>(labels: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    labels.get(key).map_or("", String::as_str)
}

/// A computed peer, before it takes the wire form of [`PeerClass`].
struct Peer {
    storage_class: String,
    storage_ids: Vec<String>,
    cluster_ids: Vec<String>,
    replication_id: String,
    group_replication_id: String,
    grouping: bool,
    offloaded: bool,
    global: bool,
}

impl Peer {
    fn new(
        storage_class: &str,
        storage_ids: Vec<String>,
        a: &ClusterClasses,
        b: &ClusterClasses,
    ) -> Self {
        Self {
            storage_class: storage_class.to_owned(),
            storage_ids,
            cluster_ids: vec![a.cluster_id.clone(), b.cluster_id.clone()],
            replication_id: String::new(),
            group_replication_id: String::new(),
            grouping: false,
            offloaded: false,
            global: false,
        }
    }
}

/// Ramen's PeerClass fields are all `omitempty`: an empty string, `false` or an empty list is not sent.
impl From<Peer> for PeerClass {
    fn from(peer: Peer) -> Self {
        let text = |s: String| (!s.is_empty()).then_some(s);
        let flag = |b: bool| b.then_some(true);
        let list = |l: Vec<String>| (!l.is_empty()).then_some(l);
        PeerClass {
            cluster_ids: list(peer.cluster_ids),
            global: flag(peer.global),
            grouping: flag(peer.grouping),
            group_replication_id: text(peer.group_replication_id),
            offloaded: flag(peer.offloaded),
            replication_id: text(peer.replication_id),
            storage_class_name: text(peer.storage_class),
            storage_id: list(peer.storage_ids),
        }
    }
}
