//! `DRPlacementControl` (namespaced, short name `drpc`): protects one application with a DRPolicy.
//!
//! Owned by Ramen's DRPC controller; the hub DRPolicy controller only reads `spec.drPolicyRef` to block
//! the deletion of a policy in use. Only the fields whose schema and CEL rules matter to us are typed;
//! everything else in `spec` and `status` is kept verbatim (`x-kubernetes-preserve-unknown-fields` in the
//! CRD, a flattened map in Rust) so that installing this CRD, or round-tripping an object, never loses
//! what Ramen writes.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

// kube-derive takes one `printcolumn(...)` per column; clippy reads them as duplicates.
#[allow(clippy::duplicated_attributes)]
/// Desired state of a DRPlacementControl.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ramendr.openshift.io",
    version = "v1alpha1",
    kind = "DRPlacementControl",
    plural = "drplacementcontrols",
    singular = "drplacementcontrol",
    shortname = "drpc",
    namespaced,
    status = "DRPlacementControlStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "DRPlacementControl is the Schema for the drplacementcontrols API",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "preferredCluster",
        type_ = "string",
        json_path = ".spec.preferredCluster"
    ),
    printcolumn(
        name = "failoverCluster",
        type_ = "string",
        json_path = ".spec.failoverCluster"
    ),
    printcolumn(name = "desiredState", type_ = "string", json_path = ".spec.action"),
    printcolumn(name = "currentState", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "progression",
        type_ = "string",
        json_path = ".status.progression",
        priority = 2
    ),
    printcolumn(
        name = "start time",
        type_ = "string",
        json_path = ".status.actionStartTime",
        priority = 2
    ),
    printcolumn(
        name = "duration",
        type_ = "string",
        json_path = ".status.actionDuration",
        priority = 2
    ),
    printcolumn(
        name = "peer ready",
        type_ = "string",
        json_path = ".status.conditions[1].status",
        priority = 2
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DRPlacementControlSpec {
    /// The DRPolicy protecting the application.
    #[schemars(schema_with = "crate::schema::object_reference")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "drPolicyRef is immutable", "rule": "self == oldSelf"}
    ]))]
    pub dr_policy_ref: ObjectReference,

    /// The Placement (or PlacementRule) of the application.
    #[schemars(schema_with = "crate::schema::object_reference")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "placementRef is immutable", "rule": "self == oldSelf"}
    ]))]
    pub placement_ref: ObjectReference,

    /// Selects the application's PVCs.
    #[schemars(schema_with = "crate::schema::label_selector")]
    #[schemars(extend("x-kubernetes-validations" = [
        {"message": "pvcSelector is immutable", "rule": "self == oldSelf"}
    ]))]
    pub pvc_selector: LabelSelector,

    /// Requested DR action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Failover", "Relocate"]))]
    pub action: Option<String>,

    /// Cluster the application should run on when no action is requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_cluster: Option<String>,

    /// Cluster to fail over to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_cluster: Option<String>,

    /// Every other spec field Ramen defines, kept as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}

/// Observed state of a DRPlacementControl; only the fields shown by the printer columns are typed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct DRPlacementControlStatus {
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Progression within the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progression: Option<String>,
    /// Start of the current action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub action_start_time: Option<String>,
    /// Duration of the current action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_duration: Option<String>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Every other status field Ramen defines, kept as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}

impl DRPlacementControl {
    /// Name of the DRPolicy this DRPC references (`""` when unset).
    pub fn dr_policy_name(&self) -> &str {
        self.spec.dr_policy_ref.name.as_deref().unwrap_or("")
    }
}
