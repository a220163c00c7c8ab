//! The applier: converges the hub to a [`Plan`] with the fewest writes.
//!
//! It decides from the cached state the caller passes (no GET, no LIST): when every object already matches
//! it sends nothing. Objects are written with server-side apply of the whole desired object (force, one
//! field manager), so the outcome depends only on the plan — two concurrent runs over the same state
//! agree, and a Policy, PlacementRule or PlacementBinding someone edited or deleted is restored. The
//! Secret finalizers are changed with a merge patch that carries the cached resourceVersion, so a stale
//! cache yields a conflict (and a retry), never a lost finalizer.
//!
//! Per secret, in order:
//! 1. the formats no longer wanted lose their objects (PlacementBinding → Policy → PlacementRule), and
//!    with distribution disabled the PlacementRules lose the clusters no holder needs;
//! 2. one Secret patch adds the finalizers of the formats to distribute and drops those of the formats
//!    gone (so a format's finalizer goes only after its objects);
//! 3. each format to distribute gets PlacementBinding → Policy → PlacementRule (the rule last, so OCM
//!    places nothing before the rest exists), every Policy's trigger being the Secret's resourceVersion
//!    after that patch: both formats follow every change of the Secret (Ramen HEAD refreshes only the
//!    ramen-format Policy, bug BH1), and the run leaves nothing stale behind its own finalizer patch.
//!
//! A Policy's name does not say whose it is (the velero-format `vS` of Secret `S` is named like the
//! ramen-format Policy of a Secret `vS`): objects whose live Policy carries another distribution's
//! templates are never deleted or shrunk on behalf of this one.

use drpolicy_api::names::ocm_names::{Format, ObjectNames};
use drpolicy_api::ocm::{Delivery, PlacementBinding, PlacementRule, Policy, SecretDistribution};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug};
use std::sync::Arc;
use thiserror::Error;

use crate::compare::contains;
use crate::plan::{DesiredSecret, Plan, Scope};
use crate::state::{LiveObjects, SecretState, Secrets, distributes_in};

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "ramen-hub-operator";

/// One write the applier made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Added the format's policy-protection finalizer to the Secret.
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
    /// Removed the format's policy-protection finalizer from the Secret.
    FinalizerRemoved,
}

/// A write of the applier, for logs, events and tests. Adding or removing the finalizers of both formats
/// is one Secret patch, recorded once per format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Applied {
    /// The hub Secret the write belongs to.
    pub secret: String,
    /// The format of the distribution written.
    pub format: Format,
    /// What was done.
    pub action: Action,
}

/// A failed step; the other secrets of the plan are still converged.
#[derive(Debug, Error)]
#[error("secret {secret}{}: unable to {step}: {source}", InFormat(*.format))]
pub struct StepError {
    /// The hub Secret concerned.
    pub secret: String,
    /// The format whose object failed; `None` for the Secret's finalizer patch, which serves both.
    pub format: Option<Format>,
    /// What failed, e.g. `apply placement binding plbinding-s`.
    pub step: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// ` in format 'velero'` (Ramen HEAD's wording), or nothing.
struct InFormat(Option<Format>);

impl fmt::Display for InFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(format) => write!(f, " in format '{format}'"),
            None => Ok(()),
        }
    }
}

impl StepError {
    /// The failed step with its format, without the secret: `in format 'velero': unable to …`.
    pub fn what(&self) -> String {
        let step = &self.step;
        match self.format {
            Some(format) => format!("in format '{format}': unable to {step}"),
            None => format!("unable to {step}"),
        }
    }
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

    /// Converges the secrets in the plan's scope: distributes what the plan wants in the formats it
    /// wants, removes what it does not want (objects, then the Secret finalizer of that format). With
    /// distribution disabled (or a secret held, see [`Plan::held`]) nothing is created or grown, but
    /// clusters, formats and secrets no holder needs any more are still removed.
    ///
    /// `secrets` and `live` are the cached state (metadata of the operator namespace's Secrets and the
    /// live OCM objects of both formats); they decide which writes are needed.
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
            run.secret(&secret, secrets.get(&secret)).await;
        }
        run.report
    }
}

/// The secrets a run looks at: the scope, or with [`Scope::All`] everything desired or held, every
/// live distribution of ours (either format), and every Secret holding one of our finalizers (objects
/// Ramen created before it labelled them). Objects that only share the naming scheme are left alone.
fn candidates(plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> BTreeSet<String> {
    match &plan.scope {
        Scope::Secrets(set) => set.clone(),
        Scope::All => plan
            .secrets
            .keys()
            .chain(plan.held.keys())
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

/// What a run does with one format of one secret.
enum Mode<'p> {
    /// Create or repair, to exactly the desired clusters.
    Converge(&'p DesiredSecret),
    /// Create and grow nothing; drop the clusters no holder needs.
    Shrink(&'p DesiredSecret),
    /// Delete the format's objects and release its finalizer.
    Remove,
}

fn mode<'p>(plan: &'p Plan, secret: &str, format: Format) -> Mode<'p> {
    if let Some(desired) = plan.secrets.get(secret) {
        if desired.formats.contains(&format) {
            return if plan.enabled {
                Mode::Converge(desired)
            } else {
                Mode::Shrink(desired)
            };
        }
    } else if let Some(held) = plan.held.get(secret)
        && held.formats.contains(&format)
    {
        return Mode::Shrink(held);
    }
    Mode::Remove
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

fn step_error(
    secret: &str,
    format: Option<Format>,
    step: String,
) -> impl FnOnce(kube::Error) -> StepError + '_ {
    move |source| StepError {
        secret: secret.to_owned(),
        format,
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

/// Policies match when the live one contains what we send and its templates are exactly ours: the
/// embedded objects are stored verbatim and the template list is replaced as a whole by an apply, so
/// a body an older Ramen wrote (`Musthave`, `creationTimestamp: null`, no `customMessage`) is rewritten
/// once, and then matches.
fn policy_matches(live: Option<&Policy>, desired: &Policy) -> bool {
    matches(live, desired)
        && live.is_some_and(|live| live.spec.policy_templates == desired.spec.policy_templates)
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

/// The object builder of `secret` in `format`. The velero namespace only shapes the Policy, which is
/// built only when the plan distributes that format (and so has the namespace).
fn distribution<'s>(plan: &'s Plan, secret: &'s str, format: Format) -> SecretDistribution<'s> {
    let delivery = match format {
        Format::Ramen => Delivery::Ramen,
        Format::Velero => Delivery::Velero {
            velero_namespace: plan.velero_namespace.as_deref().unwrap_or_default(),
        },
    };
    SecretDistribution {
        delivery,
        ..plan.distribution(secret)
    }
}

fn current<'a, K>(
    written: &'a BTreeMap<String, Option<Arc<K>>>,
    live: &'a BTreeMap<String, Arc<K>>,
    name: &str,
) -> Option<&'a K> {
    match written.get(name) {
        Some(object) => object.as_deref(),
        None => live.get(name).map(AsRef::as_ref),
    }
}

impl Run<'_> {
    fn record(&mut self, secret: &str, format: Format, action: Action) {
        tracing::info!(secret = %secret, format = %format, action = ?action, "secret distribution write");
        self.report.applied.push(Applied {
            secret: secret.to_owned(),
            format,
            action,
        });
    }

    /// The live Policy `name` as this run left it (what it wrote, else the cache): a secret handled
    /// later in a run sees what an earlier one did to objects of the same name.
    fn policy(&self, name: &str) -> Option<&Policy> {
        current(&self.report.written.policies, &self.live.policies, name)
    }

    /// The live PlacementRule `name` as this run left it.
    fn rule(&self, name: &str) -> Option<&PlacementRule> {
        current(
            &self.report.written.placement_rules,
            &self.live.placement_rules,
            name,
        )
    }

    /// The live PlacementBinding `name` as this run left it.
    fn binding(&self, name: &str) -> Option<&PlacementBinding> {
        current(
            &self.report.written.placement_bindings,
            &self.live.placement_bindings,
            name,
        )
    }

    /// Whether the objects named for `secret` in `format` are its own: their live Policy, if there is
    /// one, carries that distribution's templates.
    fn owns(&self, secret: &str, format: Format, names: &ObjectNames) -> bool {
        self.policy(&names.policy)
            .is_none_or(|policy| distributes_in(policy, &self.plan.namespace, secret, format))
    }

    fn failed(&mut self, error: StepError) {
        tracing::warn!(
            secret = %error.secret,
            format = error.format.map(Format::as_str),
            error = %error,
            "secret distribution step failed"
        );
        self.report.errors.push(error);
    }

    /// Converges one secret, format by format; a failed step stops the rest of its format (and the
    /// Secret patch failing stops the formats to distribute, which must follow it).
    async fn secret(&mut self, secret: &str, state: Option<&SecretState>) {
        let modes = Format::ALL.map(|format| (format, mode(self.plan, secret, format)));

        let mut released = Vec::new();
        for (format, mode) in &modes {
            let gone = match mode {
                Mode::Converge(_) => Ok(false),
                Mode::Shrink(desired) => self.shrink(secret, *format, desired, state).await,
                Mode::Remove => self.remove(secret, *format, state).await.map(|()| true),
            };
            match gone {
                Ok(true) => released.push(*format),
                Ok(false) => {}
                Err(error) => self.failed(error),
            }
        }

        let converging: Vec<(Format, &DesiredSecret)> = modes
            .iter()
            .filter_map(|(format, mode)| match mode {
                Mode::Converge(desired) => Some((*format, *desired)),
                _ => None,
            })
            .collect();
        let adding: Vec<Format> = converging.iter().map(|(format, _)| *format).collect();
        let mut trigger = converging
            .first()
            .map(|(_, desired)| desired.resource_version.clone())
            .unwrap_or_default();
        if let Some(state) = state {
            match self
                .patch_finalizers(secret, state, &adding, &released)
                .await
            {
                Ok(Some(version)) => trigger = version,
                Ok(None) => {}
                Err(error) => return self.failed(error),
            }
        }
        for (format, desired) in converging {
            if let Err(error) = self.converge(secret, format, desired, &trigger).await {
                self.failed(error);
            }
        }
    }

    /// Adds the finalizers of `adding` and drops those of `removing` the Secret lacks or carries, in one
    /// patch; returns the Secret's resourceVersion after it, if it was patched.
    async fn patch_finalizers(
        &mut self,
        secret: &str,
        state: &SecretState,
        adding: &[Format],
        removing: &[Format],
    ) -> Result<Option<String>, StepError> {
        let added: Vec<Format> = adding
            .iter()
            .copied()
            .filter(|f| !state.finalized(*f))
            .collect();
        let removed: Vec<Format> = removing
            .iter()
            .copied()
            .filter(|f| state.finalized(*f))
            .collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(None);
        }
        let finalizers: Vec<String> = state
            .finalizers
            .iter()
            .filter(|f| !removed.iter().any(|r| r.finalizer() == f.as_str()))
            .cloned()
            .chain(added.iter().map(|f| f.finalizer().to_owned()))
            .collect();
        let step = match (added.is_empty(), removed.is_empty()) {
            (false, true) => "add finalizer to secret",
            (true, false) => "remove finalizer from secret",
            _ => "update finalizers of secret",
        };
        let patch = json!({
            "metadata": {
                "resourceVersion": state.resource_version,
                "finalizers": finalizers,
            }
        });
        // Only metadata is sent, and only metadata is asked back: Secret data never reaches this
        // process.
        let patched: PartialObjectMeta<Secret> = self
            .secrets_api
            .patch_metadata(secret, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(step_error(secret, None, step.to_owned()))?;
        self.report
            .written
            .secrets
            .insert(secret.to_owned(), SecretState::from_meta(patched.meta()));
        for format in removed {
            self.record(secret, format, Action::FinalizerRemoved);
        }
        for format in added {
            self.record(secret, format, Action::FinalizerAdded);
        }
        Ok(patched.meta().resource_version.clone())
    }

    async fn converge(
        &mut self,
        secret: &str,
        format: Format,
        desired: &DesiredSecret,
        trigger: &str,
    ) -> Result<(), StepError> {
        let dist = distribution(self.plan, secret, format);
        let names = dist.names();
        let in_format = Some(format);

        let binding = dist.placement_binding();
        let name = names.placement_binding;
        if !matches(self.binding(&name), &binding) {
            let written = apply(&self.bindings, &name, &binding)
                .await
                .map_err(step_error(
                    secret,
                    in_format,
                    format!("apply placement binding {name}"),
                ))?;
            self.report
                .written
                .placement_bindings
                .insert(name, Some(Arc::new(written)));
            self.record(secret, format, Action::BindingApplied);
        }

        let policy = dist.policy(trigger);
        let name = names.policy;
        if !policy_matches(self.policy(&name), &policy) {
            let written = apply(&self.policies, &name, &policy)
                .await
                .map_err(step_error(
                    secret,
                    in_format,
                    format!("apply policy {name}"),
                ))?;
            self.report
                .written
                .policies
                .insert(name, Some(Arc::new(written)));
            self.record(secret, format, Action::PolicyApplied);
        }

        let rule = dist.placement_rule(desired.clusters.iter().cloned());
        self.apply_rule(secret, format, &rule).await
    }

    async fn apply_rule(
        &mut self,
        secret: &str,
        format: Format,
        rule: &PlacementRule,
    ) -> Result<(), StepError> {
        let name = format.names(secret).placement_rule;
        if !rule_matches(self.rule(&name), rule) {
            let written = apply(&self.rules, &name, rule).await.map_err(step_error(
                secret,
                Some(format),
                format!("apply placement rule {name}"),
            ))?;
            self.report
                .written
                .placement_rules
                .insert(name, Some(Arc::new(written)));
            self.record(secret, format, Action::RuleApplied);
        }
        Ok(())
    }

    /// Create and grow nothing: keep what exists, minus clusters no holder needs any more. Returns
    /// whether the format is gone (its finalizer can go).
    async fn shrink(
        &mut self,
        secret: &str,
        format: Format,
        desired: &DesiredSecret,
        state: Option<&SecretState>,
    ) -> Result<bool, StepError> {
        let names = format.names(secret);
        if !self.owns(secret, format, &names) {
            return Ok(false);
        }
        let Some(live) = self.rule(&names.placement_rule) else {
            // A distribution without its PlacementRule places nothing (Ramen HEAD cleans it up, D13).
            // Only what the cache shows counts: objects older Ramen did not label stay as they are.
            let leftovers = self.policy(&names.policy).is_some()
                || self.binding(&names.placement_binding).is_some();
            if leftovers {
                self.remove(secret, format, state).await?;
            }
            return Ok(leftovers);
        };
        let current = rule_clusters(live);
        let keep: BTreeSet<String> = current.intersection(&desired.clusters).cloned().collect();
        if keep == current {
            return Ok(false);
        }
        if keep.is_empty() {
            self.remove(secret, format, state).await?;
            return Ok(true);
        }
        let rule = distribution(self.plan, secret, format).placement_rule(keep);
        self.apply_rule(secret, format, &rule).await?;
        Ok(false)
    }

    /// Deletes the format's objects (not its finalizer: the caller drops it after every format).
    ///
    /// Whose objects they are is decided by their Policy: with the Policy in the cache, its templates;
    /// without it, the Secret's finalizer of the format (taken before any object is created, dropped
    /// after all are gone). A PlacementBinding or PlacementRule with neither may be another
    /// distribution's being created under the same names, and is left alone.
    async fn remove(
        &mut self,
        secret: &str,
        format: Format,
        state: Option<&SecretState>,
    ) -> Result<(), StepError> {
        let names = format.names(secret);
        if !self.owns(secret, format, &names) {
            tracing::debug!(
                secret = %secret,
                format = %format,
                policy = %names.policy,
                "objects of that name belong to another distribution; left alone"
            );
            return Ok(());
        }
        // A Secret still carrying the format's finalizer may have objects the cache cannot show (Ramen
        // before HEAD did not label them): delete by name then; a 404 costs one request, once.
        let legacy = state.is_some_and(|s| s.finalized(format));
        let policy_seen = self.policy(&names.policy).is_some();
        let in_format = Some(format);

        let name = names.placement_binding;
        if legacy || (policy_seen && self.binding(&name).is_some()) {
            let deleted = delete(&self.bindings, &name).await.map_err(step_error(
                secret,
                in_format,
                format!("delete placement binding {name}"),
            ))?;
            self.report.written.placement_bindings.insert(name, None);
            if deleted {
                self.record(secret, format, Action::BindingDeleted);
            }
        }
        let name = names.policy;
        if legacy || policy_seen {
            let deleted = delete(&self.policies, &name).await.map_err(step_error(
                secret,
                in_format,
                format!("delete policy {name}"),
            ))?;
            self.report.written.policies.insert(name, None);
            if deleted {
                self.record(secret, format, Action::PolicyDeleted);
            }
        }
        let name = names.placement_rule;
        if legacy || (policy_seen && self.rule(&name).is_some()) {
            let deleted = delete(&self.rules, &name).await.map_err(step_error(
                secret,
                in_format,
                format!("delete placement rule {name}"),
            ))?;
            self.report.written.placement_rules.insert(name, None);
            if deleted {
                self.record(secret, format, Action::RuleDeleted);
            }
        }
        Ok(())
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
