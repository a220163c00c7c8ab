//! DRPlacementControls: what protects an application, and holds its DRPolicy back from deletion.

use drpolicy_api::DRPlacementControl;
use serde_json::json;

/// DRPlacementControl `namespace/name` referencing DRPolicy `policy`, placing with Placement
/// `placement` and protecting the PVCs labelled `app=<name>`.
pub fn drpc(namespace: &str, name: &str, policy: &str) -> DRPlacementControl {
    serde_json::from_value(json!({
        "apiVersion": "ramendr.openshift.io/v1alpha1",
        "kind": "DRPlacementControl",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "drPolicyRef": {"name": policy},
            "placementRef": {"name": "placement", "kind": "Placement"},
            "pvcSelector": {"matchLabels": {"app": name}}
        }
    }))
    .expect("a DRPlacementControl of valid names deserializes")
}
