//! Seeding a hub with what it has before the operator starts: CRDs, the operator namespace, the
//! ConfigMap, S3 Secrets, and DRClusters (validated, with joined ManagedClusters). Every step can be
//! repeated on a hub that already has some of it, so the same seed serves a fresh embedded API server,
//! a kind cluster and a real kube-apiserver.

use crate::config::RamenConfigYaml;
use crate::crds::{self, CrdSet};
use crate::drcluster::{drcluster, ensure_validated};
use crate::error::{Context, FixtureError, already_exists};
use crate::hub_api::HubApi;
use crate::managed_cluster::ManagedClusterFixture;
use crate::secret::S3Credentials;
use crate::wait::Patience;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// Field manager of the seed's server-side applies, unless [`HubSeed::field_manager`] says otherwise.
pub const FIELD_MANAGER: &str = "ramen-test-fixtures";

/// One DRCluster of a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedCluster {
    /// DRCluster name (and ManagedCluster name).
    pub name: String,
    /// Its S3 profile.
    pub profile: String,
    /// `spec.region`.
    pub region: Option<String>,
    /// The `id.k8s.io` claim of its joined ManagedCluster; `None`: no ManagedCluster is registered.
    pub cluster_id: Option<String>,
    /// Whether it gets a `Validated=True` condition.
    pub validated: bool,
}

impl SeedCluster {
    /// Validated DRCluster `name` using S3 profile `profile`, in no region, without a ManagedCluster.
    pub fn new(name: impl Into<String>, profile: impl Into<String>) -> Self {
        SeedCluster {
            name: name.into(),
            profile: profile.into(),
            region: None,
            cluster_id: None,
            validated: true,
        }
    }

    /// The same cluster in `region`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The same cluster with a joined ManagedCluster whose `id.k8s.io` claim is `cluster_id`.
    pub fn joined(mut self, cluster_id: impl Into<String>) -> Self {
        self.cluster_id = Some(cluster_id.into());
        self
    }

    /// The same cluster without a `Validated` condition.
    pub fn unvalidated(mut self) -> Self {
        self.validated = false;
        self
    }

    /// Registers its ManagedCluster (when joined), creates the DRCluster unless it exists and, when
    /// validated, marks it validated.
    pub async fn ensure(&self, client: &Client) -> Result<(), FixtureError> {
        if let Some(id) = &self.cluster_id {
            ManagedClusterFixture::joined(self.name.as_str(), id.as_str())
                .ensure(client)
                .await?;
        }
        let mut cluster = drcluster(&self.name, &self.profile);
        cluster.spec.region = self.region.clone();
        if self.validated {
            ensure_validated(client, &cluster, true).await?;
        } else {
            let created = Api::all(client.clone())
                .create(&PostParams::default(), &cluster)
                .await;
            match created {
                Err(e) if already_exists(&e) => {}
                other => {
                    other.context(|| format!("creating DRCluster {}", self.name))?;
                }
            }
        }
        Ok(())
    }
}

/// What to seed a hub with; [`HubSeed::apply`] writes it.
#[derive(Debug, Clone)]
pub struct HubSeed {
    /// The operator namespace.
    pub namespace: String,
    /// The CRDs to install.
    pub crds: CrdSet,
    /// The RamenConfig of the operator ConfigMap; `None`: no ConfigMap.
    pub config: Option<String>,
    /// The values of every S3 Secret.
    pub credentials: S3Credentials,
    /// The S3 Secrets of the operator namespace.
    pub secrets: Vec<String>,
    /// The DRClusters.
    pub clusters: Vec<SeedCluster>,
    /// Field manager of the server-side applies.
    pub field_manager: String,
    /// How many Secrets, and clusters, are written at once.
    pub concurrency: usize,
    /// How long to wait for CRDs to be established, and the patience of the [`HubApi`] returned.
    pub patience: Patience,
}

impl HubSeed {
    /// A seed of every CRD and operator namespace `namespace`, Secrets holding `credentials`; nothing
    /// else until added.
    pub fn new(namespace: impl Into<String>, credentials: S3Credentials) -> Self {
        HubSeed {
            namespace: namespace.into(),
            crds: CrdSet::all(),
            config: None,
            credentials,
            secrets: Vec::new(),
            clusters: Vec::new(),
            field_manager: FIELD_MANAGER.into(),
            concurrency: 1,
            patience: Patience::IN_PROCESS,
        }
    }

    /// The same seed installing `crds` instead.
    pub fn crds(mut self, crds: CrdSet) -> Self {
        self.crds = crds;
        self
    }

    /// The same seed with the operator ConfigMap holding `config`.
    pub fn config(mut self, config: &RamenConfigYaml) -> Self {
        self.config = Some(config.yaml());
        self
    }

    /// The same seed with the operator ConfigMap holding the document `yaml` as it is.
    pub fn config_text(mut self, yaml: impl Into<String>) -> Self {
        self.config = Some(yaml.into());
        self
    }

    /// The same seed with S3 Secrets `names` too.
    pub fn secrets<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.secrets.extend(names.into_iter().map(Into::into));
        self
    }

    /// The same seed with DRClusters `clusters` too.
    pub fn clusters(mut self, clusters: impl IntoIterator<Item = SeedCluster>) -> Self {
        self.clusters.extend(clusters);
        self
    }

    /// The same seed applying as `manager`.
    pub fn field_manager(mut self, manager: impl Into<String>) -> Self {
        self.field_manager = manager.into();
        self
    }

    /// The same seed writing `concurrency` Secrets or clusters at once.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The same seed with `patience`.
    pub fn patience(mut self, patience: Patience) -> Self {
        self.patience = patience;
        self
    }

    /// The hub of this seed behind `client`, without writing anything.
    pub fn hub(&self, client: &Client) -> HubApi {
        HubApi {
            field_manager: self.field_manager.clone(),
            ..HubApi::new(client.clone(), self.namespace.as_str(), self.patience)
        }
    }

    /// Writes the seed: CRDs (waiting until established), the namespace, the ConfigMap, the Secrets,
    /// then each cluster ([`SeedCluster::ensure`]).
    pub async fn apply(&self, client: &Client) -> Result<HubApi, FixtureError> {
        crds::install(client, self.crds, self.patience).await?;
        ensure_namespace(client, &self.namespace, &self.field_manager).await?;
        let hub = self.hub(client);
        if let Some(config) = &self.config {
            hub.put_config(config).await?;
        }
        futures::stream::iter(&self.secrets)
            .map(|name| hub.apply_secret(name, &self.credentials))
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        futures::stream::iter(&self.clusters)
            .map(|cluster| cluster.ensure(client))
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(hub)
    }
}

/// Server-side applies namespace `name` as `manager`.
pub async fn ensure_namespace(
    client: &Client,
    name: &str,
    manager: &str,
) -> Result<(), FixtureError> {
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.into());
    Api::<Namespace>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&namespace),
        )
        .await
        .context(|| format!("applying namespace {name}"))?;
    Ok(())
}
