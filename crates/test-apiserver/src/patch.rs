//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and an approximation of
//! Kubernetes' strategic merge patch (merge patch plus merge keys for well-known lists).

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The patch types the server accepts, by Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchType {
    /// The patch type of a Content-Type header value.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// Applies a JSON patch document to `target`.
pub fn json_patch(target: &mut Value, body: &Value) -> Result<(), ApiError> {
    let patch: json_patch::Patch = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    for op in &patch.0 {
        // As Kubernetes (evanphx/json-patch): `test` of a missing path against `null` passes.
        // kube-runtime's finalizer helper relies on it when adding the first finalizer.
        if let json_patch::PatchOperation::Test(t) = op
            && t.value.is_null()
            && target.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(target, std::slice::from_ref(op)).map_err(|e| {
            ApiError::new(
                422,
                "Invalid",
                format!("the server rejected our request due to an error in our request: {e}"),
            )
        })?;
    }
    Ok(())
}

/// RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Lists merged by a key under strategic merge patch, by field name.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "conditions" => Some("type"),
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "volumeMounts"
        | "imagePullSecrets"
        | "volumeDevices" => Some("name"),
        "ports" => Some("containerPort"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// Primitive lists merged as sets under strategic merge patch, by field name.
fn is_primitive_merge_list(field: &str) -> bool {
    field == "finalizers"
}

/// An approximation of strategic merge patch: maps merge, `null` deletes, well-known lists merge
/// by key (`conditions` by `type`, containers by `name`, ...), `finalizers` merge as a set,
/// `$patch: replace|delete`, `$deleteFromPrimitiveList/…` are honoured, `$retainKeys` and
/// `$setElementOrder/…` are ignored. Other lists are replaced.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut p = p.clone();
            p.remove("$patch");
            *target = Value::Object(p);
            return;
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("object ensured above");
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(remove)) = (t.get_mut(field), v) {
                list.retain(|x| !remove.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v) {
            (Some(Value::Array(cur)), Value::Array(items)) => {
                if let Some(mk) = merge_key(k).filter(|_| items.iter().all(Value::is_object)) {
                    merge_keyed_list(cur, items, mk);
                } else if is_primitive_merge_list(k) {
                    for item in items {
                        if !cur.contains(item) {
                            cur.push(item.clone());
                        }
                    }
                } else {
                    *cur = items.clone();
                }
            }
            (Some(cur @ Value::Object(_)), Value::Object(_)) => strategic_merge(cur, v),
            (_, v) => {
                let mut fresh = Value::Null;
                if v.is_object() {
                    strategic_merge(&mut fresh, v);
                } else {
                    fresh = v.clone();
                }
                t.insert(k.clone(), fresh);
            }
        }
    }
}

fn merge_keyed_list(cur: &mut Vec<Value>, items: &[Value], key: &str) {
    for item in items {
        let id = item.get(key);
        let pos = cur.iter().position(|c| c.get(key) == id && id.is_some());
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                cur.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut cur[i], item),
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item);
                cur.push(fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_conditions_by_type() {
        let mut t = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "B", "status": "True"}]}});
        strategic_merge(
            &mut t,
            &json!({"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "C", "status": "True"}]}}),
        );
        assert_eq!(
            t,
            json!({"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B", "status": "True"}, {"type": "C", "status": "True"}]}})
        );
    }

    #[test]
    fn strategic_merge_appends_finalizers_and_ignores_retain_keys() {
        let mut t = json!({"metadata": {"finalizers": ["a"]}, "spec": {"x": 1}});
        strategic_merge(
            &mut t,
            &json!({"metadata": {"finalizers": ["b"]}, "spec": {"$retainKeys": ["x"], "y": 2}}),
        );
        assert_eq!(
            t,
            json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"x": 1, "y": 2}})
        );
    }

    #[test]
    fn strategic_merge_deletes_keyed_item_and_null_fields() {
        let mut t = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "x": 1}});
        strategic_merge(
            &mut t,
            &json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}], "x": null}}),
        );
        assert_eq!(t, json!({"spec": {"containers": [{"name": "b"}]}}));
    }

    #[test]
    fn json_patch_test_of_a_missing_path_against_null_passes() {
        let mut t = json!({"metadata": {}});
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
                       {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]);
        json_patch(&mut t, &p).expect("patch");
        assert_eq!(t, json!({"metadata": {"finalizers": ["f"]}}));
    }

    #[test]
    fn json_patch_applies_and_reports_failures() {
        let mut t = json!({"a": 1});
        json_patch(
            &mut t,
            &json!([{"op": "replace", "path": "/a", "value": 2}]),
        )
        .expect("patch");
        assert_eq!(t, json!({"a": 2}));
        assert_eq!(
            json_patch(&mut t, &json!([{"op": "test", "path": "/a", "value": 3}]))
                .unwrap_err()
                .code,
            422
        );
        assert_eq!(
            json_patch(&mut t, &json!({"op": "bogus"}))
                .unwrap_err()
                .code,
            400
        );
    }
}
