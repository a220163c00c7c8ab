//! Types and names of the RamenDR hub API: the `DRPolicy`, `DRCluster` and `DRPlacementControl` custom
//! resources, the managed-cluster `DRClusterConfig` the hub reads, the OCM governance objects that
//! distribute S3 secrets, OCM's `ManagedCluster` and `ManagedClusterView` (with Ramen's view protocol),
//! and every shared constant.
//!
//! Everything here is wire-compatible with RamenDR (`ramendr.openshift.io/v1alpha1`): field names, JSON
//! shapes, CRD validation (patterns and CEL rules), finalizers, labels and condition reasons are Ramen's,
//! so objects written by Ramen and by controllers built on this crate are interchangeable.
//!
//! ```
//! use drpolicy_api::{DRPolicy, DRPolicySpec};
//! let policy = DRPolicy::new("dr-policy", DRPolicySpec {
//!     scheduling_interval: "5m".into(),
//!     dr_clusters: vec!["east".into(), "west".into()],
//!     ..Default::default()
//! });
//! assert!(policy.contains_cluster("east"));
//! ```
#![warn(missing_docs)]

pub mod crd;
pub mod dns_names;
pub mod drcluster;
pub mod drclusterconfig;
pub mod drpc;
pub mod drpolicy;
pub mod managedcluster;
pub mod names;
pub mod ocm;
pub mod schema;
pub mod view;

pub use drcluster::{ClusterMaintenanceMode, DRCluster, DRClusterSpec, DRClusterStatus};
pub use drclusterconfig::{
    DRClusterConfig, DRClusterConfigSpec, DRClusterConfigStatus, NetworkAttachment,
    StorageAccessDetail,
};
pub use drpc::{DRPlacementControl, DRPlacementControlSpec, DRPlacementControlStatus};
pub use drpolicy::{
    DRPolicy, DRPolicySpec, DRPolicyStatus, NetworkMappingRef, NetworkPeer, PeerClass,
    PeerClassesStatus,
};
pub use managedcluster::{
    ManagedCluster, ManagedClusterClaim, ManagedClusterSpec, ManagedClusterStatus,
};
pub use view::{ManagedClusterView, ManagedClusterViewSpec, ManagedClusterViewStatus, ViewScope};
