//! `DRCluster` (cluster-scoped): a managed cluster taking part in disaster recovery, with its S3 profile.
//!
//! Owned by Ramen's DRCluster controller; the DRPolicy controller reads `spec.s3ProfileName`,
//! `spec.region` and the `Validated` condition. Enumerated fields are plain strings in Rust (the CRD
//! carries the enum) so that a value added by a newer Ramen never makes an object unreadable here.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::condition::DRCLUSTER_VALIDATED;

/// Desired state of a DRCluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ramendr.openshift.io",
    version = "v1alpha1",
    kind = "DRCluster",
    plural = "drclusters",
    singular = "drcluster",
    status = "DRClusterStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "DRCluster is the Schema for the drclusters API"
)]
#[serde(rename_all = "camelCase")]
pub struct DRClusterSpec {
    /// CIDRs of the cluster's nodes, used for fencing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub cidrs: Option<Vec<String>>,

    /// Fencing state requested for the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Unfenced", "Fenced", "ManuallyFenced", "ManuallyUnfenced"]))]
    pub cluster_fence: Option<String>,

    /// Region of the cluster. Deprecated at Ramen HEAD (optional there, required at ccc4a73c); two
    /// clusters of one policy in the same region make it a metro policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "region is immutable", "rule": "self == oldSelf"}
    ]))]
    pub region: Option<String>,

    /// Name of the S3 profile (in the hub operator's RamenConfig) the cluster's data goes to.
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "s3ProfileName is immutable", "rule": "self == oldSelf"}
    ]))]
    pub s3_profile_name: String,
}

/// Observed state of a DRCluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DRClusterStatus {
    /// Conditions; Ramen's DRCluster controller writes type `Validated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    /// Storage maintenance modes active on the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_modes: Option<Vec<ClusterMaintenanceMode>>,

    /// Phase of the cluster (e.g. `Available`, `Fenced`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// A maintenance mode of a storage backend on the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMaintenanceMode {
    /// Conditions of the maintenance mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// State of the maintenance mode.
    #[schemars(extend("enum" = ["Unknown", "Error", "Progressing", "Completed"]))]
    pub state: String,
    /// CSI provisioner of the storage backend.
    pub storage_provisioner: String,
    /// Storage target ID.
    #[serde(rename = "targetID")]
    pub target_id: String,
}

impl DRCluster {
    /// Whether Ramen's DRCluster controller validated the cluster: the first `Validated` condition is
    /// `True` (Ramen looks at the first condition of that type only).
    pub fn is_validated(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == DRCLUSTER_VALIDATED))
            .is_some_and(|c| c.status == "True")
    }

    /// The cluster's region, `""` when unset (Ramen compares regions as strings, so two clusters without
    /// a region share the empty region).
    pub fn region(&self) -> &str {
        self.spec.region.as_deref().unwrap_or("")
    }
}
