//! The soak: a seeded script of changes to policies, DRClusters, Secrets, DRPlacementControls and the
//! ConfigMap, played twice against the operator process — once without faults (the reference), once
//! while about a tenth of all requests fail (500, 409, 429, hangs that end in 504 or a dropped
//! connection), watches are dropped and re-watches get 410. After the faults stop, the final state must
//! equal the reference's, satisfy the planner's rule on its own (no leaked OCM object, no stuck
//! finalizer, no Secret finalizer without a policy needing it, every condition right) and no Secret
//! value may appear in an object the operator wrote or in its log.
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
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use test_apiserver::{FaultAction, RequestFilter, ServerConfig, TestApiServer};
use test_fixtures::seed::ensure_namespace;
use test_fixtures::{ManagedClusterFixture, S3Credentials};

use crate::hub::{self, ConfigOptions, NAMESPACE, Profile};
use crate::leak::{self, Needles};
use crate::managed::{self, Agents};
use crate::operator::{Operator, OperatorOptions};
use crate::requests::{Counts, HARNESS_AGENT, is_operator};
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

/// The script of a seed: `steps` changes, then the restoring tail.
fn script(seed: u64, steps: usize) -> (Vec<Op>, Vec<String>) {
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
    (ops, values)
}

/// Retries a harness request until it is not an injected fault (faults are answered instead of being
/// served, so retrying never doubles a change).
async fn retry<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempts = 0;
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
                attempts += 1;
                if attempts > 200 {
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
        Op::DeletePolicy { name, barrier } => {
            if *barrier {
                eventually(
                    &format!("{name} held by the operator"),
                    BARRIER_TIMEOUT,
                    || holds(client, name),
                )
                .await?;
            }
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
            eventually(&format!("secret {name} gone"), BARRIER_TIMEOUT, || async {
                Ok(secrets.get_opt(name).await?.is_none())
            })
            .await?;
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
        Op::BreakConfig { barrier } => {
            for name in barrier {
                eventually(
                    &format!("{name} held before the config breaks"),
                    BARRIER_TIMEOUT,
                    || holds(client, name),
                )
                .await?;
            }
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
    let mut attempts = 0;
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(error) => {
                attempts += 1;
                if attempts > 200 {
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

/// Injects faults into about `percent` % of the requests the server sees, drops every watch now and
/// then (sometimes with 410 on the re-watch or a compacted history), until `stop`.
async fn inject_faults(server: Arc<TestApiServer>, seed: u64, percent: u32, stop: Arc<AtomicBool>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_FA17);
    let hooks = server.hooks();
    let mut mark = hooks.mark();
    let mut next_drop = Instant::now() + Duration::from_millis(rng.random_range(500..1500));
    const WATCHED: [&str; 10] = test_fixtures::hub_api::WATCHED_RESOURCES;
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = hooks.requests_since(mark);
        mark = hooks.mark();
        // Only the operator's requests count: the harness polls while it waits, and counting those
        // would multiply the faults the operator sees.
        for _ in seen.iter().filter(|r| !r.faulted && is_operator(r)) {
            if rng.random_range(0..100) >= percent {
                continue;
            }
            let filter = match rng.random_range(0..10) {
                0..=2 => RequestFilter::any().verb("patch"),
                _ => RequestFilter::any(),
            };
            let action = match rng.random_range(0..100) {
                0..=29 => FaultAction::Status(500),
                30..=54 => FaultAction::Status(409),
                55..=69 => FaultAction::TooManyRequests {
                    retry_after_secs: 1,
                },
                70..=84 => FaultAction::Hang(Duration::from_millis(rng.random_range(100..1500))),
                _ => FaultAction::HangUp(Duration::from_millis(rng.random_range(50..500))),
            };
            hooks.fail_next(filter, 1, action);
        }
        // Lease-only faults: a renewal fails or hangs now and then. Renewals come every 2 s with a 10 s
        // deadline, so the operator keeps its lease (and keeps writing) through isolated ones.
        for _ in seen
            .iter()
            .filter(|r| !r.faulted && crate::requests::is_lease(r))
        {
            if rng.random_range(0..100) >= percent {
                continue;
            }
            let action = match rng.random_range(0..2) {
                0 => FaultAction::Status(500),
                _ => FaultAction::Hang(Duration::from_millis(rng.random_range(500..3000))),
            };
            hooks.fail_next(
                RequestFilter::any().resource("leases").verb("update"),
                1,
                action,
            );
        }
        if Instant::now() >= next_drop {
            match rng.random_range(0..3) {
                0 => server.expire_next_watch(WATCHED[rng.random_range(0..WATCHED.len())]),
                1 => server.compact_history(),
                _ => {}
            }
            server.close_watches();
            next_drop = Instant::now() + Duration::from_millis(rng.random_range(500..2000));
        }
    }
    hooks.clear_faults();
}

/// The outcome of one run of a script.
#[derive(Debug)]
pub struct RunOutcome {
    /// The normalized final state.
    pub snapshot: Snapshot,
    /// Rule violations of the final state.
    pub violations: Vec<String>,
    /// Secret values found in written objects or the log.
    pub leaks: Vec<String>,
    /// The operator's requests during the run.
    pub requests: Counts,
    /// Seconds from the end of the script (and of the faults) until the final state held.
    pub settle_seconds: f64,
}

/// Plays the script of `seed` once; with `reference` the final state must equal it (and faults are on).
pub async fn run_once(
    args: &SoakArgs,
    seed: u64,
    reference: Option<&Snapshot>,
) -> anyhow::Result<RunOutcome> {
    let faults = reference.is_some();
    let (ops, mut values) = script(seed, args.steps);
    values.extend([access_key(seed), secret_key(seed)]);
    let server = Arc::new(
        TestApiServer::start_with(ServerConfig {
            history_limit: 20_000,
            ..ServerConfig::default()
        })
        .await?,
    );
    let client = hub::harness_client(&server)?;
    seed_hub(&client, seed).await?;
    let table = managed_objects();
    let agents = Agents::spawn(&server, &table, 1)?;
    std::fs::create_dir_all(&args.out_dir)?;
    let listing: String = ops.iter().map(|op| format!("{op:?}\n")).collect();
    std::fs::write(args.out_dir.join(format!("script-{seed}.txt")), listing)?;
    let label = if faults { "faults" } else { "reference" };
    let options = OperatorOptions {
        binary: crate::operator::default_binary()?,
        kubeconfig: server.kubeconfig_path().to_owned(),
        concurrency: args.concurrency,
        log_path: args.out_dir.join(format!("operator-{seed}-{label}.log")),
        rust_log: args.rust_log.clone(),
        // The faults below include lease-only ones: the operator must keep its lease through them.
        leader_elect: true,
    };
    let mark = server.hooks().mark();
    let mut operator = Operator::spawn(&options).await?;
    operator.wait_ready(Duration::from_secs(60)).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let injector = faults.then(|| {
        tokio::spawn(inject_faults(
            server.clone(),
            seed,
            args.fault_percent,
            stop.clone(),
        ))
    });
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31));
    for op in &ops {
        play(&client, seed, op)
            .await
            .with_context(|| format!("seed {seed} ({label}): {op:?}"))?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..60))).await;
    }
    if let Some(injector) = injector {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::SeqCst);
        injector.await?;
    }

    let ended = Instant::now();
    let deadline = ended + Duration::from_secs(args.converge_timeout_secs);
    let (raw, settle_seconds) = loop {
        let raw = Raw::read(&client).await?;
        let snapshot = raw.snapshot();
        let done = raw.violations(&table).is_empty()
            && reference.is_none_or(|r| r.differences(&snapshot).is_empty());
        if done {
            // Stable: the operator is quiet and the state has not moved since.
            let settled = ended.elapsed().as_secs_f64();
            server
                .wait_quiet(Duration::from_secs(1), Duration::from_secs(60))
                .await?;
            let again = Raw::read(&client).await?;
            if again.snapshot() == snapshot {
                break (again, settled);
            }
        }
        if !operator.running() || Instant::now() > deadline {
            break (raw, ended.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let requests = Counts::of_operator(&server.hooks().requests_since(mark));
    let snapshot = raw.snapshot();
    let mut violations = raw.violations(&table);
    if !operator.running() {
        violations.push(format!(
            "the operator exited; log: {}",
            operator.log_path().display()
        ));
    }
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
    let leaks = leak::places(&needles, &raw, &operator)?;
    operator.stop().await?;
    if agents.any_finished() {
        violations.push("the OCM view agent ended before the run did".into());
    }
    agents.stop().await?;
    drop(client);
    if let Ok(server) = Arc::try_unwrap(server) {
        server.shutdown().await;
    }
    Ok(RunOutcome {
        snapshot,
        violations,
        leaks,
        requests,
        settle_seconds,
    })
}

/// What one seed showed.
#[derive(Debug)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Everything wrong (empty: passed).
    pub failures: Vec<String>,
    /// Operator requests of the faulty run.
    pub requests: usize,
    /// Of which answered with an injected fault.
    pub faulted: usize,
    /// Leader-election requests of the faulty run (the operator ran with leader election on).
    pub lease_requests: usize,
    /// Of which answered with an injected fault (lease-only faults).
    pub lease_faulted: usize,
    /// Seconds from the end of the faults to the final state.
    pub settle_seconds: f64,
    /// Policies at the end (live and deleting).
    pub policies: usize,
    /// OCM objects at the end.
    pub ocm_objects: usize,
    /// ManagedClusterViews at the end in the namespaces of live policies' clusters.
    pub views: usize,
    /// Live policies with sync peer classes at the end.
    pub sync_policies: usize,
    /// Live policies with async peer classes at the end.
    pub async_policies: usize,
}

/// Runs one seed: the reference, then the faulty run compared with it.
///
/// A run that cannot finish (the operator never takes over a policy the script waits for, a harness
/// request keeps failing) is a failure of the seed, not of the soak.
pub async fn run_seed(args: &SoakArgs, seed: u64) -> SeedReport {
    let failed = |failures: Vec<String>| SeedReport {
        seed,
        failures,
        requests: 0,
        faulted: 0,
        lease_requests: 0,
        lease_faulted: 0,
        settle_seconds: 0.0,
        policies: 0,
        ocm_objects: 0,
        views: 0,
        sync_policies: 0,
        async_policies: 0,
    };
    let reference = match run_once(args, seed, None).await {
        Ok(outcome) => outcome,
        Err(error) => return failed(vec![format!("fault-free run: {error:#}")]),
    };
    let mut failures: Vec<String> = reference
        .violations
        .iter()
        .map(|v| format!("fault-free run: {v}"))
        .chain(
            reference
                .leaks
                .iter()
                .map(|l| format!("fault-free run: leak in {l}")),
        )
        .collect();
    let faulty = match run_once(args, seed, Some(&reference.snapshot)).await {
        Ok(outcome) => outcome,
        Err(error) => {
            failures.push(format!("run with faults: {error:#}"));
            return failed(failures);
        }
    };
    failures.extend(faulty.violations.iter().cloned());
    failures.extend(faulty.leaks.iter().map(|l| format!("leak in {l}")));
    SeedReport {
        seed,
        failures,
        requests: faulty.requests.total,
        faulted: faulty.requests.faulted,
        lease_requests: faulty.requests.lease,
        lease_faulted: faulty.requests.lease_faulted,
        settle_seconds: faulty.settle_seconds,
        policies: faulty.snapshot.policies.len(),
        ocm_objects: faulty.snapshot.ocm_policies.len()
            + faulty.snapshot.rules.len()
            + faulty.snapshot.bindings.len(),
        views: faulty.snapshot.views.len(),
        sync_policies: faulty.snapshot.policies_with_peers("sync"),
        async_policies: faulty.snapshot.policies_with_peers("async"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_of_a_seed_never_changes() {
        assert_eq!(script(7, 40), script(7, 40));
        assert_ne!(script(7, 40).0, script(8, 40).0);
    }

    #[test]
    fn every_script_ends_with_the_base_config_and_every_drcluster_validated() {
        for seed in 0..200 {
            let (ops, _) = script(seed, 40);
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
            for op in script(seed, 60).0 {
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
    fn no_script_touches_a_drcluster_a_live_policy_uses() {
        for seed in 0..200 {
            let (ops, _) = script(seed, 60);
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
