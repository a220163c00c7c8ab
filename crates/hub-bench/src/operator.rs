//! The operator as a child process: started against a kubeconfig with free probe and metrics ports,
//! its output captured to a file; its readiness, metrics and peak memory read from outside.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::hub::NAMESPACE;

/// How to start the operator.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    /// The `hub-operator` binary.
    pub binary: PathBuf,
    /// Kubeconfig of the API server.
    pub kubeconfig: PathBuf,
    /// `--max-concurrent-reconciles`.
    pub concurrency: u16,
    /// Where stdout and stderr go.
    pub log_path: PathBuf,
    /// `RUST_LOG` of the process.
    pub rust_log: String,
    /// Elect a leader through the Lease first (as in production), or write at once.
    pub leader_elect: bool,
    /// `POD_NAME`: the process' identity in the Lease and in its User-Agent.
    pub identity: String,
}

/// The `hub-operator` binary: `$HUB_OPERATOR_BIN`, else the one next to this executable (cargo builds
/// both into the same target directory).
pub fn default_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("HUB_OPERATOR_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe
        .parent()
        .context("this executable has no parent directory")?;
    let candidate = dir.join("hub-operator");
    if !candidate.exists() {
        bail!(
            "{} not found: build it (cargo build -p hub-operator, same profile) or set HUB_OPERATOR_BIN",
            candidate.display()
        );
    }
    Ok(candidate)
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// A running operator process.
pub struct Operator {
    child: Child,
    pid: u32,
    metrics: SocketAddr,
    health: SocketAddr,
    log_path: PathBuf,
    /// When the process was spawned.
    pub started: Instant,
}

impl Operator {
    /// Starts the operator (JSON logs, plain metrics).
    pub async fn spawn(options: &OperatorOptions) -> anyhow::Result<Operator> {
        let metrics = free_port()?;
        let health = free_port()?;
        let log = std::fs::File::create(&options.log_path)
            .with_context(|| format!("creating {}", options.log_path.display()))?;
        let started = Instant::now();
        let child = Command::new(&options.binary)
            .arg("run")
            .arg(format!("--leader-elect={}", options.leader_elect))
            .args(["--health-probe-bind-address", &health.to_string()])
            .args(["--metrics-bind-address", &metrics.to_string()])
            .args([
                "--max-concurrent-reconciles",
                &options.concurrency.to_string(),
            ])
            .args(["--log-format", "json"])
            .env("POD_NAMESPACE", NAMESPACE)
            .env("POD_NAME", &options.identity)
            .env("KUBECONFIG", &options.kubeconfig)
            .env("RUST_LOG", &options.rust_log)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", options.binary.display()))?;
        let pid = child.id().context("the operator exited at once")?;
        Ok(Operator {
            child,
            pid,
            metrics,
            health,
            log_path: options.log_path.clone(),
            started,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits until the process writes (`ramen_hub_leader` 1: it holds the lease, or runs without leader
    /// election) and `/readyz` answers 200 (caches synced); fails when the process exits first. (A
    /// standby is ready too, so readiness alone does not say the lease was taken.)
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the operator exited ({status}) before it was ready; log: {}",
                    self.log_path.display()
                );
            }
            let leads = matches!(
                http_get(self.metrics, "/metrics").await,
                Ok((200, body)) if body.lines().any(|l| l == "ramen_hub_leader 1")
            );
            if leads && let Ok((200, _)) = http_get(self.health, "/readyz").await {
                return Ok(self.started.elapsed());
            }
            if Instant::now() > deadline {
                bail!("the operator was not ready within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, …) to the process.
    pub async fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .await?;
        if !status.success() {
            bail!("kill -{signal} {} failed ({status})", self.pid);
        }
        Ok(())
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// Whether `/metrics` says the process leads (`ramen_hub_leader 1`); false when it does not
    /// answer (a paused or exiting process).
    pub async fn leads(&self) -> bool {
        let metrics = tokio::time::timeout(
            Duration::from_millis(500),
            http_get(self.metrics, "/metrics"),
        )
        .await;
        matches!(metrics, Ok(Ok((200, body))) if body.lines().any(|l| l == "ramen_hub_leader 1"))
    }

    /// `VmHWM` (peak resident set) of the process in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        status_field(self.pid, "VmHWM:")
    }

    /// `VmRSS` (current resident set) of the process in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        status_field(self.pid, "VmRSS:")
    }

    /// CPU time (user + system) the process used so far, in seconds, from `/proc/<pid>/stat`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command (which may contain spaces) in parentheses: state is field 3,
        // utime 14 and stime 15.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / clock_ticks_per_second())
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        match http_get(self.metrics, "/metrics").await? {
            (200, body) => Ok(body),
            (status, _) => bail!("/metrics answered {status}"),
        }
    }

    /// `ramen_hub_drpolicy_reconciles_total`, summed over results.
    pub async fn reconciles(&self) -> anyhow::Result<u64> {
        Ok(sum_metric(
            &self.metrics().await?,
            "ramen_hub_drpolicy_reconciles_total",
        ))
    }

    /// `ramen_hub_secret_distributions_total`, summed over results: runs of the per-Secret
    /// distribution worker.
    pub async fn distributions(&self) -> anyhow::Result<u64> {
        Ok(sum_metric(
            &self.metrics().await?,
            "ramen_hub_secret_distributions_total",
        ))
    }

    /// DRPolicy reconciles plus distribution runs: everything the operator does.
    pub async fn activity(&self) -> anyhow::Result<u64> {
        let text = self.metrics().await?;
        Ok(sum_metric(&text, "ramen_hub_drpolicy_reconciles_total")
            + sum_metric(&text, "ramen_hub_secret_distributions_total"))
    }

    /// The captured output so far.
    pub fn log(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.log_path)
            .with_context(|| format!("reading {}", self.log_path.display()))
    }

    /// The file holding the captured output.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Stops the process with SIGTERM (graceful), then SIGKILL after 15 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = self.signal("TERM").await;
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            self.child.start_kill()?;
            self.child.wait().await?;
        }
        Ok(())
    }
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Sums every sample of metric `name` in a Prometheus text exposition.
pub fn sum_metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// A plain HTTP/1.0 GET (the probe and metrics endpoints need no more): status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("connect timed out")??;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .context("read timed out")??;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP response")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// `getconf CLK_TCK` (100 on Linux unless configured otherwise).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::sum_metric;

    #[test]
    fn sums_every_labelled_sample_of_one_metric_only() {
        let text = "# HELP x\nramen_hub_drpolicy_reconciles_total{result=\"success\"} 7\n\
                    ramen_hub_drpolicy_reconciles_total{result=\"error\"} 2\n\
                    ramen_hub_drpolicy_reconciles_total_other 100\n";
        assert_eq!(sum_metric(text, "ramen_hub_drpolicy_reconciles_total"), 9);
    }
}
