//! Reads what a policy's clusters offer through ManagedClusterViews (Ramen HEAD §4.4): for each cluster
//! its ManagedCluster ID, its `DRClusterConfig`, then every class the config lists, as
//! [`peer_classes::ClusterClasses`] ready for [`peer_classes::update`].
//!
//! Differences from Ramen HEAD, on purpose (what the views are named, label and read stays HEAD's):
//! - HEAD stops at the first view without an answer, so a fresh cluster needs one reconcile per view.
//!   Here every view a cluster's config calls for is ensured in one pass (and every cluster is walked),
//!   so the answers arrive in parallel; the walk reports the first thing it waits for.
//! - Views a kind no longer lists are pruned even when the kind's list became empty (BH6), as long as
//!   the cluster lists StorageClasses (an empty StorageClass list is usually transient: BH7).
//! - The walk never blocks anything else: secret distribution and validation go on without it, and a
//!   policy whose walk waits keeps its stored peer classes.

use drpolicy_api::view::{
    GroupSnapshotApi, ManagedClusterView, ViewError, ViewTarget, read_result,
};
use drpolicy_api::{DRClusterConfig, DRPolicy, ManagedCluster};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use peer_classes::{ClusterClasses, ReplicationClass, SnapshotClass, StorageClass};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::kube_util::describe;
use crate::views::Views;

/// Reasons of the `PeerClassesComputed` condition.
pub mod reason {
    /// Every cluster's classes were read and the peer classes computed.
    pub const COMPUTED: &str = "Computed";
    /// The hub does not serve ManagedClusterViews (OCM's view add-on CRD is not installed).
    pub const VIEWS_NOT_INSTALLED: &str = "ManagedClusterViewsNotInstalled";
    /// A cluster's ManagedCluster is missing, not joined, or has no `id.k8s.io` claim.
    pub const MANAGED_CLUSTER_NOT_READY: &str = "ManagedClusterNotReady";
    /// A view has not been answered yet by OCM's view agent.
    pub const WAITING_FOR_VIEWS: &str = "WaitingForViews";
    /// A view was answered with an error, or could not be written.
    pub const VIEW_FAILED: &str = "ViewFailed";
}

/// Why the walk did not read every cluster: the condition reason and a message naming the cluster and
/// the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// One of [`reason`].
    pub reason: &'static str,
    /// What is missing, for the condition message.
    pub message: String,
    /// Whether a write failed (retried with backoff); otherwise an event ends the wait.
    pub retry: bool,
    /// Set when the walk only waits for the first answer to views created moments ago: how much
    /// longer such an answer is worth waiting for before reporting the wait
    /// (see [`crate::views::ANSWER_GRACE`]).
    pub settling: Option<Duration>,
}

impl Pending {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Pending {
            reason,
            message: message.into(),
            retry: false,
            settling: None,
        }
    }

    fn retried(reason: &'static str, message: impl Into<String>) -> Self {
        Pending {
            retry: true,
            ..Pending::new(reason, message)
        }
    }
}

/// Keeps the first wait for the message, settling only while every wait settles.
fn combine(first: Option<Pending>, next: Pending) -> Pending {
    match first {
        None => next,
        Some(mut first) => {
            first.settling = first.settling.zip(next.settling).map(|(a, b)| a.max(b));
            first.retry |= next.retry;
            first
        }
    }
}

/// Reads the classes of every cluster of `policy`, in `spec.drClusters` order.
pub async fn walk(
    views: &Views,
    managed_clusters: &Store<ManagedCluster>,
    policy: &DRPolicy,
) -> Result<Vec<ClusterClasses>, Pending> {
    if views.presence.is_missing() {
        return Err(not_installed());
    }
    let mut read = Vec::with_capacity(policy.spec.dr_clusters.len());
    let mut first_pending: Option<Pending> = None;
    for cluster in &policy.spec.dr_clusters {
        match cluster_classes(views, managed_clusters, cluster).await {
            Ok(classes) => read.push(classes),
            Err(pending) => first_pending = Some(combine(first_pending, pending)),
        }
    }
    match first_pending {
        Some(pending) => Err(pending),
        None => Ok(read),
    }
}

fn not_installed() -> Pending {
    Pending::new(
        reason::VIEWS_NOT_INSTALLED,
        "the hub does not serve managedclusterviews.view.open-cluster-management.io (OCM's view \
         add-on is not installed): managed clusters cannot be read",
    )
}

/// The `DRClusterConfig` of `cluster`, read through its view (created when missing).
pub async fn drcluster_config(views: &Views, cluster: &str) -> Result<DRClusterConfig, Pending> {
    if views.presence.is_missing() {
        return Err(not_installed());
    }
    let view = ensure(views, ViewTarget::DRClusterConfig, cluster, cluster).await?;
    answer(views, &view)
}

/// The cluster ID of `cluster` by Ramen HEAD's instance check (§3), or why there is none.
pub fn cluster_id(
    managed_clusters: &Store<ManagedCluster>,
    cluster: &str,
) -> Result<String, Pending> {
    let managed: BTreeMap<String, Arc<ManagedCluster>> = managed_clusters
        .get(&ObjectRef::new(cluster))
        .map(|mc| (cluster.to_owned(), mc))
        .into_iter()
        .collect();
    drpolicy_validator::managed_cluster_id(cluster, &managed)
        .map(str::to_owned)
        .map_err(|error| Pending::new(reason::MANAGED_CLUSTER_NOT_READY, error.to_string()))
}

fn view_name(view: &ManagedClusterView) -> String {
    format!(
        "{}/{}",
        view.namespace().unwrap_or_default(),
        view.name_any()
    )
}

/// Reads one view's answer as `T`; an unanswered view waits, any other error fails.
fn answer<T: DeserializeOwned>(views: &Views, view: &ManagedClusterView) -> Result<T, Pending> {
    read_result(view).map_err(|error| unusable(views, view, &error))
}

fn unusable(views: &Views, view: &ManagedClusterView, error: &ViewError) -> Pending {
    let message = format!("ManagedClusterView {}: {error}", view_name(view));
    if error.is_unanswered() {
        Pending {
            settling: views.settling(view),
            ..Pending::new(reason::WAITING_FOR_VIEWS, message)
        }
    } else {
        Pending::new(reason::VIEW_FAILED, message)
    }
}

async fn ensure(
    views: &Views,
    target: ViewTarget,
    cluster: &str,
    object: &str,
) -> Result<std::sync::Arc<ManagedClusterView>, Pending> {
    views
        .ensure(target, cluster, object)
        .await
        .map_err(|error| {
            Pending::retried(
                reason::VIEW_FAILED,
                format!(
                    "failed to create or update ManagedClusterView {cluster}/{}: {}",
                    target.view_name(object),
                    describe(&error)
                ),
            )
        })
}

/// Ensures the views of `names` (kind `target`) on `cluster`, reads every answer, then prunes the
/// views of that kind no longer listed. Every view is ensured even after one failed.
async fn read_kind<T: DeserializeOwned>(
    views: &Views,
    target: ViewTarget,
    cluster: &str,
    names: &[String],
) -> Result<Vec<T>, Pending> {
    let mut read = Vec::with_capacity(names.len());
    let mut first_pending = None;
    for name in names {
        let outcome = match ensure(views, target, cluster, name).await {
            Ok(view) => answer::<T>(views, &view),
            Err(pending) => Err(pending),
        };
        match outcome {
            Ok(object) => read.push(object),
            Err(pending) => first_pending = Some(combine(first_pending, pending)),
        }
    }
    if let Some(pending) = first_pending {
        return Err(pending);
    }
    prune(views, target, cluster, names).await?;
    Ok(read)
}

async fn prune(
    views: &Views,
    target: ViewTarget,
    cluster: &str,
    names: &[String],
) -> Result<(), Pending> {
    let keep: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    views
        .prune(target, cluster, &keep)
        .await
        .map(|_| ())
        .map_err(|error| {
            Pending::retried(
                reason::VIEW_FAILED,
                format!(
                    "failed to delete unlisted ManagedClusterViews on {cluster}: {}",
                    describe(&error)
                ),
            )
        })
}

/// Which VolumeGroupSnapshot API `cluster` serves, by viewing the public then the private CRD (§4.5).
async fn group_snapshot_api(views: &Views, cluster: &str) -> Result<GroupSnapshotApi, Pending> {
    for api in [GroupSnapshotApi::Public, GroupSnapshotApi::Private] {
        let crd = api.crd_name();
        let view = ensure(views, ViewTarget::GroupSnapshotCrd(api), cluster, &crd).await?;
        match read_result::<serde_json::Value>(&view) {
            Ok(_) => return Ok(api),
            Err(error) if error.is_not_found() => continue,
            Err(error) => return Err(unusable(views, &view, &error)),
        }
    }
    Err(Pending::new(
        reason::VIEW_FAILED,
        format!(
            "cluster {cluster}: VolumeGroupSnapshot CRD is required. Please install either the public \
             (groupsnapshot.storage.k8s.io) or private (groupsnapshot.storage.openshift.io) \
             VolumeGroupSnapshot CRD and restart the operator"
        ),
    ))
}

async fn cluster_classes(
    views: &Views,
    managed_clusters: &Store<ManagedCluster>,
    cluster: &str,
) -> Result<ClusterClasses, Pending> {
    let id = cluster_id(managed_clusters, cluster)?;
    let config = drcluster_config(views, cluster).await?;
    let status = config.status.unwrap_or_default();
    let mut classes = ClusterClasses::new(id);

    let storage = status.storage_classes();
    if storage.is_empty() {
        // Takes no part (peer_classes decides what its stored peers become). Its class views stay:
        // such a report is usually transient (BH7), and Ramen's DRCluster controller shares them.
        return Ok(classes);
    }
    let mut first_pending = None;
    let mut keep = |outcome: Result<(), Pending>| {
        if let Err(pending) = outcome {
            first_pending = Some(combine(first_pending.take(), pending));
        }
    };
    keep(
        read_kind::<StorageClass>(views, ViewTarget::StorageClass, cluster, storage)
            .await
            .map(|read| classes.storage_classes = read),
    );
    keep(
        read_kind::<SnapshotClass>(
            views,
            ViewTarget::VolumeSnapshotClass,
            cluster,
            status.volume_snapshot_classes(),
        )
        .await
        .map(|read| classes.volume_snapshot_classes = read),
    );
    keep(
        read_kind::<ReplicationClass>(
            views,
            ViewTarget::VolumeReplicationClass,
            cluster,
            status.volume_replication_classes(),
        )
        .await
        .map(|read| classes.volume_replication_classes = read),
    );
    let group_snapshots = status.volume_group_snapshot_classes();
    let outcome = if group_snapshots.is_empty() {
        prune(
            views,
            ViewTarget::VolumeGroupSnapshotClass(GroupSnapshotApi::Public),
            cluster,
            &[],
        )
        .await
    } else {
        match group_snapshot_api(views, cluster).await {
            Ok(api) => read_kind::<SnapshotClass>(
                views,
                ViewTarget::VolumeGroupSnapshotClass(api),
                cluster,
                group_snapshots,
            )
            .await
            .map(|read| classes.volume_group_snapshot_classes = read),
            Err(pending) => Err(pending),
        }
    };
    keep(outcome);
    keep(
        read_kind::<ReplicationClass>(
            views,
            ViewTarget::VolumeGroupReplicationClass,
            cluster,
            status.volume_group_replication_classes(),
        )
        .await
        .map(|read| classes.volume_group_replication_classes = read),
    );
    match first_pending {
        Some(pending) => Err(pending),
        None => Ok(classes),
    }
}
