//! The end-to-end scenarios. They share one hub and one operator, so they run one at a time.

use drpolicy_api::DRPlacementControl;
use drpolicy_api::names::{DRPOLICY_FINALIZER, OCM_BACKUP_LABEL, POLICY_TRIGGER_ANNOTATION};
use e2e::{ACCESS_KEY, Hub, SECRET_KEY, config_yaml, eventually, secret_of};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

async fn hub() -> (MutexGuard<'static, ()>, Hub) {
    let guard = SERIAL.lock().await;
    let hub = Hub::connect().await.expect("connect to the hub under test");
    hub.set_up().await.expect("set up the hub");
    (guard, hub)
}

const DR1: &str = e2e::CLUSTERS[0];
const DR2: &str = e2e::CLUSTERS[1];
const DR3: &str = e2e::CLUSTERS[2];

#[tokio::test]
async fn create_share_and_delete_policies() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-first", &[DR1, DR2]).await?;
    assert_eq!(
        hub.wait_condition("e2e-first", "Validated", "True", "Succeeded")
            .await?,
        "drpolicy validated"
    );
    hub.wait_condition("e2e-first", "SecretsDistributed", "True", "Distributed")
        .await?;
    let policy = hub.policies().get("e2e-first").await?;
    assert_eq!(policy.labels()[OCM_BACKUP_LABEL], "ramen");
    assert!(policy.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER));
    for cluster in [DR1, DR2] {
        hub.wait_rule(&secret_of(cluster), Some(&[DR1, DR2]))
            .await?;
        assert!(hub.secret_has_finalizer(&secret_of(cluster)).await?);
        hub.ocm_policies().get(&secret_of(cluster)).await?;
        hub.bindings()
            .get(&format!("plbinding-{}", secret_of(cluster)))
            .await?;
    }

    hub.create_policy("e2e-second", &[DR2, DR3]).await?;
    hub.wait_condition("e2e-second", "SecretsDistributed", "True", "Distributed")
        .await?;
    hub.wait_rule(&secret_of(DR2), Some(&[DR1, DR2, DR3]))
        .await?;

    hub.delete_policy("e2e-first").await?;
    hub.wait_rule(&secret_of(DR2), Some(&[DR2, DR3])).await?;
    hub.wait_rule(&secret_of(DR1), None).await?;
    assert!(!hub.secret_has_finalizer(&secret_of(DR1)).await?);

    hub.delete_policy("e2e-second").await?;
    for cluster in e2e::CLUSTERS {
        hub.wait_rule(&secret_of(cluster), None).await?;
        eventually("secret finalizer released", || async {
            Ok((!hub.secret_has_finalizer(&secret_of(cluster)).await?).then_some(()))
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_drpc_blocks_deletion_until_it_is_gone() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-used", &[DR1, DR2]).await?;
    hub.wait_condition("e2e-used", "SecretsDistributed", "True", "Distributed")
        .await?;
    let drpcs: Api<DRPlacementControl> = Api::namespaced(hub.client.clone(), &hub.namespace);
    let drpc: DRPlacementControl = serde_json::from_value(json!({
        "apiVersion": "ramendr.openshift.io/v1alpha1", "kind": "DRPlacementControl",
        "metadata": {"name": "e2e-app", "namespace": hub.namespace},
        "spec": {"drPolicyRef": {"name": "e2e-used"}, "placementRef": {"name": "app"},
                 "pvcSelector": {"matchLabels": {"app": "e2e"}}}
    }))?;
    drpcs.create(&PostParams::default(), &drpc).await?;
    hub.policies()
        .delete("e2e-used", &DeleteParams::default())
        .await?;
    let message = hub
        .wait_condition(
            "e2e-used",
            "DeletionBlocked",
            "True",
            "DRPlacementControlsExist",
        )
        .await?;
    assert!(message.contains("e2e-app"), "{message}");
    assert!(hub.rule_clusters(&secret_of(DR1)).await?.is_some());

    drpcs.delete("e2e-app", &DeleteParams::default()).await?;
    hub.delete_policy("e2e-used").await?;
    hub.wait_rule(&secret_of(DR1), None).await?;
    Ok(())
}

#[tokio::test]
async fn a_policy_waits_for_late_drclusters() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    let _ = hub
        .drclusters()
        .delete("e2e-late", &DeleteParams::default())
        .await;
    hub.create_policy("e2e-early", &[DR1, "e2e-late"]).await?;
    let message = hub
        .wait_condition("e2e-early", "Validated", "False", "DRClusterNotFound")
        .await?;
    assert_eq!(
        message,
        format!("failed to find DRClusters specified in policy ([{DR1} e2e-late])")
    );
    hub.ensure_drcluster("e2e-late").await?;
    hub.wait_condition("e2e-early", "Validated", "True", "Succeeded")
        .await?;
    // The late cluster's profile is not configured: reported, the known secret still delivered.
    let message = hub
        .wait_condition(
            "e2e-early",
            "SecretsDistributed",
            "False",
            "SecretsUnavailable",
        )
        .await?;
    assert!(
        message.contains("missing profile name (minio-on-e2e-late)"),
        "{message}"
    );
    hub.wait_rule(&secret_of(DR1), Some(&[DR1, "e2e-late"]))
        .await?;
    hub.delete_policy("e2e-early").await?;
    hub.drclusters()
        .delete("e2e-late", &DeleteParams::default())
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_rotated_secret_moves_the_policy_trigger() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-rotate", &[DR1, DR2]).await?;
    hub.wait_condition("e2e-rotate", "SecretsDistributed", "True", "Distributed")
        .await?;
    let patch = json!({"stringData": {"AWS_SECRET_ACCESS_KEY": SECRET_KEY}, "metadata": {"annotations": {"rotated": "now"}}});
    let rotated = hub
        .secrets()
        .patch(
            &secret_of(DR1),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    let version = rotated.resource_version();
    eventually("trigger follows the secret", || async {
        let policy = hub.ocm_policies().get(&secret_of(DR1)).await?;
        Ok((policy.annotations().get(POLICY_TRIGGER_ANNOTATION) == version.as_ref()).then_some(()))
    })
    .await?;
    hub.delete_policy("e2e-rotate").await?;
    Ok(())
}

#[tokio::test]
async fn drifted_ocm_objects_are_repaired() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-drift", &[DR1, DR2]).await?;
    hub.wait_condition("e2e-drift", "SecretsDistributed", "True", "Distributed")
        .await?;
    hub.wait_rule(&secret_of(DR2), Some(&[DR1, DR2])).await?;
    hub.ocm_policies()
        .delete(&secret_of(DR1), &DeleteParams::default())
        .await?;
    let edit = json!({"spec": {"clusters": [{"name": "intruder"}]}});
    hub.rules()
        .patch(
            &format!("plrule-{}", secret_of(DR2)),
            &PatchParams::default(),
            &Patch::Merge(&edit),
        )
        .await?;
    hub.wait_rule(&secret_of(DR2), Some(&[DR1, DR2])).await?;
    eventually("policy restored", || async {
        Ok(hub
            .ocm_policies()
            .get_opt(&secret_of(DR1))
            .await?
            .map(|_| ()))
    })
    .await?;
    hub.delete_policy("e2e-drift").await?;
    Ok(())
}

#[tokio::test]
async fn a_broken_config_is_reported_and_deletes_nothing() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-config", &[DR1, DR2]).await?;
    hub.wait_condition("e2e-config", "SecretsDistributed", "True", "Distributed")
        .await?;
    hub.put_config("drClusterOperator:\n  s3SecretDistributionEnabled: [\n")
        .await?;
    let message = hub
        .wait_condition("e2e-config", "Validated", "False", "ConfigMapGetFailed")
        .await?;
    assert!(message.contains("line"), "{message}");
    assert!(hub.rule_clusters(&secret_of(DR1)).await?.is_some());
    hub.put_config(&config_yaml()).await?;
    hub.wait_condition("e2e-config", "Validated", "True", "Succeeded")
        .await?;
    hub.delete_policy("e2e-config").await?;
    Ok(())
}

#[tokio::test]
async fn metrics_pass_promtool_and_no_secret_value_leaks() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    hub.create_policy("e2e-leak", &[DR1, DR2]).await?;
    hub.wait_condition("e2e-leak", "SecretsDistributed", "True", "Distributed")
        .await?;
    // The values in clear and base64-encoded, as a Secret's `data` holds them.
    let mut needles = vec![ACCESS_KEY.to_owned(), SECRET_KEY.to_owned()];
    for value in [ACCESS_KEY, SECRET_KEY] {
        let encoded = serde_json::to_value(k8s_openapi::ByteString(value.as_bytes().to_vec()))?;
        let encoded = encoded.as_str().unwrap_or_default();
        anyhow::ensure!(
            !encoded.is_empty(),
            "a ByteString serializes to a base64 string"
        );
        needles.push(encoded.to_owned());
    }
    let leaked = |text: &str| needles.iter().find(|n| text.contains(n.as_str())).cloned();
    for object in hub.written_objects().await? {
        assert_eq!(leaked(&object), None, "secret value in {object}");
    }
    if let Ok(path) = std::env::var("E2E_OPERATOR_LOG") {
        let log = std::fs::read_to_string(&path)?;
        assert!(!log.is_empty(), "the operator log {path} is empty");
        assert_eq!(leaked(&log), None, "secret value in the operator log");
    } else {
        eprintln!("E2E_OPERATOR_LOG not set: the operator log is not checked");
    }
    if let Ok(url) = std::env::var("E2E_METRICS_URL") {
        let body = e2e::metrics::fetch(&url).await?;
        assert!(
            body.contains("ramen_policy_schedule_interval_seconds{policyname=\"e2e-leak\"} 300"),
            "{body}"
        );
        e2e::metrics::promtool_check(&body)?;
    } else {
        eprintln!("E2E_METRICS_URL not set: /metrics is not checked");
    }
    hub.delete_policy("e2e-leak").await?;
    Ok(())
}
