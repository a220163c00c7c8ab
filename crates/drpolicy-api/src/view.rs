//! OCM's `ManagedClusterView` (`view.open-cluster-management.io/v1beta1`, namespaced in the cluster's
//! namespace) and Ramen HEAD's protocol for it: which views a hub controller asks for, under which
//! names, labels and annotations, and how an answer is read — with Ramen's error texts.
//!
//! A hub controller creates a view; OCM's view agent on the managed cluster reads the object named in
//! `spec.scope` and writes it into `status.result`, with one condition `Processing`. The functions here
//! are pure: [`ViewTarget::desired`] builds the view to create, [`read_result`] decodes an answer.
//!
//! ```
//! use drpolicy_api::view::{ViewTarget, read_result, ViewError};
//! use drpolicy_api::DRClusterConfig;
//!
//! let view = ViewTarget::DRClusterConfig.desired("east", "east");
//! assert_eq!(view.metadata.name.as_deref(), Some("east-drcconfig-mcv"));
//! assert_eq!(view.metadata.namespace.as_deref(), Some("east"));
//! // Not answered yet.
//! let err = read_result::<DRClusterConfig>(&view).unwrap_err();
//! assert_eq!(err.to_string(), "getManagedClusterResource results: missing ManagedClusterView conditions");
//! ```

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::CustomResource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

use crate::names::{
    CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE, RAMEN_GROUP, RAMEN_VERSION,
};

/// Annotation marking views whose answers re-reconcile DRPolicies; its value is the cluster name.
pub const DRPOLICY_VIEW_ANNOTATION: &str = "drpolicy.ramendr.openshift.io";
/// Annotation Ramen's DRCluster controller sets on the views it shares with the DRPolicy controller
/// (merged, never removed).
pub const DRCLUSTER_VIEW_ANNOTATION: &str = "drcluster.ramendr.openshift.io/drcluster-name";
/// The one condition type of an answered view.
pub const CONDITION_PROCESSING: &str = "Processing";
/// Reason of a `Processing` condition when the viewed object could not be read.
pub const REASON_GET_RESOURCE_FAILED: &str = "GetResourceFailed";
/// Reason OCM writes when it read the object.
pub const REASON_GET_RESOURCE_PROCESSING: &str = "GetResourceProcessing";

/// `spec` of a ManagedClusterView.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "view.open-cluster-management.io",
    version = "v1beta1",
    kind = "ManagedClusterView",
    plural = "managedclusterviews",
    namespaced,
    status = "ManagedClusterViewStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ManagedClusterViewSpec {
    /// What to read on the managed cluster.
    #[serde(default)]
    pub scope: ViewScope,
}

/// `spec.scope`: the object a view reads. Ramen sets `apiGroup`, `version`, `kind` and `name`; all seven
/// fields count when a stored scope is compared with the desired one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ViewScope {
    /// API group of the object (empty for the core group).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Resource (plural); an alternative to `kind`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource: String,
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object namespace (empty for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// How often the agent refreshes the result (0: OCM's default).
    #[serde(
        default,
        rename = "updateIntervalSeconds",
        skip_serializing_if = "is_zero"
    )]
    pub update_interval_seconds: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `status` of a ManagedClusterView.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ManagedClusterViewStatus {
    /// Normally exactly one `Processing` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The object read, as the agent saw it (an embedded resource: `apiVersion` and `kind` included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// The API a managed cluster serves VolumeGroupSnapshotClasses under (Ramen probes the CRDs, §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupSnapshotApi {
    /// `groupsnapshot.storage.k8s.io/v1` (upstream).
    Public,
    /// `groupsnapshot.storage.openshift.io/v1beta1` (OpenShift's private copy).
    Private,
}

impl GroupSnapshotApi {
    /// API group.
    pub fn group(self) -> &'static str {
        match self {
            GroupSnapshotApi::Public => "groupsnapshot.storage.k8s.io",
            GroupSnapshotApi::Private => "groupsnapshot.storage.openshift.io",
        }
    }

    /// API version.
    pub fn version(self) -> &'static str {
        match self {
            GroupSnapshotApi::Public => "v1",
            GroupSnapshotApi::Private => "v1beta1",
        }
    }

    /// Name of the `volumegroupsnapshots` CRD whose presence selects this API.
    pub fn crd_name(self) -> String {
        format!("volumegroupsnapshots.{}", self.group())
    }
}

/// What a hub DRPolicy controller views on a managed cluster, one variant per kind (Ramen HEAD §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViewTarget {
    /// The cluster's `DRClusterConfig` (named like the cluster).
    DRClusterConfig,
    /// A `StorageClass`.
    StorageClass,
    /// A `VolumeSnapshotClass`.
    VolumeSnapshotClass,
    /// A `VolumeReplicationClass`.
    VolumeReplicationClass,
    /// A `VolumeGroupReplicationClass`.
    VolumeGroupReplicationClass,
    /// A `VolumeGroupSnapshotClass` under the given API.
    VolumeGroupSnapshotClass(GroupSnapshotApi),
    /// The `volumegroupsnapshots` CRD of the given API (a probe: is that API served?).
    GroupSnapshotCrd(GroupSnapshotApi),
}

impl ViewTarget {
    /// The class kinds whose views are pruned by kind label, in Ramen's walk order (§4.4).
    pub const CLASS_KINDS: [ViewTarget; 5] = [
        ViewTarget::StorageClass,
        ViewTarget::VolumeSnapshotClass,
        ViewTarget::VolumeReplicationClass,
        ViewTarget::VolumeGroupSnapshotClass(GroupSnapshotApi::Public),
        ViewTarget::VolumeGroupReplicationClass,
    ];

    /// `(apiGroup, version, kind)` of the viewed object.
    pub fn api(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ViewTarget::DRClusterConfig => (RAMEN_GROUP, RAMEN_VERSION, "DRClusterConfig"),
            ViewTarget::StorageClass => ("storage.k8s.io", "v1", "StorageClass"),
            ViewTarget::VolumeSnapshotClass => {
                ("snapshot.storage.k8s.io", "v1", "VolumeSnapshotClass")
            }
            ViewTarget::VolumeReplicationClass => (
                "replication.storage.openshift.io",
                "v1alpha1",
                "VolumeReplicationClass",
            ),
            ViewTarget::VolumeGroupReplicationClass => (
                "replication.storage.openshift.io",
                "v1alpha1",
                "VolumeGroupReplicationClass",
            ),
            ViewTarget::VolumeGroupSnapshotClass(api) => {
                (api.group(), api.version(), "VolumeGroupSnapshotClass")
            }
            ViewTarget::GroupSnapshotCrd(_) => {
                ("apiextensions.k8s.io", "v1", "CustomResourceDefinition")
            }
        }
    }

    /// The short type in the view name (`<name>-<type>-mcv`).
    fn type_suffix(self) -> &'static str {
        match self {
            ViewTarget::DRClusterConfig => "drcconfig",
            ViewTarget::StorageClass => "sc",
            ViewTarget::VolumeSnapshotClass => "vsc",
            ViewTarget::VolumeReplicationClass => "vrc",
            ViewTarget::VolumeGroupReplicationClass => "vgrc",
            ViewTarget::VolumeGroupSnapshotClass(_) => "vgsc",
            ViewTarget::GroupSnapshotCrd(_) => "crd",
        }
    }

    /// The kind label (value `""`) Ramen puts on class views to list and prune them by kind; `None` for
    /// the DRClusterConfig view and CRD probes, which are never pruned.
    pub fn kind_label(self) -> Option<&'static str> {
        match self {
            ViewTarget::StorageClass => Some("ramendr.openshift.io/storageclass"),
            ViewTarget::VolumeSnapshotClass => Some("ramendr.openshift.io/volumesnapshotclass"),
            ViewTarget::VolumeReplicationClass => {
                Some("ramendr.openshift.io/volumereplicationclass")
            }
            ViewTarget::VolumeGroupReplicationClass => {
                Some("ramendr.openshift.io/volumegroupreplicationclass")
            }
            ViewTarget::VolumeGroupSnapshotClass(_) => {
                Some("ramendr.openshift.io/volumegroupsnapshotclass")
            }
            ViewTarget::DRClusterConfig | ViewTarget::GroupSnapshotCrd(_) => None,
        }
    }

    /// Name of the view of object `object` (`<object>-<type>-mcv`). The DRClusterConfig is named like
    /// the cluster, a CRD probe like its CRD.
    pub fn view_name(self, object: &str) -> String {
        format!("{object}-{}-mcv", self.type_suffix())
    }

    /// The scope reading object `object`, as Ramen sets it (`apiGroup`, `version`, `kind`, `name`).
    pub fn scope(self, object: &str) -> ViewScope {
        let (api_group, version, kind) = self.api();
        ViewScope {
            api_group: api_group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            name: object.to_owned(),
            ..ViewScope::default()
        }
    }

    /// The view to create in cluster namespace `cluster` for object `object`: Ramen's name, the kind
    /// label (if any) and `created-by-ramen` labels, the `drpolicy.ramendr.openshift.io: <cluster>`
    /// annotation, and the scope.
    pub fn desired(self, cluster: &str, object: &str) -> ManagedClusterView {
        let mut labels = BTreeMap::from([(
            CREATED_BY_RAMEN_LABEL.to_owned(),
            CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
        )]);
        if let Some(kind) = self.kind_label() {
            labels.insert(kind.to_owned(), String::new());
        }
        ManagedClusterView {
            metadata: ObjectMeta {
                name: Some(self.view_name(object)),
                namespace: Some(cluster.to_owned()),
                labels: Some(labels),
                annotations: Some(BTreeMap::from([(
                    DRPOLICY_VIEW_ANNOTATION.to_owned(),
                    cluster.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: ManagedClusterViewSpec {
                scope: self.scope(object),
            },
            status: None,
        }
    }
}

/// Why a view gave no usable object. `Display` is Ramen HEAD's text, prefix included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewError {
    /// No condition yet: OCM has not processed the view.
    NoConditions,
    /// More than one condition.
    MultipleConditions,
    /// The one condition is not `Processing`.
    InvalidCondition(String),
    /// The viewed object does not exist on the managed cluster (or its API is not served).
    NotFound,
    /// The agent could not read the object; the text after the last `err:` in its message.
    GetFailed(String),
    /// `Processing` is not `True`, for the given reason.
    NotReady(String),
    /// The result is missing or does not decode as the expected kind.
    Decode(String),
}

impl ViewError {
    /// Whether the viewed object does not exist on the managed cluster.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ViewError::NotFound)
    }

    /// Whether the view has not been answered yet (no condition): the answer is a matter of time.
    pub fn is_unanswered(&self) -> bool {
        matches!(self, ViewError::NoConditions)
    }
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("getManagedClusterResource results: ")?;
        match self {
            ViewError::NoConditions => f.write_str("missing ManagedClusterView conditions"),
            ViewError::MultipleConditions => {
                f.write_str("found multiple status conditions with ManagedClusterView")
            }
            ViewError::InvalidCondition(t) => {
                write!(f, "found invalid condition ({t}) in ManagedClusterView")
            }
            ViewError::NotFound => {
                f.write_str("\"requested resource not found in ManagedCluster\" not found")
            }
            ViewError::GetFailed(e) => write!(f, "err: {e}"),
            ViewError::NotReady(r) => write!(f, "ManagedClusterView is not ready (reason: {r})"),
            ViewError::Decode(e) => write!(
                f,
                "failed to Unmarshal data from ManagedClusterView to resource: {e}"
            ),
        }
    }
}

impl std::error::Error for ViewError {}

/// Decodes a view's answer as `T`, by Ramen HEAD's rules (§4.3): exactly one `Processing` condition;
/// `GetResourceFailed` whose message ends in `not found` or `the server could not find the requested
/// resource` is [`ViewError::NotFound`]; otherwise the condition must be `True` and the result decode.
/// Unknown fields of the result are ignored.
pub fn read_result<T: DeserializeOwned>(view: &ManagedClusterView) -> Result<T, ViewError> {
    let status = view.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let condition = match conditions {
        [] => return Err(ViewError::NoConditions),
        [one] => one,
        _ => return Err(ViewError::MultipleConditions),
    };
    if condition.type_ != CONDITION_PROCESSING {
        return Err(ViewError::InvalidCondition(condition.type_.clone()));
    }
    if condition.reason == REASON_GET_RESOURCE_FAILED {
        let message = condition.message.as_str();
        if message.ends_with("not found")
            || message.ends_with("the server could not find the requested resource")
        {
            return Err(ViewError::NotFound);
        }
        let detail = message
            .rfind("err:")
            .map(|at| message[at + "err:".len()..].trim_start())
            .unwrap_or_default();
        return Err(ViewError::GetFailed(detail.to_owned()));
    }
    if condition.status != "True" {
        return Err(ViewError::NotReady(condition.reason.clone()));
    }
    let result = status
        .and_then(|s| s.result.clone())
        .ok_or_else(|| ViewError::Decode("unexpected end of JSON input".to_owned()))?;
    serde_json::from_value(result).map_err(|e| ViewError::Decode(e.to_string()))
}

impl ManagedClusterView {
    /// The `drpolicy.ramendr.openshift.io` annotation's value (the cluster), if the view carries it.
    pub fn drpolicy_cluster(&self) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(DRPOLICY_VIEW_ANNOTATION)
            .map(String::as_str)
    }

    /// What has to change in this stored view so that it matches `desired` (Ramen HEAD §4.1): the scope
    /// replaced when any of its fields differs, annotations merged with `desired`'s winning. Labels are
    /// left alone (Ramen sets them only at creation). `None` when nothing differs.
    pub fn reconciled_with(&self, desired: &ManagedClusterView) -> Option<ManagedClusterView> {
        let mut updated = self.clone();
        let mut changed = false;
        if updated.spec.scope != desired.spec.scope {
            updated.spec.scope = desired.spec.scope.clone();
            changed = true;
        }
        let annotations = updated
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        for (key, value) in desired.metadata.annotations.iter().flatten() {
            if annotations.get(key) != Some(value) {
                annotations.insert(key.clone(), value.clone());
                changed = true;
            }
        }
        changed.then_some(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DRClusterConfig;
    use serde_json::json;

    fn answered(condition: Value, result: Option<Value>) -> ManagedClusterView {
        let mut view = ViewTarget::DRClusterConfig.desired("east", "east");
        view.status = Some(
            serde_json::from_value(json!({"conditions": [condition], "result": result})).unwrap(),
        );
        view
    }

    fn processing(status: &str, reason: &str, message: &str) -> Value {
        json!({"type": "Processing", "status": status, "reason": reason, "message": message,
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn desired_views_follow_ramens_names_labels_and_scopes() {
        let view = ViewTarget::DRClusterConfig.desired("east", "east");
        let body = serde_json::to_value(&view).unwrap();
        assert_eq!(
            body,
            json!({"apiVersion": "view.open-cluster-management.io/v1beta1", "kind": "ManagedClusterView",
                   "metadata": {"name": "east-drcconfig-mcv", "namespace": "east",
                     "labels": {"ramendr.openshift.io/created-by-ramen": "true"},
                     "annotations": {"drpolicy.ramendr.openshift.io": "east"}},
                   "spec": {"scope": {"apiGroup": "ramendr.openshift.io", "version": "v1alpha1",
                     "kind": "DRClusterConfig", "name": "east"}}})
        );
        let cases = [
            (ViewTarget::StorageClass, "gold-sc-mcv", "storageclass"),
            (
                ViewTarget::VolumeSnapshotClass,
                "gold-vsc-mcv",
                "volumesnapshotclass",
            ),
            (
                ViewTarget::VolumeReplicationClass,
                "gold-vrc-mcv",
                "volumereplicationclass",
            ),
            (
                ViewTarget::VolumeGroupReplicationClass,
                "gold-vgrc-mcv",
                "volumegroupreplicationclass",
            ),
            (
                ViewTarget::VolumeGroupSnapshotClass(GroupSnapshotApi::Private),
                "gold-vgsc-mcv",
                "volumegroupsnapshotclass",
            ),
        ];
        for (target, name, label) in cases {
            let view = target.desired("east", "gold");
            assert_eq!(view.metadata.name.as_deref(), Some(name));
            let labels = view.metadata.labels.unwrap();
            assert_eq!(labels[&format!("ramendr.openshift.io/{label}")], "");
            assert_eq!(labels["ramendr.openshift.io/created-by-ramen"], "true");
        }
        let probe = ViewTarget::GroupSnapshotCrd(GroupSnapshotApi::Public);
        let crd = GroupSnapshotApi::Public.crd_name();
        assert_eq!(
            probe.view_name(&crd),
            "volumegroupsnapshots.groupsnapshot.storage.k8s.io-crd-mcv"
        );
        assert_eq!(probe.kind_label(), None);
        let scope = ViewTarget::VolumeGroupSnapshotClass(GroupSnapshotApi::Private).scope("g");
        assert_eq!(
            (scope.api_group.as_str(), scope.version.as_str()),
            ("groupsnapshot.storage.openshift.io", "v1beta1")
        );
    }

    #[test]
    fn results_are_read_by_ramens_rules() {
        let config = json!({"apiVersion": "ramendr.openshift.io/v1alpha1", "kind": "DRClusterConfig",
                            "metadata": {"name": "east"}, "spec": {"clusterID": "id-east"},
                            "status": {"storageClasses": ["gold"], "futureField": 1}});
        let ok = answered(
            processing(
                "True",
                REASON_GET_RESOURCE_PROCESSING,
                "Watching resources successfully",
            ),
            Some(config),
        );
        let read: DRClusterConfig = read_result(&ok).unwrap();
        assert_eq!(read.status.unwrap().storage_classes(), ["gold"]);

        let cases = [
            (
                processing(
                    "False",
                    "GetResourceFailed",
                    "failed to get: drclusterconfigs.ramendr.openshift.io \"east\" not found",
                ),
                "getManagedClusterResource results: \"requested resource not found in ManagedCluster\" not found",
            ),
            (
                processing(
                    "False",
                    "GetResourceFailed",
                    "get: the server could not find the requested resource",
                ),
                "getManagedClusterResource results: \"requested resource not found in ManagedCluster\" not found",
            ),
            (
                processing(
                    "False",
                    "GetResourceFailed",
                    "failed. err: forbidden err: boom",
                ),
                "getManagedClusterResource results: err: boom",
            ),
            (
                processing("False", "GetResourceFailed", "no detail"),
                "getManagedClusterResource results: err: ",
            ),
            (
                processing("False", "Pending", "m"),
                "getManagedClusterResource results: ManagedClusterView is not ready (reason: Pending)",
            ),
            (
                json!({"type": "Other", "status": "True", "reason": "r", "message": "m",
                       "lastTransitionTime": "2026-01-01T00:00:00Z"}),
                "getManagedClusterResource results: found invalid condition (Other) in ManagedClusterView",
            ),
        ];
        for (condition, text) in cases {
            let err = read_result::<DRClusterConfig>(&answered(condition, None)).unwrap_err();
            assert_eq!(err.to_string(), text);
        }
        let missing = answered(
            processing("True", REASON_GET_RESOURCE_PROCESSING, "ok"),
            None,
        );
        let err = read_result::<DRClusterConfig>(&missing).unwrap_err();
        assert!(matches!(err, ViewError::Decode(_)), "{err:?}");
        assert!(ViewError::NotFound.is_not_found() && ViewError::NoConditions.is_unanswered());

        let mut two = ok.clone();
        let conditions = two.status.as_mut().unwrap().conditions.as_mut().unwrap();
        conditions.push(conditions[0].clone());
        assert_eq!(
            read_result::<DRClusterConfig>(&two).unwrap_err(),
            ViewError::MultipleConditions
        );
    }

    #[test]
    fn stored_views_are_reconciled_by_scope_and_merged_annotations_only() {
        let desired = ViewTarget::StorageClass.desired("east", "gold");
        assert_eq!(desired.reconciled_with(&desired), None);

        let mut stored = desired.clone();
        stored.metadata.labels = None;
        stored.metadata.annotations = Some(BTreeMap::from([(
            DRCLUSTER_VIEW_ANNOTATION.to_owned(),
            "east".to_owned(),
        )]));
        stored.spec.scope.update_interval_seconds = 30;
        let updated = stored.reconciled_with(&desired).unwrap();
        assert_eq!(updated.spec.scope, desired.spec.scope);
        let annotations = updated.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations.len(), 2);
        assert_eq!(updated.drpolicy_cluster(), Some("east"));
        assert_eq!(updated.metadata.labels, None, "labels are never rewritten");
    }
}
