//! The scale benchmark: P DRPolicies over C DRClusters with S S3 profiles and Secrets, N unrelated
//! Secrets elsewhere; the operator as a process from start to convergence, then a quiet period, a
//! forced relist, a ConfigMap touch without effect and one Secret rotation; against a bare
//! `kube::Client` that issues exactly the minimal writes on an identically seeded server.

use anyhow::{Context, bail};
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP, OCM_BACKUP_LABEL, OCM_BACKUP_LABEL_VALUE,
    SECRET_POLICY_FINALIZER, condition as names,
};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPolicy};
use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use secret_propagator::{FIELD_MANAGER, PlanInputs, Scope, SecretState, Secrets, plan};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_apiserver::{ServerConfig, TestApiServer};
use tokio::task::JoinHandle;

use crate::hub::{self, NAMESPACE, Profile};
use crate::leak::{self, Needles};
use crate::operator::{Operator, OperatorOptions};
use crate::requests::Counts;

/// Sizes and knobs of one benchmark run.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct BenchArgs {
    /// DRPolicies (P), each over two DRClusters.
    #[arg(long, default_value_t = 300)]
    pub policies: usize,
    /// DRClusters (C).
    #[arg(long, default_value_t = 30)]
    pub clusters: usize,
    /// S3 profiles and their Secrets (S); cluster i uses profile i mod S.
    #[arg(long, default_value_t = 5)]
    pub profiles: usize,
    /// Unrelated Secrets in other namespaces (N).
    #[arg(long, default_value_t = 2000)]
    pub unrelated: usize,
    /// Size of each unrelated Secret's data in bytes.
    #[arg(long, default_value_t = 32 * 1024)]
    pub unrelated_bytes: usize,
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
    /// Directory of the operator log.
    #[arg(long, default_value = "target/hub-bench")]
    pub out_dir: PathBuf,
}

/// S3 credentials of the hub Secrets; the leak check looks for them.
pub const ACCESS_KEY: &str = "hubbench-access-key-5c2e91";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "hubbench-secret-key-a7d04b";
/// The value a Secret is rotated to during the run.
pub const ROTATED_KEY: &str = "hubbench-rotated-key-3f88e0";

/// Names and the policy → clusters → profile → Secret layout of a benchmark hub.
#[derive(Debug, Clone)]
pub struct Layout {
    /// P.
    pub policies: usize,
    /// C.
    pub clusters: usize,
    /// S.
    pub profiles: usize,
}

impl Layout {
    /// The layout of `args`; fails when P exceeds the distinct cluster pairs.
    pub fn new(args: &BenchArgs) -> anyhow::Result<Layout> {
        let layout = Layout {
            policies: args.policies,
            clusters: args.clusters,
            profiles: args.profiles.max(1),
        };
        if layout.clusters < 2 {
            bail!("at least two clusters are needed");
        }
        let pairs = layout.clusters * (layout.clusters - 1) / 2;
        if layout.policies > pairs {
            bail!(
                "{} policies need more than {} clusters ({pairs} pairs)",
                layout.policies,
                layout.clusters
            );
        }
        Ok(layout)
    }

    /// Cluster `i`.
    pub fn cluster(&self, i: usize) -> String {
        format!("dr-{i:04}")
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

    /// The cluster indexes of policy `j`: distinct pairs by growing distance, spread over all clusters.
    pub fn pair(&self, j: usize) -> (usize, usize) {
        let c = self.clusters;
        let mut index = j;
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

    /// The cluster names of policy `j`.
    pub fn policy_clusters(&self, j: usize) -> Vec<String> {
        let (a, b) = self.pair(j);
        vec![self.cluster(a), self.cluster(b)]
    }

    /// The RamenConfig.
    pub fn config_yaml(&self) -> String {
        let profiles: Vec<Profile> = (0..self.profiles).map(|k| self.profile(k)).collect();
        hub::config_yaml(&profiles, true)
    }

    /// For every Secret some policy needs, the clusters its PlacementRule must list.
    pub fn expected_rules(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for j in 0..self.policies {
            let (a, b) = self.pair(j);
            for i in [a, b] {
                let secret = self.profile(self.profile_of(i)).secret;
                let clusters = rules.entry(secret).or_default();
                clusters.insert(self.cluster(a));
                clusters.insert(self.cluster(b));
            }
        }
        rules
    }

    /// The fewest writes that take the seeded hub to the converged one: per policy one metadata patch
    /// (label and finalizer) and one status patch; per needed Secret its finalizer, the
    /// PlacementBinding, the Policy and the PlacementRule; the ConfigMap backup label.
    pub fn minimal_writes(&self) -> usize {
        2 * self.policies + 4 * self.expected_rules().len() + 1
    }
}

/// Seeds a hub: CRDs, namespace, ConfigMap, S Secrets, C validated DRClusters, N unrelated Secrets in
/// other namespaces, P DRPolicies.
pub async fn seed(client: &Client, layout: &Layout, args: &BenchArgs) -> anyhow::Result<()> {
    hub::install_crds(client).await?;
    hub::create_namespace(client, NAMESPACE).await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    configmaps
        .create(
            &PostParams::default(),
            &hub::configmap(&layout.config_yaml()),
        )
        .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    for k in 0..layout.profiles {
        let name = layout.profile(k).secret;
        secrets
            .create(
                &PostParams::default(),
                &hub::s3_secret(NAMESPACE, &name, ACCESS_KEY, SECRET_KEY),
            )
            .await?;
    }
    hub::for_each_parallel(0..layout.clusters, 32, |i| async move {
        let profile = layout.profile(layout.profile_of(i)).name;
        hub::create_validated_drcluster(client, &layout.cluster(i), &profile).await
    })
    .await?;

    let per_namespace = 1000;
    let namespaces = args.unrelated.div_ceil(per_namespace);
    for n in 0..namespaces {
        hub::create_namespace(client, &format!("unrelated-{n:03}")).await?;
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
            .create(
                &PostParams::default(),
                &hub::drpolicy(&layout.policy(j), &layout.policy_clusters(j)),
            )
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

/// The baseline: on a freshly seeded server, a bare client issues exactly the minimal writes (the
/// operator's own objects, built by the same `secret-propagator` builders), `concurrency` in flight.
pub async fn baseline(layout: &Layout, args: &BenchArgs) -> anyhow::Result<Baseline> {
    let server = TestApiServer::start_with(server_config()).await?;
    let client = hub::harness_client(&server)?;
    seed(&client, layout, args).await?;
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
    let policies: Vec<DRPolicy> = (0..layout.policies)
        .map(|j| hub::drpolicy(&layout.policy(j), &layout.policy_clusters(j)))
        .collect();
    let inputs = PlanInputs {
        namespace: NAMESPACE,
        config: &config,
        drclusters: &drclusters,
        secrets: &secrets,
    };
    let plan = plan(&inputs, &policies, Scope::All);

    let mark = server.hooks().mark();
    let started = Instant::now();
    let policy_jobs = (0..layout.policies).map(|j| Job::Policy(layout.policy(j)));
    let secret_jobs = plan.secrets.keys().cloned().map(Job::Secret);
    let jobs: Vec<Job> = policy_jobs.chain(secret_jobs).collect();
    let plan = &plan;
    let secrets = &secrets;
    let client = &client;
    hub::for_each_parallel(
        jobs,
        usize::from(args.concurrency.max(1)),
        |job| async move {
            match job {
                Job::Policy(name) => baseline_policy(client, &name).await,
                Job::Secret(name) => baseline_secret(client, plan, secrets, &name).await,
            }
        },
    )
    .await?;
    let elapsed = started.elapsed();
    let writes = server.hooks().writes_since(mark).len();
    server.shutdown().await;
    Ok(Baseline {
        seconds: elapsed.as_secs_f64(),
        writes,
    })
}

enum Job {
    Policy(String),
    Secret(String),
}

async fn baseline_policy(client: &Client, name: &str) -> anyhow::Result<()> {
    let api: Api<DRPolicy> = Api::all(client.clone());
    let patch = json!({"metadata": {
        "labels": {OCM_BACKUP_LABEL: OCM_BACKUP_LABEL_VALUE},
        "finalizers": [DRPOLICY_FINALIZER],
    }});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let now = "2026-11-26T10:00:00Z";
    let status = json!({"status": {"conditions": [
        {"type": names::VALIDATED, "status": "True", "reason": names::REASON_SUCCEEDED,
         "message": names::MESSAGE_VALIDATED, "observedGeneration": 1, "lastTransitionTime": now},
        {"type": names::SECRETS_DISTRIBUTED, "status": "True", "reason": names::REASON_DISTRIBUTED,
         "message": "secrets distributed", "observedGeneration": 1, "lastTransitionTime": now},
    ]}});
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
    let patch = json!({"metadata": {
        "resourceVersion": state.resource_version,
        "finalizers": [SECRET_POLICY_FINALIZER],
    }});
    let patched = Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let trigger = patched.resource_version().unwrap_or_default();
    let dist = plan.distribution(name);
    let apply = PatchParams::apply(FIELD_MANAGER).force();
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
    Ok(())
}

/// What the baseline took.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// Seconds from the first write to the last answer.
    pub seconds: f64,
    /// Writes it made (the minimal writes, less the ConfigMap label it has no reason to add).
    pub writes: usize,
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
    fn missing(
        &self,
        layout: &Layout,
        expected: &BTreeMap<String, BTreeSet<String>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let policies = self.policies.state();
        if policies.len() != layout.policies {
            out.push(format!(
                "{} of {} policies seen",
                policies.len(),
                layout.policies
            ));
        }
        let done = |p: &DRPolicy| {
            p.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER)
                && p.labels().contains_key(OCM_BACKUP_LABEL)
                && p.condition(names::VALIDATED)
                    .is_some_and(|c| c.status == "True")
                && p.condition(names::SECRETS_DISTRIBUTED)
                    .is_some_and(|c| c.status == "True")
        };
        let pending = policies.iter().filter(|p| !done(p)).count();
        if pending > 0 {
            out.push(format!("{pending} policies not validated and distributed"));
        }
        let secrets: BTreeMap<String, Arc<PartialObjectMeta<Secret>>> = self
            .secrets
            .state()
            .into_iter()
            .map(|s| (s.name_any(), s))
            .collect();
        for (secret, clusters) in expected {
            let meta = secrets.get(secret);
            if !meta.is_some_and(|m| m.finalizers().iter().any(|f| f == SECRET_POLICY_FINALIZER)) {
                out.push(format!("{secret}: no finalizer"));
            }
            let version = meta.and_then(|m| m.resource_version());
            let policy = self
                .ocm_policies
                .get(&reflector::ObjectRef::new(secret).within(NAMESPACE));
            if policy.as_ref().and_then(|p| p.trigger().map(str::to_owned)) != version {
                out.push(format!("{secret}: Policy missing or trigger behind"));
            }
            let rule = self
                .rules
                .get(&reflector::ObjectRef::new(&format!("plrule-{secret}")).within(NAMESPACE));
            let listed: Option<BTreeSet<String>> =
                rule.map(|r| r.cluster_names().map(str::to_owned).collect());
            if listed.as_ref() != Some(clusters) {
                out.push(format!("{secret}: PlacementRule incomplete"));
            }
            if self
                .bindings
                .get(&reflector::ObjectRef::new(&format!("plbinding-{secret}")).within(NAMESPACE))
                .is_none()
            {
                out.push(format!("{secret}: PlacementBinding missing"));
            }
        }
        out
    }

    async fn wait_converged(
        &self,
        layout: &Layout,
        expected: &BTreeMap<String, BTreeSet<String>>,
        timeout: Duration,
        operator: &mut Operator,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
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
    /// Seconds from spawning the operator until every policy is validated and every OCM object is in
    /// place.
    pub converge_seconds: f64,
    /// The bare client.
    pub baseline: Baseline,
    /// converge_seconds / baseline.seconds.
    pub ratio: f64,
    /// The operator's requests from start to quiet after convergence.
    pub convergence: Counts,
    /// The minimal writes (see [`Layout::minimal_writes`]).
    pub minimal_writes: usize,
    /// Nothing changes for `idle_secs`.
    pub idle: Phase,
    /// Every watch dropped and the history compacted: a relist with no change.
    pub relist: Phase,
    /// The ConfigMap gets an annotation (resourceVersion changes, content does not).
    pub configmap_touch: Phase,
    /// One S3 Secret rotated.
    pub secret_update: Phase,
    /// CPU seconds (user + system) the operator used from its start until convergence was seen.
    pub converge_cpu_seconds: f64,
    /// The operator's VmHWM in MiB.
    pub peak_rss_mib: f64,
    /// The operator's VmRSS at the end in MiB.
    pub final_rss_mib: f64,
    /// Leak check findings (empty: passed).
    pub leaks: Vec<String>,
}

/// Runs the benchmark and returns its results.
pub async fn run(args: BenchArgs) -> anyhow::Result<Results> {
    let layout = Layout::new(&args)?;
    let expected = layout.expected_rules();
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
        rust_log: "info,kube_lease_manager=warn".into(),
    };
    let mut operator = Operator::spawn(&options).await?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let ready = operator.wait_ready(timeout).await?;
    let converged = monitor
        .wait_converged(&layout, &expected, timeout, &mut operator)
        .await?;
    let converge_seconds = converged.duration_since(operator.started).as_secs_f64();
    let converge_cpu_seconds = operator.cpu_seconds().unwrap_or(0.0);
    server.wait_quiet(Duration::from_secs(1), timeout).await?;
    let convergence = Counts::of_operator(&hooks.requests_since(mark));

    eprintln!("hub-bench: quiet period");
    let idle = {
        let mark = hooks.mark();
        let before = operator.reconciles().await?;
        let before_distributions = operator.distributions().await?;
        tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
        Phase {
            requests: Counts::of_operator(&hooks.requests_since(mark)),
            reconciles: operator.reconciles().await? - before,
            distributions: operator.distributions().await? - before_distributions,
            settle_seconds: 0.0,
        }
    };

    eprintln!("hub-bench: forced relist");
    let relist = {
        let mark = hooks.mark();
        let before = operator.reconciles().await?;
        let before_distributions = operator.distributions().await?;
        let before_activity = operator.activity().await?;
        let started = Instant::now();
        server.compact_history();
        server.close_watches();
        let settled = settle(&operator, before_activity, 0, started).await?;
        server.wait_quiet(Duration::from_secs(1), timeout).await?;
        Phase {
            requests: Counts::of_operator(&hooks.requests_since(mark)),
            reconciles: operator.reconciles().await? - before,
            distributions: operator.distributions().await? - before_distributions,
            settle_seconds: settled,
        }
    };

    eprintln!("hub-bench: ConfigMap touch");
    let configmap_touch = {
        let mark = hooks.mark();
        let before = operator.reconciles().await?;
        let before_distributions = operator.distributions().await?;
        let before_activity = operator.activity().await?;
        let started = Instant::now();
        let patch = json!({"metadata": {"annotations": {"hub-bench/touched": "1"}}});
        Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
            .patch(
                HUB_OPERATOR_CONFIGMAP,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        let settled = settle(&operator, before_activity, layout.policies as u64, started).await?;
        server.wait_quiet(Duration::from_secs(1), timeout).await?;
        Phase {
            requests: Counts::of_operator(&hooks.requests_since(mark)),
            reconciles: operator.reconciles().await? - before,
            distributions: operator.distributions().await? - before_distributions,
            settle_seconds: settled,
        }
    };

    eprintln!("hub-bench: one Secret rotated");
    let secret_update = {
        let mark = hooks.mark();
        let before = operator.reconciles().await?;
        let before_distributions = operator.distributions().await?;
        let before_activity = operator.activity().await?;
        let started = Instant::now();
        let secret = layout.profile(0).secret;
        let patch = json!({"stringData": {"AWS_SECRET_ACCESS_KEY": ROTATED_KEY}});
        Api::<Secret>::namespaced(client.clone(), NAMESPACE)
            .patch(&secret, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        monitor
            .wait_converged(&layout, &expected, timeout, &mut operator)
            .await?;
        let settled = settle(&operator, before_activity, 1, started).await?;
        server.wait_quiet(Duration::from_secs(1), timeout).await?;
        Phase {
            requests: Counts::of_operator(&hooks.requests_since(mark)),
            reconciles: operator.reconciles().await? - before,
            distributions: operator.distributions().await? - before_distributions,
            settle_seconds: settled,
        }
    };

    let kib = |v: Option<u64>| v.unwrap_or(0) as f64 / 1024.0;
    let peak_rss_mib = kib(operator.peak_rss_kib());
    let final_rss_mib = kib(operator.rss_kib());

    let raw = crate::state::Raw::read(&client).await?;
    let objects = raw.written_objects()?;
    let log = operator.log()?;
    let needles = Needles::new([ACCESS_KEY, SECRET_KEY, ROTATED_KEY]);
    let leaks = leak::check(
        &needles,
        objects.iter().map(|(p, j)| (p.clone(), j.as_str())),
        &log,
    )
    .into_iter()
    .map(|l| l.place)
    .collect();

    operator.stop().await?;
    drop(monitor);
    server.shutdown().await;

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
        minimal_writes: layout.minimal_writes(),
        idle,
        relist,
        configmap_touch,
        secret_update,
        converge_cpu_seconds,
        peak_rss_mib,
        final_rss_mib,
        leaks,
    })
}

/// Waits until the operator has done at least `at_least` reconciles or distribution runs since
/// `before` and then none for a second; returns the seconds from `started` to its last one.
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
        tokio::time::sleep(Duration::from_millis(10)).await;
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
    let mut out = format!(
        "hub-bench: P={} C={} S={} N={} ({} B each), --max-concurrent-reconciles {}, {} build\n\n",
        a.policies, a.clusters, a.profiles, a.unrelated, a.unrelated_bytes, a.concurrency, r.build
    );
    out.push_str("| measure | value | target | |\n| --- | --- | --- | --- |\n");
    let mut row = |m: &str, v: String, t: &str, ok: Option<bool>| {
        out.push_str(&format!(
            "| {m} | {v} | {t} | {} |\n",
            ok.map(mark).unwrap_or("")
        ));
    };
    row(
        "convergence (spawn → all Validated, all OCM objects)",
        format!("{:.2} s", r.converge_seconds),
        "≤ 1.5 × baseline",
        None,
    );
    row(
        "baseline: bare client, minimal writes",
        format!("{:.2} s ({} writes)", r.baseline.seconds, r.baseline.writes),
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
        "writes / minimal",
        format!(
            "{} ({} refused by the server) / {}",
            r.convergence.writes, r.convergence.rejected_writes, r.minimal_writes
        ),
        "= minimal",
        Some(r.convergence.writes == r.minimal_writes),
    );
    row(
        &format!("idle {} s after convergence", a.idle_secs),
        format!(
            "{} requests, {} reconciles, {} distribution runs",
            r.idle.requests.total, r.idle.reconciles, r.idle.distributions
        ),
        "0 requests",
        Some(r.idle.requests.total == 0),
    );
    row(
        "resync: watches dropped + history compacted (relist, no change)",
        format!(
            "{} requests ({}), {} writes, {} reconciles, {} distribution runs",
            r.relist.requests.total,
            r.relist.requests.brief(),
            r.relist.requests.writes,
            r.relist.reconciles,
            r.relist.distributions
        ),
        "0 writes",
        Some(r.relist.requests.writes == 0),
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
        "only the users of that Secret; 1 write",
        Some(r.secret_update.requests.writes == 1),
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

    fn layout(policies: usize, clusters: usize, profiles: usize) -> Layout {
        Layout {
            policies,
            clusters,
            profiles,
        }
    }

    #[test]
    fn policies_get_distinct_pairs_of_distinct_clusters() {
        for (p, c) in [(45, 10), (190, 20), (5000, 200)] {
            let l = layout(p, c, 3);
            let pairs: BTreeSet<(usize, usize)> = (0..p)
                .map(|j| {
                    let (a, b) = l.pair(j);
                    assert_ne!(a, b);
                    assert!(a < c && b < c);
                    (a.min(b), a.max(b))
                })
                .collect();
            assert_eq!(pairs.len(), p, "P={p} C={c}");
        }
    }

    #[test]
    fn minimal_writes_count_two_per_policy_four_per_needed_secret_and_the_label() {
        let l = layout(10, 10, 4);
        assert_eq!(l.expected_rules().len(), 4);
        assert_eq!(l.minimal_writes(), 2 * 10 + 4 * 4 + 1);
    }
}
