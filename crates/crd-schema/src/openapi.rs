//! OpenAPI v3 validation of a value against its schema, with the messages and error kinds
//! kube-apiserver derives from kube-openapi's validator (`kubeOpenAPIResultToFieldErrors`).

use go_text::quote;
use serde_json::{Map, Value};

use crate::field_error::{FieldError, FieldErrorKind};
use crate::formats::check_format;
use crate::go_format::go_v_float;
use crate::list_types::correlate;
use crate::path::{child_path, index_path};
use crate::schema::{Additional, ListType, Node};

/// Validates `x` (found at `path`) against `s`, appending errors to `errs`.
///
/// `old` is the correlated value of the previous object on update. A value equal to its old
/// self is not validated: kube-apiserver ratchets (drops) OpenAPI errors of unchanged values
/// so objects stored under an older schema can still be updated elsewhere.
pub(crate) fn validate(
    x: &Value,
    old: Option<&Value>,
    s: &Node,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if old.is_some_and(|o| json_equal(x, o)) {
        return;
    }
    check_type(x, s, path, errs);
    if x.is_null() {
        // kube-openapi runs only the type and enum checks on null, and null never matches an
        // enum entry (not even a listed `null`).
        validate_enum(x, s, path, errs);
        return;
    }
    validate_combinators(x, s, path, errs);
    if let Value::String(text) = x {
        validate_string(text, s, path, errs);
    }
    if let Value::Number(_) = x {
        validate_number(x, s, path, errs);
    }
    if let Value::Array(items) = x {
        validate_array(
            items,
            old.and_then(Value::as_array).map(Vec::as_slice),
            s,
            path,
            errs,
        );
    }
    validate_enum(x, s, path, errs);
    if let Value::Object(map) = x {
        validate_object(map, old.and_then(Value::as_object), s, path, errs);
    }
}

/// The JSON type name kube-openapi infers for a decoded value.
fn json_type(x: &Value) -> &'static str {
    match x {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The type check (`type`, `nullable`, `x-kubernetes-int-or-string`).
fn check_type(x: &Value, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    let allowed: Vec<&str> = if s.int_or_string {
        vec!["integer", "string"]
    } else {
        match s.type_ {
            Some(t) => vec![t.name()],
            None => return,
        }
    };
    let actual = json_type(x);
    let ok = match x {
        Value::Null => s.nullable,
        Value::Number(n) => {
            allowed.contains(&actual)
                || (actual == "integer" && allowed.contains(&"number"))
                || (actual == "number"
                    && allowed.contains(&"integer")
                    && n.as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0))
        }
        _ => allowed.contains(&actual),
    };
    if ok {
        return;
    }
    let type_list = allowed.join(",");
    errs.push(FieldError::new(
        path,
        FieldErrorKind::TypeInvalid,
        Some(Value::from(actual)),
        format!(
            "{path} in body must be of type {type_list}: {}",
            quote(actual)
        ),
    ));
}

fn validate_combinators(x: &Value, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    for sub in &s.all_of {
        validate(x, None, sub, path, errs);
    }
    if !s.any_of.is_empty() && !s.any_of.iter().any(|sub| passes(x, sub, path)) {
        errs.push(FieldError::invalid(
            path,
            Some(x.clone()),
            format!("{path} in body must validate at least one schema (anyOf)"),
        ));
    }
    if !s.one_of.is_empty() {
        let matching = s.one_of.iter().filter(|sub| passes(x, sub, path)).count();
        if matching != 1 {
            errs.push(FieldError::invalid(
                path,
                Some(x.clone()),
                format!("{path} in body must validate one and only one schema (oneOf)"),
            ));
        }
    }
    if let Some(not) = &s.not
        && passes(x, not, path)
    {
        errs.push(FieldError::invalid(
            path,
            Some(x.clone()),
            format!("{path} in body should not validate the schema provided (not)"),
        ));
    }
}

fn passes(x: &Value, s: &Node, path: &str) -> bool {
    let mut errs = Vec::new();
    validate(x, None, s, path, &mut errs);
    errs.is_empty()
}

fn validate_string(text: &str, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    // kube-openapi's string validator stops at its first failure (maxLength, minLength,
    // pattern); the format validator runs on its own.
    if let Some(error) = string_error(text, s, path) {
        errs.push(error);
    }
    if let Some(format) = &s.format
        && !check_format(format, text)
    {
        errs.push(FieldError::new(
            path,
            FieldErrorKind::TypeInvalid,
            Some(Value::from(text)),
            format!("{path} in body must be of type {format}: {}", quote(text)),
        ));
    }
}

fn string_error(text: &str, s: &Node, path: &str) -> Option<FieldError> {
    // Go counts runes (`utf8.RuneCountInString`), as Rust counts chars.
    let len = text.chars().count() as u64;
    if let Some(max) = s.max_length
        && len > max
    {
        return Some(FieldError::new(
            path,
            FieldErrorKind::TooLong,
            Some(Value::from(text)),
            format!("may not be longer than {max}"),
        ));
    }
    if let Some(min) = s.min_length
        && len < min
    {
        return Some(FieldError::invalid(
            path,
            Some(Value::from(text)),
            format!("{path} in body should be at least {min} chars long"),
        ));
    }
    match &s.pattern {
        Some((pattern, re)) if !re.is_match(text) => Some(FieldError::invalid(
            path,
            Some(Value::from(text)),
            format!("{path} in body should match '{pattern}'"),
        )),
        _ => None,
    }
}

fn validate_number(x: &Value, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    let Some(v) = x.as_f64() else { return };
    if let Some(factor) = s.multiple_of
        && factor > 0.0
    {
        let q = v / factor;
        if q.is_finite() && q.fract() != 0.0 {
            errs.push(FieldError::invalid(
                path,
                Some(x.clone()),
                format!(
                    "{path} in body should be a multiple of {}",
                    go_v_float(factor)
                ),
            ));
        }
    }
    // kube-openapi merges multipleOf, then minimum, then maximum failures.
    if let Some(min) = s.minimum {
        let (bad, word) = if s.exclusive_minimum {
            (v <= min, "greater than")
        } else {
            (v < min, "greater than or equal to")
        };
        if bad {
            errs.push(FieldError::invalid(
                path,
                Some(x.clone()),
                format!("{path} in body should be {word} {}", go_v_float(min)),
            ));
        }
    }
    if let Some(max) = s.maximum {
        let (bad, word) = if s.exclusive_maximum {
            (v >= max, "less than")
        } else {
            (v > max, "less than or equal to")
        };
        if bad {
            errs.push(FieldError::invalid(
                path,
                Some(x.clone()),
                format!("{path} in body should be {word} {}", go_v_float(max)),
            ));
        }
    }
}

fn validate_array(
    items: &[Value],
    old_items: Option<&[Value]>,
    s: &Node,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if let Some(item_schema) = s.items.as_deref() {
        for (i, item) in items.iter().enumerate() {
            let old = old_items.and_then(|olds| correlate_item(item, olds, &s.list_type));
            validate(item, old, item_schema, &index_path(path, i), errs);
        }
    }
    let len = items.len() as u64;
    if let Some(min) = s.min_items
        && len < min
    {
        errs.push(FieldError::invalid(
            path,
            Some(Value::from(len)),
            format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = s.max_items
        && len > max
    {
        errs.push(FieldError::new(
            path,
            FieldErrorKind::TooMany,
            Some(Value::from(len)),
            format!("must have at most {max} items"),
        ));
    }
    if s.unique_items && has_duplicates(items) {
        errs.push(FieldError::invalid(
            path,
            Some(Value::from("")),
            format!("{path} in body shouldn't contain duplicates"),
        ));
    }
}

fn has_duplicates(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[..i].iter().any(|b| json_equal(a, b)))
}

/// The previous version of a list item: map lists correlate items by their keys and sets by
/// value; items of atomic lists have no identity, hence no previous version.
pub(crate) fn correlate_item<'a>(
    item: &Value,
    old_items: &'a [Value],
    list_type: &ListType,
) -> Option<&'a Value> {
    match list_type {
        ListType::Atomic => None,
        ListType::Set => old_items.iter().find(|o| json_equal(item, o)),
        ListType::Map(keys) => correlate(item, old_items, keys),
    }
}

/// Deep equality where numbers compare by value (Go's decoded int64 and float64 differ in
/// type, but a schema's `1` and the object's `1` are the same integer).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn validate_enum(x: &Value, s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    let Some(values) = &s.enum_values else { return };
    if values.is_empty() || (!x.is_null() && values.iter().any(|v| json_equal(v, x))) {
        return;
    }
    let supported: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => quote(s),
            other => quote(&other.to_string()),
        })
        .collect();
    errs.push(FieldError::new(
        path,
        FieldErrorKind::NotSupported,
        Some(x.clone()),
        format!("supported values: {}", supported.join(", ")),
    ));
}

fn validate_object(
    map: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    s: &Node,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let n = map.len() as u64;
    if let Some(min) = s.min_properties
        && n < min
    {
        errs.push(FieldError::invalid(
            path,
            Some(Value::from(min)),
            format!("{path} in body should have at least {min} properties"),
        ));
        return;
    }
    if let Some(max) = s.max_properties
        && n > max
    {
        errs.push(FieldError::new(
            path,
            FieldErrorKind::TooMany,
            Some(Value::from(n)),
            format!("must have at most {max} items"),
        ));
        return;
    }
    if let Additional::Schema(sub) = &s.additional {
        for (k, v) in map {
            if !s.properties.contains_key(k) {
                validate(
                    v,
                    old.and_then(|o| o.get(k)),
                    sub,
                    &child_path(path, k),
                    errs,
                );
            }
        }
    }
    for (name, prop) in &s.properties {
        if let Some(v) = map.get(name) {
            validate(
                v,
                old.and_then(|o| o.get(name)),
                prop,
                &child_path(path, name),
                errs,
            );
        }
    }
    for name in &s.required {
        if !map.contains_key(name) {
            errs.push(FieldError::required(child_path(path, name), ""));
        }
    }
}
