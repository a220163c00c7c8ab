//! The kinds the server knows: the built-in ones and those derived from CustomResourceDefinitions.
//! Discovery, OpenAPI documents and request routing all read this registry.

use std::sync::Arc;

use serde_json::Value;

use crate::error::FieldCause;
use crate::schema::CrdSchema;

/// Identifies where objects of a kind are stored: group and plural (versions share storage).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey {
    /// API group, empty for core.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
}

/// One servable resource (group, version, plural) and what the server knows about it.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group, empty for the core group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Plural resource name, e.g. `configmaps`.
    pub plural: String,
    /// Singular resource name, e.g. `configmap`.
    pub singular: String,
    /// Short names, e.g. `cm`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether the kind has a `/status` subresource.
    pub has_status: bool,
    /// Whether `metadata.generation` is maintained.
    pub tracks_generation: bool,
    /// Top-level fields a built-in kind accepts (for `fieldValidation`); `None` for custom resources.
    pub builtin_fields: Option<&'static [&'static str]>,
    /// `additionalPrinterColumns` of this CRD version (empty: Name and Age).
    pub printer_columns: Vec<crate::render::PrinterColumn>,
    /// The compiled CRD schema of this version (custom resources only).
    pub schema: Option<Arc<CrdSchema>>,
}

impl ResourceType {
    /// `apiVersion` of objects of this resource.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Where objects of this resource are stored.
    pub fn key(&self) -> StorageKey {
        StorageKey {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }

    /// Whether this is the CustomResourceDefinition resource itself.
    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.plural == "customresourcedefinitions"
    }

    /// Whether this is a custom resource (served for a CRD), not a built-in kind.
    pub fn is_custom_resource(&self) -> bool {
        self.builtin_fields.is_none()
    }

    /// Whether this is the Namespace resource.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }
}

const NAMESPACE_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const CONFIGMAP_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];
const SECRET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];
const CORE_EVENT_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "series",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
];
const EVENTS_V1_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "eventTime",
    "series",
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "regarding",
    "related",
    "note",
    "type",
    "deprecatedSource",
    "deprecatedFirstTimestamp",
    "deprecatedLastTimestamp",
    "deprecatedCount",
];
const SPEC_ONLY: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
const SPEC_STATUS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    namespaced: bool,
    has_status: bool,
    tracks_generation: bool,
    fields: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: vec![],
        namespaced,
        has_status,
        tracks_generation,
        builtin_fields: Some(fields),
        printer_columns: crate::render::PrinterColumn::builtin(group, plural),
        schema: None,
    }
}

/// All known resource types, built-in first, then CRD-derived in registration order.
#[derive(Debug, Clone)]
pub struct Registry {
    types: Vec<ResourceType>,
    /// Bumped on every change; used as the OpenAPI documents' hash.
    pub generation: u64,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The built-in kinds.
    pub fn new() -> Self {
        let types = vec![
            builtin(
                "",
                "v1",
                "Namespace",
                "namespaces",
                &["ns"],
                false,
                true,
                false,
                NAMESPACE_FIELDS,
            ),
            builtin(
                "",
                "v1",
                "ConfigMap",
                "configmaps",
                &["cm"],
                true,
                false,
                false,
                CONFIGMAP_FIELDS,
            ),
            builtin(
                "",
                "v1",
                "Secret",
                "secrets",
                &[],
                true,
                false,
                false,
                SECRET_FIELDS,
            ),
            builtin(
                "",
                "v1",
                "Event",
                "events",
                &["ev"],
                true,
                false,
                false,
                CORE_EVENT_FIELDS,
            ),
            builtin(
                "events.k8s.io",
                "v1",
                "Event",
                "events",
                &["ev"],
                true,
                false,
                false,
                EVENTS_V1_FIELDS,
            ),
            builtin(
                "coordination.k8s.io",
                "v1",
                "Lease",
                "leases",
                &[],
                true,
                false,
                false,
                SPEC_ONLY,
            ),
            builtin(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                &["crd", "crds"],
                false,
                true,
                true,
                SPEC_STATUS,
            ),
        ];
        Registry {
            types,
            generation: 1,
        }
    }

    /// All types.
    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    /// The type served at group/version/plural.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Groups in discovery order, with their versions (preferred = first listed).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    /// Replaces the types derived from a CRD (by group and plural) with `types`.
    pub fn set_crd_types(&mut self, group: &str, plural: &str, types: Vec<ResourceType>) {
        self.types
            .retain(|t| !(t.group == group && t.plural == plural && t.builtin_fields.is_none()));
        self.types.extend(types);
        self.generation += 1;
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// Derives the served resource types from a CustomResourceDefinition object, compiling each
/// version's schema. Errors are 422 Invalid causes in Kubernetes' wording.
/// Structural-schema rules kube-apiserver enforces on a CRD (a subset): the keys of a
/// `x-kubernetes-list-type: map` list must be required or defaulted. Paths are those of
/// Kubernetes' internal CRD, where identical per-version schemas become `spec.validation`.
fn schema_causes(versions: &[Value]) -> Vec<FieldCause> {
    let schemas: Vec<Option<&Value>> = versions
        .iter()
        .map(|v| v.pointer("/schema/openAPIV3Schema"))
        .collect();
    let mut causes = Vec::new();
    match schemas.first() {
        Some(Some(first)) if schemas.iter().all(|s| *s == Some(*first)) => {
            list_map_key_causes(first, "spec.validation.openAPIV3Schema", &mut causes);
        }
        _ => {
            for (i, s) in schemas.iter().enumerate() {
                if let Some(s) = s {
                    let path = format!("spec.versions[{i}].schema.openAPIV3Schema");
                    list_map_key_causes(s, &path, &mut causes);
                }
            }
        }
    }
    causes
}

fn list_map_key_causes(schema: &Value, path: &str, causes: &mut Vec<FieldCause>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            list_map_key_causes(s, &format!("{path}.properties[{k}]"), causes);
        }
    }
    if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
        list_map_key_causes(extra, &format!("{path}.additionalProperties"), causes);
    }
    let Some(items) = schema.get("items").filter(|s| s.is_object()) else {
        return;
    };
    list_map_key_causes(items, &format!("{path}.items"), causes);
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return;
    }
    let required: Vec<&str> = items
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for key in schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Some(prop) = items.pointer(&format!("/properties/{key}")) else {
            continue;
        };
        if !required.contains(&key) && prop.get("default").is_none() {
            let field = format!("{path}.items.properties[{key}].default");
            causes.push(FieldCause::new(
                "FieldValueRequired",
                &field,
                format!("{field}: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"),
            ));
        }
    }
}

pub fn crd_types(crd: &Value) -> Result<Vec<ResourceType>, Vec<FieldCause>> {
    let mut causes = Vec::new();
    let group = str_at(crd, &["spec", "group"])
        .unwrap_or_default()
        .to_string();
    let plural = str_at(crd, &["spec", "names", "plural"])
        .unwrap_or_default()
        .to_string();
    let kind = str_at(crd, &["spec", "names", "kind"])
        .unwrap_or_default()
        .to_string();
    let name = str_at(crd, &["metadata", "name"]).unwrap_or_default();
    if group.is_empty() {
        causes.push(FieldCause::new(
            "FieldValueRequired",
            "spec.group",
            "spec.group: Required value",
        ));
    }
    if plural.is_empty() {
        causes.push(FieldCause::new(
            "FieldValueRequired",
            "spec.names.plural",
            "spec.names.plural: Required value",
        ));
    }
    if kind.is_empty() {
        causes.push(FieldCause::new(
            "FieldValueRequired",
            "spec.names.kind",
            "spec.names.kind: Required value",
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(FieldCause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!(
                "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            ),
        ));
    }
    let scope = str_at(crd, &["spec", "scope"]).unwrap_or_default();
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(FieldCause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("spec.scope: Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let singular = str_at(crd, &["spec", "names", "singular"])
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let strings = |key: &str| -> Vec<String> {
        crd.pointer(&format!("/spec/names/{key}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(FieldCause::new(
            "FieldValueRequired",
            "spec.versions",
            "spec.versions: Invalid value: null: must have exactly one version marked as storage version",
        ));
    }
    causes.extend(schema_causes(&versions));
    let mut out = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !v.get("served").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let has_status = v.pointer("/subresources/status").is_some();
        let schema = match v.pointer("/schema/openAPIV3Schema") {
            Some(s) => match CrdSchema::compile(s) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    let field = format!("spec.versions[{i}].schema.openAPIV3Schema");
                    causes.push(FieldCause::new(
                        "FieldValueInvalid",
                        &field,
                        format!("{field}: Invalid value: \"\": {e}"),
                    ));
                    None
                }
            },
            None => None,
        };
        out.push(ResourceType {
            group: group.clone(),
            version: vname,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: strings("shortNames"),
            categories: strings("categories"),
            namespaced: scope == "Namespaced",
            has_status,
            tracks_generation: true,
            builtin_fields: None,
            printer_columns: crate::render::PrinterColumn::from_crd_version(v),
            schema,
        });
    }
    if causes.is_empty() {
        Ok(out)
    } else {
        Err(causes)
    }
}
