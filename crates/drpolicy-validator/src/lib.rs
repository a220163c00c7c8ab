//! Decides whether a RamenDR `DRPolicy` is acceptable, and answers the cluster, secret and interval
//! questions a DRPolicy controller asks — as plain functions of cluster state, with Ramen's condition
//! reasons and messages.
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

pub mod index;
pub mod interval;
pub mod lookup;
pub mod metro;
pub mod secrets;
pub mod validate;

pub use index::PolicyIndex;
pub use interval::{IntervalError, scheduling_interval_seconds};
pub use lookup::DRClusterLookup;
pub use metro::{
    may_conflict, metro_capable_clusters, metro_conflict, metro_regions, supports_metro,
};
pub use secrets::{SecretNeeds, SecretProblem, needed_secrets, secret_for_cluster};
pub use validate::{Invalid, age_order, validate};
