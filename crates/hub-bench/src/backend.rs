//! Where the hub of a soak run lives. Either the embedded API server — its request log and fault hooks
//! at hand, the operator reaching it through a [`Proxy`] that can cut every connection at once — or a
//! real etcd + kube-apiserver started by `hack/kube/apiserver.sh` for the run, whose audit log is the
//! request log and whose kube-apiserver can be restarted (etcd keeps the data). The soak's checks read
//! the same [`RequestRecord`]s from both.

use anyhow::{Context, bail};
use kube::Client;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use test_apiserver::{RequestRecord, ServerConfig, TestApiServer};
use tokio::process::{Child, Command};

use crate::audit::AuditLog;
use crate::hub;
use crate::proxy::Proxy;
use crate::requests::{HARNESS_AGENT, OCM_AGENT, is_lease, is_operator};

/// The embedded API server of a run.
pub struct Embedded {
    /// The server (shared with the fault injector).
    pub server: Arc<TestApiServer>,
    /// What the operator connects through.
    pub proxy: Proxy,
    kubeconfig: PathBuf,
}

/// `hack/kube/apiserver.sh` in serve mode, in a process group of its own; dropping it stops the control
/// plane (SIGTERM: the script stops etcd and kube-apiserver and removes its directory).
struct Script(Child);

impl Script {
    /// SIGTERM to the script (it stops what it started).
    fn terminate(&self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// SIGKILL to the script's whole process group (etcd and kube-apiserver included), for a script
    /// that did not stop on SIGTERM.
    fn kill_group(&self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

impl Real {
    /// Copies the control plane's logs to the run's directory and removes the script's directory.
    fn keep_logs(&self) {
        let Some(work) = self.env.get("KUBE_APISERVER_LOG_DIR").map(PathBuf::from) else {
            return;
        };
        let (dir, label) = &self.keep_logs;
        for log in ["etcd.log", "kube-apiserver.log"] {
            let _ = std::fs::copy(work.join(log), dir.join(format!("{label}-{log}")));
        }
        // Only a directory the script made (`mktemp` under the temporary directory).
        if work.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(&work);
        }
    }
}

impl Drop for Real {
    /// A run that ended early still stops its control plane and keeps its logs.
    fn drop(&mut self) {
        if let Ok(None) = self.script.0.try_wait() {
            self.script.terminate();
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(self.script.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.keep_logs();
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.terminate();
        }
    }
}

/// A real control plane of a run, started by `hack/kube/apiserver.sh` in serve mode.
pub struct Real {
    script: Script,
    env: BTreeMap<String, String>,
    /// Where the control plane's logs are copied when it stops (`{label}-etcd.log`, …).
    keep_logs: (PathBuf, String),
    audit: AuditLog,
    records: Vec<RequestRecord>,
}

/// The hub of a run.
pub enum Backend {
    /// The embedded API server.
    Embedded(Embedded),
    /// A real kube-apiserver and etcd.
    Real(Box<Real>),
}

impl Backend {
    /// Starts an embedded API server and a proxy in front of it; the operator's kubeconfig (pointing
    /// at the proxy) is written to `dir`.
    pub async fn embedded(dir: &Path, label: &str) -> anyhow::Result<Backend> {
        let server = Arc::new(
            TestApiServer::start_with(ServerConfig {
                history_limit: 20_000,
                ..ServerConfig::default()
            })
            .await?,
        );
        let proxy = Proxy::start(server.addr()).await?;
        let kubeconfig = dir.join(format!("{label}.kubeconfig"));
        std::fs::write(&kubeconfig, test_apiserver::kubeconfig_text(&proxy.url()))?;
        Ok(Backend::Embedded(Embedded {
            server,
            proxy,
            kubeconfig,
        }))
    }

    /// Starts etcd and kube-apiserver (with an audit log) through `script`
    /// (`hack/kube/apiserver.sh`), its files under `dir`.
    pub async fn real(script: &Path, dir: &Path, label: &str) -> anyhow::Result<Backend> {
        let kubeconfig = dir.join(format!("{label}.kubeconfig"));
        let env_file = dir.join(format!("{label}.env"));
        let _ = std::fs::remove_file(&env_file);
        let log = std::fs::File::create(dir.join(format!("{label}-control-plane.log")))?;
        let child = Command::new("bash")
            .arg(script)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--env-file")
            .arg(&env_file)
            .arg("--audit")
            // The script keeps its directory on exit, so that the logs survive it;
            // [`Backend::shutdown`] copies them beside the run's other files and removes it.
            .env("KUBE_KEEP_DIR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let mut child = Script(child);
        let deadline = Instant::now() + Duration::from_secs(300);
        let env = loop {
            if let Ok(text) = std::fs::read_to_string(&env_file) {
                break parse_env(&text);
            }
            if let Some(status) = child.0.try_wait()? {
                bail!(
                    "{} exited ({status}) before the control plane was ready; see {}",
                    script.display(),
                    dir.join(format!("{label}-control-plane.log")).display()
                );
            }
            if Instant::now() > deadline {
                bail!("the control plane was not ready within 300 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let audit = env
            .get("KUBE_APISERVER_AUDIT_LOG")
            .context("the env file names no KUBE_APISERVER_AUDIT_LOG")?;
        let real = Real {
            script: child,
            audit: AuditLog::open(audit),
            env,
            records: Vec::new(),
            keep_logs: (dir.to_owned(), label.to_owned()),
        };
        Ok(Backend::Real(Box::new(real)))
    }

    /// Whether this is a real kube-apiserver.
    pub fn is_real(&self) -> bool {
        matches!(self, Backend::Real(_))
    }

    /// The kubeconfig the operator runs with.
    pub fn operator_kubeconfig(&self) -> PathBuf {
        match self {
            Backend::Embedded(e) => e.kubeconfig.clone(),
            Backend::Real(r) => PathBuf::from(r.env.get("KUBECONFIG").cloned().unwrap_or_default()),
        }
    }

    /// A client whose requests carry User-Agent `agent`.
    pub async fn client_as(&self, agent: &'static str) -> anyhow::Result<Client> {
        match self {
            Backend::Embedded(e) => match agent {
                HARNESS_AGENT => hub::harness_client(&e.server),
                _ => hub::ocm_agent_client(&e.server),
            },
            Backend::Real(_) => {
                hub::client_from_kubeconfig(&self.operator_kubeconfig(), agent).await
            }
        }
    }

    /// A client for OCM's view agent.
    pub async fn ocm_client(&self) -> anyhow::Result<Client> {
        self.client_as(OCM_AGENT).await
    }

    /// Every request the server logged since it started.
    pub fn records(&mut self) -> anyhow::Result<Vec<RequestRecord>> {
        match self {
            Backend::Embedded(e) => Ok(e.server.hooks().requests()),
            Backend::Real(r) => {
                let new = r.audit.read_new()?;
                r.records.extend(new);
                Ok(r.records.clone())
            }
        }
    }

    /// Waits until the operator sent no request (its leader election aside) for `quiet`. Requests
    /// still in flight are not in the log yet; on the embedded server the only long ones are injected
    /// hangs, which are answered with an error and change nothing, and the caller reads the hub once
    /// more afterwards to see that it did not move.
    pub async fn wait_operator_quiet(
        &mut self,
        quiet: Duration,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self
                .records()?
                .iter()
                .filter(|r| is_operator(r) && !is_lease(r) && r.verb != "watch")
                .map(|r| r.answered_at.max(r.received_at))
                .max();
            let idle = last.is_none_or(|t| {
                SystemTime::now()
                    .duration_since(t)
                    .is_ok_and(|idle| idle >= quiet)
            });
            if idle {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the operator was not quiet for {quiet:?} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The script that restarts kube-apiserver (a real control plane only).
    pub fn restart_script(&self) -> Option<PathBuf> {
        match self {
            Backend::Embedded(_) => None,
            Backend::Real(r) => r.env.get("KUBE_APISERVER_RESTART").map(PathBuf::from),
        }
    }

    /// Stops the server (and the control plane's processes).
    pub async fn shutdown(self) {
        match self {
            Backend::Embedded(e) => {
                drop(e.proxy);
                if let Ok(server) = Arc::try_unwrap(e.server) {
                    server.shutdown().await;
                }
            }
            Backend::Real(mut r) => {
                r.script.terminate();
                if tokio::time::timeout(Duration::from_secs(30), r.script.0.wait())
                    .await
                    .is_err()
                {
                    r.script.kill_group();
                    let _ = r.script.0.wait().await;
                }
                r.keep_logs();
            }
        }
    }
}

/// Restarts kube-apiserver with `script` (the control plane's `KUBE_APISERVER_RESTART`), `grace`
/// seconds between SIGTERM and SIGKILL (0: killed at once), which returns once the new one answers;
/// returns how long that took and what the script said.
pub async fn restart_apiserver(script: &Path, grace: u32) -> anyhow::Result<(Duration, String)> {
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(script)
        .arg(grace.to_string())
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "restarting kube-apiserver failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((started.elapsed(), said))
}

/// `KEY=value` lines (values as `printf %q` writes plain paths and URLs: unquoted).
fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_env_file_is_read_as_keys_and_plain_values() {
        let env = super::parse_env(
            "KUBECONFIG=/tmp/a/k.kubeconfig\nKUBE_APISERVER_URL='https://127.0.0.1:6443'\n",
        );
        assert_eq!(env["KUBECONFIG"], "/tmp/a/k.kubeconfig");
        assert_eq!(env["KUBE_APISERVER_URL"], "https://127.0.0.1:6443");
    }
}
