//! Compiling schemas: what is rejected, with which message, and what the result allows.

use crd_schema::{SchemaError, StructuralSchema};
use serde_json::json;

#[test]
fn rule_that_does_not_parse_is_a_schema_error() {
    let err = StructuralSchema::compile(
        &json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.a ==="}]}),
    )
    .expect_err("bad CEL must not compile");
    assert!(
        matches!(err, SchemaError::BadRule { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn pattern_that_is_not_a_regex_is_a_schema_error() {
    let err = StructuralSchema::compile(
        &json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}),
    )
    .expect_err("bad regex must not compile");
    assert!(matches!(err, SchemaError::BadPattern { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("openAPIV3Schema.properties.a: invalid pattern \"(unclosed\""),
        "{err}"
    );
}

#[test]
fn compiled_schema_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StructuralSchema>();
}

#[test]
fn keyword_of_the_wrong_type_is_a_schema_error() {
    let err = StructuralSchema::compile(&json!({"type": "object", "required": "spec"}))
        .expect_err("required must be a list");
    assert_eq!(
        err.to_string(),
        "openAPIV3Schema: required must be a list of strings"
    );
}

#[test]
fn map_list_without_keys_is_a_schema_error() {
    let err = StructuralSchema::compile(&json!({"type": "array", "x-kubernetes-list-type": "map",
        "items": {"type": "object"}}))
    .expect_err("map lists need keys");
    assert!(matches!(err, SchemaError::BadKeyword { .. }), "{err}");
}
