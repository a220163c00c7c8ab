//! The soak: a seeded script of changes to policies, DRClusters, Secrets, DRPlacementControls and the
//! ConfigMap, played against the operator process once without faults (the reference) and once per
//! fault kind ([`FaultKind`]): API faults, crashes, failovers between two replicas and API-server
//! restarts. After the last fault, the final state must equal the reference's and satisfy the
//! planner's rule on its own (no leaked OCM object, no stuck finalizer, no Secret finalizer without a
//! policy needing it, every condition right), and no Secret value may appear in an object the operator
//! wrote or in its log. Over the whole run, from the server's request log ([`crate::judge`]): no OCM
//! object was deleted while the hub needed it — the harness samples the hub after each change and
//! derives what it needs with the planner — and no operator process wrote while it did not hold the
//! leader lease.
//!
//! Every cluster is a joined OCM ManagedCluster whose classes OCM's view agent (played in this process)
//! reports: a fixed metro pair carries one policy of its own (sync peer classes), the other clusters
//! replicate asynchronously. The base config distributes in both formats (ramen and velero) and names
//! an ops namespace.
//!
//! The script keeps the final state a function of the script alone, never of timing: a policy a
//! DRCluster change could invalidate is never the subject of that change, the config breaks only after
//! every valid policy holds its finalizer, a policy is deleted only after the operator took it over
//! (when it is valid), and the script ends by restoring the config and every DRCluster. What the
//! managed clusters hold never changes, so a live policy's peer classes and the views of its clusters
//! are a function of the table; views of clusters whose only users were deleted depend on timing (see
//! [`crate::state::Snapshot::views`]) and are not compared. A policy being deleted keeps the conditions
//! and peer classes of its last reconcile before deletion, which depend on timing, so only its
//! `DeletionBlocked` condition is compared.

use anyhow::{Context, bail};
use drpolicy_api::DRPolicy;
use drpolicy_api::names::{DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP};
use e2e::views::{ClusterTable, async_peers, merge_tables, sync_peers};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use ramen_config::RamenConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use test_fixtures::seed::ensure_namespace;
use test_fixtures::{ManagedClusterFixture, S3Credentials};

use crate::backend::Backend;
use crate::faults::{self, FaultKind, FaultLog, Levers};
use crate::fleet::{Exit, Fleet};
use crate::hub::{self, ConfigOptions, NAMESPACE, Profile};
use crate::judge::{self, NeedSample};
use crate::leak::{self, Needles};
use crate::managed::{self, Agents};
use crate::operator::OperatorOptions;
use crate::requests::{Counts, HARNESS_AGENT};
use crate::state::{Raw, Snapshot};

/// Options of `hub-soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// How many seeds to run.
    #[arg(long, env = "SOAK_SEEDS", default_value_t = 3)]
    pub seeds: u64,
    /// The first seed (seeds are consecutive).
    #[arg(long, env = "SOAK_FIRST_SEED", default_value_t = 1)]
    pub first_seed: u64,
    /// Changes per script.
    #[arg(long, default_value_t = 40)]
    pub steps: usize,
    /// Percentage of requests answered with a fault while faults are on.
    #[arg(long, default_value_t = 10)]
    pub fault_percent: u32,
    /// `--max-concurrent-reconciles` of the operator.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,
    /// Give up waiting for the final state after this many seconds.
    #[arg(long, default_value_t = 90)]
    pub converge_timeout_secs: u64,
    /// Directory of the operator logs.
    #[arg(long, default_value = "target/hub-soak")]
    pub out_dir: PathBuf,
    /// `RUST_LOG` of the operator.
    #[arg(long, default_value = "info")]
    pub rust_log: String,
    /// The fault kinds to run, each against the seed's fault-free run (default: every kind the
    /// server supports: all on the embedded server, `restart` on a real one).
    #[arg(long, value_delimiter = ',', env = "SOAK_FAULTS")]
    pub faults: Vec<FaultKind>,
    /// Run against a real etcd + kube-apiserver per run (started by `--kube-script`), reading the
    /// operator's requests from its audit log.
    #[arg(long)]
    pub real: bool,
    /// `hack/kube/apiserver.sh`: starts the real control plane of `--real`.
    #[arg(long, default_value = "hack/kube/apiserver.sh")]
    pub kube_script: PathBuf,
}

impl SoakArgs {
    /// The fault kinds to run, in a fixed order.
    pub fn kinds(&self) -> Vec<FaultKind> {
        let mut kinds = if !self.faults.is_empty() {
            self.faults.clone()
        } else if self.real {
            vec![FaultKind::Restart]
        } else {
            FaultKind::ALL.to_vec()
        };
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

const APPS: &str = "soak-apps";
const CLUSTERS: [&str; 6] = ["east-1", "east-2", "west-1", "west-2", "north-1", "ghost"];
/// The cluster that does not exist at first; its profile is not configured.
const GHOST: &str = "ghost";
const PROFILES: [&str; 4] = ["s3-a", "s3-b", "s3-c", "s3-d"];
/// Two clusters sharing one storage, used by [`METRO_POLICY`] only (any other policy over one of them
/// would conflict with it) and never changed by the script.
const METRO: [&str; 2] = ["metro-a", "metro-b"];
/// The one policy over [`METRO`], seeded before the operator starts and never deleted.
const METRO_POLICY: &str = "soak-metro";
const VELERO_NAMESPACE: &str = "velero";
const OPS_NAMESPACE: &str = "ramen-ops";

fn profile_of(cluster: &str) -> String {
    if let Some(i) = METRO.iter().position(|c| *c == cluster) {
        return format!("profile-{}", PROFILES[i]);
    }
    match CLUSTERS.iter().position(|c| *c == cluster) {
        Some(i) if cluster != GHOST => format!("profile-{}", PROFILES[i % PROFILES.len()]),
        _ => "profile-unconfigured".into(),
    }
}

/// What the managed clusters hold: the metro pair a StorageClass `metro` of one storage (sync peers);
/// every other cluster a StorageClass `rbd` of its own storage replicated every 5 minutes (async
/// peers), and the east and west clusters also a snapshot-only StorageClass `cephfs`.
fn managed_objects() -> ClusterTable {
    let regional: Vec<(&str, String)> = CLUSTERS
        .iter()
        .map(|c| (*c, format!("rbd-array-{c}")))
        .collect();
    let refs: Vec<(&str, &str)> = regional.iter().map(|(c, s)| (*c, s.as_str())).collect();
    let snapshots: ClusterTable = CLUSTERS
        .iter()
        .filter(|c| c.starts_with("east") || c.starts_with("west"))
        .map(|c| {
            let objects = managed::snapshot_only_classes(&format!("cephfs-array-{c}"));
            ((*c).to_owned(), objects)
        })
        .collect();
    merge_tables([
        sync_peers(&METRO, "metro", "metro-array"),
        async_peers(&refs, "rbd", "rbd-replication", hub::ASYNC_INTERVAL),
        snapshots,
    ])
}

fn secret_name(profile: &str) -> String {
    format!("secret-{profile}")
}

/// Variants of the RamenConfig the script switches between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigVariant {
    /// Every profile, distribution on.
    Base,
    /// Distribution off.
    Disabled,
    /// Profile `s3-c` points at `s3-a`'s Secret.
    Remapped,
    /// Profile `s3-d` removed.
    Trimmed,
    /// No velero format.
    NoVelero,
}

fn config_yaml(variant: ConfigVariant) -> String {
    let mut profiles: Vec<Profile> = PROFILES
        .iter()
        .map(|p| Profile {
            name: format!("profile-{p}"),
            secret: secret_name(p),
        })
        .collect();
    let mut options = ConfigOptions {
        distribution_enabled: true,
        velero_namespace: Some(VELERO_NAMESPACE.into()),
        ops_namespace: Some(OPS_NAMESPACE.into()),
    };
    match variant {
        ConfigVariant::Base => {}
        ConfigVariant::Disabled => options.distribution_enabled = false,
        ConfigVariant::Remapped => profiles[2].secret = secret_name(PROFILES[0]),
        ConfigVariant::Trimmed => {
            profiles.pop();
        }
        ConfigVariant::NoVelero => options.velero_namespace = None,
    }
    hub::config_yaml(&profiles, &options)
}

/// One change of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    CreatePolicy {
        name: String,
        clusters: Vec<String>,
    },
    /// `barrier`: the policy is valid, so wait until the operator holds it first.
    DeletePolicy {
        name: String,
        barrier: bool,
    },
    CreateDrpc {
        name: String,
        policy: String,
    },
    DeleteDrpc {
        name: String,
    },
    RotateSecret {
        name: String,
        value: String,
    },
    DeleteSecret {
        name: String,
    },
    /// Waits until the deleted Secret is gone, then creates it again.
    RecreateSecret {
        name: String,
    },
    CreateDrcluster {
        name: String,
    },
    DeleteDrcluster {
        name: String,
    },
    SetValidated {
        name: String,
        validated: bool,
    },
    Config(ConfigVariant),
    /// `barrier`: these policies must hold their finalizer before the config breaks.
    BreakConfig {
        barrier: Vec<String>,
    },
    TouchConfig {
        n: usize,
    },
    Pause {
        millis: u64,
    },
}

/// The script's model of the hub, to generate only changes that keep the outcome timing-free.
struct Model {
    clusters: BTreeMap<String, bool>,
    /// Live policies and their clusters ([`METRO_POLICY`] included).
    live: BTreeMap<String, Vec<String>>,
    drpcs: BTreeMap<String, String>,
    secrets: BTreeMap<String, bool>,
    broken: bool,
    next: usize,
}

impl Model {
    fn new() -> Model {
        Model {
            clusters: CLUSTERS
                .iter()
                .filter(|c| **c != GHOST)
                .map(|c| ((*c).to_owned(), true))
                .collect(),
            live: BTreeMap::from([(METRO_POLICY.to_owned(), METRO.map(str::to_owned).to_vec())]),
            drpcs: BTreeMap::new(),
            secrets: PROFILES.iter().map(|p| (secret_name(p), true)).collect(),
            broken: false,
            next: 0,
        }
    }

    /// As the validator decides: every DRCluster exists and at least one is validated, and the config
    /// parses. Every ManagedCluster has joined with its claim; the only sync peer classes are the metro
    /// policy's, whose clusters no other policy uses, so there is no conflict.
    fn valid(&self, clusters: &[String]) -> bool {
        let metro = clusters.iter().all(|c| METRO.contains(&c.as_str()));
        !self.broken
            && (metro
                || (clusters.iter().all(|c| self.clusters.contains_key(c))
                    && clusters.iter().any(|c| self.clusters.get(c) == Some(&true))))
    }

    /// The Secrets that exist (not deleted by the script).
    fn existing_secrets(&self) -> Vec<String> {
        self.secrets
            .iter()
            .filter(|(_, e)| **e)
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn referenced(&self, cluster: &str) -> bool {
        self.live.values().any(|cs| cs.iter().any(|c| c == cluster))
    }

    fn valid_policies(&self) -> Vec<String> {
        self.live
            .iter()
            .filter(|(_, cs)| self.valid(cs))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        Some(&items[rng.random_range(0..items.len())])
    }
}

/// The script of a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Script {
    /// The changes.
    ops: Vec<Op>,
    /// The Secret values they write.
    values: Vec<String>,
    /// The valid live policies before the first change (`[0]`) and after each (`[i + 1]`).
    valid: Vec<BTreeSet<String>>,
}

/// Which live policies hold their Secrets before and after each of `ops`, as the model decides: the
/// valid ones; while the config is broken (nothing can be validated), those valid when it broke and
/// not deleted since, which the operator keeps distributing for with the last config that parsed.
fn validity(ops: &[Op]) -> Vec<BTreeSet<String>> {
    let mut m = Model::new();
    let mut frozen: BTreeSet<String> = BTreeSet::new();
    let mut out = vec![m.valid_policies().into_iter().collect()];
    for op in ops {
        match op {
            Op::CreatePolicy { name, clusters } => {
                m.live.insert(name.clone(), clusters.clone());
            }
            Op::DeletePolicy { name, .. } => {
                m.live.remove(name);
            }
            Op::CreateDrcluster { name } => {
                m.clusters.insert(name.clone(), true);
            }
            Op::DeleteDrcluster { name } => {
                m.clusters.remove(name);
            }
            Op::SetValidated { name, validated } => {
                m.clusters.insert(name.clone(), *validated);
            }
            Op::Config(_) => m.broken = false,
            Op::BreakConfig { .. } => {
                frozen = m.valid_policies().into_iter().collect();
                m.broken = true;
            }
            _ => {}
        }
        if m.broken {
            frozen.retain(|name| m.live.contains_key(name));
            out.push(frozen.clone());
        } else {
            out.push(m.valid_policies().into_iter().collect());
        }
    }
    out
}

/// The script of a seed: `steps` changes, then the restoring tail.
fn script(seed: u64, steps: usize) -> Script {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = Model::new();
    let mut ops = Vec::new();
    let mut values = Vec::new();
    while ops.len() < steps {
        m.next += 1;
        let n = m.next;
        let op = match rng.random_range(0..100) {
            0..=24 => {
                let a = *pick(&mut rng, &CLUSTERS).unwrap_or(&CLUSTERS[0]);
                let mut b = *pick(&mut rng, &CLUSTERS).unwrap_or(&CLUSTERS[1]);
                if a == b {
                    b = if a == CLUSTERS[0] {
                        CLUSTERS[1]
                    } else {
                        CLUSTERS[0]
                    };
                }
                let clusters = vec![a.to_owned(), b.to_owned()];
                let name = format!("soak-{n:03}");
                m.live.insert(name.clone(), clusters.clone());
                Some(Op::CreatePolicy { name, clusters })
            }
            25..=36 => {
                let names: Vec<String> = m
                    .live
                    .keys()
                    .filter(|n| *n != METRO_POLICY)
                    .cloned()
                    .collect();
                pick(&mut rng, &names).cloned().map(|name| {
                    let barrier = m.valid(&m.live[&name]);
                    m.live.remove(&name);
                    Op::DeletePolicy { name, barrier }
                })
            }
            37..=44 => {
                let names: Vec<String> = m.live.keys().cloned().collect();
                pick(&mut rng, &names).cloned().map(|policy| {
                    let name = format!("drpc-{n:03}");
                    m.drpcs.insert(name.clone(), policy.clone());
                    Op::CreateDrpc { name, policy }
                })
            }
            45..=50 => {
                let names: Vec<String> = m.drpcs.keys().cloned().collect();
                pick(&mut rng, &names).cloned().map(|name| {
                    m.drpcs.remove(&name);
                    Op::DeleteDrpc { name }
                })
            }
            51..=58 => {
                let names = m.existing_secrets();
                pick(&mut rng, &names).cloned().map(|name| {
                    let value = format!("soak-rotated-{seed}-{n}-value");
                    values.push(value.clone());
                    Op::RotateSecret { name, value }
                })
            }
            59..=63 => {
                let names = m.existing_secrets();
                pick(&mut rng, &names).cloned().map(|name| {
                    m.secrets.insert(name.clone(), false);
                    Op::DeleteSecret { name }
                })
            }
            // A deleted Secret goes once the operator released it, which needs a readable config.
            64..=68 if !m.broken => {
                let names: Vec<String> = m
                    .secrets
                    .iter()
                    .filter(|(_, e)| !**e)
                    .map(|(n, _)| n.clone())
                    .collect();
                pick(&mut rng, &names).cloned().map(|name| {
                    m.secrets.insert(name.clone(), true);
                    Op::RecreateSecret { name }
                })
            }
            69..=78 => {
                // DRCluster changes only where no live policy could be invalidated by them.
                let free: Vec<&str> = CLUSTERS
                    .iter()
                    .copied()
                    .filter(|c| !m.referenced(c) || !m.clusters.contains_key(*c))
                    .collect();
                let cluster = pick(&mut rng, &free).map(|c| (*c).to_owned());
                cluster.map(|name| match m.clusters.get(&name).copied() {
                    None => {
                        m.clusters.insert(name.clone(), true);
                        Op::CreateDrcluster { name }
                    }
                    Some(_) if m.referenced(&name) => Op::Pause { millis: 50 },
                    Some(validated) if rng.random_bool(0.5) => {
                        m.clusters.insert(name.clone(), !validated);
                        Op::SetValidated {
                            name,
                            validated: !validated,
                        }
                    }
                    Some(_) => {
                        m.clusters.remove(&name);
                        Op::DeleteDrcluster { name }
                    }
                })
            }
            79..=90 => {
                if m.broken {
                    m.broken = false;
                    Some(Op::Config(ConfigVariant::Base))
                } else {
                    Some(match rng.random_range(0..6) {
                        0 => Op::Config(ConfigVariant::Disabled),
                        1 => Op::Config(ConfigVariant::Remapped),
                        2 => Op::Config(ConfigVariant::Trimmed),
                        3 => Op::Config(ConfigVariant::NoVelero),
                        4 => Op::TouchConfig { n },
                        _ => {
                            let barrier = m.valid_policies();
                            m.broken = true;
                            Op::BreakConfig { barrier }
                        }
                    })
                }
            }
            _ => Some(Op::Pause {
                millis: rng.random_range(100..600),
            }),
        };
        if let Some(op) = op {
            ops.push(op);
        }
    }
    // The tail: every DRCluster back and validated, the base config. Everything live is valid now.
    ops.push(Op::Config(ConfigVariant::Base));
    for cluster in CLUSTERS {
        match m.clusters.get(cluster) {
            None => ops.push(Op::CreateDrcluster {
                name: cluster.to_owned(),
            }),
            Some(false) => ops.push(Op::SetValidated {
                name: cluster.to_owned(),
                validated: true,
            }),
            Some(true) => {}
        }
    }
    let valid = validity(&ops);
    Script { ops, values, valid }
}

/// How long the harness retries one request: through injected faults and through a restart of a real
/// kube-apiserver.
const HARNESS_PATIENCE: Duration = Duration::from_secs(90);

/// Retries a harness request until it is not an injected fault (faults are answered instead of being
/// served, so retrying never doubles a change).
async fn retry<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let deadline = Instant::now() + HARNESS_PATIENCE;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(kube::Error::Api(status))
                if matches!(
                    status.reason.as_str(),
                    "AlreadyExists" | "Invalid" | "NotFound"
                ) =>
            {
                bail!("{what}: {} ({})", status.message, status.reason)
            }
            Err(error) => {
                if Instant::now() > deadline {
                    return Err(error).context(what.to_owned());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Deletes, treating "already gone" as done.
async fn delete_retry<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    match retry(what, &mut f).await {
        Ok(_) => Ok(()),
        Err(error) if error.to_string().contains("NotFound") => Ok(()),
        Err(error) => Err(error),
    }
}

/// Polls `check` (errors count as "not yet") for at most `timeout`.
async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(true) = check().await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn holds(client: &Client, policy: &str) -> anyhow::Result<bool> {
    let found = Api::<DRPolicy>::all(client.clone()).get_opt(policy).await?;
    Ok(found.is_some_and(|p| p.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER)))
}

const BARRIER_TIMEOUT: Duration = Duration::from_secs(120);

/// Waits for what a change needs first: the operator holding what the script relies on, a deleted
/// Secret gone.
async fn prepare(client: &Client, op: &Op) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    match op {
        Op::DeletePolicy {
            name,
            barrier: true,
        } => {
            eventually(
                &format!("{name} held by the operator"),
                BARRIER_TIMEOUT,
                || holds(client, name),
            )
            .await
        }
        Op::BreakConfig { barrier } => {
            for name in barrier {
                eventually(
                    &format!("{name} held before the config breaks"),
                    BARRIER_TIMEOUT,
                    || holds(client, name),
                )
                .await?;
            }
            Ok(())
        }
        Op::RecreateSecret { name } => {
            eventually(&format!("secret {name} gone"), BARRIER_TIMEOUT, || async {
                Ok(secrets.get_opt(name).await?.is_none())
            })
            .await
        }
        _ => Ok(()),
    }
}

/// Writes one change (after [`prepare`]).
async fn play(client: &Client, seed: u64, op: &Op) -> anyhow::Result<()> {
    let policies: Api<DRPolicy> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let drclusters: Api<drpolicy_api::DRCluster> = Api::all(client.clone());
    let drpcs: Api<drpolicy_api::DRPlacementControl> = Api::namespaced(client.clone(), APPS);
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let pp = PostParams::default();
    let dp = DeleteParams::default();
    match op {
        Op::CreatePolicy { name, clusters } => {
            let policy = test_fixtures::drpolicy(name, clusters, hub::ASYNC_INTERVAL);
            retry("create policy", || policies.create(&pp, &policy)).await?;
        }
        Op::DeletePolicy { name, .. } => {
            delete_retry("delete policy", || policies.delete(name, &dp)).await?;
        }
        Op::CreateDrpc { name, policy } => {
            let drpc = test_fixtures::drpc(APPS, name, policy);
            retry("create drpc", || drpcs.create(&pp, &drpc)).await?;
        }
        Op::DeleteDrpc { name } => {
            delete_retry("delete drpc", || drpcs.delete(name, &dp)).await?;
        }
        Op::RotateSecret { name, value } => {
            let patch = json!({"stringData": {"AWS_SECRET_ACCESS_KEY": value}});
            retry("rotate secret", || merge(&secrets, name, &patch)).await?;
        }
        Op::DeleteSecret { name } => {
            delete_retry("delete secret", || secrets.delete(name, &dp)).await?;
        }
        Op::RecreateSecret { name } => {
            let secret = test_fixtures::s3_secret(NAMESPACE, name, &credentials(seed));
            retry("recreate secret", || secrets.create(&pp, &secret)).await?;
        }
        Op::CreateDrcluster { name } => {
            if drclusters.get_opt(name).await.ok().flatten().is_none() {
                let cluster = hub::drcluster(name, &profile_of(name));
                retry("create drcluster", || drclusters.create(&pp, &cluster)).await?;
            }
            retry_anyhow("validate drcluster", || {
                hub::set_drcluster_validated(client, name, true)
            })
            .await?;
        }
        Op::DeleteDrcluster { name } => {
            delete_retry("delete drcluster", || drclusters.delete(name, &dp)).await?;
        }
        Op::SetValidated { name, validated } => {
            retry_anyhow("set drcluster validated", || {
                hub::set_drcluster_validated(client, name, *validated)
            })
            .await?;
        }
        Op::Config(variant) => {
            let patch =
                json!({"data": {drpolicy_api::names::RAMEN_CONFIG_KEY: config_yaml(*variant)}});
            retry("config", || {
                merge(&configmaps, HUB_OPERATOR_CONFIGMAP, &patch)
            })
            .await?;
        }
        Op::BreakConfig { .. } => {
            let broken = "drClusterOperator:\n  s3SecretDistributionEnabled: [\n";
            let patch = json!({"data": {drpolicy_api::names::RAMEN_CONFIG_KEY: broken}});
            retry("break config", || {
                merge(&configmaps, HUB_OPERATOR_CONFIGMAP, &patch)
            })
            .await?;
        }
        Op::TouchConfig { n } => {
            let patch = json!({"metadata": {"annotations": {"soak/touched": n.to_string()}}});
            retry("touch config", || {
                merge(&configmaps, HUB_OPERATOR_CONFIGMAP, &patch)
            })
            .await?;
        }
        Op::Pause { millis } => tokio::time::sleep(Duration::from_millis(*millis)).await,
    }
    Ok(())
}

async fn merge<K>(api: &Api<K>, name: &str, patch: &serde_json::Value) -> Result<K, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
}

async fn retry_anyhow<F, Fut>(what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let deadline = Instant::now() + HARNESS_PATIENCE;
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(error) => {
                if Instant::now() > deadline {
                    return Err(error).context(what.to_owned());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn access_key(seed: u64) -> String {
    format!("soak-access-key-{seed:04}")
}

fn secret_key(seed: u64) -> String {
    format!("soak-secret-key-{seed:04}")
}

/// The values of every Secret of the run of `seed`.
fn credentials(seed: u64) -> S3Credentials {
    S3Credentials::new(access_key(seed), secret_key(seed))
}

/// Seeds the soak hub: CRDs, namespaces, the base config, the Secrets, a joined ManagedCluster for
/// every cluster (the ghost too), seven validated DRClusters and the metro policy.
async fn seed_hub(client: &Client, seed: u64) -> anyhow::Result<()> {
    hub::seed(config_yaml(ConfigVariant::Base), credentials(seed))
        .secrets(PROFILES.map(secret_name))
        .clusters(
            CLUSTERS
                .iter()
                .chain(&METRO)
                .filter(|c| **c != GHOST)
                .map(|c| hub::seed_cluster(c, &profile_of(c))),
        )
        .apply(client)
        .await?;
    // The ghost: a joined ManagedCluster without a DRCluster.
    ManagedClusterFixture::joined(GHOST, hub::cluster_id(GHOST))
        .ensure(client)
        .await?;
    ensure_namespace(client, APPS, HARNESS_AGENT).await?;
    let metro = test_fixtures::drpolicy(METRO_POLICY, &METRO, hub::SYNC_INTERVAL);
    Api::<DRPolicy>::all(client.clone())
        .create(&PostParams::default(), &metro)
        .await?;
    Ok(())
}

/// The outcome of one run of a script.
#[derive(Debug)]
pub struct RunOutcome {
    /// The normalized final state.
    pub snapshot: Snapshot,
    /// Rule violations of the final state and of the run (withdrawn objects, unfenced writes).
    pub violations: Vec<String>,
    /// Secret values found in written objects or the log.
    pub leaks: Vec<String>,
    /// The operator's requests during the run.
    pub requests: Counts,
    /// Seconds from the last fault (right after the script) until the final state held.
    pub settle_seconds: f64,
    /// What the fault injector did.
    pub faults: FaultLog,
    /// Operator processes started (replicas and restarts).
    pub starts: u32,
    /// OCM objects the operator deleted, and how many of those deletions had a verdict.
    pub deletions: (usize, usize),
    /// Of the deletions that passed, the longest the hub had needed the object before.
    pub longest_need: Duration,
}

/// Stops the fault injector when a run ends early: it would otherwise keep faulting (and keep the
/// operator processes and the server alive) for the rest of the soak.
struct InjectorGuard {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<FaultLog>>>,
}

impl Drop for InjectorGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The longest API-server outage an operator must ride out without giving up its lease: its renew
/// deadline (10 s) less two retry periods (2 s each: the outage may begin just before a renewal, and
/// the renewal after it must be accepted before the deadline).
const OUTAGE_WITHIN_LEASE: Duration = Duration::from_secs(6);

/// The exits of operator processes a run's faults do not explain. A process may exit only after it
/// lost its lease (its log says so), and only as a leader paused past its lease (once per such pause)
/// or through an API-server outage longer than [`OUTAGE_WITHIN_LEASE`].
fn unexpected_exits(kind: Option<FaultKind>, faults: &FaultLog, exits: &[Exit]) -> Vec<String> {
    let mut pauses = faults.paused_past_lease.clone();
    let mut out = Vec::new();
    for exit in exits {
        let lost_lease = std::fs::read_to_string(&exit.log)
            .is_ok_and(|log| log.contains("leader election lost"));
        let explained = lost_lease
            && match kind {
                Some(FaultKind::Failover) => {
                    match pauses.iter().position(|p| *p == exit.identity) {
                        Some(i) => {
                            pauses.remove(i);
                            true
                        }
                        None => false,
                    }
                }
                Some(FaultKind::Restart) => faults.longest_outage >= OUTAGE_WITHIN_LEASE,
                _ => false,
            };
        if !explained {
            out.push(format!(
                "operator process {} exited on its own (log {})",
                exit.identity,
                exit.log.display()
            ));
        }
    }
    out
}

/// The OCM objects the hub needs in state `raw` when the policies `valid` hold their Secrets: by its
/// config; while that is broken, the operator distributes with the last one it parsed, which may be
/// any config the run wrote before (`configs`), so only what all of them need counts.
fn needs(raw: &Raw, valid: &BTreeSet<String>, configs: &[RamenConfig]) -> Option<BTreeSet<String>> {
    if let Some(config) = raw.config() {
        return Some(raw.needed_objects(valid, &config));
    }
    configs
        .iter()
        .map(|config| raw.needed_objects(valid, config))
        .reduce(|a, b| a.intersection(&b).cloned().collect())
}

/// Reads the hub until a read succeeds (an injected fault may answer any request).
async fn read_hub(client: &Client) -> anyhow::Result<Raw> {
    let deadline = Instant::now() + HARNESS_PATIENCE;
    loop {
        match Raw::read(client).await {
            Ok(raw) => return Ok(raw),
            Err(error) => {
                if Instant::now() > deadline {
                    return Err(error.context("reading the hub"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Plays the script of `seed` once: without faults (`kind` `None`, the reference), or with faults of
/// `kind`, when the final state must equal `reference`.
pub async fn run_once(
    args: &SoakArgs,
    seed: u64,
    kind: Option<FaultKind>,
    reference: Option<&Snapshot>,
) -> anyhow::Result<RunOutcome> {
    let Script {
        ops,
        mut values,
        valid,
    } = script(seed, args.steps);
    values.extend([access_key(seed), secret_key(seed)]);
    std::fs::create_dir_all(&args.out_dir)?;
    let out_dir = std::fs::canonicalize(&args.out_dir)?;
    let label = format!(
        "{}-{seed}-{}",
        if args.real { "real" } else { "embedded" },
        kind.map_or("reference", FaultKind::as_str)
    );
    let mut backend = if args.real {
        Backend::real(&args.kube_script, &out_dir, &label).await?
    } else {
        Backend::embedded(&out_dir, &label).await?
    };
    let client = backend.client_as(HARNESS_AGENT).await?;
    seed_hub(&client, seed).await?;
    let table = managed_objects();
    let ocm = backend.ocm_client().await?;
    let agents = Agents::spawn(|| Ok(ocm.clone()), &table, 1)?;
    let listing: String = ops.iter().map(|op| format!("{op:?}\n")).collect();
    std::fs::write(out_dir.join(format!("script-{seed}.txt")), listing)?;
    let template = OperatorOptions {
        binary: crate::operator::default_binary()?,
        kubeconfig: backend.operator_kubeconfig(),
        concurrency: args.concurrency,
        log_path: PathBuf::new(),
        rust_log: args.rust_log.clone(),
        // As in production; the API faults include lease-only ones the operator must keep its lease
        // through.
        leader_elect: true,
        identity: String::new(),
    };
    // The first needs, before the operator starts: nothing changes until the script does.
    let first = read_hub(&client).await?;
    let mut configs: Vec<RamenConfig> = first.config().into_iter().collect();
    let mut samples = vec![NeedSample {
        from: SystemTime::now(),
        needed: needs(&first, &valid[0], &configs),
    }];
    let replicas = kind.map_or(1, FaultKind::replicas);
    let log_prefix = out_dir.join(format!("operator-{label}"));
    let mut fleet = Fleet::start(template, &log_prefix.to_string_lossy(), replicas).await?;
    fleet.wait_leader(Duration::from_secs(60)).await?;

    let fleet = Arc::new(tokio::sync::Mutex::new(fleet));
    let stop = Arc::new(AtomicBool::new(false));
    let mut injector = InjectorGuard {
        stop: stop.clone(),
        task: None,
    };
    injector.task = kind.map(|kind| {
        let levers = match &backend {
            Backend::Embedded(embedded) => Levers {
                server: Some(embedded.server.clone()),
                cutter: Some(embedded.proxy.cutter()),
                restart_script: None,
            },
            Backend::Real(_) => Levers {
                server: None,
                cutter: None,
                restart_script: backend.restart_script(),
            },
        };
        tokio::spawn(faults::inject(
            kind,
            levers,
            fleet.clone(),
            seed,
            args.fault_percent,
            stop.clone(),
        ))
    });
    let max_gap = kind.map_or(Duration::from_millis(60), FaultKind::max_gap);
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31));
    for (i, op) in ops.iter().enumerate() {
        let context = || format!("seed {seed} ({label}): {op:?}");
        prepare(&client, op).await.with_context(context)?;
        let from = SystemTime::now();
        play(&client, seed, op).await.with_context(context)?;
        let landed = SystemTime::now();
        let raw = read_hub(&client).await?;
        if let Some(config) = raw.config()
            && !configs.contains(&config)
        {
            configs.push(config);
        }
        let needed = needs(&raw, &valid[i + 1], &configs);
        // What the change removes counts from when it was sent; what it adds only from when it
        // landed (a retry through an outage can take seconds).
        let previous = samples.last().and_then(|s| s.needed.clone());
        if let (Some(previous), Some(needed)) = (previous, needed.as_ref()) {
            samples.push(NeedSample {
                from,
                needed: Some(previous.intersection(needed).cloned().collect()),
            });
        }
        samples.push(NeedSample {
            from: landed,
            needed,
        });
        let gap = rng.random_range(0..max_gap.as_millis() as u64);
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }
    let script_ended = Instant::now();
    let faults = match injector.task.take() {
        Some(injector) => {
            // The last fault lands while the operator still works on the last changes.
            stop.store(true, Ordering::SeqCst);
            injector.await??
        }
        None => FaultLog::default(),
    };
    let mut fleet = Arc::try_unwrap(fleet)
        .map_err(|_| anyhow::anyhow!("the fault injector still holds the fleet"))?
        .into_inner();
    fleet.resume_all().await?;

    let ended = faults.last.unwrap_or(script_ended);
    let deadline = Instant::now() + Duration::from_secs(args.converge_timeout_secs);
    let (raw, settle_seconds) = loop {
        fleet.tend().await?;
        let raw = read_hub(&client).await?;
        let snapshot = raw.snapshot();
        let done = raw.violations(&table).is_empty()
            && reference.is_none_or(|r| r.differences(&snapshot).is_empty());
        if done {
            // Stable: the operator is quiet and the state has not moved since.
            let settled = ended.elapsed().as_secs_f64();
            backend
                .wait_operator_quiet(Duration::from_secs(1), Duration::from_secs(60))
                .await?;
            let again = read_hub(&client).await?;
            if again.snapshot() == snapshot {
                break (again, settled);
            }
        }
        if Instant::now() > deadline {
            break (raw, ended.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let records = backend.records()?;
    let requests = Counts::of_operator(&records);
    let snapshot = raw.snapshot();
    let mut violations = raw.violations(&table);
    violations.extend(unexpected_exits(kind, &faults, fleet.exits()));
    let withdrawals = judge::withdrawn(&records, &samples);
    violations.extend(withdrawals.violations.iter().cloned());
    violations.extend(judge::unfenced_writes(&records, fleet.launches()));
    if let Some(reference) = reference {
        violations.extend(
            reference
                .differences(&snapshot)
                .into_iter()
                .map(|d| format!("differs from the fault-free run: {d}")),
        );
    }
    if raw.configmap.as_ref().is_none_or(|c| {
        !c.labels()
            .contains_key(drpolicy_api::names::OCM_BACKUP_LABEL)
    }) {
        violations.push("the ConfigMap has no backup label".into());
    }
    let needles = Needles::new(values.iter().map(String::as_str));
    let leaks = leak::places(&needles, &raw, &fleet.logs()?)?;
    if !violations.is_empty() {
        write_evidence(&out_dir, &label, &records, &samples)?;
    }
    let starts = fleet.starts();
    fleet.stop().await?;
    if agents.any_finished() {
        violations.push("the OCM view agent ended before the run did".into());
    }
    agents.stop().await?;
    drop(client);
    drop(ocm);
    backend.shutdown().await;
    Ok(RunOutcome {
        snapshot,
        violations,
        leaks,
        requests,
        settle_seconds,
        faults,
        starts,
        deletions: (withdrawals.deletions, withdrawals.judged),
        longest_need: withdrawals.longest_need,
    })
}

/// Writes what a failed run's checks read: the request log (without a real kube-apiserver's own
/// requests) and the hub's needs after each change, as `requests-LABEL.txt` and `needs-LABEL.txt`.
fn write_evidence(
    dir: &std::path::Path,
    label: &str,
    records: &[test_apiserver::RequestRecord],
    samples: &[NeedSample],
) -> anyhow::Result<()> {
    let at = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default()
    };
    let requests: String = records
        .iter()
        .filter(|r| {
            !r.user_agent
                .as_deref()
                .is_some_and(|a| a.starts_with("kube-apiserver/"))
        })
        .map(|r| {
            format!(
                "{:.6} {} {}\n",
                at(r.received_at),
                crate::requests::line(r),
                r.user_agent.as_deref().unwrap_or("-")
            )
        })
        .collect();
    std::fs::write(dir.join(format!("requests-{label}.txt")), requests)?;
    let needs: String = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let needed = s.needed.as_ref().map_or_else(
                || "unknown".to_owned(),
                |n| n.iter().cloned().collect::<Vec<_>>().join(" "),
            );
            format!("{:.6} after change {i}: {needed}\n", at(s.from))
        })
        .collect();
    std::fs::write(dir.join(format!("needs-{label}.txt")), needs)?;
    Ok(())
}

/// What one fault kind showed for one seed.
#[derive(Debug)]
pub struct KindReport {
    /// The fault kind.
    pub kind: FaultKind,
    /// Everything wrong (empty: passed).
    pub failures: Vec<String>,
    /// Operator requests of the run.
    pub requests: usize,
    /// Of which answered with an injected fault.
    pub faulted: usize,
    /// Leader-election requests of the run.
    pub lease_requests: usize,
    /// Faults of the kind (crashes, failovers, restarts; request faults for `api`).
    pub faults: usize,
    /// Crashes and failovers that hit a write the server was holding.
    pub inside_writes: usize,
    /// The longest API-server outage (restarts).
    pub longest_outage: Duration,
    /// Operator processes started.
    pub starts: u32,
    /// OCM objects the operator deleted, and how many of those deletions had a verdict.
    pub deletions: (usize, usize),
    /// Of the deletions that passed, the longest the hub had needed the object before.
    pub longest_need: Duration,
    /// Seconds from the last fault to the final state.
    pub settle_seconds: f64,
    /// The injector's log.
    pub events: Vec<String>,
}

/// What one seed showed.
#[derive(Debug)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// What went wrong in the fault-free run (empty: it passed).
    pub reference_failures: Vec<String>,
    /// One report per fault kind run.
    pub kinds: Vec<KindReport>,
    /// Policies at the end of the fault-free run (live and deleting).
    pub policies: usize,
    /// OCM objects at the end of the fault-free run.
    pub ocm_objects: usize,
    /// ManagedClusterViews at the end in the namespaces of live policies' clusters.
    pub views: usize,
    /// Live policies with sync peer classes at the end.
    pub sync_policies: usize,
    /// Live policies with async peer classes at the end.
    pub async_policies: usize,
}

impl SeedReport {
    /// Whether the seed passed: the fault-free run and every kind.
    pub fn passed(&self) -> bool {
        self.reference_failures.is_empty() && self.kinds.iter().all(|k| k.failures.is_empty())
    }
}

/// Runs one seed: the reference, then one run per fault kind, each compared with it.
///
/// A run that cannot finish (the operator never takes over a policy the script waits for, a harness
/// request keeps failing) is a failure of that run, not of the soak.
pub async fn run_seed(args: &SoakArgs, seed: u64) -> SeedReport {
    let mut report = SeedReport {
        seed,
        reference_failures: Vec::new(),
        kinds: Vec::new(),
        policies: 0,
        ocm_objects: 0,
        views: 0,
        sync_policies: 0,
        async_policies: 0,
    };
    let reference = match run_once(args, seed, None, None).await {
        Ok(outcome) => outcome,
        Err(error) => {
            report.reference_failures = vec![format!("{error:#}")];
            return report;
        }
    };
    report.reference_failures = reference
        .violations
        .iter()
        .cloned()
        .chain(reference.leaks.iter().map(|l| format!("leak in {l}")))
        .collect();
    let s = &reference.snapshot;
    report.policies = s.policies.len();
    report.ocm_objects = s.ocm_policies.len() + s.rules.len() + s.bindings.len();
    report.views = s.views.len();
    report.sync_policies = s.policies_with_peers("sync");
    report.async_policies = s.policies_with_peers("async");
    for kind in args.kinds() {
        let run = run_once(args, seed, Some(kind), Some(&reference.snapshot)).await;
        report.kinds.push(match run {
            Ok(outcome) => KindReport {
                kind,
                failures: outcome
                    .violations
                    .into_iter()
                    .chain(outcome.leaks.iter().map(|l| format!("leak in {l}")))
                    .collect(),
                requests: outcome.requests.total,
                faulted: outcome.requests.faulted,
                lease_requests: outcome.requests.lease,
                faults: outcome.faults.count,
                inside_writes: outcome.faults.inside_writes,
                longest_outage: outcome.faults.longest_outage,
                starts: outcome.starts,
                deletions: outcome.deletions,
                longest_need: outcome.longest_need,
                settle_seconds: outcome.settle_seconds,
                events: outcome.faults.events,
            },
            Err(error) => KindReport {
                kind,
                failures: vec![format!("{error:#}")],
                requests: 0,
                faulted: 0,
                lease_requests: 0,
                faults: 0,
                inside_writes: 0,
                longest_outage: Duration::ZERO,
                starts: 0,
                deletions: (0, 0),
                longest_need: Duration::ZERO,
                settle_seconds: 0.0,
                events: Vec::new(),
            },
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_of_a_seed_never_changes() {
        assert_eq!(script(7, 40), script(7, 40));
        assert_ne!(script(7, 40).ops, script(8, 40).ops);
    }

    #[test]
    fn every_script_ends_with_the_base_config_and_every_drcluster_validated() {
        for seed in 0..200 {
            let ops = script(seed, 40).ops;
            let mut clusters: BTreeMap<String, bool> = CLUSTERS
                .iter()
                .filter(|c| **c != GHOST)
                .map(|c| ((*c).to_owned(), true))
                .collect();
            let mut config = None;
            for op in &ops {
                match op {
                    Op::CreateDrcluster { name } => {
                        clusters.insert(name.clone(), true);
                    }
                    Op::DeleteDrcluster { name } => {
                        clusters.remove(name);
                    }
                    Op::SetValidated { name, validated } => {
                        clusters.insert(name.clone(), *validated);
                    }
                    Op::Config(variant) => config = Some(*variant),
                    Op::BreakConfig { .. } => config = None,
                    _ => {}
                }
            }
            assert_eq!(config, Some(ConfigVariant::Base), "seed {seed}");
            assert_eq!(clusters.len(), CLUSTERS.len(), "seed {seed}");
            assert!(clusters.values().all(|v| *v), "seed {seed}");
        }
    }

    #[test]
    fn no_script_deletes_the_metro_policy_or_shares_its_clusters() {
        for seed in 0..200 {
            for op in script(seed, 60).ops {
                match op {
                    Op::DeletePolicy { name, .. } => assert_ne!(name, METRO_POLICY, "seed {seed}"),
                    Op::CreatePolicy { clusters, .. } => assert!(
                        clusters.iter().all(|c| !METRO.contains(&c.as_str())),
                        "seed {seed}: {clusters:?}"
                    ),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn while_the_config_is_broken_only_the_policies_valid_when_it_broke_hold_their_secrets() {
        let create = |name: &str| Op::CreatePolicy {
            name: name.into(),
            clusters: vec!["east-1".into(), "west-1".into()],
        };
        let ops = [
            create("p1"),
            create("p2"),
            Op::BreakConfig {
                barrier: vec!["p1".into(), "p2".into()],
            },
            create("p3"),
            Op::DeletePolicy {
                name: "p1".into(),
                barrier: false,
            },
            Op::Config(ConfigVariant::Base),
        ];
        let names = |list: &[&str]| -> BTreeSet<String> {
            list.iter()
                .map(|n| (*n).to_owned())
                .chain([METRO_POLICY.to_owned()])
                .collect()
        };
        assert_eq!(
            validity(&ops),
            [
                names(&[]),
                names(&["p1"]),
                names(&["p1", "p2"]),
                names(&["p1", "p2"]),
                names(&["p1", "p2"]),
                names(&["p2"]),
                names(&["p2", "p3"]),
            ]
        );
    }

    #[test]
    fn no_script_touches_a_drcluster_a_live_policy_uses() {
        for seed in 0..200 {
            let ops = script(seed, 60).ops;
            let mut live: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::CreatePolicy { name, clusters } => {
                        live.insert(name.clone(), clusters.clone());
                    }
                    Op::DeletePolicy { name, .. } => {
                        live.remove(name);
                    }
                    Op::DeleteDrcluster { name }
                    | Op::SetValidated {
                        name,
                        validated: false,
                    } => {
                        assert!(
                            !live.values().any(|cs| cs.contains(name)),
                            "seed {seed}: {op:?} while a live policy uses it"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}
