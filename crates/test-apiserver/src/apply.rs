//! Ownership changes of writes: `Update` operations take the fields they change, server-side
//! apply merges the applied configuration (conflicts, `force`, removal of fields a manager stops
//! applying).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::managed::{
    Entry, FieldPath, ListType, ListTypes, Scope, entries, item_matches, key_element, leaves,
    remove_at, set_entries, value_at,
};

/// Who is writing, for managedFields.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// What the write may touch.
    pub scope: Scope,
    /// Current time.
    pub now: &'a str,
    /// List types of the kind.
    pub list_types: ListTypes<'a>,
}

impl Writer<'_> {
    fn subresource(&self) -> &'static str {
        if self.scope == Scope::Status {
            "status"
        } else {
            ""
        }
    }
}

/// Records an `Update` operation: the writer takes the fields it changed, other managers lose
/// them, fields that disappeared lose their owners. `new`'s managedFields are replaced based on
/// `old`'s.
pub fn record_update(old: Option<&Value>, new: &mut Value, w: &Writer<'_>) {
    let mut list = old.map(entries).unwrap_or_default();
    let new_leaves = leaves(new, w.scope, w.list_types);
    let new_maps = map_nodes(new, w);
    let mut all_new = leaves(new, Scope::Main { has_status: false }, w.list_types);
    all_new.extend(new_maps.iter().cloned());
    let mut changed: BTreeSet<FieldPath> = new_leaves
        .iter()
        .filter(|p| old.and_then(|o| value_at(o, p)) != value_at(new, p))
        .cloned()
        .collect();
    let old_maps = old.map(|o| map_nodes(o, w)).unwrap_or_default();
    changed.extend(new_maps.difference(&old_maps).cloned());
    let sub = w.subresource();
    for e in &mut list {
        let mine = e.same_slot(w.manager, "Update", sub);
        e.fields
            .retain(|p| all_new.contains(p) && (mine || !changed.contains(p)));
    }
    if !changed.is_empty() {
        match list
            .iter_mut()
            .find(|e| e.same_slot(w.manager, "Update", sub))
        {
            Some(e) => {
                e.fields.extend(changed);
                e.time = w.now.to_string();
                e.api_version = w.api_version.to_string();
            }
            None => list.push(Entry {
                manager: w.manager.to_string(),
                operation: "Update".into(),
                api_version: w.api_version.to_string(),
                time: w.now.to_string(),
                subresource: sub.to_string(),
                fields: changed,
            }),
        }
    }
    set_entries(new, list);
}

/// The string maps of Kubernetes' types (labels, annotations, a ConfigMap's or Secret's data)
/// present in `obj`: an `Update` that creates one owns the map itself besides its keys (FieldsV1
/// `"."`), and keeps it when others take the keys, as kube-apiserver records.
fn map_nodes(obj: &Value, w: &Writer<'_>) -> BTreeSet<FieldPath> {
    if w.scope == Scope::Status {
        return BTreeSet::new();
    }
    let mut candidates = vec![
        ["metadata", "labels"].as_slice(),
        &["metadata", "annotations"],
    ];
    if w.api_version == "v1" {
        candidates.extend([["data"].as_slice(), &["binaryData"]]);
    }
    candidates
        .into_iter()
        .filter(|path| {
            let pointer: String = path.iter().map(|p| format!("/{p}")).collect();
            obj.pointer(&pointer)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
        })
        .map(|path| path.iter().map(|p| format!("f:{p}")).collect())
        .collect()
}

fn merge_into(target: &mut Value, applied: &Value, path: &mut FieldPath, lt: ListTypes<'_>) {
    match (target, applied) {
        (Value::Object(t), Value::Object(a)) => {
            for (k, v) in a {
                path.push(format!("f:{k}"));
                match t.get_mut(k) {
                    Some(cur)
                        if (cur.is_object() && v.is_object() && !lt.atomic_map(path))
                            || (cur.is_array() && v.is_array()) =>
                    {
                        merge_into(cur, v, path, lt)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(t), Value::Array(a)) => match lt.at(path) {
            ListType::Atomic => *t = a.clone(),
            ListType::Set => {
                for item in a {
                    if !t.contains(item) {
                        t.push(item.clone());
                    }
                }
            }
            ListType::Map(keys) => {
                for item in a {
                    let Some(el) = key_element(item, &keys) else {
                        t.push(item.clone());
                        continue;
                    };
                    match t.iter_mut().find(|i| item_matches(i, &el)) {
                        Some(cur) => {
                            path.push(el);
                            merge_into(cur, item, path, lt);
                            path.pop();
                        }
                        None => t.push(item.clone()),
                    }
                }
            }
        },
        (t, a) => *t = a.clone(),
    }
}

fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|el| {
            if let Some(name) = el.strip_prefix("f:") {
                format!(".{name}")
            } else if let Some(key) = el.strip_prefix("k:") {
                let fields = serde_json::from_str::<Map<String, Value>>(key).unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            } else if let Some(val) = el.strip_prefix("v:") {
                format!("[={val}]")
            } else {
                el.clone()
            }
        })
        .collect()
}

fn print_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s = format!("{s} with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        s = format!("{s} using {}", e.api_version);
    }
    s
}

/// Server-side apply of `applied` (already restricted to the writer's scope) onto `live`
/// (`None` creates). Returns the merged object with updated managedFields, or a 409 listing the
/// conflicts when other managers own differing values and `force` is false.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    force: bool,
    w: &Writer<'_>,
    resource: (&str, &str, &str),
) -> Result<Value, ApiError> {
    let sub = w.subresource();
    let lt = w.list_types;
    let mut list = live.map(entries).unwrap_or_default();
    let applied_leaves = leaves(applied, w.scope, lt);
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut conflicts: Vec<(usize, FieldPath)> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        if e.same_slot(w.manager, "Apply", sub) {
            continue;
        }
        for p in applied_leaves.intersection(&e.fields) {
            let (live_v, applied_v) = (value_at(&base, p), value_at(applied, p));
            // A keyed item or set value present on both sides is the same item.
            let is_item = p.last().is_some_and(|el| !el.starts_with("f:"));
            if !is_item && live_v != applied_v {
                conflicts.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&list, &conflicts, resource));
        }
        for (i, p) in &conflicts {
            list[*i].fields.remove(p);
        }
    }
    let previous = list
        .iter()
        .find(|e| e.same_slot(w.manager, "Apply", sub))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut result = base;
    merge_into(&mut result, applied, &mut Vec::new(), lt);
    for p in previous.difference(&applied_leaves) {
        let owned_elsewhere = list.iter().any(|e| {
            !e.same_slot(w.manager, "Apply", sub) && e.fields.iter().any(|f| f.starts_with(p))
        });
        if !owned_elsewhere && !applied_leaves.iter().any(|a| a.starts_with(p)) {
            remove_at(&mut result, p);
        }
    }
    let changed = live.is_none_or(|l| {
        let mut a = l.clone();
        let mut b = result.clone();
        for o in [&mut a, &mut b] {
            if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
        }
        a != b
    });
    match list
        .iter_mut()
        .find(|e| e.same_slot(w.manager, "Apply", sub))
    {
        Some(e) => {
            if e.fields != applied_leaves || changed {
                e.time = w.now.to_string();
            }
            e.fields = applied_leaves;
            e.api_version = w.api_version.to_string();
        }
        None => list.push(Entry {
            manager: w.manager.to_string(),
            operation: "Apply".into(),
            api_version: w.api_version.to_string(),
            time: w.now.to_string(),
            subresource: sub.to_string(),
            fields: applied_leaves,
        }),
    }
    set_entries(&mut result, list);
    Ok(result)
}

fn conflict_error(
    list: &[Entry],
    conflicts: &[(usize, FieldPath)],
    resource: (&str, &str, &str),
) -> ApiError {
    let (plural, group, name) = resource;
    let mut by_manager: Vec<(usize, Vec<&FieldPath>)> = Vec::new();
    for (i, p) in conflicts {
        match by_manager.iter_mut().find(|(j, _)| j == i) {
            Some((_, ps)) => ps.push(p),
            None => by_manager.push((*i, vec![p])),
        }
    }
    let n = conflicts.len();
    let mut parts = Vec::new();
    for (i, paths) in &by_manager {
        let m = print_manager(&list[*i]);
        if paths.len() == 1 {
            parts.push(format!("conflict with {m}: {}", dotted(paths[0])));
        } else {
            let lines: Vec<String> = paths.iter().map(|p| format!("- {}", dotted(p))).collect();
            parts.push(format!("conflicts with {m}:\n{}", lines.join("\n")));
        }
    }
    let msg = format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join("\n")
    );
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", print_manager(&list[*i])), "field": dotted(p)})
        })
        .collect();
    let mut e = ApiError::new(409, "Conflict", msg);
    let mut d = json!({"name": name, "kind": plural, "causes": causes});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    e.details = Some(d);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            scope: Scope::Main { has_status: true },
            now: "2026-01-01T00:00:00Z",
            list_types: ListTypes::default(),
        }
    }

    fn path(els: &[&str]) -> FieldPath {
        els.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn apply_conflicts_with_other_manager_unless_forced() {
        let live = apply(
            None,
            &json!({"spec": {"x": 1}}),
            false,
            &w("a"),
            ("things", "g", "t"),
        )
        .expect("create");
        let err = apply(
            Some(&live),
            &json!({"spec": {"x": 2}}),
            false,
            &w("b"),
            ("things", "g", "t"),
        )
        .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"a\": .spec.x"
        );
        let forced = apply(
            Some(&live),
            &json!({"spec": {"x": 2}}),
            true,
            &w("b"),
            ("things", "g", "t"),
        )
        .expect("force");
        assert_eq!(forced["spec"]["x"], 2);
        let owners: Vec<String> = entries(&forced).into_iter().map(|e| e.manager).collect();
        assert_eq!(owners, vec!["b"]);
    }

    #[test]
    fn apply_removes_fields_the_manager_stops_applying() {
        let live = apply(
            None,
            &json!({"spec": {"x": 1, "y": {"z": 2}}}),
            false,
            &w("a"),
            ("t", "", "n"),
        )
        .expect("create");
        let next = apply(
            Some(&live),
            &json!({"spec": {"x": 1}}),
            false,
            &w("a"),
            ("t", "", "n"),
        )
        .expect("apply");
        assert_eq!(next["spec"], json!({"x": 1}));
    }

    #[test]
    fn finalizers_of_two_appliers_merge_as_a_set() {
        let live = apply(
            None,
            &json!({"metadata": {"finalizers": ["a/f"]}}),
            false,
            &w("a"),
            ("t", "", "n"),
        )
        .expect("a");
        let both = apply(
            Some(&live),
            &json!({"metadata": {"finalizers": ["b/f"]}}),
            false,
            &w("b"),
            ("t", "", "n"),
        )
        .expect("b");
        assert_eq!(both["metadata"]["finalizers"], json!(["a/f", "b/f"]));
        let a_gone = apply(
            Some(&both),
            &json!({"metadata": {}}),
            false,
            &w("a"),
            ("t", "", "n"),
        )
        .expect("a drops");
        assert_eq!(a_gone["metadata"]["finalizers"], json!(["b/f"]));
    }

    #[test]
    fn update_takes_ownership_of_changed_fields() {
        let live = apply(
            None,
            &json!({"spec": {"x": 1, "y": 2}}),
            false,
            &w("a"),
            ("t", "", "n"),
        )
        .expect("create");
        let mut new = live.clone();
        new["spec"]["y"] = json!(3);
        record_update(Some(&live), &mut new, &w("u"));
        let es = entries(&new);
        assert_eq!(es.len(), 2);
        assert!(es[1].fields.contains(&path(&["f:spec", "f:y"])));
        assert!(!es[0].fields.contains(&path(&["f:spec", "f:y"])));
    }
}
