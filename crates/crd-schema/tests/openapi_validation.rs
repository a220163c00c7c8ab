//! OpenAPI constraint checks and their kube-formatted errors.

mod support;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

/// A root schema whose `spec` has the given properties.
fn spec_schema(properties: Value) -> crd_schema::StructuralSchema {
    compile(json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": properties}},
    }))
}

fn obj(spec: Value) -> Value {
    resource("example.com/v1", "Thing", "t", spec)
}

#[test]
fn nullable_field_keeps_null_without_error() {
    let schema = spec_schema(json!({"a": {"type": "string", "nullable": true}}));
    let mut o = obj(json!({"a": null}));
    let admission = schema.admit(&mut o, None);
    assert_eq!(messages(&admission), Vec::<String>::new());
    assert_eq!(o["spec"], json!({"a": null}));
}

#[test]
fn non_nullable_null_without_default_is_dropped() {
    let schema = spec_schema(json!({"a": {"type": "string"}}));
    let mut o = obj(json!({"a": null}));
    assert_eq!(messages(&schema.admit(&mut o, None)), Vec::<String>::new());
    assert_eq!(o["spec"], json!({}));
}

#[test]
fn null_list_item_that_is_not_nullable_is_a_type_error() {
    let schema = spec_schema(json!({"l": {"type": "array", "items": {"type": "string"}}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"l": ["a", null]}))),
        vec![
            "spec.l[1]: Invalid value: \"null\": spec.l[1] in body must be of type string: \"null\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn int_or_string_accepts_integer_and_string() {
    let schema = spec_schema(json!({"port": {"x-kubernetes-int-or-string": true}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"port": 80}))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"port": "http"}))),
        Vec::<String>::new()
    );
}

#[test]
fn int_or_string_rejects_boolean_listing_both_types() {
    let schema = spec_schema(json!({"port": {"x-kubernetes-int-or-string": true}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"port": true})))[0],
        "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""
    );
}

#[test]
fn integer_type_rejects_fraction_but_accepts_integral_float() {
    let schema = spec_schema(json!({"n": {"type": "integer"}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"n": 1.5})))[0],
        "spec.n: Invalid value: \"number\": spec.n in body must be of type integer: \"number\""
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"n": 2.0}))),
        Vec::<String>::new()
    );
}

#[test]
fn max_length_counts_code_points_not_bytes() {
    let schema = spec_schema(json!({"name": {"type": "string", "maxLength": 3}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"name": "héé"}))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"name": "日本語x"}))),
        vec![
            "spec.name: Too long: may not be longer than 3".to_string(),
            RULES_SKIPPED.to_string()
        ]
    );
}

#[test]
fn min_length_reports_chars_long_message() {
    let schema = spec_schema(json!({"name": {"type": "string", "minLength": 2}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"name": "é"}))),
        vec!["spec.name: Invalid value: \"é\": spec.name in body should be at least 2 chars long"]
    );
}

#[test]
fn date_time_format_rejects_non_timestamp() {
    let schema = spec_schema(json!({"at": {"type": "string", "format": "date-time"}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"at": "2024-05-02T10:11:12Z"}))),
        Vec::<String>::new()
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"at": "yesterday"}))),
        vec![
            "spec.at: Invalid value: \"yesterday\": spec.at in body must be of type date-time: \"yesterday\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn minimum_violation_prints_the_number() {
    let schema =
        spec_schema(json!({"replicas": {"type": "integer", "format": "int32", "minimum": 0}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"replicas": -1}))),
        vec![
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"
        ]
    );
}

#[test]
fn exclusive_maximum_rejects_the_bound() {
    let schema =
        spec_schema(json!({"ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": true}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"ratio": 1}))),
        vec!["spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"]
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"ratio": 0.5}))),
        Vec::<String>::new()
    );
}

#[test]
fn multiple_of_rejects_non_multiples() {
    let schema = spec_schema(json!({"n": {"type": "integer", "multipleOf": 5}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"n": 12}))),
        vec!["spec.n: Invalid value: 12: spec.n in body should be a multiple of 5"]
    );
}

#[test]
fn min_items_and_max_items_use_kube_messages() {
    let schema = spec_schema(
        json!({"l": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"l": ["a"]}))),
        vec!["spec.l: Invalid value: 1: spec.l in body should have at least 2 items"]
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"l": ["a", "b", "c", "d"]}))),
        vec![
            "spec.l: Too many: 4: must have at most 3 items".to_string(),
            RULES_SKIPPED.to_string()
        ]
    );
}

#[test]
fn unique_items_rejects_duplicates() {
    let schema = spec_schema(
        json!({"l": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"l": [1, 2, 1]}))),
        vec!["spec.l: Invalid value: \"\": spec.l in body shouldn't contain duplicates"]
    );
}

#[test]
fn list_type_set_reports_each_repeated_entry_as_duplicate() {
    let schema = spec_schema(
        json!({"tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"tags": ["a", "b", "a", "a"]}))),
        vec![
            "spec.tags[2]: Duplicate value: \"a\"",
            "spec.tags[3]: Duplicate value: \"a\""
        ]
    );
}

#[test]
fn list_type_map_reports_repeated_keys_as_duplicate() {
    let schema = spec_schema(json!({"ports": {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "protocol"],
        "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "protocol": {"type": "string"}, "port": {"type": "integer"}}},
    }}));
    assert_eq!(
        create_errors(
            &schema,
            obj(json!({"ports": [
                {"name": "http", "protocol": "TCP", "port": 80},
                {"name": "http", "protocol": "UDP", "port": 80},
                {"name": "http", "protocol": "TCP", "port": 8080},
            ]}))
        ),
        vec![
            "spec.ports[2]: Duplicate value: map[string]interface {}{\"name\":\"http\", \"protocol\":\"TCP\"}"
        ]
    );
}

#[test]
fn list_type_atomic_allows_duplicates() {
    let schema = spec_schema(
        json!({"l": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"l": ["a", "a"]}))),
        Vec::<String>::new()
    );
}

#[test]
fn required_field_missing_at_root_is_reported_without_prefix() {
    let schema = compile(
        json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}),
    );
    assert_eq!(
        create_errors(
            &schema,
            json!({"apiVersion": "v1", "kind": "T", "metadata": {}})
        ),
        vec![
            "spec: Required value".to_string(),
            RULES_SKIPPED.to_string()
        ]
    );
}

#[test]
fn additional_properties_values_are_validated_under_their_key() {
    let schema = spec_schema(
        json!({"labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"labels": {"ok": "ab", "bad": "abc"}})))[0],
        "spec.labels.bad: Too long: may not be longer than 2"
    );
}

#[test]
fn max_properties_reports_too_many() {
    let schema = spec_schema(
        json!({"m": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"m": {"a": "1", "b": "2"}})))[0],
        "spec.m: Too many: 2: must have at most 1 items"
    );
}

#[test]
fn enum_of_numbers_lists_json_values() {
    let schema = spec_schema(json!({"n": {"type": "integer", "enum": [1, 2]}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"n": 3})))[0],
        "spec.n: Unsupported value: 3: supported values: \"1\", \"2\""
    );
}

#[test]
fn any_of_accepts_a_value_matching_one_branch() {
    let schema = spec_schema(
        json!({"v": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}),
    );
    assert_eq!(
        create_errors(&schema, obj(json!({"v": "x"}))),
        Vec::<String>::new()
    );
}

#[test]
fn null_list_item_outside_enum_reports_type_and_enum_errors() {
    let schema =
        spec_schema(json!({"l": {"type": "array", "items": {"type": "string", "enum": ["a"]}}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"l": [null]}))),
        vec![
            "spec.l[0]: Invalid value: \"null\": spec.l[0] in body must be of type string: \"null\"".to_string(),
            "spec.l[0]: Unsupported value: \"null\": supported values: \"a\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn nullable_null_is_still_held_to_the_enum() {
    let schema =
        spec_schema(json!({"a": {"type": "string", "nullable": true, "enum": ["x", null]}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"a": null}))),
        vec![
            "spec.a: Unsupported value: \"null\": supported values: \"x\", \"null\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn string_checks_stop_at_the_first_failure() {
    let schema =
        spec_schema(json!({"name": {"type": "string", "maxLength": 2, "pattern": "^[a-z]+$"}}));
    assert_eq!(
        create_errors(&schema, obj(json!({"name": "ABC"}))),
        vec![
            "spec.name: Too long: may not be longer than 2".to_string(),
            RULES_SKIPPED.to_string()
        ]
    );
}
