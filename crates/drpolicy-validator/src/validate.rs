//! Is this DRPolicy acceptable? Ramen's checks, reasons and messages (reference §3.3, §3.6), plus the
//! duplicate-cluster check Ramen lacks (B16) and a deterministic conflict rule (B17).

use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::{
    REASON_DRCLUSTER_NOT_FOUND, REASON_DRCLUSTERS_UNAVAILABLE, REASON_VALIDATION_FAILED,
};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use thiserror::Error;

use crate::DRClusterLookup;
use crate::metro::metro_conflict;

/// Why a policy is not acceptable. [`Invalid::reason`] is the `Validated=False` condition reason and the
/// `Display` text its message, both exactly as Ramen writes them where Ramen has the case.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Invalid {
    /// `spec.drClusters` is empty.
    #[error("missing DRClusters list in policy")]
    NoClusters,
    /// A cluster is listed twice (Ramen accepts this; we do not).
    #[error("duplicate DRCluster {duplicate:?} in policy ({})", go_list(clusters))]
    DuplicateCluster {
        /// The first name listed more than once.
        duplicate: String,
        /// The policy's cluster list.
        clusters: Vec<String>,
    },
    /// Some listed cluster has no DRCluster object.
    #[error(
        "failed to find DRClusters specified in policy ({})",
        go_list(clusters)
    )]
    DRClusterNotFound {
        /// The policy's cluster list (Ramen's message shows all of it).
        clusters: Vec<String>,
        /// The names without a DRCluster.
        missing: Vec<String>,
    },
    /// None of the listed DRClusters is validated.
    #[error("none of the DRClusters are validated ({})", go_list(clusters))]
    DRClustersUnavailable {
        /// The policy's cluster list.
        clusters: Vec<String>,
    },
    /// The policy shares a metro-region cluster with an older policy.
    #[error(
        "validate managed cluster in drpolicy failed: drpolicy: {policy} has overlapping metro region with another drpolicy {other}"
    )]
    Conflict {
        /// This policy.
        policy: String,
        /// The older policy it conflicts with.
        other: String,
    },
}

/// Go's `%v` of a `[]string`: `[a b]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

impl Invalid {
    /// The condition reason (Ramen's constant).
    pub fn reason(&self) -> &'static str {
        match self {
            Invalid::DRClusterNotFound { .. } => REASON_DRCLUSTER_NOT_FOUND,
            Invalid::DRClustersUnavailable { .. } => REASON_DRCLUSTERS_UNAVAILABLE,
            Invalid::NoClusters | Invalid::DuplicateCluster { .. } | Invalid::Conflict { .. } => {
                REASON_VALIDATION_FAILED
            }
        }
    }

    /// Whether only a DRCluster appearing can fix this (Ramen does not requeue these; a DRCluster watch
    /// retriggers the policy). Other failures are retried with backoff.
    pub fn waits_for_drclusters(&self) -> bool {
        matches!(self, Invalid::DRClusterNotFound { .. })
    }
}

/// Orders policies by age: older first (creationTimestamp, then name). A policy without a
/// creationTimestamp (never stored) counts as the newest.
pub fn age_order(a: &DRPolicy, b: &DRPolicy) -> Ordering {
    let key = |p: &DRPolicy| {
        (
            p.metadata.creation_timestamp.is_none(),
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
        )
    };
    key(a)
        .cmp(&key(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Validates `policy` against the DRClusters and the other policies.
///
/// `others` may contain any policies (the policy itself is skipped by name); passing only those that
/// share a cluster with `policy` is enough. Checks, in Ramen's order: clusters listed, no duplicates,
/// every DRCluster exists, at least one is validated, no metro conflict with an **older** policy — so
/// of two conflicting policies exactly the newer one is invalid, whichever is reconciled first.
///
/// ```
/// use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
/// use drpolicy_validator::{Invalid, validate};
///
/// let policy = DRPolicy::new("p", DRPolicySpec {
///     dr_clusters: vec!["east".into(), "west".into()],
///     ..Default::default()
/// });
/// let clusters = vec![DRCluster::new("east", DRClusterSpec::default())];
/// let err = validate(&policy, &clusters, []).unwrap_err();
/// assert_eq!(err.reason(), "DRClusterNotFound");
/// assert_eq!(err.to_string(), "failed to find DRClusters specified in policy ([east west])");
/// ```
pub fn validate<'a>(
    policy: &DRPolicy,
    drclusters: &(impl DRClusterLookup + ?Sized),
    others: impl IntoIterator<Item = &'a DRPolicy>,
) -> Result<(), Invalid> {
    let clusters = &policy.spec.dr_clusters;
    if clusters.is_empty() {
        return Err(Invalid::NoClusters);
    }
    let mut seen = BTreeSet::new();
    if let Some(duplicate) = clusters.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(Invalid::DuplicateCluster {
            duplicate: duplicate.clone(),
            clusters: clusters.clone(),
        });
    }
    let missing: Vec<String> = clusters
        .iter()
        .filter(|c| drclusters.drcluster(c).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Invalid::DRClusterNotFound {
            clusters: clusters.clone(),
            missing,
        });
    }
    let validated = clusters
        .iter()
        .filter_map(|c| drclusters.drcluster(c))
        .any(|c| c.is_validated());
    if !validated {
        return Err(Invalid::DRClustersUnavailable {
            clusters: clusters.clone(),
        });
    }
    let name = policy.metadata.name.as_deref().unwrap_or_default();
    let conflict = others
        .into_iter()
        .filter(|other| other.metadata.name.as_deref() != Some(name))
        .filter(|other| age_order(other, policy) == Ordering::Less)
        .filter(|other| metro_conflict(policy, other, drclusters))
        .min_by(|a, b| age_order(a, b));
    if let Some(other) = conflict {
        return Err(Invalid::Conflict {
            policy: name.to_owned(),
            other: other.metadata.name.clone().unwrap_or_default(),
        });
    }
    Ok(())
}
