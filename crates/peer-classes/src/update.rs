//! One reconcile's worth of peer classes: find the peers, merge them into the stored status, and decide
//! what a cluster that reports no StorageClass does to its stored peers (Ramen HEAD bug BH7).

use drpolicy_api::{DRPolicyStatus, PeerClass, PeerClassesStatus};

use crate::classes::ClusterClasses;
use crate::find::find_peers;
use crate::merge::{cluster_ids, merge_keeping};

/// A DRPolicy's `status.sync.peerClasses` and `status.async.peerClasses`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerClasses {
    /// Peers sharing one storage instance (`status.sync.peerClasses`).
    pub sync: Vec<PeerClass>,
    /// Peers replicating between storage instances (`status.async.peerClasses`).
    pub async_: Vec<PeerClass>,
}

impl PeerClasses {
    /// The lists stored in a DRPolicy's status (empty where absent).
    pub fn from_status(status: Option<&DRPolicyStatus>) -> Self {
        let list = |side: Option<&PeerClassesStatus>| {
            side.and_then(|s| s.peer_classes.clone())
                .unwrap_or_default()
        };
        Self {
            sync: list(status.and_then(|s| s.sync.as_ref())),
            async_: list(status.and_then(|s| s.async_.as_ref())),
        }
    }

    /// Writes both lists into `status` the way Ramen HEAD does: `async` and `sync` always present, each
    /// `peerClasses` omitted when empty.
    pub fn write_to(self, status: &mut DRPolicyStatus) {
        let side = |list: Vec<PeerClass>| PeerClassesStatus {
            peer_classes: (!list.is_empty()).then_some(list),
        };
        status.async_ = Some(side(self.async_));
        status.sync = Some(side(self.sync));
    }

    /// Whether both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.sync.is_empty() && self.async_.is_empty()
    }
}

/// What happens to the stored peer classes of a cluster whose DRClusterConfig lists no StorageClass.
///
/// Such a report is usually transient (a DRClusterConfig just recreated, a DR cluster operator that has
/// not reconciled yet), but it can also be final (every labelled StorageClass deleted); the hub cannot
/// tell the two apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmptyReport {
    /// Keep, unchanged and in place, every stored peer class whose `clusterIDs` include such a cluster;
    /// they are refreshed or dropped once the cluster reports StorageClasses again. Peers among the other
    /// clusters are computed as usual. The default: a DRPlacementControl keeps seeing the classes it
    /// protects with while a managed cluster's report flickers.
    #[default]
    KeepStoredPeers,
    /// Ramen HEAD (BH7): the cluster takes no part, so its stored peer classes match no computed peer
    /// and are dropped; with two clusters, both lists are wiped.
    DropStoredPeers,
}

/// The peer classes to store after this reconcile: the peers of `clusters` (the policy's clusters in
/// `spec.drClusters` order) for interval `scheduling_interval`, merged into `stored` list by list in
/// Ramen HEAD's order (see [`find_peers`] and [`merge`](crate::merge())), with clusters that report no
/// StorageClass handled as `empty_report` says.
///
/// The caller only calls this once every cluster's DRClusterConfig and classes were read: when a read
/// fails, Ramen leaves the stored lists untouched, and so should the caller.
pub fn update(
    stored: &PeerClasses,
    clusters: &[ClusterClasses],
    scheduling_interval: &str,
    empty_report: EmptyReport,
) -> PeerClasses {
    let computed = find_peers(clusters, scheduling_interval);
    let silent: Vec<&str> = match empty_report {
        EmptyReport::KeepStoredPeers => clusters
            .iter()
            .filter(|c| !c.reports_storage_classes())
            .map(|c| c.cluster_id.as_str())
            .collect(),
        EmptyReport::DropStoredPeers => Vec::new(),
    };
    let involves_silent_cluster = |entry: &PeerClass| {
        cluster_ids(entry)
            .iter()
            .any(|id| silent.contains(&id.as_str()))
    };
    PeerClasses {
        sync: merge_keeping(&stored.sync, &computed.sync, involves_silent_cluster),
        async_: merge_keeping(&stored.async_, &computed.async_, involves_silent_cluster),
    }
}
