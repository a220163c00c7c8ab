//! The operator processes of a run, as a Deployment's Pods under a kubelet: one or more replicas with
//! leader election, each restarted when it exits (a container restart keeps its identity), killed with
//! SIGKILL, paused with SIGSTOP and resumed, or replaced by a new Pod (a new identity).

use anyhow::Context;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::judge::Launch;
use crate::operator::{Operator, OperatorOptions};

/// A process that ended without the fleet killing it (the fleet started it again).
#[derive(Debug, Clone)]
pub struct Exit {
    /// Its identity.
    pub identity: String,
    /// Its log.
    pub log: PathBuf,
}

/// One replica: its current process (none while it is being replaced) and what happened to it.
struct Replica {
    /// Pod name prefix; the identity is `{name}-{pod}`.
    name: String,
    /// The Pod generation: a new Pod gets a new identity.
    pod: u32,
    /// Container starts of this replica, over all its Pods.
    starts: u32,
    process: Option<Operator>,
    /// Paused (SIGSTOP) until resumed.
    paused: bool,
}

/// The replicas of a run.
pub struct Fleet {
    template: OperatorOptions,
    log_prefix: String,
    replicas: Vec<Replica>,
    /// Every log file any process of the fleet wrote.
    logs: Vec<PathBuf>,
    /// Exits the fleet did not cause (the process ended on its own and was restarted).
    exits: Vec<Exit>,
    /// Every process start.
    launches: Vec<Launch>,
}

impl Fleet {
    /// Starts `replicas` processes from `template` (its `log_path` is a directory prefix:
    /// `{log_prefix}-{replica}-{start}.log`), identities `{prefix}-{replica}-0`.
    pub async fn start(
        template: OperatorOptions,
        log_prefix: &str,
        replicas: usize,
    ) -> anyhow::Result<Fleet> {
        let mut fleet = Fleet {
            template,
            log_prefix: log_prefix.to_owned(),
            replicas: (0..replicas)
                .map(|i| Replica {
                    name: format!(
                        "{}-{}",
                        log_prefix_name(log_prefix),
                        (b'a' + i as u8) as char
                    ),
                    pod: 0,
                    starts: 0,
                    process: None,
                    paused: false,
                })
                .collect(),
            logs: Vec::new(),
            exits: Vec::new(),
            launches: Vec::new(),
        };
        for i in 0..replicas {
            fleet.launch(i).await?;
        }
        Ok(fleet)
    }

    async fn launch(&mut self, i: usize) -> anyhow::Result<()> {
        let replica = &mut self.replicas[i];
        replica.starts += 1;
        let identity = format!("{}-{}", replica.name, replica.pod);
        let log_path = PathBuf::from(format!(
            "{}-{}-{}.log",
            self.log_prefix,
            (b'a' + i as u8) as char,
            replica.starts
        ));
        let options = OperatorOptions {
            identity: identity.clone(),
            log_path: log_path.clone(),
            ..self.template.clone()
        };
        self.launches.push(Launch {
            identity,
            at: SystemTime::now(),
        });
        replica.process = Some(Operator::spawn(&options).await?);
        replica.paused = false;
        self.logs.push(log_path);
        Ok(())
    }

    /// What a kubelet does: restarts every replica whose process exited (same identity). Returns
    /// how many it restarted.
    pub async fn tend(&mut self) -> anyhow::Result<usize> {
        let mut restarted = 0;
        for i in 0..self.replicas.len() {
            let exited = match self.replicas[i].process.as_mut() {
                Some(process) => !process.running(),
                None => true,
            };
            if exited {
                if let Some(process) = self.replicas[i].process.take() {
                    self.exits.push(Exit {
                        identity: self.identity(i),
                        log: process.log_path().to_owned(),
                    });
                }
                self.launch(i).await?;
                restarted += 1;
            }
        }
        Ok(restarted)
    }

    /// The identity of replica `i`'s current Pod.
    pub fn identity(&self, i: usize) -> String {
        format!("{}-{}", self.replicas[i].name, self.replicas[i].pod)
    }

    /// The replicas whose process says it leads.
    pub async fn leaders(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, replica) in self.replicas.iter().enumerate() {
            if let Some(process) = &replica.process
                && !replica.paused
                && process.leads().await
            {
                out.push(i);
            }
        }
        out
    }

    /// Waits until some replica leads; returns it.
    pub async fn wait_leader(&mut self, timeout: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            self.tend().await?;
            if let Some(i) = self.leaders().await.first() {
                return Ok(*i);
            }
            if Instant::now() > deadline {
                anyhow::bail!("no replica took the lease within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILLs replica `i` and starts it again: as a container restart (same identity, so it takes
    /// its own lease back at once) or as a new Pod (a new identity, which waits for the lease to
    /// expire like any standby).
    pub async fn crash(&mut self, i: usize, new_pod: bool) -> anyhow::Result<()> {
        if let Some(process) = self.replicas[i].process.take() {
            process.kill().await.context("killing the operator")?;
        }
        if new_pod {
            self.replicas[i].pod += 1;
        }
        self.launch(i).await
    }

    /// Pauses replica `i` (SIGSTOP).
    pub async fn pause(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(process) = &self.replicas[i].process {
            process.signal("STOP").await?;
            self.replicas[i].paused = true;
        }
        Ok(())
    }

    /// Resumes replica `i` (SIGCONT) if it is paused.
    pub async fn resume(&mut self, i: usize) -> anyhow::Result<()> {
        if self.replicas[i].paused {
            if let Some(process) = &self.replicas[i].process {
                process.signal("CONT").await?;
            }
            self.replicas[i].paused = false;
        }
        Ok(())
    }

    /// Resumes every paused replica.
    pub async fn resume_all(&mut self) -> anyhow::Result<()> {
        for i in 0..self.replicas.len() {
            self.resume(i).await?;
        }
        Ok(())
    }

    /// Exits the fleet did not cause, so far.
    pub fn exits(&self) -> &[Exit] {
        &self.exits
    }

    /// Every process start so far.
    pub fn launches(&self) -> &[Launch] {
        &self.launches
    }

    /// Whether replica `i`'s process is running and says it leads.
    pub async fn leads(&self, i: usize) -> bool {
        match &self.replicas[i].process {
            Some(process) => !self.replicas[i].paused && process.leads().await,
            None => false,
        }
    }

    /// Process starts over all replicas (the first ones included).
    pub fn starts(&self) -> u32 {
        self.replicas.iter().map(|r| r.starts).sum()
    }

    /// The log of every process the fleet started, concatenated.
    pub fn logs(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        for path in &self.logs {
            out.push_str(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
        }
        Ok(out)
    }

    /// The log files.
    pub fn log_paths(&self) -> &[PathBuf] {
        &self.logs
    }

    /// Stops every process gracefully (paused ones are resumed first).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.resume_all().await?;
        for replica in &mut self.replicas {
            if let Some(process) = replica.process.take() {
                process.stop().await?;
            }
        }
        Ok(())
    }
}

/// The file name of a log prefix (identities must not contain slashes).
fn log_prefix_name(prefix: &str) -> String {
    let name = prefix.rsplit('/').next().unwrap_or(prefix);
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
