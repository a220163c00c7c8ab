//! `x-kubernetes-validations` evaluation: messages, reasons, field paths, transition rules
//! and their correlation with the previous object.

mod support;

use crd_schema::StructuralSchema;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

fn spec_schema(spec: Value) -> StructuralSchema {
    compile(json!({"type": "object", "properties": {"spec": spec}}))
}

fn obj(spec: Value) -> Value {
    resource("example.com/v1", "Thing", "t", spec)
}

#[test]
fn failed_rule_without_message_reports_the_rule() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.a > 0"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"a": 0}))),
        vec!["spec: Invalid value: \"object\": failed rule: self.a > 0"]
    );
}

#[test]
fn field_path_moves_the_error_to_the_named_field() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.a < self.b", "message": "a must be below b", "fieldPath": ".a"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"a": 2, "b": 1}))),
        vec!["spec.a: Invalid value: \"object\": a must be below b"]
    );
}

#[test]
fn forbidden_reason_prints_a_forbidden_error() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "!has(self.a)", "message": "a is not allowed", "reason": "FieldValueForbidden"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"a": "x"}))),
        vec!["spec: Forbidden: a is not allowed"]
    );
}

#[test]
fn message_expression_builds_the_message_from_self() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"n": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.n < 10", "messageExpression": "'n is ' + string(self.n)"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"n": 12}))),
        vec!["spec: Invalid value: \"object\": n is 12"]
    );
}

#[test]
fn evaluation_error_is_reported_with_the_rule() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
        "x-kubernetes-validations": [{"rule": "self.a == 'x'", "message": "a must be x"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({}))),
        vec!["spec: Invalid value: \"object\": no such key: a evaluating rule: a must be x"]
    );
}

#[test]
fn rules_still_run_after_a_non_blocking_pattern_error() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "^x$"}},
        "x-kubernetes-validations": [{"rule": "self.a.size() < 3", "message": "a too big"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"a": "yyyy"}))),
        vec![
            "spec.a: Invalid value: \"yyyy\": spec.a in body should match '^x$'",
            "spec: Invalid value: \"object\": a too big",
        ]
    );
}

#[test]
fn transition_rule_is_skipped_on_create() {
    let schema = spec_schema(
        json!({"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!("a"))),
        Vec::<String>::new()
    );
}

#[test]
fn transition_rule_on_map_values_correlates_by_key() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"m": {"type": "object",
        "additionalProperties": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "value is immutable"}]}}}}),
    );
    // A new key has no old value; a changed key fails under its key path.
    let errors = update_errors(
        &schema,
        obj(json!({"m": {"a": "1"}})),
        obj(json!({"m": {"a": "2", "b": "3"}})),
    );
    assert_eq!(
        errors,
        vec!["spec.m[a]: Invalid value: \"string\": value is immutable"]
    );
}

#[test]
fn transition_rule_on_map_list_items_correlates_by_list_key() {
    let schema = spec_schema(json!({"type": "object", "properties": {"ports": {
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
        "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port", "message": "port is immutable"}]}}}}));
    // Reordering keeps each item matched with its old self; changing one port fails.
    let old = obj(json!({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}));
    let reordered = obj(json!({"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 1}]}));
    assert_eq!(
        update_errors(&schema, old.clone(), reordered),
        Vec::<String>::new()
    );
    let changed = obj(json!({"ports": [{"name": "b", "port": 3}, {"name": "a", "port": 1}]}));
    assert_eq!(
        update_errors(&schema, old, changed),
        vec!["spec.ports[0]: Invalid value: \"object\": port is immutable"]
    );
}

#[test]
fn transition_rule_on_atomic_list_items_is_not_evaluated() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"l": {"type": "array",
        "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]}}}}),
    );
    assert_eq!(
        update_errors(&schema, obj(json!({"l": ["a"]})), obj(json!({"l": ["b"]}))),
        Vec::<String>::new()
    );
}

#[test]
fn object_equality_compares_nested_values() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"sel": {"type": "object",
        "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}},
        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "sel is immutable"}]}}}),
    );
    let old = obj(json!({"sel": {"matchLabels": {"a": "1", "b": "2"}}}));
    assert_eq!(
        update_errors(
            &schema,
            old.clone(),
            obj(json!({"sel": {"matchLabels": {"b": "2", "a": "1"}}}))
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        update_errors(
            &schema,
            old,
            obj(json!({"sel": {"matchLabels": {"a": "1", "b": "3"}}}))
        ),
        vec!["spec.sel: Invalid value: \"object\": sel is immutable"]
    );
}

#[test]
fn date_time_fields_are_bound_as_timestamps() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}},
        "x-kubernetes-validations": [{"rule": "self.at < timestamp('2030-01-01T00:00:00Z')", "message": "too late"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"at": "2024-01-01T00:00:00Z"}))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"at": "2031-01-01T00:00:00Z"}))),
        vec!["spec: Invalid value: \"object\": too late"]
    );
}

#[test]
fn kubernetes_string_library_is_available() {
    let schema = spec_schema(json!({"type": "string",
        "x-kubernetes-validations": [{"rule": "self.lowerAscii() == self", "message": "must be lower case"}]}));
    assert_eq!(
        create_errors(&schema, obj(json!("abc"))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!("aBc"))),
        vec!["spec: Invalid value: \"string\": must be lower case"]
    );
}

#[test]
fn dashed_property_names_are_escaped_for_cel() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"max-size": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.max__dash__size <= 5", "message": "too big"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"max-size": 6}))),
        vec!["spec: Invalid value: \"object\": too big"]
    );
}

#[test]
fn properties_named_like_cel_reserved_words_are_bound_with_underscores() {
    // CEL's spec reserves `while` like the others; it was once missing from the list.
    for word in ["while", "loop", "namespace"] {
        let limit =
            json!({"rule": format!("self.__{word}__ <= 5"), "message": format!("{word} too big")});
        let schema = spec_schema(json!({"type": "object",
            "properties": {word: {"type": "integer"}}, "x-kubernetes-validations": [limit]}));
        let within = create_errors(&schema, obj(json!({word: 5})));
        let beyond = create_errors(&schema, obj(json!({word: 6})));
        assert!(within.is_empty(), "{word}: {within:?}");
        assert_eq!(
            beyond,
            [format!("spec: Invalid value: \"object\": {word} too big")]
        );
    }
}

#[test]
fn rules_on_null_values_are_not_evaluated() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"a": {"type": "string", "nullable": true,
        "x-kubernetes-validations": [{"rule": "self.size() > 0", "message": "empty"}]}}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"a": null}))),
        Vec::<String>::new()
    );
}

#[test]
fn number_fields_compare_as_doubles_even_when_written_as_integers() {
    let schema = spec_schema(
        json!({"type": "object", "properties": {"ratio": {"type": "number"}},
        "x-kubernetes-validations": [{"rule": "self.ratio < 1.5", "message": "ratio too big"}]}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"ratio": 1}))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"ratio": 2}))),
        vec!["spec: Invalid value: \"object\": ratio too big"]
    );
}

#[test]
fn root_rule_failure_is_reported_on_the_nil_path() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object"}},
        "x-kubernetes-validations": [{"rule": "has(self.spec)", "message": "spec is required"}]}),
    );
    assert_eq!(
        create_errors(
            &schema,
            json!({"apiVersion": "v1", "kind": "T", "metadata": {"name": "t"}})
        ),
        vec!["<nil>: Invalid value: \"object\": spec is required"]
    );
}
