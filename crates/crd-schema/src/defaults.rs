//! Applying schema `default`s, as `structuraldefaulting.Default`: a missing (or non-nullable
//! null) property takes its default, then defaulting continues inside the new value, and
//! nothing is created where the parent object is absent.

use serde_json::Value;

use crate::schema::{Additional, Node};

/// Fills defaults into `x`, which follows `schema`.
pub(crate) fn apply_defaults(x: &mut Value, schema: &Node) {
    match x {
        Value::Object(map) => {
            for (k, prop) in &schema.properties {
                let Some(default) = &prop.default else {
                    continue;
                };
                let missing = match map.get(k) {
                    None => true,
                    Some(Value::Null) => !prop.nullable,
                    Some(_) => false,
                };
                if missing {
                    map.insert(k.clone(), default.clone());
                }
            }
            for (k, v) in map.iter_mut() {
                if let Some(prop) = schema.properties.get(k) {
                    apply_defaults(v, prop);
                } else if let Additional::Schema(sub) = &schema.additional {
                    default_null(v, sub);
                    apply_defaults(v, sub);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.items.as_deref() {
                for v in items.iter_mut() {
                    default_null(v, sub);
                    apply_defaults(v, sub);
                }
            }
        }
        _ => {}
    }
}

fn default_null(v: &mut Value, schema: &Node) {
    if v.is_null()
        && !schema.nullable
        && let Some(d) = &schema.default
    {
        *v = d.clone();
    }
}
