//! Writes: create, update and patch through one commit path (status subresource, metadata
//! rules, validation, managedFields, generation, no-op detection), and server-side apply.

use super::*;

pub(super) const SYSTEM_METADATA: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

pub(super) fn create_locked(
    inner: &mut Inner,
    rt: &ResourceType,
    namespace: &str,
    body: Value,
    opts: &WriteOptions,
    managed_preset: bool,
) -> Result<Outcome, ApiError> {
    let mut obj = body;
    check_api_version(&obj, rt)?;
    {
        let m = obj.as_object_mut().expect("checked object");
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    let body_ns = meta::namespace(&obj).to_string();
    if rt.namespaced {
        if !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta::metadata_mut(&mut obj).insert("namespace".into(), json!(namespace));
    } else {
        meta::metadata_mut(&mut obj).remove("namespace");
    }
    if meta::name(&obj).is_empty()
        && let Some(prefix) = meta::meta_str(&obj, "generateName").filter(|p| !p.is_empty())
    {
        let generated = meta::generate_name(prefix);
        meta::metadata_mut(&mut obj).insert("name".into(), json!(generated));
    }
    let name = meta::name(&obj).to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            &rt.kind,
            validation_group(rt),
            "",
            &[FieldCause::new(
                "FieldValueRequired",
                "metadata.name",
                "metadata.name: Required value: name or generateName is required",
            )],
        ));
    }
    let causes = name_causes(&name, "metadata.name", rt.is_namespace());
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            &rt.kind,
            validation_group(rt),
            &name,
            &causes,
        ));
    }
    if meta::resource_version(&obj).is_some() && !managed_preset {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if rt.namespaced {
        let ns_key = StorageKey {
            group: String::new(),
            plural: "namespaces".into(),
        };
        match inner.store.get(&ns_key, "", namespace) {
            None => return Err(ApiError::not_found("namespaces", "", namespace)),
            Some(ns) if meta::is_deleting(&ns) => {
                return Err(ApiError::forbidden(
                    &rt.plural,
                    &rt.group,
                    &name,
                    &format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if crd_terminating(inner, rt) {
        return Err(ApiError::forbidden(
            &rt.plural,
            &rt.group,
            &name,
            "create not allowed while custom resource definition is terminating",
        ));
    }
    let key = rt.key();
    if inner
        .store
        .get(&key, namespace_of(rt, namespace), &name)
        .is_some()
    {
        return Err(ApiError::already_exists(&rt.plural, &rt.group, &name));
    }
    {
        let md = meta::metadata_mut(&mut obj);
        for k in SYSTEM_METADATA {
            md.remove(*k);
        }
        md.remove("resourceVersion");
        if !managed_preset {
            md.remove("managedFields");
        }
    }
    if rt.has_status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if rt.is_namespace() {
        obj["status"] = json!({"phase": "Active"});
    }
    let mut warnings = Vec::new();
    admit(rt, &mut obj, None, opts, &mut warnings)?;
    if rt.is_crd() {
        obj["status"] = crd_status(&obj, None);
    }
    let now = meta::now();
    {
        let md = meta::metadata_mut(&mut obj);
        md.insert("uid".into(), json!(meta::new_uid()));
        md.insert("creationTimestamp".into(), json!(now));
        if rt.tracks_generation {
            md.insert("generation".into(), json!(1));
        }
    }
    if !managed_preset {
        let w = Writer {
            manager: &opts.manager,
            api_version: &rt.api_version(),
            scope: Scope::Main {
                has_status: rt.has_status,
            },
            now: &now,
            list_types: list_types(rt),
        };
        apply::record_update(None, &mut obj, &w);
    }
    if opts.dry_run {
        return Ok(Outcome {
            body: present(rt, &obj),
            code: 201,
            warnings,
        });
    }
    let rv = inner.store.next_rv();
    meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
    let stored = inner.store.put(&key, rv, obj, None);
    if rt.is_crd() {
        register_crd(inner, &stored);
    }
    Ok(Outcome {
        body: present(rt, &stored),
        code: 201,
        warnings,
    })
}

fn list_types(rt: &ResourceType) -> ListTypes<'_> {
    ListTypes {
        schema: rt.schema.as_ref().map(|s| &s.raw),
    }
}

/// What kube-apiserver sets on a Namespace: the `kubernetes.io/metadata.name` label (always its
/// name) and the `kubernetes` finalizer in `spec.finalizers` (at creation; later only the
/// namespace controller's `/finalize` changes them, so updates keep the stored ones). The embedded
/// server finalizes namespaces itself and does not wait for that finalizer.
fn namespace_defaults(obj: &mut Value, old: Option<&Value>) {
    let name = meta::name(obj).to_string();
    let md = meta::metadata_mut(obj);
    let labels = md.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["kubernetes.io/metadata.name"] = json!(name);
    let finalizers = match old {
        Some(old) => old.pointer("/spec/finalizers").cloned(),
        None => {
            let mut f: Vec<Value> = obj
                .pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !f.contains(&json!("kubernetes")) {
                f.push(json!("kubernetes"));
            }
            Some(Value::Array(f))
        }
    };
    let Some(m) = obj.as_object_mut() else { return };
    let spec = m.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    match finalizers {
        Some(f) => spec["finalizers"] = f,
        None => {
            if let Some(s) = spec.as_object_mut() {
                s.remove("finalizers");
            }
        }
    }
    if spec.as_object().is_some_and(|s| s.is_empty()) {
        m.remove("spec");
    }
}

/// Defaulting of built-in kinds: a Secret's `type` defaults to `Opaque` and its `stringData`
/// is merged into `data` (base64), as kube-apiserver does on every write.
fn builtin_defaults(rt: &ResourceType, obj: &mut Value) {
    use base64::Engine as _;
    if !(rt.group.is_empty() && rt.plural == "secrets") {
        return;
    }
    let Some(m) = obj.as_object_mut() else { return };
    if m.get("type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        m.insert("type".into(), json!("Opaque"));
    }
    if let Some(Value::Object(string_data)) = m.remove("stringData") {
        let data = m.entry("data").or_insert_with(|| json!({}));
        if !data.is_object() {
            *data = json!({});
        }
        if let Some(d) = data.as_object_mut() {
            for (k, v) in string_data {
                let text = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                d.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
        }
    }
}

/// The group kube-apiserver names in a 422 for `rt`: that of the internal type it validates,
/// which for `events.k8s.io` Events is the core Event.
fn validation_group(rt: &ResourceType) -> &str {
    if rt.group == "events.k8s.io" {
        ""
    } else {
        &rt.group
    }
}

/// Field validation, CRD schema validation/defaulting/pruning and CRD checks.
fn admit(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    opts: &WriteOptions,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let mut pruned = decode::prune_unknown(obj, rt.builtin_fields);
    builtin_defaults(rt, obj);
    if rt.is_namespace() {
        namespace_defaults(obj, old);
    }
    check_base64(rt, obj)?;
    let mut causes = Vec::new();
    if let Some(schema) = &rt.schema {
        let adm = schema.admit(obj, old);
        pruned.extend(adm.pruned);
        causes.extend(adm.errors);
        warnings.extend(adm.warnings);
    }
    decode::enforce(opts.validation, &pruned, &opts.duplicates, warnings)?;
    if rt.is_crd()
        && let Err(crd_causes) = registry::crd_types(obj)
    {
        causes.extend(crd_causes);
    }
    causes.extend(label_causes(obj));
    causes.extend(event_causes(rt, obj));
    causes.extend(immutable_causes(rt, obj, old));
    if let Some(old) = old
        && meta::is_deleting(old)
    {
        let before = meta::finalizers(old);
        let added: Vec<String> = meta::finalizers(obj)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            causes.push(FieldCause::new(
                "FieldValueForbidden",
                "metadata.finalizers",
                format!("metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"),
            ));
        }
    }
    finalizer_checks(rt, obj, old, &mut causes, warnings);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &rt.kind,
            validation_group(rt),
            meta::name(obj),
            &causes,
        ))
    }
}

fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(md) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("resourceVersion");
        if let Some(Value::Array(entries)) = md.get_mut("managedFields") {
            for e in entries {
                if let Some(m) = e.as_object_mut() {
                    m.remove("time");
                }
            }
        }
    }
    v
}

pub(super) fn commit_update(
    inner: &mut Inner,
    t: &Target<'_>,
    old: Arc<Value>,
    mut new: Value,
    scope: Scope,
    opts: &WriteOptions,
    managed_preset: bool,
) -> Result<Outcome, ApiError> {
    let rt = t.rt;
    let old_v: &Value = &old;
    if scope == Scope::Status {
        let mut next = old_v.clone();
        match new.get("status") {
            Some(s) => next["status"] = s.clone(),
            None => {
                if let Some(m) = next.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if managed_preset && let Some(mf) = new.pointer("/metadata/managedFields").cloned() {
            meta::metadata_mut(&mut next).insert("managedFields".into(), mf);
        }
        new = next;
    } else if rt.has_status {
        match old_v.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    {
        let old_md = old_v
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let md = meta::metadata_mut(&mut new);
        for k in SYSTEM_METADATA.iter().chain(["generateName"].iter()) {
            match old_md.get(*k) {
                Some(v) => md.insert(k.to_string(), v.clone()),
                None => md.remove(*k),
            };
        }
        if !managed_preset {
            match old_md.get("managedFields") {
                Some(v) => md.insert("managedFields".into(), v.clone()),
                None => md.remove("managedFields"),
            };
        }
        md.insert(
            "resourceVersion".into(),
            old_md
                .get("resourceVersion")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let mut warnings = Vec::new();
    admit(rt, &mut new, Some(old_v), opts, &mut warnings)?;
    if rt.is_crd() {
        new["status"] = crd_status(&new, old_v.get("status"));
    }
    let now = meta::now();
    if !managed_preset {
        let w = Writer {
            manager: &opts.manager,
            api_version: &rt.api_version(),
            scope,
            now: &now,
            list_types: list_types(rt),
        };
        apply::record_update(Some(old_v), &mut new, &w);
    }
    if rt.tracks_generation
        && meta::generation_view(old_v, rt.has_status) != meta::generation_view(&new, rt.has_status)
    {
        let g = old_v
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta::metadata_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    let deleting_done = meta::is_deleting(&new)
        && meta::finalizers(&new).is_empty()
        && !has_content(inner, rt, &new);
    if without_times(old_v) == without_times(&new) && !deleting_done {
        return Ok(Outcome {
            body: present(rt, old_v),
            code: 200,
            warnings,
        });
    }
    if opts.dry_run {
        return Ok(Outcome {
            body: present(rt, &new),
            code: 200,
            warnings,
        });
    }
    if deleting_done {
        // As kube-apiserver: the update that removes the last finalizer is the deletion. The
        // update is never stored: the DELETED event carries the object as last stored (with its
        // finalizers), and the response the updated object.
        remove_object(inner, rt, old_v, false);
        return Ok(Outcome {
            body: present(rt, &new),
            code: 200,
            warnings,
        });
    }
    let rv = inner.store.next_rv();
    meta::metadata_mut(&mut new).insert("resourceVersion".into(), json!(rv.to_string()));
    let key = rt.key();
    let stored = inner.store.put(&key, rv, new, Some(old.clone()));
    if rt.is_crd() {
        register_crd(inner, &stored);
    }
    Ok(Outcome {
        body: present(rt, &stored),
        code: 200,
        warnings,
    })
}

pub(super) fn apply_locked(
    inner: &mut Inner,
    t: &Target<'_>,
    scope: Scope,
    body: Value,
    opts: &WriteOptions,
) -> Result<Outcome, ApiError> {
    let rt = t.rt;
    if !opts.manager_explicit {
        return Err(ApiError::apply_without_field_manager());
    }
    let mut applied = body;
    if !applied.is_object() {
        return Err(ApiError::bad_request(
            "the body of an apply request must be an object",
        ));
    }
    for field in ["apiVersion", "kind"] {
        if applied
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(format!(
                "{field} must be set in an apply request"
            )));
        }
    }
    check_body_identity(&mut applied, t)?;
    let existing = inner
        .store
        .get(&rt.key(), namespace_of(rt, t.namespace), t.name);
    if let (Some(rv), Some(old)) = (meta::resource_version(&applied), &existing)
        && Some(rv) != meta::resource_version(old)
    {
        return Err(ApiError::conflict(&rt.plural, &rt.group, t.name));
    }
    {
        let md = meta::metadata_mut(&mut applied);
        for k in SYSTEM_METADATA
            .iter()
            .chain(["resourceVersion", "managedFields"].iter())
        {
            md.remove(*k);
        }
    }
    if let Some(m) = applied.as_object_mut() {
        match scope {
            Scope::Main { has_status: true } => {
                m.remove("status");
            }
            Scope::Status => {
                m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
            }
            Scope::Main { has_status: false } => {}
        }
    }
    let now = meta::now();
    let api_version = rt.api_version();
    let w = Writer {
        manager: &opts.manager,
        api_version: &api_version,
        scope,
        now: &now,
        list_types: list_types(rt),
    };
    let resource = (rt.plural.as_str(), rt.group.as_str(), t.name);
    match existing {
        None => {
            if scope == Scope::Status {
                return Err(ApiError::not_found(&rt.plural, &rt.group, t.name));
            }
            let mut merged = apply::apply(None, &applied, opts.force, &w, resource)?;
            // Ownership of apiVersion/kind/name is implicit; make sure the object is complete.
            merged["apiVersion"] = json!(api_version);
            merged["kind"] = json!(rt.kind);
            create_locked(inner, rt, t.namespace, merged, opts, true)
        }
        Some(old) => {
            let mut merged =
                apply::apply(Some(&present(rt, &old)), &applied, opts.force, &w, resource)?;
            merged["apiVersion"] = json!(api_version);
            merged["kind"] = json!(rt.kind);
            commit_update(inner, t, old, merged, scope, opts, true)
        }
    }
}

pub(super) fn namespace_of<'a>(rt: &ResourceType, ns: &'a str) -> &'a str {
    if rt.namespaced { ns } else { "" }
}
