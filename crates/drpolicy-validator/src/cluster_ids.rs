//! Ramen HEAD's ManagedCluster gate (reference §3, D2): a DRCluster takes part only once its OCM
//! ManagedCluster has joined the hub and claims a cluster ID (`id.k8s.io`); the IDs map back to DRCluster
//! names, because peer classes name clusters by ID and the conflict check needs names.
//!
//! Three questions, three functions:
//! * [`managed_cluster_id`] — HEAD's per-cluster "instance" check (used by HEAD for every cluster of a
//!   policy before computing peer classes, H7): the ID, or HEAD's error text.
//! * [`cluster_details`] — the gate a policy passes before validation (HEAD's H2), with
//!   [`ClusterDetailsError`] carrying HEAD's messages and reason `drClusterDetailsFailed`.
//! * [`cluster_ids`] — the ID → DRCluster name map over any set of DRClusters (for the conflict check:
//!   the other policies' clusters need names too); [`head_cluster_details`] is HEAD's exact H2, map and
//!   errors, over every DRCluster on the hub.
//!
//! # Where this differs from Ramen HEAD (BH5)
//!
//! HEAD checks **every DRCluster on the hub** on every reconcile of every policy: one joined cluster
//! without an ID claim anywhere makes every DRPolicy `Validated=False`, and a hub where no ManagedCluster
//! has joined reports `no DRClusters found` for every policy — even while it is being deleted, which keeps
//! the finalizer until a cluster joins again. [`cluster_details`] keeps HEAD's messages and reason but
//! judges only the policy's own clusters:
//! * a claim-less cluster fails only the policies that list it (`drclusters cluster ID (<c>): ...`);
//! * `no DRClusters found` only when none of the policy's DRClusters has a joined ManagedCluster with a
//!   claim, followed by each cluster's reason (`no DRClusters found: cluster (east) has not joined the
//!   hub; ...`), so the message says what to fix;
//! * a policy none of whose clusters has a DRCluster passes the gate, so that validation reports HEAD's
//!   and ccc4a73c's `DRClusterNotFound` (which waits for a DRCluster instead of retrying) rather than
//!   HEAD's `no DRClusters found` on a hub without DRClusters.
//!
//! The gate is not part of deletion: nothing a deletion does needs a cluster ID, so the caller should
//! not call [`cluster_details`] for a policy being deleted (HEAD does, and blocks the deletion).
//! A policy whose clusters all pass sees exactly what HEAD shows.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::REASON_DRCLUSTER_DETAILS_FAILED;
use std::collections::BTreeMap;
use thiserror::Error;

use crate::{DRClusterLookup, ManagedClusterLookup};

/// Cluster ID (ManagedCluster claim `id.k8s.io`) → DRCluster name. When two clusters claim one ID, the
/// later one (in the order the clusters were given) wins, as in HEAD.
pub type ClusterIds = BTreeMap<String, String>;

/// Why a cluster has no usable ID: HEAD's instance check (`util/managedcluster.go`), with its texts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InstanceError {
    /// There is no ManagedCluster of that name (the text of HEAD's cache `Get` failing with NotFound).
    #[error(
        "failed to get ManagedCluster resource for cluster ({cluster}): managedclusters.cluster.open-cluster-management.io \"{cluster}\" not found"
    )]
    NotFound {
        /// Cluster name.
        cluster: String,
    },
    /// The first `ManagedClusterJoined` condition is absent or not `True`.
    #[error("cluster ({cluster}) has not joined the hub")]
    NotJoined {
        /// Cluster name.
        cluster: String,
    },
    /// Joined, but no (or an empty) `id.k8s.io` claim.
    #[error("cluster ({cluster}) is missing cluster ID claim")]
    MissingClaim {
        /// Cluster name.
        cluster: String,
    },
}

impl InstanceError {
    /// The cluster the error is about.
    pub fn cluster(&self) -> &str {
        match self {
            InstanceError::NotFound { cluster }
            | InstanceError::NotJoined { cluster }
            | InstanceError::MissingClaim { cluster } => cluster,
        }
    }
}

/// Why a policy fails the ManagedCluster gate. [`ClusterDetailsError::reason`] is the `Validated=False`
/// reason and the `Display` text its message; HEAD's reconcile returns `drclusters details: <message>`
/// and retries with backoff.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClusterDetailsError {
    /// A cluster has joined the hub but claims no cluster ID.
    #[error("drclusters cluster ID ({cluster}): cluster ({cluster}) is missing cluster ID claim")]
    MissingClaim {
        /// The cluster without a claim.
        cluster: String,
    },
    /// No cluster has a joined ManagedCluster with a cluster ID claim. The message is HEAD's
    /// `no DRClusters found`, followed (when known) by why each cluster did not count.
    #[error("no DRClusters found{}", reasons(skipped))]
    NoDRClusters {
        /// Why each cluster was skipped, in the order the clusters were checked (empty in
        /// [`head_cluster_details`], whose message is HEAD's bare text).
        skipped: Vec<InstanceError>,
    },
}

fn reasons(skipped: &[InstanceError]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let reasons: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    format!(": {}", reasons.join("; "))
}

impl ClusterDetailsError {
    /// The condition reason: `drClusterDetailsFailed` (Ramen HEAD's constant, lower-case `d`).
    pub fn reason(&self) -> &'static str {
        REASON_DRCLUSTER_DETAILS_FAILED
    }
}

/// HEAD's instance check for one cluster: its ManagedCluster exists, its first `ManagedClusterJoined`
/// condition is `True`, and it claims a non-empty `id.k8s.io`. Returns the ID, or HEAD's error text.
///
/// HEAD runs this for each cluster of a policy before reading its classes (H7) and reports a failure as
/// `drpolicy peerClass update: <error>` without touching conditions.
///
/// ```
/// use drpolicy_api::ManagedCluster;
/// use drpolicy_validator::managed_cluster_id;
///
/// let east: ManagedCluster = serde_json::from_value(serde_json::json!({
///     "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
///     "metadata": {"name": "east"}, "spec": {},
///     "status": {
///         "conditions": [{"type": "ManagedClusterJoined", "status": "True", "reason": "Joined",
///                         "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
///         "clusterClaims": [{"name": "id.k8s.io", "value": "id-east"}],
///     },
/// })).unwrap();
/// let managed = vec![east];
/// assert_eq!(managed_cluster_id("east", &managed), Ok("id-east"));
/// assert_eq!(
///     managed_cluster_id("west", &managed).unwrap_err().to_string(),
///     "failed to get ManagedCluster resource for cluster (west): \
///      managedclusters.cluster.open-cluster-management.io \"west\" not found"
/// );
/// ```
pub fn managed_cluster_id<'m, M>(cluster: &str, managed: &'m M) -> Result<&'m str, InstanceError>
where
    M: ManagedClusterLookup + ?Sized,
{
    let cluster_name = || cluster.to_owned();
    let mc = managed
        .managed_cluster(cluster)
        .ok_or_else(|| InstanceError::NotFound {
            cluster: cluster_name(),
        })?;
    if !mc.is_joined() {
        return Err(InstanceError::NotJoined {
            cluster: cluster_name(),
        });
    }
    mc.cluster_id().ok_or_else(|| InstanceError::MissingClaim {
        cluster: cluster_name(),
    })
}

/// The ManagedCluster gate for `policy` (HEAD's H2, judged on the policy's clusters only — see the
/// module documentation for how and why this differs from HEAD). Returns the IDs of the policy's
/// clusters that passed.
///
/// Checks the policy's clusters that have a DRCluster, in `spec.drClusters` order: a cluster whose
/// ManagedCluster is missing or not joined is skipped; one that joined without a claim fails the gate.
/// At least one must pass, unless none of the policy's clusters has a DRCluster (validation reports
/// that). Do not call it for a policy being deleted.
///
/// ```
/// use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec, ManagedCluster};
/// use drpolicy_validator::cluster_details;
///
/// let policy = DRPolicy::new("p", DRPolicySpec {
///     dr_clusters: vec!["east".into(), "west".into()],
///     ..Default::default()
/// });
/// let drclusters = vec![
///     DRCluster::new("east", DRClusterSpec::default()),
///     DRCluster::new("west", DRClusterSpec::default()),
/// ];
/// // Neither cluster has a ManagedCluster yet.
/// let managed: Vec<ManagedCluster> = vec![];
/// let err = cluster_details(&policy, &drclusters, &managed).unwrap_err();
/// assert_eq!(err.reason(), "drClusterDetailsFailed");
/// assert!(err.to_string().starts_with(
///     "no DRClusters found: failed to get ManagedCluster resource for cluster (east): "
/// ));
/// ```
pub fn cluster_details<D, M>(
    policy: &DRPolicy,
    drclusters: &D,
    managed: &M,
) -> Result<ClusterIds, ClusterDetailsError>
where
    D: DRClusterLookup + ?Sized,
    M: ManagedClusterLookup + ?Sized,
{
    let mut ids = ClusterIds::new();
    let mut skipped = Vec::new();
    let clusters = policy
        .spec
        .dr_clusters
        .iter()
        .filter(|c| drclusters.drcluster(c).is_some());
    for cluster in clusters {
        match managed_cluster_id(cluster, managed) {
            Ok(id) => {
                ids.insert(id.to_owned(), cluster.clone());
            }
            Err(InstanceError::MissingClaim { cluster }) => {
                return Err(ClusterDetailsError::MissingClaim { cluster });
            }
            Err(other) => skipped.push(other),
        }
    }
    if ids.is_empty() && !skipped.is_empty() {
        return Err(ClusterDetailsError::NoDRClusters { skipped });
    }
    Ok(ids)
}

/// The ID → name map of the given DRClusters (names, in list order): a cluster counts when its
/// ManagedCluster has joined and claims an ID — HEAD's criterion for its `idToName` map, without its
/// errors. Pass every DRCluster's name to get the map HEAD's conflict check uses.
///
/// ```
/// use drpolicy_api::ManagedCluster;
/// use drpolicy_validator::cluster_ids;
///
/// let managed: Vec<ManagedCluster> = vec![];
/// assert!(cluster_ids(["east", "west"], &managed).is_empty());
/// ```
pub fn cluster_ids<'a, M>(drclusters: impl IntoIterator<Item = &'a str>, managed: &M) -> ClusterIds
where
    M: ManagedClusterLookup + ?Sized,
{
    drclusters
        .into_iter()
        .filter_map(|name| {
            let id = managed_cluster_id(name, managed).ok()?;
            Some((id.to_owned(), name.to_owned()))
        })
        .collect()
}

/// HEAD's exact H2 (`getDRClusterDetails`) over every DRCluster on the hub (names, in list order):
/// clusters whose ManagedCluster is missing or not joined are skipped, the first joined one without a
/// claim is an error, and an empty map is `no DRClusters found` (HEAD's bare text). For parity checks;
/// the operator uses [`cluster_details`].
///
/// ```
/// use drpolicy_api::ManagedCluster;
/// use drpolicy_validator::head_cluster_details;
///
/// let managed: Vec<ManagedCluster> = vec![];
/// let err = head_cluster_details(["east"], &managed).unwrap_err();
/// assert_eq!(err.to_string(), "no DRClusters found");
/// ```
pub fn head_cluster_details<'a, M>(
    drclusters: impl IntoIterator<Item = &'a str>,
    managed: &M,
) -> Result<ClusterIds, ClusterDetailsError>
where
    M: ManagedClusterLookup + ?Sized,
{
    let mut ids = ClusterIds::new();
    for name in drclusters {
        match managed_cluster_id(name, managed) {
            Ok(id) => {
                ids.insert(id.to_owned(), name.to_owned());
            }
            Err(InstanceError::MissingClaim { cluster }) => {
                return Err(ClusterDetailsError::MissingClaim { cluster });
            }
            Err(InstanceError::NotFound { .. } | InstanceError::NotJoined { .. }) => {}
        }
    }
    if ids.is_empty() {
        return Err(ClusterDetailsError::NoDRClusters {
            skipped: Vec::new(),
        });
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicySpec, ManagedCluster};
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    /// A ManagedCluster: `joined` is the status of its Joined condition (`None`: no condition), `id` its
    /// claim (`None`: no claim).
    fn mc(name: &str, joined: Option<&str>, id: Option<&str>) -> ManagedCluster {
        let conditions: Vec<Value> = joined
            .map(|status| {
                json!({"type": "ManagedClusterJoined", "status": status, "reason": "r",
                       "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"})
            })
            .into_iter()
            .collect();
        let claims: Vec<Value> = id
            .map(|value| json!({"name": "id.k8s.io", "value": value}))
            .into_iter()
            .collect();
        serde_json::from_value(json!({
            "apiVersion": "cluster.open-cluster-management.io/v1",
            "kind": "ManagedCluster",
            "metadata": {"name": name},
            "spec": {"hubAcceptsClient": true},
            "status": {"conditions": conditions, "clusterClaims": claims},
        }))
        .unwrap()
    }

    fn joined(name: &str, id: &str) -> ManagedCluster {
        mc(name, Some("True"), Some(id))
    }

    fn policy(clusters: &[&str]) -> DRPolicy {
        DRPolicy::new(
            "p",
            DRPolicySpec {
                dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            },
        )
    }

    fn drclusters(names: &[&str]) -> Vec<DRCluster> {
        names
            .iter()
            .map(|n| DRCluster::new(n, DRClusterSpec::default()))
            .collect()
    }

    fn ids(pairs: &[(&str, &str)]) -> ClusterIds {
        pairs
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect()
    }

    #[test]
    fn instance_check_reports_heads_texts() {
        let managed = vec![
            joined("east", "id-east"),
            mc("west", Some("False"), Some("id-west")),
            mc("north", None, Some("id-north")),
            mc("south", Some("True"), None),
            mc("empty", Some("True"), Some("")),
        ];
        assert_eq!(managed_cluster_id("east", &managed), Ok("id-east"));
        let text = |c: &str| managed_cluster_id(c, &managed).unwrap_err().to_string();
        assert_eq!(text("west"), "cluster (west) has not joined the hub");
        assert_eq!(text("north"), "cluster (north) has not joined the hub");
        assert_eq!(text("south"), "cluster (south) is missing cluster ID claim");
        assert_eq!(text("empty"), "cluster (empty) is missing cluster ID claim");
        assert_eq!(
            text("gone"),
            "failed to get ManagedCluster resource for cluster (gone): \
             managedclusters.cluster.open-cluster-management.io \"gone\" not found"
        );
        assert_eq!(
            managed_cluster_id("gone", &managed).unwrap_err().cluster(),
            "gone"
        );
    }

    #[test]
    fn gate_passes_with_the_policys_joined_clusters() {
        let managed = vec![joined("east", "id-east"), joined("west", "id-west")];
        let got = cluster_details(
            &policy(&["east", "west"]),
            &drclusters(&["east", "west"]),
            &managed,
        );
        assert_eq!(got, Ok(ids(&[("id-east", "east"), ("id-west", "west")])));
    }

    #[test]
    fn one_joined_cluster_is_enough_to_pass_the_gate() {
        // Hub-recovery design (HEAD PR #2140): the peer may be gone.
        let managed = vec![joined("east", "id-east"), mc("west", Some("False"), None)];
        let got = cluster_details(
            &policy(&["east", "west"]),
            &drclusters(&["east", "west"]),
            &managed,
        );
        assert_eq!(got, Ok(ids(&[("id-east", "east")])));
    }

    #[test]
    fn a_claimless_joined_cluster_of_the_policy_fails_with_heads_message() {
        let managed = vec![joined("east", "id-east"), mc("west", Some("True"), None)];
        let err = cluster_details(
            &policy(&["east", "west"]),
            &drclusters(&["east", "west"]),
            &managed,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "drClusterDetailsFailed");
        assert_eq!(
            err.to_string(),
            "drclusters cluster ID (west): cluster (west) is missing cluster ID claim"
        );
    }

    #[test]
    fn a_claimless_cluster_of_another_policy_does_not_fail_the_gate() {
        // BH5: HEAD fails every policy here.
        let managed = vec![
            joined("east", "id-east"),
            joined("west", "id-west"),
            mc("other", Some("True"), None),
        ];
        let all = drclusters(&["east", "west", "other"]);
        let got = cluster_details(&policy(&["east", "west"]), &all, &managed);
        assert_eq!(got, Ok(ids(&[("id-east", "east"), ("id-west", "west")])));
        let head = head_cluster_details(["east", "other", "west"], &managed).unwrap_err();
        assert_eq!(
            head.to_string(),
            "drclusters cluster ID (other): cluster (other) is missing cluster ID claim"
        );
    }

    #[test]
    fn no_usable_cluster_says_which_and_why() {
        let managed = vec![mc("east", Some("False"), Some("id-east"))];
        let err = cluster_details(
            &policy(&["east", "west"]),
            &drclusters(&["east", "west"]),
            &managed,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "drClusterDetailsFailed");
        assert_eq!(
            err.to_string(),
            "no DRClusters found: cluster (east) has not joined the hub; \
             failed to get ManagedCluster resource for cluster (west): \
             managedclusters.cluster.open-cluster-management.io \"west\" not found"
        );
    }

    #[test]
    fn joined_clusters_of_other_policies_do_not_rescue_the_policy() {
        // HEAD passes here because some DRCluster on the hub is joined.
        let managed = vec![joined("other", "id-other")];
        let all = drclusters(&["east", "west", "other"]);
        let err = cluster_details(&policy(&["east", "west"]), &all, &managed).unwrap_err();
        assert!(
            matches!(err, ClusterDetailsError::NoDRClusters { ref skipped } if skipped.len() == 2)
        );
        assert_eq!(
            head_cluster_details(["east", "west", "other"], &managed),
            Ok(ids(&[("id-other", "other")]))
        );
    }

    #[test]
    fn clusters_without_a_drcluster_are_left_to_validation() {
        let managed = vec![joined("east", "id-east")];
        // `missing` has no DRCluster: validation reports DRClusterNotFound (HT1).
        let got = cluster_details(
            &policy(&["missing", "east"]),
            &drclusters(&["east"]),
            &managed,
        );
        assert_eq!(got, Ok(ids(&[("id-east", "east")])));
        // No DRCluster at all: HEAD says `no DRClusters found`, we let validation say DRClusterNotFound.
        let got = cluster_details(&policy(&["a", "b"]), &drclusters(&[]), &managed);
        assert_eq!(got, Ok(ClusterIds::new()));
        assert_eq!(
            head_cluster_details([], &managed).unwrap_err().to_string(),
            "no DRClusters found"
        );
    }

    #[test]
    fn head_skips_unjoined_and_missing_managed_clusters() {
        let managed = vec![joined("east", "id-east"), mc("west", Some("False"), None)];
        let got = head_cluster_details(["east", "west", "gone"], &managed);
        assert_eq!(got, Ok(ids(&[("id-east", "east")])));
        let unjoined = vec![mc("west", Some("False"), None)];
        assert_eq!(
            head_cluster_details(["west", "gone"], &unjoined),
            Err(ClusterDetailsError::NoDRClusters { skipped: vec![] })
        );
    }

    #[test]
    fn shared_ids_map_to_the_last_cluster_like_head() {
        // HEAD's envtest suite gives every cluster the ID `fake`.
        let managed = vec![
            joined("c0", "fake"),
            joined("c1", "fake"),
            joined("c2", "fake"),
        ];
        assert_eq!(
            cluster_ids(["c0", "c1", "c2"], &managed),
            ids(&[("fake", "c2")])
        );
        assert_eq!(
            head_cluster_details(["c0", "c1", "c2"], &managed),
            Ok(ids(&[("fake", "c2")]))
        );
        let got = cluster_details(&policy(&["c1", "c0"]), &drclusters(&["c0", "c1"]), &managed);
        assert_eq!(got, Ok(ids(&[("fake", "c0")])));
    }

    #[test]
    fn cluster_ids_ignore_clusters_without_a_usable_id() {
        let managed = vec![
            joined("east", "id-east"),
            mc("west", Some("True"), None),
            mc("north", Some("False"), Some("id-north")),
        ];
        assert_eq!(
            cluster_ids(["east", "west", "north", "gone"], &managed),
            ids(&[("id-east", "east")])
        );
    }
}
