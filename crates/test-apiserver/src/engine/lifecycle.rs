//! Namespaces and CRDs as containers: deleting one deletes its content first, and it stays
//! (Terminating) until that content is gone.

use super::*;

pub(super) fn namespaced_types(inner: &Inner) -> Vec<ResourceType> {
    let mut types: Vec<ResourceType> = Vec::new();
    for t in inner.registry.types().iter().filter(|t| t.namespaced) {
        if !types.iter().any(|k| k.key() == t.key()) {
            types.push(t.clone());
        }
    }
    types
}

/// Deletes every object in a namespace as a DELETE of each would (finalizers honoured).
pub(super) fn delete_namespace_contents(inner: &mut Inner, namespace: &str) {
    for rt in namespaced_types(inner) {
        for obj in inner.store.list(&rt.key(), Some(namespace)) {
            // Earlier deletions may have collected this one already.
            if let Some(current) = inner.store.get(&rt.key(), namespace, meta::name(&obj)) {
                delete_object(inner, &rt, current, false);
            }
        }
    }
}

/// The storage key of a CRD's custom resources.
pub(super) fn crd_key(crd: &Value) -> StorageKey {
    let s = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    StorageKey {
        group: s("/spec/group"),
        plural: s("/spec/names/plural"),
    }
}

/// Deletes every custom resource of a CRD as a DELETE of each would (finalizers honoured).
pub(super) fn delete_custom_resources(inner: &mut Inner, crd: &Value) {
    let key = crd_key(crd);
    let Some(rt) = inner
        .registry
        .types()
        .iter()
        .find(|t| t.key() == key)
        .cloned()
    else {
        return;
    };
    for obj in inner.store.list(&key, None) {
        // Earlier deletions may have collected this one already.
        if let Some(current) = inner
            .store
            .get(&key, meta::namespace(&obj), meta::name(&obj))
        {
            delete_object(inner, &rt, current, false);
        }
    }
}

/// Whether a namespace or CRD still has objects in it.
pub(super) fn has_content(inner: &Inner, rt: &ResourceType, obj: &Value) -> bool {
    if rt.is_namespace() {
        !namespace_is_empty(inner, meta::name(obj))
    } else if rt.is_crd() {
        !inner.store.list(&crd_key(obj), None).is_empty()
    } else {
        false
    }
}

/// Removes a terminating CRD once its custom resources are gone.
pub(super) fn finish_crd(inner: &mut Inner, group: &str, plural: &str) {
    let Some(crd_rt) = inner
        .registry
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .cloned()
    else {
        return;
    };
    let Some(crd) = inner
        .store
        .get(&crd_rt.key(), "", &format!("{plural}.{group}"))
    else {
        return;
    };
    if meta::is_deleting(&crd)
        && meta::finalizers(&crd).is_empty()
        && !has_content(inner, &crd_rt, &crd)
    {
        remove_object(inner, &crd_rt, &crd, false);
    }
}

/// Whether a custom resource's CRD is being deleted.
pub(super) fn crd_terminating(inner: &Inner, rt: &ResourceType) -> bool {
    rt.builtin_fields.is_none()
        && inner
            .store
            .get(
                &StorageKey {
                    group: "apiextensions.k8s.io".into(),
                    plural: "customresourcedefinitions".into(),
                },
                "",
                &format!("{}.{}", rt.plural, rt.group),
            )
            .is_some_and(|crd| meta::is_deleting(&crd))
}

pub(super) fn namespace_is_empty(inner: &Inner, namespace: &str) -> bool {
    namespaced_types(inner)
        .iter()
        .all(|rt| inner.store.list(&rt.key(), Some(namespace)).is_empty())
}

pub(super) fn namespace_type(inner: &Inner) -> Option<ResourceType> {
    inner.registry.get("", "v1", "namespaces").cloned()
}

/// Removes a terminating namespace once it is empty and has no finalizers left.
pub(super) fn finish_namespace(inner: &mut Inner, namespace: &str) {
    let Some(ns_rt) = namespace_type(inner) else {
        return;
    };
    let Some(ns) = inner.store.get(&ns_rt.key(), "", namespace) else {
        return;
    };
    if meta::is_deleting(&ns)
        && meta::finalizers(&ns).is_empty()
        && namespace_is_empty(inner, namespace)
    {
        remove_object(inner, &ns_rt, &ns, false);
    }
}
