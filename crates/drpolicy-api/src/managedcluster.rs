//! OCM's `ManagedCluster` (`cluster.open-cluster-management.io/v1`, cluster-scoped), as far as a Ramen hub
//! reads it: whether the cluster has joined the hub and its cluster ID claim `id.k8s.io`.
//!
//! OCM's registration controller owns these objects; the hub operator only reads them. Only the fields
//! read are typed, everything else is kept as is so that an object read and written back (tests do)
//! loses nothing. The type carries no schema: OCM installs the CRD.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The claim whose value identifies a managed cluster (`ClusterClaim` `id.k8s.io`); peer classes name
/// clusters by this ID.
pub const CLUSTER_ID_CLAIM: &str = "id.k8s.io";
/// The condition OCM sets once a cluster has joined the hub.
pub const CONDITION_JOINED: &str = "ManagedClusterJoined";

/// Spec of a ManagedCluster: nothing Ramen reads, kept as is.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cluster.open-cluster-management.io",
    version = "v1",
    kind = "ManagedCluster",
    plural = "managedclusters",
    status = "ManagedClusterStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ManagedClusterSpec {
    /// Every spec field (`hubAcceptsClient`, `managedClusterClientConfigs`, `taints`, ...).
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
}

/// Status of a ManagedCluster: its conditions and claims typed, the rest kept as is.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterStatus {
    /// Conditions (`ManagedClusterJoined`, `ManagedClusterConditionAvailable`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Claims the managed cluster reports about itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_claims: Option<Vec<ManagedClusterClaim>>,
    /// Every other status field (`capacity`, `version`, ...).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One `status.clusterClaims[]` entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagedClusterClaim {
    /// Claim name, e.g. [`CLUSTER_ID_CLAIM`].
    #[serde(default)]
    pub name: String,
    /// Claim value.
    #[serde(default)]
    pub value: String,
}

impl ManagedCluster {
    /// Whether the **first** `ManagedClusterJoined` condition has status `True` (Ramen HEAD's rule).
    pub fn is_joined(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == CONDITION_JOINED))
            .is_some_and(|c| c.status == "True")
    }

    /// The value of the **first** `id.k8s.io` claim, if present and not empty.
    pub fn cluster_id(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.cluster_claims.as_ref())
            .and_then(|c| c.iter().find(|c| c.name == CLUSTER_ID_CLAIM))
            .map(|c| c.value.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cluster(status: Value) -> ManagedCluster {
        serde_json::from_value(json!({
            "apiVersion": "cluster.open-cluster-management.io/v1",
            "kind": "ManagedCluster",
            "metadata": {"name": "east"},
            "spec": {"hubAcceptsClient": true},
            "status": status,
        }))
        .unwrap()
    }

    fn joined(status: &str) -> Value {
        json!({"type": CONDITION_JOINED, "status": status, "reason": "r", "message": "m",
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn joined_and_id_come_from_the_first_matching_entry() {
        let mc = cluster(json!({
            "conditions": [joined("True"), joined("False")],
            "clusterClaims": [{"name": "id.k8s.io", "value": "id-1"}, {"name": "id.k8s.io", "value": "id-2"}],
        }));
        assert!(mc.is_joined());
        assert_eq!(mc.cluster_id(), Some("id-1"));

        let mc = cluster(json!({"conditions": [joined("False"), joined("True")]}));
        assert!(!mc.is_joined());
        assert_eq!(mc.cluster_id(), None);
    }

    #[test]
    fn empty_claim_counts_as_missing_and_no_status_is_not_joined() {
        let mc = cluster(json!({"clusterClaims": [{"name": "id.k8s.io", "value": ""}]}));
        assert_eq!(mc.cluster_id(), None);
        let mut bare = mc.clone();
        bare.status = None;
        assert!(!bare.is_joined());
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let mc = cluster(json!({
            "conditions": [joined("True")],
            "version": {"kubernetes": "v1.37.2"},
            "capacity": {"cpu": "4"},
        }));
        let back = serde_json::to_value(&mc).unwrap();
        assert_eq!(back["spec"]["hubAcceptsClient"], json!(true));
        assert_eq!(back["status"]["version"]["kubernetes"], json!("v1.37.2"));
        assert_eq!(back["status"]["capacity"]["cpu"], json!("4"));
    }
}
