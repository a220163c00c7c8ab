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
//!
//! OCM resolves templates anywhere in these objects, so names reach a template only as quoted
//! literals ([`template_string_literal`]) and never put `{{` or `}}` anywhere else: whatever the
//! names, a Policy holds exactly the templates built here. Names are checked as Kubernetes names by
//! [`SecretDistribution::validate`], which callers run before building.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::dns_names;
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

/// `text` as a Go template string literal (`"..."`) that evaluates to `text` whatever it holds.
///
/// Letters, digits, `-`, `.` and `_` stand for themselves, so every Kubernetes name is quoted as
/// Ramen quotes it; every other byte is written as a `\xNN` escape, so no input can end the literal,
/// the action (`}}`, `hub}}`) or open another one (`{{`). That is why this is not Go's
/// `strconv.Quote` (`go_text::quote`), which keeps braces and non-ASCII text as they are.
pub fn template_string_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_') {
            literal.push(char::from(byte));
        } else {
            literal.push_str(&format!("\\x{byte:02x}"));
        }
    }
    literal.push('"');
    literal
}

/// `text` as it may appear outside a template in an object OCM resolves templates in: unchanged
/// unless it holds `{{` or `}}`, which would open or close a template there; then a space separates
/// every pair of braces. Such text is no valid Kubernetes name before or after, so the object keeps
/// naming nothing that exists, and the Policy gains no template.
fn inert(text: &str) -> String {
    if !text.contains("{{") && !text.contains("}}") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut previous = None;
    for c in text.chars() {
        if matches!(c, '{' | '}') && previous == Some(c) {
            out.push(' ');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// The hub template that resolves to data key `key` of hub Secret `namespace/name`, byte for byte as
/// Ramen writes it for valid names: `{{hub fromSecret "<NS>" "<S>" "<KEY>" hub}}`. The arguments are
/// [`template_string_literal`]s, so the template stays one `fromSecret` call whatever they hold.
pub fn hub_from_secret_template(namespace: &str, name: &str, key: &str) -> String {
    format!(
        "{{{{hub fromSecret {} {} {} hub}}}}",
        template_string_literal(namespace),
        template_string_literal(name),
        template_string_literal(key)
    )
}

/// The managed-cluster template of the velero-format Secret, byte for byte as Ramen HEAD writes it
/// for valid names (reference HEAD §8.2): an AWS credentials file built from the ramen-format Secret
/// `name` already delivered to `from_namespace` on the same cluster. The `\n` are the two characters
/// `\` and `n`, which the template's `printf` turns into newlines. The arguments are
/// [`template_string_literal`]s, as in [`hub_from_secret_template`].
pub fn velero_credentials_template(from_namespace: &str, name: &str) -> String {
    let [access_key, secret_key] = crate::names::S3_SECRET_KEYS;
    let (from_namespace, name) = (
        template_string_literal(from_namespace),
        template_string_literal(name),
    );
    let lookup = |key: &str| {
        format!(r#"((lookup "v1" "Secret" {from_namespace} {name}).data.{key} | base64dec)"#)
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

/// A name a [`SecretDistribution`] would put into its objects that Kubernetes would not accept
/// there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsafeName {
    /// What the name is (`secret name`, `target namespace`, ...).
    pub role: &'static str,
    /// The name.
    pub name: String,
    /// The syntax it must have.
    pub expected: &'static str,
}

impl std::fmt::Display for UnsafeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} is not {}", self.role, self.name, self.expected)
    }
}

impl std::error::Error for UnsafeName {}

const LABEL: &str = "a DNS-1123 label";
const SUBDOMAIN: &str = "a DNS-1123 subdomain";

impl SecretDistribution<'_> {
    /// The format delivered.
    pub fn format(&self) -> Format {
        self.delivery.format()
    }

    /// Checks every name the distribution puts into its objects and templates: the Secret name (a
    /// DNS-1123 subdomain) and the operator, target and velero namespaces (DNS-1123 labels). Build
    /// objects only from a distribution that passes: the builders keep the templates intact whatever
    /// the names, but an unchecked name may still land in the delivered Secret's metadata.
    ///
    /// # Errors
    /// The first name that does not have its syntax.
    pub fn validate(&self) -> Result<(), UnsafeName> {
        let unsafe_name = |role, name: &str, expected| UnsafeName {
            role,
            name: name.to_owned(),
            expected,
        };
        if !dns_names::is_dns1123_subdomain(self.secret) {
            return Err(unsafe_name("secret name", self.secret, SUBDOMAIN));
        }
        let mut namespaces = vec![
            ("operator namespace", self.namespace),
            ("target namespace", self.target_namespace),
        ];
        if let Delivery::Velero { velero_namespace } = self.delivery {
            namespaces.push(("velero namespace", velero_namespace));
        }
        match namespaces
            .into_iter()
            .find(|(_, namespace)| !dns_names::is_dns1123_label(namespace))
        {
            Some((role, namespace)) => Err(unsafe_name(role, namespace, LABEL)),
            None => Ok(()),
        }
    }

    /// The names of this distribution's objects (for a secret name that fails [`Self::validate`],
    /// with no `{{` or `}}` in them).
    pub fn names(&self) -> ocm_names::ObjectNames {
        let names = self.format().names(self.secret);
        ocm_names::ObjectNames {
            policy: inert(&names.policy),
            placement_rule: inert(&names.placement_rule),
            placement_binding: inert(&names.placement_binding),
            configuration_policy: inert(&names.configuration_policy),
        }
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
                self.names().policy,
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
                name: inert(&name),
                namespace: Some(inert(namespace)),
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
                namespace: Some(inert(self.namespace)),
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
                namespace: Some(inert(self.namespace)),
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
                namespace: Some(inert(self.namespace)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a Go string literal as [`template_string_literal`] writes it back into its bytes.
    fn go_unquote(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
        let mut bytes = Vec::new();
        let mut rest = inner.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            match first {
                b'\\' => {
                    let hex = tail.get(1..3)?;
                    if tail.first() != Some(&b'x') {
                        return None;
                    }
                    bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    rest = &tail[3..];
                }
                b'"' => return None,
                other => {
                    bytes.push(other);
                    rest = tail;
                }
            }
        }
        String::from_utf8(bytes).ok()
    }

    /// Strings that try to break out of a template or a name, and seeded random ones built from
    /// the characters that matter (quotes, braces, backslashes, newlines, unicode).
    fn hostile_strings() -> Vec<String> {
        let mut strings: Vec<String> = [
            "",
            "ramen-system",
            "x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}",
            "a}}b",
            "hub}}",
            "{{hub",
            "{{ lookup \"v1\" \"Secret\" \"ns\" \"s\" }}",
            "\\\"",
            "line\nbreak",
            "ünï✓",
            "{{{{",
            "}}}}",
        ]
        .map(str::to_owned)
        .to_vec();
        const ALPHABET: &[&str] = &[
            "a", "-", ".", "\"", "'", "\\", "{", "}", "{{", "}}", "hub", " ", "\n", "\t", "ü", "✓",
            "\u{0}", "x",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1000 {
            let mut s = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            strings.push(s);
        }
        strings
    }

    #[test]
    fn template_string_literals_keep_names_and_read_back_as_any_input() {
        assert_eq!(
            template_string_literal("ramen-s3-secret.dr1"),
            "\"ramen-s3-secret.dr1\""
        );
        assert_eq!(
            template_string_literal("AWS_ACCESS_KEY_ID"),
            "\"AWS_ACCESS_KEY_ID\""
        );
        assert_eq!(template_string_literal("a\"}}"), "\"a\\x22\\x7d\\x7d\"");
        for text in hostile_strings() {
            let literal = template_string_literal(&text);
            assert!(
                !literal[1..literal.len() - 1].contains(['"', '{', '}', '\n']),
                "{literal}"
            );
            assert_eq!(go_unquote(&literal).as_deref(), Some(text.as_str()));
        }
    }

    #[test]
    fn no_name_adds_or_breaks_a_template_of_the_policy() {
        for text in hostile_strings() {
            for (secret, namespace, target) in [
                (text.as_str(), "ramen-system", "ramen-system"),
                ("s3", text.as_str(), "ramen-system"),
                ("s3", "ramen-system", text.as_str()),
            ] {
                let ramen = SecretDistribution {
                    secret,
                    namespace,
                    target_namespace: target,
                    delivery: Delivery::Ramen,
                };
                let json = serde_json::to_string(&ramen.policy("1")).unwrap();
                // JSON itself never writes `{{`, and closes objects with `}}`: count the openers, and
                // the closers the templates have.
                assert_eq!(json.matches("{{").count(), 2, "{json}");
                assert_eq!(json.matches("{{hub fromSecret ").count(), 2, "{json}");
                assert_eq!(json.matches(" hub}}").count(), 2, "{json}");
                let expected = [
                    hub_from_secret_template(namespace, secret, "AWS_ACCESS_KEY_ID"),
                    hub_from_secret_template(namespace, secret, "AWS_SECRET_ACCESS_KEY"),
                ];
                let data = ramen.delivered_secret().data;
                assert_eq!(data.values().cloned().collect::<Vec<_>>(), expected);
                let velero = SecretDistribution {
                    delivery: Delivery::Velero {
                        velero_namespace: target,
                    },
                    ..ramen
                };
                let json = serde_json::to_string(&velero.policy("1")).unwrap();
                assert_eq!(json.matches("{{").count(), 1, "{json}");
                assert_eq!(json.matches(" }}").count(), 1, "{json}");
                assert_eq!(
                    velero.delivered_secret().data[VELERO_SECRET_DATA_KEY],
                    velero_credentials_template(target, secret)
                );
            }
        }
    }

    #[test]
    fn validate_names_the_first_name_kubernetes_would_refuse() {
        let dist = SecretDistribution {
            secret: "s3",
            namespace: "ramen-system",
            target_namespace: "ramen-dr",
            delivery: Delivery::Velero {
                velero_namespace: "velero",
            },
        };
        assert_eq!(dist.validate(), Ok(()));
        let bad = SecretDistribution {
            target_namespace: "x\" \"{{hub",
            ..dist.clone()
        };
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            r#"target namespace "x\" \"{{hub" is not a DNS-1123 label"#
        );
        let bad = SecretDistribution {
            delivery: Delivery::Velero {
                velero_namespace: "Velero",
            },
            ..dist.clone()
        };
        assert_eq!(bad.validate().unwrap_err().role, "velero namespace");
        let bad = SecretDistribution {
            secret: "s3/x",
            ..dist
        };
        assert_eq!(bad.validate().unwrap_err().role, "secret name");
    }
}
