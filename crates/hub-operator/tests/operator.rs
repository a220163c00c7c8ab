//! The operator end to end against the embedded API server: each test states one behaviour.

mod support;

use drpolicy_api::names::{DRPOLICY_FINALIZER, OCM_BACKUP_LABEL, POLICY_TRIGGER_ANNOTATION};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use pretty_assertions::assert_eq;
use serde_json::json;
use support::{Hub, config, eventually};

#[tokio::test]
async fn a_new_policy_is_validated_labelled_finalized_and_distributed() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    let message = hub
        .wait_condition("p1", "Validated", "True", "Succeeded")
        .await;
    assert_eq!(message, "drpolicy validated");
    hub.wait_distributed("p1").await;

    let policy = hub.policies().get("p1").await.unwrap();
    assert_eq!(policy.labels()[OCM_BACKUP_LABEL], "ramen");
    assert!(policy.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER));
    let validated = policy.condition("Validated").unwrap();
    assert_eq!(validated.observed_generation, policy.metadata.generation);
    for secret in ["ramen-s3-secret-dr1", "ramen-s3-secret-dr2"] {
        assert_eq!(hub.rule_clusters(secret).await.unwrap(), ["dr1", "dr2"]);
        assert!(hub.secret_has_finalizer(secret).await);
        let ocm = hub.ocm_policies().get(secret).await.unwrap();
        let rv = hub.secrets().get(secret).await.unwrap().resource_version();
        assert_eq!(ocm.trigger(), rv.as_deref());
        hub.bindings()
            .get(&format!("plbinding-{secret}"))
            .await
            .unwrap();
    }
    assert!(!hub.secret_has_finalizer("ramen-s3-secret-dr3").await);
    let metrics = hub.metrics.render();
    assert!(
        metrics.contains("ramen_policy_schedule_interval_seconds{policyname=\"p1\"} 300"),
        "{metrics}"
    );
}

#[tokio::test]
async fn policies_sharing_a_cluster_get_the_union_and_deletions_remove_only_the_unneeded() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.create_distributed("p2", &["dr2", "dr3"]).await;
    hub.wait_rule("ramen-s3-secret-dr2", &["dr1", "dr2", "dr3"])
        .await;
    hub.wait_rule("ramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    hub.wait_rule("ramen-s3-secret-dr3", &["dr2", "dr3"]).await;

    hub.delete_policy("p1").await;
    hub.wait_policy_gone("p1").await;
    hub.wait_rule("ramen-s3-secret-dr2", &["dr2", "dr3"]).await;
    hub.wait_rule("ramen-s3-secret-dr3", &["dr2", "dr3"]).await;
    assert_eq!(hub.rule_clusters("ramen-s3-secret-dr1").await, None);
    assert!(!hub.secret_has_finalizer("ramen-s3-secret-dr1").await);
    assert!(!hub.metrics.render().contains("policyname=\"p1\""));

    hub.delete_policy("p2").await;
    hub.wait_policy_gone("p2").await;
    assert_eq!(hub.ocm_object_count().await, 0);
    for cluster in ["dr1", "dr2", "dr3"] {
        assert!(
            !hub.secret_has_finalizer(&format!("ramen-s3-secret-{cluster}"))
                .await
        );
    }
    assert!(!hub.metrics.render().contains("policyname="));
}

#[tokio::test]
async fn a_policy_created_before_its_drclusters_waits_then_validates() {
    let hub = Hub::running().await;
    hub.create_policy("late", &["dr1", "dr9"]).await;
    let message = hub
        .wait_condition("late", "Validated", "False", "DRClusterNotFound")
        .await;
    assert_eq!(
        message,
        "failed to find DRClusters specified in policy ([dr1 dr9])"
    );
    // DRClusterNotFound waits for DRCluster events: no retry follows (a backoff would retry within
    // 0.5 s, 1 s, 2 s).
    hub.quiet().await;
    let waiting = hub.reconciles("invalid");
    assert!(waiting >= 1);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        hub.reconciles("invalid"),
        waiting,
        "retried without a DRCluster event"
    );
    assert_eq!(hub.reconciles("error"), 0);

    hub.create_drcluster("dr9", "north", false).await;
    let message = hub
        .wait_condition("late", "Validated", "True", "Succeeded")
        .await;
    assert_eq!(message, "drpolicy validated");
}

#[tokio::test]
async fn a_drpc_blocks_deletion_until_it_is_gone() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.delete_protecting_policy("p1").await;
    assert!(
        hub.rule_clusters("ramen-s3-secret-dr1").await.is_some(),
        "nothing removed while blocked"
    );

    hub.unblock_deletion("p1").await;
}

#[tokio::test]
async fn a_thousand_drpcs_blocking_a_deletion_give_a_bounded_message() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    // Long names: listed in full they would take ~125 KB, four times the CRD's message limit.
    let namespace = format!("apps-{}", "n".repeat(58));
    for i in 0..1000 {
        let name = format!("drpc-{i:04}-{}", "d".repeat(53));
        hub.create_drpc(&namespace, &name, "p1").await;
    }
    hub.delete_policy("p1").await;
    let message = hub.wait_deletion_blocked("p1").await;
    assert!(message.len() <= 32768, "{} bytes", message.len());
    assert!(message.contains("(1000)"), "{message}");
    assert!(
        message.contains(&format!("{namespace}/drpc-0000-")),
        "{message}"
    );
    assert!(message.ends_with("… and 990 more"), "{message}");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(hub.client.clone());
    let notes: Vec<String> = events
        .list(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("DeletionBlocked"))
        .filter_map(|e| e.note)
        .collect();
    assert!(!notes.is_empty());
    assert!(notes.iter().all(|n| n.len() <= 1024), "{notes:?}");
}

#[tokio::test]
async fn a_converged_hub_gets_no_requests_on_resync() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.create_distributed("p2", &["dr2", "dr3"]).await;
    hub.wait_distributed("p1").await;
    hub.quiet().await;

    // Touch the ConfigMap without an effective change: every policy is reconciled, nothing is written.
    let reconciled = hub.reconciles("success");
    let patch = json!({"metadata": {"annotations": {"touched": "yes"}}});
    let mark = hub.server.hooks().mark();
    hub.patch_configmap(&patch).await;
    eventually("both policies reconciled", || async {
        (hub.reconciles("success") >= reconciled + 2).then_some(())
    })
    .await;
    hub.quiet().await;
    let requests: Vec<String> = hub
        .server
        .hooks()
        .requests_since(mark)
        .iter()
        .filter(|r| r.verb != "watch")
        .map(|r| format!("{} {} {}", r.verb, r.resource, r.name))
        .collect();
    assert_eq!(requests, ["patch configmaps ramen-hub-operator-config"]);
}

#[tokio::test]
async fn a_secret_update_rewrites_only_its_own_policy_trigger() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.create_policy("p3", &["dr3", "dr2"]).await;
    hub.wait_distributed("p1").await;
    hub.wait_distributed("p3").await;
    hub.create_secret("unrelated").await;
    hub.quiet().await;

    let mark = hub.server.hooks().mark();
    let patch = json!({"data": {"AWS_SECRET_ACCESS_KEY": "cm90YXRlZA=="}});
    let rotated = hub.patch_secret("ramen-s3-secret-dr1", &patch).await;
    eventually("trigger follows the rotated secret", || async {
        let policy = hub.ocm_policies().get("ramen-s3-secret-dr1").await.unwrap();
        (policy.annotations().get(POLICY_TRIGGER_ANNOTATION) == rotated.resource_version().as_ref())
            .then_some(())
    })
    .await;
    hub.quiet().await;
    let writes: Vec<String> = hub.writes_since(mark);
    assert_eq!(
        writes,
        [
            "patch secrets ramen-s3-secret-dr1",
            "patch policies ramen-s3-secret-dr1"
        ],
        "only the rotated secret's Policy is rewritten"
    );
}

#[tokio::test]
async fn drift_of_ocm_objects_is_repaired() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.quiet().await;
    hub.ocm_policies()
        .delete("ramen-s3-secret-dr1", &DeleteParams::default())
        .await
        .unwrap();
    let edit = json!({"spec": {"clusters": [{"name": "elsewhere"}]}});
    hub.rules()
        .patch(
            "plrule-ramen-s3-secret-dr2",
            &PatchParams::default(),
            &Patch::Merge(&edit),
        )
        .await
        .unwrap();
    hub.bindings()
        .delete("plbinding-ramen-s3-secret-dr2", &DeleteParams::default())
        .await
        .unwrap();
    hub.wait_rule("ramen-s3-secret-dr2", &["dr1", "dr2"]).await;
    eventually("policy and binding restored", || async {
        let policy = hub
            .ocm_policies()
            .get_opt("ramen-s3-secret-dr1")
            .await
            .unwrap();
        let binding = hub
            .bindings()
            .get_opt("plbinding-ramen-s3-secret-dr2")
            .await
            .unwrap();
        (policy.is_some() && binding.is_some()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unparseable_config_is_reported_and_deletes_nothing() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    let objects = hub.ocm_object_count().await;

    hub.put_config("drClusterOperator:\n  s3SecretDistributionEnabled: [\n")
        .await;
    let message = hub
        .wait_condition("p1", "Validated", "False", "ConfigMapGetFailed")
        .await;
    assert!(
        message.contains("line"),
        "the parse error says where: {message}"
    );
    hub.quiet().await;
    assert_eq!(hub.ocm_object_count().await, objects);

    hub.put_config(&config().yaml()).await;
    hub.wait_condition("p1", "Validated", "True", "Succeeded")
        .await;
}

#[tokio::test]
async fn the_configmap_gets_the_backup_label_without_overwriting_one() {
    let hub = Hub::running().await;
    eventually("label added", || async {
        let cm = hub.configmap().await;
        (cm.labels().get(OCM_BACKUP_LABEL).map(String::as_str) == Some("ramen")).then_some(())
    })
    .await;
    let patch = json!({"metadata": {"labels": {OCM_BACKUP_LABEL: "resource"}}});
    hub.patch_configmap(&patch).await;
    hub.quiet().await;
    let cm = hub.configmap().await;
    assert_eq!(cm.labels()[OCM_BACKUP_LABEL], "resource");
}

#[tokio::test]
async fn no_secret_value_appears_in_any_object_the_operator_wrote() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2", "dr3"][..2])
        .await;
    // DRPolicy p1 (the only one) and every OCM object.
    let written = hub.written_objects().await;
    for object in written {
        for value in [support::ACCESS_KEY, support::SECRET_KEY] {
            let encoded = k8s_openapi::ByteString(value.as_bytes().to_vec());
            let encoded = serde_json::to_string(&encoded).unwrap();
            assert!(!object.contains(value), "{value} in {object}");
            assert!(
                !object.contains(encoded.trim_matches('"')),
                "base64 of {value} in {object}"
            );
        }
    }
}

#[tokio::test]
async fn deleting_a_policy_after_its_drcluster_leaks_nothing() {
    // Ramen bug B14: with the DRCluster gone its profile was unknown and its secret stayed distributed.
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.drclusters()
        .delete("dr1", &DeleteParams::default())
        .await
        .unwrap();
    hub.wait_condition("p1", "Validated", "False", "DRClusterNotFound")
        .await;
    hub.delete_policy("p1").await;
    eventually("everything released", || async {
        let gone = hub.policies().get_opt("p1").await.unwrap().is_none();
        (gone && hub.ocm_object_count().await == 0).then_some(())
    })
    .await;
    for secret in ["ramen-s3-secret-dr1", "ramen-s3-secret-dr2"] {
        assert!(!hub.secret_has_finalizer(secret).await, "{secret}");
    }
}

#[tokio::test]
async fn a_deleting_policy_with_only_a_foreign_finalizer_is_left_alone() {
    // Ramen bug B15: it tried to add its finalizer to a deleting object, forever.
    let hub = Hub::running().await;
    let mut policy = test_fixtures::drpolicy("foreign", &["dr1", "dr2"], "5m");
    policy.metadata.finalizers = Some(vec!["example.com/keep".into()]);
    let hub_policies = hub.policies();
    // Create and delete while the operator cannot have added its finalizer yet: stop it first.
    let mut hub = hub;
    hub.stop_operator().await;
    hub_policies
        .create(&Default::default(), &policy)
        .await
        .unwrap();
    hub_policies
        .delete("foreign", &DeleteParams::default())
        .await
        .unwrap();
    let errors_before = hub.reconciles("error");
    hub.start_operator().await;
    hub.quiet().await;
    let policy = hub.policies().get("foreign").await.unwrap();
    assert_eq!(policy.finalizers(), ["example.com/keep"]);
    assert_eq!(hub.reconciles("error"), errors_before);
    assert_eq!(hub.ocm_object_count().await, 0);
}

#[tokio::test]
async fn the_ramen_ops_namespace_is_created_once_with_the_created_by_label() {
    let mut hub = Hub::prepared(&config().ops_namespace("ramen-ops")).await;
    let mark = hub.server.hooks().mark();
    hub.start_operator().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.create_policy("p2", &["dr2", "dr3"]).await;
    hub.wait_distributed("p1").await;
    hub.wait_distributed("p2").await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(hub.client.clone());
    let ops = namespaces.get("ramen-ops").await.unwrap();
    assert_eq!(
        ops.metadata.labels.unwrap_or_default()["ramendr.openshift.io/created-by-ramen"],
        "true"
    );
    hub.quiet().await;
    let creates: Vec<String> = hub
        .writes_since(mark)
        .into_iter()
        .filter(|w| w.contains("namespaces"))
        .collect();
    // Two policies reconciled at once: one create (a create names no object in the request path).
    assert_eq!(creates, ["create namespaces "]);
}
