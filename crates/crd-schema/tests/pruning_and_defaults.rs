//! Pruning of unknown fields and application of defaults, before validation.

mod support;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::*;

#[test]
fn root_api_version_kind_and_metadata_are_never_pruned() {
    let schema = compile(json!({"type": "object", "properties": {"spec": {"type": "object"}}}));
    let mut o = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {}});
    let before = o.clone();
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, Vec::<String>::new());
    assert_eq!(o, before);
}

#[test]
fn root_api_version_of_wrong_type_is_dropped_without_being_reported() {
    let schema = compile(json!({"type": "object", "properties": {"spec": {"type": "object"}}}));
    let mut o = json!({"apiVersion": 5, "kind": "K", "metadata": {}, "other": 1});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["other"]);
    assert_eq!(o, json!({"kind": "K", "metadata": {}}));
}

#[test]
fn unknown_fields_inside_list_items_are_reported_with_index() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}}),
    );
    let mut o = json!({"spec": {"items": [{"name": "a"}, {"name": "b", "bar": {"deep": 1}}]}});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["spec.items[1].bar"]);
    assert_eq!(
        o,
        json!({"spec": {"items": [{"name": "a"}, {"name": "b"}]}})
    );
}

#[test]
fn preserve_unknown_fields_keeps_unknown_but_prunes_known_subtrees() {
    let schema = compile(json!({"type": "object", "properties": {"spec": {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }}}));
    let mut o = json!({"spec": {"free": {"anything": [1, 2]}, "strict": {"a": "x", "b": "y"}}});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["spec.strict.b"]);
    assert_eq!(
        o,
        json!({"spec": {"free": {"anything": [1, 2]}, "strict": {"a": "x"}}})
    );
}

#[test]
fn embedded_resource_keeps_api_version_kind_and_metadata() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"data": {"type": "object"}}}}}}}),
    );
    let mut o = json!({"spec": {"template": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}, "junk": 1}}});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["spec.template.junk"]);
    assert_eq!(
        o["spec"]["template"],
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}})
    );
}

#[test]
fn additional_properties_schema_prunes_inside_map_values() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}}}}}}}),
    );
    let mut o = json!({"spec": {"m": {"k1": {"a": "x", "z": 1}}}});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["spec.m.k1.z"]);
}

#[test]
fn defaults_apply_inside_a_defaulted_object() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "opts": {"type": "object", "default": {}, "properties": {"mode": {"type": "string", "default": "fast"}}}}}}}),
    );
    let mut o = json!({"spec": {}});
    schema.admit(&mut o, None);
    assert_eq!(o["spec"], json!({"opts": {"mode": "fast"}}));
}

#[test]
fn defaults_are_not_created_when_the_parent_is_absent() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "opts": {"type": "object", "properties": {"mode": {"type": "string", "default": "fast"}}}}}}}),
    );
    let mut o = json!({"metadata": {"name": "n"}});
    schema.admit(&mut o, None);
    assert_eq!(o, json!({"metadata": {"name": "n"}}));
}

#[test]
fn default_replaces_a_non_nullable_null() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "mode": {"type": "string", "default": "fast"}}}}}),
    );
    let mut o = json!({"spec": {"mode": null}});
    schema.admit(&mut o, None);
    assert_eq!(o["spec"], json!({"mode": "fast"}));
}

#[test]
fn defaults_apply_to_every_list_item() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "protocol": {"type": "string", "default": "TCP"}}}}}}}}),
    );
    let mut o = json!({"spec": {"ports": [{"name": "a"}, {"name": "b", "protocol": "UDP"}]}});
    schema.admit(&mut o, None);
    assert_eq!(
        o["spec"]["ports"],
        json!([{"name": "a", "protocol": "TCP"}, {"name": "b", "protocol": "UDP"}])
    );
}

#[test]
fn pruning_happens_before_defaulting_and_validation() {
    // The unknown field would fail `maxProperties` if it were validated.
    let schema = compile(json!({"type": "object", "properties": {"spec": {
        "type": "object", "maxProperties": 1, "properties": {"a": {"type": "string", "default": "x"}}}}}));
    let mut o = json!({"spec": {"unknown": 1}});
    let admission = schema.admit(&mut o, None);
    assert_eq!(admission.pruned, vec!["spec.unknown"]);
    assert_eq!(messages(&admission), Vec::<String>::new());
    assert_eq!(o["spec"], json!({"a": "x"}));
}

#[test]
fn prune_and_default_changes_the_object_without_validating_it() {
    let schema = compile(
        json!({"type": "object", "properties": {"spec": {"type": "object",
        "required": ["missing"], "properties": {"missing": {"type": "string"}, "mode": {"type": "string", "default": "fast"}}}}}),
    );
    let mut o = json!({"spec": {"junk": 1}});
    assert_eq!(schema.prune_and_default(&mut o), vec!["spec.junk"]);
    assert_eq!(o, json!({"spec": {"mode": "fast"}}));
}
