//! What an event of each secondary kind requeues: policies (through the index) and secrets to
//! distribute. One function per kind; each is called by [`super::watch::spawn_watch`] for every change
//! after the first list.

use drpolicy_api::names::SECRET_POLICY_FINALIZER;
use drpolicy_api::{DRCluster, DRPlacementControl};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::core::PartialObjectMeta;
use kube::{Resource, ResourceExt};

use super::requeue::Requeue;
use super::watch::{Change, object};
use crate::context::SharedCell;
use crate::distribution::Kind;
use crate::pending::{Observed, Overlay, Stamp, Stamped};

/// DRClusters → the policies listing them, and every known secret (a cluster's profile, region or
/// validity can change any secret's holders).
pub(crate) fn drclusters(
    shared: SharedCell,
    requeue: Requeue,
) -> impl FnMut(Change<'_, DRCluster>) + Send + 'static {
    move |change| {
        let Some(shared) = shared.get() else { return };
        // Also after a (re)list: the map is rebuilt from the store.
        shared.hub.drclusters_changed();
        let Some(name) = object(&change).and_then(|c| c.metadata.name.as_deref()) else {
            return;
        };
        requeue.cluster(&shared.hub, name);
        shared.distribution.queue_all(&shared.hub);
    }
}

/// DRPlacementControls → the policy they reference.
pub(crate) fn drpcs(
    requeue: Requeue,
) -> impl FnMut(Change<'_, DRPlacementControl>) + Send + 'static {
    move |change| {
        let Some(drpc) = object(&change) else { return };
        let policy = drpc.dr_policy_name();
        if !policy.is_empty() {
            requeue.policy(policy);
        }
    }
}

/// Secret metadata of the operator namespace → its distribution, when a profile names it or it
/// carries our finalizer (and the event is not our own finalizer write).
pub(crate) fn secrets(
    shared: SharedCell,
) -> impl FnMut(Change<'_, PartialObjectMeta<Secret>>) + Send + 'static {
    move |change| {
        let Some(shared) = shared.get() else { return };
        let deleted = matches!(change, Change::Deleted(_));
        let Some(meta) = object(&change) else { return };
        let Some(name) = meta.metadata.name.as_deref() else {
            return;
        };
        if deleted {
            // Whatever we wrote is moot, and the outcome changes (deleting → missing).
            shared.pending.secrets.forget(name);
        } else if shared
            .pending
            .secrets
            .observed(name, Observed::Present(Stamp::of(meta)))
        {
            // Our own finalizer write: the run that made it already used it.
            return;
        }
        let ours = meta
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == SECRET_POLICY_FINALIZER);
        if ours || shared.distribution.concerns_secret(&shared.hub, name) {
            shared.distribution.queue.add(name);
        }
    }
}

/// The operator ConfigMap → every policy and every known secret, when its resourceVersion changes.
pub(crate) fn configmap(
    shared: SharedCell,
    requeue: Requeue,
) -> impl FnMut(Change<'_, ConfigMap>) + Send + 'static {
    let mut last_version: Option<String> = None;
    move |change| {
        let Some(configmap) = object(&change) else {
            return;
        };
        let version = configmap.resource_version();
        if version != last_version {
            last_version = version;
            let _ = requeue.all.send(());
            if let Some(shared) = shared.get() {
                shared.distribution.queue_all(&shared.hub);
            }
        }
    }
}

/// Distribution objects (ours, by label) → the secret they belong to (drift is repaired), unless the
/// event is our own write.
pub(crate) fn ocm<K>(
    shared: SharedCell,
    kind: Kind,
    overlay: fn(&crate::pending::Pending) -> &Overlay<std::sync::Arc<K>>,
) -> impl FnMut(Change<'_, K>) + Send + 'static
where
    K: Resource + 'static,
    std::sync::Arc<K>: Stamped,
{
    move |change| {
        let Some(shared) = shared.get() else { return };
        let deleted = matches!(change, Change::Deleted(_));
        let Some(object) = object(&change) else {
            return;
        };
        let name = object.meta().name.clone().unwrap_or_default();
        let event = match deleted {
            true => Observed::Deleted(Stamp::of(object)),
            false => Observed::Present(Stamp::of(object)),
        };
        if overlay(&shared.pending).observed(&name, event) {
            // Our own write: the run that made it already used it.
            return;
        }
        for secret in kind.secrets_of(&name) {
            shared.distribution.queue.add(&secret);
        }
    }
}
