//! Startup settings: the RamenConfig of the operator ConfigMap (as Ramen reads its config file), each
//! overridable by a flag or environment variable.

use drpolicy_api::names::{HUB_LEADER_ELECTION_ID, HUB_OPERATOR_CONFIGMAP, RAMEN_CONFIG_KEY};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use ramen_config::{ConfigMapLocation, RamenConfig};
use std::net::SocketAddr;

use crate::cli::RunArgs;
use crate::http::parse_bind_address;
use crate::liveness::Limits;

/// Health probe address when neither config nor flag sets one (Ramen's shipped value).
pub const DEFAULT_HEALTH_ADDRESS: &str = ":8081";
/// Metrics address when neither config nor flag sets one (Ramen's shipped value).
pub const DEFAULT_METRICS_ADDRESS: &str = "127.0.0.1:9289";

/// Everything the operator needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The operator namespace (`POD_NAMESPACE`).
    pub namespace: String,
    /// `/healthz` and `/readyz` listen here.
    pub health_address: SocketAddr,
    /// `/metrics` listens here; `None` (bind address `"0"`, as in controller-runtime) serves no metrics.
    pub metrics_address: Option<SocketAddr>,
    /// Whether to elect a leader before reconciling.
    pub leader_elect: bool,
    /// Lease name.
    pub leader_election_id: String,
    /// This process' identity (pod name).
    pub identity: String,
    /// DRPolicy reconciles in parallel.
    pub max_concurrent_reconciles: u16,
    /// Serve `/metrics` over HTTPS to authorized callers only.
    pub metrics_secure: bool,
    /// `tls.crt` and `tls.key` of the secure metrics endpoint (`None`: self-signed).
    pub metrics_cert_dir: Option<std::path::PathBuf>,
    /// When `/healthz` reports no progress.
    pub liveness: Limits,
}

/// Resolves the settings: flag/env first, then the config, then defaults.
pub fn resolve(args: &RunArgs, config: Option<&RamenConfig>) -> anyhow::Result<Settings> {
    let namespace = args.namespace.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
        anyhow::anyhow!(
            "POD_NAMESPACE is not set: set it to the operator's namespace (the Deployment passes \
             metadata.namespace through the downward API) or pass --namespace"
        )
    })?;
    let from_config =
        |f: fn(&RamenConfig) -> &str| config.map(f).filter(|s| !s.is_empty()).map(str::to_owned);
    let health = args
        .health_probe_bind_address
        .clone()
        .or_else(|| from_config(|c| &c.health.health_probe_bind_address))
        .unwrap_or_else(|| DEFAULT_HEALTH_ADDRESS.into());
    let metrics = args
        .metrics_bind_address
        .clone()
        .or_else(|| from_config(|c| &c.metrics.bind_address))
        .unwrap_or_else(|| DEFAULT_METRICS_ADDRESS.into());
    let leader_elect = args
        .leader_elect
        .or_else(|| config.and_then(|c| c.leader_election.leader_elect))
        .unwrap_or(true);
    let leader_election_id = args
        .leader_election_id
        .clone()
        .or_else(|| from_config(|c| &c.leader_election.resource_name))
        .unwrap_or_else(|| HUB_LEADER_ELECTION_ID.into());
    let concurrency = args
        .max_concurrent_reconciles
        .map(i64::from)
        .or_else(|| config.map(RamenConfig::max_concurrent_reconciles_or_default))
        .unwrap_or(1)
        .clamp(1, i64::from(u16::MAX));
    let health_address = parse_bind_address(&health).map_err(anyhow::Error::msg)?;
    let metrics_address = if metrics.trim() == "0" {
        None
    } else {
        Some(parse_bind_address(&metrics).map_err(anyhow::Error::msg)?)
    };
    let metrics_secure = args.metrics_secure.unwrap_or(false);
    if metrics_secure && metrics_address == Some(health_address) {
        anyhow::bail!(
            "--metrics-secure serves /metrics over HTTPS: give it an address other than the health \
             probes' {health} (they stay plain HTTP)"
        );
    }
    Ok(Settings {
        namespace,
        health_address,
        metrics_address,
        leader_elect,
        leader_election_id,
        identity: args.identity.clone().unwrap_or_else(default_identity),
        max_concurrent_reconciles: u16::try_from(concurrency).unwrap_or(1),
        metrics_secure,
        metrics_cert_dir: args.metrics_cert_dir.clone(),
        liveness: liveness_limits(args)?,
    })
}

/// An identity no other process has: the pid alone is 1 in every container, and two processes with
/// one identity would both take the Lease for their own.
fn default_identity() -> String {
    use std::hash::BuildHasher;
    let random = std::hash::RandomState::new().hash_one(std::process::id());
    format!("hub-operator-{}-{:08x}", std::process::id(), random as u32)
}

/// The liveness limits of the flags, defaults for those not given.
pub fn liveness_limits(args: &RunArgs) -> anyhow::Result<Limits> {
    let defaults = Limits::default();
    let limit = |seconds: Option<u64>, default: std::time::Duration, flag: &str| match seconds {
        None => Ok(default),
        // Below a few seconds a watch could not even be renewed in time.
        Some(s) if s < 3 => Err(anyhow::anyhow!(
            "--{flag} must be at least 3 seconds, not {s}"
        )),
        Some(s) => Ok(std::time::Duration::from_secs(s)),
    };
    Ok(Limits {
        watch_stall: limit(
            args.liveness_watch_stall_seconds,
            defaults.watch_stall,
            "liveness-watch-stall-seconds",
        )?,
        work_stall: limit(
            args.liveness_work_stall_seconds,
            defaults.work_stall,
            "liveness-work-stall-seconds",
        )?,
    })
}

/// Parses the RamenConfig of the operator ConfigMap of `namespace` (`None`: the ConfigMap does not
/// exist), as the startup settings and the reconciles read it.
pub fn parse_operator_config(
    namespace: &str,
    configmap: Option<&ConfigMap>,
) -> Result<ramen_config::Parsed, ramen_config::ConfigError> {
    let location = ConfigMapLocation {
        namespace,
        name: HUB_OPERATOR_CONFIGMAP,
        key: RAMEN_CONFIG_KEY,
    };
    let empty = Default::default();
    let data = configmap.map(|c| c.data.as_ref().unwrap_or(&empty));
    ramen_config::from_config_map_data(&location, data)
}

/// Reads the RamenConfig once at startup; a missing or broken config only costs the defaults (the
/// reconcile reports it on every DRPolicy).
pub async fn read_startup_config(client: &kube::Client, namespace: &str) -> Option<RamenConfig> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let configmap = match api.get_opt(HUB_OPERATOR_CONFIGMAP).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = %error, "reading the operator ConfigMap at startup failed; using defaults");
            return None;
        }
    };
    match parse_operator_config(namespace, configmap.as_ref()) {
        Ok(parsed) => Some(parsed.config),
        Err(error) => {
            tracing::warn!(error = %error, "startup settings use defaults");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["hub-operator", "run"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Run(args)) => args,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn pod_namespace_is_required_with_a_clear_error() {
        let error = resolve(&args(&[]), None).unwrap_err().to_string();
        assert!(error.contains("POD_NAMESPACE is not set"), "{error}");
    }

    #[test]
    fn config_values_apply_and_flags_win() {
        let config = ramen_config::parse_str(
            "health: {healthProbeBindAddress: ':9000'}\nmetrics: {bindAddress: ':9001'}\n\
             leaderElection: {leaderElect: false, resourceName: custom}\nmaxConcurrentReconciles: 50\n",
        )
        .unwrap()
        .config;
        let settings = resolve(&args(&["--namespace", "ns"]), Some(&config)).unwrap();
        assert_eq!(settings.health_address.to_string(), "0.0.0.0:9000");
        assert_eq!(
            settings.metrics_address.unwrap().to_string(),
            "0.0.0.0:9001"
        );
        assert!(!settings.leader_elect);
        assert_eq!(settings.leader_election_id, "custom");
        assert_eq!(settings.max_concurrent_reconciles, 50);

        let settings = resolve(
            &args(&[
                "--namespace",
                "ns",
                "--max-concurrent-reconciles",
                "3",
                "--leader-elect",
                "true",
            ]),
            Some(&config),
        )
        .unwrap();
        assert_eq!(settings.max_concurrent_reconciles, 3);
        assert!(settings.leader_elect);
    }

    #[test]
    fn defaults_are_ramens() {
        let settings = resolve(&args(&["--namespace", "ns"]), None).unwrap();
        assert_eq!(settings.health_address.to_string(), "0.0.0.0:8081");
        assert_eq!(
            settings.metrics_address.unwrap().to_string(),
            "127.0.0.1:9289"
        );
        assert!(settings.leader_elect);
        assert_eq!(settings.leader_election_id, "hub.ramendr.openshift.io");
        assert_eq!(settings.max_concurrent_reconciles, 1);
    }

    #[test]
    fn two_processes_without_a_pod_name_get_different_identities() {
        let first = resolve(&args(&["--namespace", "ns"]), None).unwrap();
        let second = resolve(&args(&["--namespace", "ns"]), None).unwrap();
        assert_ne!(first.identity, second.identity);
        assert!(
            first.identity.starts_with("hub-operator-"),
            "{}",
            first.identity
        );
    }

    #[test]
    fn secure_metrics_and_liveness_limits_come_from_flags_with_clear_errors() {
        let settings = resolve(&args(&["--namespace", "ns"]), None).unwrap();
        assert!(!settings.metrics_secure);
        assert_eq!(settings.liveness, Limits::default());
        let settings = resolve(
            &args(&[
                "--namespace",
                "ns",
                "--metrics-secure",
                "--metrics-cert-dir",
                "/tls",
                "--liveness-watch-stall-seconds",
                "60",
            ]),
            None,
        )
        .unwrap();
        assert!(settings.metrics_secure);
        assert_eq!(settings.metrics_cert_dir.as_deref(), Some("/tls".as_ref()));
        assert_eq!(settings.liveness.watch_stall.as_secs(), 60);
        assert_eq!(settings.liveness.work_stall, Limits::default().work_stall);
        let same = &[
            "--namespace",
            "ns",
            "--metrics-secure",
            "--metrics-bind-address",
            ":8081",
        ];
        let error = resolve(&args(same), None).unwrap_err().to_string();
        assert!(error.contains("other than the health probes'"), "{error}");
        let short = &["--namespace", "ns", "--liveness-work-stall-seconds", "1"];
        let error = resolve(&args(short), None).unwrap_err().to_string();
        assert!(error.contains("at least 3 seconds"), "{error}");
    }

    #[test]
    fn metrics_bind_address_zero_disables_metrics() {
        let config = ramen_config::parse_str(
            "metrics: {bindAddress: '0'}
",
        )
        .unwrap()
        .config;
        let settings = resolve(&args(&["--namespace", "ns"]), Some(&config)).unwrap();
        assert_eq!(settings.metrics_address, None);
        let settings = resolve(
            &args(&["--namespace", "ns", "--metrics-bind-address", ":9100"]),
            Some(&config),
        )
        .unwrap();
        assert_eq!(
            settings.metrics_address.unwrap().to_string(),
            "0.0.0.0:9100"
        );
    }
}
