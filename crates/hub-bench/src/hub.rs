//! Seeding a hub on the embedded API server: the hub of a run (CRDs, the operator namespace and
//! ConfigMap, S3 Secrets, validated DRClusters with their joined OCM ManagedClusters) as a
//! `test-fixtures` seed, written by a client that identifies itself as the harness (so the operator's
//! own requests can be told apart in the request log).

use kube::Client;
use std::future::Future;
use std::time::Duration;
use test_apiserver::TestApiServer;
use test_fixtures::{HubSeed, RamenConfigYaml, S3Credentials, S3Profile, SeedCluster};

use crate::requests::{HARNESS_AGENT, OCM_AGENT};

pub use test_fixtures::cluster_id;

/// The operator namespace of every run.
pub const NAMESPACE: &str = "ramen-system";

/// A client of `server` whose requests carry User-Agent `agent`.
fn client_as(server: &TestApiServer, agent: &'static str) -> anyhow::Result<Client> {
    let mut config = kube::Config::new(server.url().parse()?);
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(agent),
    ));
    config.read_timeout = Some(Duration::from_secs(30));
    Ok(Client::try_from(config)?)
}

/// A client of the API server a kubeconfig file names (a real kube-apiserver) whose requests carry
/// User-Agent `agent`.
pub async fn client_from_kubeconfig(
    path: &std::path::Path,
    agent: &'static str,
) -> anyhow::Result<Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(agent),
    ));
    config.read_timeout = Some(Duration::from_secs(30));
    Ok(Client::try_from(config)?)
}

/// A client of `server` whose requests carry the harness User-Agent.
pub fn harness_client(server: &TestApiServer) -> anyhow::Result<Client> {
    client_as(server, HARNESS_AGENT)
}

/// A client of `server` for the OCM view agent the harness runs (its own User-Agent, so that neither
/// the operator's counts nor the soak's fault budget include its answers).
pub fn ocm_agent_client(server: &TestApiServer) -> anyhow::Result<Client> {
    client_as(server, OCM_AGENT)
}

/// One S3 profile of the RamenConfig and the Secret it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `s3ProfileName`.
    pub name: String,
    /// `s3SecretRef.name`.
    pub secret: String,
}

/// What a RamenConfig says besides its S3 profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOptions {
    /// `drClusterOperator.s3SecretDistributionEnabled`.
    pub distribution_enabled: bool,
    /// `kubeObjectProtection.veleroNamespaceName`: when set, every Secret is also distributed in the
    /// velero format (`vS`, `plrule-vS`, `plbinding-vS`, a second Secret finalizer).
    pub velero_namespace: Option<String>,
    /// `ramenOpsNamespace`: created by the operator when missing.
    pub ops_namespace: Option<String>,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions {
            distribution_enabled: true,
            velero_namespace: None,
            ops_namespace: None,
        }
    }
}

/// A RamenConfig for a hub with these profiles.
pub fn config_yaml(profiles: &[Profile], options: &ConfigOptions) -> String {
    let mut config = RamenConfigYaml::hub(profiles.iter().map(|profile| {
        S3Profile::new(&profile.name, &profile.secret)
            .store(
                format!("http://s3.{}.example:9000", profile.name),
                "us-east-1",
            )
            .secret_in(NAMESPACE)
    }))
    .distribution(options.distribution_enabled)
    .operator_namespace(NAMESPACE);
    config.ops_namespace = options.ops_namespace.clone();
    config.velero_namespace = options.velero_namespace.clone();
    config.yaml()
}

/// The seed of a run: every CRD, the operator namespace and a ConfigMap holding `config`, written as
/// the harness, 32 objects at a time; add the Secrets and clusters.
pub fn seed(config: String, credentials: S3Credentials) -> HubSeed {
    HubSeed::new(NAMESPACE, credentials)
        .config_text(config)
        .field_manager(HARNESS_AGENT)
        .concurrency(32)
}

/// Cluster `name` of a run: a DRCluster using S3 profile `profile` in its own region (so no two
/// clusters form a metro pair), validated, with a joined ManagedCluster of claim [`cluster_id`].
pub fn seed_cluster(name: &str, profile: &str) -> SeedCluster {
    SeedCluster::new(name, profile)
        .region(format!("region-{name}"))
        .joined(cluster_id(name))
}

/// The DRCluster of [`seed_cluster`].
pub fn drcluster(name: &str, profile: &str) -> drpolicy_api::DRCluster {
    test_fixtures::drcluster_in(name, profile, &format!("region-{name}"))
}

/// Sets the DRCluster's `Validated` condition, as Ramen's DRCluster controller would.
pub async fn set_drcluster_validated(
    client: &Client,
    name: &str,
    validated: bool,
) -> anyhow::Result<()> {
    test_fixtures::drcluster::set_validated(client, name, validated, Some(1)).await?;
    Ok(())
}

/// The replication interval of the regional (asynchronous) policies, and of the
/// VolumeReplicationClasses that serve them.
pub const ASYNC_INTERVAL: &str = "5m";
/// The interval of the metro (synchronous) policies: none.
pub const SYNC_INTERVAL: &str = "0m";

/// Runs `items` through `f` with at most `parallel` in flight; the first error wins.
pub async fn for_each_parallel<T, F, Fut>(
    items: impl IntoIterator<Item = T>,
    parallel: usize,
    f: F,
) -> anyhow::Result<()>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    use futures::StreamExt;
    let mut results = futures::stream::iter(items.into_iter().map(f)).buffer_unordered(parallel);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}
