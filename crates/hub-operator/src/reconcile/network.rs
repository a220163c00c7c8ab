//! Network attachment validation (Ramen HEAD D8) for one reconcile: both clusters' DRClusterConfigs,
//! read through their views, must list the same NADs.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::{
    self as names, MESSAGE_NADS_MISSING, NETWORK_ATTACHMENTS_VALIDATED, REASON_NADS_MISSING,
};
use drpolicy_validator::{
    nad_clusters, nads_missing_recorded, network_mapping_enabled, validate_nads,
};
use std::sync::Arc;

use super::context::Context;
use crate::conditions::Desired;
use crate::peers;
use crate::status_fields::StatusFields;

/// What NAD validation (Ramen HEAD D8) concluded for one reconcile.
pub(super) struct NetworkOutcome {
    /// `status.networkPeers` to store (`None` when network mapping is off or none are shared).
    pub(super) network_peers: Option<Vec<drpolicy_api::NetworkPeer>>,
    /// What becomes of `NetworkAttachmentsValidated`.
    pub(super) condition: NadCondition,
    /// `Validated=False/NADsMissing` when NADs are missing on a peer cluster.
    pub(super) validated: Option<Desired>,
    /// Set when writing a view failed (retried with backoff).
    pub(super) retry: Option<String>,
}

/// What a reconcile does to `NetworkAttachmentsValidated`.
pub(super) enum NadCondition {
    /// Network mapping is off: the condition goes.
    Remove,
    /// A DRClusterConfig cannot be read yet: the condition stays as it is (as Ramen HEAD does).
    Keep,
    /// The result of the check.
    Set(Desired),
}

/// Validates the policy's network attachments when `spec.networkMappingRef.name` is set: both clusters'
/// DRClusterConfigs (through their views) must list the same NADs. While a config cannot be read,
/// everything recorded stays: the network peers, `NetworkAttachmentsValidated`, and a recorded
/// `Validated=False/NADsMissing` (`PeerClassesComputed` says what the views wait for).
pub(super) async fn network_attachments(ctx: &Context, policy: &Arc<DRPolicy>) -> NetworkOutcome {
    let mut outcome = NetworkOutcome {
        network_peers: None,
        condition: NadCondition::Remove,
        validated: None,
        retry: None,
    };
    if !network_mapping_enabled(policy) {
        return outcome;
    }
    let waiting =
        |pending: peers::Pending, stored: Option<Vec<drpolicy_api::NetworkPeer>>| NetworkOutcome {
            network_peers: stored,
            condition: NadCondition::Keep,
            validated: nads_missing_recorded(policy).then(|| {
                Desired::failed(names::VALIDATED, REASON_NADS_MISSING, MESSAGE_NADS_MISSING)
            }),
            retry: pending.retry.then_some(pending.message),
        };
    let stored = StatusFields::from_status(ctx.written(policy).status.as_ref()).network_peers;
    let (a, b) = match nad_clusters(policy) {
        Ok(pair) => pair,
        Err(error) => {
            outcome.condition = NadCondition::Set(Desired::failed(
                NETWORK_ATTACHMENTS_VALIDATED,
                REASON_NADS_MISSING,
                error.to_string(),
            ));
            return outcome;
        }
    };
    let config_a = match peers::drcluster_config(&ctx.views, a).await {
        Ok(config) => config,
        Err(pending) => return waiting(pending, stored),
    };
    let config_b = match peers::drcluster_config(&ctx.views, b).await {
        Ok(config) => config,
        Err(pending) => return waiting(pending, stored),
    };
    let validation = validate_nads(a, &config_a, b, &config_b);
    let condition = validation.condition();
    outcome.condition = NadCondition::Set(desired_of(&condition));
    outcome.validated = validation.validated().map(|v| desired_of(&v));
    outcome.network_peers =
        (!validation.network_peers.is_empty()).then_some(validation.network_peers);
    outcome
}

fn desired_of(outcome: &drpolicy_validator::ConditionOutcome) -> Desired {
    Desired {
        type_: outcome.type_,
        status: outcome.status,
        reason: outcome.reason.to_owned(),
        message: outcome.message.clone(),
    }
}
