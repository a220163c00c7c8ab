//! OCM governance objects that distribute a hub S3 Secret to managed clusters (reference §2.2-2.4):
//! a `Policy` wrapping a `ConfigurationPolicy` whose Secret data are hub templates, a `PlacementRule`
//! listing the clusters, and a `PlacementBinding` tying the two.
//!
//! OCM owns these CRDs; the types carry no schema (`schema = "disabled"`). They serialize to the JSON
//! Ramen's Go client sends, including the fields Go always emits (`disabled: false`,
//! `namespaceSelector: {}`, `evaluationInterval: {}`, `bindingOverrides: {}`, and
//! `creationTimestamp: null` / `status: {}` inside the embedded objects, which OCM stores verbatim).
//! Top-level `creationTimestamp: null` and `status: {}` are not sent: the API server drops both.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::names::{
    CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE, POLICY_TRIGGER_ANNOTATION, ocm_names,
};

/// API group of OCM governance (Policy, PlacementBinding, ConfigurationPolicy).
pub const POLICY_GROUP: &str = "policy.open-cluster-management.io";
/// API group of the (deprecated, still used by Ramen) PlacementRule.
pub const APPS_GROUP: &str = "apps.open-cluster-management.io";
/// `remediationAction` Ramen uses everywhere.
pub const REMEDIATION_ENFORCE: &str = "Enforce";
/// `severity` of the ConfigurationPolicy.
pub const SEVERITY_HIGH: &str = "high";
/// `complianceType` of the Secret template (Go's `cpcv1.MustHave` is spelled `Musthave`).
pub const COMPLIANCE_MUSTHAVE: &str = "Musthave";

/// Spec of an OCM governance `Policy`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy.open-cluster-management.io",
    version = "v1",
    kind = "Policy",
    plural = "policies",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct PolicySpec {
    /// Whether the policy is disabled. Always sent (the OCM CRD requires it).
    #[serde(default)]
    pub disabled: bool,
    /// `Enforce` or `Inform`.
    #[serde(
        default,
        rename = "remediationAction",
        skip_serializing_if = "Option::is_none"
    )]
    pub remediation_action: Option<String>,
    /// The wrapped policies; each `objectDefinition` is stored as given.
    #[serde(default, rename = "policy-templates")]
    pub policy_templates: Vec<PolicyTemplate>,
    /// Fields of newer OCM versions, kept as is.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One entry of `spec.policy-templates`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PolicyTemplate {
    /// The embedded policy object (a ConfigurationPolicy for Ramen).
    #[serde(rename = "objectDefinition")]
    pub object_definition: Value,
}

/// Spec of an (apps) `PlacementRule`: Ramen only sets the explicit cluster list.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "apps.open-cluster-management.io",
    version = "v1",
    kind = "PlacementRule",
    plural = "placementrules",
    namespaced,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct PlacementRuleSpec {
    /// The clusters that receive the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<GenericClusterReference>>,
    /// Fields Ramen never sets (selectors, replicas...), kept as is.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `{name: <cluster>}` in a PlacementRule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GenericClusterReference {
    /// Managed cluster name.
    pub name: String,
}

/// Fields of a `PlacementBinding` (it has no `spec`: they sit at the top level).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy.open-cluster-management.io",
    version = "v1",
    kind = "PlacementBinding",
    plural = "placementbindings",
    namespaced,
    no_spec,
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
pub struct PlacementBindingFields {
    /// Overrides per binding; Go always sends `{}`.
    #[serde(default, rename = "bindingOverrides")]
    pub binding_overrides: BTreeMap<String, Value>,
    /// The placement the subjects are bound to.
    #[serde(rename = "placementRef")]
    pub placement_ref: PlacementSubject,
    /// The bound policies.
    #[serde(default)]
    pub subjects: Vec<PlacementSubject>,
}

/// `{apiGroup, kind, name}` of a PlacementBinding's `placementRef` and `subjects`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementSubject {
    /// API group of the referenced object.
    #[serde(rename = "apiGroup")]
    pub api_group: String,
    /// Kind of the referenced object.
    pub kind: String,
    /// Name of the referenced object.
    pub name: String,
}

/// Metadata of an object embedded in a policy template; Go emits `creationTimestamp: null`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedMeta {
    /// Object name.
    pub name: String,
    /// Object namespace (absent for the ConfigurationPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Always `null`, as Go's `metav1.Time` zero value.
    pub creation_timestamp: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The `ConfigurationPolicy` embedded in a distribution Policy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationPolicy {
    /// `ConfigurationPolicy`.
    pub kind: String,
    /// `policy.open-cluster-management.io/v1`.
    pub api_version: String,
    /// Name and labels.
    pub metadata: EmbeddedMeta,
    /// What the managed cluster's config-policy-controller enforces.
    pub spec: ConfigurationPolicySpec,
    /// Always `{}` as Go emits it.
    pub status: BTreeMap<String, Value>,
}

/// Spec of the embedded ConfigurationPolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ConfigurationPolicySpec {
    /// `high`.
    pub severity: String,
    /// `Enforce`.
    #[serde(rename = "remediationAction")]
    pub remediation_action: String,
    /// Always `{}`.
    #[serde(rename = "namespaceSelector")]
    pub namespace_selector: BTreeMap<String, Value>,
    /// The objects that must exist on the managed cluster.
    #[serde(rename = "object-templates")]
    pub object_templates: Vec<ObjectTemplate>,
    /// Always `{}`.
    #[serde(rename = "evaluationInterval")]
    pub evaluation_interval: BTreeMap<String, Value>,
}

/// One object a ConfigurationPolicy enforces.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ObjectTemplate {
    /// `Musthave`.
    #[serde(rename = "complianceType")]
    pub compliance_type: String,
    /// The object itself.
    #[serde(rename = "objectDefinition")]
    pub object_definition: TemplatedSecret,
}

/// The Secret created on each managed cluster. `data` holds hub templates (strings that OCM resolves to
/// the base64 values of the hub Secret), never the values themselves; there is no `type` and no
/// `stringData`, exactly like Ramen's `localSecret`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplatedSecret {
    /// `Secret`.
    pub kind: String,
    /// `v1`.
    pub api_version: String,
    /// Name, target namespace and labels.
    pub metadata: EmbeddedMeta,
    /// Data key → hub template.
    pub data: BTreeMap<String, String>,
}

/// The hub template that resolves to data key `key` of hub Secret `namespace/name`, byte for byte as
/// Ramen writes it: `{{hub fromSecret "<NS>" "<S>" "<KEY>" hub}}`.
pub fn hub_from_secret_template(namespace: &str, name: &str, key: &str) -> String {
    format!("{{{{hub fromSecret \"{namespace}\" \"{name}\" \"{key}\" hub}}}}")
}

fn created_by_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        CREATED_BY_RAMEN_LABEL.to_owned(),
        CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
    )])
}

/// What identifies one secret distribution: hub Secret `secret` in `namespace`, delivered into
/// `target_namespace` on the managed clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDistribution<'a> {
    /// Hub Secret name (`S`).
    pub secret: &'a str,
    /// Operator namespace holding the Secret and the OCM objects (`NS`).
    pub namespace: &'a str,
    /// Namespace of the delivered Secret on each managed cluster.
    pub target_namespace: &'a str,
}

impl SecretDistribution<'_> {
    /// The embedded ConfigurationPolicy creating the templated Secret.
    pub fn configuration_policy(&self) -> ConfigurationPolicy {
        let data = crate::names::S3_SECRET_KEYS
            .iter()
            .map(|key| {
                (
                    (*key).to_owned(),
                    hub_from_secret_template(self.namespace, self.secret, key),
                )
            })
            .collect();
        ConfigurationPolicy {
            kind: "ConfigurationPolicy".to_owned(),
            api_version: format!("{POLICY_GROUP}/v1"),
            metadata: EmbeddedMeta {
                name: ocm_names::configuration_policy(self.secret),
                namespace: None,
                creation_timestamp: None,
                labels: Some(created_by_labels()),
            },
            spec: ConfigurationPolicySpec {
                severity: SEVERITY_HIGH.to_owned(),
                remediation_action: REMEDIATION_ENFORCE.to_owned(),
                namespace_selector: BTreeMap::new(),
                object_templates: vec![ObjectTemplate {
                    compliance_type: COMPLIANCE_MUSTHAVE.to_owned(),
                    object_definition: TemplatedSecret {
                        kind: "Secret".to_owned(),
                        api_version: "v1".to_owned(),
                        metadata: EmbeddedMeta {
                            name: self.secret.to_owned(),
                            namespace: Some(self.target_namespace.to_owned()),
                            creation_timestamp: None,
                            labels: Some(created_by_labels()),
                        },
                        data,
                    },
                }],
                evaluation_interval: BTreeMap::new(),
            },
            status: BTreeMap::new(),
        }
    }

    /// The Policy `S`, with the trigger annotation set to the hub Secret's resourceVersion.
    pub fn policy(&self, secret_resource_version: &str) -> Policy {
        let object_definition = serde_json::to_value(self.configuration_policy())
            .unwrap_or_else(|_| unreachable!("a ConfigurationPolicy always serializes"));
        Policy {
            metadata: ObjectMeta {
                name: Some(ocm_names::policy(self.secret)),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(created_by_labels()),
                annotations: Some(BTreeMap::from([(
                    POLICY_TRIGGER_ANNOTATION.to_owned(),
                    secret_resource_version.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: PolicySpec {
                disabled: false,
                remediation_action: Some(REMEDIATION_ENFORCE.to_owned()),
                policy_templates: vec![PolicyTemplate { object_definition }],
                other: BTreeMap::new(),
            },
        }
    }

    /// The PlacementRule `plrule-S` listing `clusters` in the given order.
    pub fn placement_rule<I, C>(&self, clusters: I) -> PlacementRule
    where
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        PlacementRule {
            metadata: ObjectMeta {
                name: Some(ocm_names::placement_rule(self.secret)),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(created_by_labels()),
                ..ObjectMeta::default()
            },
            spec: PlacementRuleSpec {
                clusters: Some(
                    clusters
                        .into_iter()
                        .map(|c| GenericClusterReference { name: c.into() })
                        .collect(),
                ),
                other: BTreeMap::new(),
            },
        }
    }

    /// The PlacementBinding `plbinding-S` binding Policy `S` to PlacementRule `plrule-S`.
    pub fn placement_binding(&self) -> PlacementBinding {
        PlacementBinding {
            metadata: ObjectMeta {
                name: Some(ocm_names::placement_binding(self.secret)),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(created_by_labels()),
                ..ObjectMeta::default()
            },
            spec: PlacementBindingFields {
                binding_overrides: BTreeMap::new(),
                placement_ref: PlacementSubject {
                    api_group: APPS_GROUP.to_owned(),
                    kind: "PlacementRule".to_owned(),
                    name: ocm_names::placement_rule(self.secret),
                },
                subjects: vec![PlacementSubject {
                    api_group: POLICY_GROUP.to_owned(),
                    kind: "Policy".to_owned(),
                    name: ocm_names::policy(self.secret),
                }],
            },
        }
    }
}

impl Policy {
    /// The trigger annotation value, if any (a Policy without annotations is fine: Ramen bug B7).
    pub fn trigger(&self) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(POLICY_TRIGGER_ANNOTATION)
            .map(String::as_str)
    }
}

impl PlacementRule {
    /// Names of the clusters listed in `spec.clusters`, in order.
    pub fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.spec.clusters.iter().flatten().map(|c| c.name.as_str())
    }
}
