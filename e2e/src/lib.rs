//! The end-to-end harness: sets up what a hub would have (OCM CRDs, the operator namespace, the
//! ConfigMap, S3 Secrets, validated DRClusters with joined ManagedClusters) on whatever cluster
//! `E2E_KUBECONFIG` names — kind with the Helm-installed operator (`make e2e`), the embedded API server
//! (`make e2e-local`) or a real kube-apiserver with OCM's propagator (`make e2e-real`), the operator a
//! separate process in the last two — and offers the reads and waits the scenarios need.
//!
//! What the managed clusters hold is [`TABLE`]: each script runs `view-agent --table e2e/tables/e2e.yaml
//! --never-answer e2e-silent` beside the suite (`make e2e-real` adds the example hub's table), which
//! answers the operator's ManagedClusterViews. It is a process of its own because each test runs in its
//! own runtime: an agent spawned by a test would stop with that test.
//!
//! Environment: `E2E_KUBECONFIG` (required), `E2E_NAMESPACE` (default `ramen-system`),
//! `E2E_METRICS_URL` (the operator's `/metrics`, optional), `E2E_OPERATOR_LOG` (a file holding the
//! operator's log, optional).

pub mod metrics;
pub mod ocm;
pub mod views;

use anyhow::{Context, anyhow};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::future::Future;
use test_fixtures::drcluster::set_validated;
use test_fixtures::wait::poll;
use test_fixtures::{
    CrdSet, HubApi, HubSeed, Patience, RamenConfigYaml, S3Credentials, S3Profile, SeedCluster,
};
use views::{ManagedClusterFixture, TableFile};

/// Field manager of the harness' own writes.
const MANAGER: &str = "ramen-e2e";
/// S3 credentials of the test Secrets; they must never show up in anything the operator writes.
pub const ACCESS_KEY: &str = "e2e-access-key-0b7c";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "e2e-secret-key-4f1d";
/// Clusters the harness creates, each with its own S3 profile and Secret, a validated DRCluster and a
/// joined ManagedCluster.
pub const CLUSTERS: [&str; 3] = ["e2e-dr1", "e2e-dr2", "e2e-dr3"];
/// The cluster whose ManagedClusterViews are never answered (the scripts start the view agent with
/// `--never-answer e2e-silent`). It has an S3 profile and Secret like [`CLUSTERS`], so that a policy on
/// it shows that secrets are distributed without waiting for views.
pub const SILENT_CLUSTER: &str = "e2e-silent";
/// What every managed cluster of the suite holds, and its cluster ID: the table the scripts' view agent
/// answers from.
pub const TABLE: &str = include_str!("../tables/e2e.yaml");

/// [`TABLE`], parsed.
pub fn table() -> anyhow::Result<TableFile> {
    TableFile::from_yaml(TABLE).context("parsing e2e/tables/e2e.yaml")
}

/// The clusters with an S3 profile in [`config_yaml`] and a hub Secret.
fn profiled_clusters() -> impl Iterator<Item = &'static str> {
    CLUSTERS.into_iter().chain([SILENT_CLUSTER])
}

/// The RamenConfig the suite runs with.
pub fn config() -> RamenConfigYaml {
    RamenConfigYaml::hub(profiled_clusters().map(|c| {
        S3Profile::new(format!("minio-on-{c}"), secret_of(c))
            .store(format!("http://minio.{c}:9000"), "us-east-1")
    }))
}

/// [`config`] as a document.
pub fn config_yaml() -> String {
    config().yaml()
}

/// The hub Secret of a test cluster.
pub fn secret_of(cluster: &str) -> String {
    format!("ramen-s3-secret-{cluster}")
}

/// Test cluster `name`: profile `minio-on-<name>`, in region `name` (no two clusters form a metro
/// pair).
fn cluster(name: &str) -> SeedCluster {
    SeedCluster::new(name, format!("minio-on-{name}")).region(name)
}

/// A connection to the hub under test: the objects of `test-fixtures`' [`HubApi`] (`hub.client`,
/// `hub.namespace`, `hub.policies()`, `hub.wait_condition(...)`, ...) and the suite's own steps.
#[derive(Clone)]
pub struct Hub {
    api: HubApi,
}

impl std::ops::Deref for Hub {
    type Target = HubApi;

    fn deref(&self) -> &HubApi {
        &self.api
    }
}

/// Polls `check` until it yields `Some`, for at most two minutes (a kind cluster can be slow).
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    poll(Patience::CLUSTER, check)
        .await?
        .ok_or_else(|| anyhow!("timed out waiting for: {what}"))
}

impl Hub {
    /// Connects to `E2E_KUBECONFIG`.
    pub async fn connect() -> anyhow::Result<Hub> {
        let path = std::env::var("E2E_KUBECONFIG").context(
            "E2E_KUBECONFIG is not set: run the suite through `make e2e-local` or `make e2e`",
        )?;
        let kubeconfig = Kubeconfig::read_from(&path).with_context(|| format!("reading {path}"))?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        let namespace = std::env::var("E2E_NAMESPACE").unwrap_or_else(|_| "ramen-system".into());
        Ok(Hub {
            api: Self::seed(namespace).hub(&Client::try_from(config)?),
        })
    }

    /// What the scenarios assume: every CRD (where the hub has none), the namespace, the config, a
    /// Secret per profiled cluster, and validated DRClusters with joined ManagedClusters of [`CLUSTERS`].
    fn seed(namespace: String) -> HubSeed {
        HubSeed::new(namespace, S3Credentials::new(ACCESS_KEY, SECRET_KEY))
            .crds(CrdSet::all())
            .config(&config())
            .secrets(profiled_clusters().map(secret_of))
            .field_manager(MANAGER)
            .patience(Patience::CLUSTER)
    }

    /// Creates (or updates) everything the scenarios assume, idempotently.
    pub async fn set_up(&self) -> anyhow::Result<()> {
        // The operator's ManagedCluster gate: a policy's clusters take part once OCM says they joined.
        let table = table()?;
        Self::seed(self.namespace.clone())
            .clusters(CLUSTERS.map(|c| cluster(c).joined(table.cluster_id(c))))
            .apply(&self.client)
            .await?;
        Ok(())
    }

    /// Registers `cluster` as a joined ManagedCluster with the cluster ID [`TABLE`] gives it (the view
    /// agent registers the same at its start; this makes a test independent of when that was).
    pub async fn ensure_joined(&self, cluster: &str) -> anyhow::Result<()> {
        let table = table()?;
        ManagedClusterFixture::joined(cluster, table.cluster_id(cluster))
            .ensure(&self.client)
            .await?;
        Ok(())
    }

    /// Creates a DRCluster with its profile and marks it validated, as Ramen's DRCluster controller
    /// would (the way Ramen's own envtest does).
    pub async fn ensure_drcluster(&self, name: &str) -> anyhow::Result<()> {
        cluster(name).ensure(&self.client).await?;
        Ok(())
    }

    /// Marks DRCluster `name` validated, as Ramen's DRCluster controller would.
    pub async fn mark_drcluster_validated(&self, name: &str) -> anyhow::Result<()> {
        set_validated(&self.client, name, true, None).await?;
        Ok(())
    }

    /// Deletes a DRPolicy and waits until it is gone.
    pub async fn delete_policy(&self, name: &str) -> anyhow::Result<()> {
        let _ = self.api.delete_policy(name).await;
        self.wait_policy_gone(name).await?;
        Ok(())
    }
}
