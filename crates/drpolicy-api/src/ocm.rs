//! OCM governance objects that distribute a hub S3 Secret to managed clusters (reference §2.2-2.4,
//! HEAD §8): a `Policy` wrapping a `ConfigurationPolicy` whose Secret data are templates, a
//! `PlacementRule` listing the clusters, and a `PlacementBinding` tying the two — once per format
//! ([`Format::Ramen`]: the Secret itself from hub templates; [`Format::Velero`]: an AWS credentials file
//! for Velero, built on the managed cluster from the delivered ramen-format Secret).
//!
//! OCM owns these CRDs; the types carry no schema (`schema = "disabled"`). They serialize to the JSON
//! Ramen HEAD's Go client sends (reference HEAD §8.3): the fields Go always emits (`disabled: false`,
//! `customMessage: {}`, `namespaceSelector: {}`, `evaluationInterval: {}`, `bindingOverrides: {}`,
//! `status: {}` inside the embedded ConfigurationPolicy, which OCM stores verbatim), `complianceType:
//! MustHave`, and no `creationTimestamp` anywhere (apimachinery 0.35 omits the zero time). Top-level
//! `status: {}` is not sent: the API server drops it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::names::ocm_names::{self, Format};
use crate::names::{
    CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE, POLICY_TRIGGER_ANNOTATION,
};

/// API group of OCM governance (Policy, PlacementBinding, ConfigurationPolicy).
pub const POLICY_GROUP: &str = "policy.open-cluster-management.io";
/// API group of the (deprecated, still used by Ramen) PlacementRule.
pub const APPS_GROUP: &str = "apps.open-cluster-management.io";
/// `remediationAction` Ramen uses everywhere.
pub const REMEDIATION_ENFORCE: &str = "Enforce";
/// `severity` of the ConfigurationPolicy.
pub const SEVERITY_HIGH: &str = "high";
/// `complianceType` of the Secret template: config-policy-controller v0.15's `cpcv1.MustHave`
/// (Ramen HEAD; older Ramen sent `Musthave`, which the CRD enum accepts too).
pub const COMPLIANCE_MUSTHAVE: &str = "MustHave";
/// The one data key of the velero-format Secret (Ramen's `VeleroSecretKeyNameDefault`).
pub const VELERO_SECRET_DATA_KEY: &str = "ramengenerated";

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

/// Metadata of an object embedded in a policy template. Ramen HEAD sends no `creationTimestamp`
/// (older Ramen sent `null`; such a body is rewritten once).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedMeta {
    /// Object name.
    pub name: String,
    /// Object namespace (absent for the ConfigurationPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
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

/// Spec of the embedded ConfigurationPolicy, fields in the order config-policy-controller v0.15 sends
/// them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ConfigurationPolicySpec {
    /// Always `{}` (a non-pointer struct in config-policy-controller v0.15).
    #[serde(default, rename = "customMessage")]
    pub custom_message: BTreeMap<String, Value>,
    /// `high`.
    pub severity: String,
    /// `Enforce`.
    #[serde(rename = "remediationAction")]
    pub remediation_action: String,
    /// Always `{}`.
    #[serde(default, rename = "evaluationInterval")]
    pub evaluation_interval: BTreeMap<String, Value>,
    /// Always `{}`.
    #[serde(default, rename = "namespaceSelector")]
    pub namespace_selector: BTreeMap<String, Value>,
    /// The objects that must exist on the managed cluster.
    #[serde(rename = "object-templates")]
    pub object_templates: Vec<ObjectTemplate>,
}

/// One object a ConfigurationPolicy enforces.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ObjectTemplate {
    /// `MustHave`.
    #[serde(rename = "complianceType")]
    pub compliance_type: String,
    /// The object itself.
    #[serde(rename = "objectDefinition")]
    pub object_definition: TemplatedSecret,
}

/// The Secret created on each managed cluster. `data` holds templates (strings that OCM resolves to
/// base64 values), never the values themselves; there is no `type` and no `stringData`, exactly like
/// Ramen's `localSecret`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplatedSecret {
    /// `Secret`.
    pub kind: String,
    /// `v1`.
    pub api_version: String,
    /// Name, target namespace and labels.
    pub metadata: EmbeddedMeta,
    /// Data key → template.
    pub data: BTreeMap<String, String>,
}

/// The hub template that resolves to data key `key` of hub Secret `namespace/name`, byte for byte as
/// Ramen writes it: `{{hub fromSecret "<NS>" "<S>" "<KEY>" hub}}`.
pub fn hub_from_secret_template(namespace: &str, name: &str, key: &str) -> String {
    format!("{{{{hub fromSecret \"{namespace}\" \"{name}\" \"{key}\" hub}}}}")
}

/// The managed-cluster template of the velero-format Secret, byte for byte as Ramen HEAD writes it
/// (reference HEAD §8.2): an AWS credentials file built from the ramen-format Secret `name` already
/// delivered to `from_namespace` on the same cluster. The `\n` are the two characters `\` and `n`,
/// which the template's `printf` turns into newlines.
pub fn velero_credentials_template(from_namespace: &str, name: &str) -> String {
    let [access_key, secret_key] = crate::names::S3_SECRET_KEYS;
    let lookup = |key: &str| {
        format!(r#"((lookup "v1" "Secret" "{from_namespace}" "{name}").data.{key} | base64dec)"#)
    };
    format!(
        r#"{{{{ (printf "[default]\n  aws_access_key_id = %s\n  aws_secret_access_key = %s\n" {} {}) | base64enc }}}}"#,
        lookup(access_key),
        lookup(secret_key)
    )
}

fn created_by_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        CREATED_BY_RAMEN_LABEL.to_owned(),
        CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
    )])
}

/// The form a distribution delivers, with what that form needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// [`Format::Ramen`]: Secret `S` in the target namespace, its data from hub templates.
    Ramen,
    /// [`Format::Velero`]: Secret `vS` in `velero_namespace`, one key `ramengenerated` holding an AWS
    /// credentials file built on the managed cluster from the ramen-format Secret.
    Velero {
        /// Velero's namespace on the managed clusters (`kubeObjectProtection.veleroNamespaceName`).
        velero_namespace: &'a str,
    },
}

impl Delivery<'_> {
    /// The format delivered.
    pub fn format(&self) -> Format {
        match self {
            Delivery::Ramen => Format::Ramen,
            Delivery::Velero { .. } => Format::Velero,
        }
    }
}

/// What identifies one secret distribution: hub Secret `secret` in `namespace`, delivered in the form
/// `delivery`, the ramen-format Secret landing in `target_namespace` on the managed clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDistribution<'a> {
    /// Hub Secret name (`S`).
    pub secret: &'a str,
    /// Operator namespace holding the Secret and the OCM objects (`NS`).
    pub namespace: &'a str,
    /// Namespace of the ramen-format Secret on each managed cluster (the velero format reads it there).
    pub target_namespace: &'a str,
    /// The format delivered.
    pub delivery: Delivery<'a>,
}

impl SecretDistribution<'_> {
    /// The format delivered.
    pub fn format(&self) -> Format {
        self.delivery.format()
    }

    /// The names of this distribution's objects.
    pub fn names(&self) -> ocm_names::ObjectNames {
        self.format().names(self.secret)
    }

    /// The Secret the managed clusters receive.
    pub fn delivered_secret(&self) -> TemplatedSecret {
        let (name, namespace, data) = match self.delivery {
            Delivery::Ramen => (
                self.secret.to_owned(),
                self.target_namespace,
                crate::names::S3_SECRET_KEYS
                    .iter()
                    .map(|key| {
                        (
                            (*key).to_owned(),
                            hub_from_secret_template(self.namespace, self.secret, key),
                        )
                    })
                    .collect(),
            ),
            Delivery::Velero { velero_namespace } => (
                Format::Velero.policy(self.secret),
                velero_namespace,
                BTreeMap::from([(
                    VELERO_SECRET_DATA_KEY.to_owned(),
                    velero_credentials_template(self.target_namespace, self.secret),
                )]),
            ),
        };
        TemplatedSecret {
            kind: "Secret".to_owned(),
            api_version: "v1".to_owned(),
            metadata: EmbeddedMeta {
                name,
                namespace: Some(namespace.to_owned()),
                labels: Some(created_by_labels()),
            },
            data,
        }
    }

    /// The embedded ConfigurationPolicy creating the delivered Secret.
    pub fn configuration_policy(&self) -> ConfigurationPolicy {
        ConfigurationPolicy {
            kind: "ConfigurationPolicy".to_owned(),
            api_version: format!("{POLICY_GROUP}/v1"),
            metadata: EmbeddedMeta {
                name: self.names().configuration_policy,
                namespace: None,
                labels: Some(created_by_labels()),
            },
            spec: ConfigurationPolicySpec {
                custom_message: BTreeMap::new(),
                severity: SEVERITY_HIGH.to_owned(),
                remediation_action: REMEDIATION_ENFORCE.to_owned(),
                evaluation_interval: BTreeMap::new(),
                namespace_selector: BTreeMap::new(),
                object_templates: vec![ObjectTemplate {
                    compliance_type: COMPLIANCE_MUSTHAVE.to_owned(),
                    object_definition: self.delivered_secret(),
                }],
            },
            status: BTreeMap::new(),
        }
    }

    /// The Policy (`S` or `vS`), with the trigger annotation set to the hub Secret's resourceVersion.
    pub fn policy(&self, secret_resource_version: &str) -> Policy {
        let object_definition = serde_json::to_value(self.configuration_policy())
            .unwrap_or_else(|_| unreachable!("a ConfigurationPolicy always serializes"));
        Policy {
            metadata: ObjectMeta {
                name: Some(self.names().policy),
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

    /// The PlacementRule (`plrule-S` or `plrule-vS`) listing `clusters` in the given order.
    pub fn placement_rule<I, C>(&self, clusters: I) -> PlacementRule
    where
        I: IntoIterator<Item = C>,
        C: Into<String>,
    {
        PlacementRule {
            metadata: ObjectMeta {
                name: Some(self.names().placement_rule),
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

    /// The PlacementBinding (`plbinding-S` or `plbinding-vS`) binding the Policy to the PlacementRule.
    pub fn placement_binding(&self) -> PlacementBinding {
        let names = self.names();
        PlacementBinding {
            metadata: ObjectMeta {
                name: Some(names.placement_binding),
                namespace: Some(self.namespace.to_owned()),
                labels: Some(created_by_labels()),
                ..ObjectMeta::default()
            },
            spec: PlacementBindingFields {
                binding_overrides: BTreeMap::new(),
                placement_ref: PlacementSubject {
                    api_group: APPS_GROUP.to_owned(),
                    kind: "PlacementRule".to_owned(),
                    name: names.placement_rule,
                },
                subjects: vec![PlacementSubject {
                    api_group: POLICY_GROUP.to_owned(),
                    kind: "Policy".to_owned(),
                    name: names.policy,
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
