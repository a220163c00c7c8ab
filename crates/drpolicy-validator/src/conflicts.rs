//! Ramen HEAD's conflict check (reference §6.4, D7; HEAD's H9): a policy may not hold both sync and async
//! peer classes, and may not share a cluster with an older policy when either of them holds that cluster
//! in a synchronous (metro) group. Condition reason `DRPolicyConflictFound`.
//!
//! The check reads peer classes: the policy's own as just computed (HEAD runs it after updating them),
//! the others' as stored in their status. Groups come from [`metro_clusters`], so a policy without peer
//! classes is never the source of a conflict, and two regional policies never conflict.
//!
//! # Where this differs from Ramen HEAD (BH8)
//!
//! HEAD skips another policy only when this one was created strictly before it, at one-second
//! resolution: two conflicting policies created in the same second are both invalid, until one is
//! deleted. Here the order is [`age_order`] — creation time, then name — so of two conflicting
//! policies exactly one, the newer (for a same-second pair: the later name), is invalid, whichever is
//! checked first. A policy with a distinct, earlier creation time is never invalidated by a newer one,
//! as in HEAD. When several older policies conflict, the message names the first by name, which is the
//! one HEAD names (it walks the list the API server returns, sorted by name).

use drpolicy_api::DRPolicy;
use drpolicy_api::names::condition::{REASON_DRPOLICY_CONFLICT_FOUND, VALIDATED};
use std::cmp::Ordering;
use thiserror::Error;

use crate::cluster_ids::ClusterIds;
use crate::dr_type::{async_peers, metro_clusters, sync_peers};
use crate::validate::age_order;

/// Why a policy conflicts. [`Conflict::reason`] is the `Validated=False` reason and the `Display` text its
/// message, exactly as HEAD writes them (HEAD's reconcile also returns the message, unwrapped, and
/// retries with backoff).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Conflict {
    /// The policy has both sync and async peer classes.
    #[error("invalid DRPolicy: a policy cannot contain both sync and async configurations")]
    SyncAndAsync,
    /// The policy shares a metro-grouped cluster with an older policy.
    #[error(
        "validate managed cluster in drpolicy failed: drpolicy: {policy} has overlapping clusters with another drpolicy {other}"
    )]
    Overlap {
        /// This policy.
        policy: String,
        /// The older policy it conflicts with.
        other: String,
    },
}

impl Conflict {
    /// The condition reason: `DRPolicyConflictFound`.
    pub fn reason(&self) -> &'static str {
        REASON_DRPOLICY_CONFLICT_FOUND
    }
}

/// Whether `a` and `b` overlap (HEAD's `haveOverlappingMetroZones`): they share a cluster name, and a
/// metro group of either ([`metro_clusters`] with `ids`) holds a shared name. Symmetric.
///
/// ```
/// use drpolicy_api::{DRPolicy, DRPolicySpec};
/// use drpolicy_validator::{ClusterIds, overlapping};
///
/// let policy = |name: &str| DRPolicy::new(name, DRPolicySpec {
///     dr_clusters: vec!["east".into(), "west".into()],
///     ..Default::default()
/// });
/// // No peer classes: no metro groups, no overlap, whatever the interval.
/// assert!(!overlapping(&policy("a"), &policy("b"), &ClusterIds::new()));
/// ```
pub fn overlapping(a: &DRPolicy, b: &DRPolicy, ids: &ClusterIds) -> bool {
    let common: Vec<&String> = a
        .spec
        .dr_clusters
        .iter()
        .filter(|c| b.contains_cluster(c))
        .collect();
    if common.is_empty() {
        return false;
    }
    [a, b].into_iter().any(|policy| {
        let metro = metro_clusters(policy, ids);
        metro.metro && common.iter().any(|c| metro.holds(c))
    })
}

/// HEAD's H9 for `policy` against `others` (any policies; the policy itself is skipped by name, deleting
/// and invalid ones count, as in HEAD): no sync and async peer classes together, and no
/// [`overlapping`] **older** policy (see the module documentation for the order).
///
/// `policy` must carry the peer classes just computed; `others` their stored ones. `ids` maps the
/// cluster IDs of every policy's peer classes to DRCluster names — HEAD passes the map over every
/// DRCluster ([`cluster_ids`](crate::cluster_ids())). Passing only the policies that share a cluster with `policy` is
/// enough.
///
/// ```
/// use drpolicy_api::{DRPolicy, DRPolicySpec, DRPolicyStatus, PeerClass, PeerClassesStatus};
/// use drpolicy_validator::{ClusterIds, check_conflicts};
///
/// let peers = |sids: &[&str]| Some(PeerClassesStatus { peer_classes: Some(vec![PeerClass {
///     storage_id: Some(sids.iter().map(|s| s.to_string()).collect()),
///     cluster_ids: Some(vec!["id-e".into(), "id-w".into()]),
///     ..Default::default()
/// }]) });
/// let mut policy = DRPolicy::new("p", DRPolicySpec {
///     dr_clusters: vec!["east".into(), "west".into()],
///     ..Default::default()
/// });
/// policy.status = Some(DRPolicyStatus { sync: peers(&["s"]), async_: peers(&["a", "b"]), ..Default::default() });
/// let err = check_conflicts(&policy, [], &ClusterIds::new()).unwrap_err();
/// assert_eq!(err.reason(), "DRPolicyConflictFound");
/// assert_eq!(err.to_string(), "invalid DRPolicy: a policy cannot contain both sync and async configurations");
/// ```
pub fn check_conflicts<'a>(
    policy: &DRPolicy,
    others: impl IntoIterator<Item = &'a DRPolicy>,
    ids: &ClusterIds,
) -> Result<(), Conflict> {
    if !sync_peers(policy).is_empty() && !async_peers(policy).is_empty() {
        return Err(Conflict::SyncAndAsync);
    }
    let name = policy.metadata.name.as_deref().unwrap_or_default();
    let conflict = others
        .into_iter()
        .filter(|other| other.metadata.name.as_deref() != Some(name))
        .filter(|other| age_order(other, policy) == Ordering::Less)
        .filter(|other| overlapping(policy, other, ids))
        .filter_map(|other| other.metadata.name.as_deref())
        .min();
    match conflict {
        Some(other) => Err(Conflict::Overlap {
            policy: name.to_owned(),
            other: other.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether the policy's `Validated` condition carries reason `DRPolicyConflictFound` (any status):
/// HEAD's guard against writing `Validated=True` early (H6) over a recorded conflict, which then only
/// clears at the end of a clean reconcile.
pub fn conflict_recorded(policy: &DRPolicy) -> bool {
    policy
        .condition(VALIDATED)
        .is_some_and(|c| c.reason == REASON_DRPOLICY_CONFLICT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dr_type::tests::{peer, with_peers};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use pretty_assertions::assert_eq;

    fn ids() -> ClusterIds {
        (1..=4)
            .map(|i| (format!("cID{i}"), format!("metro-dr{i}")))
            .collect()
    }

    fn created_at(mut policy: DRPolicy, second: i64) -> DRPolicy {
        let ts = k8s_openapi::jiff::Timestamp::from_second(1_790_000_000 + second).unwrap();
        policy.metadata.creation_timestamp = Some(Time(ts));
        policy
    }

    /// A metro policy (interval `0m`, as HT9) with one sync peer class per storage ID.
    fn metro(name: &str, clusters: &[&str], sid: &str, cids: &[&str]) -> DRPolicy {
        with_peers(name, clusters, "0m", vec![peer(&[sid], cids)], vec![])
    }

    fn regional(name: &str, clusters: &[&str], cids: &[&str]) -> DRPolicy {
        with_peers(name, clusters, "5m", vec![], vec![peer(&["a", "b"], cids)])
    }

    fn plain(name: &str, clusters: &[&str], interval: &str) -> DRPolicy {
        with_peers(name, clusters, interval, vec![], vec![])
    }

    #[test]
    fn ht9_m1_identical_metro_policies_conflict() {
        let existing = metro(
            "metro-dp1",
            &["metro-dr1", "metro-dr2"],
            "sID1",
            &["cID1", "cID2"],
        );
        let candidate = metro(
            "metro-dp2",
            &["metro-dr1", "metro-dr2"],
            "sID1",
            &["cID1", "cID2"],
        );
        let err = check_conflicts(&candidate, [&existing], &ids()).unwrap_err();
        assert_eq!(err.reason(), "DRPolicyConflictFound");
        assert_eq!(
            err.to_string(),
            "validate managed cluster in drpolicy failed: drpolicy: metro-dp2 has overlapping \
             clusters with another drpolicy metro-dp1"
        );
    }

    #[test]
    fn ht9_m2_metro_policies_sharing_one_cluster_conflict() {
        let existing = metro(
            "metro-dp1",
            &["metro-dr1", "metro-dr2"],
            "sID1",
            &["cID1", "cID2"],
        );
        let candidate = metro(
            "metro-dp2",
            &["metro-dr1", "metro-dr3"],
            "sID2",
            &["cID1", "cID3"],
        );
        let err = check_conflicts(&candidate, [&existing], &ids()).unwrap_err();
        assert!(
            err.to_string()
                .contains("has overlapping clusters with another drpolicy")
        );
    }

    #[test]
    fn ht9_m3_disjoint_metro_policies_do_not_conflict() {
        let existing = metro(
            "metro-dp1",
            &["metro-dr1", "metro-dr2"],
            "sID1",
            &["cID1", "cID2"],
        );
        let candidate = metro(
            "metro-dp2",
            &["metro-dr3", "metro-dr4"],
            "sID3",
            &["cID3", "cID4"],
        );
        assert_eq!(check_conflicts(&candidate, [&existing], &ids()), Ok(()));
    }

    #[test]
    fn sync_and_async_together_is_a_conflict_on_its_own() {
        let policy = with_peers(
            "p",
            &["metro-dr1", "metro-dr2"],
            "0m",
            vec![peer(&["s"], &["cID1", "cID2"])],
            vec![peer(&["a", "b"], &["cID1", "cID2"])],
        );
        assert_eq!(
            check_conflicts(&policy, [], &ids()),
            Err(Conflict::SyncAndAsync)
        );
        assert_eq!(
            Conflict::SyncAndAsync.to_string(),
            "invalid DRPolicy: a policy cannot contain both sync and async configurations"
        );
    }

    #[test]
    fn only_the_newer_policy_is_invalid() {
        let older = created_at(
            metro(
                "b-older",
                &["metro-dr1", "metro-dr2"],
                "s",
                &["cID1", "cID2"],
            ),
            0,
        );
        let newer = created_at(
            metro(
                "a-newer",
                &["metro-dr1", "metro-dr2"],
                "s",
                &["cID1", "cID2"],
            ),
            5,
        );
        assert!(check_conflicts(&newer, [&older], &ids()).is_err());
        assert_eq!(check_conflicts(&older, [&newer], &ids()), Ok(()));
    }

    #[test]
    fn of_two_same_second_policies_exactly_the_later_name_is_invalid() {
        // BH8: HEAD invalidates both.
        let a = created_at(
            metro("dp-a", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            7,
        );
        let b = created_at(
            metro("dp-b", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            7,
        );
        assert_eq!(check_conflicts(&a, [&a, &b], &ids()), Ok(()));
        assert_eq!(
            check_conflicts(&b, [&a, &b], &ids()),
            Err(Conflict::Overlap {
                policy: "dp-b".into(),
                other: "dp-a".into()
            })
        );
    }

    #[test]
    fn the_message_names_the_first_conflicting_policy_by_name() {
        let clusters = ["metro-dr1", "metro-dr2"];
        let cids = ["cID1", "cID2"];
        let old_z = created_at(metro("z-old", &clusters, "s", &cids), 0);
        let old_m = created_at(metro("m-old", &clusters, "s", &cids), 1);
        let this = created_at(metro("this", &clusters, "s", &cids), 9);
        let err = check_conflicts(&this, [&old_z, &old_m], &ids()).unwrap_err();
        assert_eq!(
            err,
            Conflict::Overlap {
                policy: "this".into(),
                other: "m-old".into()
            }
        );
    }

    #[test]
    fn regional_policies_never_conflict() {
        let a = created_at(
            regional("a", &["metro-dr1", "metro-dr2"], &["cID1", "cID2"]),
            0,
        );
        let b = created_at(
            regional("b", &["metro-dr1", "metro-dr2"], &["cID1", "cID2"]),
            1,
        );
        assert_eq!(check_conflicts(&b, [&a], &ids()), Ok(()));
        assert!(!overlapping(&a, &b, &ids()));
    }

    #[test]
    fn a_newer_metro_policy_conflicts_with_an_older_regional_one() {
        let older = created_at(
            regional("regional", &["metro-dr1", "metro-dr3"], &["cID1", "cID3"]),
            0,
        );
        let newer = created_at(
            metro("metro", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            1,
        );
        assert!(check_conflicts(&newer, [&older], &ids()).is_err());
        assert_eq!(check_conflicts(&older, [&newer], &ids()), Ok(()));
    }

    #[test]
    fn a_newer_regional_policy_conflicts_with_an_older_metro_one() {
        let older = created_at(
            metro("metro", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            0,
        );
        let newer = created_at(
            regional("regional", &["metro-dr1", "metro-dr3"], &["cID1", "cID3"]),
            1,
        );
        assert_eq!(
            check_conflicts(&newer, [&older], &ids()),
            Err(Conflict::Overlap {
                policy: "regional".into(),
                other: "metro".into()
            })
        );
        assert_eq!(check_conflicts(&older, [&newer], &ids()), Ok(()));
    }

    #[test]
    fn a_policy_without_peer_classes_is_never_a_conflict_source() {
        let clusters = ["metro-dr1", "metro-dr2"];
        for interval in ["", "0m", "5m"] {
            let older = created_at(plain("older", &clusters, interval), 0);
            let newer = created_at(plain("newer", &clusters, interval), 1);
            assert_eq!(
                check_conflicts(&newer, [&older], &ids()),
                Ok(()),
                "{interval:?}"
            );
        }
        // Against a metro policy, the metro policy's groups decide.
        let older = created_at(plain("older", &clusters, "0m"), 0);
        let newer = created_at(metro("newer", &clusters, "s", &["cID1", "cID2"]), 1);
        assert!(check_conflicts(&newer, [&older], &ids()).is_err());
    }

    #[test]
    fn groups_need_the_ids_mapped_to_the_shared_clusters() {
        // Unknown IDs become "" in a group, which no cluster name matches.
        let older = created_at(
            metro("older", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            0,
        );
        let newer = created_at(
            metro("newer", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]),
            1,
        );
        assert_eq!(
            check_conflicts(&newer, [&older], &ClusterIds::new()),
            Ok(())
        );
    }

    #[test]
    fn the_policy_itself_and_policies_sharing_no_cluster_are_ignored() {
        let this = metro("this", &["metro-dr1", "metro-dr2"], "s", &["cID1", "cID2"]);
        let apart = metro("apart", &["metro-dr3", "metro-dr4"], "s", &["cID3", "cID4"]);
        assert_eq!(check_conflicts(&this, [&this, &apart], &ids()), Ok(()));
    }

    #[test]
    fn a_recorded_conflict_is_recognised_whatever_its_status() {
        let mut policy = plain("p", &[], "");
        assert!(!conflict_recorded(&policy));
        for status in ["False", "True"] {
            policy.status.as_mut().unwrap().conditions = Some(vec![
                serde_json::from_value(serde_json::json!({"type": "Validated", "status": status,
                    "reason": "DRPolicyConflictFound", "message": "m",
                    "lastTransitionTime": "2026-01-01T00:00:00Z"}))
                .unwrap(),
            ]);
            assert!(conflict_recorded(&policy), "{status}");
        }
    }
}
