//! Decides whether a RamenDR `DRPolicy` is acceptable, and answers the cluster, secret and interval
//! questions a DRPolicy controller asks — as plain functions of cluster state, with Ramen's condition
//! reasons and messages.
//!
//! In short: no I/O here — hand it the objects, get back a verdict with the exact strings to write.
//!
//! Two rule sets live side by side:
//! * **Ramen ccc4a73c** — [`validate()`] (empty list, DRClusters found and validated, region-based metro
//!   conflicts of [`metro`]), [`needed_secrets`], [`scheduling_interval_seconds`], [`PolicyIndex`].
//! * **Ramen HEAD** additions, one file each, in HEAD's reconcile order:
//!   [`cluster_ids`](mod@cluster_ids) — the ManagedCluster gate ([`cluster_details`], reason `drClusterDetailsFailed`),
//!   the per-cluster ID check ([`managed_cluster_id`]) and the ID → DRCluster name map ([`cluster_ids()`]);
//!   [`dr_type`](mod@dr_type) — metro/regional/unknown from peer classes or the interval ([`dr_type()`], [`is_metro`],
//!   [`DrTypeCounts`]) and the metro groups of a policy ([`metro_clusters`]);
//!   [`conflicts`] — sync+async in one policy and overlaps with older policies ([`check_conflicts`],
//!   reason `DRPolicyConflictFound`);
//!   [`nads`] — network attachments on both clusters ([`validate_nads`], `status.networkPeers`,
//!   `NetworkAttachmentsValidated`, reason `NADsMissing`).
//!
//! Reasons, messages and status fields are HEAD's. Where HEAD has a known bug, the module says what is
//! done instead, when it shows, and why: BH4 in [`nads`], BH5 in [`cluster_ids`](mod@cluster_ids), BH8 in
//! [`conflicts`], and Go's interval overflow in [`dr_type`](mod@dr_type).
//!
//! ```
//! use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
//! use drpolicy_validator::{needed_secrets, validate};
//! use ramen_config::RamenConfig;
//!
//! let policy = DRPolicy::new("p", DRPolicySpec {
//!     dr_clusters: vec!["east".into(), "west".into()],
//!     scheduling_interval: "5m".into(),
//!     ..Default::default()
//! });
//! let cluster = |name: &str, profile: &str| {
//!     DRCluster::new(name, DRClusterSpec { s3_profile_name: profile.into(), ..Default::default() })
//! };
//! let clusters = vec![cluster("east", "s3-east"), cluster("west", "s3-west")];
//!
//! // Neither DRCluster has been validated by Ramen's DRCluster controller yet.
//! let invalid = validate(&policy, &clusters, []).unwrap_err();
//! assert_eq!(invalid.reason(), "DRClustersUnavailable");
//!
//! let config = ramen_config::parse_str(
//!     "s3StoreProfiles:\n- s3ProfileName: s3-east\n  s3SecretRef: {name: secret-east}\n",
//! )
//! .unwrap()
//! .config;
//! let needs = needed_secrets(&policy, &clusters, &config);
//! assert_eq!(needs.secrets.iter().collect::<Vec<_>>(), ["secret-east"]);
//! assert_eq!(
//!     needs.problems[0].to_string(),
//!     "missing profile name (s3-west) in config for DRCluster (west)"
//! );
//! ```
#![warn(missing_docs)]

pub mod cluster_ids;
pub mod conflicts;
pub mod dr_type;
pub mod index;
pub mod interval;
pub mod lookup;
pub mod metro;
pub mod nads;
pub mod secrets;
pub mod validate;

pub use cluster_ids::{
    ClusterDetailsError, ClusterIds, InstanceError, cluster_details, cluster_ids,
    head_cluster_details, managed_cluster_id,
};
pub use conflicts::{Conflict, check_conflicts, conflict_recorded, overlapping};
pub use dr_type::{DrType, DrTypeCounts, MetroClusters, dr_type, is_metro, metro_clusters};
pub use index::PolicyIndex;
pub use interval::{IntervalError, scheduling_interval_seconds};
pub use lookup::{DRClusterLookup, ManagedClusterLookup};
pub use metro::{
    may_conflict, metro_capable_clusters, metro_conflict, metro_regions, supports_metro,
};
pub use nads::{
    ConditionOutcome, MissingNad, NadValidation, TooFewClusters, nad_clusters,
    nads_missing_recorded, network_mapping_enabled, validate_nads,
};
pub use secrets::{SecretNeeds, SecretProblem, needed_secrets, secret_for_cluster};
pub use validate::{Invalid, age_order, validate};
