//! The fake OCM of `e2e::views` against the embedded API server, in-process (no hub needed): registered
//! ManagedClusters pass Ramen's instance check, and the view agent answers ManagedClusterViews as OCM's
//! agent would — readable with `drpolicy_api::view::read_result` — follows table changes, leaves silenced
//! clusters alone, and writes nothing when the answer stays the same.

use drpolicy_api::view::{ViewError, ViewTarget, read_result};
use drpolicy_api::{DRClusterConfig, DRPolicy, ManagedCluster, ManagedClusterView};
use e2e::eventually;
use e2e::views::{
    DEFAULT_PROVISIONER, ManagedClusterFixture, ManagedObjects, TableFile, ViewAgent,
    ViewAgentHandle, async_peers, ensure_crds, storage_class, sync_peers,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use peer_classes::{ClusterClasses, ReplicationClass, SnapshotClass, StorageClass, find_peers};
use serde_json::Value;
use std::time::Duration;
use test_apiserver::TestApiServer;

/// An embedded hub with the OCM CRDs and joined clusters `east` and `west`.
struct Hub {
    server: TestApiServer,
    client: Client,
}

impl Hub {
    async fn start() -> anyhow::Result<Hub> {
        let server = TestApiServer::start().await?;
        let client = server.client();
        ensure_crds(&client).await?;
        for (cluster, id) in [("east", "id-east"), ("west", "id-west")] {
            ManagedClusterFixture::joined(cluster, id)
                .ensure(&client)
                .await?;
        }
        Ok(Hub { server, client })
    }

    fn views(&self, cluster: &str) -> Api<ManagedClusterView> {
        Api::namespaced(self.client.clone(), cluster)
    }

    /// Creates Ramen's view of `object` on `cluster` and returns its name.
    async fn create_view(
        &self,
        target: ViewTarget,
        cluster: &str,
        object: &str,
    ) -> anyhow::Result<String> {
        let view = target.desired(cluster, object);
        self.views(cluster)
            .create(&PostParams::default(), &view)
            .await?;
        Ok(view.name_any())
    }

    /// Waits until view `name` of `cluster` is answered (has a condition), and reads it as `T`.
    async fn read<T: DeserializeOwned>(
        &self,
        cluster: &str,
        name: &str,
    ) -> anyhow::Result<Result<T, ViewError>> {
        eventually(&format!("view {cluster}/{name} answered"), || async {
            let view = self.views(cluster).get(name).await?;
            Ok(match read_result::<T>(&view) {
                Err(e) if e.is_unanswered() => None,
                answer => Some(answer),
            })
        })
        .await
    }

    /// Creates the view of `object` on `cluster` and reads its answer, which must be an object.
    async fn view<T: DeserializeOwned>(
        &self,
        target: ViewTarget,
        cluster: &str,
        object: &str,
    ) -> anyhow::Result<T> {
        let name = self.create_view(target, cluster, object).await?;
        Ok(self.read(cluster, &name).await??)
    }
}

fn agent(hub: &Hub, objects: &ManagedObjects) -> ViewAgentHandle {
    ViewAgent::new(hub.client.clone(), objects.clone()).spawn()
}

fn east_west_async() -> ManagedObjects {
    ManagedObjects::new(async_peers(
        &[("east", "ceph-east"), ("west", "ceph-west")],
        "rbd",
        "rep-1",
        "5m",
    ))
}

#[tokio::test]
async fn registered_clusters_are_joined_with_their_id_claim_and_namespace() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let clusters: Api<ManagedCluster> = Api::all(hub.client.clone());
    let east = clusters.get("east").await?;
    assert!(east.is_joined());
    assert_eq!(east.cluster_id(), Some("id-east"));
    Api::<Namespace>::all(hub.client.clone())
        .get("east")
        .await?;

    let version = east.resource_version();
    ManagedClusterFixture::joined("east", "id-east")
        .ensure(&hub.client)
        .await?;
    assert_eq!(
        clusters.get("east").await?.resource_version(),
        version,
        "registering again changes nothing"
    );

    let unjoined = ManagedClusterFixture::joined("late", "id-late")
        .not_joined()
        .without_claim()
        .ensure(&hub.client)
        .await?;
    assert!(!unjoined.is_joined());
    assert_eq!(unjoined.cluster_id(), None);
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_view_of_an_object_the_cluster_holds_is_answered_with_the_object() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let objects = east_west_async();
    let agent = agent(&hub, &objects);

    let config: DRClusterConfig = hub
        .view(ViewTarget::DRClusterConfig, "east", "east")
        .await?;
    let status = config.status.unwrap_or_default();
    assert_eq!(status.storage_classes(), ["rbd"]);
    assert_eq!(status.volume_replication_classes(), ["rbd-5m"]);
    assert_eq!(status.volume_snapshot_classes(), ["rbd-snap"]);

    let sc: StorageClass = hub.view(ViewTarget::StorageClass, "west", "rbd").await?;
    assert_eq!(sc.provisioner, DEFAULT_PROVISIONER);
    assert_eq!(
        sc.labels["ramendr.openshift.io/storageid"], "ceph-west",
        "each cluster answers from its own objects"
    );

    let view = hub.views("west").get("rbd-sc-mcv").await?;
    let condition = &view.status.unwrap().conditions.unwrap()[0];
    assert_eq!(
        (
            condition.type_.as_str(),
            condition.status.as_str(),
            condition.reason.as_str()
        ),
        ("Processing", "True", "GetResourceProcessing")
    );
    assert_eq!(condition.message, "Watching resources successfully");
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_view_of_a_missing_object_reads_as_not_found() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let objects = east_west_async();
    let agent = agent(&hub, &objects);

    let name = hub
        .create_view(ViewTarget::VolumeReplicationClass, "east", "gold-1m")
        .await?;
    let err = hub.read::<Value>("east", &name).await?.unwrap_err();
    assert_eq!(err, ViewError::NotFound);

    let view = hub.views("east").get(&name).await?;
    let condition = &view.status.unwrap().conditions.unwrap()[0];
    assert_eq!(condition.reason, "GetResourceFailed");
    assert_eq!(
        condition.message,
        "failed to get resource with err: volumereplicationclasses.replication.storage.openshift.io \"gold-1m\" not found"
    );
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_table_change_answers_the_views_again() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let objects = east_west_async();
    let agent = agent(&hub, &objects);
    let sc: StorageClass = hub.view(ViewTarget::StorageClass, "east", "rbd").await?;
    assert_eq!(sc.labels["ramendr.openshift.io/storageid"], "ceph-east");

    // east's StorageClass moves to another storage instance.
    objects.set_classes(
        "east",
        vec![storage_class("rbd", "array-1", DEFAULT_PROVISIONER)],
    );
    let relabelled = eventually("the view follows the new StorageClass", || async {
        let view = hub.views("east").get("rbd-sc-mcv").await?;
        let Ok(sc) = read_result::<StorageClass>(&view) else {
            return Ok(None);
        };
        Ok((sc.labels["ramendr.openshift.io/storageid"] == "array-1").then_some(sc))
    })
    .await?;
    assert_eq!(relabelled.provisioner, DEFAULT_PROVISIONER);
    let view = hub.views("east").get("rbd-sc-mcv").await?;
    let result = view.status.unwrap().result.unwrap();
    assert_eq!(
        result["metadata"]["labels"].as_object().unwrap().len(),
        1,
        "the result is replaced, not merged with the old one"
    );

    assert!(objects.remove("east", "storage.k8s.io", "StorageClass", "rbd"));
    eventually("the view reads NotFound once the class is gone", || async {
        let view = hub.views("east").get("rbd-sc-mcv").await?;
        Ok(read_result::<StorageClass>(&view)
            .err()
            .filter(ViewError::is_not_found))
    })
    .await?;

    objects.put(
        "east",
        storage_class("rbd", "ceph-east", DEFAULT_PROVISIONER),
    );
    eventually(
        "the view is answered again once the class is back",
        || async {
            let view = hub.views("east").get("rbd-sc-mcv").await?;
            Ok(read_result::<StorageClass>(&view).ok())
        },
    )
    .await?;
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn views_of_a_silenced_cluster_or_a_namespace_outside_the_table_keep_no_status()
-> anyhow::Result<()> {
    let hub = Hub::start().await?;
    ManagedClusterFixture::joined("north", "id-north")
        .ensure(&hub.client)
        .await?;
    let objects = east_west_async();
    let agent = ViewAgent::new(hub.client.clone(), objects.clone())
        .never_answer("west")
        .spawn();

    let west = hub
        .create_view(ViewTarget::DRClusterConfig, "west", "west")
        .await?;
    let north = hub
        .create_view(ViewTarget::DRClusterConfig, "north", "north")
        .await?;
    // The agent handles views in watch order: once east's is answered, west's and north's were seen.
    let _: DRClusterConfig = hub
        .view(ViewTarget::DRClusterConfig, "east", "east")
        .await?;
    objects.put(
        "west",
        storage_class("gold", "ceph-west", DEFAULT_PROVISIONER),
    );
    hub.server
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(30))
        .await?;

    assert_eq!(hub.views("west").get(&west).await?.status, None);
    assert_eq!(hub.views("north").get(&north).await?.status, None);
    let written: Vec<_> = hub
        .server
        .hooks()
        .requests()
        .into_iter()
        .filter(|r| r.resource == "managedclusterviews" && r.subresource == "status")
        .map(|r| r.namespace)
        .collect();
    assert_eq!(written, ["east"]);
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_unchanged_answer_is_not_written_again() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let objects = east_west_async();
    let agent = agent(&hub, &objects);
    let _: DRClusterConfig = hub
        .view(ViewTarget::DRClusterConfig, "east", "east")
        .await?;
    let sentinel = hub
        .create_view(ViewTarget::StorageClass, "west", "gold")
        .await?;
    assert!(hub.read::<Value>("west", &sentinel).await?.is_err());
    hub.server
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(30))
        .await?;
    let answered = hub.views("east").get("east-drcconfig-mcv").await?;

    // A table change wakes the agent for every view; only the sentinel's answer changes.
    let hooks = hub.server.hooks();
    let mark = hooks.mark();
    objects.put(
        "west",
        storage_class("gold", "ceph-west", DEFAULT_PROVISIONER),
    );
    eventually("the sentinel view answered anew", || async {
        let view = hub.views("west").get(&sentinel).await?;
        Ok(read_result::<StorageClass>(&view).ok())
    })
    .await?;
    hub.server
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(30))
        .await?;
    let writes: Vec<_> = hooks
        .writes_since(mark)
        .into_iter()
        .map(|r| format!("{} {}/{}", r.verb, r.namespace, r.name))
        .collect();
    assert_eq!(writes, [format!("patch west/{sentinel}")]);

    // A relist (the watch expired) also makes the agent look at every view, and changes nothing.
    let mark = hooks.mark();
    hub.server.expire_next_watch("managedclusterviews");
    hub.server.close_watches();
    eventually("the agent relisted and watches again", || async {
        let requests = hooks.requests_since(mark);
        let listed = requests
            .iter()
            .position(|r| r.verb == "list" && r.resource == "managedclusterviews");
        Ok(listed
            .filter(|&at| {
                requests[at..]
                    .iter()
                    .any(|r| r.verb == "watch" && r.resource == "managedclusterviews")
            })
            .map(|_| ()))
    })
    .await?;
    hub.server
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(30))
        .await?;
    assert!(
        hooks.writes_since(mark).is_empty(),
        "{:?}",
        hooks.writes_since(mark)
    );
    assert_eq!(
        hub.views("east")
            .get("east-drcconfig-mcv")
            .await?
            .resource_version(),
        answered.resource_version()
    );
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

/// Reads every class a cluster's DRClusterConfig lists through views, in Ramen's walk order (§4.4).
async fn cluster_classes(hub: &Hub, cluster: &str, id: &str) -> anyhow::Result<ClusterClasses> {
    let config: DRClusterConfig = hub
        .view(ViewTarget::DRClusterConfig, cluster, cluster)
        .await?;
    let status = config.status.unwrap_or_default();
    let mut classes = ClusterClasses::new(id);
    for name in status.storage_classes() {
        classes.storage_classes.push(
            hub.view::<StorageClass>(ViewTarget::StorageClass, cluster, name)
                .await?,
        );
    }
    for name in status.volume_snapshot_classes() {
        classes.volume_snapshot_classes.push(
            hub.view::<SnapshotClass>(ViewTarget::VolumeSnapshotClass, cluster, name)
                .await?,
        );
    }
    for name in status.volume_replication_classes() {
        classes.volume_replication_classes.push(
            hub.view::<ReplicationClass>(ViewTarget::VolumeReplicationClass, cluster, name)
                .await?,
        );
    }
    for name in status.volume_group_replication_classes() {
        classes.volume_group_replication_classes.push(
            hub.view::<ReplicationClass>(ViewTarget::VolumeGroupReplicationClass, cluster, name)
                .await?,
        );
    }
    Ok(classes)
}

#[tokio::test]
async fn the_example_table_gives_the_example_policy_async_peer_classes() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let file = TableFile::from_yaml(include_str!(
        "../../examples/hub/managed-clusters/views.yaml"
    ))?;
    for cluster in file.clusters() {
        ManagedClusterFixture::joined(cluster.as_str(), file.cluster_id(&cluster))
            .ensure(&hub.client)
            .await?;
    }
    let policy: DRPolicy =
        serde_saphyr::from_str(include_str!("../../examples/hub/40-drpolicy.yaml"))?;
    let agent = agent(&hub, &ManagedObjects::new(file.table()));

    let mut clusters = Vec::new();
    for cluster in &policy.spec.dr_clusters {
        let mc = Api::<ManagedCluster>::all(hub.client.clone())
            .get(cluster)
            .await?;
        let id = mc.cluster_id().unwrap_or_default().to_owned();
        clusters.push(cluster_classes(&hub, cluster, &id).await?);
    }
    let peers = find_peers(&clusters, &policy.spec.scheduling_interval);
    assert!(peers.sync.is_empty(), "{peers:?}");
    assert_eq!(peers.async_.len(), 1, "{peers:?}");
    let peer = &peers.async_[0];
    assert_eq!(peer.storage_class_name.as_deref(), Some("rbd"));
    assert_eq!(peer.replication_id.as_deref(), Some("rep-dr1-dr2"));
    assert_eq!(
        peer.storage_id.as_deref(),
        Some(&["ceph-dr1".to_owned(), "ceph-dr2".to_owned()][..])
    );
    assert_eq!(
        peer.cluster_ids.as_deref(),
        Some(
            &[
                file.cluster_id("dr1").to_owned(),
                file.cluster_id("dr2").to_owned()
            ][..]
        )
    );
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn sync_peers_pair_up_as_sync_peer_classes() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let objects = ManagedObjects::new(sync_peers(&["east", "west"], "metro", "array-1"));
    let agent = agent(&hub, &objects);
    let clusters = [
        cluster_classes(&hub, "east", "id-east").await?,
        cluster_classes(&hub, "west", "id-west").await?,
    ];
    let peers = find_peers(&clusters, "");
    assert!(peers.async_.is_empty(), "{peers:?}");
    assert_eq!(peers.sync.len(), 1, "{peers:?}");
    assert_eq!(peers.sync[0].storage_class_name.as_deref(), Some("metro"));
    assert_eq!(
        peers.sync[0].storage_id.as_deref(),
        Some(&["array-1".to_owned()][..])
    );
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn async_peers_pair_up_as_async_peer_classes_for_their_schedule() -> anyhow::Result<()> {
    let hub = Hub::start().await?;
    let agent = agent(&hub, &east_west_async());
    let clusters = [
        cluster_classes(&hub, "east", "id-east").await?,
        cluster_classes(&hub, "west", "id-west").await?,
    ];
    let peers = find_peers(&clusters, "5m");
    assert!(peers.sync.is_empty(), "{peers:?}");
    assert_eq!(peers.async_.len(), 1, "{peers:?}");
    assert_eq!(peers.async_[0].replication_id.as_deref(), Some("rep-1"));
    assert_eq!(
        peers.async_[0].cluster_ids.as_deref(),
        Some(&["id-east".to_owned(), "id-west".to_owned()][..])
    );
    let other_schedule = find_peers(&clusters, "1m");
    assert_eq!(
        other_schedule.async_[0]
            .replication_id
            .as_deref()
            .unwrap_or_default(),
        "",
        "another schedule: only the VolumeSnapshotClasses pair"
    );
    agent.stop().await?;
    hub.server.shutdown().await;
    Ok(())
}
