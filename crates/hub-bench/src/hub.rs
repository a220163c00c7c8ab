//! Seeding a hub on the embedded API server: CRDs, namespaces, the operator ConfigMap, S3 Secrets,
//! validated DRClusters with their joined OCM ManagedClusters, DRPolicies and DRPlacementControls,
//! written by a client that identifies itself as the harness (so the operator's own requests can be
//! told apart in the request log).

use anyhow::Context;
use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, RAMEN_CONFIG_KEY};
use drpolicy_api::{DRCluster, DRClusterSpec, DRPlacementControl, DRPolicy, DRPolicySpec};
use e2e::views::ManagedClusterFixture;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use test_apiserver::TestApiServer;

use crate::requests::{HARNESS_AGENT, OCM_AGENT};

/// The operator namespace of every run.
pub const NAMESPACE: &str = "ramen-system";

/// Every CRD of `hack/crds/ocm`: the governance objects the operator writes, and the ManagedCluster
/// and ManagedClusterView APIs whose presence turns on Ramen HEAD's cluster gate and peer classes.
const OCM_CRDS: [&str; 5] = [
    include_str!("../../../hack/crds/ocm/policy.open-cluster-management.io_policies.yaml"),
    include_str!("../../../hack/crds/ocm/policy.open-cluster-management.io_placementbindings.yaml"),
    include_str!("../../../hack/crds/ocm/apps.open-cluster-management.io_placementrules.yaml"),
    include_str!("../../../hack/crds/ocm/cluster.open-cluster-management.io_managedclusters.yaml"),
    include_str!("../../../hack/crds/ocm/view.open-cluster-management.io_managedclusterviews.yaml"),
];

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

/// A client of `server` whose requests carry the harness User-Agent.
pub fn harness_client(server: &TestApiServer) -> anyhow::Result<Client> {
    client_as(server, HARNESS_AGENT)
}

/// A client of `server` for the OCM view agent the harness runs (its own User-Agent, so that neither
/// the operator's counts nor the soak's fault budget include its answers).
pub fn ocm_agent_client(server: &TestApiServer) -> anyhow::Result<Client> {
    client_as(server, OCM_AGENT)
}

/// Installs the Ramen CRDs (from `drpolicy-api`) and the minimal OCM CRDs of `hack/crds/ocm`.
pub async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in drpolicy_api::crd::all() {
        crds.create(&PostParams::default(), &crd)
            .await
            .with_context(|| format!("creating CRD {}", crd.name_any()))?;
    }
    for yaml in OCM_CRDS {
        let crd: CustomResourceDefinition = serde_saphyr::from_str(yaml)?;
        crds.create(&PostParams::default(), &crd)
            .await
            .with_context(|| format!("creating CRD {}", crd.name_any()))?;
    }
    Ok(())
}

/// Creates a namespace.
pub async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.into());
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(())
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
    let distribution_enabled = options.distribution_enabled;
    let mut yaml = format!(
        "apiVersion: ramendr.openshift.io/v1alpha1\nkind: RamenConfig\nramenControllerType: dr-hub\n\
         drClusterOperator:\n  deploymentAutomationEnabled: true\n  \
         s3SecretDistributionEnabled: {distribution_enabled}\n  namespaceName: {NAMESPACE}\n"
    );
    if let Some(namespace) = &options.ops_namespace {
        yaml.push_str(&format!("ramenOpsNamespace: {namespace}\n"));
    }
    if let Some(namespace) = &options.velero_namespace {
        yaml.push_str(&format!(
            "kubeObjectProtection:\n  veleroNamespaceName: {namespace}\n"
        ));
    }
    yaml.push_str("s3StoreProfiles:\n");
    if profiles.is_empty() {
        yaml.push_str("  []\n");
    }
    for profile in profiles {
        yaml.push_str(&format!(
            "- s3ProfileName: {}\n  s3Bucket: bucket\n  s3CompatibleEndpoint: http://s3.{}.example:9000\n  \
             s3Region: us-east-1\n  s3SecretRef: {{name: {}, namespace: {NAMESPACE}}}\n",
            profile.name, profile.name, profile.secret
        ));
    }
    yaml
}

/// The operator ConfigMap holding `yaml`.
pub fn configmap(yaml: &str) -> ConfigMap {
    let mut configmap = ConfigMap::default();
    configmap.metadata.name = Some(HUB_OPERATOR_CONFIGMAP.into());
    configmap.metadata.namespace = Some(NAMESPACE.into());
    configmap.data = Some(BTreeMap::from([(
        RAMEN_CONFIG_KEY.to_owned(),
        yaml.to_owned(),
    )]));
    configmap
}

/// Creates the operator ConfigMap, or replaces its RamenConfig.
pub async fn put_config(client: &Client, yaml: &str) -> anyhow::Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    if api.get_opt(HUB_OPERATOR_CONFIGMAP).await?.is_none() {
        api.create(&PostParams::default(), &configmap(yaml)).await?;
    } else {
        let patch = json!({"data": {RAMEN_CONFIG_KEY: yaml}});
        api.patch(
            HUB_OPERATOR_CONFIGMAP,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    }
    Ok(())
}

/// An S3 credentials Secret.
pub fn s3_secret(namespace: &str, name: &str, access_key: &str, secret_key: &str) -> Secret {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.into());
    secret.metadata.namespace = Some(namespace.into());
    secret.data = Some(BTreeMap::from([
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            ByteString(access_key.as_bytes().to_vec()),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            ByteString(secret_key.as_bytes().to_vec()),
        ),
    ]));
    secret
}

/// A DRCluster using S3 profile `profile`, in its own region (so no two clusters form a metro pair).
pub fn drcluster(name: &str, profile: &str) -> DRCluster {
    DRCluster::new(
        name,
        DRClusterSpec {
            s3_profile_name: profile.into(),
            region: Some(format!("region-{name}")),
            ..Default::default()
        },
    )
}

/// Sets the DRCluster's `Validated` condition, as Ramen's DRCluster controller would.
pub async fn set_drcluster_validated(
    client: &Client,
    name: &str,
    validated: bool,
) -> anyhow::Result<()> {
    let (status, reason) = if validated {
        ("True", "Succeeded")
    } else {
        ("False", "ValidationFailed")
    };
    let patch = json!({"status": {"conditions": [{
        "type": "Validated", "status": status, "reason": reason,
        "message": "set by the harness", "observedGeneration": 1,
        "lastTransitionTime": "2026-11-26T10:00:00Z"
    }]}});
    Api::<DRCluster>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Creates a DRCluster and marks it validated.
pub async fn create_validated_drcluster(
    client: &Client,
    name: &str,
    profile: &str,
) -> anyhow::Result<()> {
    Api::<DRCluster>::all(client.clone())
        .create(&PostParams::default(), &drcluster(name, profile))
        .await
        .with_context(|| format!("creating DRCluster {name}"))?;
    set_drcluster_validated(client, name, true).await
}

/// The `id.k8s.io` claim of cluster `name`'s ManagedCluster.
pub fn cluster_id(name: &str) -> String {
    format!("id-{name}")
}

/// Registers cluster `name` as OCM would: a ManagedCluster that has joined the hub with claim
/// [`cluster_id`], and its cluster namespace (where the operator creates its views).
pub async fn register_managed_cluster(client: &Client, name: &str) -> anyhow::Result<()> {
    ManagedClusterFixture::joined(name, cluster_id(name))
        .ensure(client)
        .await?;
    Ok(())
}

/// The replication interval of the regional (asynchronous) policies, and of the
/// VolumeReplicationClasses that serve them.
pub const ASYNC_INTERVAL: &str = "5m";
/// The interval of the metro (synchronous) policies: none.
pub const SYNC_INTERVAL: &str = "0m";

/// An asynchronous ([`ASYNC_INTERVAL`]) DRPolicy over `clusters`.
pub fn drpolicy(name: &str, clusters: &[String]) -> DRPolicy {
    drpolicy_every(name, clusters, ASYNC_INTERVAL)
}

/// A DRPolicy over `clusters` replicating every `interval`.
pub fn drpolicy_every(name: &str, clusters: &[String], interval: &str) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.to_vec(),
            scheduling_interval: interval.into(),
            ..Default::default()
        },
    )
}

/// A DRPlacementControl referencing DRPolicy `policy`.
pub fn drpc(namespace: &str, name: &str, policy: &str) -> anyhow::Result<DRPlacementControl> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "ramendr.openshift.io/v1alpha1",
        "kind": "DRPlacementControl",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "drPolicyRef": {"name": policy},
            "placementRef": {"name": "placement", "kind": "Placement"},
            "pvcSelector": {"matchLabels": {"app": name}}
        }
    }))?)
}

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
