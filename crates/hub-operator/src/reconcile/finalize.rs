//! The deletion of a policy: blocked while DRPlacementControls reference it (confirmed with one LIST
//! before letting go), then its secret distributions are released — each secret it held converged
//! without it — and only then its finalizer removed.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::{DRPOLICY_FINALIZER, condition as names};
use drpolicy_validator::needed_secrets;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use ramen_config::RamenConfig;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::context::Context;
use super::error::ReconcileError;
use super::status::{warn_event, write_status};
use crate::bounded;
use crate::conditions::{DELETION_BLOCKED, Desired, reason};
use crate::distribution::{Result as Distribution, WriteFailure};
use crate::hub::{ConfigProblem, holds_distribution};
use crate::kube_util::is_not_found;

/// How often a deletion waiting for its secrets to be released is re-checked without any event.
const RELEASE_RECHECK: Duration = Duration::from_secs(30);
/// How often a deletion blocked by DRPlacementControls is re-checked without any event.
const BLOCKED_DELETION_RECHECK: Duration = Duration::from_secs(300);

/// Finalizes a deleting policy: refused while DRPlacementControls reference it; otherwise its
/// distributions are released, then its finalizer removed.
pub(super) async fn finalize(
    policy: &Arc<DRPolicy>,
    ctx: &Context,
    config: Option<Arc<RamenConfig>>,
    config_problem: Option<ConfigProblem>,
) -> Result<Action, ReconcileError> {
    // Without our finalizer there is nothing of ours to undo, and adding one to a deleting object is
    // refused by the API server (Ramen bug B15): leave the object alone.
    if !holds_distribution(policy) {
        return Ok(Action::await_change());
    }
    let name = policy.name_any();
    let state = &ctx.distribution;
    let mut drpcs = ctx.hub.drpcs_using(&name);
    if drpcs.is_empty() && !state.is_releasing(policy) {
        // The DRPlacementControl cache may be behind (a watch gap, a relist in progress): before
        // letting go, confirm with a read of the API server.
        drpcs = drpcs_using(ctx, &name)
            .await
            .map_err(ReconcileError::DrpcList)?;
    }
    if !drpcs.is_empty() {
        if state.unrelease(&name) {
            // It holds again: restore what its release may already have removed.
            state.queue_for_policy(&ctx.hub, policy, &[]);
        }
        let message = format!(
            "deletion waits for the DRPlacementControls that reference this drpolicy ({}): {}",
            drpcs.len(),
            bounded::list(&drpcs, ", ")
        );
        let condition = Desired::ok(DELETION_BLOCKED, reason::DRPCS_EXIST, message.clone());
        if write_status(ctx, policy, &[condition], &[]).await? {
            warn_event(ctx, policy, "DeletionBlocked", &message).await;
        }
        // The DRPlacementControl watch requeues the policy when the last one goes; the slow requeue
        // is a safety net only.
        return Ok(Action::requeue(BLOCKED_DELETION_RECHECK));
    }
    let Some(config) = config else {
        let problem = config_problem.unwrap_or(ConfigProblem::NotRead);
        let message = format!(
            "deletion waits for a readable config to clean up secret distribution: {problem}"
        );
        let condition = Desired::failed(
            names::VALIDATED,
            names::REASON_CONFIGMAP_GET_FAILED,
            message.clone(),
        );
        write_status(ctx, policy, &[condition], &[]).await?;
        return Err(ReconcileError::Config(problem));
    };

    // From here on the policy holds nothing: every secret it held is converged without it (what no
    // other holder needs goes), then the finalizer goes.
    match release(ctx, policy, &config) {
        Release::Done => {}
        Release::Waiting(secrets) => {
            tracing::debug!(
                ?secrets,
                "deletion waits for the secret distribution to release"
            );
            // The distribution worker requeues this policy; the requeue is a safety net.
            return Ok(Action::requeue(RELEASE_RECHECK));
        }
        Release::Failed(failures) => {
            let error = ReconcileError::Distribution(failures);
            warn_event(ctx, policy, reason::DISTRIBUTION_FAILED, &error.to_string()).await;
            return Err(error);
        }
    }
    remove_finalizer(ctx, policy).await?;
    ctx.metrics.drop_interval(&name);
    tracing::info!("deleted: secret distribution released, finalizer removed");
    Ok(Action::await_change())
}

/// Where releasing a policy's distributions stands.
enum Release {
    /// Every secret it held was converged without it since it was marked as releasing.
    Done,
    /// These secrets have not been converged without it yet (they are queued).
    Waiting(BTreeSet<String>),
    /// Converging these secrets without it failed (retried by their workers).
    Failed(Vec<(String, Vec<WriteFailure>)>),
}

/// Marks `policy` as releasing and checks each secret it held: released once an outcome newer than
/// the mark (on the distribution clock) no longer lists it as a holder.
fn release(ctx: &Context, policy: &DRPolicy, config: &RamenConfig) -> Release {
    let name = policy.name_any();
    let state = &ctx.distribution;
    let released_at = state.release(policy);
    let drclusters = ctx.hub.drclusters();
    let mut scope = needed_secrets(policy, &*drclusters, config).secrets;
    for secret in state.known_secrets(&ctx.hub, Some(config)) {
        if state
            .outcome(&secret)
            .is_some_and(|o| o.holders.contains(&name))
        {
            scope.insert(secret);
        }
    }
    let mut waiting = BTreeSet::new();
    let mut failures = Vec::new();
    for secret in scope {
        match state.outcome(&secret) {
            Some(outcome) if outcome.epoch > released_at && !outcome.holders.contains(&name) => {
                if let Distribution::Failed(failed) = outcome.result {
                    waiting.insert(secret.clone());
                    failures.push((secret, failed));
                }
            }
            _ => {
                waiting.insert(secret);
            }
        }
    }
    if !waiting.is_empty() {
        state.wait_for(&name, &waiting);
    }
    match (failures.is_empty(), waiting.is_empty()) {
        (false, _) => Release::Failed(failures),
        (true, false) => Release::Waiting(waiting),
        (true, true) => Release::Done,
    }
}

/// Removes our finalizer (a policy already gone is fine).
async fn remove_finalizer(ctx: &Context, policy: &DRPolicy) -> Result<(), ReconcileError> {
    let name = policy.name_any();
    let finalizers: Vec<String> = policy
        .finalizers()
        .iter()
        .filter(|f| *f != DRPOLICY_FINALIZER)
        .cloned()
        .collect();
    let finalizers = if finalizers.is_empty() {
        serde_json::Value::Null
    } else {
        json!(finalizers)
    };
    let patch = json!({
        "metadata": {"resourceVersion": policy.resource_version(), "finalizers": finalizers}
    });
    let answer = match ctx
        .policies()
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(answer) => Some(answer),
        Err(error) if is_not_found(&error) => None,
        Err(error) => return Err(ReconcileError::FinalizerRemove(error)),
    };
    ctx.wrote(&name, answer);
    Ok(())
}

/// DRPlacementControls referencing policy `name`, read from the API server, as `namespace/name`.
async fn drpcs_using(ctx: &Context, name: &str) -> Result<Vec<String>, kube::Error> {
    let api: Api<drpolicy_api::DRPlacementControl> = Api::all(ctx.client.clone());
    let list = api.list(&kube::api::ListParams::default()).await?;
    Ok(crate::hub::drpc_users(&list.items, name))
}
