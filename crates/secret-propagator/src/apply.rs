//! The applier: converges the hub to a [`Plan`] with the fewest writes.
//!
//! It decides from the cached state the caller passes (no GET, no LIST): when every object already matches
//! it sends nothing. Objects are written with server-side apply of the whole desired object (force, one
//! field manager), so the outcome depends only on the plan — two concurrent runs over the same state
//! agree, and a Policy, PlacementRule or PlacementBinding someone edited or deleted is restored. The
//! Secret finalizer is changed with a merge patch that carries the cached resourceVersion, so a stale
//! cache yields a conflict (and a retry), never a lost finalizer.
//!
//! Order, as Ramen: create = Secret finalizer → PlacementBinding → Policy → PlacementRule (the rule last,
//! so OCM places nothing before the rest exists); delete = PlacementBinding → Policy → PlacementRule →
//! Secret finalizer.

use drpolicy_api::names::SECRET_POLICY_FINALIZER;
use drpolicy_api::names::ocm_names;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;
use thiserror::Error;

use crate::compare::contains;
use crate::plan::{DesiredSecret, Plan, Scope};
use crate::state::{LiveObjects, SecretState, Secrets};

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "ramen-hub-operator";

/// One write the applier made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Added the policy-protection finalizer to the Secret.
    FinalizerAdded,
    /// Applied the PlacementBinding.
    BindingApplied,
    /// Applied the Policy (created, trigger or content changed).
    PolicyApplied,
    /// Applied the PlacementRule (created or cluster list changed).
    RuleApplied,
    /// Deleted the PlacementBinding.
    BindingDeleted,
    /// Deleted the Policy.
    PolicyDeleted,
    /// Deleted the PlacementRule.
    RuleDeleted,
    /// Removed the policy-protection finalizer from the Secret.
    FinalizerRemoved,
}

/// A write of the applier, for logs, events and tests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applied {
    /// The hub Secret the write belongs to.
    pub secret: String,
    /// What was done.
    pub action: Action,
}

/// A failed step; the other secrets of the plan are still converged.
#[derive(Debug, Error)]
#[error("secret {secret}: unable to {step}: {source}")]
pub struct StepError {
    /// The hub Secret concerned.
    pub secret: String,
    /// What failed, e.g. `apply policy plbinding-s`.
    pub step: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Writes made, in order.
    pub applied: Vec<Applied>,
    /// Failed steps (each stops the remaining steps of its secret).
    pub errors: Vec<StepError>,
    /// The objects as the server answered the writes.
    pub written: Written,
}

/// The state the server answered to each write of a run: what a cache will show once its watch caught
/// up. Callers whose caches lag their own writes overlay this on the cached state until the watch
/// delivers the same resourceVersion (see [`LiveObjects::overlay`]).
#[derive(Debug, Default, Clone)]
pub struct Written {
    /// Policies applied (`Some`) or deleted (`None`), by name.
    pub policies: BTreeMap<String, Option<Arc<Policy>>>,
    /// PlacementRules applied or deleted, by name.
    pub placement_rules: BTreeMap<String, Option<Arc<PlacementRule>>>,
    /// PlacementBindings applied or deleted, by name.
    pub placement_bindings: BTreeMap<String, Option<Arc<PlacementBinding>>>,
    /// Secret metadata after our finalizer patches, by name.
    pub secrets: BTreeMap<String, SecretState>,
}

impl Written {
    /// Whether the run wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.placement_rules.is_empty()
            && self.placement_bindings.is_empty()
            && self.secrets.is_empty()
    }
}

impl ApplyReport {
    /// Whether every step succeeded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Writes OCM distribution objects and Secret finalizers in the operator namespace.
#[derive(Clone)]
pub struct Applier {
    client: Client,
}

impl Applier {
    /// An applier using `client`.
    pub fn new(client: Client) -> Self {
        Applier { client }
    }

    /// Converges the secrets in the plan's scope: distributes what the plan wants, removes what it does
    /// not want (objects, then the Secret finalizer). With distribution disabled nothing is created or
    /// grown, but clusters and secrets no holder needs any more are still removed.
    ///
    /// `secrets` and `live` are the cached state (metadata of the operator namespace's Secrets and the
    /// live OCM objects); they decide which writes are needed.
    pub async fn apply(&self, plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> ApplyReport {
        let mut run = Run {
            plan,
            live,
            secrets_api: Api::namespaced(self.client.clone(), &plan.namespace),
            policies: Api::namespaced(self.client.clone(), &plan.namespace),
            rules: Api::namespaced(self.client.clone(), &plan.namespace),
            bindings: Api::namespaced(self.client.clone(), &plan.namespace),
            report: ApplyReport::default(),
        };
        for secret in candidates(plan, secrets, live) {
            let state = secrets.get(&secret);
            let result = match plan.secrets.get(&secret) {
                Some(desired) if plan.enabled => run.converge(desired, state).await,
                Some(desired) => run.shrink(desired, state).await,
                None => run.remove(&secret, state).await,
            };
            if let Err(error) = result {
                tracing::warn!(secret = %secret, error = %error, "secret distribution step failed");
                run.report.errors.push(error);
            }
        }
        run.report
    }
}

/// The secrets a run looks at: the scope, or with [`Scope::All`] everything desired, every live
/// distribution of ours, and every Secret holding our finalizer (objects Ramen created before it
/// labelled them). Objects that only share the naming scheme are left alone.
fn candidates(plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> BTreeSet<String> {
    match &plan.scope {
        Scope::Secrets(set) => set.clone(),
        Scope::All => plan
            .secrets
            .keys()
            .cloned()
            .chain(live.owned_secrets(&plan.namespace))
            .chain(
                secrets
                    .iter()
                    .filter(|(_, s)| s.has_finalizer)
                    .map(|(n, _)| n.clone()),
            )
            .collect(),
    }
}

struct Run<'a> {
    plan: &'a Plan,
    live: &'a LiveObjects,
    secrets_api: Api<Secret>,
    policies: Api<Policy>,
    rules: Api<PlacementRule>,
    bindings: Api<PlacementBinding>,
    report: ApplyReport,
}

fn step_error(secret: &str, step: String) -> impl FnOnce(kube::Error) -> StepError + '_ {
    move |source| StepError {
        secret: secret.to_owned(),
        step,
        source,
    }
}

fn matches<T: Serialize>(live: Option<&T>, desired: &T) -> bool {
    let Some(live) = live else { return false };
    match (serde_json::to_value(live), serde_json::to_value(desired)) {
        (Ok(live), Ok(desired)) => contains(&live, &desired),
        _ => false,
    }
}

fn rule_clusters(rule: &PlacementRule) -> BTreeSet<String> {
    rule.cluster_names().map(str::to_owned).collect()
}

/// PlacementRules match when labels match and the cluster *set* is the same: the order means nothing to
/// OCM, and rewriting a rule Ramen ordered differently would be a needless write.
fn rule_matches(live: Option<&PlacementRule>, desired: &PlacementRule) -> bool {
    let Some(live) = live else { return false };
    let labels_match = matches(
        Some(&json!({"labels": live.metadata.labels})),
        &json!({"labels": desired.metadata.labels}),
    );
    labels_match && rule_clusters(live) == rule_clusters(desired)
}

impl Run<'_> {
    fn record(&mut self, secret: &str, action: Action) {
        tracing::info!(secret = %secret, action = ?action, "secret distribution write");
        self.report.applied.push(Applied {
            secret: secret.to_owned(),
            action,
        });
    }

    async fn converge(
        &mut self,
        desired: &DesiredSecret,
        state: Option<&SecretState>,
    ) -> Result<(), StepError> {
        let secret = desired.name.as_str();
        let mut trigger = desired.resource_version.clone();
        if let Some(state) = state.filter(|s| !s.has_finalizer) {
            let mut finalizers = state.finalizers.clone();
            finalizers.push(SECRET_POLICY_FINALIZER.to_owned());
            let patched = self
                .patch_finalizers(secret, state, finalizers)
                .await
                .map_err(step_error(secret, "add finalizer to secret".into()))?;
            trigger = patched.meta().resource_version.clone().unwrap_or(trigger);
            self.report
                .written
                .secrets
                .insert(secret.to_owned(), SecretState::from_meta(patched.meta()));
            self.record(secret, Action::FinalizerAdded);
        }
        let dist = self.plan.distribution(secret);

        let binding = dist.placement_binding();
        let name = ocm_names::placement_binding(secret);
        if !matches(
            self.live.placement_bindings.get(&name).map(AsRef::as_ref),
            &binding,
        ) {
            let written = apply(&self.bindings, &name, &binding)
                .await
                .map_err(step_error(
                    secret,
                    format!("apply placement binding {name}"),
                ))?;
            self.report
                .written
                .placement_bindings
                .insert(name, Some(Arc::new(written)));
            self.record(secret, Action::BindingApplied);
        }

        let policy = dist.policy(&trigger);
        let name = ocm_names::policy(secret);
        if !matches(self.live.policies.get(&name).map(AsRef::as_ref), &policy) {
            let written = apply(&self.policies, &name, &policy)
                .await
                .map_err(step_error(secret, format!("apply policy {name}")))?;
            self.report
                .written
                .policies
                .insert(name, Some(Arc::new(written)));
            self.record(secret, Action::PolicyApplied);
        }

        let rule = dist.placement_rule(desired.clusters.iter().cloned());
        self.apply_rule(secret, &rule).await
    }

    async fn apply_rule(&mut self, secret: &str, rule: &PlacementRule) -> Result<(), StepError> {
        let name = ocm_names::placement_rule(secret);
        if !rule_matches(
            self.live.placement_rules.get(&name).map(AsRef::as_ref),
            rule,
        ) {
            let written = apply(&self.rules, &name, rule)
                .await
                .map_err(step_error(secret, format!("apply placement rule {name}")))?;
            self.report
                .written
                .placement_rules
                .insert(name, Some(Arc::new(written)));
            self.record(secret, Action::RuleApplied);
        }
        Ok(())
    }

    /// Distribution disabled: keep what exists, minus clusters no holder needs any more.
    async fn shrink(
        &mut self,
        desired: &DesiredSecret,
        state: Option<&SecretState>,
    ) -> Result<(), StepError> {
        let secret = desired.name.as_str();
        let name = ocm_names::placement_rule(secret);
        let Some(live) = self.live.placement_rules.get(&name) else {
            return Ok(());
        };
        let current = rule_clusters(live);
        let keep: BTreeSet<String> = current.intersection(&desired.clusters).cloned().collect();
        if keep == current {
            return Ok(());
        }
        if keep.is_empty() {
            return self.remove(secret, state).await;
        }
        let rule = self.plan.distribution(secret).placement_rule(keep);
        self.apply_rule(secret, &rule).await
    }

    async fn remove(&mut self, secret: &str, state: Option<&SecretState>) -> Result<(), StepError> {
        // A Secret still carrying our finalizer may have objects the cache cannot show (Ramen before HEAD
        // did not label them): delete by name then; a 404 costs one request, once.
        let finalized = state.filter(|s| s.has_finalizer);
        let legacy = finalized.is_some();

        let name = ocm_names::placement_binding(secret);
        if legacy || self.live.placement_bindings.contains_key(&name) {
            let deleted = delete(&self.bindings, &name).await.map_err(step_error(
                secret,
                format!("delete placement binding {name}"),
            ))?;
            self.report.written.placement_bindings.insert(name, None);
            if deleted {
                self.record(secret, Action::BindingDeleted);
            }
        }
        let name = ocm_names::policy(secret);
        if legacy || self.live.policies.contains_key(&name) {
            let deleted = delete(&self.policies, &name)
                .await
                .map_err(step_error(secret, format!("delete policy {name}")))?;
            self.report.written.policies.insert(name, None);
            if deleted {
                self.record(secret, Action::PolicyDeleted);
            }
        }
        let name = ocm_names::placement_rule(secret);
        if legacy || self.live.placement_rules.contains_key(&name) {
            let deleted = delete(&self.rules, &name)
                .await
                .map_err(step_error(secret, format!("delete placement rule {name}")))?;
            self.report.written.placement_rules.insert(name, None);
            if deleted {
                self.record(secret, Action::RuleDeleted);
            }
        }
        if let Some(state) = finalized {
            let finalizers = state
                .finalizers
                .iter()
                .filter(|f| *f != SECRET_POLICY_FINALIZER)
                .cloned()
                .collect();
            let patched = self
                .patch_finalizers(secret, state, finalizers)
                .await
                .map_err(step_error(secret, "remove finalizer from secret".into()))?;
            self.report
                .written
                .secrets
                .insert(secret.to_owned(), SecretState::from_meta(patched.meta()));
            self.record(secret, Action::FinalizerRemoved);
        }
        Ok(())
    }

    /// Sets the Secret's finalizers with a merge patch guarded by the cached resourceVersion. Only
    /// metadata is sent, and only metadata is asked back: Secret data never reaches this process.
    async fn patch_finalizers(
        &self,
        secret: &str,
        state: &SecretState,
        finalizers: Vec<String>,
    ) -> Result<PartialObjectMeta<Secret>, kube::Error> {
        let patch = json!({
            "metadata": {
                "resourceVersion": state.resource_version,
                "finalizers": finalizers,
            }
        });
        self.secrets_api
            .patch_metadata(secret, &PatchParams::default(), &Patch::Merge(&patch))
            .await
    }
}

async fn apply<K>(api: &Api<K>, name: &str, object: &K) -> Result<K, kube::Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
}

/// Deletes `name`; `Ok(false)` when it was already gone.
async fn delete<K>(api: &Api<K>, name: &str) -> Result<bool, kube::Error>
where
    K: Resource + DeserializeOwned + Clone + Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}
