//! DRCluster and DRPlacementControl admission behaviours from Ramen's CEL suites.

mod support;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::*;

const DRCLUSTER: &str = "ramendr.openshift.io_drclusters.yaml";
const DRPC: &str = "ramendr.openshift.io_drplacementcontrols.yaml";

fn drcluster(spec: Value) -> Value {
    resource("ramendr.openshift.io/v1alpha1", "DRCluster", "east", spec)
}

fn drpc(spec: Value) -> Value {
    let mut obj = resource(
        "ramendr.openshift.io/v1alpha1",
        "DRPlacementControl",
        "drpc-1",
        spec,
    );
    obj["metadata"]["namespace"] = json!("drpc1-ns");
    obj
}

fn drpc_spec() -> Value {
    json!({
        "placementRef": {"name": "placement-sample1"},
        "drPolicyRef": {"name": "drpolicy-sample1"},
        "pvcSelector": {"matchLabels": {"appclass": "cel1", "environment": "dev.cel1"}},
    })
}

#[test]
fn drcluster_s3_profile_name_change_is_rejected_as_immutable() {
    let schema = compile_fixture(DRCLUSTER);
    let errors = update_errors(
        &schema,
        drcluster(json!({"s3ProfileName": "s3-east", "region": "east"})),
        drcluster(json!({"s3ProfileName": "s3-west", "region": "east"})),
    );
    assert_eq!(
        errors,
        vec!["spec.s3ProfileName: Invalid value: \"string\": s3ProfileName is immutable"]
    );
}

#[test]
fn drcluster_region_change_is_rejected_as_immutable() {
    let schema = compile_fixture(DRCLUSTER);
    let errors = update_errors(
        &schema,
        drcluster(json!({"s3ProfileName": "s3-east", "region": "east"})),
        drcluster(json!({"s3ProfileName": "s3-east", "region": "west"})),
    );
    assert_eq!(
        errors,
        vec!["spec.region: Invalid value: \"string\": region is immutable"]
    );
}

#[test]
fn drcluster_setting_region_that_was_absent_is_not_a_transition() {
    let schema = compile_fixture(DRCLUSTER);
    let errors = update_errors(
        &schema,
        drcluster(json!({"s3ProfileName": "s3-east"})),
        drcluster(json!({"s3ProfileName": "s3-east", "region": "west"})),
    );
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn drcluster_cluster_fence_outside_enum_is_unsupported() {
    let schema = compile_fixture(DRCLUSTER);
    let errors = create_errors(
        &schema,
        drcluster(json!({"s3ProfileName": "s3", "clusterFence": "Maybe"})),
    );
    assert_eq!(
        errors,
        vec![
            "spec.clusterFence: Unsupported value: \"Maybe\": supported values: \"Unfenced\", \"Fenced\", \"ManuallyFenced\", \"ManuallyUnfenced\"".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn drpc_drpolicy_ref_change_is_rejected_as_immutable() {
    let schema = compile_fixture(DRPC);
    let mut new = drpc_spec();
    new["drPolicyRef"]["name"] = json!("other");
    let errors = update_errors(&schema, drpc(drpc_spec()), drpc(new));
    assert_eq!(
        errors,
        vec!["spec.drPolicyRef: Invalid value: \"object\": drPolicyRef is immutable"]
    );
}

#[test]
fn drpc_placement_ref_change_is_rejected_as_immutable() {
    let schema = compile_fixture(DRPC);
    let mut new = drpc_spec();
    new["placementRef"]["kind"] = json!("Placement");
    let errors = update_errors(&schema, drpc(drpc_spec()), drpc(new));
    assert_eq!(
        errors,
        vec!["spec.placementRef: Invalid value: \"object\": placementRef is immutable"]
    );
}

#[test]
fn drpc_pvc_selector_change_is_rejected_as_immutable() {
    let schema = compile_fixture(DRPC);
    let mut new = drpc_spec();
    new["pvcSelector"]["matchLabels"]["environment"] = json!("prod");
    let errors = update_errors(&schema, drpc(drpc_spec()), drpc(new));
    assert_eq!(
        errors,
        vec!["spec.pvcSelector: Invalid value: \"object\": pvcSelector is immutable"]
    );
}

#[test]
fn drpc_update_of_mutable_fields_passes() {
    let schema = compile_fixture(DRPC);
    let mut new = drpc_spec();
    new["action"] = json!("Failover");
    new["failoverCluster"] = json!("west");
    assert_eq!(
        update_errors(&schema, drpc(drpc_spec()), drpc(new)),
        Vec::<String>::new()
    );
}

#[test]
fn drpc_action_outside_enum_is_unsupported() {
    let schema = compile_fixture(DRPC);
    let mut spec = drpc_spec();
    spec["action"] = json!("Foo");
    assert_eq!(
        create_errors(&schema, drpc(spec)),
        vec![
            "spec.action: Unsupported value: \"Foo\": supported values: \"Failover\", \"Relocate\""
                .to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn drpc_missing_required_refs_are_reported_in_schema_order() {
    let schema = compile_fixture(DRPC);
    assert_eq!(
        create_errors(&schema, drpc(json!({}))),
        vec![
            "spec.drPolicyRef: Required value".to_string(),
            "spec.placementRef: Required value".to_string(),
            "spec.pvcSelector: Required value".to_string(),
            RULES_SKIPPED.to_string(),
        ]
    );
}

#[test]
fn drpc_status_keeps_fields_ramen_writes_but_prunes_inside_typed_conditions() {
    let schema = compile_fixture(DRPC);
    let mut obj = drpc(drpc_spec());
    obj["status"] = json!({"phase": "Deployed", "conditions": [{"type": "Available", "status": "True", "reason": "R", "message": "", "lastTransitionTime": "2024-05-02T10:11:12Z", "extra": 1}], "mystery": true});
    let admission = schema.admit(&mut obj, None);
    // Our DRPC CRD preserves unknown status fields (Ramen's DRPC controller owns them) ...
    assert_eq!(obj["status"]["mystery"], true);
    // ... while the typed conditions are pruned like any structural schema.
    assert_eq!(admission.pruned, vec!["status.conditions[0].extra"]);
    assert!(admission.errors.is_empty(), "{:?}", messages(&admission));
}

#[test]
fn all_fixture_schemas_compile() {
    for file in [DRCLUSTER, DRPC, "ramendr.openshift.io_drpolicies.yaml"] {
        assert!(
            crd_schema::StructuralSchema::compile(&fixture_schema(file)).is_ok(),
            "{file}"
        );
    }
}
