//! Property tests: admission never panics on arbitrary objects, and its output is stable.

mod support;

use std::sync::LazyLock;

use crd_schema::StructuralSchema;
use proptest::prelude::*;
use serde_json::{Map, Value};
use support::*;

static SCHEMAS: LazyLock<Vec<StructuralSchema>> = LazyLock::new(|| {
    [
        "ramendr.openshift.io_drpolicies.yaml",
        "ramendr.openshift.io_drplacementcontrols.yaml",
    ]
    .into_iter()
    .map(compile_fixture)
    .collect()
});

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            "[a-zA-Z0-9 ]{0,12}",
            Just("1m".to_string()),
            Just("spec".to_string()),
            Just("drClusters".to_string()),
            Just("日本語".to_string()),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let key = prop_oneof![
            "[a-z]{1,6}",
            Just("spec".to_string()),
            Just("drClusters".to_string()),
            Just("schedulingInterval".to_string()),
            Just("replicationClassSelector".to_string()),
            Just("matchLabels".to_string()),
            Just("metadata".to_string()),
            Just("status".to_string()),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn admit_never_panics_and_is_idempotent(obj in arb_json(), old in prop::option::of(arb_json())) {
        for schema in SCHEMAS.iter() {
            let mut first = obj.clone();
            let a = schema.admit(&mut first, old.as_ref());
            // A pruned and defaulted object has nothing left to prune and the same errors.
            let mut second = first.clone();
            let b = schema.admit(&mut second, old.as_ref());
            prop_assert!(b.pruned.is_empty(), "second admission pruned {:?}", b.pruned);
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(a.errors, b.errors);
        }
    }
}

/// A DRPolicy whose spec is mostly well-formed, so admission reaches the CEL rules; with
/// `valid`, its cluster list and interval are valid.
fn arb_drpolicy(valid: bool) -> impl Strategy<Value = Value> {
    let (clusters, interval) = if valid {
        (2..3, "[0-9]{1,2}[mhd]")
    } else {
        (0..4, "[0-9]{0,3}[smhd]?")
    };
    (
        prop::collection::vec("[a-d]{1}", clusters),
        interval,
        prop::option::of(arb_json()),
        any::<bool>(),
    )
        .prop_map(|(clusters, interval, extra, with_selector)| {
            let mut spec =
                serde_json::json!({"drClusters": clusters, "schedulingInterval": interval});
            if let Some(extra) = extra {
                spec["extra"] = extra;
            }
            if with_selector {
                spec["replicationClassSelector"] = serde_json::json!({"matchLabels": {"a": "b"}});
            }
            resource("ramendr.openshift.io/v1alpha1", "DRPolicy", "p", spec)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn drpolicy_update_is_rejected_exactly_when_an_immutable_field_changes(
        old in arb_drpolicy(true),
        new in arb_drpolicy(false),
    ) {
        let schema = &SCHEMAS[0];
        let mut stored = old.clone();
        let created = schema.admit(&mut stored, None);
        prop_assume!(created.errors.is_empty());
        let mut updated = new.clone();
        let admission = schema.admit(&mut updated, Some(&stored));
        let immutable_changed = ["drClusters", "schedulingInterval", "replicationClassSelector"]
            .iter()
            .any(|f| stored["spec"][f] != updated["spec"][f]);
        let immutability_errors = admission.errors.iter().filter(|e| e.detail.ends_with("is immutable")).count();
        // Immutability is only checked when the new spec passes OpenAPI validation.
        let openapi_blocked = admission.errors.iter().any(|e| e.field == "<nil>");
        prop_assert_eq!(immutability_errors > 0, immutable_changed && !openapi_blocked, "{:?}", admission.errors);
    }
}
