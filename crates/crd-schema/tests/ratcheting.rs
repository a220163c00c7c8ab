//! Update ratcheting (kube-apiserver 1.30+): values unchanged since the stored object are not
//! held to constraints they already broke, so objects stored under an older schema stay
//! updatable.

mod support;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

fn schema() -> crd_schema::StructuralSchema {
    compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 3},
            "other": {"type": "string"},
            "size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 10", "message": "size too big"}]},
        }}}}),
    )
}

fn obj(spec: Value) -> Value {
    resource("example.com/v1", "Thing", "t", spec)
}

#[test]
fn unchanged_value_breaking_max_length_does_not_block_an_update() {
    let schema = schema();
    let old = obj(json!({"name": "toolong", "other": "a"}));
    let mut new = obj(json!({"name": "toolong", "other": "b"}));
    assert_eq!(
        messages(&schema.admit(&mut new, Some(&old))),
        Vec::<String>::new()
    );
}

#[test]
fn changed_value_breaking_max_length_is_still_rejected_on_update() {
    let schema = schema();
    let old = obj(json!({"name": "toolong", "other": "a"}));
    let mut new = obj(json!({"name": "toolong2", "other": "a"}));
    assert_eq!(
        messages(&schema.admit(&mut new, Some(&old))),
        vec![
            "spec.name: Too long: may not be longer than 3".to_string(),
            RULES_SKIPPED.to_string()
        ]
    );
}

#[test]
fn unchanged_value_failing_a_rule_becomes_a_warning() {
    let schema = schema();
    let old = obj(json!({"size": 12, "other": "a"}));
    let mut new = obj(json!({"size": 12, "other": "b"}));
    let admission = schema.admit(&mut new, Some(&old));
    assert_eq!(messages(&admission), Vec::<String>::new());
    assert_eq!(
        admission.warnings,
        vec!["spec.size: Invalid value: \"integer\": size too big"]
    );
}

#[test]
fn changed_value_failing_a_rule_is_an_error() {
    let schema = schema();
    let old = obj(json!({"size": 12}));
    let mut new = obj(json!({"size": 13}));
    let admission = schema.admit(&mut new, Some(&old));
    assert_eq!(
        messages(&admission),
        vec!["spec.size: Invalid value: \"integer\": size too big"]
    );
    assert_eq!(admission.warnings, Vec::<String>::new());
}

#[test]
fn stored_set_with_duplicates_does_not_block_an_update() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "other": {"type": "string"}}}}}),
    );
    let old = obj(json!({"tags": ["a", "a"], "other": "x"}));
    let mut new = obj(json!({"tags": ["a", "a", "b", "b"], "other": "y"}));
    assert_eq!(
        messages(&schema.admit(&mut new, Some(&old))),
        Vec::<String>::new()
    );
    // Without a stored object the same list is rejected.
    assert_eq!(
        create_errors(&schema, obj(json!({"tags": ["a", "a", "b", "b"]}))),
        vec![
            "spec.tags[1]: Duplicate value: \"a\"",
            "spec.tags[3]: Duplicate value: \"b\""
        ]
    );
}
