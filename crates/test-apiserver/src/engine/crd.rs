//! CustomResourceDefinitions: their status (Established, NamesAccepted) and (un)registering
//! the resources they define.

use super::*;

pub(super) fn crd_status(crd: &Value, old_status: Option<&Value>) -> Value {
    let mut names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let kind = names
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if names.get("singular").is_none() {
        names["singular"] = json!(kind.to_lowercase());
    }
    if names.get("listKind").is_none() {
        names["listKind"] = json!(format!("{kind}List"));
    }
    let now = meta::now();
    let cond = |t: &str, reason: &str, message: &str| {
        let previous = old_status
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
            })
            .and_then(|c| c.get("lastTransitionTime"))
            .cloned();
        json!({"type": t, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": previous.unwrap_or_else(|| json!(now))})
    };
    let mut stored: Vec<Value> = old_status
        .and_then(|s| s.get("storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if v.get("storage").and_then(Value::as_bool) == Some(true)
            && let Some(n) = v.get("name")
            && !stored.contains(n)
        {
            stored.push(n.clone());
        }
    }
    json!({
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names,
        "storedVersions": stored,
    })
}

pub(super) fn register_crd(inner: &mut Inner, crd: &Value) {
    if let Ok(types) = registry::crd_types(crd) {
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        inner.registry.set_crd_types(&group, &plural, types);
    }
}

/// Stops serving a CRD's resources and removes their objects; returns the removed uids.
pub(super) fn unregister_crd(inner: &mut Inner, crd: &Value) -> Vec<String> {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let key = StorageKey {
        group: group.clone(),
        plural: plural.clone(),
    };
    let mut removed = Vec::new();
    for obj in inner.store.list(&key, None) {
        let mut last = (*obj).clone();
        let rv = inner.store.next_rv();
        meta::metadata_mut(&mut last).insert("resourceVersion".into(), json!(rv.to_string()));
        let last = inner.store.remove(&key, rv, last);
        removed.extend(meta::meta_str(&last, "uid").map(str::to_string));
    }
    inner.store.drop_resource(&key);
    inner.registry.set_crd_types(&group, &plural, Vec::new());
    removed
}
