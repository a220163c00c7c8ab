//! Command line: `hub-operator run` (the default), `hub-operator crds` and `hub-operator release`.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// RamenDR hub DRPolicy operator: validates DRPolicies and distributes the S3 secrets of their
/// DRClusters' profiles to the managed clusters through OCM governance objects.
#[derive(Debug, Parser)]
#[command(name = "hub-operator", version, propagate_version = true)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run` when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator against the cluster of in-cluster config or KUBECONFIG.
    Run(RunArgs),
    /// Print the DRPolicy, DRCluster and DRPlacementControl CRDs as YAML.
    Crds,
    /// Uninstall step: remove the operator's finalizers from DRPolicies and from the Secrets of the
    /// operator namespace (metadata patches only; nothing is deleted), once the operator is stopped.
    Release(ReleaseArgs),
}

/// Options of `release`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReleaseArgs {
    /// Operator namespace: where the S3 Secrets and the leader Lease live.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: Option<String>,
    /// Lease name [default: leaderElection.resourceName of the operator ConfigMap, else
    /// hub.ramendr.openshift.io].
    #[arg(long, env = "LEADER_ELECTION_ID")]
    pub leader_election_id: Option<String>,
    /// List what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Release although the Lease shows a running operator (which would add the finalizers back).
    #[arg(long)]
    pub force: bool,
}

impl ReleaseArgs {
    /// These options, the namespace taken from `fallback` when unset (`hub-operator --namespace x
    /// release`).
    pub fn or_namespace(mut self, fallback: Option<String>) -> ReleaseArgs {
        self.namespace = self.namespace.or(fallback);
        self
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (default inside a cluster).
    Json,
    /// Human-readable lines (default on a terminal).
    Text,
}

/// Options of `run`. Unset options come from the `ramen-hub-operator-config` ConfigMap, then defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Operator namespace: where the ConfigMap, the S3 Secrets and the OCM objects live.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of /healthz and /readyz [config: health.healthProbeBindAddress; default :8081].
    #[arg(long, env = "HEALTH_PROBE_BIND_ADDRESS")]
    pub health_probe_bind_address: Option<String>,
    /// Address of /metrics [config: metrics.bindAddress; default 127.0.0.1:9289].
    #[arg(long, env = "METRICS_BIND_ADDRESS")]
    pub metrics_bind_address: Option<String>,
    /// Elect a leader through a Lease before reconciling [config: leaderElection.leaderElect; default true].
    #[arg(long, env = "LEADER_ELECT", num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: Option<bool>,
    /// Lease name [config: leaderElection.resourceName; default hub.ramendr.openshift.io].
    #[arg(long, env = "LEADER_ELECTION_ID")]
    pub leader_election_id: Option<String>,
    /// Identity in the Lease [default: hub-operator-{pid}-{random}].
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// DRPolicies reconciled in parallel [config: maxConcurrentReconciles; default 1].
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES")]
    pub max_concurrent_reconciles: Option<u16>,
    /// Log format [default: json in a cluster, text elsewhere]. Levels come from RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Serve /metrics over HTTPS, only to callers the API server authenticates and authorizes for
    /// `get` on /metrics [default false; the chart turns it on].
    #[arg(long, env = "METRICS_SECURE", num_args = 0..=1, default_missing_value = "true")]
    pub metrics_secure: Option<bool>,
    /// Directory with tls.crt and tls.key for the secure metrics endpoint [default: a self-signed
    /// certificate generated at startup].
    #[arg(long, env = "METRICS_CERT_DIR")]
    pub metrics_cert_dir: Option<std::path::PathBuf>,
    /// /healthz fails when a watch had no successful list or watch for this many seconds [default
    /// 900]; watches are renewed every third of it.
    #[arg(long, env = "LIVENESS_WATCH_STALL_SECONDS")]
    pub liveness_watch_stall_seconds: Option<u64>,
    /// /healthz fails when a reconcile or secret distribution waited or ran for this many seconds
    /// [default 900].
    #[arg(long, env = "LIVENESS_WORK_STALL_SECONDS")]
    pub liveness_work_stall_seconds: Option<u64>,
}

impl RunArgs {
    /// These options, with unset ones taken from `fallback` (options given before the `run`
    /// subcommand, as in `hub-operator --namespace x run`).
    pub fn or(self, fallback: RunArgs) -> RunArgs {
        RunArgs {
            namespace: self.namespace.or(fallback.namespace),
            health_probe_bind_address: self
                .health_probe_bind_address
                .or(fallback.health_probe_bind_address),
            metrics_bind_address: self.metrics_bind_address.or(fallback.metrics_bind_address),
            leader_elect: self.leader_elect.or(fallback.leader_elect),
            leader_election_id: self.leader_election_id.or(fallback.leader_election_id),
            identity: self.identity.or(fallback.identity),
            max_concurrent_reconciles: self
                .max_concurrent_reconciles
                .or(fallback.max_concurrent_reconciles),
            log_format: self.log_format.or(fallback.log_format),
            metrics_secure: self.metrics_secure.or(fallback.metrics_secure),
            metrics_cert_dir: self.metrics_cert_dir.or(fallback.metrics_cert_dir),
            liveness_watch_stall_seconds: self
                .liveness_watch_stall_seconds
                .or(fallback.liveness_watch_stall_seconds),
            liveness_work_stall_seconds: self
                .liveness_work_stall_seconds
                .or(fallback.liveness_work_stall_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_args(argv: &[&str]) -> RunArgs {
        let cli = Cli::parse_from(argv);
        match cli.command {
            Some(Command::Run(args)) => args.or(cli.run),
            None => cli.run,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn options_before_and_after_run_both_count() {
        let args = run_args(&[
            "hub-operator",
            "--namespace",
            "top",
            "run",
            "--max-concurrent-reconciles",
            "7",
        ]);
        assert_eq!(args.namespace.as_deref(), Some("top"));
        assert_eq!(args.max_concurrent_reconciles, Some(7));
        let args = run_args(&[
            "hub-operator",
            "--namespace",
            "top",
            "run",
            "--namespace",
            "sub",
        ]);
        assert_eq!(args.namespace.as_deref(), Some("sub"));
    }

    #[test]
    fn release_takes_its_flags_and_the_namespace_from_either_side() {
        let cli = Cli::parse_from([
            "hub-operator",
            "--namespace",
            "top",
            "release",
            "--dry-run",
            "--leader-election-id",
            "lease-x",
        ]);
        let Some(Command::Release(args)) = cli.command else {
            panic!("parsed {:?}", cli.command);
        };
        let args = args.or_namespace(cli.run.namespace);
        assert_eq!(args.namespace.as_deref(), Some("top"));
        assert_eq!(args.leader_election_id.as_deref(), Some("lease-x"));
        assert!(args.dry_run && !args.force);
        let cli = Cli::parse_from(["hub-operator", "release", "--namespace", "sub", "--force"]);
        let Some(Command::Release(args)) = cli.command else {
            panic!("parsed {:?}", cli.command);
        };
        assert_eq!(args.namespace.as_deref(), Some("sub"));
        assert!(args.force && !args.dry_run);
    }

    #[test]
    fn leader_elect_works_as_a_switch_and_with_a_value() {
        assert_eq!(
            run_args(&["hub-operator", "run", "--leader-elect"]).leader_elect,
            Some(true)
        );
        assert_eq!(
            run_args(&["hub-operator", "run", "--leader-elect=false"]).leader_elect,
            Some(false)
        );
        assert_eq!(run_args(&["hub-operator", "run"]).leader_elect, None);
    }
}
