//! The RamenDR hub DRPolicy operator: watches DRPolicies and what they depend on, validates them, and
//! distributes their S3 secrets through OCM governance objects, wired from the `drpolicy-api`,
//! `ramen-config`, `drpolicy-validator` and `secret-propagator` crates.
//!
//! [`run`] is the whole process (probes, leader election, controller); [`run_controller`] is the
//! controller alone, which integration tests run in-process against the embedded API server.
//!
//! # Layers
//! Each module depends only on those below it; none imports one above it.
//!
//! ```text
//! lib (run, run_controller)        wiring: watches → shared state → controller, workers, janitor
//! watches/                         watch → store; events (and relist differences) → requeues
//! reconcile/                       one DRPolicy: config → deleting? → checks → finalizer → status
//! distribution/                    the per-Secret queue, its workers, outcomes, who is releasing
//! context                          what watches, workers and reconciles share (side by side)
//! holders                          who holds which Secret: a pure function of a snapshot
//! pending                          what we wrote and wait to see: one overlay rule for every kind
//! hub/                             the read-only view: stores, policy index, config, DRClusters
//! kube_util, presence, queue, …    helpers: API errors, served APIs, work queue and backoff
//! ```
//!
//! Where to look: "who holds which Secret" is `holders` (fed by `distribution::State::holders`);
//! "what we wrote and are waiting to see" is `pending`; "how a policy is reconciled" is `reconcile`.
#![warn(missing_docs)]

// The public surface: what the binary, the integration tests and sibling tools use.
pub mod cli;
pub mod client;
pub mod fence;
pub mod http;
pub mod leader;
pub mod liveness;
pub mod metrics;
pub mod metrics_auth;
pub mod metrics_tls;
pub mod release;
pub mod settings;
pub mod telemetry;

// The controller, layer by layer (see the crate doc).
mod bounded;
mod conditions;
mod context;
mod distribution;
mod dr_telemetry;
mod holders;
mod hub;
mod kube_util;
mod ops_namespace;
mod peers;
mod pending;
mod presence;
mod queue;
mod reconcile;
mod secret_meta;
mod status_fields;
mod views;
mod watches;

use drpolicy_api::DRPolicy;
use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::context::{Shared, SharedCell};
use crate::http::Readiness;
use crate::hub::HubView;
use crate::liveness::Liveness;
use crate::metrics::Metrics;
use crate::reconcile::Context;
use crate::settings::Settings;
use crate::watches::requeue::Requeue;

/// Name under which the operator writes (events, field manager).
pub const CONTROLLER_NAME: &str = "ramen-hub-operator";

/// A shareable shutdown signal.
pub type Shutdown = futures::future::Shared<BoxFuture<'static, ()>>;

/// Turns any future into a [`Shutdown`].
pub fn shutdown_signal(fut: impl Future<Output = ()> + Send + 'static) -> Shutdown {
    fut.boxed().shared()
}

/// What the controller needs besides the client.
#[derive(Clone)]
pub struct ControllerOptions {
    /// The operator namespace.
    pub namespace: String,
    /// DRPolicy reconciles in parallel.
    pub concurrency: u16,
    /// This process' identity (events).
    pub identity: String,
    /// Metrics to update.
    pub metrics: Metrics,
    /// Set once every cache has synced.
    pub readiness: Readiness,
    /// Progress of the process, for `/healthz`: the controller registers its work queues, and its
    /// watches' server-side timeout follows the limits (the client must carry
    /// [`liveness::Liveness::layer`] for the watches to count).
    pub liveness: Liveness,
}

/// Runs the DRPolicy controller (and the ConfigMap label controller) until `shutdown` resolves.
///
/// It starts every watch, waits for the caches to sync (so nothing is judged on a partial view), then
/// reconciles.
pub async fn run_controller(
    client: Client,
    options: ControllerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (policies_tx, policies_rx) = tokio::sync::mpsc::unbounded_channel();
    let (all_tx, all_rx) = tokio::sync::mpsc::unbounded_channel();
    let (released_tx, released_rx) = tokio::sync::mpsc::unbounded_channel();
    let requeue = Requeue {
        policies: policies_tx.clone(),
        all: all_tx,
        released_clusters: released_tx,
    };
    let shared_cell: SharedCell = Arc::new(OnceLock::new());
    let base =
        watcher::Config::default().timeout(liveness::watch_timeout(&options.liveness.limits()));
    let (policy_store, policy_writer) = reflector::store::<DRPolicy>();
    let secondary = watches::start_secondary(
        policy_store.clone(),
        &client,
        &base,
        &options.namespace,
        shared_cell.clone(),
        requeue.clone(),
        &options.metrics,
    );
    let stream = watches::policies::policy_stream(
        &client,
        &base,
        policy_writer,
        shared_cell.clone(),
        requeue,
        options.metrics.clone(),
        options.readiness.clone(),
    );
    let hub = Arc::new(HubView::new(
        options.namespace.clone(),
        secondary.caches.clone(),
        secondary.clusters.managed_cluster_api.clone(),
    ));
    let shared = Arc::new(Shared {
        hub: hub.clone(),
        pending: Arc::default(),
        distribution: Arc::default(),
    });
    let _ = shared_cell.set(shared.clone());

    let caches = hub.caches.clone();
    let (managed_cluster_api, view_api) = (
        secondary.clusters.managed_cluster_api.clone(),
        secondary.clusters.view_api.clone(),
    );
    let views = secondary.clusters.view_client.clone();
    let synced = async move {
        caches.drclusters.wait_until_ready().await?;
        caches.drpcs.wait_until_ready().await?;
        caches.secrets.wait_until_ready().await?;
        caches.configmaps.wait_until_ready().await?;
        caches.ocm_policies.wait_until_ready().await?;
        caches.placement_rules.wait_until_ready().await?;
        caches.placement_bindings.wait_until_ready().await?;
        // OCM's kinds may not be served: wait for their first list only while they might be.
        optional_ready(&caches.managed_clusters, &managed_cluster_api).await;
        optional_ready(&caches.views, &view_api).await;
        Ok::<_, reflector::store::WriterDropped>(())
    };
    tokio::select! {
        _ = shutdown.clone() => {
            secondary.tasks.iter().for_each(|t| t.abort());
            return Ok(());
        }
        result = synced => result?,
    }
    tracing::info!("secondary caches synced");
    let counted = hub.caches.clone();
    options.metrics.set_telemetry_source(move || {
        let policies = counted.policies.state();
        let drpcs = counted.drpcs.state();
        dr_telemetry::count(
            policies.iter().map(AsRef::as_ref),
            drpcs.iter().map(AsRef::as_ref),
        )
    });

    let reporter = Reporter {
        controller: CONTROLLER_NAME.into(),
        instance: Some(options.identity.clone()),
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        &shared,
        views.clone(),
        options.metrics.clone(),
        Recorder::new(client.clone(), reporter),
        options.liveness.clone(),
    ));
    let distribution = shared.distribution.clone();
    options.liveness.add_check(move || {
        // The workers start once the DRPolicy cache has listed: nothing waits on them before.
        let started = distribution.policies_synced_at()?;
        distribution.queue.oldest().map(|(secret, since)| {
            (
                format!("distribution of secret {secret}"),
                since.max(started),
            )
        })
    });

    // The secret distribution workers, as many as policy reconciles run in parallel.
    let worker = Arc::new(distribution::Worker {
        client: client.clone(),
        hub: shared.hub.clone(),
        pending: shared.pending.clone(),
        state: shared.distribution.clone(),
        metrics: options.metrics.clone(),
        requeue: policies_tx,
    });
    let workers = futures::future::join_all(
        (0..options.concurrency.max(1)).map(|_| worker.clone().run(shutdown.clone())),
    );

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &options.namespace);
    let label_controller = Controller::new(
        configmaps,
        base.fields(&format!("metadata.name={HUB_OPERATOR_CONFIGMAP}")),
    )
    .graceful_shutdown_on(shutdown.clone())
    .run(
        label_configmap,
        label_error_policy,
        Arc::new(client.clone()),
    )
    .for_each(|_| futures::future::ready(()));

    let readiness = options.readiness.clone();
    let janitor = views::release_unused(
        views,
        ctx.hub.clone(),
        released_rx,
        move || readiness.is_ready(),
        shutdown.clone(),
    );
    let policy_controller = Controller::for_stream(stream, policy_store)
        .with_config(
            controller::Config::default()
                .concurrency(options.concurrency)
                // Coalesce bursts of events (our own writes come back as several watch events).
                .debounce(Duration::from_millis(100)),
        )
        .reconcile_on(UnboundedReceiverStream::new(policies_rx))
        .reconcile_all_on(UnboundedReceiverStream::new(all_rx))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(error = %error, "controller");
            }
            futures::future::ready(())
        });

    tokio::join!(label_controller, policy_controller, workers, janitor);
    options.readiness.set(false);
    secondary.tasks.iter().for_each(|t| t.abort());
    Ok(())
}

/// Waits until `store` has listed, or its API is known not to be served — at most
/// [`OPTIONAL_SYNC_DEADLINE`]: a kind we cannot list for another reason (RBAC not upgraded yet, a
/// failing aggregated API) must not keep the controller from starting; reads then find nothing, and
/// the conditions say what is missing.
async fn optional_ready<K>(store: &reflector::Store<K>, presence: &presence::ApiPresence)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    let deadline = tokio::time::Instant::now() + OPTIONAL_SYNC_DEADLINE;
    while !presence.is_missing() {
        let listed = tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready());
        if matches!(listed.await, Ok(Ok(()))) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            tracing::warn!(
                kind = K::kind(&K::DynamicType::default()).as_ref(),
                "could not list this kind in time; starting without it"
            );
            return;
        }
    }
}

/// How long startup waits for the first list of an OCM kind the hub may not serve.
const OPTIONAL_SYNC_DEADLINE: Duration = Duration::from_secs(30);

/// Makes sure the operator ConfigMap carries the OCM backup label (without overwriting a value).
async fn label_configmap(
    configmap: Arc<ConfigMap>,
    client: Arc<Client>,
) -> Result<Action, kube::Error> {
    if configmap.labels().contains_key(OCM_BACKUP_LABEL) {
        return Ok(Action::await_change());
    }
    let api: Api<ConfigMap> = Api::namespaced(
        (*client).clone(),
        configmap.namespace().as_deref().unwrap_or_default(),
    );
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": configmap.resource_version(),
            "labels": { OCM_BACKUP_LABEL: OCM_BACKUP_LABEL_VALUE },
        }
    });
    api.patch(
        &configmap.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    tracing::info!(
        configmap = HUB_OPERATOR_CONFIGMAP,
        "added the OCM backup label"
    );
    Ok(Action::await_change())
}

fn label_error_policy(_: Arc<ConfigMap>, error: &kube::Error, _: Arc<Client>) -> Action {
    tracing::warn!(error = %error, "unable to label the operator ConfigMap");
    Action::requeue(Duration::from_secs(5))
}

/// The names of the self-signed metrics certificate: `localhost`, and the pod name when it is a DNS
/// name.
fn self_signed_names(identity: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if drpolicy_api::dns_names::is_dns1123_subdomain(identity) {
        names.push(identity.to_owned());
    }
    names
}

/// The whole process: probe and metrics endpoints, leader election, then the controller, until
/// `shutdown` resolves or the lease is lost.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Metrics,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let readiness = Readiness::default();
    let liveness = Liveness::new(settings.liveness);
    let client = liveness.observe(client);
    let secure = match settings.metrics_secure {
        false => None,
        true => Some(http::SecureMetrics {
            tls: metrics_tls::server_config(
                settings.metrics_cert_dir.as_deref(),
                &self_signed_names(&settings.identity),
            )?,
            authorizer: metrics_auth::Authorizer::new(client.clone()),
        }),
    };
    let (health, metrics_address) = http::serve(
        settings.health_address,
        settings.metrics_address,
        readiness.clone(),
        liveness.clone(),
        metrics.clone(),
        secure,
    )
    .await?;
    match metrics_address {
        Some(metrics) => {
            tracing::info!(%health, %metrics, namespace = %settings.namespace, "serving probes and metrics");
        }
        None => {
            tracing::info!(%health, namespace = %settings.namespace, "serving probes; metrics disabled (bind address \"0\")");
        }
    }
    let options = ControllerOptions {
        namespace: settings.namespace.clone(),
        concurrency: settings.max_concurrent_reconciles,
        identity: settings.identity.clone(),
        metrics,
        readiness: readiness.clone(),
        liveness,
    };
    if !settings.leader_elect {
        options.metrics.leader.set(1);
        return run_controller(client, options, shutdown).await;
    }
    // A standby is healthy and ready to take over.
    readiness.set(true);
    let lease_client = fence::fenced(
        client.clone(),
        fence::Fence::open(),
        client::identified_user_agent(&settings.identity, Some("leader-election")),
    );
    let acquire = leader::acquire(
        lease_client,
        &settings.namespace,
        &settings.leader_election_id,
        &settings.identity,
    );
    let mut leadership = tokio::select! {
        _ = shutdown.clone() => return Ok(()),
        held = acquire => held,
    };
    readiness.set(false);
    options.metrics.leader.set(1);
    // Every write of the controller passes the fence: none is sent once the renew deadline passed.
    let fence = leadership.fence();
    let writer = fence::fenced(
        client,
        fence.clone(),
        client::identified_user_agent(&settings.identity, None),
    );
    let stop = shutdown_signal({
        let (shutdown, fence) = (shutdown.clone(), fence.clone());
        async move {
            tokio::select! {
                _ = shutdown => {}
                _ = fence.closed() => {}
            }
        }
    });
    let leader_gauge = options.metrics.leader.clone();
    let controller = run_controller(writer, options, stop);
    tokio::pin!(controller);
    // The lease is renewed while the controller runs, including while it drains on shutdown.
    let lost = tokio::select! {
        result = &mut controller => {
            if fence.is_open() {
                leader_gauge.set(0);
                leadership.release().await;
                return result;
            }
            leader::Lost::Deadline
        }
        lost = leadership.keep() => lost,
    };
    // No drain: the fence already refuses every write; exiting makes the Pod restart as a standby.
    leader_gauge.set(0);
    tracing::error!(error = %lost, "leader election lost; exiting");
    Err(anyhow::anyhow!(
        "leader election lost: {lost}; stopped writing at once"
    ))
}
