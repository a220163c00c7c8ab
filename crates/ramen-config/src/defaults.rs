//! Ramen's defaults, applied when a field is read rather than when the document is decoded, so
//! a config serializes back to what it said.

use std::time::Duration;

use crate::duration::GoDuration;
use crate::types::{
    ControllerConfig, DrClusterOperatorConfig, HealthConfig, KubeObjectProtectionConfig,
    LeaderElectionConfig, RamenConfig, VolSyncConfig,
};

/// `drClusterOperator.channelName` default (`drClusterOperatorChannelNameOrDefault`).
pub const DEFAULT_DR_CLUSTER_OPERATOR_CHANNEL_NAME: &str = "alpha";
/// `drClusterOperator.packageName` default.
pub const DEFAULT_DR_CLUSTER_OPERATOR_PACKAGE_NAME: &str = "ramen-dr-cluster-operator";
/// `drClusterOperator.catalogSourceName` default.
pub const DEFAULT_DR_CLUSTER_OPERATOR_CATALOG_SOURCE_NAME: &str = "ramen-catalog";
/// `drClusterOperator.clusterServiceVersionName` default.
pub const DEFAULT_DR_CLUSTER_OPERATOR_CSV_NAME: &str = "ramen-dr-cluster-operator.v0.0.1";
/// `volSync.cephFSCSIDriverName` default.
pub const DEFAULT_CEPHFS_CSI_DRIVER_NAME: &str = "openshift-storage.cephfs.csi.ceph.com";
/// `volSync.destinationCopyMethod` default (`volSyncDestinationCopyMethodOrDefault`).
pub const DEFAULT_VOLSYNC_DESTINATION_COPY_METHOD: &str = "Snapshot";
/// `kubeObjectProtection.veleroNamespaceName` default (`VeleroNamespaceNameDefault`).
pub const DEFAULT_VELERO_NAMESPACE_NAME: &str = "velero";
/// `syncPeriod` default (controller-runtime): 10 hours.
pub const DEFAULT_SYNC_PERIOD: Duration = Duration::from_secs(10 * 60 * 60);
/// `leaderElection.resourceLock` default.
pub const DEFAULT_LEADER_ELECTION_RESOURCE_LOCK: &str = "leases";
/// `leaderElection.leaseDuration` default.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// `leaderElection.renewDeadline` default.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// `leaderElection.retryPeriod` default.
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);
/// `health.readinessEndpointName` default.
pub const DEFAULT_READINESS_ENDPOINT_NAME: &str = "readyz";
/// `health.livenessEndpointName` default.
pub const DEFAULT_LIVENESS_ENDPOINT_NAME: &str = "healthz";
/// `ramenControllerType` value of the hub operator.
pub const CONTROLLER_TYPE_DR_HUB: &str = "dr-hub";
/// `ramenControllerType` value of the DR cluster operator.
pub const CONTROLLER_TYPE_DR_CLUSTER: &str = "dr-cluster";

fn or<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() { default } else { value }
}

/// A positive Go duration, or `default` when unset, zero or negative (controller-runtime only
/// applies non-zero values).
fn positive_or(value: Option<GoDuration>, default: Duration) -> Duration {
    value
        .and_then(GoDuration::to_std)
        .filter(|d| !d.is_zero())
        .unwrap_or(default)
}

/// Which Ramen operator a config is for (`ramenControllerType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControllerType {
    /// `dr-hub`: the hub operator.
    DrHub,
    /// `dr-cluster`: the DR cluster operator.
    DrCluster,
}

impl RamenConfig {
    /// `ramenControllerType` as a [`ControllerType`]; `None` when empty or unrecognised.
    #[must_use]
    pub fn controller_type(&self) -> Option<ControllerType> {
        match self.ramen_controller_type.as_str() {
            CONTROLLER_TYPE_DR_HUB => Some(ControllerType::DrHub),
            CONTROLLER_TYPE_DR_CLUSTER => Some(ControllerType::DrCluster),
            _ => None,
        }
    }

    /// `drClusterOperator.namespaceName`, or `operator_namespace` when empty
    /// (`drClusterOperatorNamespaceNameOrDefault`): the namespace secrets are delivered to on
    /// managed clusters.
    #[must_use]
    pub fn drcluster_operator_namespace_or<'a>(&'a self, operator_namespace: &'a str) -> &'a str {
        self.dr_cluster_operator
            .namespace_name_or(operator_namespace)
    }

    /// Whether S3 secrets are distributed to DR clusters: both
    /// `drClusterOperator.deploymentAutomationEnabled` and
    /// `drClusterOperator.s3SecretDistributionEnabled`, each **true when absent** (Ramen HEAD).
    #[must_use]
    pub fn secret_distribution_enabled(&self) -> bool {
        self.dr_cluster_operator.deployment_automation_enabled()
            && self.dr_cluster_operator.s3_secret_distribution_enabled()
    }

    /// `kubeObjectProtection.veleroNamespaceName`, or `velero`.
    #[must_use]
    pub fn velero_namespace_name(&self) -> &str {
        self.kube_object_protection.velero_namespace_name()
    }

    /// `ramenOpsNamespace`, or `None` when empty (then no ops namespace is created).
    #[must_use]
    pub fn ramen_ops_namespace(&self) -> Option<&str> {
        Some(self.ramen_ops_namespace.as_str()).filter(|ns| !ns.is_empty())
    }

    /// `maxConcurrentReconciles`, or 1 when 0 (`getMaxConcurrentReconciles`).
    #[must_use]
    pub fn max_concurrent_reconciles_or_default(&self) -> i64 {
        if self.max_concurrent_reconciles == 0 {
            1
        } else {
            self.max_concurrent_reconciles
        }
    }

    /// `syncPeriod` when positive, else controller-runtime's 10 hours.
    #[must_use]
    pub fn sync_period_or_default(&self) -> Duration {
        positive_or(self.sync_period, DEFAULT_SYNC_PERIOD)
    }
}

impl DrClusterOperatorConfig {
    /// `deploymentAutomationEnabled`; **true when absent or null**. This is Ramen HEAD's
    /// default (`DefaultRamenConfig` merged under the user's document); Ramen ccc4a73c read an
    /// absent flag as false.
    #[must_use]
    pub fn deployment_automation_enabled(&self) -> bool {
        self.deployment_automation_enabled.unwrap_or(true)
    }

    /// `s3SecretDistributionEnabled`; **true when absent or null** (Ramen HEAD; ccc4a73c: false).
    #[must_use]
    pub fn s3_secret_distribution_enabled(&self) -> bool {
        self.s3_secret_distribution_enabled.unwrap_or(true)
    }

    /// `channelName`, or `alpha`.
    #[must_use]
    pub fn channel_name(&self) -> &str {
        or(&self.channel_name, DEFAULT_DR_CLUSTER_OPERATOR_CHANNEL_NAME)
    }

    /// `packageName`, or `ramen-dr-cluster-operator`.
    #[must_use]
    pub fn package_name(&self) -> &str {
        or(&self.package_name, DEFAULT_DR_CLUSTER_OPERATOR_PACKAGE_NAME)
    }

    /// `namespaceName`, or `operator_namespace`.
    #[must_use]
    pub fn namespace_name_or<'a>(&'a self, operator_namespace: &'a str) -> &'a str {
        or(&self.namespace_name, operator_namespace)
    }

    /// `catalogSourceName`, or `ramen-catalog`.
    #[must_use]
    pub fn catalog_source_name(&self) -> &str {
        or(
            &self.catalog_source_name,
            DEFAULT_DR_CLUSTER_OPERATOR_CATALOG_SOURCE_NAME,
        )
    }

    /// `catalogSourceNamespaceName`, or `operator_namespace`.
    #[must_use]
    pub fn catalog_source_namespace_name_or<'a>(&'a self, operator_namespace: &'a str) -> &'a str {
        or(&self.catalog_source_namespace_name, operator_namespace)
    }

    /// `clusterServiceVersionName`, or `ramen-dr-cluster-operator.v0.0.1`.
    #[must_use]
    pub fn cluster_service_version_name(&self) -> &str {
        or(
            &self.cluster_service_version_name,
            DEFAULT_DR_CLUSTER_OPERATOR_CSV_NAME,
        )
    }
}

impl VolSyncConfig {
    /// `cephFSCSIDriverName`, or `openshift-storage.cephfs.csi.ceph.com`.
    #[must_use]
    pub fn cephfs_csi_driver_name(&self) -> &str {
        or(&self.cephfs_csi_driver_name, DEFAULT_CEPHFS_CSI_DRIVER_NAME)
    }

    /// `destinationCopyMethod`, or `Snapshot`.
    #[must_use]
    pub fn destination_copy_method(&self) -> &str {
        or(
            &self.destination_copy_method,
            DEFAULT_VOLSYNC_DESTINATION_COPY_METHOD,
        )
    }
}

impl KubeObjectProtectionConfig {
    /// `veleroNamespaceName`, or `velero`.
    #[must_use]
    pub fn velero_namespace_name(&self) -> &str {
        or(&self.velero_namespace_name, DEFAULT_VELERO_NAMESPACE_NAME)
    }
}

impl LeaderElectionConfig {
    /// `resourceLock`, or `leases`.
    #[must_use]
    pub fn resource_lock(&self) -> &str {
        or(&self.resource_lock, DEFAULT_LEADER_ELECTION_RESOURCE_LOCK)
    }

    /// `resourceNamespace`, or `operator_namespace`.
    #[must_use]
    pub fn resource_namespace_or<'a>(&'a self, operator_namespace: &'a str) -> &'a str {
        or(&self.resource_namespace, operator_namespace)
    }

    /// `leaseDuration` when positive, else 15s.
    #[must_use]
    pub fn lease_duration_or_default(&self) -> Duration {
        positive_or(self.lease_duration, DEFAULT_LEASE_DURATION)
    }

    /// `renewDeadline` when positive, else 10s.
    #[must_use]
    pub fn renew_deadline_or_default(&self) -> Duration {
        positive_or(self.renew_deadline, DEFAULT_RENEW_DEADLINE)
    }

    /// `retryPeriod` when positive, else 2s.
    #[must_use]
    pub fn retry_period_or_default(&self) -> Duration {
        positive_or(self.retry_period, DEFAULT_RETRY_PERIOD)
    }
}

impl HealthConfig {
    /// `readinessEndpointName`, or `readyz`.
    #[must_use]
    pub fn readiness_endpoint_name(&self) -> &str {
        or(
            &self.readiness_endpoint_name,
            DEFAULT_READINESS_ENDPOINT_NAME,
        )
    }

    /// `livenessEndpointName`, or `healthz`.
    #[must_use]
    pub fn liveness_endpoint_name(&self) -> &str {
        or(&self.liveness_endpoint_name, DEFAULT_LIVENESS_ENDPOINT_NAME)
    }
}

impl ControllerConfig {
    /// `cacheSyncTimeout` (integer nanoseconds) as a duration; `None` when unset or negative.
    #[must_use]
    pub fn cache_sync_timeout_duration(&self) -> Option<Duration> {
        self.cache_sync_timeout
            .and_then(|nanos| u64::try_from(nanos).ok())
            .map(Duration::from_nanos)
    }
}
