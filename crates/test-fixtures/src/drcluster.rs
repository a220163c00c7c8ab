//! DRClusters, and the `Validated` condition Ramen's DRCluster controller would give them (the way
//! Ramen's own envtest marks them).

use crate::error::{Context, FixtureError, already_exists};
use drpolicy_api::{DRCluster, DRClusterSpec};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// DRCluster `name` using S3 profile `profile`, in no region.
pub fn drcluster(name: &str, profile: &str) -> DRCluster {
    DRCluster::new(
        name,
        DRClusterSpec {
            s3_profile_name: profile.into(),
            ..Default::default()
        },
    )
}

/// DRCluster `name` using S3 profile `profile`, in `region` (two clusters of one region make a metro
/// pair).
pub fn drcluster_in(name: &str, profile: &str, region: &str) -> DRCluster {
    let mut cluster = drcluster(name, profile);
    cluster.spec.region = Some(region.into());
    cluster
}

/// The merge patch of a DRCluster's status that sets its `Validated` condition: `True/Succeeded`, or
/// `False/ValidationFailed`; with `observedGeneration` when given.
pub fn validated_status(validated: bool, observed_generation: Option<i64>) -> Value {
    let (status, reason, message) = if validated {
        ("True", "Succeeded", "Validated the cluster")
    } else {
        (
            "False",
            "ValidationFailed",
            "Failed to validate the cluster",
        )
    };
    let mut condition = json!({
        "type": "Validated", "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-11-26T10:00:00Z"
    });
    if let Some(generation) = observed_generation {
        condition["observedGeneration"] = json!(generation);
    }
    json!({"status": {"conditions": [condition]}})
}

/// Sets the `Validated` condition of DRCluster `name` ([`validated_status`]).
pub async fn set_validated(
    client: &Client,
    name: &str,
    validated: bool,
    observed_generation: Option<i64>,
) -> Result<DRCluster, FixtureError> {
    let status = validated_status(validated, observed_generation);
    Api::<DRCluster>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .context(|| format!("marking DRCluster {name} validated={validated}"))
}

/// Creates `cluster` unless a DRCluster of its name exists (which is then left as it is), and sets
/// its `Validated` condition for the generation stored.
pub async fn ensure_validated(
    client: &Client,
    cluster: &DRCluster,
    validated: bool,
) -> Result<DRCluster, FixtureError> {
    let api: Api<DRCluster> = Api::all(client.clone());
    let name = cluster.metadata.name.clone().unwrap_or_default();
    let stored = match api.create(&PostParams::default(), cluster).await {
        Err(e) if already_exists(&e) => api.get(&name).await,
        other => other,
    }
    .context(|| format!("creating DRCluster {name}"))?;
    set_validated(client, &name, validated, stored.metadata.generation).await
}
