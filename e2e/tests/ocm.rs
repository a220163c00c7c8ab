//! The operator's Policies on a real OCM hub: OCM's governance-policy-propagator replicates them into
//! each cluster's namespace with their hub templates resolved to the hub Secret's current values, follows
//! a rotation, and removes them with the last DRPolicy. Runs where `make e2e-real` runs the propagator
//! (`E2E_OCM_PROPAGATOR=1`); elsewhere each test says it was skipped and passes.

use e2e::ocm::propagator_runs;
use e2e::{Hub, eventually, secret_of};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Rotated credentials; like the originals, they must never appear in anything the operator writes
/// or logs (`make e2e-real` greps its log for them).
const ROTATED_ACCESS_KEY: &str = "e2e-rotated-access-7a1e";
const ROTATED_SECRET_KEY: &str = "e2e-rotated-secret-93c2";

async fn hub() -> Option<(MutexGuard<'static, ()>, Hub)> {
    if !propagator_runs() {
        eprintln!("skipped: OCM's propagator does not run here (make e2e-real runs it)");
        return None;
    }
    let guard = SERIAL.lock().await;
    let hub = Hub::connect().await.expect("connect to the hub under test");
    hub.set_up().await.expect("set up the hub");
    Some((guard, hub))
}

/// Waits until the replicated Policy of hub Secret `secret` in every one of `clusters` delivers exactly
/// the hub Secret's current data, and until no other cluster of `all` has one.
async fn wait_delivered(
    hub: &Hub,
    secret: &str,
    clusters: &[&str],
    all: &[&str],
) -> anyhow::Result<()> {
    let want = hub.hub_secret_data(secret).await?;
    assert_eq!(want.len(), 2, "hub Secret {secret} has both S3 keys");
    for cluster in all {
        let expected = clusters.contains(cluster);
        eventually(
            &format!(
                "{cluster} receives {secret}: {expected} (with the hub Secret's current data)"
            ),
            || async {
                if expected {
                    let got = hub.delivered_data(cluster, secret).await?;
                    // Compared, never printed.
                    Ok((got.as_ref() == Some(&want)).then_some(()))
                } else {
                    Ok(hub
                        .replicated_policy(cluster, secret)
                        .await?
                        .is_none()
                        .then_some(()))
                }
            },
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn two_policies_sharing_a_secret_are_replicated_resolved_rotated_and_removed()
-> anyhow::Result<()> {
    let Some((_serial, hub)) = hub().await else {
        return Ok(());
    };
    let [dr1, dr2, dr3] = e2e::CLUSTERS;
    for cluster in e2e::CLUSTERS {
        hub.ensure_managed_cluster(cluster).await?;
    }
    let player = hub.play_placement();

    hub.create_policy("e2e-ocm-a", &[dr1, dr2]).await?;
    hub.create_policy("e2e-ocm-b", &[dr2, dr3]).await?;
    for policy in ["e2e-ocm-a", "e2e-ocm-b"] {
        hub.wait_condition(policy, "SecretsDistributed", "True", "Distributed")
            .await?;
    }
    let all = e2e::CLUSTERS;
    wait_delivered(&hub, &secret_of(dr1), &[dr1, dr2], &all).await?;
    wait_delivered(&hub, &secret_of(dr2), &[dr1, dr2, dr3], &all).await?;
    wait_delivered(&hub, &secret_of(dr3), &[dr2, dr3], &all).await?;

    // A rotation of the shared Secret reaches every cluster that receives it.
    let before = hub.hub_secret_data(&secret_of(dr2)).await?;
    let rotated: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": secret_of(dr2), "namespace": hub.namespace},
        "stringData": {"AWS_ACCESS_KEY_ID": ROTATED_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": ROTATED_SECRET_KEY}
    }))?;
    hub.secrets()
        .patch(
            &secret_of(dr2),
            &PatchParams::apply("ramen-e2e").force(),
            &Patch::Apply(&rotated),
        )
        .await?;
    assert_ne!(
        hub.hub_secret_data(&secret_of(dr2)).await?,
        before,
        "the rotation changed the hub Secret"
    );
    wait_delivered(&hub, &secret_of(dr2), &[dr1, dr2, dr3], &all).await?;

    // Deleting one policy withdraws what only it needed; deleting the last removes everything.
    hub.delete_policy("e2e-ocm-a").await?;
    wait_delivered(&hub, &secret_of(dr2), &[dr2, dr3], &all).await?;
    wait_delivered(&hub, &secret_of(dr3), &[dr2, dr3], &all).await?;
    wait_delivered(&hub, &secret_of(dr1), &[], &all).await?;
    hub.delete_policy("e2e-ocm-b").await?;
    for cluster in e2e::CLUSTERS {
        wait_delivered(&hub, &secret_of(cluster), &[], &all).await?;
        assert!(!hub.root_policy_exists(&secret_of(cluster)).await?);
    }
    player.abort();
    Ok(())
}

/// The example hub of `examples/hub/` (what `make run-local` shows), on a real OCM hub.
#[tokio::test]
async fn the_example_hub_is_replicated_and_resolved() -> anyhow::Result<()> {
    let Some((_serial, hub)) = hub().await else {
        return Ok(());
    };
    anyhow::ensure!(
        hub.namespace == "ramen-system",
        "the example hub lives in ramen-system, not {}",
        hub.namespace
    );
    let documents: Vec<Value> = [
        include_str!("../../examples/hub/10-configmap.yaml"),
        include_str!("../../examples/hub/20-secrets.yaml"),
        include_str!("../../examples/hub/30-drclusters.yaml"),
        include_str!("../../examples/hub/40-drpolicy.yaml"),
    ]
    .iter()
    .flat_map(|file| file.split("\n---\n"))
    .map(serde_saphyr::from_str)
    .collect::<Result<_, _>>()?;
    let apply = PatchParams::apply("ramen-e2e").force();
    let mut clusters = Vec::new();
    for doc in &documents {
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        match doc["kind"].as_str() {
            Some("ConfigMap") => {
                let cm: ConfigMap = serde_json::from_value(doc.clone())?;
                hub.configmaps()
                    .patch(name, &apply, &Patch::Apply(&cm))
                    .await?;
            }
            Some("Secret") => {
                let secret: Secret = serde_json::from_value(doc.clone())?;
                hub.secrets()
                    .patch(name, &apply, &Patch::Apply(&secret))
                    .await?;
            }
            Some("DRCluster") => {
                let cluster = serde_json::from_value(doc.clone())?;
                if hub.drclusters().get_opt(name).await?.is_none() {
                    hub.drclusters()
                        .create(&PostParams::default(), &cluster)
                        .await?;
                }
                hub.mark_drcluster_validated(name).await?;
                hub.ensure_managed_cluster(name).await?;
                clusters.push(name.to_owned());
            }
            Some("DRPolicy") => {
                let policy = serde_json::from_value(doc.clone())?;
                if hub.policies().get_opt(name).await?.is_none() {
                    hub.policies()
                        .create(&PostParams::default(), &policy)
                        .await?;
                }
            }
            other => anyhow::bail!("unexpected kind {other:?} in examples/hub"),
        }
    }
    let player = hub.play_placement();
    hub.wait_condition("dr-policy", "SecretsDistributed", "True", "Distributed")
        .await?;
    let targets: Vec<&str> = clusters.iter().map(String::as_str).collect();
    let secrets: BTreeSet<String> = clusters
        .iter()
        .map(|c| format!("ramen-s3-secret-{c}"))
        .collect();
    for secret in &secrets {
        wait_delivered(&hub, secret, &targets, &targets).await?;
    }

    hub.delete_policy("dr-policy").await?;
    for secret in &secrets {
        wait_delivered(&hub, secret, &[], &targets).await?;
    }
    player.abort();
    for cluster in &clusters {
        let _ = hub
            .drclusters()
            .delete(cluster, &DeleteParams::default())
            .await;
    }
    hub.put_config(&e2e::config_yaml()).await?;
    Ok(())
}
