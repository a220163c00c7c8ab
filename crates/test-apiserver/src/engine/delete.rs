//! Deletion: finalizers and deletionTimestamp, and the removal of an object with everything
//! that follows from it (garbage collection, namespace and CRD termination).

use super::*;

/// Deletes one object; returns the response and the object as it was left (or last seen).
pub(super) fn delete_locked(
    inner: &mut Inner,
    t: &Target<'_>,
    opts: &DeleteOptions,
) -> Result<(Outcome, Value), ApiError> {
    let rt = t.rt;
    let key = rt.key();
    let ns = namespace_of(rt, t.namespace);
    let old = inner
        .store
        .get(&key, ns, t.name)
        .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, t.name))?;
    if let Some(uid) = &opts.uid
        && Some(uid.as_str()) != meta::meta_str(&old, "uid")
    {
        return Err(ApiError::conflict_msg(
            &rt.plural,
            &rt.group,
            t.name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::meta_str(&old, "uid").unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && Some(rv.as_str()) != meta::resource_version(&old)
    {
        return Err(ApiError::conflict_msg(
            &rt.plural,
            &rt.group,
            t.name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta::resource_version(&old).unwrap_or_default()
            ),
        ));
    }
    if opts.dry_run {
        let body = present(rt, &old);
        return Ok((
            Outcome {
                body: body.clone(),
                code: 200,
                warnings: vec![],
            },
            body,
        ));
    }
    if opts.foreground && has_dependents(inner, meta::meta_str(&old, "uid").unwrap_or_default()) {
        let pending = start_foreground_deletion(inner, rt, old);
        let body = present(rt, &pending);
        return Ok((
            Outcome {
                body: body.clone(),
                code: 200,
                warnings: vec![],
            },
            body,
        ));
    }
    match delete_object(inner, rt, old, opts.orphan) {
        Deleted::Pending(obj) => {
            let body = present(rt, &obj);
            Ok((
                Outcome {
                    body: body.clone(),
                    code: 200,
                    warnings: vec![],
                },
                body,
            ))
        }
        Deleted::Gone(last) => {
            let body = if rt.builtin_fields.is_some() && !rt.is_crd() {
                let mut details =
                    json!({"name": t.name, "kind": rt.plural, "uid": meta::meta_str(&last, "uid")});
                if !rt.group.is_empty() {
                    details["group"] = json!(rt.group);
                }
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
            } else {
                present(rt, &last)
            };
            Ok((
                Outcome {
                    body,
                    code: 200,
                    warnings: vec![],
                },
                present(rt, &last),
            ))
        }
    }
}

/// What deleting one object did.
pub(super) enum Deleted {
    /// Finalizers remain: the object now has a deletionTimestamp.
    Pending(Arc<Value>),
    /// The object is gone; its last state.
    Gone(Arc<Value>),
}

/// Sets deletionTimestamp (once), `deletionGracePeriodSeconds: 0` and bumps generation.
pub(super) fn mark_deleting(rt: &ResourceType, obj: &mut Value) {
    if meta::is_deleting(obj) {
        return;
    }
    let md = meta::metadata_mut(obj);
    md.insert("deletionTimestamp".into(), json!(meta::now()));
    md.insert("deletionGracePeriodSeconds".into(), json!(0));
    if rt.tracks_generation {
        let g = md.get("generation").and_then(Value::as_i64).unwrap_or(0);
        md.insert("generation".into(), json!(g + 1));
    }
}

/// Deletes a stored object: sets deletionTimestamp while finalizers (or, for namespaces and
/// CRDs, content) remain; removes it otherwise, with garbage collection of its dependents
/// (unless `orphan`).
pub(super) fn delete_object(
    inner: &mut Inner,
    rt: &ResourceType,
    old: Arc<Value>,
    orphan: bool,
) -> Deleted {
    let key = rt.key();
    let name = meta::name(&old).to_string();
    // Content first (objects with finalizers stay, marked), then the namespace or CRD itself,
    // which waits (Terminating) until its content is gone.
    if rt.is_namespace() {
        delete_namespace_contents(inner, &name);
    }
    if rt.is_crd() {
        delete_custom_resources(inner, &old);
    }
    // Content deletion may have finished (and removed) the container already.
    let Some(old) = inner.store.get(&key, meta::namespace(&old), &name) else {
        return Deleted::Gone(old);
    };
    if meta::finalizers(&old).is_empty() && !has_content(inner, rt, &old) {
        return Deleted::Gone(remove_object(inner, rt, &old, orphan));
    }
    if meta::is_deleting(&old) {
        return Deleted::Pending(old);
    }
    let mut new = (*old).clone();
    mark_deleting(rt, &mut new);
    let rv = inner.store.next_rv();
    meta::metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
    if rt.is_namespace() {
        new["status"] = json!({"phase": "Terminating"});
    }
    if rt.is_crd()
        && let Some(conds) = new
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
    {
        conds.push(json!({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
            "message": "CustomResource deletion is in progress", "lastTransitionTime": meta::now()}));
    }
    Deleted::Pending(inner.store.put(&key, rv, new, Some(old.clone())))
}

/// Removes `obj` (its final state) with a DELETED event, then what follows: dependents are
/// garbage collected (unless `orphan`), a CRD's resources go, a terminating namespace or CRD
/// that is now empty goes, and owners waiting in foreground deletion are re-checked.
pub(super) fn remove_object(
    inner: &mut Inner,
    rt: &ResourceType,
    obj: &Value,
    orphan: bool,
) -> Arc<Value> {
    let mut last = obj.clone();
    let rv = inner.store.next_rv();
    meta::metadata_mut(&mut last).insert("resourceVersion".into(), json!(rv.to_string()));
    let last = inner.store.remove(&rt.key(), rv, last);
    if rt.is_crd() {
        for uid in unregister_crd(inner, &last) {
            collect_garbage(inner, &uid, false);
        }
    }
    if let Some(uid) = meta::meta_str(&last, "uid") {
        collect_garbage(inner, uid, orphan);
    }
    if rt.namespaced {
        finish_namespace(inner, meta::namespace(&last));
    }
    if rt.builtin_fields.is_none() {
        finish_crd(inner, &rt.group, &rt.plural);
    }
    for owner in owner_uids(&last) {
        finish_foreground(inner, &owner);
    }
    last
}
