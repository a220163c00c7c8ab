//! Ramen HEAD's peer classes, ManagedCluster gate and conflicts, end to end against the embedded API
//! server, with OCM's view agent played by `e2e::views`.

mod support;

use drpolicy_api::view::ManagedClusterView;
use drpolicy_api::{DRPolicy, PeerClass};
use e2e::views::{DEFAULT_PROVISIONER, async_peers, storage_class, sync_peers};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use pretty_assertions::assert_eq;
use support::{Hub, cluster_id, eventually};
use test_fixtures::ManagedClusterFixture;

const COMPUTED: &str = "PeerClassesComputed";

fn peers(policy: &DRPolicy) -> (Vec<PeerClass>, Vec<PeerClass>) {
    let status = policy.status.clone().unwrap_or_default();
    let list = |side: Option<drpolicy_api::PeerClassesStatus>| {
        side.and_then(|s| s.peer_classes).unwrap_or_default()
    };
    (list(status.sync), list(status.async_))
}

/// Waits until policy `name` reports its peer classes waiting for the views of dr2 only, saying
/// which conditions are missing.
async fn wait_for_views_of_dr2_only(hub: &Hub, name: &str) {
    let message = eventually("waiting for dr2 only", || async {
        let (_, reason, message) = hub.condition(name, COMPUTED).await?;
        (reason == "WaitingForViews" && message.contains("dr2/dr2-drcconfig-mcv"))
            .then_some(message)
    })
    .await;
    assert!(
        message.contains("missing ManagedClusterView conditions"),
        "{message}"
    );
}

async fn views_on(hub: &Hub, cluster: &str) -> Vec<String> {
    let api: Api<ManagedClusterView> = Api::namespaced(hub.client.clone(), cluster);
    let mut names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|v| v.metadata.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn clusters_sharing_storage_get_sync_peer_classes_and_the_status_always_has_both_sides() {
    let hub = Hub::running().await;
    hub.serve(sync_peers(&["dr2", "dr3"], "metro", "array-1"));
    hub.create_policy("metro", &["dr2", "dr3"]).await;
    let message = hub
        .wait_condition("metro", COMPUTED, "True", "Computed")
        .await;
    assert_eq!(
        message,
        "1 sync and 0 async peer classes from the classes of clusters [dr2 dr3]"
    );
    let policy = hub.policies().get("metro").await.unwrap();
    let (sync, async_) = peers(&policy);
    assert_eq!(
        sync,
        [PeerClass {
            storage_class_name: Some("metro".into()),
            storage_id: Some(vec!["array-1".into()]),
            cluster_ids: Some(vec![cluster_id("dr2"), cluster_id("dr3")]),
            ..Default::default()
        }]
    );
    assert!(async_.is_empty());
    // Like Ramen HEAD, both sides are present even when empty.
    let raw = serde_json::to_value(&policy).unwrap();
    assert_eq!(raw["status"]["async"], serde_json::json!({}));
    assert_eq!(hub.condition("metro", "Validated").await.unwrap().0, "True");
    // Ramen's view names, one per class the config lists.
    assert_eq!(
        views_on(&hub, "dr2").await,
        ["dr2-drcconfig-mcv", "metro-sc-mcv", "metro-snap-vsc-mcv"]
    );
}

#[tokio::test]
async fn clusters_replicating_at_the_policy_interval_get_async_peer_classes() {
    let hub = Hub::running().await;
    hub.serve(async_peers(
        &[("dr1", "ceph-1"), ("dr2", "ceph-2")],
        "rbd",
        "rep-1",
        "5m",
    ));
    hub.create_policy("regional", &["dr1", "dr2"]).await;
    hub.wait_condition("regional", COMPUTED, "True", "Computed")
        .await;
    let (sync, async_) = peers(&hub.policies().get("regional").await.unwrap());
    assert!(sync.is_empty());
    assert_eq!(async_.len(), 1, "{async_:?}");
    assert_eq!(async_[0].replication_id.as_deref(), Some("rep-1"));
    assert_eq!(
        async_[0].storage_id,
        Some(vec!["ceph-1".to_owned(), "ceph-2".to_owned()])
    );
    hub.wait_distributed("regional").await;
}

#[tokio::test]
async fn classes_that_do_not_pair_give_no_peers_and_unlisted_views_are_pruned() {
    let hub = Hub::running().await;
    hub.managed.set_classes(
        "dr1",
        vec![storage_class("gold", "array-1", DEFAULT_PROVISIONER)],
    );
    hub.managed.set_classes(
        "dr2",
        vec![storage_class("silver", "array-2", DEFAULT_PROVISIONER)],
    );
    hub.create_policy("p", &["dr1", "dr2"]).await;
    let message = hub.wait_condition("p", COMPUTED, "True", "Computed").await;
    assert!(message.starts_with("0 sync and 0 async"), "{message}");
    assert_eq!(
        views_on(&hub, "dr1").await,
        ["dr1-drcconfig-mcv", "gold-sc-mcv"]
    );

    // dr1 stops listing gold and lists bronze: gold's view goes, bronze's comes.
    hub.managed.set_classes(
        "dr1",
        vec![storage_class("bronze", "array-1", DEFAULT_PROVISIONER)],
    );
    eventually("gold's view pruned", || async {
        (views_on(&hub, "dr1").await == ["bronze-sc-mcv", "dr1-drcconfig-mcv"]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_view_blocks_neither_validation_nor_distribution() {
    let mut hub = Hub::prepared(&support::config()).await;
    hub.silence_views("dr2");
    hub.start_operator().await;
    hub.create_distributed("p", &["dr1", "dr2"]).await;
    assert_eq!(hub.condition("p", "Validated").await.unwrap().0, "True");
    // dr1's view is answered; dr2's stays waiting.
    wait_for_views_of_dr2_only(&hub, "p").await;
    // Waiting costs nothing.
    hub.quiet().await;
    let mark = hub.server.hooks().mark();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(hub.writes_since(mark), Vec::<String>::new());
}

#[tokio::test]
async fn a_hub_without_the_view_api_distributes_and_says_why_peer_classes_are_empty() {
    let hub = Hub::running_without_views().await;
    hub.create_distributed("p", &["dr1", "dr2"]).await;
    let message = hub
        .wait_condition("p", COMPUTED, "False", "ManagedClusterViewsNotInstalled")
        .await;
    assert!(
        message.contains("managedclusterviews.view.open-cluster-management.io"),
        "{message}"
    );
}

#[tokio::test]
async fn a_policy_overlapping_an_older_metro_policy_is_invalid_until_the_older_goes() {
    let hub = Hub::running().await;
    hub.serve(sync_peers(&["dr2", "dr3"], "metro", "array-1"));
    hub.create_policy("older", &["dr2", "dr3"]).await;
    hub.wait_condition("older", COMPUTED, "True", "Computed")
        .await;
    hub.wait_condition("older", "Validated", "True", "Succeeded")
        .await;
    // Creation timestamps have second precision: make sure the second policy is newer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    hub.create_policy("newer", &["dr1", "dr3"]).await;
    let message = hub
        .wait_condition("newer", "Validated", "False", "DRPolicyConflictFound")
        .await;
    assert_eq!(
        message,
        "validate managed cluster in drpolicy failed: drpolicy: newer has overlapping clusters with another drpolicy older"
    );
    hub.quiet().await;
    assert_eq!(hub.condition("older", "Validated").await.unwrap().0, "True");
    // A conflicting policy never starts holding a distribution (Ramen HEAD distributes first: BH9).
    assert!(
        !hub.policies()
            .get("newer")
            .await
            .unwrap()
            .finalizers()
            .iter()
            .any(|f| f == drpolicy_api::names::DRPOLICY_FINALIZER)
    );

    hub.delete_policy("older").await;
    hub.wait_condition("newer", "Validated", "True", "Succeeded")
        .await;
}

#[tokio::test]
async fn sync_and_async_peers_in_one_policy_conflict() {
    let hub = Hub::running().await;
    let mut dr1 = sync_peers(&["dr1"], "metro", "array-1")
        .remove("dr1")
        .unwrap();
    let mut dr2 = sync_peers(&["dr2"], "metro", "array-1")
        .remove("dr2")
        .unwrap();
    for (cluster, objects) in
        async_peers(&[("dr1", "ceph-1"), ("dr2", "ceph-2")], "rbd", "rep", "5m")
    {
        let target = if cluster == "dr1" { &mut dr1 } else { &mut dr2 };
        target.extend(
            objects
                .into_iter()
                .filter(|o| o["kind"] != "DRClusterConfig"),
        );
    }
    hub.managed.set_classes("dr1", dr1);
    hub.managed.set_classes("dr2", dr2);
    hub.create_policy("both", &["dr1", "dr2"]).await;
    let message = hub
        .wait_condition("both", "Validated", "False", "DRPolicyConflictFound")
        .await;
    assert_eq!(
        message,
        "invalid DRPolicy: a policy cannot contain both sync and async configurations"
    );
}

#[tokio::test]
async fn a_joined_cluster_without_an_id_claim_fails_the_gate_until_it_has_one() {
    let hub = Hub::running().await;
    hub.create_drcluster("nc", "x", true).await;
    ManagedClusterFixture::joined("nc", "unused")
        .without_claim()
        .ensure(&hub.client)
        .await
        .unwrap();
    hub.create_policy("p", &["dr1", "nc"]).await;
    let message = hub
        .wait_condition("p", "Validated", "False", "drClusterDetailsFailed")
        .await;
    assert_eq!(
        message,
        "drclusters cluster ID (nc): cluster (nc) is missing cluster ID claim"
    );
    ManagedClusterFixture::joined("nc", cluster_id("nc"))
        .ensure(&hub.client)
        .await
        .unwrap();
    hub.wait_condition("p", "Validated", "True", "Succeeded")
        .await;
}

#[tokio::test]
async fn a_cluster_reporting_no_storage_classes_keeps_its_stored_peer_classes() {
    let hub = Hub::running().await;
    hub.serve(sync_peers(&["dr2", "dr3"], "metro", "array-1"));
    hub.create_policy("metro", &["dr2", "dr3"]).await;
    eventually("sync peers", || async {
        let policy = hub.policies().get("metro").await.unwrap();
        (peers(&policy).0.len() == 1).then_some(())
    })
    .await;
    // dr3's DRClusterConfig momentarily lists nothing (Ramen HEAD wipes the peers: BH7).
    hub.managed.set_classes("dr3", Vec::new());
    let api: Api<ManagedClusterView> = Api::namespaced(hub.client.clone(), "dr3");
    eventually("dr3's empty report answered", || async {
        let view = api.get("dr3-drcconfig-mcv").await.ok()?;
        let config: drpolicy_api::DRClusterConfig = drpolicy_api::view::read_result(&view).ok()?;
        config
            .status
            .unwrap_or_default()
            .storage_classes()
            .is_empty()
            .then_some(())
    })
    .await;
    hub.quiet().await;
    let policy = hub.policies().get("metro").await.unwrap();
    assert_eq!(peers(&policy).0.len(), 1, "stored peers kept");
    // Its class views stay too, ready for its next report.
    assert_eq!(
        views_on(&hub, "dr3").await,
        ["dr3-drcconfig-mcv", "metro-sc-mcv", "metro-snap-vsc-mcv"]
    );
}

#[tokio::test]
async fn the_class_views_of_a_cluster_no_policy_lists_any_more_are_deleted() {
    let hub = Hub::running().await;
    hub.serve(sync_peers(&["dr2", "dr3"], "metro", "array-1"));
    hub.create_policy("a", &["dr2", "dr3"]).await;
    hub.create_policy("b", &["dr1", "dr3"]).await;
    hub.wait_condition("a", COMPUTED, "True", "Computed").await;
    hub.wait_condition("b", COMPUTED, "True", "Computed").await;
    let all = ["dr2-drcconfig-mcv", "metro-sc-mcv", "metro-snap-vsc-mcv"];
    assert_eq!(views_on(&hub, "dr2").await, all);

    // dr3 is still listed by b: its views stay; dr2 is listed by none: its class views go, except
    // those Ramen's DRCluster controller shares (DRClusterConfig and StorageClass views).
    hub.delete_policy("a").await;
    hub.wait_policy_gone("a").await;
    eventually("dr2's class views deleted", || async {
        (views_on(&hub, "dr2").await == ["dr2-drcconfig-mcv", "metro-sc-mcv"]).then_some(())
    })
    .await;
    assert_eq!(
        views_on(&hub, "dr3").await,
        ["dr3-drcconfig-mcv", "metro-sc-mcv", "metro-snap-vsc-mcv"]
    );
}

/// Sets the NADs `cluster`'s DRClusterConfig reports (`namespace/name`, cni `macvlan`).
fn set_nads(hub: &Hub, cluster: &str, nads: &[(&str, &str)]) {
    let attachments: Vec<serde_json::Value> = nads
        .iter()
        .map(|(ns, name)| serde_json::json!({"name": name, "namespace": ns, "cniType": "macvlan"}))
        .collect();
    hub.managed.update(|table| {
        for object in table.get_mut(cluster).unwrap() {
            if object["kind"] == "DRClusterConfig" {
                object["status"]["networkAttachments"] = serde_json::json!(attachments);
            }
        }
    });
}

#[tokio::test]
async fn network_attachments_missing_on_a_peer_invalidate_the_policy_until_they_are_symmetric() {
    let hub = Hub::running().await;
    set_nads(&hub, "dr1", &[("vm", "nad-a"), ("vm", "nad-b")]);
    set_nads(&hub, "dr2", &[("vm", "nad-a")]);
    let mut policy = test_fixtures::drpolicy("net", &["dr1", "dr2"], "5m");
    policy.spec.network_mapping_ref = Some(drpolicy_api::NetworkMappingRef { name: "map".into() });
    hub.policies()
        .create(&Default::default(), &policy)
        .await
        .unwrap();
    let message = hub
        .wait_condition("net", "Validated", "False", "NADsMissing")
        .await;
    assert_eq!(
        message,
        "one or more NADs are absent on a peer cluster; see NetworkAttachmentsValidated condition"
    );
    let (status, _, message) = hub
        .condition("net", "NetworkAttachmentsValidated")
        .await
        .unwrap();
    assert_eq!(status, "False");
    assert_eq!(
        message,
        "NADs missing on one or more clusters: vm/nad-b missing on dr2"
    );
    let stored = hub.policies().get("net").await.unwrap();
    let peers = stored.status.unwrap().network_peers.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].nad_name, "nad-a");

    set_nads(&hub, "dr2", &[("vm", "nad-a"), ("vm", "nad-b")]);
    hub.wait_condition("net", "Validated", "True", "Succeeded")
        .await;
    hub.wait_condition("net", "NetworkAttachmentsValidated", "True", "Validated")
        .await;
    hub.wait_distributed("net").await;

    // Network mapping off: the condition and the network peers go.
    let patch = serde_json::json!({"spec": {"networkMappingRef": null}});
    hub.policies()
        .patch("net", &Default::default(), &kube::api::Patch::Merge(&patch))
        .await
        .unwrap();
    eventually("NAD status cleared", || async {
        let policy = hub.policies().get("net").await.unwrap();
        let cleared = policy.condition("NetworkAttachmentsValidated").is_none()
            && policy
                .status
                .as_ref()
                .and_then(|s| s.network_peers.as_ref())
                .is_none();
        cleared.then_some(())
    })
    .await;
}

#[tokio::test]
async fn dr_telemetry_counts_policies_by_type_and_drpcs_by_management_method() {
    let hub = Hub::running().await;
    let series = |text: &str, name: &str| -> Option<i64> {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    // Present at 0 before anything exists.
    let text = hub.metrics.render();
    for name in [
        "ramen_dr_policy_type{dr_type=\"metro\"}",
        "ramen_dr_policy_type{dr_type=\"regional\"}",
        "ramen_dr_policy_type{dr_type=\"unknown\"}",
        "ramen_dr_protected_apps{management_method=\"discovered\"}",
        "ramen_dr_protected_apps{management_method=\"managed\"}",
        "ramen_dr_actions{action=\"failover\"}",
        "ramen_dr_actions{action=\"relocate\"}",
    ] {
        assert_eq!(series(&text, name), Some(0), "{name} in\n{text}");
    }
    hub.serve(sync_peers(&["dr2", "dr3"], "metro", "array-1"));
    hub.create_policy("metro", &["dr2", "dr3"]).await;
    hub.create_policy("regional", &["dr1", "dr2"]).await;
    hub.create_drpc("apps", "app", "regional").await;
    hub.wait_condition("metro", COMPUTED, "True", "Computed")
        .await;
    eventually("telemetry counts", || async {
        let text = hub.metrics.render();
        let counts = (
            series(&text, "ramen_dr_policy_type{dr_type=\"metro\"}"),
            series(&text, "ramen_dr_policy_type{dr_type=\"regional\"}"),
            series(
                &text,
                "ramen_dr_protected_apps{management_method=\"managed\"}",
            ),
        );
        (counts == (Some(1), Some(1), Some(1))).then_some(())
    })
    .await;
    // The schedule gauge (D18): only for policies that are not metro by Ramen HEAD's rule.
    hub.wait_distributed("regional").await;
    let text = hub.metrics.render();
    assert_eq!(
        series(
            &text,
            "ramen_policy_schedule_interval_seconds{policyname=\"regional\"}"
        ),
        Some(300),
        "{text}"
    );
    assert_eq!(
        series(
            &text,
            "ramen_policy_schedule_interval_seconds{policyname=\"metro\"}"
        ),
        None,
        "{text}"
    );
}

#[tokio::test]
async fn a_view_an_older_ramen_created_without_our_label_is_adopted_once() {
    let mut hub = Hub::prepared(&support::config()).await;
    // As an older Ramen left it: Ramen's name and scope, no labels, no annotation.
    let mut old = drpolicy_api::view::ViewTarget::DRClusterConfig.desired("dr1", "dr1");
    old.metadata.labels = None;
    old.metadata.annotations = None;
    let api: Api<ManagedClusterView> = Api::namespaced(hub.client.clone(), "dr1");
    api.create(&Default::default(), &old).await.unwrap();
    hub.start_operator().await;
    hub.create_policy("p", &["dr1", "dr2"]).await;
    hub.wait_condition("p", COMPUTED, "True", "Computed").await;
    let adopted = api.get("dr1-drcconfig-mcv").await.unwrap();
    assert_eq!(
        adopted.labels()["ramendr.openshift.io/created-by-ramen"],
        "true"
    );
    assert_eq!(adopted.drpolicy_cluster(), Some("dr1"));
    // Adopted once: the converged hub writes nothing more.
    hub.quiet().await;
    let mark = hub.server.hooks().mark();
    hub.create_policy("q", &["dr1", "dr3"]).await;
    hub.wait_condition("q", COMPUTED, "True", "Computed").await;
    hub.quiet().await;
    let view_writes: Vec<String> = hub
        .writes_since(mark)
        .into_iter()
        .filter(|w| w.contains("managedclusterviews") && w.contains("dr1"))
        .collect();
    assert_eq!(view_writes, Vec::<String>::new());
}

#[tokio::test]
async fn an_older_policy_becoming_metro_invalidates_a_newer_one_sharing_its_group() {
    let hub = Hub::running().await;
    let mut table = sync_peers(&["dr2", "dr3"], "metro", "array-1");
    // dr3 offers the metro class from the start; dr2 reports nothing yet.
    hub.managed.set_cluster("dr3", table.remove("dr3").unwrap());
    hub.create_policy("older", &["dr2", "dr3"]).await;
    hub.wait_condition("older", COMPUTED, "True", "Computed")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    hub.create_policy("newer", &["dr1", "dr3"]).await;
    hub.wait_condition("newer", "Validated", "True", "Succeeded")
        .await;

    // Only dr2's answers change (they requeue "older" alone); "older" becomes metro over {dr2, dr3},
    // which holds dr3: "newer" must be re-checked.
    hub.managed.set_cluster("dr2", table.remove("dr2").unwrap());
    let message = hub
        .wait_condition("newer", "Validated", "False", "DRPolicyConflictFound")
        .await;
    assert!(message.ends_with("another drpolicy older"), "{message}");
}

#[tokio::test]
async fn views_deleted_with_their_last_policy_are_recreated_by_the_next_one() {
    let mut hub = Hub::prepared(&support::config()).await;
    hub.silence_views("dr2");
    hub.start_operator().await;
    hub.serve(async_peers(
        &[("dr1", "ceph-1"), ("dr3", "ceph-3")],
        "rbd",
        "rep-1",
        "5m",
    ));
    hub.create_policy("first", &["dr1", "dr3"]).await;
    hub.wait_condition("first", COMPUTED, "True", "Computed")
        .await;
    hub.delete_policy("first").await;
    hub.wait_policy_gone("first").await;
    eventually("dr1's replication view deleted", || async {
        (!views_on(&hub, "dr1")
            .await
            .iter()
            .any(|v| v.ends_with("-vrc-mcv")))
        .then_some(())
    })
    .await;

    hub.create_policy("second", &["dr1", "dr2"]).await;
    wait_for_views_of_dr2_only(&hub, "second").await;
}
