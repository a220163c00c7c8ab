//! The DRPolicy reconcile, in the seed's order: read the config → deleting? → validate → label and
//! finalizer → distribution → status. The distribution itself is converged per Secret by
//! [`crate::distribution`]; a policy reports the outcomes of the Secrets it needs, and its deletion
//! waits until they were converged without it. Every read comes from the caches (except one LIST of
//! DRPlacementControls before a deletion is let go); writes are patches, and a converged policy costs
//! no request at all.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE, condition as names,
};
use drpolicy_validator::{
    Invalid, needed_secrets, scheduling_interval_seconds, supports_metro, validate,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use ramen_config::RamenConfig;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tracing::Instrument;

use crate::conditions::{self, DELETION_BLOCKED, Desired, SECRETS_DISTRIBUTED, reason};
use crate::distribution::Result as Distribution;
use crate::hub::{Hub, holds_distribution};
use crate::metrics::Metrics;
use crate::queue::Backoff;

/// Why a reconcile did not complete; every variant is retried with backoff.
#[derive(Debug, Error)]
pub enum ReconcileError {
    /// The operator ConfigMap is missing or unparseable.
    #[error("config map get: {0}")]
    Config(String),
    /// The policy is invalid (other than a missing DRCluster, which waits for DRCluster events).
    #[error("validate: {0}")]
    Invalid(Invalid),
    /// Adding the label or finalizer failed.
    #[error("finalizer add update: {}", describe(.0))]
    FinalizerAdd(#[source] kube::Error),
    /// Removing the finalizer failed.
    #[error("finalizer remove update: {}", describe(.0))]
    FinalizerRemove(#[source] kube::Error),
    /// Writing the status failed.
    #[error("unable to set drpolicy status: {}", describe(.0))]
    Status(#[source] kube::Error),
    /// The DRPlacementControls could not be listed to confirm a deletion.
    #[error("unable to list drplacementcontrols: {}", describe(.0))]
    DrpcList(#[source] kube::Error),
    /// Some OCM object or Secret finalizer could not be written.
    #[error("drpolicy deploy: {message}")]
    Distribution {
        /// What failed.
        message: String,
        /// Whether every failure was an optimistic-concurrency conflict (a stale cache).
        conflicts_only: bool,
    },
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

impl ReconcileError {
    /// Whether the failure only means the cache was behind a write (409 Conflict): the next attempt,
    /// once the watch caught up, will succeed, so it is retried soon and quietly.
    pub fn is_stale_cache(&self) -> bool {
        match self {
            ReconcileError::FinalizerAdd(e)
            | ReconcileError::FinalizerRemove(e)
            | ReconcileError::Status(e) => is_conflict(e),
            ReconcileError::DrpcList(_) => false,
            ReconcileError::Distribution { conflicts_only, .. } => *conflicts_only,
            ReconcileError::Config(_) | ReconcileError::Invalid(_) => false,
        }
    }
}

/// An API error as one line: the server's message, not the whole Status structure.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
        other => other.to_string(),
    }
}

/// Retry delay after a conflict caused by a cache that had not seen our own last write yet.
const STALE_CACHE_RETRY: Duration = Duration::from_millis(200);
/// How often a deletion waiting for its secrets to be released is re-checked without any event.
const RELEASE_RECHECK: Duration = Duration::from_secs(30);
/// How often a deletion blocked by DRPlacementControls is re-checked without any event.
const BLOCKED_DELETION_RECHECK: Duration = Duration::from_secs(300);
/// Consecutive quick retries after conflicts before falling back to the normal backoff (a conflict
/// that persists is not a lagging cache).
const STALE_CACHE_RETRIES: u32 = 5;

/// Everything a reconcile uses.
pub struct Context {
    /// API client.
    pub client: Client,
    /// Caches and derived state.
    pub hub: Arc<Hub>,
    /// Metrics.
    pub metrics: Metrics,
    /// Event recorder.
    pub recorder: Recorder,
    /// The clock (injectable so conditions are deterministic in tests).
    pub clock: Arc<dyn Fn() -> Time + Send + Sync>,
    failures: Backoff,
    stale_retries: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the system clock.
    pub fn new(client: Client, hub: Arc<Hub>, metrics: Metrics, recorder: Recorder) -> Self {
        Context {
            client,
            hub,
            metrics,
            recorder,
            clock: Arc::new(|| Time(k8s_openapi::jiff::Timestamp::now())),
            failures: Backoff::default(),
            stale_retries: Mutex::new(HashMap::new()),
        }
    }

    fn policies(&self) -> Api<DRPolicy> {
        Api::all(self.client.clone())
    }

    /// Counts a quick retry after a conflict; returns how many in a row.
    fn stale_retry(&self, name: &str) -> u32 {
        let mut retries = self
            .stale_retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = retries.entry(name.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    fn succeeded(&self, name: &str) {
        self.failures.reset(name);
        self.stale_retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
    }
}

/// Reconciles one DRPolicy (the kube-runtime entry point).
pub async fn reconcile(policy: Arc<DRPolicy>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let span = tracing::info_span!("reconcile", drpolicy = %name);
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
        Err(ReconcileError::Invalid(_)) => INVALID,
        Err(error) if error.is_stale_cache() => "conflict",
        Err(_) => "error",
    };
    ctx.metrics.reconciles.with_label_values(&[label]).inc();
    result.map(|(action, _)| action)
}

/// Retry policy: per-policy exponential backoff.
pub fn error_policy(policy: Arc<DRPolicy>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
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
        Err(message) => {
            let condition = Desired::failed(
                names::VALIDATED,
                names::REASON_CONFIGMAP_GET_FAILED,
                message.clone(),
            );
            write_status(ctx, policy, &[condition], &[]).await?;
            return Err(ReconcileError::Config(message));
        }
    };

    let drclusters = ctx.hub.drclusters();
    let drclusters = &*drclusters;
    // Conflicts need other policies only when one of this policy's clusters shares its region.
    let others = if ctx.hub.may_conflict(policy) {
        ctx.hub.policies_sharing_clusters(policy)
    } else {
        Vec::new()
    };
    if let Err(invalid) = validate(policy, &drclusters, others.iter().map(AsRef::as_ref)) {
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

    update_interval_metric(ctx, &policy, drclusters);
    // The secrets are distributed by their own workers; this policy reports their outcome. Until every
    // secret it needs has been converged with it as a holder, nothing is written: the worker requeues
    // it, and `Validated` and `SecretsDistributed` land in one status write.
    let Some(distributed) = distribution_condition(ctx, &policy, &config, drclusters) else {
        return Ok((Action::await_change(), SUCCESS));
    };
    let validated = Desired::ok(
        names::VALIDATED,
        names::REASON_SUCCEEDED,
        names::MESSAGE_VALIDATED,
    );
    let failed = distributed.reason == reason::DISTRIBUTION_FAILED;
    let changed = write_status(
        ctx,
        &policy,
        &[validated, distributed.clone()],
        &[DELETION_BLOCKED],
    )
    .await?;
    if changed && !distributed.status {
        warn_event(ctx, &policy, &distributed.reason, &distributed.message).await;
    }
    // A failed distribution is retried by its worker, which requeues this policy when the outcome
    // changes; it is counted here as an error.
    Ok((Action::await_change(), if failed { ERROR } else { SUCCESS }))
}

/// Ramen's gauge, for non-metro policies only.
fn update_interval_metric(
    ctx: &Context,
    policy: &DRPolicy,
    drclusters: &BTreeMap<String, Arc<drpolicy_api::DRCluster>>,
) {
    let name = policy.name_any();
    if supports_metro(policy, drclusters) {
        ctx.metrics.drop_interval(&name);
        return;
    }
    match scheduling_interval_seconds(&policy.spec.scheduling_interval) {
        Ok(seconds) => ctx.metrics.set_interval(&name, seconds),
        Err(error) => {
            // Unreachable through the CRD pattern; never let it block distribution (Ramen bug B12).
            tracing::warn!("{error}");
            ctx.metrics.drop_interval(&name);
        }
    }
}

async fn ensure_label_and_finalizer(
    ctx: &Context,
    policy: &Arc<DRPolicy>,
) -> Result<Arc<DRPolicy>, kube::Error> {
    let needs_label = !policy.labels().contains_key(OCM_BACKUP_LABEL);
    let needs_finalizer = !holds_distribution(policy);
    if !needs_label && !needs_finalizer {
        return Ok(policy.clone());
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
    let patched = Arc::new(
        ctx.policies()
            .patch(
                &policy.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?,
    );
    if needs_finalizer {
        ctx.hub.finalizer_added(patched.clone());
    }
    Ok(patched)
}

/// The `SecretsDistributed` condition of a valid policy, from the outcomes of the secrets it needs;
/// `None` while one of them has not been converged with this policy as a holder (the distribution
/// worker requeues the policy when it has).
fn distribution_condition(
    ctx: &Context,
    policy: &DRPolicy,
    config: &RamenConfig,
    drclusters: &BTreeMap<String, Arc<drpolicy_api::DRCluster>>,
) -> Option<Desired> {
    let name = policy.name_any();
    let needs = needed_secrets(policy, drclusters, config);
    let mut pending = BTreeSet::new();
    let mut failures = Vec::new();
    let mut problems: Vec<String> = needs
        .problems
        .iter()
        .map(|p| format!("drpolicy {name}: {p}"))
        .collect();
    let mut distributed = Vec::new();
    for secret in &needs.secrets {
        let outcome = ctx
            .hub
            .distribution
            .outcome(secret)
            .filter(|o| o.holders.contains(&name));
        match outcome.map(|o| o.result) {
            None => {
                pending.insert(secret.clone());
            }
            Some(Distribution::Distributed) => distributed.push(secret.as_str()),
            Some(Distribution::Disabled) if config.secret_distribution_enabled() => {
                // Converged under an older config; the config change requeued the secret.
                pending.insert(secret.clone());
            }
            Some(Distribution::Disabled) => {}
            Some(Distribution::Unavailable(why)) => problems.push(why),
            Some(Distribution::Failed(why)) => failures.push(format!("secret {secret}: {why}")),
        }
    }
    if !pending.is_empty() {
        tracing::debug!(secrets = ?pending, "waiting for secret distribution");
        ctx.hub.distribution.wait_for(&name, &pending);
        return None;
    }
    if !config.secret_distribution_enabled() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::DISTRIBUTION_DISABLED,
            "S3 secret distribution is disabled: drClusterOperator.deploymentAutomationEnabled and \
             drClusterOperator.s3SecretDistributionEnabled must both be true",
        ));
    }
    if !failures.is_empty() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::DISTRIBUTION_FAILED,
            format!("drpolicy deploy: {}", failures.join("; ")),
        ));
    }
    if !problems.is_empty() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::SECRETS_UNAVAILABLE,
            problems.join("; "),
        ));
    }
    Some(Desired::ok(
        SECRETS_DISTRIBUTED,
        reason::DISTRIBUTED,
        format!(
            "secrets [{}] distributed to clusters [{}]",
            distributed.join(" "),
            policy.spec.dr_clusters.join(" ")
        ),
    ))
}

async fn finalize(
    policy: &Arc<DRPolicy>,
    ctx: &Context,
    config: Option<Arc<RamenConfig>>,
    config_error: Option<String>,
) -> Result<Action, ReconcileError> {
    // Without our finalizer there is nothing of ours to undo, and adding one to a deleting object is
    // refused by the API server (Ramen bug B15): leave the object alone.
    if !holds_distribution(policy) {
        return Ok(Action::await_change());
    }
    let name = policy.name_any();
    let state = &ctx.hub.distribution;
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
            ctx.hub.distribute_for_policy(policy, &[]);
        }
        let message = format!(
            "deletion waits for the DRPlacementControls that reference this drpolicy: {}",
            drpcs.join(", ")
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
        let message = format!(
            "deletion waits for a readable config to clean up secret distribution: {}",
            config_error.unwrap_or_default()
        );
        let condition = Desired::failed(
            names::VALIDATED,
            names::REASON_CONFIGMAP_GET_FAILED,
            message.clone(),
        );
        write_status(ctx, policy, &[condition], &[]).await?;
        return Err(ReconcileError::Config(message));
    };

    // From here on the policy holds nothing: every secret it held is converged without it (what no
    // other holder needs goes), then the finalizer goes.
    let released_at = state.release(policy);
    let drclusters = ctx.hub.drclusters();
    let drclusters = &*drclusters;
    let mut scope = needed_secrets(policy, &drclusters, &config).secrets;
    for secret in ctx.hub.known_secrets(Some(&config)) {
        if state
            .outcome(&secret)
            .is_some_and(|o| o.holders.contains(&name))
        {
            scope.insert(secret);
        }
    }
    let mut waiting = BTreeSet::new();
    let mut failures = Vec::new();
    for secret in &scope {
        match state.outcome(secret) {
            Some(outcome) if outcome.epoch > released_at && !outcome.holders.contains(&name) => {
                if let Distribution::Failed(why) = outcome.result {
                    failures.push(format!("secret {secret}: {why}"));
                    waiting.insert(secret.clone());
                }
            }
            _ => {
                waiting.insert(secret.clone());
            }
        }
    }
    if !waiting.is_empty() {
        state.wait_for(&name, &waiting);
    }
    if !failures.is_empty() {
        let error = ReconcileError::Distribution {
            message: failures.join("; "),
            conflicts_only: false,
        };
        warn_event(ctx, policy, reason::DISTRIBUTION_FAILED, &error.to_string()).await;
        return Err(error);
    }
    if !waiting.is_empty() {
        tracing::debug!(secrets = ?waiting, "deletion waits for the secret distribution to release");
        // The distribution worker requeues this policy; the requeue is a safety net.
        return Ok(Action::requeue(RELEASE_RECHECK));
    }

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
    match ctx
        .policies()
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => return Err(ReconcileError::FinalizerRemove(error)),
    }
    ctx.hub.finalizer_removed(policy);
    ctx.metrics.drop_interval(&name);
    tracing::info!("deleted: secret distribution released, finalizer removed");
    Ok(Action::await_change())
}

/// DRPlacementControls referencing policy `name`, read from the API server, as `namespace/name`.
async fn drpcs_using(ctx: &Context, name: &str) -> Result<Vec<String>, kube::Error> {
    let api: Api<drpolicy_api::DRPlacementControl> = Api::all(ctx.client.clone());
    let list = api.list(&kube::api::ListParams::default()).await?;
    Ok(crate::hub::drpc_users(&list.items, name))
}

/// Writes the merged conditions when they differ from the cached ones; returns whether it wrote.
async fn write_status(
    ctx: &Context,
    policy: &DRPolicy,
    desired: &[Desired],
    remove: &[&str],
) -> Result<bool, ReconcileError> {
    let current = ctx.hub.conditions_of(policy);
    Ok(write_conditions(ctx, policy, &current, desired, remove)
        .await?
        .is_some())
}

/// Merges `desired` into `current` and writes the result when it differs; returns what it wrote.
async fn write_conditions(
    ctx: &Context,
    policy: &DRPolicy,
    current: &[Condition],
    desired: &[Desired],
    remove: &[&str],
) -> Result<Option<Vec<Condition>>, ReconcileError> {
    let now = (ctx.clock)();
    let Some(next) = conditions::merge(current, desired, remove, policy.metadata.generation, &now)
    else {
        return Ok(None);
    };
    let patch = json!({"status": {"conditions": next}});
    ctx.policies()
        .patch_status(
            &policy.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(ReconcileError::Status)?;
    ctx.hub.status_written(policy, next.clone());
    Ok(Some(next))
}

async fn warn_event(ctx: &Context, policy: &DRPolicy, reason: &str, note: &str) {
    let event = Event {
        type_: EventType::Warning,
        reason: reason.to_owned(),
        note: Some(truncate_bytes(note, 1024).to_owned()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &policy.object_ref(&())).await {
        tracing::warn!(error = %error, "unable to publish event");
    }
}

/// The longest prefix of `text` within `max` bytes, cut at a character boundary (event notes are
/// limited to 1 KiB).
fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::truncate_bytes;

    #[test]
    fn event_notes_are_cut_at_a_character_boundary_within_the_byte_limit() {
        let note = "é".repeat(600); // 1200 bytes
        let cut = truncate_bytes(&note, 1024);
        assert_eq!(cut.len(), 1024);
        assert_eq!(truncate_bytes(&note, 1023).len(), 1022);
        assert_eq!(truncate_bytes("short", 1024), "short");
    }
}
