//! Prometheus metrics: Ramen's `ramen_policy_schedule_interval_seconds` exactly as Ramen exports it,
//! plus reconcile counts, reconcile durations, secret distribution runs and watch errors of this
//! operator.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

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
        for collector in [
            Box::new(schedule_interval.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(reconciles.clone()),
            Box::new(reconcile_duration.clone()),
            Box::new(watch_errors.clone()),
            Box::new(distributions.clone()),
            Box::new(distribution_duration.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Metrics {
            registry,
            schedule_interval,
            reconciles,
            reconcile_duration,
            watch_errors,
            distributions,
            distribution_duration,
        }
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
