//! The CustomResourceDefinitions of the three Ramen kinds, as installed by the Helm chart.
//!
//! kube-derive generates them from the Rust types; [`normalize`] then makes them look like Ramen's
//! controller-gen output (no `nullable`, no root `required`/`title`, `listKind`, root `apiVersion`/`kind`/
//! `metadata` properties), so the result is a superset of Ramen's CRDs at ccc4a73c and HEAD with
//! identical validation.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{Value, json};

use crate::{DRCluster, DRPlacementControl, DRPolicy};

/// Aligns a kube-derive CRD with controller-gen's conventions (see the module documentation).
pub fn normalize(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut value = serde_json::to_value(&crd)
        .unwrap_or_else(|_| unreachable!("a CRD always serializes to JSON"));
    let list_kind = format!("{}List", crd.spec.names.kind);
    if let Some(names) = value
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        names.insert("listKind".into(), Value::String(list_kind));
    }
    for version in value
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let Some(schema) = version
            .pointer_mut("/schema/openAPIV3Schema")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        schema.remove("required");
        schema.remove("title");
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            properties.insert("apiVersion".into(), json!({"type": "string"}));
            properties.insert("kind".into(), json!({"type": "string"}));
            properties.insert("metadata".into(), json!({"type": "object"}));
        }
        crate::schema::strip_nullable(version);
    }
    serde_json::from_value(value).unwrap_or(crd)
}

/// `drpolicies.ramendr.openshift.io`.
pub fn drpolicies() -> CustomResourceDefinition {
    normalize(DRPolicy::crd())
}

/// `drclusters.ramendr.openshift.io`.
pub fn drclusters() -> CustomResourceDefinition {
    normalize(DRCluster::crd())
}

/// `drplacementcontrols.ramendr.openshift.io`.
pub fn drplacementcontrols() -> CustomResourceDefinition {
    normalize(DRPlacementControl::crd())
}

/// All three CRDs with the file name the chart uses for each
/// (`ramendr.openshift.io_<plural>.yaml`, as Ramen names them).
pub fn all() -> Vec<(String, CustomResourceDefinition)> {
    [drpolicies(), drclusters(), drplacementcontrols()]
        .into_iter()
        .map(|crd| {
            let file = format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural);
            (file, crd)
        })
        .collect()
}
