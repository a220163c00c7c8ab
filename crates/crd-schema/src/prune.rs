//! Pruning of fields the schema does not know, as `structuralpruning.PruneWithOptions` and
//! `structuraldefaulting.PruneNonNullableNullsWithoutDefaults` do when kube-apiserver decodes
//! a custom resource.

use serde_json::Value;

use crate::path::{child_path, index_path};
use crate::schema::{Additional, Node};

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Removes unknown fields from the resource `obj` and returns their paths in kube's form
/// (`spec.foo`, `spec.items[0].bar`). The root is treated as an embedded resource:
/// `apiVersion`/`kind` (strings) and `metadata` (an object) are kept, and other values of
/// those keys are dropped without being reported, as kube does.
pub(crate) fn prune_resource(obj: &mut Value, root: &Node) -> Vec<String> {
    let mut pruned = Vec::new();
    prune(obj, Some(root), "", true, &mut pruned);
    pruned
}

/// `schema == None` stands for kube's nil schema: nothing below is known.
fn prune(
    x: &mut Value,
    schema: Option<&Node>,
    path: &str,
    embedded_root: bool,
    pruned: &mut Vec<String>,
) {
    if let Some(s) = schema
        && s.preserve_unknown
    {
        skip_prune(x, s, path, embedded_root, pruned);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(s) = schema else {
                pruned.extend(map.keys().map(|k| child_path(path, k)));
                map.clear();
                return;
            };
            let embedded = s.embedded || embedded_root;
            // `retain` keeps the order of the remaining keys whatever map type serde_json uses.
            map.retain(|k, v| {
                if embedded && keeps_meta_field(k, v) {
                    return true;
                }
                let child = child_path(path, k);
                if let Some(prop) = s.properties.get(k) {
                    prune(v, Some(prop), &child, false, pruned);
                    true
                } else if let Some(sub) = additional_schema(s) {
                    prune(v, sub, &child, false, pruned);
                    true
                } else {
                    if !(META_FIELDS.contains(&k.as_str()) && path.is_empty()) {
                        pruned.push(child);
                    }
                    false
                }
            });
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_deref());
            for (i, v) in items.iter_mut().enumerate() {
                prune(v, item_schema, &index_path(path, i), false, pruned);
            }
        }
        _ => {}
    }
}

/// Below `x-kubernetes-preserve-unknown-fields` unknown fields stay, but known subtrees
/// that do not preserve are still pruned.
fn skip_prune(x: &mut Value, s: &Node, path: &str, embedded_root: bool, pruned: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            let embedded = s.embedded || embedded_root;
            for (k, v) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&k.as_str()) {
                    continue;
                }
                let child = child_path(path, k);
                if let Some(prop) = s.properties.get(k) {
                    prune(v, Some(prop), &child, false, pruned);
                } else if let Additional::Schema(sub) = &s.additional {
                    prune(v, Some(sub), &child, false, pruned);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items.as_deref() {
                for (i, v) in items.iter_mut().enumerate() {
                    prune(v, Some(item_schema), &index_path(path, i), false, pruned);
                }
            }
        }
        _ => {}
    }
}

/// `Some(schema)` for additionalProperties with a schema, `Some(None)` for
/// `additionalProperties: true` (kube's nil structural schema), `None` when unknown keys go.
fn additional_schema(s: &Node) -> Option<Option<&Node>> {
    match &s.additional {
        Additional::None => None,
        Additional::Any => Some(None),
        Additional::Schema(sub) => Some(Some(sub)),
    }
}

fn keeps_meta_field(key: &str, value: &Value) -> bool {
    match key {
        "apiVersion" | "kind" => value.is_string(),
        "metadata" => value.is_object(),
        _ => false,
    }
}

/// Drops `null`s where the schema allows no null and has no default to replace them with:
/// `"drClusters": null` becomes a missing field (and then fails `required`).
pub(crate) fn prune_non_nullable_nulls(x: &mut Value, schema: Option<&Node>) {
    match x {
        Value::Object(map) => {
            map.retain(|k, v| {
                let sub = schema.and_then(|s| field_schema(s, k));
                if v.is_null() && sub.is_some_and(|s| !s.nullable && s.default.is_none()) {
                    return false;
                }
                prune_non_nullable_nulls(v, sub);
                true
            });
        }
        Value::Array(items) => {
            let sub = schema.and_then(|s| s.items.as_deref());
            for v in items {
                prune_non_nullable_nulls(v, sub);
            }
        }
        _ => {}
    }
}

/// The schema of field `k` of an object of schema `s`, if any.
pub(crate) fn field_schema<'a>(s: &'a Node, k: &str) -> Option<&'a Node> {
    match s.properties.get(k) {
        Some(p) => Some(p),
        None => match &s.additional {
            Additional::Schema(sub) => Some(sub),
            _ => None,
        },
    }
}
