//! DRPolicy admission behaviours proven by Ramen's envtest suites (reference §1.1).

mod support;

use crd_schema::invalid_message;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

const FILE: &str = "ramendr.openshift.io_drpolicies.yaml";

fn drpolicy(spec: Value) -> Value {
    resource(
        "ramendr.openshift.io/v1alpha1",
        "DRPolicy",
        "drpolicy0",
        spec,
    )
}

fn spec(clusters: Value, interval: &str) -> Value {
    json!({"drClusters": clusters, "schedulingInterval": interval})
}

#[test]
fn null_dr_clusters_is_required_and_skips_rules() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(json!({
        "drClusters": null,
        "schedulingInterval": "1m",
        "replicationClassSelector": {},
        "volumeSnapshotClassSelector": {},
    }));
    let admission = schema.admit(&mut obj, None);
    assert_eq!(
        invalid_message(
            "DRPolicy.ramendr.openshift.io",
            "drpolicy0",
            &admission.errors
        ),
        format!(
            "DRPolicy.ramendr.openshift.io \"drpolicy0\" is invalid: [spec.drClusters: Required value, {RULES_SKIPPED}]"
        )
    );
}

#[test]
fn empty_dr_clusters_is_rejected_by_size_rule() {
    let schema = compile_fixture(FILE);
    assert_eq!(
        create_errors(&schema, drpolicy(spec(json!([]), "1m"))),
        vec!["spec.drClusters: Invalid value: \"array\": drClusters requires a list of 2 clusters"]
    );
}

#[test]
fn one_dr_cluster_is_rejected_by_size_rule() {
    let schema = compile_fixture(FILE);
    assert_eq!(
        create_errors(&schema, drpolicy(spec(json!(["east"]), "1m"))),
        vec!["spec.drClusters: Invalid value: \"array\": drClusters requires a list of 2 clusters"]
    );
}

#[test]
fn duplicate_dr_clusters_pass() {
    let schema = compile_fixture(FILE);
    assert_eq!(
        create_errors(&schema, drpolicy(spec(json!(["c1", "c1"]), "1m"))),
        Vec::<String>::new()
    );
}

#[test]
fn changing_dr_clusters_on_update_is_rejected_as_immutable() {
    let schema = compile_fixture(FILE);
    let errors = update_errors(
        &schema,
        drpolicy(spec(json!(["east", "west"]), "1m")),
        drpolicy(spec(json!(["east", "north"]), "1m")),
    );
    assert_eq!(
        errors,
        vec!["spec.drClusters: Invalid value: \"array\": drClusters is immutable"]
    );
}

#[test]
fn changing_scheduling_interval_on_update_is_rejected_as_immutable() {
    let schema = compile_fixture(FILE);
    let errors = update_errors(
        &schema,
        drpolicy(spec(json!(["east", "west"]), "1m")),
        drpolicy(spec(json!(["east", "west"]), "5m")),
    );
    assert_eq!(
        errors,
        vec!["spec.schedulingInterval: Invalid value: \"string\": schedulingInterval is immutable"]
    );
}

#[test]
fn changing_replication_class_selector_on_update_is_rejected_as_immutable() {
    let schema = compile_fixture(FILE);
    let mut new = drpolicy(spec(json!(["east", "west"]), "1m"));
    new["spec"]["replicationClassSelector"] = json!({"matchLabels": {"class": "gold"}});
    let errors = update_errors(&schema, drpolicy(spec(json!(["east", "west"]), "1m")), new);
    assert_eq!(
        errors,
        vec![
            "spec.replicationClassSelector: Invalid value: \"object\": replicationClassSelector is immutable"
        ]
    );
}

#[test]
fn update_keeping_everything_equal_passes() {
    let schema = compile_fixture(FILE);
    let mut old = drpolicy(spec(json!(["east", "west"]), "1m"));
    old["spec"]["replicationClassSelector"] = json!({"matchLabels": {"class": "gold"}});
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"touched": "yes"});
    assert_eq!(update_errors(&schema, old, new), Vec::<String>::new());
}

#[test]
fn scheduling_interval_in_seconds_is_rejected_with_the_pattern_message() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(spec(json!(["east", "west"]), "3s"));
    let admission = schema.admit(&mut obj, None);
    assert_eq!(
        invalid_message(
            "DRPolicy.ramendr.openshift.io",
            "drpolicy0",
            &admission.errors
        ),
        "DRPolicy.ramendr.openshift.io \"drpolicy0\" is invalid: spec.schedulingInterval: Invalid value: \"3s\": spec.schedulingInterval in body should match '^(|\\d+[mhd])$'"
    );
}

#[test]
fn scheduling_interval_zero_without_unit_is_rejected_with_the_pattern_message() {
    let schema = compile_fixture(FILE);
    assert_eq!(
        create_errors(&schema, drpolicy(spec(json!(["east", "west"]), "0"))),
        vec![
            "spec.schedulingInterval: Invalid value: \"0\": spec.schedulingInterval in body should match '^(|\\d+[mhd])$'"
        ]
    );
}

#[test]
fn scheduling_intervals_empty_padded_huge_and_one_minute_are_valid() {
    let schema = compile_fixture(FILE);
    for interval in ["", "00m", "9999999d", "1m"] {
        assert_eq!(
            create_errors(&schema, drpolicy(spec(json!(["east", "west"]), interval))),
            Vec::<String>::new(),
            "interval {interval:?}"
        );
    }
}

#[test]
fn selectors_default_to_empty_objects() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(spec(json!(["east", "west"]), "1m"));
    let admission = schema.admit(&mut obj, None);
    assert!(admission.errors.is_empty());
    assert_eq!(obj["spec"]["replicationClassSelector"], json!({}));
    assert_eq!(obj["spec"]["volumeSnapshotClassSelector"], json!({}));
}

#[test]
fn removing_a_defaulted_selector_on_update_is_defaulted_back_and_passes() {
    let schema = compile_fixture(FILE);
    let old = drpolicy(spec(json!(["east", "west"]), "1m"));
    let new = drpolicy(spec(json!(["east", "west"]), "1m"));
    assert_eq!(update_errors(&schema, old, new), Vec::<String>::new());
}

#[test]
fn scheduling_interval_of_object_type_is_a_type_error() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(json!({"drClusters": ["a", "b"], "schedulingInterval": {}}));
    let errors = messages(&schema.admit(&mut obj, None));
    assert_eq!(
        errors,
        vec![
            "spec.schedulingInterval: Invalid value: \"object\": spec.schedulingInterval in body must be of type string: \"object\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn dr_clusters_as_string_is_a_type_error() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(json!({"drClusters": "east", "schedulingInterval": "1m"}));
    let errors = messages(&schema.admit(&mut obj, None));
    assert_eq!(
        errors[0],
        "spec.drClusters: Invalid value: \"string\": spec.drClusters in body must be of type array: \"string\""
    );
}

#[test]
fn unknown_spec_field_is_pruned_and_reported() {
    let schema = compile_fixture(FILE);
    let mut obj =
        drpolicy(json!({"drClusters": ["a", "b"], "schedulingInterval": "1m", "bogus": 1}));
    let admission = schema.admit(&mut obj, None);
    assert_eq!(admission.pruned, vec!["spec.bogus"]);
    assert!(obj["spec"].get("bogus").is_none());
}

#[test]
fn status_condition_with_bad_reason_and_timestamp_is_rejected() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(spec(json!(["east", "west"]), "1m"));
    obj["status"] = json!({"conditions": [{
        "type": "Validated",
        "status": "True",
        "reason": "not a reason",
        "message": "ok",
        "lastTransitionTime": "yesterday",
        "observedGeneration": 1,
    }]});
    assert_eq!(
        create_errors(&schema, obj),
        vec![
            "status.conditions[0].lastTransitionTime: Invalid value: \"yesterday\": status.conditions[0].lastTransitionTime in body must be of type date-time: \"yesterday\"".to_string(),
            "status.conditions[0].reason: Invalid value: \"not a reason\": status.conditions[0].reason in body should match '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn status_condition_missing_required_fields_is_rejected() {
    let schema = compile_fixture(FILE);
    let mut obj = drpolicy(spec(json!(["east", "west"]), "1m"));
    obj["status"] = json!({"conditions": [{"type": "Validated", "status": "Maybe"}]});
    assert_eq!(
        create_errors(&schema, obj),
        vec![
            "status.conditions[0].status: Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \"Unknown\"".to_string(),
            "status.conditions[0].lastTransitionTime: Required value".to_string(),
            "status.conditions[0].message: Required value".to_string(),
            "status.conditions[0].reason: Required value".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}
