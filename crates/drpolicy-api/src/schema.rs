//! Hand-written OpenAPI schemas for the Kubernetes types Ramen embeds (metav1.Condition, LabelSelector,
//! ObjectReference), emitted exactly as controller-gen writes them into Ramen's CRDs.
//!
//! k8s-openapi's own schemas omit the kubebuilder validation markers (patterns, lengths, enums) and the
//! `x-kubernetes-*` extensions, so the generated CRDs would drift from Ramen's; these functions are used via
//! `#[schemars(schema_with = "...")]`.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

/// Schema of `metav1.Condition` as controller-gen emits it.
pub fn condition_value() -> Value {
    json!({
        "type": "object",
        "properties": {
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "message": {"type": "string", "maxLength": 32768},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "reason": {
                "type": "string",
                "maxLength": 1024,
                "minLength": 1,
                "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
            },
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "type": {
                "type": "string",
                "maxLength": 316,
                "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
            }
        },
        "required": ["lastTransitionTime", "message", "reason", "status", "type"]
    })
}

/// `conditions: []metav1.Condition`.
pub fn conditions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": condition_value()})
}

fn label_selector_value() -> Value {
    json!({
        "type": "object",
        "properties": {
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string"},
                        "values": {
                            "type": "array",
                            "items": {"type": "string"},
                            "x-kubernetes-list-type": "atomic"
                        }
                    },
                    "required": ["key", "operator"]
                },
                "x-kubernetes-list-type": "atomic"
            },
            "matchLabels": {
                "type": "object",
                "additionalProperties": {"type": "string"}
            }
        },
        "x-kubernetes-map-type": "atomic"
    })
}

/// `metav1.LabelSelector` (atomic map, atomic lists as at Ramen HEAD).
pub fn label_selector(_: &mut SchemaGenerator) -> Schema {
    Schema::try_from(label_selector_value()).expect("label selector schema is an object")
}

/// `metav1.LabelSelector` defaulted to `{}` by the API server (DRPolicy class selectors).
pub fn defaulted_label_selector(_: &mut SchemaGenerator) -> Schema {
    let mut value = label_selector_value();
    value["default"] = json!({});
    Schema::try_from(value).expect("label selector schema is an object")
}

/// `corev1.ObjectReference` (atomic map).
pub fn object_reference(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "fieldPath": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "uid": {"type": "string"}
        },
        "x-kubernetes-map-type": "atomic"
    })
}

/// A list of strings (`[]string`), without the `null` that schemars would allow for an `Option`.
pub fn string_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": {"type": "string"}})
}

/// Removes what schemars and kube-derive add but controller-gen never writes (`nullable`), recursively.
///
/// Ramen's CRDs mark nothing nullable; an optional Rust field must not widen the schema.
pub fn strip_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("nullable");
            map.values_mut().for_each(strip_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}
