//! The hub's final state: read from the server, normalized (no resourceVersions, uids, timestamps or
//! managedFields) so two runs can be compared, and checked against the planner's rule so a run can be
//! judged on its own: no leaked OCM object in either format, no stuck finalizer, no Secret finalizer
//! without a policy needing the Secret, every condition as the final inputs ask, every live policy's
//! peer classes as Ramen's algorithm computes them from what the managed clusters hold, the views they
//! are read through, and the ops namespace.

use drpolicy_api::names::ocm_names::{self, Format};
use drpolicy_api::names::{
    CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE, DRPOLICY_FINALIZER,
    HUB_OPERATOR_CONFIGMAP, OCM_BACKUP_LABEL, POLICY_TRIGGER_ANNOTATION, RAMEN_CONFIG_KEY,
    condition as names,
};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::view::ManagedClusterView;
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use e2e::views::ClusterTable;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Namespace, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, Resource, ResourceExt};
use ramen_config::{ConfigMapLocation, RamenConfig};
use secret_propagator::{DesiredSecret, PlanInputs, Scope, SecretState, Secrets, plan};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::bench::{PEER_CLASSES_COMPUTED, REASON_COMPUTED};
use crate::hub::NAMESPACE;
use crate::managed;
use peer_classes::PeerClasses;

/// Everything read from the server at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// DRPolicies.
    pub policies: Vec<DRPolicy>,
    /// DRClusters.
    pub drclusters: Vec<DRCluster>,
    /// DRPlacementControls of every namespace.
    pub drpcs: Vec<DRPlacementControl>,
    /// Secrets of the operator namespace.
    pub secrets: Vec<Secret>,
    /// The operator ConfigMap, if it exists.
    pub configmap: Option<ConfigMap>,
    /// OCM Policies of the operator namespace.
    pub ocm_policies: Vec<Policy>,
    /// PlacementRules of the operator namespace.
    pub rules: Vec<PlacementRule>,
    /// PlacementBindings of the operator namespace.
    pub bindings: Vec<PlacementBinding>,
    /// Events of every namespace, as JSON (both APIs).
    pub events: Vec<String>,
    /// ManagedClusterViews of every namespace.
    pub views: Vec<ManagedClusterView>,
    /// The Ramen ops namespace the config names, if it exists.
    pub ops_namespace: Option<Namespace>,
}

impl Raw {
    /// Reads every kind the operator reads or writes.
    pub async fn read(client: &Client) -> anyhow::Result<Raw> {
        let lp = ListParams::default();
        let events: Vec<String> = Api::<Event>::all(client.clone())
            .list(&lp)
            .await?
            .items
            .iter()
            .map(serde_json::to_string)
            .chain(
                Api::<CoreEvent>::all(client.clone())
                    .list(&lp)
                    .await?
                    .items
                    .iter()
                    .map(serde_json::to_string),
            )
            .collect::<Result<_, _>>()?;
        let configmap = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
            .get_opt(HUB_OPERATOR_CONFIGMAP)
            .await?;
        let ops_namespace = match parsed_config(configmap.as_ref())
            .ok()
            .and_then(|c| c.ramen_ops_namespace().map(str::to_owned))
        {
            Some(name) => Api::<Namespace>::all(client.clone()).get_opt(&name).await?,
            None => None,
        };
        Ok(Raw {
            views: Api::<ManagedClusterView>::all(client.clone())
                .list(&lp)
                .await?
                .items,
            ops_namespace,
            policies: Api::<DRPolicy>::all(client.clone()).list(&lp).await?.items,
            drclusters: Api::<DRCluster>::all(client.clone()).list(&lp).await?.items,
            drpcs: Api::<DRPlacementControl>::all(client.clone())
                .list(&lp)
                .await?
                .items,
            secrets: Api::<Secret>::namespaced(client.clone(), NAMESPACE)
                .list(&lp)
                .await?
                .items,
            configmap,
            ocm_policies: Api::<Policy>::namespaced(client.clone(), NAMESPACE)
                .list(&lp)
                .await?
                .items,
            rules: Api::<PlacementRule>::namespaced(client.clone(), NAMESPACE)
                .list(&lp)
                .await?
                .items,
            bindings: Api::<PlacementBinding>::namespaced(client.clone(), NAMESPACE)
                .list(&lp)
                .await?
                .items,
            events,
        })
    }

    /// Every object the operator writes to (DRPolicies and their status, OCM objects, views, Events,
    /// the ConfigMap label), as (description, JSON) for the leak check. Secrets are left out: the operator
    /// only patches their finalizers, and their data is what the check looks for.
    pub fn written_objects(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        fn push<K: Resource + Serialize>(
            out: &mut Vec<(String, String)>,
            kind: &str,
            objects: &[K],
        ) -> anyhow::Result<()> {
            for object in objects {
                let name = object.meta().name.clone().unwrap_or_default();
                out.push((format!("{kind} {name}"), serde_json::to_string(object)?));
            }
            Ok(())
        }
        push(&mut out, "DRPolicy", &self.policies)?;
        push(&mut out, "Policy", &self.ocm_policies)?;
        push(&mut out, "PlacementRule", &self.rules)?;
        push(&mut out, "PlacementBinding", &self.bindings)?;
        push(&mut out, "ManagedClusterView", &self.views)?;
        if let Some(configmap) = &self.configmap {
            out.push((
                "ConfigMap".to_owned(),
                serde_json::to_string(&configmap.metadata)?,
            ));
        }
        for (i, event) in self.events.iter().enumerate() {
            out.push((format!("Event #{i}"), event.clone()));
        }
        Ok(out)
    }

    /// The clusters of the policies not being deleted.
    fn live_clusters(&self) -> BTreeSet<&str> {
        self.policies
            .iter()
            .filter(|p| !p.is_deleting())
            .flat_map(|p| p.spec.dr_clusters.iter().map(String::as_str))
            .collect()
    }

    /// The normalized state, comparable across runs.
    pub fn snapshot(&self) -> Snapshot {
        let live_clusters = self.live_clusters();
        let versions: BTreeMap<String, String> = self
            .secrets
            .iter()
            .map(|s| (s.name_any(), s.resource_version().unwrap_or_default()))
            .collect();
        Snapshot {
            policies: self
                .policies
                .iter()
                .map(|p| (p.name_any(), PolicyState::of(p)))
                .collect(),
            secrets: self
                .secrets
                .iter()
                .map(|s| {
                    let state = SecretSnap {
                        finalized: Format::ALL
                            .into_iter()
                            .filter(|f| s.finalizers().iter().any(|x| x == f.finalizer()))
                            .map(Format::as_str)
                            .collect(),
                        deleting: s.metadata.deletion_timestamp.is_some(),
                    };
                    (s.name_any(), state)
                })
                .collect(),
            ocm_policies: normalize_all(&self.ocm_policies, &versions),
            rules: normalize_all(&self.rules, &versions),
            bindings: normalize_all(&self.bindings, &versions),
            views: self
                .views
                .iter()
                .filter(|v| live_clusters.contains(v.namespace().unwrap_or_default().as_str()))
                .map(|v| {
                    let key = format!("{}/{}", v.namespace().unwrap_or_default(), v.name_any());
                    let value = serde_json::json!({
                        "labels": v.metadata.labels,
                        "annotations": v.metadata.annotations,
                        "spec": v.spec,
                    });
                    (key, value)
                })
                .collect(),
            ops_namespace: self.ops_namespace.as_ref().map(|n| n.labels().clone()),
            drpcs: self
                .drpcs
                .iter()
                .map(|d| {
                    format!(
                        "{}/{} -> {}",
                        d.namespace().unwrap_or_default(),
                        d.name_any(),
                        d.dr_policy_name()
                    )
                })
                .collect(),
        }
    }

    /// The DRClusters by name and the Secrets' states, as the planner takes them.
    fn planner_inputs(&self) -> (BTreeMap<String, DRCluster>, Secrets) {
        let drclusters = self
            .drclusters
            .iter()
            .map(|c| (c.name_any(), c.clone()))
            .collect();
        let secrets = self
            .secrets
            .iter()
            .map(|s| (s.name_any(), SecretState::from_meta(&s.metadata)))
            .collect();
        (drclusters, secrets)
    }

    /// The RamenConfig of the operator ConfigMap, if it parses.
    pub fn config(&self) -> Option<RamenConfig> {
        parsed_config(self.configmap.as_ref()).ok()
    }

    /// The OCM objects ([`crate::judge::key`]s) the planner derives from this state with `config`
    /// when exactly the live policies named in `valid` hold their Secrets (the operator distributes
    /// for valid policies only).
    pub fn needed_objects(
        &self,
        valid: &BTreeSet<String>,
        config: &RamenConfig,
    ) -> BTreeSet<String> {
        let (drclusters, secrets) = self.planner_inputs();
        let inputs = PlanInputs {
            namespace: NAMESPACE,
            config,
            drclusters: &drclusters,
            secrets: &secrets,
        };
        let holders = self
            .policies
            .iter()
            .filter(|p| !p.is_deleting() && valid.contains(&p.name_any()));
        let plan = plan(&inputs, holders, Scope::All);
        let mut needed = BTreeSet::new();
        if !plan.enabled {
            return needed;
        }
        for desired in plan.secrets.values() {
            for format in &desired.formats {
                let names = format.names(&desired.name);
                needed.insert(crate::judge::key("policies", &names.policy));
                needed.insert(crate::judge::key("placementrules", &names.placement_rule));
                needed.insert(crate::judge::key(
                    "placementbindings",
                    &names.placement_binding,
                ));
            }
        }
        needed
    }

    /// Violations of the rule by the final state: what the planner wants from the final inputs must be
    /// exactly what exists, every condition must say what the inputs imply, and every live policy must
    /// carry the peer classes the managed clusters' `table` gives, read through the views the operator
    /// keeps.
    pub fn violations(&self, table: &ClusterTable) -> Vec<String> {
        let mut out = Vec::new();
        let config = match parsed_config(self.configmap.as_ref()) {
            Ok(config) => config,
            Err(error) => {
                out.push(format!("the final config does not parse: {error}"));
                return out;
            }
        };
        let (drclusters, secrets) = self.planner_inputs();
        let holders: Vec<&DRPolicy> = self
            .policies
            .iter()
            .filter(|p| p.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER))
            .collect();
        let inputs = PlanInputs {
            namespace: NAMESPACE,
            config: &config,
            drclusters: &drclusters,
            secrets: &secrets,
        };
        let plan = plan(&inputs, holders.iter().copied(), Scope::All);
        if !plan.enabled {
            out.push("the final config disables distribution: nothing to judge".into());
            return out;
        }

        // OCM objects: exactly the planned ones of every planned format, each as planned.
        let mut wanted_policies: BTreeMap<String, &DesiredSecret> = BTreeMap::new();
        let mut wanted_rules: BTreeMap<String, &DesiredSecret> = BTreeMap::new();
        let mut wanted_bindings: BTreeSet<String> = BTreeSet::new();
        for desired in plan.secrets.values() {
            for format in &desired.formats {
                let names = format.names(&desired.name);
                wanted_policies.insert(names.policy, desired);
                wanted_rules.insert(names.placement_rule, desired);
                wanted_bindings.insert(names.placement_binding);
            }
        }
        let labelled =
            |labels: &BTreeMap<String, String>| labels.contains_key(CREATED_BY_RAMEN_LABEL);
        for policy in self.ocm_policies.iter().filter(|o| labelled(o.labels())) {
            let name = policy.name_any();
            match wanted_policies.get(&name) {
                None => out.push(format!("leaked Policy {name}")),
                Some(desired) if policy.trigger() != Some(desired.resource_version.as_str()) => out
                    .push(format!(
                        "Policy {name}: trigger {:?}, the Secret is at {}",
                        policy.trigger(),
                        desired.resource_version
                    )),
                Some(_) => {}
            }
        }
        for rule in self.rules.iter().filter(|o| labelled(o.labels())) {
            let name = rule.name_any();
            match wanted_rules.get(&name) {
                None => out.push(format!("leaked PlacementRule {name}")),
                Some(desired) => {
                    let clusters: BTreeSet<String> =
                        rule.cluster_names().map(str::to_owned).collect();
                    if clusters != desired.clusters {
                        out.push(format!(
                            "PlacementRule {name} lists {clusters:?}, wanted {:?}",
                            desired.clusters
                        ));
                    }
                }
            }
        }
        for binding in self.bindings.iter().filter(|o| labelled(o.labels())) {
            let name = binding.name_any();
            if !wanted_bindings.contains(&name) {
                out.push(format!("leaked PlacementBinding {name}"));
            }
        }
        let live = |names: Vec<String>| names.into_iter().collect::<BTreeSet<String>>();
        let live_policies = live(self.ocm_policies.iter().map(|o| o.name_any()).collect());
        let live_rules = live(self.rules.iter().map(|o| o.name_any()).collect());
        let live_bindings = live(self.bindings.iter().map(|o| o.name_any()).collect());
        for name in wanted_policies.keys() {
            if !live_policies.contains(name) {
                out.push(format!("missing Policy {name}"));
            }
        }
        for name in wanted_rules.keys() {
            if !live_rules.contains(name) {
                out.push(format!("missing PlacementRule {name}"));
            }
        }
        for name in &wanted_bindings {
            if !live_bindings.contains(name) {
                out.push(format!("missing PlacementBinding {name}"));
            }
        }

        // Secret finalizers: each format's exactly on the Secrets distributed in it; nothing stuck
        // deleting.
        for secret in &self.secrets {
            let name = secret.name_any();
            let formats = plan
                .secrets
                .get(&name)
                .map(|d| d.formats.clone())
                .unwrap_or_default();
            for format in Format::ALL {
                let finalized = secret.finalizers().iter().any(|f| f == format.finalizer());
                let needed = formats.contains(&format);
                if finalized != needed {
                    out.push(format!(
                        "Secret {name}: {format} policy-protection finalizer {finalized}, needed \
                         {needed}"
                    ));
                }
            }
            if secret.metadata.deletion_timestamp.is_some() {
                out.push(format!("Secret {name} is stuck deleting"));
            }
        }

        // Policies: deleting ones only while a DRPC holds them; live ones validated, distributed and
        // with their peer classes.
        for policy in &self.policies {
            let name = policy.name_any();
            let used = self.drpcs.iter().any(|d| d.dr_policy_name() == name);
            let condition = |t: &str| {
                policy
                    .condition(t)
                    .map(|c| (c.status.as_str(), c.reason.as_str()))
            };
            if policy.is_deleting() {
                if !used {
                    out.push(format!("DRPolicy {name} is stuck deleting"));
                } else if condition(names::DELETION_BLOCKED)
                    != Some(("True", names::REASON_DRPCS_EXIST))
                {
                    out.push(format!(
                        "DRPolicy {name}: deletion blocked without saying so"
                    ));
                }
                continue;
            }
            if !policy.finalizers().iter().any(|f| f == DRPOLICY_FINALIZER) {
                out.push(format!("DRPolicy {name} has no finalizer"));
            }
            if policy.labels().get(OCM_BACKUP_LABEL).is_none() {
                out.push(format!("DRPolicy {name} has no backup label"));
            }
            if condition(names::VALIDATED) != Some(("True", names::REASON_SUCCEEDED)) {
                out.push(format!(
                    "DRPolicy {name}: Validated is {:?}",
                    condition(names::VALIDATED)
                ));
            }
            let all_distributed = plan
                .warnings
                .iter()
                .all(|w| !w.policies().contains(&name.as_str()));
            let expected = if all_distributed {
                ("True", names::REASON_DISTRIBUTED)
            } else {
                ("False", names::REASON_SECRETS_UNAVAILABLE)
            };
            if condition(names::SECRETS_DISTRIBUTED) != Some(expected) {
                out.push(format!(
                    "DRPolicy {name}: SecretsDistributed is {:?}, expected {expected:?}",
                    condition(names::SECRETS_DISTRIBUTED)
                ));
            }
            if condition(names::DELETION_BLOCKED).is_some() {
                out.push(format!("DRPolicy {name}: stale DeletionBlocked condition"));
            }
            if condition(PEER_CLASSES_COMPUTED) != Some(("True", REASON_COMPUTED)) {
                out.push(format!(
                    "DRPolicy {name}: {PEER_CLASSES_COMPUTED} is {:?}",
                    condition(PEER_CLASSES_COMPUTED)
                ));
            }
            let expected = managed::expected_peers(
                table,
                &policy.spec.dr_clusters,
                &policy.spec.scheduling_interval,
            );
            let stored = PeerClasses::from_status(policy.status.as_ref());
            if stored != expected {
                out.push(format!(
                    "DRPolicy {name}: peer classes {stored:?}, expected {expected:?}"
                ));
            }
        }

        // Views: in the namespaces of live policies' clusters exactly those their classes need;
        // elsewhere (clusters whose users are gone) no view reads what the cluster does not list.
        let views: BTreeSet<String> = self
            .views
            .iter()
            .map(|v| format!("{}/{}", v.namespace().unwrap_or_default(), v.name_any()))
            .collect();
        let live_clusters = self.live_clusters();
        let wanted = managed::expected_views(table, live_clusters.iter().copied());
        for view in wanted.difference(&views) {
            out.push(format!("missing ManagedClusterView {view}"));
        }
        let possible = managed::expected_views(table, table.keys().map(String::as_str));
        for view in views.difference(&possible) {
            out.push(format!("unexpected ManagedClusterView {view}"));
        }
        for view in views.difference(&wanted).filter(|v| possible.contains(*v)) {
            let namespace = view.split_once('/').map_or("", |(ns, _)| ns);
            if live_clusters.contains(namespace) {
                out.push(format!("stale ManagedClusterView {view}"));
            }
        }
        // The harness' OCM agent answers every view; one without an answer is the harness' failure.
        for view in &self.views {
            let answered = view
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| !c.is_empty());
            if !answered {
                out.push(format!(
                    "ManagedClusterView {}/{} (resourceVersion {}) has no answer from the OCM agent",
                    view.namespace().unwrap_or_default(),
                    view.name_any(),
                    view.resource_version().unwrap_or_default()
                ));
            }
        }

        if let Some(name) = config.ramen_ops_namespace() {
            let labelled = self.ops_namespace.as_ref().map(|n| {
                n.labels().get(CREATED_BY_RAMEN_LABEL).map(String::as_str)
                    == Some(CREATED_BY_RAMEN_LABEL_VALUE)
            });
            match labelled {
                None => out.push(format!("the ops namespace {name} does not exist")),
                Some(false) => out.push(format!("the ops namespace {name} is not labelled")),
                Some(true) => {}
            }
        }
        out
    }
}

/// The RamenConfig of the operator ConfigMap.
fn parsed_config(configmap: Option<&ConfigMap>) -> Result<RamenConfig, String> {
    let location = ConfigMapLocation {
        namespace: NAMESPACE,
        name: HUB_OPERATOR_CONFIGMAP,
        key: RAMEN_CONFIG_KEY,
    };
    let data = configmap.and_then(|c| c.data.as_ref());
    ramen_config::from_config_map_data(&location, data)
        .map(|parsed| parsed.config)
        .map_err(|error| error.to_string())
}

/// A DRPolicy as compared across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyState {
    /// Has a deletionTimestamp.
    pub deleting: bool,
    /// Finalizers, sorted.
    pub finalizers: Vec<String>,
    /// The OCM backup label.
    pub backup_label: Option<String>,
    /// `type status reason: message (observedGeneration)`, sorted by type.
    pub conditions: Vec<String>,
    /// `status.sync` and `status.async` (left out while deleting, like the conditions).
    pub peer_classes: Value,
}

impl PolicyState {
    fn of(policy: &DRPolicy) -> PolicyState {
        let mut finalizers = policy.finalizers().to_vec();
        finalizers.sort();
        let mut conditions: Vec<String> = policy
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            // A deleting policy keeps the conditions of its last reconcile before the deletion, which
            // depend on timing; only DeletionBlocked is still maintained.
            .filter(|c| !policy.is_deleting() || c.type_ == names::DELETION_BLOCKED)
            .map(|c| {
                format!(
                    "{} {} {}: {} ({:?})",
                    c.type_, c.status, c.reason, c.message, c.observed_generation
                )
            })
            .collect();
        conditions.sort();
        let status = policy.status.as_ref();
        let peer_classes = if policy.is_deleting() {
            Value::Null
        } else {
            serde_json::json!({
                "sync": status.and_then(|s| s.sync.as_ref()),
                "async": status.and_then(|s| s.async_.as_ref()),
            })
        };
        PolicyState {
            deleting: policy.is_deleting(),
            finalizers,
            backup_label: policy.labels().get(OCM_BACKUP_LABEL).cloned(),
            conditions,
            peer_classes,
        }
    }
}

/// A hub Secret as compared across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretSnap {
    /// The formats whose policy-protection finalizer it carries.
    pub finalized: Vec<&'static str>,
    /// Has a deletionTimestamp.
    pub deleting: bool,
}

/// The normalized hub state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// DRPolicies by name.
    pub policies: BTreeMap<String, PolicyState>,
    /// Secrets of the operator namespace by name.
    pub secrets: BTreeMap<String, SecretSnap>,
    /// OCM Policies by name (labels, annotations, spec; the trigger as `=rv(secret)` when it
    /// matches the Secret).
    pub ocm_policies: BTreeMap<String, Value>,
    /// PlacementRules by name.
    pub rules: BTreeMap<String, Value>,
    /// PlacementBindings by name.
    pub bindings: BTreeMap<String, Value>,
    /// DRPlacementControls as `namespace/name -> policy`.
    pub drpcs: BTreeSet<String>,
    /// ManagedClusterViews by `namespace/name` (labels, annotations, spec; the answers are the OCM
    /// agent's), in the namespaces of the clusters of live policies only. Views are shared per cluster
    /// and outlive the policies that made the operator create them; for a cluster whose only users
    /// were deleted, whether its class views exist depends on whether the operator saw the answer to
    /// its DRClusterConfig view before the deletion, which is timing.
    pub views: BTreeMap<String, Value>,
    /// The labels of the ops namespace the config names, if it exists.
    pub ops_namespace: Option<BTreeMap<String, String>>,
}

impl Snapshot {
    /// How many live policies have peer classes on `side` (`sync` or `async`).
    pub fn policies_with_peers(&self, side: &str) -> usize {
        self.policies
            .values()
            .filter(|p| p.peer_classes[side]["peerClasses"].is_array())
            .count()
    }

    /// Human-readable differences from `other` (empty when equal).
    pub fn differences(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        diff_maps("DRPolicy", &self.policies, &other.policies, &mut out);
        diff_maps("Secret", &self.secrets, &other.secrets, &mut out);
        diff_maps("Policy", &self.ocm_policies, &other.ocm_policies, &mut out);
        diff_maps("PlacementRule", &self.rules, &other.rules, &mut out);
        diff_maps(
            "PlacementBinding",
            &self.bindings,
            &other.bindings,
            &mut out,
        );
        diff_maps("ManagedClusterView", &self.views, &other.views, &mut out);
        if self.ops_namespace != other.ops_namespace {
            out.push(format!(
                "ops namespace: {:?} vs {:?}",
                self.ops_namespace, other.ops_namespace
            ));
        }
        if self.drpcs != other.drpcs {
            out.push(format!("DRPCs: {:?} vs {:?}", self.drpcs, other.drpcs));
        }
        out
    }
}

fn diff_maps<V: PartialEq + std::fmt::Debug>(
    kind: &str,
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    out: &mut Vec<String>,
) {
    for name in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => out.push(format!("{kind} {name}: {x:?} vs {y:?}")),
        }
    }
}

fn normalize_all<K: Resource + Serialize>(
    objects: &[K],
    secret_versions: &BTreeMap<String, String>,
) -> BTreeMap<String, Value> {
    objects
        .iter()
        .map(|o| {
            let name = o.meta().name.clone().unwrap_or_default();
            (name, normalize(o, secret_versions))
        })
        .collect()
}

/// Keeps name, labels, annotations (the trigger made run-independent) and spec.
fn normalize<K: Resource + Serialize>(
    object: &K,
    secret_versions: &BTreeMap<String, String>,
) -> Value {
    let value = serde_json::to_value(object).unwrap_or(Value::Null);
    let meta = object.meta();
    let mut annotations = meta.annotations.clone().unwrap_or_default();
    if let Some(trigger) = annotations.get_mut(POLICY_TRIGGER_ANNOTATION) {
        let name = meta.name.clone().unwrap_or_default();
        // `S` is secret S's ramen-format Policy, `vS` its velero-format one.
        let owner = ocm_names::owners("Policy", &name)
            .into_iter()
            .find(|(secret, _)| secret_versions.get(secret) == Some(trigger));
        if let Some((secret, _)) = owner {
            *trigger = format!("=rv({secret})");
        }
    }
    serde_json::json!({
        "labels": meta.labels,
        "annotations": annotations,
        "spec": value.get("spec"),
    })
}
