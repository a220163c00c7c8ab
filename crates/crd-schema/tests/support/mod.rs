//! Shared test helpers: the Ramen CRDs (as our chart installs them) and short-hand for admitting objects.
#![allow(dead_code)]

use crd_schema::{Admission, StructuralSchema};
use serde_json::{Value, json};

/// The `openAPIV3Schema` of the only version of one of the chart's Ramen CRDs
/// (`charts/ramen-hub-operator/crds/`, generated from `crates/drpolicy-api`, with Ramen's validation).
pub fn fixture_schema(file: &str) -> Value {
    let path = format!(
        "{}/../../charts/ramen-hub-operator/crds/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let crd: Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// The compiled schema of a CRD fixture.
pub fn compile_fixture(file: &str) -> StructuralSchema {
    StructuralSchema::compile(&fixture_schema(file)).expect("fixture schema compiles")
}

/// Compiles an inline schema.
pub fn compile(schema: Value) -> StructuralSchema {
    StructuralSchema::compile(&schema).expect("schema compiles")
}

/// The errors of an admission, as kube prints them.
pub fn messages(admission: &Admission) -> Vec<String> {
    admission.errors.iter().map(ToString::to_string).collect()
}

/// A resource with the given spec.
pub fn resource(api_version: &str, kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// Admits `obj` on create and returns the error texts.
pub fn create_errors(schema: &StructuralSchema, mut obj: Value) -> Vec<String> {
    messages(&schema.admit(&mut obj, None))
}

/// Admits `new` as an update of `old` (both as clients send them) and returns the error texts.
pub fn update_errors(schema: &StructuralSchema, old: Value, mut new: Value) -> Vec<String> {
    let mut stored = old;
    let created = schema.admit(&mut stored, None);
    assert!(
        created.errors.is_empty(),
        "old object must be valid: {:?}",
        messages(&created)
    );
    messages(&schema.admit(&mut new, Some(&stored)))
}

pub const RULES_SKIPPED: &str = "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";
