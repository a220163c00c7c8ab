//! Validation kube-apiserver applies to every object regardless of kind (object names, label
//! keys and values, finalizer names), the immutability of `immutable` ConfigMaps and Secrets, and
//! the namespace rules of Events.

use super::*;

static DNS_LABEL: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("valid regex"));
static DNS_SUBDOMAIN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("valid regex")
});
static QUALIFIED_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("valid regex")
});
static LABEL_VALUE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").expect("valid regex")
});

/// Causes for an invalid object name (DNS subdomain; DNS label when `label_only`).
pub(super) fn name_causes(name: &str, field: &str, label_only: bool) -> Vec<FieldCause> {
    let ok = if label_only {
        name.len() <= 63 && DNS_LABEL.is_match(name)
    } else {
        name.len() <= 253 && DNS_SUBDOMAIN.is_match(name)
    };
    if ok {
        return vec![];
    }
    let msg = if label_only {
        format!(
            "{field}: Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    } else {
        format!(
            "{field}: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    };
    vec![FieldCause::new("FieldValueInvalid", field, msg)]
}

fn invalid(field: &str, value: &str, detail: &str) -> FieldCause {
    FieldCause::new(
        "FieldValueInvalid",
        field,
        format!("{field}: Invalid value: {value:?}: {detail}"),
    )
}

/// What is wrong with a qualified name (`[prefix/]name`: label keys, finalizers), in
/// Kubernetes' words (`IsQualifiedName`).
fn qualified_name_problems(key: &str) -> Vec<String> {
    const NAME: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let parts: Vec<&str> = key.split('/').collect();
    let mut problems = Vec::new();
    let name = match parts[..] {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                problems.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    problems.push("prefix part must be no more than 253 bytes".to_string());
                }
                if !DNS_SUBDOMAIN.is_match(prefix) {
                    problems.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
                }
            }
            name
        }
        _ => {
            return vec![format!(
                "a valid label key {NAME} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        problems.push("name part must be no more than 63 bytes".to_string());
    }
    if !QUALIFIED_NAME.is_match(name) {
        problems.push(format!("name part {NAME}"));
    }
    problems
}

/// Finalizers every kind may carry without a domain (`FinalizerKubernetes`, orphan, foreground).
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// Finalizer names, as kube-apiserver checks them: each must be a qualified name; an object of
/// the core API (and `events.k8s.io`) may carry no other name without a `/` than the standard
/// ones, where a custom resource only gets a warning for each such finalizer it adds.
pub(super) fn finalizer_checks(
    rt: &ResourceType,
    obj: &Value,
    old: Option<&Value>,
    causes: &mut Vec<FieldCause>,
    warnings: &mut Vec<String>,
) {
    let field = "metadata.finalizers";
    let finalizers = meta::finalizers(obj);
    for f in &finalizers {
        for problem in qualified_name_problems(f) {
            causes.push(invalid(field, f, &problem));
        }
    }
    let unqualified = |f: &str| !f.contains('/') && !STANDARD_FINALIZERS.contains(&f);
    if rt.group.is_empty() || rt.group == "events.k8s.io" {
        for (i, f) in finalizers.iter().enumerate() {
            if unqualified(f) {
                causes.push(invalid(
                    &format!("{field}[{i}]"),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
    } else if rt.is_custom_resource() {
        let before = old.map(meta::finalizers).unwrap_or_default();
        let mut added: Vec<&String> = finalizers.iter().filter(|f| !before.contains(f)).collect();
        added.sort();
        added.dedup();
        for f in added {
            for problem in qualified_name_problems(f) {
                warnings.push(format!("{field}: {f:?}: {problem}"));
            }
            if unqualified(f) {
                let what = if f.contains('.') {
                    "a domain-qualified finalizer name including a path (/)"
                } else {
                    "a domain-qualified finalizer name"
                };
                warnings.push(format!(
                    "{field}: {f:?}: prefer {what} to avoid accidental conflicts with other finalizer writers"
                ));
            }
        }
    }
}

/// An Event's namespace must agree with the namespace of the object it is about
/// (`involvedObject`, `regarding` in `events.k8s.io`), and an Event with an `eventTime` must name
/// its reporter, action and reason (kube-apiserver's `legacyValidateEvent`).
pub(super) fn event_causes(rt: &ResourceType, obj: &Value) -> Vec<FieldCause> {
    let core = rt.group.is_empty();
    if rt.kind != "Event" || !(core || rt.group == "events.k8s.io") {
        return vec![];
    }
    let about = if core { "involvedObject" } else { "regarding" };
    let about_ns = obj
        .pointer(&format!("/{about}/namespace"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ns = meta::namespace(obj);
    let field = "involvedObject.namespace";
    let mismatch = || invalid(field, about_ns, "does not match event.namespace");
    let has_event_time = obj
        .get("eventTime")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    let mut causes = Vec::new();
    if !has_event_time {
        if (about_ns.is_empty() && !matches!(ns, "" | "default"))
            || (!about_ns.is_empty() && about_ns != ns)
        {
            causes.push(mismatch());
        }
        return causes;
    }
    if about_ns.is_empty() && !matches!(ns, "default" | "kube-system") {
        causes.push(mismatch());
    }
    // The core API spells the reporter `reportingComponent`.
    let reporter = if core {
        "reportingComponent"
    } else {
        "reportingController"
    };
    for field in [reporter, "reportingInstance", "action", "reason"] {
        let value = obj.get(field).and_then(Value::as_str).unwrap_or_default();
        if value.is_empty() {
            causes.push(FieldCause::new(
                "FieldValueRequired",
                field,
                format!("{field}: Required value"),
            ));
        }
        if field == reporter {
            for problem in qualified_name_problems(value) {
                causes.push(invalid(field, value, &problem));
            }
        }
    }
    causes
}

/// Causes for invalid label keys and values (`metadata.labels`).
pub(super) fn label_causes(obj: &Value) -> Vec<FieldCause> {
    let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) else {
        return vec![];
    };
    let field = "metadata.labels";
    let mut causes = Vec::new();
    for (key, value) in labels {
        for problem in qualified_name_problems(key) {
            causes.push(invalid(field, key, &problem));
        }
        match value.as_str() {
            Some(v) if v.len() <= 63 && LABEL_VALUE.is_match(v) => {}
            Some(v) if v.len() > 63 => {
                causes.push(invalid(field, v, "must be no more than 63 characters"))
            }
            Some(v) => causes.push(invalid(field, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")),
            None => causes.push(invalid(field, &value.to_string(), "label values must be strings")),
        }
    }
    causes
}

/// Secret `data` and ConfigMap `binaryData` hold bytes: their values must be base64, or the
/// request fails to decode (400), as with kube-apiserver.
pub(super) fn check_base64(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    use base64::Engine as _;
    let field = match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => "data",
        ("", "configmaps") => "binaryData",
        _ => return Ok(()),
    };
    for v in obj
        .get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        let text = v.as_str().unwrap_or_default();
        if let Err(e) = base64::engine::general_purpose::STANDARD.decode(text) {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _)
                | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                _ => text.len(),
            };
            return Err(ApiError::bad_request(format!(
                "{} in version \"v1\" cannot be handled as a {}: illegal base64 data at input byte {at}",
                rt.kind, rt.kind
            )));
        }
    }
    Ok(())
}

/// Causes for changing an `immutable: true` ConfigMap or Secret.
pub(super) fn immutable_causes(
    rt: &ResourceType,
    obj: &Value,
    old: Option<&Value>,
) -> Vec<FieldCause> {
    let Some(old) = old else { return vec![] };
    if !(rt.group.is_empty() && matches!(rt.plural.as_str(), "configmaps" | "secrets"))
        || old.get("immutable").and_then(Value::as_bool) != Some(true)
    {
        return vec![];
    }
    let mut causes = Vec::new();
    for field in ["data", "binaryData"] {
        if obj.get(field) != old.get(field) {
            causes.push(FieldCause::new(
                "FieldValueForbidden",
                field,
                format!("{field}: Forbidden: field is immutable when `immutable` is set"),
            ));
        }
    }
    if obj.get("immutable") != old.get("immutable") {
        causes.push(FieldCause::new(
            "FieldValueForbidden",
            "immutable",
            "immutable: Forbidden: field is immutable when `immutable` is set",
        ));
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_and_values_follow_kubernetes_rules() {
        let ok = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web_1", "empty": ""}}});
        assert!(label_causes(&ok).is_empty());
        let bad =
            json!({"metadata": {"labels": {"bad key": "x", "k": "bad value", "Foo.com/x": "y"}}});
        let causes = label_causes(&bad);
        assert_eq!(causes.len(), 3, "{causes:?}");
        assert!(causes.iter().any(|c| {
            c.message
                .starts_with("metadata.labels: Invalid value: \"bad value\": a valid label")
        }));
    }
}
