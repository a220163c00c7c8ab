//! `DRPolicy` (cluster-scoped): the pair of DRClusters an application is protected across, and how.
//!
//! Field names, JSON shapes and validation are Ramen's, as the union of ccc4a73c and HEAD so that
//! installing this CRD over Ramen's never prunes a field.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::names::condition::VALIDATED;

// kube-derive takes one `printcolumn(...)` per column; clippy reads them as duplicates.
#[allow(clippy::duplicated_attributes)]
/// Desired state of a DRPolicy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ramendr.openshift.io",
    version = "v1alpha1",
    kind = "DRPolicy",
    plural = "drpolicies",
    singular = "drpolicy",
    status = "DRPolicyStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "DRPolicy is the Schema for the drpolicies API",
    printcolumn(
        name = "Clusters",
        type_ = "string",
        json_path = ".spec.drClusters",
        description = "The two DRClusters of the policy"
    ),
    printcolumn(
        name = "Interval",
        type_ = "string",
        json_path = ".spec.schedulingInterval",
        description = "Replication interval; empty for synchronous (metro) replication"
    ),
    printcolumn(
        name = "Validated",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Validated\")].status",
        description = "Status of the Validated condition"
    ),
    printcolumn(
        name = "Distributed",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"SecretsDistributed\")].status",
        description = "Status of the SecretsDistributed condition"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "replicationClassSelector is immutable",
        "rule": "has(oldSelf.replicationClassSelector) == has(self.replicationClassSelector)"
    },
    {
        "message": "volumeSnapshotClassSelector is immutable",
        "rule": "has(oldSelf.volumeSnapshotClassSelector) == has(self.volumeSnapshotClassSelector)"
    }
]))]
pub struct DRPolicySpec {
    /// Interval between two replications (`<n>m`, `<n>h`, `<n>d`); empty for synchronous replication.
    /// Always serialized, as Ramen's Go type does.
    #[schemars(regex(pattern = r"^(|\d+[mhd])$"))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "schedulingInterval is immutable", "rule": "self == oldSelf"}
    ]))]
    pub scheduling_interval: String,

    /// Selects the VolumeReplicationClass (async replication).
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::defaulted_label_selector")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "replicationClassSelector is immutable", "rule": "self == oldSelf"}
    ]))]
    pub replication_class_selector: LabelSelector,

    /// Selects the VolumeSnapshotClass (VolSync replication).
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::defaulted_label_selector")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "volumeSnapshotClassSelector is immutable", "rule": "self == oldSelf"}
    ]))]
    pub volume_snapshot_class_selector: LabelSelector,

    /// Selects the VolumeGroupSnapshotClass (Ramen HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::label_selector")]
    pub volume_group_snapshot_class_selector: Option<LabelSelector>,

    /// Reference to a network mapping between the clusters (Ramen HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mapping_ref: Option<NetworkMappingRef>,

    /// The two DRCluster names. Always serialized, as Ramen's Go type does.
    #[serde(rename = "drClusters")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "drClusters requires a list of 2 clusters", "rule": "size(self) == 2"},
        {"message": "drClusters is immutable", "rule": "self == oldSelf"}
    ]))]
    pub dr_clusters: Vec<String>,
}

/// Reference to a network mapping object by name (Ramen HEAD `spec.networkMappingRef`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct NetworkMappingRef {
    /// Name of the referenced object.
    #[serde(default)]
    #[schemars(extend("default" = ""))]
    pub name: String,
}

/// Observed state of a DRPolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct DRPolicyStatus {
    /// Conditions; Ramen writes type `Validated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,

    // Ramen's Go type always sends this key (`"async": {}` when empty); a writer wanting the same bytes
    // sets `Some(Default::default())`. The same holds for `sync`.
    /// Storage classes usable for asynchronous replication between the clusters (Ramen HEAD).
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub async_: Option<PeerClassesStatus>,

    /// Storage classes usable for synchronous replication between the clusters (Ramen HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<PeerClassesStatus>,

    /// Network attachment definitions present on both clusters (Ramen HEAD); written only when the policy
    /// names a network mapping.
    #[serde(
        default,
        rename = "networkPeers",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_peers: Option<Vec<NetworkPeer>>,
}

/// `status.async` / `status.sync` of a DRPolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PeerClassesStatus {
    /// Peer classes available between the clusters, one per storage class and pair of clusters.
    #[serde(
        default,
        rename = "peerClasses",
        skip_serializing_if = "Option::is_none"
    )]
    pub peer_classes: Option<Vec<PeerClass>>,
}

// Every field of Ramen's Go type is `omitempty`: Ramen never writes `false`, `""` or `[]`. The fields are
// `Option`s so that an object written by anyone round-trips unchanged.
/// A StorageClass paired between two of the policy's clusters (Ramen HEAD).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PeerClass {
    /// IDs (ManagedCluster claim `id.k8s.io`) of the two clusters, the one earlier in `spec.drClusters`
    /// first.
    #[serde(
        default,
        rename = "clusterIDs",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub cluster_ids: Option<Vec<String>>,
    /// Offloaded, and both clusters' VolumeGroupReplicationClasses are labelled
    /// `ramendr.openshift.io/global: "true"`: one group replication serves every VRG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<bool>,
    /// Whether PVCs of the class can be replicated as a group (through a VolumeGroupReplicationClass, or a
    /// VolumeGroupSnapshotClass when there is no replication ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grouping: Option<bool>,
    /// Common value of label `ramendr.openshift.io/groupreplicationid` on a matching pair of
    /// VolumeGroupReplicationClasses.
    #[serde(
        default,
        rename = "groupreplicationID",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_replication_id: Option<String>,
    /// Both StorageClasses carry label `ramendr.openshift.io/offloaded`: replication is managed outside
    /// the VRG (asynchronous peers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offloaded: Option<bool>,
    /// Common value of label `ramendr.openshift.io/replicationid` on a matching pair of
    /// VolumeReplicationClasses (asynchronous, not offloaded peers only).
    #[serde(
        default,
        rename = "replicationID",
        skip_serializing_if = "Option::is_none"
    )]
    pub replication_id: Option<String>,
    /// Name of the StorageClass present on both clusters.
    #[serde(
        default,
        rename = "storageClassName",
        skip_serializing_if = "Option::is_none"
    )]
    pub storage_class_name: Option<String>,
    /// Label `ramendr.openshift.io/storageid` of the StorageClass: one value when the clusters share the
    /// storage instance (synchronous), the first cluster's then the second's otherwise.
    #[serde(default, rename = "storageID", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::string_list")]
    pub storage_id: Option<Vec<String>>,
}

/// A network attachment definition present on the policy's clusters (Ramen HEAD).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct NetworkPeer {
    /// CNI type per cluster.
    #[serde(
        default,
        rename = "clusterCNITypes",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_cni_types: Option<BTreeMap<String, String>>,
    /// Name of the NetworkAttachmentDefinition.
    #[serde(rename = "nadName")]
    pub nad_name: String,
    /// Namespace of the NetworkAttachmentDefinition.
    #[serde(rename = "nadNamespace")]
    pub nad_namespace: String,
}

impl DRPolicy {
    /// The condition of type `type_`, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// Whether the policy's `Validated` condition is `True` for its current generation.
    pub fn is_validated(&self) -> bool {
        self.condition(VALIDATED).is_some_and(|c| {
            c.status == "True"
                && (c.observed_generation.is_none()
                    || c.observed_generation == self.metadata.generation)
        })
    }

    /// Whether the policy names `cluster` (Ramen's `DrpolicyContainsDrcluster`).
    pub fn contains_cluster(&self, cluster: &str) -> bool {
        self.spec.dr_clusters.iter().any(|c| c == cluster)
    }

    /// Whether the policy is being deleted.
    pub fn is_deleting(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }
}
