//! The steps that converge the hub, as data: what [`diff`](crate::diff()) decides and the
//! [`Executor`](crate::Executor) sends. A step that depends on the result of an earlier one says so in
//! its data ([`Stage`], [`Trigger`], [`FinalizerPatch::release`], [`Step::Redecide`]); resolving those
//! dependencies ([`Trigger::resolve`], [`FinalizerPatch::resolve`]) is pure too, so only sending is left
//! to the executor.

use drpolicy_api::names::POLICY_TRIGGER_ANNOTATION;
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use std::sync::Arc;

use crate::report::{Kind, Operation};

/// One step of a run, in the order the executor takes them.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// One request to the API server.
    Write(Write),
    /// The writes of `secret` that follow were decided assuming earlier steps (of another secret, on
    /// objects of the same names: the velero-format objects of `S` are named like the ramen-format
    /// objects of `vS`) went as planned. The executor drops them and decides again from what the
    /// server answered so far.
    Redecide {
        /// The hub Secret whose writes are decided again.
        secret: String,
    },
}

impl Step {
    /// The hub Secret the step belongs to.
    pub fn secret(&self) -> &str {
        match self {
            Step::Write(write) => &write.secret,
            Step::Redecide { secret } => secret,
        }
    }

    /// The write, if the step is one.
    pub fn write(&self) -> Option<&Write> {
        match self {
            Step::Write(write) => Some(write),
            Step::Redecide { .. } => None,
        }
    }
}

/// One request: an object of a secret's distribution, or the Secret's finalizers.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The hub Secret the write belongs to.
    pub secret: String,
    /// The format of the object written; `None` for the Secret's finalizer patch, which serves both.
    pub format: Option<Format>,
    /// Which part of the secret's convergence the write belongs to; a failure skips the rest of it.
    pub stage: Stage,
    /// What is sent.
    pub op: Op,
}

/// The parts of one secret's convergence, in order. A failed write skips the later writes of the same
/// secret, format and stage; a failed finalizer patch skips every [`Stage::Converge`] write of its
/// secret, which must follow it. The other formats and secrets go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Removing a format no longer wanted (PlacementBinding → Policy → PlacementRule), or with
    /// distribution disabled shrinking its PlacementRule.
    Release,
    /// The one Secret patch adding and dropping finalizers.
    Finalizers,
    /// Creating or repairing a format wanted (PlacementBinding → Policy → PlacementRule).
    Converge,
}

/// What a [`Write`] sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Server-side apply of the whole PlacementBinding (creates or updates it).
    ApplyBinding(Arc<PlacementBinding>),
    /// Server-side apply of the whole Policy, with its trigger resolved first.
    ApplyPolicy {
        /// The Policy, its trigger annotation set to the Secret's resourceVersion as cached.
        policy: Arc<Policy>,
        /// Where the trigger annotation's value comes from.
        trigger: Trigger,
    },
    /// Server-side apply of the whole PlacementRule.
    ApplyRule(Arc<PlacementRule>),
    /// Delete by name; already gone is fine.
    Delete {
        /// Policy, PlacementRule or PlacementBinding.
        kind: Kind,
        /// The object's name.
        name: String,
    },
    /// Merge patch of the Secret's finalizers.
    PatchFinalizers(FinalizerPatch),
}

impl Op {
    /// The kind of object written.
    pub fn kind(&self) -> Kind {
        match self {
            Op::ApplyBinding(_) => Kind::PlacementBinding,
            Op::ApplyPolicy { .. } => Kind::Policy,
            Op::ApplyRule(_) => Kind::PlacementRule,
            Op::Delete { kind, .. } => *kind,
            Op::PatchFinalizers(_) => Kind::Secret,
        }
    }

    /// The name of the object written (empty for the Secret patch: the [`Write`] names the Secret).
    pub fn name(&self) -> &str {
        match self {
            Op::ApplyBinding(binding) => binding.metadata.name.as_deref().unwrap_or_default(),
            Op::ApplyPolicy { policy, .. } => policy.metadata.name.as_deref().unwrap_or_default(),
            Op::ApplyRule(rule) => rule.metadata.name.as_deref().unwrap_or_default(),
            Op::Delete { name, .. } => name,
            Op::PatchFinalizers(_) => "",
        }
    }
}

/// Where a Policy's trigger annotation (`policy.open-cluster-management.io/trigger-update`, which makes
/// OCM re-evaluate the hub templates) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The Secret's resourceVersion as cached, already in the Policy: sent as built.
    Cached,
    /// The resourceVersion the Secret's finalizer patch (the [`Stage::Finalizers`] write of the same
    /// secret, earlier in the run) returns, which the cached one is stale against. When that patch
    /// sends nothing (every format it was to release failed to go) or its answer has no
    /// resourceVersion, the cached one stays.
    AfterFinalizerPatch {
        /// The trigger value under which the live Policy already says everything we want, if any:
        /// resolving to it means there is nothing to write.
        converged_at: Option<String>,
    },
}

impl Trigger {
    /// The Policy to send, given the resourceVersion the Secret's finalizer patch returned (`None`
    /// when it sent nothing or got none back); `None` when nothing needs sending.
    pub fn resolve(&self, policy: &Policy, patched: Option<&str>) -> Option<Policy> {
        let Trigger::AfterFinalizerPatch { converged_at } = self else {
            return Some(policy.clone());
        };
        let value = patched.or(policy.trigger());
        if value.is_some() && value == converged_at.as_deref() {
            return None;
        }
        let mut policy = policy.clone();
        if let Some(version) = patched {
            policy
                .metadata
                .annotations
                .get_or_insert_default()
                .insert(POLICY_TRIGGER_ANNOTATION.to_owned(), version.to_owned());
        }
        Some(policy)
    }
}

/// The one merge patch of a Secret's finalizers: adds the finalizers of the formats to distribute and
/// drops those of the formats gone, carrying the cached resourceVersion so a stale cache yields a
/// conflict (and a retry), never a lost finalizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizerPatch {
    /// The Secret's resourceVersion as cached, sent as the patch's precondition.
    pub resource_version: String,
    /// The Secret's finalizers as cached, in order.
    pub finalizers: Vec<String>,
    /// Formats whose finalizer the Secret lacks and gets.
    pub add: Vec<Format>,
    /// Formats whose finalizer the Secret carries and loses — each only if its [`Stage::Release`]
    /// writes all succeeded, so a format's finalizer goes only after its objects.
    pub release: Vec<Format>,
}

/// A [`FinalizerPatch`] once the [`Stage::Release`] outcomes are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPatch {
    /// Formats whose finalizer goes.
    pub removed: Vec<Format>,
    /// Formats whose finalizer is added.
    pub added: Vec<Format>,
    /// The Secret's finalizers after the patch, in order: the cached ones minus the removed, then the
    /// added.
    pub finalizers: Vec<String>,
    /// Add, remove or both.
    pub operation: Operation,
}

impl FinalizerPatch {
    /// The patch to send given which formats' removal succeeded (`released`); `None` when there is
    /// nothing left to change.
    pub fn resolve(&self, released: impl Fn(Format) -> bool) -> Option<ResolvedPatch> {
        let added = self.add.clone();
        let removed: Vec<Format> = self
            .release
            .iter()
            .copied()
            .filter(|f| released(*f))
            .collect();
        let operation = match (added.is_empty(), removed.is_empty()) {
            (true, true) => return None,
            (false, true) => Operation::AddFinalizer,
            (true, false) => Operation::RemoveFinalizer,
            (false, false) => Operation::UpdateFinalizers,
        };
        let finalizers = self
            .finalizers
            .iter()
            .filter(|f| !removed.iter().any(|r| r.finalizer() == f.as_str()))
            .cloned()
            .chain(added.iter().map(|f| f.finalizer().to_owned()))
            .collect();
        Some(ResolvedPatch {
            removed,
            added,
            finalizers,
            operation,
        })
    }
}
