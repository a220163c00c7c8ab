//! What a run of the executor tells its caller: the writes it made ([`Applied`]), the steps that failed
//! ([`StepError`], naming the object and carrying the server's answer) and the objects as the server
//! answered ([`Written`](crate::Written)), together an [`ApplyReport`].

use drpolicy_api::names::ocm_names::Format;
use std::fmt;
use thiserror::Error;

use crate::state::Written;

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

/// The kind of object a step writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An OCM `Policy`.
    Policy,
    /// An OCM `PlacementRule`.
    PlacementRule,
    /// An OCM `PlacementBinding`.
    PlacementBinding,
    /// A hub `Secret` (only its finalizers are ever written).
    Secret,
}

impl Kind {
    /// The kind in Ramen HEAD's wording of failed steps: `placement binding`, `policy`, …
    pub fn words(self) -> &'static str {
        match self {
            Kind::Policy => "policy",
            Kind::PlacementRule => "placement rule",
            Kind::PlacementBinding => "placement binding",
            Kind::Secret => "secret",
        }
    }
}

/// What a failed step tried to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply of the whole desired object (create or update).
    Apply,
    /// Delete by name.
    Delete,
    /// Secret patch adding finalizers only.
    AddFinalizer,
    /// Secret patch removing finalizers only.
    RemoveFinalizer,
    /// Secret patch adding some finalizers and removing others.
    UpdateFinalizers,
}

/// A failed step; the other secrets of the plan are still converged.
#[derive(Debug, Error)]
#[error("secret {secret}{}: unable to {step}: {source}", InFormat(*.format))]
pub struct StepError {
    /// The hub Secret concerned.
    pub secret: String,
    /// The format whose object failed; `None` for the Secret's finalizer patch, which serves both.
    pub format: Option<Format>,
    /// What the step tried to do.
    pub operation: Operation,
    /// The kind of the object written.
    pub kind: Kind,
    /// The name of the object written (the Secret's for a finalizer patch).
    pub name: String,
    /// What failed in words, e.g. `apply placement binding plbinding-s` (from `operation`, `kind` and
    /// `name`, as Ramen HEAD words it).
    pub step: String,
    /// The API server's answer (or the transport error).
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
    /// The error of step `operation` on object `kind`/`name` of `secret` (in `format`), answered by
    /// `source`.
    pub fn new(
        secret: &str,
        format: Option<Format>,
        operation: Operation,
        kind: Kind,
        name: &str,
        source: kube::Error,
    ) -> Self {
        let step = match operation {
            Operation::Apply => format!("apply {} {name}", kind.words()),
            Operation::Delete => format!("delete {} {name}", kind.words()),
            Operation::AddFinalizer => format!("add finalizer to {}", kind.words()),
            Operation::RemoveFinalizer => format!("remove finalizer from {}", kind.words()),
            Operation::UpdateFinalizers => format!("update finalizers of {}", kind.words()),
        };
        StepError {
            secret: secret.to_owned(),
            format,
            operation,
            kind,
            name: name.to_owned(),
            step,
            source,
        }
    }

    /// The failed step with its format, without the secret: `in format 'velero': unable to …`.
    pub fn what(&self) -> String {
        let step = &self.step;
        match self.format {
            Some(format) => format!("in format '{format}': unable to {step}"),
            None => format!("unable to {step}"),
        }
    }

    /// The HTTP status code the API server answered, if it answered (`409` for a stale cached
    /// resourceVersion: retry with a fresher cache).
    pub fn code(&self) -> Option<u16> {
        match &self.source {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        }
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Writes made, in order.
    pub applied: Vec<Applied>,
    /// Failed steps (each stops the remaining steps of its secret and format, see
    /// [`Stage`](crate::Stage)).
    pub errors: Vec<StepError>,
    /// The objects as the server answered the writes.
    pub written: Written,
}

impl ApplyReport {
    /// Whether every step succeeded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}
