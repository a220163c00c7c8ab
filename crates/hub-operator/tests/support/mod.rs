//! A hub on the embedded API server with the operator's controller running in-process.
#![allow(dead_code)]

use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, RAMEN_CONFIG_KEY};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRClusterSpec, DRPlacementControl, DRPolicy, DRPolicySpec};
use e2e::views::{ManagedClusterFixture, ManagedObjects, ViewAgent, ViewAgentHandle};
use hub_operator::http::Readiness;
use hub_operator::liveness::Liveness;
use hub_operator::metrics::Metrics;
use hub_operator::{ControllerOptions, run_controller, shutdown_signal};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use test_apiserver::TestApiServer;
use tokio::task::JoinHandle;

pub const NS: &str = "ramen-system";
pub const ACCESS_KEY: &str = "AKIA-never-shown";
pub const SECRET_KEY: &str = "wJalr-never-shown";

/// The seed's ConfigMap, trimmed to what matters, with a third profile.
pub const CONFIG: &str = "\
apiVersion: ramendr.openshift.io/v1alpha1
kind: RamenConfig
ramenControllerType: dr-hub
maxConcurrentReconciles: 50
drClusterOperator:
  deploymentAutomationEnabled: true
  s3SecretDistributionEnabled: true
  namespaceName: ramen-system
s3StoreProfiles:
- s3ProfileName: minio-on-dr1
  s3Bucket: bucket
  s3CompatibleEndpoint: http://192.168.124.246:30000
  s3Region: us-west-1
  s3SecretRef: {name: ramen-s3-secret-dr1, namespace: ramen-system}
- s3ProfileName: minio-on-dr2
  s3Bucket: bucket
  s3CompatibleEndpoint: http://192.168.124.174:30000
  s3Region: us-east-1
  s3SecretRef: {name: ramen-s3-secret-dr2, namespace: ramen-system}
- s3ProfileName: minio-on-dr3
  s3Bucket: bucket
  s3CompatibleEndpoint: http://192.168.124.175:30000
  s3Region: us-east-2
  s3SecretRef: {name: ramen-s3-secret-dr3, namespace: ramen-system}
";

pub struct Hub {
    pub server: TestApiServer,
    pub client: Client,
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

/// The ID claim of test cluster `name`.
pub fn cluster_id(name: &str) -> String {
    format!("id-{name}")
}

fn ocm_crds() -> Vec<CustomResourceDefinition> {
    [
        include_str!("../../../../hack/crds/ocm/policy.open-cluster-management.io_policies.yaml"),
        include_str!(
            "../../../../hack/crds/ocm/policy.open-cluster-management.io_placementbindings.yaml"
        ),
        include_str!(
            "../../../../hack/crds/ocm/apps.open-cluster-management.io_placementrules.yaml"
        ),
        e2e::views::MANAGED_CLUSTER_CRD,
        e2e::views::MANAGED_CLUSTER_VIEW_CRD,
    ]
    .into_iter()
    .map(|y| serde_saphyr::from_str(y).unwrap())
    .collect()
}

/// Polls `check` until it returns `Some`, for at most a generous minute.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Hub {
    /// A hub with CRDs, the operator namespace, the ConfigMap, three S3 Secrets and validated
    /// DRClusters dr1, dr2 (region west/east) and dr3 (east) — the operator not yet running.
    pub async fn prepared(config: &str) -> Hub {
        Hub::prepare(config, true).await
    }

    /// [`Hub::running`] on a hub that does not serve ManagedClusterViews (no CRD, no agent).
    pub async fn running_without_views() -> Hub {
        let mut hub = Hub::prepare(CONFIG, false).await;
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

    async fn prepare(config: &str, views: bool) -> Hub {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let server = TestApiServer::start().await.unwrap();
        let client = server.client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for (_, crd) in drpolicy_api::crd::all() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        for crd in ocm_crds() {
            if !views && crd.spec.names.kind == "ManagedClusterView" {
                continue;
            }
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(NS.into());
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        let mut hub = Hub {
            server,
            client,
            metrics: Metrics::new(),
            readiness: Readiness::default(),
            liveness: Liveness::default(),
            managed: ManagedObjects::default(),
            agent: None,
            stop: None,
            task: None,
        };
        if views {
            hub.agent = Some(ViewAgent::new(hub.client.clone(), hub.managed.clone()).spawn());
        }
        hub.put_config(config).await;
        for cluster in ["dr1", "dr2", "dr3"] {
            hub.create_secret(&format!("ramen-s3-secret-{cluster}"))
                .await;
        }
        hub.create_drcluster("dr1", "west", true).await;
        hub.create_drcluster("dr2", "east", true).await;
        hub.create_drcluster("dr3", "central", true).await;
        hub
    }

    /// [`Hub::prepared`] with the operator running and its caches synced.
    pub async fn running() -> Hub {
        let mut hub = Hub::prepared(CONFIG).await;
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

    pub async fn put_config(&self, yaml: &str) {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(HUB_OPERATOR_CONFIGMAP.into());
        cm.data = Some(BTreeMap::from([(
            RAMEN_CONFIG_KEY.to_owned(),
            yaml.to_owned(),
        )]));
        let api = self.configmaps();
        match api.get_opt(HUB_OPERATOR_CONFIGMAP).await.unwrap() {
            None => {
                api.create(&PostParams::default(), &cm).await.unwrap();
            }
            Some(_) => {
                let patch = json!({"data": {RAMEN_CONFIG_KEY: yaml}});
                api.patch(
                    HUB_OPERATOR_CONFIGMAP,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .unwrap();
            }
        }
    }

    pub async fn create_secret(&self, name: &str) {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.data = Some(BTreeMap::from([
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                ByteString(ACCESS_KEY.into()),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                ByteString(SECRET_KEY.into()),
            ),
        ]));
        self.secrets()
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    pub async fn create_drcluster(&self, name: &str, region: &str, validated: bool) {
        let cluster = DRCluster::new(
            name,
            DRClusterSpec {
                s3_profile_name: format!("minio-on-{name}"),
                region: Some(region.into()),
                ..Default::default()
            },
        );
        let created = self
            .drclusters()
            .create(&PostParams::default(), &cluster)
            .await
            .unwrap();
        // OCM registered it: a joined ManagedCluster with its ID claim, whose DRClusterConfig lists no
        // classes yet.
        ManagedClusterFixture::joined(name, cluster_id(name))
            .ensure(&self.client)
            .await
            .unwrap();
        self.managed.set_classes(name, Vec::new());
        if validated {
            let status = json!({"status": {"conditions": [{
                "type": "Validated", "status": "True", "reason": "Succeeded",
                "message": "Validated the cluster",
                "observedGeneration": created.metadata.generation,
                "lastTransitionTime": "2026-11-26T10:00:00Z"
            }]}});
            self.drclusters()
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                .await
                .unwrap();
        }
    }

    pub async fn create_policy(&self, name: &str, clusters: &[&str]) -> DRPolicy {
        let policy = DRPolicy::new(
            name,
            DRPolicySpec {
                dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
                scheduling_interval: "5m".into(),
                ..Default::default()
            },
        );
        self.policies()
            .create(&PostParams::default(), &policy)
            .await
            .unwrap()
    }

    pub async fn create_drpc(&self, namespace: &str, name: &str, policy: &str) {
        let mut ns = Namespace::default();
        ns.metadata.name = Some(namespace.into());
        let _ = Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await;
        let drpc: DRPlacementControl = serde_json::from_value(json!({
            "apiVersion": "ramendr.openshift.io/v1alpha1",
            "kind": "DRPlacementControl",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "drPolicyRef": {"name": policy},
                "placementRef": {"name": "placement", "kind": "Placement"},
                "pvcSelector": {"matchLabels": {"app": name}}
            }
        }))
        .unwrap();
        Api::<DRPlacementControl>::namespaced(self.client.clone(), namespace)
            .create(&PostParams::default(), &drpc)
            .await
            .unwrap();
    }

    pub fn policies(&self) -> Api<DRPolicy> {
        Api::all(self.client.clone())
    }
    pub fn drclusters(&self) -> Api<DRCluster> {
        Api::all(self.client.clone())
    }
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn ocm_policies(&self) -> Api<Policy> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn rules(&self) -> Api<PlacementRule> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn bindings(&self) -> Api<PlacementBinding> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// The condition `type_` of policy `name` as (status, reason, message).
    pub async fn condition(&self, name: &str, type_: &str) -> Option<(String, String, String)> {
        let policy = self.policies().get_opt(name).await.unwrap()?;
        let c = policy.condition(type_)?;
        Some((c.status.clone(), c.reason.clone(), c.message.clone()))
    }

    /// Waits until policy `name` has condition `type_` with `status` and `reason`; returns its message.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> String {
        eventually(&format!("{name} {type_}={status}/{reason}"), || async {
            let (s, r, m) = self.condition(name, type_).await?;
            (s == status && r == reason).then_some(m)
        })
        .await
    }

    /// Waits until policy `name` has distributed its secrets.
    pub async fn wait_distributed(&self, name: &str) {
        self.wait_condition(name, "SecretsDistributed", "True", "Distributed")
            .await;
    }

    /// Waits until DRPolicy `name` is gone.
    pub async fn wait_policy_gone(&self, name: &str) {
        eventually(&format!("{name} gone"), || async {
            self.policies()
                .get_opt(name)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await
    }

    pub async fn rule_clusters(&self, secret: &str) -> Option<Vec<String>> {
        let rule = self
            .rules()
            .get_opt(&format!("plrule-{secret}"))
            .await
            .unwrap()?;
        Some(rule.cluster_names().map(str::to_owned).collect())
    }

    pub async fn wait_rule(&self, secret: &str, clusters: &[&str]) {
        let want: Vec<String> = clusters.iter().map(|c| c.to_string()).collect();
        eventually(&format!("plrule-{secret} = {want:?}"), || async {
            (self.rule_clusters(secret).await == Some(want.clone())).then_some(())
        })
        .await
    }

    pub async fn ocm_object_count(&self) -> usize {
        let lp = ListParams::default();
        self.ocm_policies().list(&lp).await.unwrap().items.len()
            + self.rules().list(&lp).await.unwrap().items.len()
            + self.bindings().list(&lp).await.unwrap().items.len()
    }

    pub async fn secret_has_finalizer(&self, name: &str) -> bool {
        self.secrets()
            .get_opt(name)
            .await
            .unwrap()
            .is_some_and(|s| {
                s.finalizers()
                    .iter()
                    .any(|f| f == drpolicy_api::names::SECRET_POLICY_FINALIZER)
            })
    }

    /// Waits for the operator to go quiet (no request for a while).
    pub async fn quiet(&self) {
        self.server
            .wait_quiet(Duration::from_millis(500), Duration::from_secs(60))
            .await
            .unwrap();
    }

    pub async fn delete_policy(&self, name: &str) {
        self.policies()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub async fn delete_drpc(&self, namespace: &str, name: &str) {
        Api::<DRPlacementControl>::namespaced(self.client.clone(), namespace)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits until policy `name` reports its deletion blocked by DRPCs; returns the message.
    pub async fn wait_deletion_blocked(&self, name: &str) -> String {
        self.wait_condition(name, "DeletionBlocked", "True", "DRPlacementControlsExist")
            .await
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
