//! OCM ManagedClusters as OCM's registration leaves them on a hub: accepted by the hub, with a cluster
//! namespace, and — once joined — the `ManagedClusterJoined` condition and the cluster ID claim
//! `id.k8s.io`. The variants that are not joined or lack the claim exist to test Ramen's instance check.

use crate::error::{Context, FixtureError};
use drpolicy_api::ManagedCluster;
use drpolicy_api::managedcluster::{CLUSTER_ID_CLAIM, CONDITION_JOINED};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

/// Field manager of the registration's writes (what OCM's registration would own).
const REGISTRATION_MANAGER: &str = "ramen-e2e-ocm";
/// Field manager of the status writes (what OCM's registration agent would own).
const AGENT_MANAGER: &str = "ramen-e2e-ocm-agent";

/// The `id.k8s.io` claim the tests give cluster `name` when they need no particular one.
pub fn cluster_id(name: &str) -> String {
    format!("id-{name}")
}

fn managed_clusters() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("cluster.open-cluster-management.io", "v1", "ManagedCluster"),
        "managedclusters",
    )
}

/// Registers managed cluster `name` as OCM's registration would leave it: a ManagedCluster accepted by
/// the hub and the cluster namespace of the same name (server-side applied, so it can be repeated).
pub async fn register(client: &Client, name: &str) -> Result<(), FixtureError> {
    let apply = PatchParams::apply(REGISTRATION_MANAGER).force();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &managed_clusters());
    let mut cluster = DynamicObject::new(name, &managed_clusters());
    cluster.data = json!({"spec": {"hubAcceptsClient": true}});
    api.patch(name, &apply, &Patch::Apply(&cluster))
        .await
        .context(|| format!("registering ManagedCluster {name}"))?;
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.into());
    Api::<Namespace>::all(client.clone())
        .patch(name, &apply, &Patch::Apply(&namespace))
        .await
        .context(|| format!("creating the cluster namespace {name}"))?;
    Ok(())
}

/// A managed cluster: its name, its `id.k8s.io` claim and whether it has joined the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedClusterFixture {
    /// Cluster name (also its namespace and its DRCluster's name).
    pub name: String,
    /// Value of the `id.k8s.io` claim; `None`: no claim.
    pub cluster_id: Option<String>,
    /// Whether the cluster has joined the hub (`ManagedClusterJoined=True`).
    pub joined: bool,
}

impl ManagedClusterFixture {
    /// A joined cluster `name` whose `id.k8s.io` claim is `cluster_id`.
    pub fn joined(name: impl Into<String>, cluster_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cluster_id: Some(cluster_id.into()),
            joined: true,
        }
    }

    /// The same cluster without the `id.k8s.io` claim.
    pub fn without_claim(mut self) -> Self {
        self.cluster_id = None;
        self
    }

    /// The same cluster before it joined: no `ManagedClusterJoined` condition.
    pub fn not_joined(mut self) -> Self {
        self.joined = false;
        self
    }

    /// The ManagedCluster status OCM's registration writes for this cluster, conditions stamped `now`.
    pub fn status(&self, now: Timestamp) -> Value {
        let condition = |type_: &str, reason: &str, message: &str| {
            json!({"type": type_, "status": "True", "reason": reason, "message": message,
                   "lastTransitionTime": Time(now)})
        };
        let conditions: Vec<Value> = if self.joined {
            vec![
                condition(
                    CONDITION_JOINED,
                    "ManagedClusterJoined",
                    "Managed cluster joined",
                ),
                condition(
                    "ManagedClusterConditionAvailable",
                    "ManagedClusterAvailable",
                    "Managed cluster is available",
                ),
            ]
        } else {
            Vec::new()
        };
        let claims: Vec<Value> = self
            .cluster_id
            .iter()
            .map(|id| json!({"name": CLUSTER_ID_CLAIM, "value": id}))
            .collect();
        json!({"conditions": conditions, "clusterClaims": claims})
    }

    /// Creates or updates the ManagedCluster and its namespace ([`register`]) and writes its status;
    /// the status is left alone when it already says what this fixture says.
    pub async fn ensure(&self, client: &Client) -> Result<ManagedCluster, FixtureError> {
        register(client, &self.name).await?;
        let api: Api<ManagedCluster> = Api::all(client.clone());
        let current = api
            .get(&self.name)
            .await
            .context(|| format!("reading ManagedCluster {}", self.name))?;
        if current.is_joined() == self.joined && current.cluster_id() == self.cluster_id.as_deref()
        {
            return Ok(current);
        }
        let patch = json!({"status": self.status(Timestamp::now())});
        let params = PatchParams {
            field_manager: Some(AGENT_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        api.patch_status(&self.name, &params, &Patch::Merge(&patch))
            .await
            .context(|| format!("writing the status of ManagedCluster {}", self.name))
    }
}
