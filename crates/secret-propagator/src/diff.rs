//! The decision: which writes converge the hub to a [`Plan`], from the cached state alone (no request).
//!
//! [`diff`] compares the plan with the cached Secrets and live objects and returns the ordered
//! [`Step`]s; when every object already matches it returns none. Per secret, in order:
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
//! templates are never deleted or shrunk on behalf of this one. A secret decided after another whose
//! writes touch objects of the same names is decided on the assumption those writes succeed, and
//! marked [`Step::Redecide`] so the executor decides it again from the server's answers.

use drpolicy_api::names::ocm_names::{Format, ObjectNames};
use drpolicy_api::ocm::{Delivery, SecretDistribution};
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::compare::{matches, policy_matches, rule_clusters, rule_matches};
use crate::plan::{DesiredSecret, Plan, Scope};
use crate::report::Kind;
use crate::state::{LiveObjects, SecretState, Secrets, View, Written, distributes_in};
use crate::step::{FinalizerPatch, Op, Stage, Step, Trigger, Write};

/// The ordered steps that converge the secrets in the plan's scope: distribute what the plan wants in
/// the formats it wants, remove what it does not want (objects, then the Secret finalizer of that
/// format). With distribution disabled (or a secret held, see [`Plan::held`]) nothing is created or
/// grown, but clusters, formats and secrets no holder needs any more are still removed.
///
/// `secrets` and `live` are the cached state (metadata of the operator namespace's Secrets and the
/// live OCM objects of both formats). Each secret is decided against the objects as the steps before
/// it leave them, assuming they succeed.
pub fn diff(plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> Vec<Step> {
    let mut assumed = Written::default();
    // Objects written by the steps so far, or that a secret decided again may write.
    let mut touched = BTreeSet::new();
    let mut steps = Vec::new();
    for secret in candidates(plan, secrets, live) {
        let view = View {
            live,
            written: &assumed,
        };
        let writes = secret_writes(plan, &secret, secrets.get(&secret), view);
        let objects = object_names(&secret);
        if objects.iter().any(|object| touched.contains(object)) {
            touched.extend(objects);
            steps.push(Step::Redecide {
                secret: secret.clone(),
            });
        }
        for write in writes {
            touched.insert((write.op.kind(), write.op.name().to_owned()));
            assume(&mut assumed, &write.op);
            steps.push(Step::Write(write));
        }
    }
    steps
}

/// The writes that converge one secret, against the objects as `view` shows them. Writes of a later
/// stage depend on those of an earlier one only as their data says (see [`Stage`], [`Trigger`],
/// [`FinalizerPatch::release`]).
pub fn secret_writes(
    plan: &Plan,
    secret: &str,
    state: Option<&SecretState>,
    view: View<'_>,
) -> Vec<Write> {
    let mut decide = Decide {
        plan,
        view,
        secret,
        writes: Vec::new(),
    };
    let modes = Format::ALL.map(|format| (format, mode(plan, secret, format)));

    let mut release = Vec::new();
    for (format, mode) in &modes {
        let releases = match mode {
            Mode::Converge(_) => false,
            Mode::Shrink(desired) => decide.shrink(*format, desired, state),
            Mode::Remove => {
                decide.remove(*format, state);
                true
            }
        };
        if releases {
            release.push(*format);
        }
    }

    let converging: Vec<(Format, &DesiredSecret)> = modes
        .iter()
        .filter_map(|(format, mode)| match mode {
            Mode::Converge(desired) => Some((*format, *desired)),
            _ => None,
        })
        .collect();
    let cached_trigger = converging
        .first()
        .map(|(_, desired)| desired.resource_version.clone())
        .unwrap_or_default();
    let mut patched = false;
    if let Some(state) = state {
        let patch = FinalizerPatch {
            resource_version: state.resource_version.clone(),
            finalizers: state.finalizers.clone(),
            add: converging
                .iter()
                .map(|(format, _)| *format)
                .filter(|f| !state.finalized(*f))
                .collect(),
            release: release
                .into_iter()
                .filter(|f| state.finalized(*f))
                .collect(),
        };
        if !(patch.add.is_empty() && patch.release.is_empty()) {
            patched = true;
            decide.push(None, Stage::Finalizers, Op::PatchFinalizers(patch));
        }
    }
    for (format, desired) in converging {
        decide.converge(format, desired, &cached_trigger, patched);
    }
    decide.writes
}

/// The secrets a run looks at: the scope, or with [`Scope::All`] everything desired or held, every
/// live distribution of ours (either format), and every Secret holding one of our finalizers (objects
/// Ramen created before it labelled them). Objects that only share the naming scheme are left alone.
pub fn candidates(plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> BTreeSet<String> {
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

/// Every object a secret's writes may touch, in both formats.
fn object_names(secret: &str) -> Vec<(Kind, String)> {
    Format::ALL
        .iter()
        .flat_map(|format| {
            let names = format.names(secret);
            [
                (Kind::PlacementBinding, names.placement_binding),
                (Kind::Policy, names.policy),
                (Kind::PlacementRule, names.placement_rule),
            ]
        })
        .collect()
}

/// Records what `op` leaves behind if it succeeds: the object as sent, or gone.
fn assume(assumed: &mut Written, op: &Op) {
    match op {
        Op::ApplyBinding(binding) => {
            let name = op.name().to_owned();
            assumed
                .placement_bindings
                .insert(name, Some(binding.clone()));
        }
        Op::ApplyPolicy { policy, .. } => {
            let name = op.name().to_owned();
            assumed.policies.insert(name, Some(policy.clone()));
        }
        Op::ApplyRule(rule) => {
            let name = op.name().to_owned();
            assumed.placement_rules.insert(name, Some(rule.clone()));
        }
        Op::Delete { kind, name } => match kind {
            Kind::Policy => {
                assumed.policies.insert(name.clone(), None);
            }
            Kind::PlacementRule => {
                assumed.placement_rules.insert(name.clone(), None);
            }
            Kind::PlacementBinding => {
                assumed.placement_bindings.insert(name.clone(), None);
            }
            Kind::Secret => {}
        },
        // Later secrets never read this Secret.
        Op::PatchFinalizers(_) => {}
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

/// The decisions for one secret. Within a secret no decision reads an object an earlier write of the
/// same secret changed (each format has its own names, and each stage reads before it writes), so
/// `view` stays as it was given.
struct Decide<'a> {
    plan: &'a Plan,
    view: View<'a>,
    secret: &'a str,
    writes: Vec<Write>,
}

impl Decide<'_> {
    fn push(&mut self, format: Option<Format>, stage: Stage, op: Op) {
        self.writes.push(Write {
            secret: self.secret.to_owned(),
            format,
            stage,
            op,
        });
    }

    /// Whether the objects named for the secret in `format` are its own: their live Policy, if there
    /// is one, carries that distribution's templates.
    fn owns(&self, format: Format, names: &ObjectNames) -> bool {
        self.view
            .policy(&names.policy)
            .is_none_or(|policy| distributes_in(policy, &self.plan.namespace, self.secret, format))
    }

    /// PlacementBinding → Policy → PlacementRule, each only if the live one differs. The Policy's
    /// trigger is `cached_trigger`, or with the Secret `patched` earlier in the run, what that patch
    /// returns.
    fn converge(
        &mut self,
        format: Format,
        desired: &DesiredSecret,
        cached_trigger: &str,
        patched: bool,
    ) {
        let dist = distribution(self.plan, self.secret, format);
        let names = dist.names();
        let view = self.view;

        let binding = dist.placement_binding();
        if !matches(view.binding(&names.placement_binding), &binding) {
            self.push(
                Some(format),
                Stage::Converge,
                Op::ApplyBinding(Arc::new(binding)),
            );
        }

        let policy = dist.policy(cached_trigger);
        let live = view.policy(&names.policy);
        let trigger = if patched {
            // The live Policy matches a desired one only if its trigger is the one desired.
            let converged_at = live
                .and_then(|live| live.trigger().map(|t| (live, t)))
                .filter(|(live, t)| policy_matches(Some(live), &dist.policy(t)))
                .map(|(_, t)| t.to_owned());
            Some(Trigger::AfterFinalizerPatch { converged_at })
        } else {
            (!policy_matches(live, &policy)).then_some(Trigger::Cached)
        };
        if let Some(trigger) = trigger {
            self.push(
                Some(format),
                Stage::Converge,
                Op::ApplyPolicy {
                    policy: Arc::new(policy),
                    trigger,
                },
            );
        }

        let rule = dist.placement_rule(desired.clusters.iter().cloned());
        if !rule_matches(view.rule(&names.placement_rule), &rule) {
            self.push(Some(format), Stage::Converge, Op::ApplyRule(Arc::new(rule)));
        }
    }

    /// Create and grow nothing: keep what exists, minus clusters no holder needs any more. Returns
    /// whether the format goes (its finalizer can go once its writes succeed).
    fn shrink(
        &mut self,
        format: Format,
        desired: &DesiredSecret,
        state: Option<&SecretState>,
    ) -> bool {
        let names = format.names(self.secret);
        if !self.owns(format, &names) {
            return false;
        }
        let Some(live) = self.view.rule(&names.placement_rule) else {
            // A distribution without its PlacementRule places nothing (Ramen HEAD cleans it up, D13).
            // Only what the cache shows counts: objects older Ramen did not label stay as they are.
            let leftovers = self.view.policy(&names.policy).is_some()
                || self.view.binding(&names.placement_binding).is_some();
            if leftovers {
                self.remove(format, state);
            }
            return leftovers;
        };
        let current = rule_clusters(live);
        let keep: BTreeSet<String> = current.intersection(&desired.clusters).cloned().collect();
        if keep == current {
            return false;
        }
        if keep.is_empty() {
            self.remove(format, state);
            return true;
        }
        let rule = distribution(self.plan, self.secret, format).placement_rule(keep);
        if !rule_matches(Some(live), &rule) {
            self.push(Some(format), Stage::Release, Op::ApplyRule(Arc::new(rule)));
        }
        false
    }

    /// Deletes the format's objects (not its finalizer: the Secret patch drops it after every format).
    ///
    /// Whose objects they are is decided by their Policy: with the Policy in the cache, its templates;
    /// without it, the Secret's finalizer of the format (taken before any object is created, dropped
    /// after all are gone). A PlacementBinding or PlacementRule with neither may be another
    /// distribution's being created under the same names, and is left alone.
    fn remove(&mut self, format: Format, state: Option<&SecretState>) {
        let names = format.names(self.secret);
        if !self.owns(format, &names) {
            tracing::debug!(
                secret = %self.secret,
                format = %format,
                policy = %names.policy,
                "objects of that name belong to another distribution; left alone"
            );
            return;
        }
        // A Secret still carrying the format's finalizer may have objects the cache cannot show (Ramen
        // before HEAD did not label them): delete by name then; a 404 costs one request, once.
        let legacy = state.is_some_and(|s| s.finalized(format));
        let view = self.view;
        let policy_seen = view.policy(&names.policy).is_some();
        let mut delete = |kind: Kind, name: String| {
            self.push(Some(format), Stage::Release, Op::Delete { kind, name });
        };

        if legacy || (policy_seen && view.binding(&names.placement_binding).is_some()) {
            delete(Kind::PlacementBinding, names.placement_binding);
        }
        if legacy || policy_seen {
            delete(Kind::Policy, names.policy);
        }
        if legacy || (policy_seen && view.rule(&names.placement_rule).is_some()) {
            delete(Kind::PlacementRule, names.placement_rule);
        }
    }
}
