//! Relists (every watch re-lists after a 410 or a reconnect) cost what changed, nothing more.

mod support;

use support::{Hub, eventually};
use test_fixtures::hub_api::WATCHED_RESOURCES;

/// Every reconcile and distribution run the operator counted so far.
fn work(hub: &Hub) -> (u64, u64) {
    let sum = |vec: &prometheus::IntCounterVec| -> u64 {
        let families = {
            let registry = prometheus::Registry::new();
            registry.register(Box::new(vec.clone())).unwrap();
            registry.gather()
        };
        families
            .iter()
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    };
    (
        sum(&hub.metrics.reconciles),
        sum(&hub.metrics.distributions),
    )
}

/// Drops every watch with the history compacted, and waits until every kind the operator watches was
/// listed again (the test's clients send no LIST); returns the mark taken before the relist. An object no watch sees is written first, so that
/// every watch is behind the server's resourceVersion and must re-list.
async fn force_relist(hub: &Hub) -> test_apiserver::Mark {
    let unseen = k8s_openapi::api::core::v1::ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("unseen-by-the-operator".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    hub.configmaps()
        .create(&kube::api::PostParams::default(), &unseen)
        .await
        .unwrap();
    let mark = hub.server.hooks().mark();
    hub.server.compact_history();
    hub.server.close_watches();
    eventually("every watch re-listed", || async {
        let lists: std::collections::BTreeSet<String> = hub
            .server
            .hooks()
            .requests_since(mark)
            .iter()
            .filter(|r| r.verb == "list")
            .map(|r| r.resource.clone())
            .collect();
        let missing: Vec<&str> = WATCHED_RESOURCES
            .iter()
            .copied()
            .filter(|k| !lists.contains(*k))
            .collect();
        missing.is_empty().then_some(())
    })
    .await;
    mark
}

#[tokio::test]
async fn a_relist_with_no_change_reconciles_nothing_and_distributes_nothing() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.create_policy("p2", &["dr2", "dr3"]).await;
    hub.wait_distributed("p1").await;
    hub.wait_distributed("p2").await;
    hub.quiet().await;

    let before = work(&hub);
    let mark = force_relist(&hub).await;
    hub.quiet().await;
    assert_eq!(work(&hub), before, "(reconciles, distribution runs)");
    assert!(
        hub.writes_since(mark).is_empty(),
        "{:?}",
        hub.writes_since(mark)
    );
}

#[tokio::test]
async fn what_changed_during_a_watch_gap_is_acted_on_after_the_relist() {
    let hub = Hub::running().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.wait_distributed("p1").await;
    hub.create_drpc("app", "app-drpc", "p1").await;
    hub.delete_policy("p1").await;
    hub.wait_deletion_blocked("p1").await;
    hub.quiet().await;

    // The DRPC goes while every watch is down and its history is gone: only the relist can tell.
    hub.server.compact_history();
    hub.server.close_watches();
    hub.delete_drpc("app", "app-drpc").await;
    hub.wait_policy_gone("p1").await;
    eventually("its distribution is gone", || async {
        (hub.ocm_object_count().await == 0).then_some(())
    })
    .await;
}
