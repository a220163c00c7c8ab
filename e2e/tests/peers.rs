//! Peer classes end to end: the operator reads each cluster's classes through ManagedClusterViews, which
//! the scripts' `view-agent` answers from e2e/tables/e2e.yaml, and writes `status.sync.peerClasses`,
//! `status.async.peerClasses` and `PeerClassesComputed`. Each scenario uses clusters of its own from the
//! table, so that no two policies share a cluster (a shared cluster of a sync pair is a conflict).

use drpolicy_api::PeerClass;
use drpolicy_api::view::{ManagedClusterView, ViewTarget};
use e2e::views::drcluster_config;
use e2e::{CLUSTERS, Hub, SILENT_CLUSTER, eventually, secret_of, table};
use kube::api::Api;
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

const PEER_CLASSES_COMPUTED: &str = "PeerClassesComputed";

async fn hub() -> (MutexGuard<'static, ()>, Hub) {
    let guard = SERIAL.lock().await;
    let hub = Hub::connect().await.expect("connect to the hub under test");
    hub.set_up().await.expect("set up the hub");
    (guard, hub)
}

/// Registers `clusters` (joined, with their table IDs) and their validated DRClusters.
async fn ensure_clusters(hub: &Hub, clusters: &[&str]) -> anyhow::Result<()> {
    for cluster in clusters {
        hub.ensure_joined(cluster).await?;
        hub.ensure_drcluster(cluster).await?;
    }
    Ok(())
}

/// The cluster ID the table gives `cluster`.
fn id(cluster: &str) -> String {
    table()
        .expect("the e2e table parses")
        .cluster_id(cluster)
        .to_owned()
}

/// `status.sync.peerClasses` and `status.async.peerClasses` of policy `name` (empty when absent).
async fn peer_classes(hub: &Hub, name: &str) -> anyhow::Result<(Vec<PeerClass>, Vec<PeerClass>)> {
    let status = hub.policies().get(name).await?.status.unwrap_or_default();
    let list = |side: Option<drpolicy_api::PeerClassesStatus>| {
        side.and_then(|s| s.peer_classes).unwrap_or_default()
    };
    Ok((list(status.sync), list(status.async_)))
}

/// Creates policy `name` on `clusters`, waits until it is validated and its peer classes are computed,
/// and returns them (sync, async).
async fn computed_peer_classes(
    hub: &Hub,
    name: &str,
    clusters: &[&str],
) -> anyhow::Result<(Vec<PeerClass>, Vec<PeerClass>)> {
    ensure_clusters(hub, clusters).await?;
    hub.create_policy(name, clusters).await?;
    hub.wait_condition(name, "Validated", "True", "Succeeded")
        .await?;
    hub.wait_condition(name, PEER_CLASSES_COMPUTED, "True", "Computed")
        .await?;
    peer_classes(hub, name).await
}

#[tokio::test]
async fn clusters_sharing_one_storage_are_sync_peers() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    let clusters = ["e2e-sync-a", "e2e-sync-b"];
    let (sync, async_) = computed_peer_classes(&hub, "e2e-peers-sync", &clusters).await?;
    assert_eq!(
        sync,
        [PeerClass {
            storage_class_name: Some("metro".into()),
            storage_id: Some(vec!["array-e2e-metro".into()]),
            cluster_ids: Some(vec![id(clusters[0]), id(clusters[1])]),
            ..Default::default()
        }]
    );
    assert_eq!(async_, []);
    hub.delete_policy("e2e-peers-sync").await?;
    Ok(())
}

#[tokio::test]
async fn clusters_replicating_on_the_policy_schedule_are_async_peers() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    let clusters = ["e2e-async-a", "e2e-async-b"];
    let (sync, async_) = computed_peer_classes(&hub, "e2e-peers-async", &clusters).await?;
    assert_eq!(sync, []);
    assert_eq!(
        async_,
        [PeerClass {
            storage_class_name: Some("regional".into()),
            storage_id: Some(vec!["ceph-e2e-async-a".into(), "ceph-e2e-async-b".into()]),
            cluster_ids: Some(vec![id(clusters[0]), id(clusters[1])]),
            replication_id: Some("rep-e2e-regional".into()),
            ..Default::default()
        }]
    );
    hub.delete_policy("e2e-peers-async").await?;
    Ok(())
}

#[tokio::test]
async fn clusters_whose_classes_do_not_pair_have_no_peer_classes() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    // Both replicate `rbd`, but every 1h, not on the policy's 5m, and have no snapshot class.
    let (sync, async_) =
        computed_peer_classes(&hub, "e2e-peers-none", &["e2e-lone-a", "e2e-lone-b"]).await?;
    assert_eq!(sync, []);
    assert_eq!(async_, []);
    hub.delete_policy("e2e-peers-none").await?;
    Ok(())
}

#[tokio::test]
async fn an_unanswered_view_waits_without_holding_up_validation_or_secrets() -> anyhow::Result<()> {
    let (_serial, hub) = hub().await;
    let dr1 = CLUSTERS[0];
    let clusters = [dr1, SILENT_CLUSTER];
    ensure_clusters(&hub, &clusters).await?;
    hub.create_policy("e2e-peers-silent", &clusters).await?;
    hub.wait_condition("e2e-peers-silent", "Validated", "True", "Succeeded")
        .await?;
    hub.wait_condition(
        "e2e-peers-silent",
        "SecretsDistributed",
        "True",
        "Distributed",
    )
    .await?;
    for cluster in clusters {
        hub.wait_rule(&secret_of(cluster), Some(&clusters)).await?;
    }
    // e2e-dr1's views are answered; the walk ends up waiting for e2e-silent's DRClusterConfig.
    let view = ViewTarget::DRClusterConfig.view_name(SILENT_CLUSTER);
    let named = format!("ManagedClusterView {SILENT_CLUSTER}/{view}:");
    eventually(
        "PeerClassesComputed waits for e2e-silent's view",
        || async {
            let policy = hub.policies().get("e2e-peers-silent").await?;
            Ok(policy
                .condition(PEER_CLASSES_COMPUTED)
                .filter(|c| c.status == "False" && c.reason == "WaitingForViews")
                .filter(|c| c.message.contains(&named))
                .map(|_| ()))
        },
    )
    .await?;
    let views: Api<ManagedClusterView> = Api::namespaced(hub.client.clone(), SILENT_CLUSTER);
    let unanswered = views.get(&view).await?;
    assert!(
        unanswered.status.and_then(|s| s.conditions).is_none(),
        "nobody answered {SILENT_CLUSTER}/{view}"
    );
    assert_eq!(
        peer_classes(&hub, "e2e-peers-silent").await?,
        (vec![], vec![])
    );
    let policy = hub.policies().get("e2e-peers-silent").await?;
    assert!(policy.is_validated());
    hub.delete_policy("e2e-peers-silent").await?;
    Ok(())
}

/// Needs no hub: the table the scripts' view agent answers from names every cluster the suite uses, and
/// each DRClusterConfig lists its cluster's labelled classes under the cluster's ID, as Ramen's DR cluster
/// operator would write it.
#[test]
fn the_e2e_table_names_every_cluster_with_a_consistent_drcluster_config() -> anyhow::Result<()> {
    let table = table()?;
    let named = table.clusters();
    for cluster in CLUSTERS.iter().chain(&[
        SILENT_CLUSTER,
        "e2e-sync-a",
        "e2e-sync-b",
        "e2e-async-a",
        "e2e-async-b",
        "e2e-lone-a",
        "e2e-lone-b",
    ]) {
        assert!(named.contains(*cluster), "the table names {cluster}");
        assert_ne!(table.cluster_id(cluster), *cluster, "{cluster} has an ID");
    }
    for (cluster, objects) in &table.objects {
        let config: &Value = objects
            .iter()
            .find(|o| o["kind"] == "DRClusterConfig")
            .unwrap_or_else(|| panic!("{cluster} has a DRClusterConfig"));
        assert_eq!(config["metadata"]["name"], cluster.as_str());
        assert_eq!(config["spec"]["clusterID"], table.cluster_id(cluster));
        assert_eq!(
            config["status"],
            drcluster_config(cluster, objects)["status"],
            "{cluster}'s DRClusterConfig lists its labelled classes"
        );
    }
    Ok(())
}
