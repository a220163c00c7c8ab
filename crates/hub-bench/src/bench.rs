//! The scale benchmark: P DRPolicies over C DRClusters (each a joined OCM ManagedCluster whose
//! classes OCM's view agent reports) with S S3 profiles and Secrets, N unrelated Secrets elsewhere; the
//! operator as a process from start to convergence, then a quiet period, a forced relist, a ConfigMap
//! touch without effect and one Secret rotation; against a bare `kube::Client` that issues exactly the
//! minimal writes on an identically seeded server.

use anyhow::{Context, bail};
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE,
    condition as names,
};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::view::ManagedClusterView;
use drpolicy_api::{DRCluster, DRPolicy};
use e2e::views::{ClusterTable, async_peers, merge_tables, sync_peers};
use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use peer_classes::PeerClasses;
use secret_propagator::{FIELD_MANAGER, PlanInputs, Scope, SecretState, Secrets, plan};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use test_apiserver::{Hooks, Mark, RequestRecord, ServerConfig, TestApiServer};
use tokio::task::JoinHandle;

use test_fixtures::S3Credentials;
use test_fixtures::seed::ensure_namespace;

use crate::hub::{self, ASYNC_INTERVAL, ConfigOptions, NAMESPACE, Profile, SYNC_INTERVAL};
use crate::leak::{self, Needles};
use crate::managed::{self, Agents};
use crate::operator::{Operator, OperatorOptions};
use crate::requests::{Counts, HARNESS_AGENT};

/// The operator's condition saying the peer classes were computed from every cluster's answers.
pub const PEER_CLASSES_COMPUTED: &str = "PeerClassesComputed";
/// Its reason when they were.
pub const REASON_COMPUTED: &str = "Computed";

/// Sizes and knobs of one benchmark run.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct BenchArgs {
    /// DRPolicies (P), each over two DRClusters.
    #[arg(long, default_value_t = 300)]
    pub policies: usize,
    /// DRClusters (C), each with a joined ManagedCluster.
    #[arg(long, default_value_t = 30)]
    pub clusters: usize,
    /// Of the C clusters, pairs sharing one storage (metro): each pair carries one policy of its own,
    /// which gets sync peer classes; the other policies pair the remaining clusters and get async ones.
    #[arg(long, default_value_t = 2)]
    pub metro_pairs: usize,
    /// S3 profiles and their Secrets (S); cluster i uses profile i mod S.
    #[arg(long, default_value_t = 5)]
    pub profiles: usize,
    /// Unrelated Secrets in other namespaces (N).
    #[arg(long, default_value_t = 2000)]
    pub unrelated: usize,
    /// Size of each unrelated Secret's data in bytes.
    #[arg(long, default_value_t = 32 * 1024)]
    pub unrelated_bytes: usize,
    /// `kubeObjectProtection.veleroNamespaceName` of the config: every Secret is also distributed in
    /// the velero format. Empty: the config does not set it (ramen format only).
    #[arg(long, default_value = "velero")]
    pub velero_namespace: String,
    /// `ramenOpsNamespace` of the config (the operator creates it). Empty: not set.
    #[arg(long, default_value = "ramen-ops")]
    pub ops_namespace: String,
    /// OCM view agents answering the operator's ManagedClusterViews, each for its share of the
    /// clusters (OCM runs one per managed cluster; one agent answers one view at a time).
    #[arg(long, default_value_t = 4)]
    pub view_agents: usize,
    /// `--max-concurrent-reconciles` of the operator, and the baseline's requests in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Seconds of the quiet period after convergence (requests expected: none).
    #[arg(long, default_value_t = 5)]
    pub idle_secs: u64,
    /// Give up waiting for convergence after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout_secs: u64,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "target/hub-bench/results.json")]
    pub json: PathBuf,
    /// Directory of the operator log, and of `requests.txt`: the operator's requests from its start
    /// until the server was quiet after convergence, in the order the server logged them.
    #[arg(long, default_value = "target/hub-bench")]
    pub out_dir: PathBuf,
    /// `RUST_LOG` of the operator (`debug` shows each view creation, each wait for answers and each
    /// retry after a conflict).
    #[arg(long, default_value = "info")]
    pub rust_log: String,
}

/// S3 credentials of the hub Secrets; the leak check looks for them.
pub const ACCESS_KEY: &str = "hubbench-access-key-5c2e91";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "hubbench-secret-key-a7d04b";
/// The value a Secret is rotated to during the run.
pub const ROTATED_KEY: &str = "hubbench-rotated-key-3f88e0";

/// Names and the policy → clusters → profile → Secret layout of a benchmark hub, and what its managed
/// clusters hold.
#[derive(Debug, Clone)]
pub struct Layout {
    /// P.
    pub policies: usize,
    /// C.
    pub clusters: usize,
    /// Metro pairs (the first 2 × this many clusters).
    pub metro_pairs: usize,
    /// S.
    pub profiles: usize,
    /// What the config says besides its profiles.
    pub config: ConfigOptions,
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

impl Layout {
    /// The layout of `args`; fails when the policies do not fit the clusters.
    pub fn new(args: &BenchArgs) -> anyhow::Result<Layout> {
        let layout = Layout {
            policies: args.policies,
            clusters: args.clusters,
            metro_pairs: args.metro_pairs,
            profiles: args.profiles.max(1),
            config: ConfigOptions {
                distribution_enabled: true,
                velero_namespace: non_empty(&args.velero_namespace),
                ops_namespace: non_empty(&args.ops_namespace),
            },
        };
        if layout.clusters < 2 * layout.metro_pairs {
            bail!(
                "{} metro pairs need {} clusters",
                layout.metro_pairs,
                2 * layout.metro_pairs
            );
        }
        let regional = layout.regional_policies();
        let c = layout.regional_clusters();
        if regional > 0 && c < 2 {
            bail!("at least two clusters besides the metro pairs are needed");
        }
        let pairs = c * c.saturating_sub(1) / 2;
        if regional > pairs {
            bail!(
                "{regional} regional policies need more than {c} clusters besides the metro pairs \
                 ({pairs} pairs)"
            );
        }
        Ok(layout)
    }

    /// Cluster `i` (the first 2 × metro pairs are the metro clusters).
    pub fn cluster(&self, i: usize) -> String {
        format!("dr-{i:04}")
    }

    /// Every cluster name.
    pub fn cluster_names(&self) -> Vec<String> {
        (0..self.clusters).map(|i| self.cluster(i)).collect()
    }

    /// Profile `k`.
    pub fn profile(&self, k: usize) -> Profile {
        Profile {
            name: format!("s3-profile-{k:03}"),
            secret: format!("s3-secret-{k:03}"),
        }
    }

    /// The profile index of cluster `i`.
    pub fn profile_of(&self, i: usize) -> usize {
        i % self.profiles
    }

    /// Policy `j`.
    pub fn policy(&self, j: usize) -> String {
        format!("bench-{j:05}")
    }

    /// How many policies are metro (one per metro pair, as far as P goes).
    pub fn metro_policies(&self) -> usize {
        self.metro_pairs.min(self.policies)
    }

    /// How many policies are regional.
    pub fn regional_policies(&self) -> usize {
        self.policies - self.metro_policies()
    }

    /// How many clusters are not in a metro pair.
    pub fn regional_clusters(&self) -> usize {
        self.clusters - 2 * self.metro_pairs
    }

    /// Whether policy `j` is a metro one.
    pub fn is_metro(&self, j: usize) -> bool {
        j < self.metro_policies()
    }

    /// The regional cluster indexes of regional policy `r`: distinct pairs by growing distance, spread
    /// over all regional clusters (0-based among them).
    pub fn pair(&self, r: usize) -> (usize, usize) {
        let c = self.regional_clusters();
        let mut index = r;
        let mut distance = 1;
        loop {
            // Distance d pairs (a, a + d); at d = c/2 with c even each pair would appear twice.
            let count = if 2 * distance == c { c / 2 } else { c };
            if index < count {
                return (index, (index + distance) % c);
            }
            index -= count;
            distance += 1;
        }
    }

    /// The cluster indexes of policy `j`.
    pub fn policy_indexes(&self, j: usize) -> (usize, usize) {
        if self.is_metro(j) {
            return (2 * j, 2 * j + 1);
        }
        let offset = 2 * self.metro_pairs;
        let (a, b) = self.pair(j - self.metro_policies());
        (offset + a, offset + b)
    }

    /// The cluster names of policy `j`.
    pub fn policy_clusters(&self, j: usize) -> Vec<String> {
        let (a, b) = self.policy_indexes(j);
        vec![self.cluster(a), self.cluster(b)]
    }

    /// The scheduling interval of policy `j`.
    pub fn interval(&self, j: usize) -> &'static str {
        if self.is_metro(j) {
            SYNC_INTERVAL
        } else {
            ASYNC_INTERVAL
        }
    }

    /// DRPolicy `j` as seeded.
    pub fn drpolicy(&self, j: usize) -> DRPolicy {
        test_fixtures::drpolicy(&self.policy(j), &self.policy_clusters(j), self.interval(j))
    }

    /// The RamenConfig.
    pub fn config_yaml(&self) -> String {
        let profiles: Vec<Profile> = (0..self.profiles).map(|k| self.profile(k)).collect();
        hub::config_yaml(&profiles, &self.config)
    }

    /// The formats every Secret is distributed in.
    pub fn formats(&self) -> Vec<Format> {
        if self.config.velero_namespace.is_some() {
            Format::ALL.to_vec()
        } else {
            vec![Format::Ramen]
        }
    }

    /// What each managed cluster holds: each metro pair one StorageClass `metro` of one shared storage
    /// with its VolumeSnapshotClass (sync peers); every other cluster StorageClass `rbd` of its own
    /// storage with a VolumeReplicationClass replicating every [`ASYNC_INTERVAL`] under one
    /// replication ID and a VolumeSnapshotClass (async peers, replicated), and every second one also
    /// StorageClass `cephfs` with a VolumeSnapshotClass only (async peers through snapshots); each
    /// cluster's DRClusterConfig lists its classes.
    pub fn managed_objects(&self) -> ClusterTable {
        let mut tables = Vec::new();
        for k in 0..self.metro_pairs {
            let (a, b) = (self.cluster(2 * k), self.cluster(2 * k + 1));
            tables.push(sync_peers(&[&a, &b], "metro", &format!("metro-array-{k}")));
        }
        let regional: Vec<(String, String)> = (2 * self.metro_pairs..self.clusters)
            .map(|i| (self.cluster(i), format!("rbd-array-{i:04}")))
            .collect();
        let refs: Vec<(&str, &str)> = regional
            .iter()
            .map(|(c, s)| (c.as_str(), s.as_str()))
            .collect();
        tables.push(async_peers(&refs, "rbd", "rbd-replication", ASYNC_INTERVAL));
        let snapshots: ClusterTable = (2 * self.metro_pairs..self.clusters)
            .step_by(2)
            .map(|i| {
                let objects = managed::snapshot_only_classes(&format!("cephfs-array-{i:04}"));
                (self.cluster(i), objects)
            })
            .collect();
        tables.push(snapshots);
        merge_tables(tables)
    }

    /// The peer classes each policy should end with, by policy name.
    pub fn expected_peers(&self, table: &ClusterTable) -> BTreeMap<String, PeerClasses> {
        (0..self.policies)
            .map(|j| {
                let peers =
                    managed::expected_peers(table, &self.policy_clusters(j), self.interval(j));
                (self.policy(j), peers)
            })
            .collect()
    }

    /// The clusters some policy lists.
    pub fn used_clusters(&self) -> BTreeSet<String> {
        (0..self.policies)
            .flat_map(|j| self.policy_clusters(j))
            .collect()
    }

    /// Every view the operator must create (`namespace/name`).
    pub fn expected_views(&self, table: &ClusterTable) -> BTreeSet<String> {
        let used = self.used_clusters();
        managed::expected_views(table, used.iter().map(String::as_str))
    }

    /// For every Secret some policy needs, the clusters its PlacementRules must list.
    pub fn expected_rules(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for j in 0..self.policies {
            let (a, b) = self.policy_indexes(j);
            for i in [a, b] {
                let secret = self.profile(self.profile_of(i)).secret;
                let clusters = rules.entry(secret).or_default();
                clusters.insert(self.cluster(a));
                clusters.insert(self.cluster(b));
            }
        }
        rules
    }

    /// The fewest writes that take the seeded hub to the converged one (see [`MinimalWrites`]).
    pub fn minimal_writes(&self, table: &ClusterTable) -> MinimalWrites {
        let secrets = self.expected_rules().len();
        MinimalWrites {
            policy_metadata: self.policies,
            policy_status: self.policies,
            views: self.expected_views(table).len(),
            secret_finalizers: secrets,
            ocm_objects: 3 * secrets * self.formats().len(),
            configmap_label: 1,
            ops_namespace: usize::from(self.config.ops_namespace.is_some()),
        }
    }
}

/// The fewest writes that take the seeded hub to the converged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinimalWrites {
    /// One metadata patch per policy (backup label and finalizer).
    pub policy_metadata: usize,
    /// One status patch per policy (`Validated`, `SecretsDistributed`, `PeerClassesComputed` and the
    /// peer classes together).
    pub policy_status: usize,
    /// One ManagedClusterView per cluster used by a policy for its DRClusterConfig, and one per class
    /// that config lists (shared by every policy of the cluster).
    pub views: usize,
    /// One patch per needed Secret adding the finalizers of every format at once.
    pub secret_finalizers: usize,
    /// PlacementBinding, Policy and PlacementRule per needed Secret and format.
    pub ocm_objects: usize,
    /// The ConfigMap's backup label.
    pub configmap_label: usize,
    /// The Ramen ops namespace, when the config names one.
    pub ops_namespace: usize,
}

impl MinimalWrites {
    /// All of them.
    pub fn total(&self) -> usize {
        self.policy_metadata
            + self.policy_status
            + self.views
            + self.secret_finalizers
            + self.ocm_objects
            + self.configmap_label
            + self.ops_namespace
    }
}

/// Seeds a hub: CRDs, namespace, ConfigMap, S Secrets, C validated DRClusters with joined
/// ManagedClusters, N unrelated Secrets in other namespaces, P DRPolicies.
pub async fn seed(client: &Client, layout: &Layout, args: &BenchArgs) -> anyhow::Result<()> {
    let credentials = S3Credentials::new(ACCESS_KEY, SECRET_KEY);
    hub::seed(layout.config_yaml(), credentials)
        .secrets((0..layout.profiles).map(|k| layout.profile(k).secret))
        .clusters((0..layout.clusters).map(|i| {
            let profile = layout.profile(layout.profile_of(i)).name;
            hub::seed_cluster(&layout.cluster(i), &profile)
        }))
        .apply(client)
        .await?;

    let per_namespace = 1000;
    let namespaces = args.unrelated.div_ceil(per_namespace);
    for n in 0..namespaces {
        ensure_namespace(client, &format!("unrelated-{n:03}"), HARNESS_AGENT).await?;
    }
    let blob: Vec<u8> = (0..args.unrelated_bytes)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])
        .collect();
    let blob = &blob;
    hub::for_each_parallel(0..args.unrelated, 32, |i| async move {
        let namespace = format!("unrelated-{:03}", i / per_namespace);
        let mut secret = Secret::default();
        secret.metadata.name = Some(format!("other-{i:06}"));
        secret.data = Some(BTreeMap::from([(
            "blob".to_owned(),
            ByteString(blob.clone()),
        )]));
        Api::<Secret>::namespaced(client.clone(), &namespace)
            .create(&PostParams::default(), &secret)
            .await?;
        Ok(())
    })
    .await?;

    hub::for_each_parallel(0..layout.policies, 32, |j| async move {
        Api::<DRPolicy>::all(client.clone())
            .create(&PostParams::default(), &layout.drpolicy(j))
            .await?;
        Ok(())
    })
    .await
}

fn server_config() -> ServerConfig {
    ServerConfig {
        // Seeding writes every object once; keep all of it resumable so nothing relists by accident.
        history_limit: 2_000_000,
        request_log_limit: 5_000_000,
        ..ServerConfig::default()
    }
}

/// The baseline: on a freshly seeded server (with the same OCM view agents answering), a bare client
/// issues exactly the minimal writes (the operator's own objects, built by the same `drpolicy-api` and
/// `secret-propagator` builders), `concurrency` in flight: the ops namespace, the views, per policy
/// its metadata and its status with the expected peer classes, per Secret its finalizers and OCM
/// objects. It does not wait for the views' answers (it knows the peer classes beforehand), and it
/// leaves out the ConfigMap label.
pub async fn baseline(layout: &Layout, args: &BenchArgs) -> anyhow::Result<Baseline> {
    let server = TestApiServer::start_with(server_config()).await?;
    let client = hub::harness_client(&server)?;
    seed(&client, layout, args).await?;
    let table = layout.managed_objects();
    let agents = Agents::spawn(|| hub::ocm_agent_client(&server), &table, args.view_agents)?;
    server
        .wait_quiet(Duration::from_millis(200), Duration::from_secs(60))
        .await?;

    let config = ramen_config::parse_str(&layout.config_yaml())?.config;
    let drclusters: BTreeMap<String, DRCluster> = Api::<DRCluster>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|c| (c.name_any(), c))
        .collect();
    let secret_metas = Api::<PartialObjectMeta<Secret>>::namespaced(client.clone(), NAMESPACE)
        .list_metadata(&ListParams::default())
        .await?;
    let secrets: Secrets = secret_metas
        .items
        .iter()
        .map(|s| (s.name_any(), SecretState::from_meta(&s.metadata)))
        .collect();
    let policies: Vec<DRPolicy> = (0..layout.policies).map(|j| layout.drpolicy(j)).collect();
    let inputs = PlanInputs {
        namespace: NAMESPACE,
        config: &config,
        drclusters: &drclusters,
        secrets: &secrets,
    };
    let plan = plan(&inputs, &policies, Scope::All);
    let peers = layout.expected_peers(&table);

    let ops_jobs = layout.config.ops_namespace.clone().map(Job::Namespace);
    let view_jobs = layout.used_clusters().into_iter().flat_map(|cluster| {
        let objects = table.get(&cluster).cloned().unwrap_or_default();
        managed::view_targets(&cluster, &objects)
            .into_iter()
            .map(move |(target, object)| Job::View(Box::new(target.desired(&cluster, &object))))
    });
    let policy_jobs = (0..layout.policies).map(|j| Job::Policy(layout.policy(j)));
    let secret_jobs = plan.secrets.keys().cloned().map(Job::Secret);
    let jobs: Vec<Job> = ops_jobs
        .into_iter()
        .chain(view_jobs)
        .chain(policy_jobs)
        .chain(secret_jobs)
        .collect();

    let mark = server.hooks().mark();
    let started = Instant::now();
    let views_done = &AtomicU64::new(0);
    let plan = &plan;
    let secrets = &secrets;
    let peers = &peers;
    let client = &client;
    hub::for_each_parallel(
        jobs,
        usize::from(args.concurrency.max(1)),
        |job| async move {
            match job {
                Job::Namespace(name) => baseline_namespace(client, &name).await,
                Job::View(view) => {
                    baseline_view(client, &view).await?;
                    let at = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    views_done.fetch_max(at, Ordering::Relaxed);
                    Ok(())
                }
                Job::Policy(name) => {
                    let peers = peers.get(&name).cloned().unwrap_or_default();
                    baseline_policy(client, &name, peers).await
                }
                Job::Secret(name) => baseline_secret(client, plan, secrets, &name).await,
            }
        },
    )
    .await?;
    let elapsed = started.elapsed();
    let writes = server
        .hooks()
        .writes_since(mark)
        .iter()
        .filter(|r| r.user_agent.as_deref() == Some(crate::requests::HARNESS_AGENT))
        .count();
    agents.stop().await?;
    server.shutdown().await;
    Ok(Baseline {
        seconds: elapsed.as_secs_f64(),
        views_seconds: Duration::from_micros(views_done.load(Ordering::Relaxed)).as_secs_f64(),
        writes,
    })
}

enum Job {
    Namespace(String),
    View(Box<ManagedClusterView>),
    Policy(String),
    Secret(String),
}

async fn baseline_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.to_owned());
    namespace.metadata.labels = Some(BTreeMap::from([(
        drpolicy_api::names::CREATED_BY_RAMEN_LABEL.to_owned(),
        drpolicy_api::names::CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
    )]));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?;
    Ok(())
}

async fn baseline_view(client: &Client, view: &ManagedClusterView) -> anyhow::Result<()> {
    let namespace = view.namespace().unwrap_or_default();
    Api::<ManagedClusterView>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), view)
        .await?;
    Ok(())
}

async fn baseline_policy(client: &Client, name: &str, peers: PeerClasses) -> anyhow::Result<()> {
    let api: Api<DRPolicy> = Api::all(client.clone());
    let patch = json!({"metadata": {
        "labels": {OCM_BACKUP_LABEL: OCM_BACKUP_LABEL_VALUE},
        "finalizers": [DRPOLICY_FINALIZER],
    }});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let now = "2026-11-26T10:00:00Z";
    let message = format!(
        "{} sync and {} async peer classes",
        peers.sync.len(),
        peers.async_.len()
    );
    let mut status = drpolicy_api::DRPolicyStatus::default();
    peers.write_to(&mut status);
    let side = |side: Option<drpolicy_api::PeerClassesStatus>| json!({"peerClasses": side.and_then(|s| s.peer_classes)});
    let status = json!({"status": {
        "conditions": [
            {"type": names::VALIDATED, "status": "True", "reason": names::REASON_SUCCEEDED,
             "message": names::MESSAGE_VALIDATED, "observedGeneration": 1, "lastTransitionTime": now},
            {"type": names::SECRETS_DISTRIBUTED, "status": "True", "reason": names::REASON_DISTRIBUTED,
             "message": "secrets distributed", "observedGeneration": 1, "lastTransitionTime": now},
            {"type": PEER_CLASSES_COMPUTED, "status": "True", "reason": REASON_COMPUTED,
             "message": message, "observedGeneration": 1, "lastTransitionTime": now},
        ],
        "async": side(status.async_),
        "sync": side(status.sync),
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

async fn baseline_secret(
    client: &Client,
    plan: &secret_propagator::Plan,
    secrets: &Secrets,
    name: &str,
) -> anyhow::Result<()> {
    let state = secrets.get(name).context("planned secret not listed")?;
    let desired = plan.secrets.get(name).context("secret not planned")?;
    let finalizers: Vec<&str> = desired.formats.iter().map(|f| f.finalizer()).collect();
    let patch = json!({"metadata": {
        "resourceVersion": state.resource_version,
        "finalizers": finalizers,
    }});
    let patched = Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let trigger = patched.resource_version().unwrap_or_default();
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    for format in &desired.formats {
        let dist = plan
            .distribution_in(name, *format)
            .context("a planned format without its namespace")?;
        let binding = dist.placement_binding();
        Api::<PlacementBinding>::namespaced(client.clone(), NAMESPACE)
            .patch(&binding.name_any(), &apply, &Patch::Apply(&binding))
            .await?;
        let policy = dist.policy(&trigger);
        Api::<Policy>::namespaced(client.clone(), NAMESPACE)
            .patch(&policy.name_any(), &apply, &Patch::Apply(&policy))
            .await?;
        let rule = dist.placement_rule(desired.clusters.iter().cloned());
        Api::<PlacementRule>::namespaced(client.clone(), NAMESPACE)
            .patch(&rule.name_any(), &apply, &Patch::Apply(&rule))
            .await?;
    }
    Ok(())
}

/// What the baseline took.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// Seconds from the first write to the last answer.
    pub seconds: f64,
    /// Of which: until the last view creation was answered (the views go first).
    pub views_seconds: f64,
    /// Writes it made (the minimal writes, less the ConfigMap label it has no reason to add).
    pub writes: usize,
}

/// What the converged hub holds besides the policies' conditions.
struct Expected {
    /// Clusters of each needed Secret's PlacementRules.
    rules: BTreeMap<String, BTreeSet<String>>,
    /// The formats each Secret is distributed in.
    formats: Vec<Format>,
    /// The peer classes of each policy.
    peers: BTreeMap<String, PeerClasses>,
}

/// The harness' view of the hub, fed by watches, for "is it converged yet?".
struct Monitor {
    policies: Store<DRPolicy>,
    ocm_policies: Store<Policy>,
    rules: Store<PlacementRule>,
    bindings: Store<PlacementBinding>,
    secrets: Store<PartialObjectMeta<Secret>>,
    tasks: Vec<JoinHandle<()>>,
}

fn spawn_reflector<K>(
    stream: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    writer: reflector::store::Writer<K>,
) -> JoinHandle<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    tokio::spawn(async move {
        let stream = stream.default_backoff().reflect(writer);
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    })
}

impl Monitor {
    fn start(client: &Client) -> Monitor {
        let config = watcher::Config::default;
        let (policies, w1) = reflector::store();
        let (ocm_policies, w2) = reflector::store();
        let (rules, w3) = reflector::store();
        let (bindings, w4) = reflector::store();
        let (secrets, w5) = reflector::store();
        let tasks = vec![
            spawn_reflector(watcher(Api::<DRPolicy>::all(client.clone()), config()), w1),
            spawn_reflector(
                watcher(
                    Api::<Policy>::namespaced(client.clone(), NAMESPACE),
                    config(),
                ),
                w2,
            ),
            spawn_reflector(
                watcher(
                    Api::<PlacementRule>::namespaced(client.clone(), NAMESPACE),
                    config(),
                ),
                w3,
            ),
            spawn_reflector(
                watcher(
                    Api::<PlacementBinding>::namespaced(client.clone(), NAMESPACE),
                    config(),
                ),
                w4,
            ),
            spawn_reflector(
                watcher(
                    Api::<PartialObjectMeta<Secret>>::namespaced(client.clone(), NAMESPACE),
                    config(),
                ),
                w5,
            ),
        ];
        Monitor {
            policies,
            ocm_policies,
            rules,
            bindings,
            secrets,
            tasks,
        }
    }

    /// What is still missing for convergence (empty: converged).
    fn missing(&self, layout: &Layout, expected: &Expected) -> Vec<String> {
        let mut out = Vec::new();
        let policies = self.policies.state();
        if policies.len() != layout.policies {
            out.push(format!(
                "{} of {} policies seen",
                policies.len(),
                layout.policies
            ));
        }
        let true_with = |p: &DRPolicy, t: &str| p.condition(t).is_some_and(|c| c.status == "True");
        let done = |p: &DRPolicy| {
            p.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER)
                && p.labels().contains_key(OCM_BACKUP_LABEL)
                && true_with(p, names::VALIDATED)
                && true_with(p, names::SECRETS_DISTRIBUTED)
        };
        let pending = policies.iter().filter(|p| !done(p)).count();
        if pending > 0 {
            out.push(format!("{pending} policies not validated and distributed"));
        }
        let peers_done = |p: &DRPolicy| {
            true_with(p, PEER_CLASSES_COMPUTED)
                && expected.peers.get(&p.name_any())
                    == Some(&PeerClasses::from_status(p.status.as_ref()))
        };
        let pending = policies.iter().filter(|p| !peers_done(p)).count();
        if pending > 0 {
            out.push(format!(
                "{pending} policies without PeerClassesComputed=True and the expected peer classes"
            ));
        }
        let secrets: BTreeMap<String, Arc<PartialObjectMeta<Secret>>> = self
            .secrets
            .state()
            .into_iter()
            .map(|s| (s.name_any(), s))
            .collect();
        for (secret, clusters) in &expected.rules {
            let meta = secrets.get(secret);
            let version = meta.and_then(|m| m.resource_version());
            for format in &expected.formats {
                if !meta.is_some_and(|m| m.finalizers().iter().any(|f| f == format.finalizer())) {
                    out.push(format!("{secret}: no {format} finalizer"));
                }
                let names = format.names(secret);
                let policy = self
                    .ocm_policies
                    .get(&reflector::ObjectRef::new(&names.policy).within(NAMESPACE));
                if policy.as_ref().and_then(|p| p.trigger().map(str::to_owned)) != version {
                    out.push(format!(
                        "{secret}: {format} Policy missing or trigger behind"
                    ));
                }
                let rule = self
                    .rules
                    .get(&reflector::ObjectRef::new(&names.placement_rule).within(NAMESPACE));
                let listed: Option<BTreeSet<String>> =
                    rule.map(|r| r.cluster_names().map(str::to_owned).collect());
                if listed.as_ref() != Some(clusters) {
                    out.push(format!("{secret}: {format} PlacementRule incomplete"));
                }
                if self
                    .bindings
                    .get(&reflector::ObjectRef::new(&names.placement_binding).within(NAMESPACE))
                    .is_none()
                {
                    out.push(format!("{secret}: {format} PlacementBinding missing"));
                }
            }
        }
        out
    }

    async fn wait_converged(
        &self,
        layout: &Layout,
        expected: &Expected,
        timeout: Duration,
        operator: &mut Operator,
        mut timeline: Option<(&mut Timeline, &Hooks)>,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((timeline, hooks)) = timeline.as_mut() {
                timeline.record(hooks);
            }
            let missing = self.missing(layout, expected);
            if missing.is_empty() {
                return Ok(Instant::now());
            }
            if !operator.running() {
                bail!(
                    "the operator exited; log: {}",
                    operator.log_path().display()
                );
            }
            if Instant::now() > deadline {
                bail!("not converged within {timeout:?}: {}", missing.join("; "));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// When the operator's requests were served, to within one poll of the harness: request-log marks
/// taken every [`Timeline::EVERY`] while waiting for convergence.
pub struct Timeline {
    started: Instant,
    marks: Vec<(Duration, Mark)>,
}

impl Timeline {
    const EVERY: Duration = Duration::from_millis(50);

    fn new(started: Instant) -> Self {
        Timeline {
            started,
            marks: Vec::new(),
        }
    }

    fn record(&mut self, hooks: &Hooks) {
        let elapsed = self.started.elapsed();
        if self
            .marks
            .last()
            .is_none_or(|(last, _)| elapsed >= *last + Self::EVERY)
        {
            self.marks.push((elapsed, hooks.mark()));
        }
    }

    /// For each kind of operator write among `records` (see [`Counts`]), the seconds after the spawn
    /// of the first and the last, each rounded up to the mark that followed it. Writes after the last
    /// mark are left out.
    fn write_spans(&self, hooks: &Hooks, records: &[RequestRecord]) -> BTreeMap<String, Span> {
        // The first sequence number logged after each mark.
        let boundaries: Vec<(f64, usize)> = self
            .marks
            .iter()
            .map(|(at, mark)| {
                let next = hooks
                    .requests_since(*mark)
                    .first()
                    .map_or(usize::MAX, |r| r.seq);
                (at.as_secs_f64(), next)
            })
            .collect();
        let mut spans: BTreeMap<String, Span> = BTreeMap::new();
        for record in records
            .iter()
            .filter(|r| r.is_write() && crate::requests::is_operator(r))
        {
            let Some((at, _)) = boundaries.iter().find(|(_, next)| *next > record.seq) else {
                continue;
            };
            let span = spans.entry(crate::requests::kind(record)).or_insert(Span {
                first: *at,
                last: *at,
            });
            span.first = span.first.min(*at);
            span.last = span.last.max(*at);
        }
        spans
    }
}

/// Seconds after the operator's spawn of the first and last write of a kind.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Span {
    /// The first.
    pub first: f64,
    /// The last.
    pub last: f64,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// A phase after convergence: what the operator asked of the server.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Requests by kind.
    pub requests: Counts,
    /// DRPolicy reconciles the phase caused.
    pub reconciles: u64,
    /// Secret distribution runs the phase caused.
    pub distributions: u64,
    /// Seconds from the change until the last reconcile it caused finished (0 without a change).
    pub settle_seconds: f64,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The sizes.
    pub args: BenchArgs,
    /// `debug` or `release`.
    pub build: &'static str,
    /// Seconds to seed the operator's hub.
    pub seed_seconds: f64,
    /// Seconds from spawning the operator until /readyz (caches synced).
    pub ready_seconds: f64,
    /// Seconds from spawning the operator until every policy is validated with its peer classes and
    /// every OCM object is in place.
    pub converge_seconds: f64,
    /// The bare client.
    pub baseline: Baseline,
    /// converge_seconds / baseline.seconds.
    pub ratio: f64,
    /// The operator's requests from start to quiet after convergence.
    pub convergence: Counts,
    /// When the operator's writes of each kind were served during convergence.
    pub write_spans: BTreeMap<String, Span>,
    /// The minimal writes (see [`Layout::minimal_writes`]).
    pub minimal: MinimalWrites,
    /// Their sum.
    pub minimal_writes: usize,
    /// Policies with sync peer classes, and with async ones, at convergence.
    pub sync_policies: usize,
    /// See [`Results::sync_policies`].
    pub async_policies: usize,
    /// The views on the server after the last phase.
    pub views: usize,
    /// Views missing or in excess of the expected ones (`namespace/name`), after the last phase.
    pub view_differences: Vec<String>,
    /// Nothing changes for `idle_secs`.
    pub idle: Phase,
    /// Every watch dropped and the history compacted: a relist with no change.
    pub relist: Phase,
    /// The ConfigMap gets an annotation (resourceVersion changes, content does not).
    pub configmap_touch: Phase,
    /// One S3 Secret rotated.
    pub secret_update: Phase,
    /// Writes a rotation needs: the Policy trigger of each format.
    pub rotation_writes: usize,
    /// CPU seconds (user + system) the operator used from its start until convergence was seen.
    pub converge_cpu_seconds: f64,
    /// The operator's VmHWM in MiB.
    pub peak_rss_mib: f64,
    /// The operator's VmRSS at the end in MiB.
    pub final_rss_mib: f64,
    /// Leak check findings (empty: passed).
    pub leaks: Vec<String>,
}

/// Runs `phase` (a change, or nothing) and measures what the operator did about it: its requests until
/// the server is quiet again, its reconciles and distribution runs, and (when `at_least` is set) the
/// time until its last activity.
async fn measure<F, Fut>(
    server: &TestApiServer,
    operator: &Operator,
    at_least: Option<u64>,
    timeout: Duration,
    phase: F,
) -> anyhow::Result<Phase>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let hooks = server.hooks();
    let mark = hooks.mark();
    let before = operator.reconciles().await?;
    let before_distributions = operator.distributions().await?;
    let before_activity = operator.activity().await?;
    let started = Instant::now();
    phase().await?;
    let settle_seconds = match at_least {
        Some(at_least) => {
            let settled = settle(operator, before_activity, at_least, started).await?;
            server.wait_quiet(Duration::from_secs(1), timeout).await?;
            settled
        }
        None => 0.0,
    };
    Ok(Phase {
        requests: Counts::of_operator(&hooks.requests_since(mark)),
        reconciles: operator.reconciles().await? - before,
        distributions: operator.distributions().await? - before_distributions,
        settle_seconds,
    })
}

/// The views on the server, as `namespace/name`.
async fn views_on(client: &Client) -> anyhow::Result<BTreeSet<String>> {
    Ok(Api::<ManagedClusterView>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|v| format!("{}/{}", v.namespace().unwrap_or_default(), v.name_any()))
        .collect())
}

/// Runs the benchmark and returns its results.
pub async fn run(args: BenchArgs) -> anyhow::Result<Results> {
    let layout = Layout::new(&args)?;
    let table = layout.managed_objects();
    let expected = Expected {
        rules: layout.expected_rules(),
        formats: layout.formats(),
        peers: layout.expected_peers(&table),
    };
    let expected_views = layout.expected_views(&table);
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let binary = crate::operator::default_binary()?;

    eprintln!("hub-bench: baseline (bare client, minimal writes) on its own seeded server");
    let baseline = baseline(&layout, &args).await?;

    eprintln!("hub-bench: seeding the operator's hub");
    let server = TestApiServer::start_with(server_config()).await?;
    let client = hub::harness_client(&server)?;
    let seeding = Instant::now();
    seed(&client, &layout, &args).await?;
    let agents = Agents::spawn(|| hub::ocm_agent_client(&server), &table, args.view_agents)?;
    server
        .wait_quiet(Duration::from_millis(200), Duration::from_secs(60))
        .await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let monitor = Monitor::start(&client);
    server
        .wait_quiet(Duration::from_millis(300), Duration::from_secs(120))
        .await?;

    eprintln!("hub-bench: running the operator");
    let hooks = server.hooks();
    let mark = hooks.mark();
    let options = OperatorOptions {
        binary,
        kubeconfig: server.kubeconfig_path().to_owned(),
        concurrency: args.concurrency,
        log_path: args.out_dir.join("operator.log"),
        rust_log: args.rust_log.clone(),
        // As in production: the Lease is renewed throughout, and counted apart.
        leader_elect: true,
        identity: "hub-bench-operator".into(),
    };
    let mut operator = Operator::spawn(&options).await?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let ready = operator.wait_ready(timeout).await?;
    let mut timeline = Timeline::new(operator.started);
    let converged = monitor
        .wait_converged(
            &layout,
            &expected,
            timeout,
            &mut operator,
            Some((&mut timeline, hooks)),
        )
        .await?;
    let converge_seconds = converged.duration_since(operator.started).as_secs_f64();
    let converge_cpu_seconds = operator.cpu_seconds().unwrap_or(0.0);
    server.wait_quiet(Duration::from_secs(1), timeout).await?;
    let requests = hooks.requests_since(mark);
    let convergence = Counts::of_operator(&requests);
    let listing: String = requests
        .iter()
        .filter(|r| crate::requests::is_operator(r))
        .map(|r| format!("{}\n", crate::requests::line(r)))
        .collect();
    std::fs::write(args.out_dir.join("requests.txt"), listing)?;
    let write_spans = timeline.write_spans(hooks, &requests);
    let peers: Vec<PeerClasses> = monitor
        .policies
        .state()
        .iter()
        .map(|p| PeerClasses::from_status(p.status.as_ref()))
        .collect();
    let sync_policies = peers.iter().filter(|p| !p.sync.is_empty()).count();
    let async_policies = peers.iter().filter(|p| !p.async_.is_empty()).count();

    eprintln!("hub-bench: quiet period");
    let idle = measure(&server, &operator, None, timeout, || async {
        tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
        Ok(())
    })
    .await?;

    eprintln!("hub-bench: forced relist");
    let relist = measure(&server, &operator, Some(0), timeout, || async {
        // An object no watch of the operator sees moves the server's resourceVersion past every
        // watch's, so that each one must re-list after the compaction (a watch at the current
        // version could resume without one).
        let unseen = ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("hub-bench-unseen".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
            .create(&kube::api::PostParams::default(), &unseen)
            .await?;
        server.compact_history();
        server.close_watches();
        Ok(())
    })
    .await?;

    eprintln!("hub-bench: ConfigMap touch");
    let configmap_touch = measure(
        &server,
        &operator,
        Some(layout.policies as u64),
        timeout,
        || async {
            let patch = json!({"metadata": {"annotations": {"hub-bench/touched": "1"}}});
            Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
                .patch(
                    HUB_OPERATOR_CONFIGMAP,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
            Ok(())
        },
    )
    .await?;

    eprintln!("hub-bench: one Secret rotated");
    let secret_update = measure(&server, &operator, Some(1), timeout, || async {
        let secret = layout.profile(0).secret;
        let patch = json!({"stringData": {"AWS_SECRET_ACCESS_KEY": ROTATED_KEY}});
        Api::<Secret>::namespaced(client.clone(), NAMESPACE)
            .patch(&secret, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    })
    .await?;
    monitor
        .wait_converged(&layout, &expected, timeout, &mut operator, None)
        .await?;

    let kib = |v: Option<u64>| v.unwrap_or(0) as f64 / 1024.0;
    let peak_rss_mib = kib(operator.peak_rss_kib());
    let final_rss_mib = kib(operator.rss_kib());

    let views = views_on(&client).await?;
    let view_differences: Vec<String> = expected_views
        .difference(&views)
        .map(|v| format!("missing {v}"))
        .chain(
            views
                .difference(&expected_views)
                .map(|v| format!("extra {v}")),
        )
        .collect();
    let raw = crate::state::Raw::read(&client).await?;
    let needles = Needles::new([ACCESS_KEY, SECRET_KEY, ROTATED_KEY]);
    let leaks = leak::places(&needles, &raw, &operator.log()?)?;

    operator.stop().await?;
    if agents.any_finished() {
        bail!("an OCM view agent ended before the run did");
    }
    agents.stop().await?;
    drop(monitor);
    server.shutdown().await;

    let minimal = layout.minimal_writes(&table);
    Ok(Results {
        ratio: converge_seconds / baseline.seconds.max(1e-9),
        args,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        seed_seconds,
        ready_seconds: ready.as_secs_f64(),
        converge_seconds,
        baseline,
        convergence,
        write_spans,
        minimal,
        minimal_writes: minimal.total(),
        sync_policies,
        async_policies,
        views: views.len(),
        view_differences,
        idle,
        relist,
        configmap_touch,
        secret_update,
        rotation_writes: layout.formats().len(),
        converge_cpu_seconds,
        peak_rss_mib,
        final_rss_mib,
        leaks,
    })
}

/// How often [`settle`] reads the operator's `/metrics`. Every scrape costs the operator work in
/// proportion to its policies (its DR telemetry counts them when scraped), so the harness scrapes far
/// less often than it could, at the price of this resolution on the settle times.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// Waits until the operator has done at least `at_least` reconciles or distribution runs since
/// `before` and then none for a second; returns the seconds from `started` to its last one (to within
/// [`SETTLE_POLL`]).
async fn settle(
    operator: &Operator,
    before: u64,
    at_least: u64,
    started: Instant,
) -> anyhow::Result<f64> {
    let quiet = Duration::from_secs(1);
    let mut last = operator.activity().await?;
    let mut last_change = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(1800);
    // A change may take a moment to reach the operator; count from the first reconcile it causes.
    let mut changed_once = last > before;
    loop {
        tokio::time::sleep(SETTLE_POLL).await;
        let now = operator.activity().await?;
        if now != last {
            last = now;
            last_change = Instant::now();
            changed_once = true;
        }
        let enough = last - before >= at_least;
        if enough && last_change.elapsed() >= quiet && (changed_once || at_least == 0) {
            let settled = if changed_once {
                last_change.duration_since(started)
            } else {
                Duration::ZERO
            };
            return Ok(settled.as_secs_f64());
        }
        if Instant::now() > deadline {
            bail!("the operator did not settle");
        }
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// The results as a Markdown table, each figure against its target.
pub fn table(r: &Results) -> String {
    let a = &r.args;
    let or_off = |v: &str| {
        if v.is_empty() {
            "off".to_owned()
        } else {
            v.to_owned()
        }
    };
    let mut out = format!(
        "hub-bench: P={} C={} (metro pairs {}) S={} N={} ({} B each), velero format {}, ops namespace \
         {}, {} view agents, --max-concurrent-reconciles {}, {} build\n\n",
        a.policies,
        a.clusters,
        a.metro_pairs,
        a.profiles,
        a.unrelated,
        a.unrelated_bytes,
        or_off(&a.velero_namespace),
        or_off(&a.ops_namespace),
        a.view_agents,
        a.concurrency,
        r.build
    );
    out.push_str("| measure | value | target | |\n| --- | --- | --- | --- |\n");
    let mut row = |m: &str, v: String, t: &str, ok: Option<bool>| {
        out.push_str(&format!(
            "| {m} | {v} | {t} | {} |\n",
            ok.map(mark).unwrap_or("")
        ));
    };
    row(
        "convergence (spawn → all Validated with their peer classes, all OCM objects)",
        format!("{:.2} s", r.converge_seconds),
        "≤ 1.5 × baseline",
        None,
    );
    row(
        "baseline: bare client, minimal writes",
        format!(
            "{:.2} s ({} writes; the {} views created after {:.2} s)",
            r.baseline.seconds, r.baseline.writes, r.minimal.views, r.baseline.views_seconds
        ),
        "",
        None,
    );
    row(
        "ratio",
        format!("{:.2} ×", r.ratio),
        "≤ 1.5",
        Some(r.ratio <= 1.5),
    );
    row(
        "operator CPU until converged (user + system)",
        format!("{:.2} s", r.converge_cpu_seconds),
        "",
        None,
    );
    row(
        "of which: start until caches synced (/readyz)",
        format!("{:.2} s", r.ready_seconds),
        "",
        None,
    );
    row(
        "requests until quiet",
        format!("{} ({})", r.convergence.total, r.convergence.brief()),
        "",
        None,
    );
    row(
        "when (s after spawn, to within 50 ms): first–last write of each kind",
        r.write_spans
            .iter()
            .map(|(kind, span)| format!("{kind} {:.2}–{:.2}", span.first, span.last))
            .collect::<Vec<_>>()
            .join(", "),
        "",
        None,
    );
    let m = &r.minimal;
    row(
        "writes / minimal",
        format!(
            "{} ({} refused by the server) / {} = {} policy metadata + {} policy status + {} views + \
             {} Secret finalizer patches + {} OCM objects + {} ConfigMap label + {} ops namespace",
            r.convergence.writes,
            r.convergence.rejected_writes,
            r.minimal_writes,
            m.policy_metadata,
            m.policy_status,
            m.views,
            m.secret_finalizers,
            m.ocm_objects,
            m.configmap_label,
            m.ops_namespace
        ),
        "= minimal",
        Some(r.convergence.writes == r.minimal_writes),
    );
    row(
        "peer classes at convergence",
        format!(
            "every policy PeerClassesComputed=True with the expected classes: {} sync, {} async",
            r.sync_policies, r.async_policies
        ),
        "all computed",
        None,
    );
    row(
        "ManagedClusterViews at the end",
        if r.view_differences.is_empty() {
            format!("{} = expected", r.views)
        } else {
            format!("{}: {}", r.views, r.view_differences.join(", "))
        },
        "as expected",
        Some(r.view_differences.is_empty()),
    );
    // Leader election renews the Lease every retry period (2 s) and does nothing else.
    let renewals = a.idle_secs / 2 + 1;
    row(
        &format!(
            "idle {} s after convergence (leader election on)",
            a.idle_secs
        ),
        format!(
            "{} requests, {} reconciles, {} distribution runs; lease: {} requests, {} renewals",
            r.idle.requests.total,
            r.idle.reconciles,
            r.idle.distributions,
            r.idle.requests.lease,
            r.idle.requests.lease_writes
        ),
        &format!("0 requests; lease: renewals only, at most {renewals}"),
        Some(
            r.idle.requests.total == 0
                && r.idle.requests.lease == r.idle.requests.lease_writes
                && r.idle.requests.lease_writes as u64 <= renewals,
        ),
    );
    row(
        "resync: every watch dropped, history compacted (each kind re-lists; no change)",
        format!(
            "{} requests ({}), {} writes, {} reconciles, {} distribution runs",
            r.relist.requests.total,
            r.relist.requests.brief(),
            r.relist.requests.writes,
            r.relist.reconciles,
            r.relist.distributions
        ),
        "0 writes, 0 reconciles, 0 distribution runs",
        Some(
            r.relist.requests.writes == 0
                && r.relist.reconciles == 0
                && r.relist.distributions == 0,
        ),
    );
    row(
        "ConfigMap touched, no effective change",
        format!(
            "{} requests, {} writes, {} reconciles, {} distribution runs, settled in {:.2} s",
            r.configmap_touch.requests.total,
            r.configmap_touch.requests.writes,
            r.configmap_touch.reconciles,
            r.configmap_touch.distributions,
            r.configmap_touch.settle_seconds
        ),
        "0 writes",
        Some(r.configmap_touch.requests.writes == 0),
    );
    row(
        "one Secret rotated",
        format!(
            "{} policies reconciled, {} distribution runs, {} requests ({}), settled in {:.2} s",
            r.secret_update.reconciles,
            r.secret_update.distributions,
            r.secret_update.requests.total,
            r.secret_update.requests.brief(),
            r.secret_update.settle_seconds
        ),
        &format!(
            "only the users of that Secret; {} write{} (the Policy trigger per format)",
            r.rotation_writes,
            if r.rotation_writes == 1 { "" } else { "s" }
        ),
        Some(r.secret_update.requests.writes == r.rotation_writes),
    );
    row(
        "operator peak RSS (VmHWM)",
        format!(
            "{:.1} MiB (at end {:.1} MiB)",
            r.peak_rss_mib, r.final_rss_mib
        ),
        "≤ 64 MiB",
        Some(r.peak_rss_mib <= 64.0),
    );
    row(
        "leak check (objects written, operator log)",
        if r.leaks.is_empty() {
            "no Secret value found".into()
        } else {
            r.leaks.join(", ")
        },
        "none",
        Some(r.leaks.is_empty()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(policies: usize, clusters: usize, metro_pairs: usize, profiles: usize) -> Layout {
        Layout {
            policies,
            clusters,
            metro_pairs,
            profiles,
            config: ConfigOptions::default(),
        }
    }

    #[test]
    fn policies_get_distinct_pairs_of_distinct_clusters() {
        for (p, c, m) in [(45, 10, 0), (190, 20, 0), (43, 14, 2), (5000, 200, 2)] {
            let l = layout(p, c, m, 3);
            let pairs: BTreeSet<(usize, usize)> = (0..p)
                .map(|j| {
                    let (a, b) = l.policy_indexes(j);
                    assert_ne!(a, b);
                    assert!(a < c && b < c);
                    (a.min(b), a.max(b))
                })
                .collect();
            assert_eq!(pairs.len(), p, "P={p} C={c}");
        }
    }

    #[test]
    fn a_metro_pair_is_used_by_its_own_policy_only() {
        let l = layout(300, 30, 2, 5);
        Layout::new(&BenchArgs {
            policies: 300,
            clusters: 30,
            metro_pairs: 2,
            ..args()
        })
        .unwrap();
        for j in 0..300 {
            let (a, b) = l.policy_indexes(j);
            assert_eq!(l.is_metro(j), a < 4, "policy {j}");
            assert_eq!(a < 4, b < 4, "policy {j}");
        }
        assert_eq!(l.policy_indexes(1), (2, 3));
    }

    fn args() -> BenchArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: BenchArgs,
        }
        Cli::parse_from(["hub-bench"]).args
    }

    #[test]
    fn metro_policies_get_sync_peer_classes_and_the_others_async_ones() {
        let l = layout(40, 14, 2, 3);
        let table = l.managed_objects();
        let peers = l.expected_peers(&table);
        for j in 0..40 {
            let p = &peers[&l.policy(j)];
            if l.is_metro(j) {
                assert_eq!((p.sync.len(), p.async_.len()), (1, 0), "policy {j}");
            } else {
                let (a, b) = l.policy_indexes(j);
                // Every second regional cluster also has the snapshot-only cephfs class.
                let both_cephfs = (a - 4) % 2 == 0 && (b - 4) % 2 == 0;
                let expected = 1 + usize::from(both_cephfs);
                assert_eq!((p.sync.len(), p.async_.len()), (0, expected), "policy {j}");
            }
        }
    }

    #[test]
    fn minimal_writes_count_policies_views_secrets_formats_the_label_and_the_namespace() {
        let mut l = layout(10, 10, 1, 4);
        let table = l.managed_objects();
        assert_eq!(l.expected_rules().len(), 4);
        let used = l.used_clusters();
        // Metro clusters: config, metro, metro-snap; regional ones: config, rbd, rbd-snap, rbd-5m, and
        // on every second one cephfs and cephfs-snap.
        let views: usize = used
            .iter()
            .map(|c| {
                let i: usize = c.trim_start_matches("dr-").parse().unwrap();
                match i {
                    0 | 1 => 3,
                    i if (i - 2) % 2 == 0 => 6,
                    _ => 4,
                }
            })
            .sum();
        assert_eq!(l.minimal_writes(&table).total(), 2 * 10 + views + 4 * 4 + 1);
        l.config.velero_namespace = Some("velero".into());
        l.config.ops_namespace = Some("ramen-ops".into());
        assert_eq!(
            l.minimal_writes(&table).total(),
            2 * 10 + views + 4 * (1 + 3 + 3) + 1 + 1
        );
    }
}
