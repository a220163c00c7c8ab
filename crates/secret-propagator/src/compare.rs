//! "Does the live object already say what we want?" — so the applier writes nothing when converged.
//!
//! The comparison is a subset test: every field of the desired object must be present with the same
//! value in the live one; fields others added (OCM defaults, status, managedFields, foreign labels) are
//! ignored. A desired `null` or `{}` also matches an absent field, because API servers drop those.
//! Policies and PlacementRules refine it ([`policy_matches`], [`rule_matches`]).

use drpolicy_api::ocm::{PlacementRule, Policy};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Whether `live` contains everything `desired` says.
pub fn contains(live: &Value, desired: &Value) -> bool {
    match (desired, live) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(key, value)| match have.get(key) {
                Some(found) => contains(found, value),
                None => is_empty(value),
            })
        }
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(w, h)| contains(h, w))
        }
        (want, Value::Null) => is_empty(want),
        (want, have) => want == have,
    }
}

/// Whether the `live` object exists and contains everything `desired` says (see [`contains`]).
pub fn matches<T: Serialize>(live: Option<&T>, desired: &T) -> bool {
    let Some(live) = live else { return false };
    match (serde_json::to_value(live), serde_json::to_value(desired)) {
        (Ok(live), Ok(desired)) => contains(&live, &desired),
        _ => false,
    }
}

/// Policies match when the live one contains what we send and its templates are exactly ours: the
/// embedded objects are stored verbatim and the template list is replaced as a whole by an apply, so
/// a body an older Ramen wrote (`Musthave`, `creationTimestamp: null`, no `customMessage`) is rewritten
/// once, and then matches.
pub fn policy_matches(live: Option<&Policy>, desired: &Policy) -> bool {
    matches(live, desired)
        && live.is_some_and(|live| live.spec.policy_templates == desired.spec.policy_templates)
}

/// The set of clusters a PlacementRule lists.
pub fn rule_clusters(rule: &PlacementRule) -> BTreeSet<String> {
    rule.cluster_names().map(str::to_owned).collect()
}

/// PlacementRules match when labels match and the cluster *set* is the same: the order means nothing to
/// OCM, and rewriting a rule Ramen ordered differently would be a needless write.
pub fn rule_matches(live: Option<&PlacementRule>, desired: &PlacementRule) -> bool {
    let Some(live) = live else { return false };
    let labels_match = matches(
        Some(&json!({"labels": live.metadata.labels})),
        &json!({"labels": desired.metadata.labels}),
    );
    labels_match && rule_clusters(live) == rule_clusters(desired)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().all(is_empty),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::contains;
    use serde_json::json;

    #[test]
    fn extra_live_fields_are_ignored() {
        assert!(contains(
            &json!({"a": 1, "b": {"c": 2, "d": 3}, "status": {"x": 1}}),
            &json!({"a": 1, "b": {"c": 2}})
        ));
    }

    #[test]
    fn a_different_or_missing_value_does_not_match() {
        assert!(!contains(&json!({"a": 2}), &json!({"a": 1})));
        assert!(!contains(&json!({}), &json!({"a": 1})));
        assert!(!contains(&json!({"l": [1, 2]}), &json!({"l": [1]})));
        assert!(!contains(&json!({"l": [1, 3]}), &json!({"l": [1, 2]})));
    }

    #[test]
    fn desired_nulls_and_empty_objects_match_absent_fields() {
        assert!(contains(
            &json!({"meta": {"name": "x"}}),
            &json!({"meta": {"name": "x", "creationTimestamp": null}, "status": {}, "o": {"p": {}}})
        ));
        assert!(!contains(&json!({}), &json!({"o": {"p": 1}})));
    }
}
