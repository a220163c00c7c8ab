//! Computes a RamenDR `DRPolicy`'s sync and async peer classes — which StorageClasses pair up between its
//! clusters, and with which replication, group and offload capabilities — from the classes each cluster
//! reports, exactly as Ramen HEAD's hub DRPolicy controller does, as pure functions.
//!
//! The input is what the hub reads through ManagedClusterViews: for each cluster of the policy, in
//! `spec.drClusters` order, its ID (ManagedCluster claim `id.k8s.io`) and the StorageClasses,
//! VolumeSnapshotClasses, VolumeReplicationClasses, VolumeGroupReplicationClasses and
//! VolumeGroupSnapshotClasses its `DRClusterConfig` lists, in list order ([`ClusterClasses`]); and the
//! policy's `spec.schedulingInterval`. The policy's class selectors play no part: Ramen pairs classes by
//! their labels, and the selectors only reach the VolumeReplicationGroups. The output is
//! `status.sync.peerClasses` and `status.async.peerClasses` ([`PeerClasses`]), merged into the stored
//! lists in HEAD's order ([`update`]).
//!
//! # Where this differs from Ramen HEAD: an empty report does not wipe peer classes (BH7)
//!
//! At HEAD, a cluster whose `DRClusterConfig` momentarily lists no StorageClass takes no part in the
//! computation, so every stored peer class involving it is dropped — for a two-cluster policy, both lists
//! are wiped until the cluster reports again, and DRPlacementControls lose their classes meanwhile. By
//! default ([`EmptyReport::KeepStoredPeers`]) such entries are kept unchanged, in place, until the
//! cluster reports StorageClasses again; [`EmptyReport::DropStoredPeers`] restores HEAD's behaviour. The
//! price is that a cluster whose labelled StorageClasses are all deleted for good keeps its last peer
//! classes; a stale class stays harmless until an application uses it, whereas wiped classes stop every
//! application's protection decisions at once. Everything else — which classes pair, the flags, the order,
//! duplicates — is HEAD's, since Ramen's DRPlacementControl controller reads the result.
//!
//! ```
//! use drpolicy_api::names::class_labels::STORAGE_ID;
//! use peer_classes::{ClusterClasses, EmptyReport, PeerClasses, StorageClass, update};
//!
//! let cluster = |id: &str, sid: &str| {
//!     ClusterClasses::new(id)
//!         .with_storage_class(StorageClass::new("metro", "rbd.csi.ceph.com").with_label(STORAGE_ID, sid))
//! };
//! let clusters = [cluster("id-east", "array-1"), cluster("id-west", "array-1")];
//!
//! let peers = update(&PeerClasses::default(), &clusters, "", EmptyReport::default());
//! assert_eq!(peers.sync.len(), 1);
//! assert_eq!(peers.sync[0].storage_id.as_deref(), Some(&["array-1".to_owned()][..]));
//! assert!(peers.async_.is_empty());
//! ```
#![warn(missing_docs)]

mod classes;
mod find;
mod merge;
mod update;

pub use classes::{ClusterClasses, ReplicationClass, SnapshotClass, StorageClass};
pub use find::find_peers;
pub use merge::merge;
pub use update::{EmptyReport, PeerClasses, update};
