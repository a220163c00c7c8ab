//! The DRPolicy reconcile, in the seed's order: read the config → deleting? → validate → label and
//! finalizer → distribution → status. The distribution itself is converged per Secret by
//! [`crate::distribution`]; a policy reports the outcomes of the Secrets it needs, and its deletion
//! waits until they were converged without it. Every read comes from the caches (except one LIST of
//! DRPlacementControls before a deletion is let go); writes are patches, and a converged policy costs
//! no request at all.

use crate::status_fields::StatusFields;
use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::{
    MESSAGE_NADS_MISSING, NETWORK_ATTACHMENTS_VALIDATED, REASON_NADS_MISSING,
};
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE, condition as names,
};
use drpolicy_validator::{
    ClusterDetailsError, Conflict, Invalid, is_metro, nad_clusters, nads_missing_recorded,
    needed_secrets, network_mapping_enabled, scheduling_interval_seconds, validate, validate_nads,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use peer_classes::{EmptyReport, PeerClasses};
use ramen_config::RamenConfig;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tracing::Instrument;

use crate::bounded;
use crate::conditions::{
    self, DELETION_BLOCKED, Desired, PEER_CLASSES_COMPUTED, SECRETS_DISTRIBUTED, reason,
};
use crate::distribution::Result as Distribution;
use crate::hub::{Hub, holds_distribution};
use crate::liveness::Liveness;
use crate::metrics::Metrics;
use crate::ops_namespace::OpsNamespace;
use crate::peers;
use crate::queue::Backoff;
use crate::views::Views;

/// Why a reconcile did not complete; every variant is retried with backoff.
#[derive(Debug, Error)]
pub enum ReconcileError {
    /// The operator ConfigMap is missing or unparseable.
    #[error("config map get: {0}")]
    Config(String),
    /// The policy is invalid (other than a missing DRCluster, which waits for DRCluster events).
    #[error("validate: {0}")]
    Invalid(Invalid),
    /// Ramen HEAD's ManagedCluster gate failed (`drClusterDetailsFailed`).
    #[error("drclusters details: {0}")]
    ClusterDetails(ClusterDetailsError),
    /// The policy conflicts with another (`DRPolicyConflictFound`).
    #[error("{0}")]
    Conflict(Conflict),
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
    /// The Ramen ops namespace could not be read or created.
    #[error("failed to create RamenOpsNamespace: {}", describe(.0))]
    OpsNamespace(#[source] kube::Error),
    /// A peer cluster lacks network attachments the other has (`NADsMissing`).
    #[error("{0}")]
    NadsMissing(String),
    /// A ManagedClusterView could not be created, updated or deleted.
    #[error("drpolicy peerClass update: {0}")]
    Views(String),
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
            ReconcileError::DrpcList(_) | ReconcileError::OpsNamespace(_) => false,
            ReconcileError::Distribution { conflicts_only, .. } => *conflicts_only,
            ReconcileError::Config(_)
            | ReconcileError::Invalid(_)
            | ReconcileError::ClusterDetails(_)
            | ReconcileError::Conflict(_)
            | ReconcileError::NadsMissing(_)
            | ReconcileError::Views(_) => false,
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
    /// ManagedClusterViews.
    pub views: Arc<Views>,
    /// The Ramen ops namespace, once known to exist.
    pub ops_namespace: OpsNamespace,
    /// Metrics.
    pub metrics: Metrics,
    /// Event recorder.
    pub recorder: Recorder,
    /// The clock (injectable so conditions are deterministic in tests).
    pub clock: Arc<dyn Fn() -> Time + Send + Sync>,
    /// Progress of the process (a reconcile running for too long makes it not live).
    pub liveness: Liveness,
    failures: Backoff,
    stale_retries: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the system clock.
    pub fn new(
        client: Client,
        hub: Arc<Hub>,
        views: Arc<Views>,
        metrics: Metrics,
        recorder: Recorder,
        liveness: Liveness,
    ) -> Self {
        Context {
            client,
            hub,
            views,
            ops_namespace: OpsNamespace::default(),
            metrics,
            recorder,
            clock: Arc::new(|| Time(k8s_openapi::jiff::Timestamp::now())),
            liveness,
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

/// What NAD validation (Ramen HEAD D8) concluded for one reconcile.
struct NetworkOutcome {
    /// `status.networkPeers` to store (`None` when network mapping is off or none are shared).
    network_peers: Option<Vec<drpolicy_api::NetworkPeer>>,
    /// What becomes of `NetworkAttachmentsValidated`.
    condition: NadCondition,
    /// `Validated=False/NADsMissing` when NADs are missing on a peer cluster.
    validated: Option<Desired>,
    /// Set when writing a view failed (retried with backoff).
    retry: Option<String>,
}

/// What a reconcile does to `NetworkAttachmentsValidated`.
enum NadCondition {
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
async fn network_attachments(ctx: &Context, policy: &DRPolicy) -> NetworkOutcome {
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
    let stored = ctx.hub.status_fields_of(policy).network_peers;
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

/// What the view walk concluded for one reconcile.
struct PeerOutcome {
    /// The peer classes to store: computed from every cluster's answers when all are there (merged into
    /// the stored lists), the stored lists unchanged otherwise.
    peers: PeerClasses,
    /// `PeerClassesComputed`.
    condition: Desired,
    /// Set when writing a view failed (retried with backoff); every other wait ends with a
    /// ManagedCluster or ManagedClusterView event.
    retry: Option<String>,
    /// Set while the walk only waits for first answers to views created moments ago.
    settling: Option<Duration>,
}

async fn peer_classes(ctx: &Context, policy: &DRPolicy) -> PeerOutcome {
    let stored = ctx.hub.status_fields_of(policy).peers;
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
            format!("drpolicy deploy: {}", bounded::list(&failures, "; ")),
        ));
    }
    if !problems.is_empty() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::SECRETS_UNAVAILABLE,
            bounded::list(&problems, "; "),
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
            message: bounded::list(&failures, "; "),
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

/// Writes the merged conditions when they differ from the cached ones (other status fields as they
/// are); returns whether it wrote.
async fn write_status(
    ctx: &Context,
    policy: &DRPolicy,
    desired: &[Desired],
    remove: &[&str],
) -> Result<bool, ReconcileError> {
    let fields = ctx.hub.status_fields_of(policy);
    write_status_with(ctx, policy, desired, remove, fields).await
}

/// Writes the merged conditions and `fields` (peer classes, network peers) when either differs from
/// what the cache (or our last write) shows; returns whether it wrote. Like Ramen HEAD, every status
/// write carries `async` and `sync`.
async fn write_status_with(
    ctx: &Context,
    policy: &DRPolicy,
    desired: &[Desired],
    remove: &[&str],
    fields: StatusFields,
) -> Result<bool, ReconcileError> {
    let current = ctx.hub.conditions_of(policy);
    let current_fields = ctx.hub.status_fields_of(policy);
    let now = (ctx.clock)();
    let merged = conditions::merge(&current, desired, remove, policy.metadata.generation, &now);
    if merged.is_none() && fields == current_fields {
        return Ok(false);
    }
    let next = merged.unwrap_or(current);
    ctx.policies()
        .patch_status(
            &policy.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&fields.patch(&next)),
        )
        .await
        .map_err(ReconcileError::Status)?;
    ctx.hub.status_written(policy, next, fields);
    Ok(true)
}

async fn warn_event(ctx: &Context, policy: &DRPolicy, reason: &str, note: &str) {
    let event = Event {
        type_: EventType::Warning,
        reason: reason.to_owned(),
        note: Some(bounded::cut(note.to_owned(), bounded::EVENT_NOTE_MAX)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &policy.object_ref(&())).await {
        tracing::warn!(error = %error, "unable to publish event");
    }
}
