//! Request body decoding with Kubernetes' `fieldValidation` rules: duplicate fields and unknown
//! fields of built-in kinds are reported (Strict), dropped with a warning (Warn) or dropped (Ignore).

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::ApiError;

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown or duplicate fields fail the request with 400.
    Strict,
    /// Unknown fields are dropped and reported in `Warning` headers (the default).
    #[default]
    Warn,
    /// Unknown fields are dropped silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the query value.
    pub fn parse(v: Option<&str>) -> Result<Self, ApiError> {
        match v {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}, expected one of Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Decodes a JSON (or, for apply, YAML) body and lists its duplicate fields.
pub fn decode_body(bytes: &[u8], allow_yaml: bool) -> Result<(Value, Vec<String>), ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            let mut dups = Vec::new();
            let mut de = serde_json::Deserializer::from_slice(bytes);
            // The body parsed as JSON already, so a second pass cannot fail.
            let _ = DupFinder {
                path: String::new(),
                out: &mut dups,
            }
            .deserialize(&mut de);
            Ok((v, dups))
        }
        Err(e) if allow_yaml => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            let v: Value = serde_saphyr::from_str(text)
                .map_err(|ye| ApiError::bad_request(format!("error decoding YAML: {ye}")))?;
            Ok((v, Vec::new()))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type JSON): {e}"
        ))),
    }
}

struct DupFinder<'a> {
    path: String,
    out: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for DupFinder<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupFinder<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(DupFinder {
                path: format!("{}[{i}]", self.path),
                out: &mut *self.out,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                k.clone()
            } else {
                format!("{}.{k}", self.path)
            };
            if !seen.insert(k) {
                self.out.push(path.clone());
            }
            map.next_value_seed(DupFinder {
                path,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }
}

const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Drops unknown top-level fields (for built-in kinds, given their field list) and unknown
/// `metadata` fields; returns their paths.
pub fn prune_unknown(obj: &mut Value, top_level: Option<&[&str]>) -> Vec<String> {
    let mut pruned = Vec::new();
    let Some(map) = obj.as_object_mut() else {
        return pruned;
    };
    if let Some(known) = top_level {
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            map.remove(&k);
            pruned.push(k);
        }
    }
    if let Some(md) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        let unknown: Vec<String> = md
            .keys()
            .filter(|k| !OBJECT_META.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            md.remove(&k);
            pruned.push(format!("metadata.{k}"));
        }
    }
    pruned
}

/// Applies the `fieldValidation` policy to pruned and duplicate fields: an error for Strict,
/// warnings for Warn.
pub fn enforce(
    mode: FieldValidation,
    pruned: &[String],
    duplicates: &[String],
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    let mut problems: Vec<String> = pruned
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect();
    problems.extend(
        duplicates
            .iter()
            .map(|p| format!("duplicate field \"{p}\"")),
    );
    if problems.is_empty() {
        return Ok(());
    }
    match mode {
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            problems.join(", ")
        ))),
        FieldValidation::Warn => {
            warnings.extend(problems);
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_fields_are_found_with_their_paths() {
        let (_, dups) =
            decode_body(br#"{"a": 1, "spec": {"x": 1, "x": 2}, "a": 3}"#, false).expect("json");
        assert_eq!(dups, vec!["spec.x".to_string(), "a".to_string()]);
    }

    #[test]
    fn malformed_json_is_bad_request() {
        assert_eq!(decode_body(b"{nope", false).unwrap_err().code, 400);
    }

    #[test]
    fn yaml_is_accepted_for_apply() {
        let (v, _) = decode_body(b"apiVersion: v1\nkind: ConfigMap\n", true).expect("yaml");
        assert_eq!(v["kind"], "ConfigMap");
    }

    #[test]
    fn strict_rejects_unknown_fields_and_warn_reports_them() {
        let mut obj = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "bogus": 1}, "foo": 1});
        let pruned = prune_unknown(&mut obj, Some(&["apiVersion", "kind", "metadata", "data"]));
        assert_eq!(
            pruned,
            vec!["foo".to_string(), "metadata.bogus".to_string()]
        );
        let err = enforce(FieldValidation::Strict, &pruned, &[], &mut vec![]).unwrap_err();
        assert_eq!(
            err.message,
            "strict decoding error: unknown field \"foo\", unknown field \"metadata.bogus\""
        );
        let mut warnings = vec![];
        enforce(FieldValidation::Warn, &pruned, &[], &mut warnings).expect("warn");
        assert_eq!(warnings.len(), 2);
    }
}
