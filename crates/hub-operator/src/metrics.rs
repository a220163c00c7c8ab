//! Prometheus metrics: Ramen's `ramen_policy_schedule_interval_seconds` and Ramen HEAD's DR telemetry
//! gauges (`ramen_dr_policy_type`, `ramen_dr_protected_apps`, `ramen_dr_actions`) exactly as Ramen
//! exports them, plus reconcile counts, reconcile durations, secret distribution runs and watch errors of this
//! operator.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::{Arc, OnceLock};

use crate::dr_telemetry::Telemetry;

/// Where the telemetry counts come from when metrics are rendered (the caches, once they exist).
type TelemetrySource = Arc<dyn Fn() -> Telemetry + Send + Sync>;

/// The operator's metrics, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `ramen_policy_schedule_interval_seconds{policyname}` (non-metro policies only).
    pub schedule_interval: GaugeVec,
    /// `ramen_hub_drpolicy_reconciles_total{result}`.
    pub reconciles: IntCounterVec,
    /// `ramen_hub_drpolicy_reconcile_duration_seconds`.
    pub reconcile_duration: HistogramVec,
    /// `ramen_hub_watch_errors_total{resource}`.
    pub watch_errors: IntCounterVec,
    /// `ramen_hub_secret_distributions_total{result}`: runs of the per-Secret distribution worker.
    pub distributions: IntCounterVec,
    /// `ramen_hub_secret_distribution_duration_seconds`.
    pub distribution_duration: HistogramVec,
    /// `ramen_dr_policy_type{dr_type}`.
    pub dr_policy_type: IntGaugeVec,
    /// `ramen_dr_protected_apps{management_method}`.
    pub dr_protected_apps: IntGaugeVec,
    /// `ramen_dr_actions{action}`.
    pub dr_actions: IntGaugeVec,
    /// `ramen_hub_leader`: 1 while this process may write (holds the lease, or runs without leader
    /// election).
    pub leader: IntGauge,
    telemetry: Arc<OnceLock<TelemetrySource>>,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let schedule_interval = GaugeVec::new(
            Opts::new(
                "ramen_policy_schedule_interval_seconds",
                "Schedule interval for a policy in seconds",
            ),
            &["policyname"],
        )
        .expect("valid metric definition");
        let reconciles = IntCounterVec::new(
            Opts::new(
                "ramen_hub_drpolicy_reconciles_total",
                "DRPolicy reconciles by result (success, invalid, error)",
            ),
            &["result"],
        )
        .expect("valid metric definition");
        let reconcile_duration = HistogramVec::new(
            HistogramOpts::new(
                "ramen_hub_drpolicy_reconcile_duration_seconds",
                "Duration of DRPolicy reconciles",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
            &[],
        )
        .expect("valid metric definition");
        let watch_errors = IntCounterVec::new(
            Opts::new(
                "ramen_hub_watch_errors_total",
                "Errors of the operator's watches by resource",
            ),
            &["resource"],
        )
        .expect("valid metric definition");
        let distributions = IntCounterVec::new(
            Opts::new(
                "ramen_hub_secret_distributions_total",
                "Secret distribution runs by result (success, conflict, error, skipped)",
            ),
            &["result"],
        )
        .expect("valid metric definition");
        let distribution_duration = HistogramVec::new(
            HistogramOpts::new(
                "ramen_hub_secret_distribution_duration_seconds",
                "Duration of secret distribution runs",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
            &[],
        )
        .expect("valid metric definition");
        let gauge = |name: &str, help: &str, label: &str| {
            IntGaugeVec::new(Opts::new(name, help), &[label]).expect("valid metric definition")
        };
        let dr_policy_type = gauge(
            "ramen_dr_policy_type",
            "Count of DRPolicy resources by DR type",
            "dr_type",
        );
        let dr_protected_apps = gauge(
            "ramen_dr_protected_apps",
            "Count of DR protected applications (DRPC resources) by management method",
            "management_method",
        );
        let dr_actions = gauge(
            "ramen_dr_actions",
            "Cumulative count of DR actions initiated by existing DRPC resources",
            "action",
        );
        let leader = IntGauge::new(
            "ramen_hub_leader",
            "1 while this process holds the leader lease (always 1 without leader election)",
        )
        .expect("valid metric definition");
        for collector in [
            Box::new(schedule_interval.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(leader.clone()),
            Box::new(reconciles.clone()),
            Box::new(reconcile_duration.clone()),
            Box::new(watch_errors.clone()),
            Box::new(distributions.clone()),
            Box::new(distribution_duration.clone()),
            Box::new(dr_policy_type.clone()),
            Box::new(dr_protected_apps.clone()),
            Box::new(dr_actions.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        let metrics = Metrics {
            registry,
            schedule_interval,
            reconciles,
            reconcile_duration,
            watch_errors,
            distributions,
            distribution_duration,
            dr_policy_type,
            dr_protected_apps,
            dr_actions,
            leader,
            telemetry: Arc::new(OnceLock::new()),
        };
        // Present at 0 from the start: the hub is installed, nothing is configured yet.
        metrics.set_telemetry(Telemetry::default());
        metrics
    }

    /// Counts the DR telemetry from `source` whenever metrics are rendered (set once).
    pub fn set_telemetry_source(&self, source: impl Fn() -> Telemetry + Send + Sync + 'static) {
        let _ = self.telemetry.set(Arc::new(source));
    }

    /// Sets the seven DR telemetry series.
    pub fn set_telemetry(&self, t: Telemetry) {
        let set = |gauge: &IntGaugeVec, label: &str, value: u64| {
            gauge
                .with_label_values(&[label])
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        set(&self.dr_policy_type, "metro", t.metro);
        set(&self.dr_policy_type, "regional", t.regional);
        set(&self.dr_policy_type, "unknown", t.unknown);
        set(&self.dr_protected_apps, "discovered", t.discovered);
        set(&self.dr_protected_apps, "managed", t.managed);
        set(&self.dr_actions, "failover", t.failovers);
        set(&self.dr_actions, "relocate", t.relocations);
    }

    /// Sets the schedule interval gauge of a policy.
    pub fn set_interval(&self, policy: &str, seconds: f64) {
        self.schedule_interval
            .with_label_values(&[policy])
            .set(seconds);
    }

    /// Drops the schedule interval gauge of a policy (metro policies, deleted policies).
    pub fn drop_interval(&self, policy: &str) {
        let _ = self.schedule_interval.remove_label_values(&[policy]);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        if let Some(source) = self.telemetry.get() {
            self.set_telemetry(source());
        }
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if encoder
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
