//! Reads RamenDR's `ramen_manager_config.yaml` (a `RamenConfig`) into typed Rust, the way Ramen does.
//!
//! [`parse_str`] decodes the YAML text and [`from_config_map_data`] the data of the
//! `ramen-hub-operator-config` ConfigMap. Both return a [`Parsed`]: the [`RamenConfig`] plus
//! [`Warning`]s for what Ramen tolerates silently (unknown keys, YAML 1.1 booleans, keys that only
//! match case-insensitively). Malformed YAML, values of the wrong type, values that should name a
//! namespace or object but are no valid such name (they would reach objects and templates), and
//! documents too big to read safely are a [`ConfigError::Parse`] naming the key path, line and
//! column.
//!
//! Defaults are accessor methods ([`RamenConfig::drcluster_operator_namespace_or`],
//! [`RamenConfig::secret_distribution_enabled`], ...), so a decoded config serializes back to
//! what its document said ([`RamenConfig::to_yaml`]).
//!
//! ```
//! let parsed = ramen_config::parse_str(
//!     "drClusterOperator:\n  namespaceName: ramen-system\n  s3SecretDistributionEnabeld: true\n",
//! )?;
//! assert_eq!(parsed.config.drcluster_operator_namespace_or("ramen-ops"), "ramen-system");
//! assert!(parsed.config.secret_distribution_enabled());
//! assert_eq!(
//!     parsed.warnings[0].to_string(),
//!     "drClusterOperator.s3SecretDistributionEnabeld: unknown key, ignored \
//!      (did you mean s3SecretDistributionEnabled?) at line 3 column 3",
//! );
//! # Ok::<(), ramen_config::ConfigError>(())
//! ```
#![warn(missing_docs)]

mod base64_bytes;
mod decoder;
mod defaults;
mod duration;
mod error;
mod load;
mod names;
mod request_uri;
mod s3_profile;
mod scalar;
mod tree;
mod types;
mod warning;

pub use defaults::{
    CONTROLLER_TYPE_DR_CLUSTER, CONTROLLER_TYPE_DR_HUB, ControllerType,
    DEFAULT_CEPHFS_CSI_DRIVER_NAME, DEFAULT_DR_CLUSTER_OPERATOR_CATALOG_SOURCE_NAME,
    DEFAULT_DR_CLUSTER_OPERATOR_CHANNEL_NAME, DEFAULT_DR_CLUSTER_OPERATOR_CSV_NAME,
    DEFAULT_DR_CLUSTER_OPERATOR_PACKAGE_NAME, DEFAULT_LEADER_ELECTION_RESOURCE_LOCK,
    DEFAULT_LEASE_DURATION, DEFAULT_LIVENESS_ENDPOINT_NAME, DEFAULT_READINESS_ENDPOINT_NAME,
    DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD, DEFAULT_SYNC_PERIOD,
    DEFAULT_VELERO_NAMESPACE_NAME, DEFAULT_VOLSYNC_DESTINATION_COPY_METHOD,
};
pub use duration::GoDuration;
pub use error::ConfigError;
pub use load::{
    CONFIG_MAP_KEY, ConfigMapLocation, DR_CLUSTER_OPERATOR_CONFIG_MAP_NAME,
    HUB_OPERATOR_CONFIG_MAP_NAME, Parsed, from_config_map_data, parse_str,
};
pub use types::{
    ControllerConfig, DrClusterOperatorConfig, HealthConfig, KubeObjectProtectionConfig,
    LeaderElectionConfig, MetricsConfig, MultiNamespaceConfig, RamenConfig, S3StoreProfile,
    SecretKeySelector, SecretReference, VolSyncConfig, WebhookConfig,
};
pub use warning::{Warning, WarningKind};

/// Compiles and runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
