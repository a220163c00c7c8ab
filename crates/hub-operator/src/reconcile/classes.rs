//! Peer classes for one reconcile: the view walk over the policy's clusters and Ramen HEAD's
//! algorithm over their answers (`PeerClassesComputed`).

use drpolicy_api::DRPolicy;
use peer_classes::{EmptyReport, PeerClasses};
use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use crate::conditions::{Desired, PEER_CLASSES_COMPUTED};
use crate::peers;
use crate::status_fields::StatusFields;

/// What the view walk concluded for one reconcile.
pub(super) struct PeerOutcome {
    /// The peer classes to store: computed from every cluster's answers when all are there (merged into
    /// the stored lists), the stored lists unchanged otherwise.
    pub(super) peers: PeerClasses,
    /// `PeerClassesComputed`.
    pub(super) condition: Desired,
    /// Set when writing a view failed (retried with backoff); every other wait ends with a
    /// ManagedCluster or ManagedClusterView event.
    pub(super) retry: Option<String>,
    /// Set while the walk only waits for first answers to views created moments ago.
    pub(super) settling: Option<Duration>,
}

pub(super) async fn peer_classes(ctx: &Context, policy: &Arc<DRPolicy>) -> PeerOutcome {
    let stored = StatusFields::from_status(ctx.written(policy).status.as_ref()).peers;
    match peers::walk(&ctx.views, &ctx.hub.caches.managed_clusters, policy).await {
        Ok(clusters) => {
            let computed = peer_classes::update(
                &stored,
                &clusters,
                &policy.spec.scheduling_interval,
                EmptyReport::default(),
            );
            let condition = Desired::ok(
                PEER_CLASSES_COMPUTED,
                peers::reason::COMPUTED,
                format!(
                    "{} sync and {} async peer classes from the classes of clusters [{}]",
                    computed.sync.len(),
                    computed.async_.len(),
                    policy.spec.dr_clusters.join(" ")
                ),
            );
            PeerOutcome {
                peers: computed,
                condition,
                retry: None,
                settling: None,
            }
        }
        Err(pending) => {
            tracing::debug!(reason = pending.reason, "peer classes: {}", pending.message);
            PeerOutcome {
                retry: pending.retry.then(|| pending.message.clone()),
                settling: pending.settling,
                condition: Desired::failed(PEER_CLASSES_COMPUTED, pending.reason, pending.message),
                peers: stored,
            }
        }
    }
}
