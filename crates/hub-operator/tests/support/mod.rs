//! A hub on the embedded API server with the operator's controller running in-process. The objects
//! come from `test-fixtures`; this adds the operator, the OCM view agent, the request log and
//! unwrapping reads (a failed read fails the test).
#![allow(dead_code)]

use drpolicy_api::DRPolicy;
use e2e::views::{ClusterTable, ManagedObjects, ViewAgent, ViewAgentHandle};
use hub_operator::http::Readiness;
use hub_operator::liveness::Liveness;
use hub_operator::metrics::Metrics;
use hub_operator::{ControllerOptions, run_controller, shutdown_signal};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use std::future::Future;
use std::time::Duration;
use test_apiserver::TestApiServer;
use test_fixtures::seed::ensure_namespace;
use test_fixtures::wait::poll;
use test_fixtures::{
    CrdSet, HubApi, HubSeed, Patience, RamenConfigYaml, S3Credentials, S3Profile, SeedCluster, drpc,
};
use tokio::task::JoinHandle;

pub use test_fixtures::cluster_id;

pub const NS: &str = "ramen-system";
pub const ACCESS_KEY: &str = "AKIA-never-shown";
pub const SECRET_KEY: &str = "wJalr-never-shown";
/// The seeded clusters and their regions.
const CLUSTERS: [(&str, &str); 3] = [("dr1", "west"), ("dr2", "east"), ("dr3", "central")];

/// The values of every test Secret.
pub fn credentials() -> S3Credentials {
    S3Credentials::new(ACCESS_KEY, SECRET_KEY)
}

/// The S3 profile of test cluster `dri`: `minio-on-dri`, Secret `ramen-s3-secret-dr{secret}`, at
/// `endpoint` in `region`.
pub fn profile(i: usize, secret: usize, endpoint: &str, region: &str) -> S3Profile {
    S3Profile::new(
        format!("minio-on-dr{i}"),
        format!("ramen-s3-secret-dr{secret}"),
    )
    .store(endpoint, region)
    .secret_in(NS)
}

/// The seed's ConfigMap, trimmed to what matters, with a third profile.
pub fn config() -> RamenConfigYaml {
    RamenConfigYaml::hub([
        profile(1, 1, "http://192.168.124.246:30000", "us-west-1"),
        profile(2, 2, "http://192.168.124.174:30000", "us-east-1"),
        profile(3, 3, "http://192.168.124.175:30000", "us-east-2"),
    ])
    .max_concurrent_reconciles(50)
    .operator_namespace(NS)
}

/// Test cluster `name` in `region`: profile `minio-on-<name>`, a joined ManagedCluster.
fn seed_cluster(name: &str, region: &str) -> SeedCluster {
    SeedCluster::new(name, format!("minio-on-{name}"))
        .region(region)
        .joined(cluster_id(name))
}

pub struct Hub {
    pub server: TestApiServer,
    /// The hub's objects, as `test-fixtures` reads them (`hub.policies()`, `hub.client`, ...).
    api: HubApi,
    pub metrics: Metrics,
    pub readiness: Readiness,
    /// Given to the controller at each start.
    pub liveness: Liveness,
    /// What each managed cluster offers, as OCM's view agent answers it.
    pub managed: ManagedObjects,
    agent: Option<ViewAgentHandle>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl std::ops::Deref for Hub {
    type Target = HubApi;

    fn deref(&self) -> &HubApi {
        &self.api
    }
}

/// Polls `check` until it returns `Some`, for at most a generous minute.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let found = poll(Patience::IN_PROCESS, || {
        let checked = check();
        async move { Ok::<_, std::convert::Infallible>(checked.await) }
    });
    match found.await {
        Ok(Some(value)) => value,
        _ => panic!("timed out waiting for: {what}"),
    }
}

impl Hub {
    /// A hub with CRDs, the operator namespace, the ConfigMap, three S3 Secrets and validated
    /// DRClusters dr1, dr2 (region west/east) and dr3 (central) — the operator not yet running.
    pub async fn prepared(config: &RamenConfigYaml) -> Hub {
        Hub::prepare(config, true).await
    }

    /// [`Hub::running`] on a hub that does not serve ManagedClusterViews (no CRD, no agent).
    pub async fn running_without_views() -> Hub {
        let mut hub = Hub::prepare(&config(), false).await;
        hub.start_operator().await;
        hub
    }

    /// Restarts the view agent so that it never answers the views of `cluster`.
    pub fn silence_views(&mut self, cluster: &str) {
        self.agent = Some(
            ViewAgent::new(self.client.clone(), self.managed.clone())
                .never_answer(cluster)
                .spawn(),
        );
    }

    async fn prepare(config: &RamenConfigYaml, views: bool) -> Hub {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let server = TestApiServer::start().await.unwrap();
        let managed = ManagedObjects::default();
        // No DRClusterConfig of the seeded clusters lists classes yet.
        for (cluster, _) in CLUSTERS {
            managed.set_classes(cluster, Vec::new());
        }
        let crds = if views {
            CrdSet::all()
        } else {
            CrdSet::all().without_views()
        };
        let api = HubSeed::new(NS, credentials())
            .crds(crds)
            .config(config)
            .secrets(CLUSTERS.map(|(c, _)| format!("ramen-s3-secret-{c}")))
            .clusters(CLUSTERS.map(|(name, region)| seed_cluster(name, region)))
            .apply(&server.client())
            .await
            .unwrap();
        let agent = views.then(|| ViewAgent::new(api.client.clone(), managed.clone()).spawn());
        Hub {
            server,
            api,
            metrics: Metrics::new(),
            readiness: Readiness::default(),
            liveness: Liveness::default(),
            managed,
            agent,
            stop: None,
            task: None,
        }
    }

    /// [`Hub::prepared`] with the operator running and its caches synced.
    pub async fn running() -> Hub {
        let mut hub = Hub::prepared(&config()).await;
        hub.start_operator().await;
        hub
    }

    pub async fn start_operator(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let options = ControllerOptions {
            namespace: NS.into(),
            concurrency: 4,
            identity: "test".into(),
            metrics: self.metrics.clone(),
            readiness: self.readiness.clone(),
            liveness: self.liveness.clone(),
        };
        let shutdown = shutdown_signal(async move {
            let _ = rx.await;
        });
        self.task = Some(tokio::spawn(run_controller(
            self.client.clone(),
            options,
            shutdown,
        )));
        self.stop = Some(tx);
        let readiness = self.readiness.clone();
        eventually("operator ready", || {
            let ready = readiness.is_ready();
            async move { ready.then_some(()) }
        })
        .await;
    }

    pub async fn stop_operator(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Replaces the RamenConfig document of the operator ConfigMap.
    pub async fn put_config(&self, yaml: &str) {
        self.api.put_config(yaml).await.unwrap();
    }

    /// Creates S3 Secret `name` holding [`credentials`].
    pub async fn create_secret(&self, name: &str) {
        self.api.apply_secret(name, &credentials()).await.unwrap();
    }

    /// Merge-patches Secret `name` with `patch`; the Secret written.
    pub async fn patch_secret(&self, name: &str, patch: &serde_json::Value) -> Secret {
        self.secrets()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap()
    }

    /// Merge-patches the operator ConfigMap with `patch`.
    pub async fn patch_configmap(&self, patch: &serde_json::Value) {
        self.configmaps()
            .patch(
                drpolicy_api::names::HUB_OPERATOR_CONFIGMAP,
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await
            .unwrap();
    }

    /// The operator ConfigMap.
    pub async fn configmap(&self) -> k8s_openapi::api::core::v1::ConfigMap {
        self.configmaps()
            .get(drpolicy_api::names::HUB_OPERATOR_CONFIGMAP)
            .await
            .unwrap()
    }

    /// Adds DRCluster `name` in `region` with a joined ManagedCluster whose DRClusterConfig lists no
    /// classes, validated or not.
    pub async fn create_drcluster(&self, name: &str, region: &str, validated: bool) {
        self.managed.set_classes(name, Vec::new());
        let cluster = seed_cluster(name, region);
        let cluster = if validated {
            cluster
        } else {
            cluster.unvalidated()
        };
        cluster.ensure(&self.client).await.unwrap();
    }

    pub async fn create_policy(&self, name: &str, clusters: &[&str]) -> DRPolicy {
        self.api.create_policy(name, clusters).await.unwrap()
    }

    /// Creates policy `name` over `clusters` and waits until it has distributed its secrets.
    pub async fn create_distributed(&self, name: &str, clusters: &[&str]) {
        self.create_policy(name, clusters).await;
        self.wait_distributed(name).await;
    }

    /// Makes the view agent answer from `table` for each cluster it lists.
    pub fn serve(&self, table: ClusterTable) {
        for (cluster, objects) in table {
            self.managed.set_cluster(&cluster, objects);
        }
    }

    pub async fn create_drpc(&self, namespace: &str, name: &str, policy: &str) {
        ensure_namespace(&self.client, namespace, test_fixtures::seed::FIELD_MANAGER)
            .await
            .unwrap();
        self.drpcs(namespace)
            .create(&PostParams::default(), &drpc(namespace, name, policy))
            .await
            .unwrap();
    }

    /// The condition `type_` of policy `name` as (status, reason, message).
    pub async fn condition(&self, name: &str, type_: &str) -> Option<(String, String, String)> {
        self.api.condition(name, type_).await.unwrap()
    }

    /// Waits until policy `name` has condition `type_` with `status` and `reason`; returns its message.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> String {
        self.api
            .wait_condition(name, type_, status, reason)
            .await
            .unwrap()
    }

    /// Waits until policy `name` has distributed its secrets.
    pub async fn wait_distributed(&self, name: &str) {
        self.wait_condition(name, "SecretsDistributed", "True", "Distributed")
            .await;
    }

    /// Waits until DRPolicy `name` is gone.
    pub async fn wait_policy_gone(&self, name: &str) {
        self.api.wait_policy_gone(name).await.unwrap()
    }

    pub async fn rule_clusters(&self, secret: &str) -> Option<Vec<String>> {
        self.api.rule_clusters(secret).await.unwrap()
    }

    pub async fn wait_rule(&self, secret: &str, clusters: &[&str]) {
        self.api.wait_rule(secret, Some(clusters)).await.unwrap()
    }

    /// The names of the OCM objects of the operator namespace, sorted.
    pub async fn ocm_object_names(&self) -> Vec<String> {
        self.api.ocm_object_names().await.unwrap()
    }

    pub async fn ocm_object_count(&self) -> usize {
        self.ocm_object_names().await.len()
    }

    /// Every DRPolicy and OCM object of the hub, as JSON text.
    pub async fn written_objects(&self) -> Vec<String> {
        self.api.written_objects().await.unwrap()
    }

    pub async fn secret_has_finalizer(&self, name: &str) -> bool {
        self.api.secret_has_finalizer(name).await.unwrap()
    }

    /// The finalizers of Secret `name`, if it exists.
    pub async fn secret_finalizers(&self, name: &str) -> Option<Vec<String>> {
        self.api.secret_finalizers(name).await.unwrap()
    }

    /// The finalizers of DRPolicy `name`.
    pub async fn policy_finalizers(&self, name: &str) -> Vec<String> {
        let policy = self.policies().get(name).await.unwrap();
        policy.metadata.finalizers.unwrap_or_default()
    }

    /// Waits for the operator to go quiet (no request for a while).
    pub async fn quiet(&self) {
        self.server
            .wait_quiet(Duration::from_millis(500), Duration::from_secs(60))
            .await
            .unwrap();
    }

    pub async fn delete_policy(&self, name: &str) {
        self.api.delete_policy(name).await.unwrap()
    }

    pub async fn delete_drpc(&self, namespace: &str, name: &str) {
        self.drpcs(namespace)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits until policy `name` reports its deletion blocked by DRPCs; returns the message.
    pub async fn wait_deletion_blocked(&self, name: &str) -> String {
        self.wait_condition(name, "DeletionBlocked", "True", "DRPlacementControlsExist")
            .await
    }

    /// Protects an application `app/app-drpc` with `policy`, then deletes `policy`; the message of
    /// its blocked deletion, which names the DRPC.
    pub async fn delete_protecting_policy(&self, policy: &str) -> String {
        self.create_drpc("app", "app-drpc", policy).await;
        self.delete_policy(policy).await;
        let message = self.wait_deletion_blocked(policy).await;
        assert!(message.contains("app/app-drpc"), "{message}");
        message
    }

    /// Deletes the DRPC of [`Hub::delete_protecting_policy`]: `policy` goes, and every OCM object with
    /// it.
    pub async fn unblock_deletion(&self, policy: &str) {
        self.delete_drpc("app", "app-drpc").await;
        self.wait_policy_gone(policy).await;
        assert_eq!(self.ocm_object_count().await, 0);
    }

    /// The writes since `mark`, as `verb resource name`.
    pub fn writes_since(&self, mark: test_apiserver::Mark) -> Vec<String> {
        self.server
            .hooks()
            .writes_since(mark)
            .iter()
            .map(|r| format!("{} {} {}", r.verb, r.resource, r.name))
            .collect()
    }

    pub fn reconciles(&self, result: &str) -> u64 {
        self.metrics.reconciles.with_label_values(&[result]).get()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client for the hub's server built the way the operator builds its own (timeouts, keepalive,
/// the write fence's last check), with `timeouts`.
pub fn operator_client_with(hub: &Hub, timeouts: hub_operator::client::Timeouts) -> Client {
    let uri: http::Uri = hub.server.url().parse().unwrap();
    hub_operator::client::build(kube::Config::new(uri), timeouts).unwrap()
}

/// [`operator_client_with`] the default timeouts.
pub fn operator_client(hub: &Hub) -> Client {
    operator_client_with(hub, hub_operator::client::Timeouts::default())
}

/// Runs an operator process' main loop (`hub_operator::run`) on `client` until the sender is used or
/// dropped.
pub fn spawn_run(
    client: Client,
    settings: hub_operator::settings::Settings,
    metrics: Metrics,
) -> (
    tokio::sync::oneshot::Sender<()>,
    JoinHandle<anyhow::Result<()>>,
) {
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = shutdown_signal(async move {
        let _ = rx.await;
    });
    let task = tokio::spawn(hub_operator::run(client, settings, metrics, shutdown));
    (stop, task)
}

/// Whether a logged request came from an operator (its controller or its lease requests), as
/// opposed to the test's own clients, which send no User-Agent.
pub fn from_operator(record: &test_apiserver::RequestRecord) -> bool {
    record
        .user_agent
        .as_deref()
        .is_some_and(|agent| agent.starts_with("ramen-hub-operator/"))
}

/// Whether a logged request is one of an operator's lease requests.
pub fn is_lease_request(record: &test_apiserver::RequestRecord) -> bool {
    record
        .user_agent
        .as_deref()
        .is_some_and(|agent| agent.ends_with(" leader-election"))
}

/// The settings of an operator process `identity` on the hub (probes and metrics on free ports),
/// resolved as the binary resolves its flags.
pub fn operator_settings(identity: &str, leader_elect: bool) -> hub_operator::settings::Settings {
    let args = hub_operator::cli::RunArgs {
        namespace: Some(NS.into()),
        health_probe_bind_address: Some("127.0.0.1:0".into()),
        metrics_bind_address: Some("127.0.0.1:0".into()),
        leader_elect: Some(leader_elect),
        identity: Some(identity.into()),
        max_concurrent_reconciles: Some(2),
        ..Default::default()
    };
    hub_operator::settings::resolve(&args, None).unwrap()
}

/// `GET path` over plain HTTP/1.1: the status and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
