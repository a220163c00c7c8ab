//! `x-kubernetes-list-type` checks (`structurallisttype.ValidateListSetsAndMaps`): a `set`
//! holds no value twice and a `map` list holds no two items with the same key fields.

use serde_json::{Map, Value};

use crate::field_error::{FieldError, FieldErrorKind};
use crate::openapi::json_equal;
use crate::path::{child_path, index_path};
use crate::schema::{Additional, ListType, Node};

/// Validates every list below `x` (found at `path`, following `s`).
pub(crate) fn validate_list_types(x: &Value, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    match x {
        Value::Object(map) => {
            for (k, prop) in &s.properties {
                if let Some(v) = map.get(k) {
                    validate_list_types(v, prop, &child_path(path, k), errs);
                }
            }
            if let Additional::Schema(sub) = &s.additional {
                for (k, v) in map.iter().filter(|(k, _)| !s.properties.contains_key(*k)) {
                    validate_list_types(v, sub, &child_path(path, k), errs);
                }
            }
        }
        Value::Array(items) => {
            match &s.list_type {
                ListType::Atomic => {}
                ListType::Set => {
                    for (i, item) in items.iter().enumerate() {
                        if items[..i].iter().any(|earlier| json_equal(earlier, item)) {
                            errs.push(FieldError::new(
                                index_path(path, i),
                                FieldErrorKind::Duplicate,
                                Some(item.clone()),
                                "",
                            ));
                        }
                    }
                }
                ListType::Map(keys) => validate_map_list(items, keys, path, errs),
            }
            if let Some(item_schema) = s.items.as_deref() {
                for (i, item) in items.iter().enumerate() {
                    validate_list_types(item, item_schema, &index_path(path, i), errs);
                }
            }
        }
        _ => {}
    }
}

fn validate_map_list(items: &[Value], keys: &[String], path: &str, errs: &mut Vec<FieldError>) {
    let before = errs.len();
    for (i, item) in items.iter().enumerate() {
        if !matches!(item, Value::Object(_) | Value::Null) {
            errs.push(FieldError::invalid(
                index_path(path, i),
                Some(item.clone()),
                "must be an object for an array of list-type map",
            ));
        }
    }
    if errs.len() > before {
        return;
    }
    let key_of = |item: &Value| -> Map<String, Value> {
        keys.iter()
            .map(|k| (k.clone(), item.get(k).cloned().unwrap_or(Value::Null)))
            .collect()
    };
    let item_keys: Vec<Map<String, Value>> = items.iter().map(key_of).collect();
    for (i, key) in item_keys.iter().enumerate() {
        let seen = item_keys[..i].iter().any(|earlier| {
            earlier
                .iter()
                .all(|(k, v)| key.get(k).is_some_and(|w| json_equal(v, w)))
        });
        if seen {
            errs.push(FieldError::new(
                index_path(path, i),
                FieldErrorKind::Duplicate,
                Some(Value::Object(key.clone())),
                "",
            ));
        }
    }
}

/// The item of `old_items` with the same map keys as `item`, for correlating list-map items
/// between an object and its previous version.
pub(crate) fn correlate<'a>(
    item: &Value,
    old_items: &'a [Value],
    keys: &[String],
) -> Option<&'a Value> {
    old_items.iter().find(|old| {
        keys.iter().all(|k| match (item.get(k), old.get(k)) {
            (Some(a), Some(b)) => json_equal(a, b),
            (None, None) => true,
            _ => false,
        })
    })
}
