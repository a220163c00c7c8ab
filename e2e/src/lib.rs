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

use anyhow::{Context, bail};
use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, RAMEN_CONFIG_KEY, SECRET_POLICY_FINALIZER};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::future::Future;
use std::time::Duration;
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
pub fn config_yaml() -> String {
    let profiles: String = profiled_clusters()
        .map(|c| {
            format!(
                "- s3ProfileName: minio-on-{c}\n  s3Bucket: bucket\n  s3CompatibleEndpoint: http://minio.{c}:9000\n  \
                 s3Region: us-east-1\n  s3SecretRef: {{name: {}}}\n",
                secret_of(c)
            )
        })
        .collect();
    format!(
        "apiVersion: ramendr.openshift.io/v1alpha1\nkind: RamenConfig\nramenControllerType: dr-hub\n\
         drClusterOperator:\n  deploymentAutomationEnabled: true\n  s3SecretDistributionEnabled: true\n\
         s3StoreProfiles:\n{profiles}"
    )
}

/// The hub Secret of a test cluster.
pub fn secret_of(cluster: &str) -> String {
    format!("ramen-s3-secret-{cluster}")
}

/// A connection to the hub under test.
#[derive(Clone)]
pub struct Hub {
    /// API client.
    pub client: Client,
    /// The operator namespace.
    pub namespace: String,
}

/// Polls `check` until it yields `Some`, for at most two minutes (a kind cluster can be slow).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
        Ok(Hub {
            client: Client::try_from(config)?,
            namespace: std::env::var("E2E_NAMESPACE").unwrap_or_else(|_| "ramen-system".into()),
        })
    }

    /// Creates (or updates) everything the scenarios assume, idempotently.
    pub async fn set_up(&self) -> anyhow::Result<()> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let apply = PatchParams::apply(MANAGER).force();
        for yaml in [
            include_str!("../../hack/crds/ocm/policy.open-cluster-management.io_policies.yaml"),
            include_str!(
                "../../hack/crds/ocm/policy.open-cluster-management.io_placementbindings.yaml"
            ),
            include_str!("../../hack/crds/ocm/apps.open-cluster-management.io_placementrules.yaml"),
        ] {
            // Only where the hub has none: a real OCM hub (`make e2e-real`) has OCM's own CRDs,
            // which these minimal ones must not replace.
            let crd: CustomResourceDefinition = serde_saphyr::from_str(yaml)?;
            if crds.get_opt(&crd.name_any()).await?.is_none() {
                crds.create(&PostParams::default(), &crd).await?;
            }
        }
        for (_, crd) in drpolicy_api::crd::all() {
            if crds.get_opt(&crd.name_any()).await?.is_none() {
                crds.create(&PostParams::default(), &crd).await?;
            }
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}
        }))?;
        namespaces
            .patch(&self.namespace, &apply, &Patch::Apply(&namespace))
            .await?;
        self.put_config(&config_yaml()).await?;
        for cluster in profiled_clusters() {
            let secret: Secret = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": secret_of(cluster), "namespace": self.namespace},
                "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
            }))?;
            self.secrets()
                .patch(&secret_of(cluster), &apply, &Patch::Apply(&secret))
                .await?;
        }
        // The operator's ManagedCluster gate: a policy's clusters take part once OCM says they joined.
        views::ensure_crds(&self.client).await?;
        for cluster in CLUSTERS {
            self.ensure_joined(cluster).await?;
            self.ensure_drcluster(cluster).await?;
        }
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
        let cluster = DRCluster::new(
            name,
            DRClusterSpec {
                s3_profile_name: format!("minio-on-{name}"),
                region: Some(name.to_owned()),
                ..Default::default()
            },
        );
        if self.drclusters().get_opt(name).await?.is_none() {
            self.drclusters()
                .create(&PostParams::default(), &cluster)
                .await?;
        }
        self.mark_drcluster_validated(name).await
    }

    /// Marks DRCluster `name` validated, as Ramen's DRCluster controller would.
    pub async fn mark_drcluster_validated(&self, name: &str) -> anyhow::Result<()> {
        let status = json!({"status": {"conditions": [{
            "type": "Validated", "status": "True", "reason": "Succeeded",
            "message": "Validated the cluster", "lastTransitionTime": "2026-11-26T10:00:00Z"
        }]}});
        self.drclusters()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
        Ok(())
    }

    /// Replaces the RamenConfig in the operator ConfigMap.
    pub async fn put_config(&self, yaml: &str) -> anyhow::Result<()> {
        let configmap: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": HUB_OPERATOR_CONFIGMAP, "namespace": self.namespace},
            "data": {RAMEN_CONFIG_KEY: yaml}
        }))?;
        self.configmaps()
            .patch(
                HUB_OPERATOR_CONFIGMAP,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&configmap),
            )
            .await?;
        Ok(())
    }

    /// Creates a DRPolicy.
    pub async fn create_policy(&self, name: &str, clusters: &[&str]) -> anyhow::Result<()> {
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
            .await?;
        Ok(())
    }

    /// Deletes a DRPolicy and waits until it is gone.
    pub async fn delete_policy(&self, name: &str) -> anyhow::Result<()> {
        let _ = self.policies().delete(name, &DeleteParams::default()).await;
        eventually(&format!("drpolicy {name} gone"), || async {
            Ok(self.policies().get_opt(name).await?.is_none().then_some(()))
        })
        .await
    }

    /// Waits for condition `type_` of policy `name` to have `status` and `reason`; returns its message.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> anyhow::Result<String> {
        eventually(&format!("{name} {type_}={status}/{reason}"), || async {
            let Some(policy) = self.policies().get_opt(name).await? else {
                return Ok(None);
            };
            Ok(policy
                .condition(type_)
                .filter(|c| c.status == status && c.reason == reason)
                .map(|c| c.message.clone()))
        })
        .await
    }

    /// The clusters of PlacementRule `plrule-<secret>`, if it exists.
    pub async fn rule_clusters(&self, secret: &str) -> anyhow::Result<Option<Vec<String>>> {
        let rule = self.rules().get_opt(&format!("plrule-{secret}")).await?;
        Ok(rule.map(|r| r.cluster_names().map(str::to_owned).collect()))
    }

    /// Waits until PlacementRule `plrule-<secret>` lists exactly `clusters` (`None`: does not exist).
    pub async fn wait_rule(&self, secret: &str, clusters: Option<&[&str]>) -> anyhow::Result<()> {
        let want: Option<Vec<String>> = clusters.map(|c| c.iter().map(|s| s.to_string()).collect());
        eventually(&format!("plrule-{secret} = {want:?}"), || async {
            Ok((self.rule_clusters(secret).await? == want).then_some(()))
        })
        .await
    }

    /// Whether hub Secret `name` carries the policy-protection finalizer.
    pub async fn secret_finalized(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self
            .secrets()
            .get_opt(name)
            .await?
            .is_some_and(|s| s.finalizers().iter().any(|f| f == SECRET_POLICY_FINALIZER)))
    }

    /// Every object the operator wrote in the operator namespace and every DRPolicy, as JSON text.
    pub async fn written_objects(&self) -> anyhow::Result<Vec<String>> {
        let lp = ListParams::default();
        let mut out = Vec::new();
        for o in self.policies().list(&lp).await? {
            out.push(serde_json::to_string(&o)?);
        }
        for o in self.ocm_policies().list(&lp).await? {
            out.push(serde_json::to_string(&o)?);
        }
        for o in self.rules().list(&lp).await? {
            out.push(serde_json::to_string(&o)?);
        }
        for o in self.bindings().list(&lp).await? {
            out.push(serde_json::to_string(&o)?);
        }
        Ok(out)
    }

    /// DRPolicies.
    pub fn policies(&self) -> Api<DRPolicy> {
        Api::all(self.client.clone())
    }
    /// DRClusters.
    pub fn drclusters(&self) -> Api<DRCluster> {
        Api::all(self.client.clone())
    }
    /// Secrets of the operator namespace.
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    /// ConfigMaps of the operator namespace.
    pub fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    /// OCM Policies of the operator namespace.
    pub fn ocm_policies(&self) -> Api<Policy> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    /// PlacementRules of the operator namespace.
    pub fn rules(&self) -> Api<PlacementRule> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    /// PlacementBindings of the operator namespace.
    pub fn bindings(&self) -> Api<PlacementBinding> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
}
