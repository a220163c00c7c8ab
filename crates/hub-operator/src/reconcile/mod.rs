//! The DRPolicy reconcile, in the seed's order: read the config → deleting? → validate → label and
//! finalizer → distribution → status. The distribution itself is converged per Secret by
//! [`crate::distribution`]; a policy reports the outcomes of the Secrets it needs, and its deletion
//! waits until they were converged without it. Every read comes from the caches (except one LIST of
//! DRPlacementControls before a deletion is let go); writes are patches, and a converged policy costs
//! no request at all.

mod classes;
mod context;
mod distributed;
mod error;
mod finalize;
mod network;
mod status;

pub(crate) use context::Context;
pub(crate) use error::ReconcileError;

use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::NETWORK_ATTACHMENTS_VALIDATED;
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE, condition as names,
};
use drpolicy_validator::{is_metro, scheduling_interval_seconds, validate};
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use crate::conditions::{DELETION_BLOCKED, Desired, reason};
use crate::hub::holds_distribution;
use crate::kube_util::{describe, is_conflict};
use crate::status_fields::StatusFields;
use classes::{PeerOutcome, peer_classes};
use distributed::distribution_condition;
use finalize::finalize;
use network::{NadCondition, network_attachments};
use status::{warn_event, write_status, write_status_with};

/// Retry delay after a conflict caused by a cache that had not seen our own last write yet.
const STALE_CACHE_RETRY: Duration = Duration::from_millis(200);
/// Consecutive quick retries after conflicts before falling back to the normal backoff (a conflict
/// that persists is not a lagging cache).
const STALE_CACHE_RETRIES: u32 = 5;

/// Reconciles one DRPolicy (the kube-runtime entry point).
pub(crate) async fn reconcile(
    policy: Arc<DRPolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let span = tracing::info_span!("reconcile", drpolicy = %name);
    let _busy = ctx.liveness.busy(format!("reconcile of drpolicy {name}"));
    let timer = ctx
        .metrics
        .reconcile_duration
        .with_label_values::<&str>(&[])
        .start_timer();
    let result = reconcile_policy(&policy, &ctx).instrument(span).await;
    timer.observe_duration();
    let label = match &result {
        Ok((_, label)) => {
            ctx.succeeded(&name);
            *label
        }
        Err(
            ReconcileError::Invalid(_)
            | ReconcileError::ClusterDetails(_)
            | ReconcileError::Conflict(_)
            | ReconcileError::NadsMissing(_),
        ) => INVALID,
        Err(error) if error.is_stale_cache() => "conflict",
        Err(_) => "error",
    };
    ctx.metrics.reconciles.with_label_values(&[label]).inc();
    result.map(|(action, _)| action)
}

/// Retry policy: per-policy exponential backoff.
pub(crate) fn error_policy(
    policy: Arc<DRPolicy>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let name = policy.name_any();
    if error.is_stale_cache() && ctx.stale_retry(&name) <= STALE_CACHE_RETRIES {
        tracing::debug!(drpolicy = %name, error = %error, "cache behind a write; retrying");
        return Action::requeue(STALE_CACHE_RETRY);
    }
    let delay = ctx.failures.next(&name);
    tracing::warn!(drpolicy = %name, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// What a completed reconcile concluded, for the reconcile counter.
const SUCCESS: &str = "success";
/// See [`SUCCESS`].
const INVALID: &str = "invalid";
/// See [`SUCCESS`].
const ERROR: &str = "error";

async fn reconcile_policy(
    policy: &Arc<DRPolicy>,
    ctx: &Context,
) -> Result<(Action, &'static str), ReconcileError> {
    let config = ctx.hub.config();
    if policy.is_deleting() {
        let action = finalize(policy, ctx, config.usable(), config.current.err()).await?;
        return Ok((action, SUCCESS));
    }
    let config = match config.current {
        Ok(config) => config,
        Err(problem) => {
            let condition = Desired::failed(
                names::VALIDATED,
                names::REASON_CONFIGMAP_GET_FAILED,
                problem.to_string(),
            );
            write_status(ctx, policy, &[condition], &[]).await?;
            return Err(ReconcileError::Config(problem));
        }
    };

    if let Some(namespace) = config.ramen_ops_namespace()
        && let Err(error) = ctx.ops_namespace.ensure(&ctx.client, namespace).await
    {
        let condition = Desired::failed(
            names::VALIDATED,
            names::REASON_NAMESPACE_CREATE_FAILED,
            describe(&error),
        );
        write_status(ctx, policy, &[condition], &[]).await?;
        return Err(ReconcileError::OpsNamespace(error));
    }

    let drclusters = ctx.hub.drclusters();
    let drclusters = &*drclusters;
    // Ramen HEAD's order: the ManagedCluster gate, validation, peer classes, conflicts (with the peer
    // classes just computed); then the label and finalizer, so that a conflicting policy never starts
    // holding a distribution (HEAD distributes first and invalidates after: BH9).
    if let Err(details) = ctx.hub.cluster_gate(policy, drclusters) {
        let condition = Desired::failed(names::VALIDATED, details.reason(), details.to_string());
        if write_status(ctx, policy, &[condition], &[]).await? {
            warn_event(ctx, policy, details.reason(), &details.to_string()).await;
        }
        return Err(ReconcileError::ClusterDetails(details));
    }
    if let Err(invalid) = validate(policy, &drclusters, []) {
        let condition = Desired::failed(names::VALIDATED, invalid.reason(), invalid.to_string());
        if write_status(ctx, policy, &[condition], &[]).await? {
            warn_event(ctx, policy, invalid.reason(), &invalid.to_string()).await;
        }
        if invalid.waits_for_drclusters() {
            tracing::info!("missing dependent resources: {invalid}");
            return Ok((Action::await_change(), INVALID));
        }
        return Err(ReconcileError::Invalid(invalid));
    }

    let PeerOutcome {
        peers,
        condition: peers_condition,
        retry: views_failed,
        settling,
    } = peer_classes(ctx, policy).await;
    let mut with_peers = (**policy).clone();
    peers
        .clone()
        .write_to(with_peers.status.get_or_insert_with(Default::default));
    let network = network_attachments(ctx, policy).await;
    let fields = StatusFields {
        peers,
        network_peers: network.network_peers.clone(),
    };
    if let Err(conflict) = ctx.hub.conflicts(&with_peers, drclusters) {
        let condition = Desired::failed(names::VALIDATED, conflict.reason(), conflict.to_string());
        let conditions = [condition, peers_condition];
        if write_status_with(ctx, policy, &conditions, &[], fields).await? {
            warn_event(ctx, policy, conflict.reason(), &conflict.to_string()).await;
        }
        return Err(ReconcileError::Conflict(conflict));
    }
    if let Some(missing) = network.validated.filter(|v| !v.status) {
        // Symmetric NADs are a precondition like any other: the policy does not start holding.
        let conditions = [
            Desired::failed(names::VALIDATED, &missing.reason, missing.message.clone()),
            peers_condition,
        ];
        let mut conditions = conditions.to_vec();
        if let NadCondition::Set(condition) = &network.condition {
            conditions.insert(1, condition.clone());
        }
        if write_status_with(ctx, policy, &conditions, &[], fields).await? {
            warn_event(ctx, policy, &missing.reason, &missing.message).await;
        }
        return Err(ReconcileError::NadsMissing(missing.message));
    }

    let policy = match ensure_label_and_finalizer(ctx, policy).await {
        Ok(policy) => policy,
        Err(error) => {
            // A conflict only means our cache was behind: retry without reporting a failure.
            if !is_conflict(&error) {
                let condition = Desired::failed(
                    names::VALIDATED,
                    names::REASON_FINALIZER_ADD_FAILED,
                    describe(&error),
                );
                write_status(ctx, policy, &[condition], &[]).await?;
            }
            return Err(ReconcileError::FinalizerAdd(error));
        }
    };

    update_interval_metric(ctx, &with_peers);
    // The secrets are distributed by their own workers; this policy reports their outcome. Until every
    // secret it needs has been converged with it as a holder, nothing is written: the worker requeues
    // it, and `Validated` and `SecretsDistributed` land in one status write.
    let Some(distributed) = distribution_condition(ctx, &policy, &config, drclusters) else {
        return Ok((Action::await_change(), SUCCESS));
    };
    if let Some(left) = settling {
        // The views were just created: their answers (an event) will requeue this policy, and its
        // one status write then carries the peer classes too. The requeue is the deadline.
        tracing::debug!(?left, "waiting for the first answers of new views");
        return Ok((Action::requeue(left), SUCCESS));
    }
    let validated = Desired::ok(
        names::VALIDATED,
        names::REASON_SUCCEEDED,
        names::MESSAGE_VALIDATED,
    );
    let failed = distributed.reason == reason::DISTRIBUTION_FAILED;
    let mut conditions = vec![validated, distributed.clone(), peers_condition];
    let mut remove = vec![DELETION_BLOCKED];
    match network.condition {
        // After `Validated`, as Ramen HEAD orders them.
        NadCondition::Set(condition) => conditions.insert(1, condition),
        NadCondition::Remove => remove.push(NETWORK_ATTACHMENTS_VALIDATED),
        NadCondition::Keep => {}
    }
    let changed = write_status_with(ctx, &policy, &conditions, &remove, fields).await?;
    if changed && !distributed.status {
        warn_event(ctx, &policy, &distributed.reason, &distributed.message).await;
    }
    if let Some(message) = views_failed.or(network.retry) {
        return Err(ReconcileError::Views(message));
    }
    // A failed distribution is retried by its worker, which requeues this policy when the outcome
    // changes; it is counted here as an error.
    Ok((Action::await_change(), if failed { ERROR } else { SUCCESS }))
}

/// Ramen's schedule gauge, for policies that are not metro by Ramen HEAD's rule (D18: sync peer classes,
/// or no peer classes and a zero interval); `policy` carries its current peer classes.
fn update_interval_metric(ctx: &Context, policy: &DRPolicy) {
    let name = policy.name_any();
    match is_metro(policy) {
        Ok(false) => {}
        Ok(true) => {
            ctx.metrics.drop_interval(&name);
            return;
        }
        Err(error) => {
            // Unreachable through the CRD pattern; never let it block anything (Ramen bug B12).
            tracing::warn!("failed to check if DRPolicy supports Metro: {error}");
            ctx.metrics.drop_interval(&name);
            return;
        }
    }
    match scheduling_interval_seconds(&policy.spec.scheduling_interval) {
        Ok(seconds) => ctx.metrics.set_interval(&name, seconds),
        Err(error) => {
            tracing::warn!("{error}");
            ctx.metrics.drop_interval(&name);
        }
    }
}

async fn ensure_label_and_finalizer(
    ctx: &Context,
    policy: &Arc<DRPolicy>,
) -> Result<Arc<DRPolicy>, kube::Error> {
    // Decided on the policy as this process last wrote it: a cache behind our own patch of a
    // previous reconcile neither repeats it nor sends a stale resourceVersion.
    let policy = ctx.written(policy);
    let needs_label = !policy.labels().contains_key(OCM_BACKUP_LABEL);
    let needs_finalizer = !holds_distribution(&policy);
    if !needs_label && !needs_finalizer {
        return Ok(policy);
    }
    let mut metadata = serde_json::Map::new();
    metadata.insert("resourceVersion".into(), json!(policy.resource_version()));
    if needs_label {
        metadata.insert(
            "labels".into(),
            json!({ OCM_BACKUP_LABEL: OCM_BACKUP_LABEL_VALUE }),
        );
    }
    if needs_finalizer {
        let mut finalizers = policy.finalizers().to_vec();
        finalizers.push(DRPOLICY_FINALIZER.to_owned());
        metadata.insert("finalizers".into(), json!(finalizers));
    }
    let patch = json!({ "metadata": metadata });
    let name = policy.name_any();
    let patched = ctx
        .policies()
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    ctx.wrote(&name, Some(patched.clone()));
    Ok(Arc::new(patched))
}
