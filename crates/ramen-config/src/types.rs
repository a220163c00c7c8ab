//! The `RamenConfig` document and its sections, field for field as Ramen spells them on the wire.
//!
//! The fields are those of Ramen ccc4a73c's `api/v1alpha1/ramenconfig_types.go` (which embeds
//! controller-runtime v0.16's `ControllerManagerConfigurationSpec`) plus the fields Ramen HEAD
//! added. Go strings are plain `String`s (Go cannot tell `""` from absent either); Go pointers and
//! the flags whose default changed between Ramen versions are `Option`s. Defaults live in
//! accessor methods (see `defaults.rs`), so serializing a parsed config writes back only what the
//! document said.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::base64_bytes;
use crate::duration::GoDuration;

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The `ramen_manager_config.yaml` document (`kind: RamenConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RamenConfig {
    /// `apiVersion`; shipped files use `ramendr.openshift.io/v1alpha1`. Not checked by Ramen.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `kind`; shipped files use `RamenConfig`. Not checked by Ramen.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `syncPeriod`: the informer resync period (controller-runtime defaults it to 10h).
    /// Only in Ramen ccc4a73c (controller-runtime's embedded spec).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_period: Option<GoDuration>,
    /// `leaderElection`: leader election settings of the manager.
    #[serde(skip_serializing_if = "is_default")]
    pub leader_election: LeaderElectionConfig,
    /// `cacheNamespace`: restricts the manager's cache to one namespace (empty: all).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cache_namespace: String,
    /// `gracefulShutDown` (sic): how long the manager waits for runnables to stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_shut_down: Option<GoDuration>,
    /// `controller`: controller-runtime controller settings (ccc4a73c only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<ControllerConfig>,
    /// `metrics`: where the metrics endpoint listens.
    #[serde(skip_serializing_if = "is_default")]
    pub metrics: MetricsConfig,
    /// `health`: health probe endpoint settings.
    #[serde(skip_serializing_if = "is_default")]
    pub health: HealthConfig,
    /// `webhook`: webhook server settings (ccc4a73c only; Ramen registers no webhooks).
    #[serde(skip_serializing_if = "is_default")]
    pub webhook: WebhookConfig,
    /// `ramenControllerType`: `dr-hub` or `dr-cluster` (see [`RamenConfig::controller_type`]).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ramen_controller_type: String,
    /// `s3StoreProfiles`: the S3 stores DR clusters replicate metadata to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub s3_store_profiles: Vec<S3StoreProfile>,
    /// `maxConcurrentReconciles` (Go `int`; 0 means 1, see
    /// [`RamenConfig::max_concurrent_reconciles_or_default`]).
    #[serde(skip_serializing_if = "is_default")]
    pub max_concurrent_reconciles: i64,
    /// `drClusterOperator`: how the hub deploys the DR cluster operator and its S3 secrets.
    #[serde(skip_serializing_if = "is_default")]
    pub dr_cluster_operator: DrClusterOperatorConfig,
    /// `volSync`: VolSync settings.
    #[serde(skip_serializing_if = "is_default")]
    pub vol_sync: VolSyncConfig,
    /// `kubeObjectProtection`: Kubernetes object (Velero) protection settings.
    #[serde(skip_serializing_if = "is_default")]
    pub kube_object_protection: KubeObjectProtectionConfig,
    /// `multiNamespace`: multi-namespace protection settings.
    #[serde(skip_serializing_if = "is_default")]
    pub multi_namespace: MultiNamespaceConfig,
    /// `volumeUnprotectionEnabled`.
    #[serde(skip_serializing_if = "is_default")]
    pub volume_unprotection_enabled: bool,
    /// `ramenOpsNamespace`: namespace the hub creates for ops resources (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ramen_ops_namespace: String,
    /// `retainNamespaceSCCAcrossPeers` (Ramen HEAD).
    #[serde(
        rename = "retainNamespaceSCCAcrossPeers",
        skip_serializing_if = "is_default"
    )]
    pub retain_namespace_scc_across_peers: bool,
}

/// `leaderElection` (component-base `LeaderElectionConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeaderElectionConfig {
    /// `leaderElect`: whether to run leader election (shipped: `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_elect: Option<bool>,
    /// `leaseDuration` (controller-runtime default 15s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_duration: Option<GoDuration>,
    /// `renewDeadline` (controller-runtime default 10s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_deadline: Option<GoDuration>,
    /// `retryPeriod` (controller-runtime default 2s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_period: Option<GoDuration>,
    /// `resourceLock` (default `leases`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_lock: String,
    /// `resourceName`: the lease name (shipped: `hub.ramendr.openshift.io`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_name: String,
    /// `resourceNamespace` (default: the operator's namespace).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_namespace: String,
}

/// `controller` (controller-runtime `ControllerConfigurationSpec`, ccc4a73c only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerConfig {
    /// `groupKindConcurrency`: workers per `Kind.group` (e.g. `DRPolicy.ramendr.openshift.io`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub group_kind_concurrency: BTreeMap<String, i64>,
    /// `cacheSyncTimeout`: a Go `*time.Duration`, so on the wire an **integer of nanoseconds**.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_sync_timeout: Option<i64>,
    /// `recoverPanic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recover_panic: Option<bool>,
}

/// `metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricsConfig {
    /// `bindAddress` (shipped: `127.0.0.1:9289`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bind_address: String,
}

/// `health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthConfig {
    /// `healthProbeBindAddress` (shipped: `:8081`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub health_probe_bind_address: String,
    /// `readinessEndpointName` (default `readyz`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub readiness_endpoint_name: String,
    /// `livenessEndpointName` (default `healthz`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub liveness_endpoint_name: String,
}

/// `webhook` (ccc4a73c only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookConfig {
    /// `port` (shipped: 9443).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `host`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// `certDir`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_dir: String,
}

/// One entry of `s3StoreProfiles`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3StoreProfile {
    /// `s3ProfileName`: the name DRClusters refer to (`spec.s3ProfileName`).
    pub s3_profile_name: String,
    /// `s3Bucket`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub s3_bucket: String,
    /// `s3CompatibleEndpoint`: the S3 endpoint URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub s3_compatible_endpoint: String,
    /// `s3Region`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub s3_region: String,
    /// `s3SecretRef`: the hub secret with the S3 credentials. Ramen looks the secret up in its
    /// own namespace and ignores `namespace`.
    #[serde(skip_serializing_if = "is_default")]
    pub s3_secret_ref: SecretReference,
    /// `veleroNamespaceSecretKeyRef`: the Velero credentials secret key, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub velero_namespace_secret_key_ref: Option<SecretKeySelector>,
    /// `caCertificates`: PEM bundle bytes; a Go `[]byte`, so **base64** on the wire.
    #[serde(with = "base64_bytes", skip_serializing_if = "Vec::is_empty")]
    pub ca_certificates: Vec<u8>,
}

/// A `corev1.SecretReference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretReference {
    /// `name`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `namespace`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// A `corev1.SecretKeySelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretKeySelector {
    /// `name`: the secret name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `key`: the key within the secret.
    pub key: String,
    /// `optional`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `drClusterOperator`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DrClusterOperatorConfig {
    /// `deploymentAutomationEnabled`; absent means **true** (Ramen HEAD), see
    /// [`DrClusterOperatorConfig::deployment_automation_enabled`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_automation_enabled: Option<bool>,
    /// `s3SecretDistributionEnabled`; absent means **true** (Ramen HEAD), see
    /// [`DrClusterOperatorConfig::s3_secret_distribution_enabled`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_secret_distribution_enabled: Option<bool>,
    /// `channelName` (default `alpha`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel_name: String,
    /// `packageName` (default `ramen-dr-cluster-operator`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub package_name: String,
    /// `namespaceName`: where the DR cluster operator and delivered secrets live (default: the
    /// hub operator's namespace).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace_name: String,
    /// `catalogSourceName` (default `ramen-catalog`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub catalog_source_name: String,
    /// `catalogSourceNamespaceName` (default: the hub operator's namespace).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub catalog_source_namespace_name: String,
    /// `clusterServiceVersionName` (default `ramen-dr-cluster-operator.v0.0.1`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster_service_version_name: String,
}

/// `volSync`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolSyncConfig {
    /// `disabled`.
    #[serde(skip_serializing_if = "is_default")]
    pub disabled: bool,
    /// `cephFSCSIDriverName` (default `openshift-storage.cephfs.csi.ceph.com`).
    #[serde(
        rename = "cephFSCSIDriverName",
        skip_serializing_if = "String::is_empty"
    )]
    pub cephfs_csi_driver_name: String,
    /// `destinationCopyMethod` (default `Snapshot`; shipped `Direct`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub destination_copy_method: String,
}

/// `kubeObjectProtection`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeObjectProtectionConfig {
    /// `disabled`.
    #[serde(skip_serializing_if = "is_default")]
    pub disabled: bool,
    /// `veleroNamespaceName` (default `velero`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub velero_namespace_name: String,
}

/// `multiNamespace`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MultiNamespaceConfig {
    /// `FeatureEnabled` — capitalised on the wire, as Ramen's JSON tag is.
    #[serde(rename = "FeatureEnabled", skip_serializing_if = "is_default")]
    pub feature_enabled: bool,
    /// `volsyncSupported` (Ramen HEAD).
    #[serde(skip_serializing_if = "is_default")]
    pub volsync_supported: bool,
}
