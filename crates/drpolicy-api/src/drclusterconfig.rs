//! `DRClusterConfig` (cluster-scoped, on a **managed** cluster): what a DR cluster offers for replication.
//!
//! Ramen's DR cluster operator owns it on each managed cluster, named like the cluster's DRCluster, and
//! fills its status with the names of the storage, snapshot and replication classes that carry Ramen's
//! identity labels (each list sorted by name). The hub never writes it: the hub DRPolicy controller reads it
//! through a ManagedClusterView (Ramen HEAD) to compute a policy's peer classes and to validate network
//! attachments. The type exists here so that the hub can decode a view's result, and so that tests can
//! play the managed cluster; its CRD ([`crate::crd::drclusterconfigs`]) is not part of the hub chart.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of a DRClusterConfig.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ramendr.openshift.io",
    version = "v1alpha1",
    kind = "DRClusterConfig",
    plural = "drclusterconfigs",
    singular = "drclusterconfig",
    status = "DRClusterConfigStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "DRClusterConfig is the Schema for the drclusterconfigs API"
)]
#[serde(rename_all = "camelCase")]
pub struct DRClusterConfigSpec {
    // The hub identifies clusters by their ManagedCluster claim `id.k8s.io`, not by this field.
    /// Identity of the managed cluster.
    #[serde(rename = "clusterID")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "ClusterID is immutable", "rule": "self == oldSelf"}
    ]))]
    pub cluster_id: String,

    /// Replication schedules the cluster should offer replication classes for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub replication_schedules: Option<Vec<String>>,
}

/// Observed state of a DRClusterConfig: the classes and networks the cluster offers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DRClusterConfigStatus {
    /// Conditions of the DRClusterConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    /// Network attachment definitions labelled for DR on the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_attachments: Option<Vec<NetworkAttachment>>,

    /// NetworkFenceClasses the cluster offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub network_fence_classes: Option<Vec<String>>,

    /// Storage networks (CIDRs) per storage provisioner, used for fencing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_access_details: Option<Vec<StorageAccessDetail>>,

    /// StorageClasses carrying label `ramendr.openshift.io/storageid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub storage_classes: Option<Vec<String>>,

    /// VolumeGroupReplicationClasses carrying label `ramendr.openshift.io/groupreplicationid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub volume_group_replication_classes: Option<Vec<String>>,

    /// VolumeGroupSnapshotClasses carrying label `ramendr.openshift.io/storageid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub volume_group_snapshot_classes: Option<Vec<String>>,

    /// VolumeReplicationClasses carrying label `ramendr.openshift.io/replicationid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub volume_replication_classes: Option<Vec<String>>,

    /// VolumeSnapshotClasses carrying label `ramendr.openshift.io/storageid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub volume_snapshot_classes: Option<Vec<String>>,
}

/// A network attachment definition on the managed cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAttachment {
    /// CNI plugin type of the attachment (e.g. `macvlan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni_type: Option<String>,
    /// Name of the NetworkAttachmentDefinition.
    pub name: String,
    /// Namespace of the NetworkAttachmentDefinition.
    pub namespace: String,
}

/// The storage network of one storage provisioner.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccessDetail {
    /// CIDRs through which the cluster reaches the storage.
    pub cidrs: Vec<String>,
    /// CSI provisioner of the storage.
    pub storage_provisioner: String,
}

impl DRClusterConfigStatus {
    /// Names of the StorageClasses, in the order the cluster reports them (empty when absent).
    pub fn storage_classes(&self) -> &[String] {
        self.storage_classes.as_deref().unwrap_or_default()
    }

    /// Names of the VolumeSnapshotClasses, in report order.
    pub fn volume_snapshot_classes(&self) -> &[String] {
        self.volume_snapshot_classes.as_deref().unwrap_or_default()
    }

    /// Names of the VolumeReplicationClasses, in report order.
    pub fn volume_replication_classes(&self) -> &[String] {
        self.volume_replication_classes
            .as_deref()
            .unwrap_or_default()
    }

    /// Names of the VolumeGroupReplicationClasses, in report order.
    pub fn volume_group_replication_classes(&self) -> &[String] {
        self.volume_group_replication_classes
            .as_deref()
            .unwrap_or_default()
    }

    /// Names of the VolumeGroupSnapshotClasses, in report order.
    pub fn volume_group_snapshot_classes(&self) -> &[String] {
        self.volume_group_snapshot_classes
            .as_deref()
            .unwrap_or_default()
    }

    /// Network attachments, in report order.
    pub fn network_attachments(&self) -> &[NetworkAttachment] {
        self.network_attachments.as_deref().unwrap_or_default()
    }
}
