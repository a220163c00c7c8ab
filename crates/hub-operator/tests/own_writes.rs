//! Events of the operator's own writes trigger nothing, and leave nothing behind that hides a later
//! change by someone else.

mod support;

use drpolicy_api::names::DRPOLICY_FINALIZER;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::{Hub, eventually};

#[tokio::test]
async fn a_finalizer_someone_removes_after_ours_landed_is_added_again() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.wait_distributed("p1").await;
    hub.quiet().await;
    assert_eq!(hub.policy_finalizers("p1").await, [DRPOLICY_FINALIZER]);

    // Without our finalizer and label, the policy looks, in the fields that matter to a reconcile, as
    // it did when it was first listed: only our own write (whose event is swallowed) came in between.
    hub.policies()
        .patch(
            "p1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"finalizers": null, "labels": null}})),
        )
        .await
        .unwrap();
    eventually("our finalizer is back", || async {
        (hub.policy_finalizers("p1").await == [DRPOLICY_FINALIZER]).then_some(())
    })
    .await;
}
