//! Validation kube-apiserver applies to every object regardless of kind: object names, label
//! keys and values, and the immutability of `immutable` ConfigMaps and Secrets.

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

/// Causes for invalid label keys and values (`metadata.labels`).
pub(super) fn label_causes(obj: &Value) -> Vec<FieldCause> {
    let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) else {
        return vec![];
    };
    let field = "metadata.labels";
    let mut causes = Vec::new();
    for (key, value) in labels {
        let (prefix, name) = match key.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key.as_str()),
        };
        if let Some(p) = prefix
            && (p.is_empty() || p.len() > 253 || !DNS_SUBDOMAIN.is_match(p))
        {
            causes.push(invalid(field, key, "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }
        if name.is_empty() || name.len() > 63 || !QUALIFIED_NAME.is_match(name) {
            causes.push(invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
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
