//! The hub's final state: read from the server, normalized (no resourceVersions, uids, timestamps or
//! managedFields) so two runs can be compared, and checked against the planner's rule so a run can be
//! judged on its own: no leaked OCM object, no stuck finalizer, no Secret finalizer without a policy
//! needing the Secret, every condition as the final inputs ask.

use drpolicy_api::names::{
    CREATED_BY_RAMEN_LABEL, DRPOLICY_FINALIZER, HUB_OPERATOR_CONFIGMAP, OCM_BACKUP_LABEL,
    POLICY_TRIGGER_ANNOTATION, RAMEN_CONFIG_KEY, SECRET_POLICY_FINALIZER, condition as names,
    ocm_names,
};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::{Client, Resource, ResourceExt};
use ramen_config::ConfigMapLocation;
use secret_propagator::{PlanInputs, Scope, SecretState, Secrets, plan};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::hub::NAMESPACE;

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
        Ok(Raw {
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
            configmap: Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
                .get_opt(HUB_OPERATOR_CONFIGMAP)
                .await?,
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

    /// Every object the operator writes to (DRPolicies and their status, OCM objects, Events, the
    /// ConfigMap label), as (description, JSON) for the leak check. Secrets are left out: the operator
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

    /// The normalized state, comparable across runs.
    pub fn snapshot(&self) -> Snapshot {
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
                        finalized: s.finalizers().iter().any(|f| f == SECRET_POLICY_FINALIZER),
                        deleting: s.metadata.deletion_timestamp.is_some(),
                    };
                    (s.name_any(), state)
                })
                .collect(),
            ocm_policies: normalize_all(&self.ocm_policies, &versions),
            rules: normalize_all(&self.rules, &versions),
            bindings: normalize_all(&self.bindings, &versions),
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

    /// Violations of the rule by the final state: what the planner wants from the final inputs must be
    /// exactly what exists, and every condition must say what the inputs imply.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let location = ConfigMapLocation {
            namespace: NAMESPACE,
            name: HUB_OPERATOR_CONFIGMAP,
            key: RAMEN_CONFIG_KEY,
        };
        let data = self.configmap.as_ref().and_then(|c| c.data.as_ref());
        let config = match ramen_config::from_config_map_data(&location, data) {
            Ok(parsed) => parsed.config,
            Err(error) => {
                out.push(format!("the final config does not parse: {error}"));
                return out;
            }
        };
        let drclusters: BTreeMap<String, DRCluster> = self
            .drclusters
            .iter()
            .map(|c| (c.name_any(), c.clone()))
            .collect();
        let secrets: Secrets = self
            .secrets
            .iter()
            .map(|s| (s.name_any(), SecretState::from_meta(&s.metadata)))
            .collect();
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
        let wanted: BTreeSet<&String> = plan.secrets.keys().collect();

        // OCM objects: exactly the planned ones, each as planned.
        let labelled =
            |labels: &BTreeMap<String, String>| labels.contains_key(CREATED_BY_RAMEN_LABEL);
        for policy in self.ocm_policies.iter().filter(|o| labelled(o.labels())) {
            let name = policy.name_any();
            match plan.secrets.get(&name) {
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
            let secret = ocm_names::secret_of("PlacementRule", &name).unwrap_or_default();
            match plan.secrets.get(&secret) {
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
            let secret = ocm_names::secret_of("PlacementBinding", &name).unwrap_or_default();
            if !wanted.contains(&secret) {
                out.push(format!("leaked PlacementBinding {name}"));
            }
        }
        let ocm_names_of = |names: Vec<String>| names.into_iter().collect::<BTreeSet<String>>();
        let live_policies = ocm_names_of(self.ocm_policies.iter().map(|o| o.name_any()).collect());
        let live_rules = ocm_names_of(self.rules.iter().map(|o| o.name_any()).collect());
        let live_bindings = ocm_names_of(self.bindings.iter().map(|o| o.name_any()).collect());
        for secret in &wanted {
            if !live_policies.contains(&ocm_names::policy(secret)) {
                out.push(format!("missing Policy for {secret}"));
            }
            if !live_rules.contains(&ocm_names::placement_rule(secret)) {
                out.push(format!("missing PlacementRule for {secret}"));
            }
            if !live_bindings.contains(&ocm_names::placement_binding(secret)) {
                out.push(format!("missing PlacementBinding for {secret}"));
            }
        }

        // Secret finalizers: exactly on the distributed Secrets; nothing stuck deleting.
        for secret in &self.secrets {
            let name = secret.name_any();
            let finalized = secret
                .finalizers()
                .iter()
                .any(|f| f == SECRET_POLICY_FINALIZER);
            if finalized != wanted.contains(&name) {
                out.push(format!(
                    "Secret {name}: policy-protection finalizer {}, needed {}",
                    finalized,
                    wanted.contains(&name)
                ));
            }
            if secret.metadata.deletion_timestamp.is_some() {
                out.push(format!("Secret {name} is stuck deleting"));
            }
        }

        // Policies: deleting ones only while a DRPC holds them; live ones validated and distributed.
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
        }
        out
    }
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
        PolicyState {
            deleting: policy.is_deleting(),
            finalizers,
            backup_label: policy.labels().get(OCM_BACKUP_LABEL).cloned(),
            conditions,
        }
    }
}

/// A hub Secret as compared across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretSnap {
    /// Carries the policy-protection finalizer.
    pub finalized: bool,
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
}

impl Snapshot {
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
        if secret_versions.get(&name) == Some(trigger) {
            *trigger = format!("=rv({name})");
        }
    }
    serde_json::json!({
        "labels": meta.labels,
        "annotations": annotations,
        "spec": value.get("spec"),
    })
}
