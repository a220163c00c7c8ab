//! Garbage collection through `ownerReferences`: background (dependents go when their last
//! owner goes), orphan (they lose the reference) and foreground (the owner waits, with the
//! `foregroundDeletion` finalizer, until its dependents are gone).

use super::*;

const FOREGROUND: &str = "foregroundDeletion";

pub(super) use crate::store::owner_uids;

fn type_of(inner: &Inner, key: &StorageKey) -> Option<ResourceType> {
    inner
        .registry
        .types()
        .iter()
        .find(|t| t.key() == *key)
        .cloned()
}

/// Every stored object whose `ownerReferences` name `uid`, with its type.
fn dependents(inner: &Inner, uid: &str) -> Vec<(ResourceType, Arc<Value>)> {
    inner
        .store
        .dependents_of(uid)
        .into_iter()
        .filter_map(|(key, obj)| type_of(inner, &key).map(|rt| (rt, obj)))
        .collect()
}

/// Whether any object names `uid` as an owner.
pub(super) fn has_dependents(inner: &Inner, uid: &str) -> bool {
    !dependents(inner, uid).is_empty()
}

/// The owner `uid` is gone (or going): dependents lose the reference, and are deleted when no
/// owner remains (unless `orphan`).
pub(super) fn collect_garbage(inner: &mut Inner, uid: &str, orphan: bool) {
    for (rt, obj) in dependents(inner, uid) {
        // Earlier deletions in this loop may have changed or removed it.
        let Some(obj) = inner
            .store
            .get(&rt.key(), meta::namespace(&obj), meta::name(&obj))
        else {
            continue;
        };
        let refs = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let remaining: Vec<Value> = refs
            .into_iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(uid))
            .collect();
        if remaining.is_empty() && !orphan {
            delete_object(inner, &rt, obj, false);
            continue;
        }
        let mut new = (*obj).clone();
        let md = meta::metadata_mut(&mut new);
        if remaining.is_empty() {
            md.remove("ownerReferences");
        } else {
            md.insert("ownerReferences".into(), Value::Array(remaining));
        }
        let rv = inner.store.next_rv();
        md.insert("resourceVersion".into(), json!(rv.to_string()));
        inner.store.put(&rt.key(), rv, new, Some(obj.clone()));
    }
}

/// Foreground deletion: the owner gets the `foregroundDeletion` finalizer and a
/// deletionTimestamp, its dependents are deleted, and it goes when they are gone.
pub(super) fn start_foreground_deletion(
    inner: &mut Inner,
    rt: &ResourceType,
    old: Arc<Value>,
) -> Arc<Value> {
    let key = rt.key();
    let mut new = (*old).clone();
    mark_deleting(rt, &mut new);
    let mut finalizers = meta::finalizers(&new);
    if !finalizers.iter().any(|f| f == FOREGROUND) {
        finalizers.push(FOREGROUND.to_string());
    }
    let rv = inner.store.next_rv();
    let md = meta::metadata_mut(&mut new);
    md.insert("finalizers".into(), json!(finalizers));
    md.insert("resourceVersion".into(), json!(rv.to_string()));
    let stored = inner.store.put(&key, rv, new, Some(old));
    let uid = meta::meta_str(&stored, "uid")
        .unwrap_or_default()
        .to_string();
    for (drt, dep) in dependents(inner, &uid) {
        if let Some(current) = inner
            .store
            .get(&drt.key(), meta::namespace(&dep), meta::name(&dep))
        {
            delete_object(inner, &drt, current, false);
        }
    }
    finish_foreground(inner, &uid);
    inner
        .store
        .get(&key, meta::namespace(&stored), meta::name(&stored))
        .unwrap_or(stored)
}

fn find_by_uid(inner: &Inner, uid: &str) -> Option<(ResourceType, Arc<Value>)> {
    let (key, obj) = inner.store.find_uid(uid)?;
    type_of(inner, &key).map(|rt| (rt, obj))
}

/// Completes the foreground deletion of owner `uid` once no dependent is left.
pub(super) fn finish_foreground(inner: &mut Inner, uid: &str) {
    let Some((rt, owner)) = find_by_uid(inner, uid) else {
        return;
    };
    let finalizers = meta::finalizers(&owner);
    if !finalizers.iter().any(|f| f == FOREGROUND) || has_dependents(inner, uid) {
        return;
    }
    let remaining: Vec<String> = finalizers.into_iter().filter(|f| f != FOREGROUND).collect();
    let mut new = (*owner).clone();
    let md = meta::metadata_mut(&mut new);
    if remaining.is_empty() {
        md.remove("finalizers");
        remove_object(inner, &rt, &new, false);
    } else {
        md.insert("finalizers".into(), json!(remaining));
        let rv = inner.store.next_rv();
        meta::metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
        inner.store.put(&rt.key(), rv, new, Some(owner.clone()));
    }
}
