//! Field ownership: field paths, list types and `metadata.managedFields` in Kubernetes'
//! FieldsV1 format (`{"f:spec": {"f:x": {}}}`); the writes that change ownership are in
//! `apply`. Lists follow their list type: `x-kubernetes-list-type: map` items are owned per
//! key (`k:{"type":"Ready"}`), `set` items per value (`v:"x"`, as `metadata.finalizers`), other
//! lists atomically.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A field path: FieldsV1 elements from the root (`f:spec`, `k:{"name":"a"}`, `v:"x"`).
pub type FieldPath = Vec<String>;

/// Which part of an object a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `status` excluded when the kind has a status subresource.
    Main {
        /// Whether the kind has a `/status` subresource.
        has_status: bool,
    },
    /// The `/status` subresource: only `status`.
    Status,
}

/// How a list merges and is owned.
#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    /// Replaced and owned as a whole.
    Atomic,
    /// Items are values, owned one by one.
    Set,
    /// Items are objects identified by these keys, owned one by one.
    Map(Vec<String>),
}

/// The list types of a kind: from its CRD schema (`x-kubernetes-list-type`), plus ObjectMeta's
/// (`finalizers` is a set, `ownerReferences` a map keyed by `uid`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListTypes<'a> {
    /// The CRD version's `openAPIV3Schema`, if any.
    pub schema: Option<&'a Value>,
}

impl ListTypes<'_> {
    /// The schema node at `path`, if the schema describes it.
    fn node(&self, path: &[String]) -> Option<&Value> {
        let mut node = self.schema?;
        for el in path {
            node = if let Some(name) = el.strip_prefix("f:") {
                node.get("properties")
                    .and_then(|p| p.get(name))
                    .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?
            } else {
                node.get("items")?
            };
        }
        Some(node)
    }

    /// Whether the map at `path` is `x-kubernetes-map-type: atomic` (owned as a whole).
    pub fn atomic_map(&self, path: &[String]) -> bool {
        self.node(path)
            .and_then(|n| n.get("x-kubernetes-map-type"))
            .and_then(Value::as_str)
            == Some("atomic")
    }

    /// The list type of the list at `path`.
    pub fn at(&self, path: &[String]) -> ListType {
        match path {
            [m, f] if m == "f:metadata" && f == "f:finalizers" => return ListType::Set,
            [m, f] if m == "f:metadata" && f == "f:ownerReferences" => {
                return ListType::Map(vec!["uid".into()]);
            }
            _ => {}
        }
        let Some(node) = self.node(path) else {
            return ListType::Atomic;
        };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let keys: Vec<String> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Atomic
                } else {
                    ListType::Map(keys)
                }
            }
            _ => ListType::Atomic,
        }
    }
}

const OWNABLE_METADATA: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// The `k:` element of a map-list item, or `None` if it lacks a key.
pub(crate) fn key_element(item: &Value, keys: &[String]) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), item.get(k)?.clone());
    }
    Some(format!("k:{}", Value::Object(m)))
}

/// The leaf fields of an object that field managers can own.
pub fn leaves(obj: &Value, scope: Scope, lt: ListTypes<'_>) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        let include = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("metadata", Scope::Main { .. }) => {
                if let Some(md) = v.as_object() {
                    for key in OWNABLE_METADATA {
                        if let Some(val) = md.get(*key) {
                            collect(
                                val,
                                vec!["f:metadata".into(), format!("f:{key}")],
                                lt,
                                &mut out,
                            );
                        }
                    }
                }
                false
            }
            ("metadata", Scope::Status) => false,
            ("status", Scope::Main { has_status }) => !has_status,
            ("status", Scope::Status) => true,
            (_, Scope::Status) => false,
            _ => true,
        };
        if include {
            collect(v, vec![format!("f:{k}")], lt, &mut out);
        }
    }
    out
}

fn collect(v: &Value, path: FieldPath, lt: ListTypes<'_>, out: &mut BTreeSet<FieldPath>) {
    match v {
        Value::Object(m) if !m.is_empty() && !lt.atomic_map(&path) => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                collect(child, p, lt, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match lt.at(&path) {
            ListType::Atomic => {
                out.insert(path);
            }
            ListType::Set => {
                for item in items {
                    let mut p = path.clone();
                    p.push(format!("v:{item}"));
                    out.insert(p);
                }
            }
            ListType::Map(keys) => {
                for item in items {
                    let Some(el) = key_element(item, &keys) else {
                        out.insert(path);
                        return;
                    };
                    let mut p = path.clone();
                    p.push(el);
                    out.insert(p.clone());
                    if let Some(fields) = item.as_object() {
                        for (k, child) in fields {
                            let mut fp = p.clone();
                            fp.push(format!("f:{k}"));
                            collect(child, fp, lt, out);
                        }
                    }
                }
            }
        },
        _ => {
            out.insert(path);
        }
    }
}

pub(crate) fn item_matches(item: &Value, el: &str) -> bool {
    if let Some(key) = el.strip_prefix("k:") {
        let Ok(Value::Object(want)) = serde_json::from_str::<Value>(key) else {
            return false;
        };
        want.iter().all(|(k, v)| item.get(k) == Some(v))
    } else if let Some(val) = el.strip_prefix("v:") {
        serde_json::from_str::<Value>(val).is_ok_and(|v| v == *item)
    } else {
        false
    }
}

fn step<'a>(cur: &'a Value, el: &str) -> Option<&'a Value> {
    match el.strip_prefix("f:") {
        Some(name) => cur.get(name),
        None => cur.as_array()?.iter().find(|i| item_matches(i, el)),
    }
}

fn step_mut<'a>(cur: &'a mut Value, el: &str) -> Option<&'a mut Value> {
    match el.strip_prefix("f:") {
        Some(name) => cur.get_mut(name),
        None => cur.as_array_mut()?.iter_mut().find(|i| item_matches(i, el)),
    }
}

/// The value at a path.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for el in path {
        cur = step(cur, el)?;
    }
    Some(cur)
}

fn remove_child(parent: &mut Value, el: &str) {
    match el.strip_prefix("f:") {
        Some(name) => {
            if let Some(m) = parent.as_object_mut() {
                m.remove(name);
            }
        }
        None => {
            if let Some(a) = parent.as_array_mut() {
                a.retain(|i| !item_matches(i, el));
            }
        }
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Removes the field at `path`, then containers left empty by the removal.
pub(crate) fn remove_at(obj: &mut Value, path: &[String]) {
    for depth in (1..=path.len()).rev() {
        let (last, parents) = path[..depth].split_last().expect("depth >= 1");
        let mut cur = &mut *obj;
        for el in parents {
            match step_mut(cur, el) {
                Some(next) => cur = next,
                None => return,
            }
        }
        let remove = depth == path.len() || step(cur, last).is_some_and(is_empty_container);
        if !remove {
            return;
        }
        remove_child(cur, last);
    }
}

#[derive(Default)]
struct TreeNode {
    owned: bool,
    children: std::collections::BTreeMap<String, TreeNode>,
}

impl TreeNode {
    fn render(&self) -> Value {
        let mut m = Map::new();
        if self.owned && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, child) in &self.children {
            m.insert(k.clone(), child.render());
        }
        Value::Object(m)
    }
}

/// Renders a set of paths as a FieldsV1 tree (`"."` marks an owned node with owned children).
pub fn to_fields_v1(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = TreeNode::default();
    for path in set {
        let mut cur = &mut root;
        for el in path {
            cur = cur.children.entry(el.clone()).or_default();
        }
        cur.owned = true;
    }
    root.render()
}

/// Parses a FieldsV1 tree; `i:` (index) elements make their list an atomic leaf.
pub fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    walk_fields(v, Vec::new(), &mut out);
    out
}

fn walk_fields(v: &Value, path: FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() && !path.is_empty() {
        out.insert(path);
        return;
    }
    for (k, child) in m {
        if k == "." {
            if !path.is_empty() {
                out.insert(path.clone());
            }
        } else if k.starts_with("f:") || k.starts_with("k:") || k.starts_with("v:") {
            let mut p = path.clone();
            p.push(k.clone());
            walk_fields(child, p, out);
        } else if !path.is_empty() {
            out.insert(path.clone());
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager wrote with.
    pub api_version: String,
    /// When the entry last changed.
    pub time: String,
    /// `status` for the status subresource, empty otherwise.
    pub subresource: String,
    /// Owned fields.
    pub fields: BTreeSet<FieldPath>,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&self.fields),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    pub(crate) fn same_slot(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

/// The `managedFields` entries of an object.
pub fn entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = |k: &str| {
                        e.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    Entry {
                        manager: s("manager"),
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: s("subresource"),
                        fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn set_entries(obj: &mut Value, entries: Vec<Entry>) {
    let md = crate::meta::metadata_mut(obj);
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    if list.is_empty() {
        md.remove("managedFields");
    } else {
        md.insert("managedFields".into(), Value::Array(list));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn path(els: &[&str]) -> FieldPath {
        els.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_v1_round_trips() {
        let obj = json!({"metadata": {"labels": {"a": "1"}, "name": "x", "finalizers": ["f1"]}, "spec": {"x": 1, "y": {"z": [1]}}, "status": {"s": 1}});
        let set = leaves(&obj, Scope::Main { has_status: true }, ListTypes::default());
        let tree = to_fields_v1(&set);
        assert_eq!(
            tree,
            json!({"f:metadata": {"f:labels": {"f:a": {}}, "f:finalizers": {"v:\"f1\"": {}}}, "f:spec": {"f:x": {}, "f:y": {"f:z": {}}}})
        );
        assert_eq!(from_fields_v1(&tree), set);
    }

    #[test]
    fn atomic_maps_are_owned_as_a_whole() {
        let schema = json!({"properties": {"spec": {"properties": {"selector": {"type": "object", "x-kubernetes-map-type": "atomic"}}}}});
        let lt = ListTypes {
            schema: Some(&schema),
        };
        let obj = json!({"spec": {"selector": {"a": "1", "b": "2"}}});
        let set = leaves(&obj, Scope::Main { has_status: true }, lt);
        assert_eq!(to_fields_v1(&set), json!({"f:spec": {"f:selector": {}}}));
    }

    #[test]
    fn map_list_items_are_owned_by_key() {
        let schema = json!({"properties": {"status": {"properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}}}}});
        let lt = ListTypes {
            schema: Some(&schema),
        };
        let obj = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let set = leaves(&obj, Scope::Status, lt);
        assert_eq!(
            to_fields_v1(&set),
            json!({"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
        );
        let p = path(&[
            "f:status",
            "f:conditions",
            "k:{\"type\":\"Ready\"}",
            "f:status",
        ]);
        assert_eq!(value_at(&obj, &p), Some(&json!("True")));
    }
}
