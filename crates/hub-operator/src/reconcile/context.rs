//! Everything a reconcile uses: the client, the shared hub view, pending writes and distribution
//! state, the view client, metrics, events, the clock and the per-policy retry state.

use drpolicy_api::DRPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::Api;
use kube::runtime::events::Recorder;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use crate::context::Shared;
use crate::distribution;
use crate::hub::HubView;
use crate::liveness::Liveness;
use crate::metrics::Metrics;
use crate::ops_namespace::OpsNamespace;
use crate::pending::Pending;
use crate::queue::Backoff;
use crate::views::Views;

/// Everything a reconcile uses.
pub(crate) struct Context {
    /// API client.
    pub(crate) client: Client,
    /// The read-only hub view.
    pub(crate) hub: Arc<HubView>,
    /// Our writes the view does not show yet.
    pub(crate) pending: Arc<Pending>,
    /// Secret distribution.
    pub(crate) distribution: Arc<distribution::State>,
    /// ManagedClusterViews.
    pub(crate) views: Arc<Views>,
    /// The Ramen ops namespace, once known to exist.
    pub(crate) ops_namespace: OpsNamespace,
    /// Metrics.
    pub(crate) metrics: Metrics,
    /// Event recorder.
    pub(crate) recorder: Recorder,
    /// The clock (injectable so conditions are deterministic in tests).
    pub(crate) clock: Arc<dyn Fn() -> Time + Send + Sync>,
    /// Progress of the process (a reconcile running for too long makes it not live).
    pub(crate) liveness: Liveness,
    pub(crate) failures: Backoff,
    stale_retries: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the system clock.
    pub(crate) fn new(
        client: Client,
        shared: &Shared,
        views: Arc<Views>,
        metrics: Metrics,
        recorder: Recorder,
        liveness: Liveness,
    ) -> Self {
        Context {
            client,
            hub: shared.hub.clone(),
            pending: shared.pending.clone(),
            distribution: shared.distribution.clone(),
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

    /// `cached` (the controller's copy) as this process last wrote it.
    pub(crate) fn written(&self, cached: &Arc<DRPolicy>) -> Arc<DRPolicy> {
        self.pending.policy(cached)
    }

    /// Records our write to policy `name`, answered with `answer` (`None`: it was gone).
    pub(crate) fn wrote(&self, name: &str, answer: Option<DRPolicy>) {
        self.pending.policy_written(&self.hub, name, answer);
    }

    /// The DRPolicy API.
    pub(crate) fn policies(&self) -> Api<DRPolicy> {
        Api::all(self.client.clone())
    }

    /// Counts a quick retry after a conflict; returns how many in a row.
    pub(crate) fn stale_retry(&self, name: &str) -> u32 {
        let mut retries = self.stale_retries.lock();
        let count = retries.entry(name.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    pub(crate) fn succeeded(&self, name: &str) {
        self.failures.reset(name);
        self.stale_retries.lock().remove(name);
    }
}
