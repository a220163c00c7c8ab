//! Ramen HEAD's DR telemetry (D1): how many DRPolicies there are per DR type, how many applications are
//! protected per management method, and how many DR actions the existing DRPlacementControls started —
//! counted from the caches.
//!
//! HEAD recounts after every DRPolicy reconcile (listing every policy and DRPlacementControl each time);
//! we count when the metrics are scraped, which gives the same series with fresher values and costs
//! nothing between scrapes. All seven series exist from the start, at 0.

use drpolicy_api::{DRPlacementControl, DRPolicy};
use drpolicy_validator::{DrType, dr_type};
use serde::Deserialize;

/// Annotation in which Ramen's DRPlacementControl controller counts the DR actions it started.
pub const DR_ACTION_COUNT_ANNOTATION: &str =
    "drplacementcontrol.ramendr.openshift.io/dr-action-count";

/// The counts behind the three gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// DRPolicies whose clusters share storage (`dr_type="metro"`).
    pub metro: u64,
    /// DRPolicies that replicate asynchronously (`dr_type="regional"`).
    pub regional: u64,
    /// DRPolicies whose type cannot be told (`dr_type="unknown"`).
    pub unknown: u64,
    /// DRPlacementControls protecting namespaces directly (`management_method="discovered"`).
    pub discovered: u64,
    /// DRPlacementControls protecting an OCM-managed application (`management_method="managed"`).
    pub managed: u64,
    /// Failovers counted by every DRPlacementControl (`action="failover"`).
    pub failovers: u64,
    /// Relocations counted by every DRPlacementControl (`action="relocate"`).
    pub relocations: u64,
}

#[derive(Deserialize)]
struct ActionCount {
    #[serde(default)]
    failover: u64,
    #[serde(default)]
    relocate: u64,
}

/// Counts `policies` by [`DrType`] (Ramen HEAD's classification; policies being deleted count too) and
/// `drpcs` by management method and DR actions.
pub fn count<'a>(
    policies: impl IntoIterator<Item = &'a DRPolicy>,
    drpcs: impl IntoIterator<Item = &'a DRPlacementControl>,
) -> Telemetry {
    let mut telemetry = Telemetry::default();
    for policy in policies {
        match dr_type(policy) {
            DrType::Metro => telemetry.metro += 1,
            DrType::Regional => telemetry.regional += 1,
            DrType::Unknown => telemetry.unknown += 1,
        }
    }
    for drpc in drpcs {
        let discovered = drpc
            .spec
            .other
            .get("protectedNamespaces")
            .and_then(|v| v.as_array())
            .is_some_and(|namespaces| !namespaces.is_empty());
        if discovered {
            telemetry.discovered += 1;
        } else {
            telemetry.managed += 1;
        }
        // Absent or malformed counts as 0, as in Ramen.
        let actions = drpc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DR_ACTION_COUNT_ANNOTATION))
            .and_then(|json| serde_json::from_str::<ActionCount>(json).ok());
        if let Some(actions) = actions {
            telemetry.failovers = telemetry.failovers.saturating_add(actions.failover);
            telemetry.relocations = telemetry.relocations.saturating_add(actions.relocate);
        }
    }
    telemetry
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::{DRPolicySpec, PeerClass, PeerClassesStatus};
    use serde_json::json;

    fn policy(interval: &str, sync: bool, async_: bool) -> DRPolicy {
        let mut p = DRPolicy::new(
            "p",
            DRPolicySpec {
                scheduling_interval: interval.into(),
                dr_clusters: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        );
        let side = |on: bool| PeerClassesStatus {
            peer_classes: on.then(|| {
                vec![PeerClass {
                    storage_class_name: Some("sc".into()),
                    storage_id: Some(vec!["s1".into()]),
                    cluster_ids: Some(vec!["c1".into(), "c2".into()]),
                    ..Default::default()
                }]
            }),
        };
        let status = p.status.get_or_insert_with(Default::default);
        status.sync = Some(side(sync));
        status.async_ = Some(side(async_));
        p
    }

    fn drpc(protected: serde_json::Value, annotation: Option<&str>) -> DRPlacementControl {
        let mut object = json!({
            "apiVersion": "ramendr.openshift.io/v1alpha1", "kind": "DRPlacementControl",
            "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"drPolicyRef": {"name": "p"}, "placementRef": {"name": "pl"},
                     "pvcSelector": {}, "protectedNamespaces": protected},
        });
        if let Some(annotation) = annotation {
            object["metadata"]["annotations"] = json!({DR_ACTION_COUNT_ANNOTATION: annotation});
        }
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn nothing_counts_zero_everywhere() {
        assert_eq!(count([], []), Telemetry::default());
    }

    #[test]
    fn policies_count_by_heads_classification() {
        // HT12: metro by peers, metro by interval "", regional "5m", unknown "5x".
        let policies = [
            policy("5m", true, false),
            policy("", false, false),
            policy("5m", false, false),
            policy("5x", false, false),
            policy("5m", false, true),
        ];
        let t = count(&policies, []);
        assert_eq!((t.metro, t.regional, t.unknown), (2, 2, 1));
    }

    #[test]
    fn drpcs_count_by_management_method_and_actions() {
        // HT13.
        let drpcs = [
            drpc(
                json!(["app-ns"]),
                Some(r#"{"failover":2,"relocate":1,"lastPhase":"FailedOver"}"#),
            ),
            drpc(
                json!(null),
                Some(r#"{"failover":1,"relocate":0,"lastPhase":"FailingOver"}"#),
            ),
            drpc(json!([]), None),
            drpc(json!(null), Some("not json")),
        ];
        let t = count([], &drpcs);
        assert_eq!((t.discovered, t.managed), (1, 3));
        assert_eq!((t.failovers, t.relocations), (3, 1));
    }
}
