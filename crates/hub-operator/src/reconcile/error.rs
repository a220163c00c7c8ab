//! Why a reconcile did not complete, with the facts a caller can act on.

use drpolicy_validator::{ClusterDetailsError, Conflict, Invalid};
use thiserror::Error;

use crate::bounded;
use crate::distribution::{WriteFailure, describe_failures};
use crate::hub::ConfigProblem;
use crate::kube_util::{describe, is_conflict};

/// Why a reconcile did not complete; every variant is retried with backoff.
#[derive(Debug, Error)]
pub(crate) enum ReconcileError {
    /// The operator ConfigMap is missing or unparseable (a deleting policy waits for a readable one to
    /// clean up).
    #[error("config map get: {0}")]
    Config(ConfigProblem),
    /// The policy is invalid (other than a missing DRCluster, which waits for DRCluster events).
    #[error("validate: {0}")]
    Invalid(Invalid),
    /// Ramen HEAD's ManagedCluster gate failed (`drClusterDetailsFailed`).
    #[error("drclusters details: {0}")]
    ClusterDetails(ClusterDetailsError),
    /// The policy conflicts with another (`DRPolicyConflictFound`).
    #[error("{0}")]
    Conflict(Conflict),
    /// Adding the label or finalizer failed.
    #[error("finalizer add update: {}", describe(.0))]
    FinalizerAdd(#[source] kube::Error),
    /// Removing the finalizer failed.
    #[error("finalizer remove update: {}", describe(.0))]
    FinalizerRemove(#[source] kube::Error),
    /// Writing the status failed.
    #[error("unable to set drpolicy status: {}", describe(.0))]
    Status(#[source] kube::Error),
    /// The DRPlacementControls could not be listed to confirm a deletion.
    #[error("unable to list drplacementcontrols: {}", describe(.0))]
    DrpcList(#[source] kube::Error),
    /// The Ramen ops namespace could not be read or created.
    #[error("failed to create RamenOpsNamespace: {}", describe(.0))]
    OpsNamespace(#[source] kube::Error),
    /// A peer cluster lacks network attachments the other has (`NADsMissing`).
    #[error("{0}")]
    NadsMissing(String),
    /// A ManagedClusterView could not be created, updated or deleted.
    #[error("drpolicy peerClass update: {0}")]
    Views(String),
    /// Some OCM object or Secret finalizer could not be written while releasing the distributions of
    /// a deleted policy: per secret, the writes that failed.
    #[error("drpolicy deploy: {}", describe_secret_failures(.0))]
    Distribution(Vec<(String, Vec<WriteFailure>)>),
}

impl ReconcileError {
    /// Whether the failure only means the cache was behind a write (409 Conflict): the next attempt,
    /// once the watch caught up, will succeed, so it is retried soon and quietly.
    pub(crate) fn is_stale_cache(&self) -> bool {
        match self {
            ReconcileError::FinalizerAdd(e)
            | ReconcileError::FinalizerRemove(e)
            | ReconcileError::Status(e) => is_conflict(e),
            ReconcileError::DrpcList(_) | ReconcileError::OpsNamespace(_) => false,
            ReconcileError::Distribution(failures) => failures
                .iter()
                .all(|(_, f)| f.iter().all(|f| f.code == Some(409))),
            ReconcileError::Config(_)
            | ReconcileError::Invalid(_)
            | ReconcileError::ClusterDetails(_)
            | ReconcileError::Conflict(_)
            | ReconcileError::NadsMissing(_)
            | ReconcileError::Views(_) => false,
        }
    }
}

/// Per secret, its failed writes, as one bounded line.
pub(crate) fn describe_secret_failures(failures: &[(String, Vec<WriteFailure>)]) -> String {
    let lines: Vec<String> = failures
        .iter()
        .map(|(secret, f)| format!("secret {secret}: {}", describe_failures(f)))
        .collect();
    bounded::list(&lines, "; ")
}
