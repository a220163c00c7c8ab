//! Status conditions of a DRPolicy: merged so that `lastTransitionTime` moves only when a condition's
//! `status` changes, and so that a reconcile that changes nothing writes nothing.
//!
//! Deviation from Ramen: Ramen bumps `lastTransitionTime` on any change (message, generation); we follow
//! the Kubernetes convention (`meta.SetStatusCondition`) as the issue asks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub use drpolicy_api::names::condition::{DELETION_BLOCKED, SECRETS_DISTRIBUTED};

/// Ours (Ramen HEAD has no condition for it): whether `status.sync` / `status.async` peer classes were
/// computed from every cluster's current answers, and if not, what they wait for (reasons in
/// [`crate::peers::reason`]). While `False`, the stored peer classes are kept.
pub const PEER_CLASSES_COMPUTED: &str = "PeerClassesComputed";

/// Reasons of [`SECRETS_DISTRIBUTED`] and [`DELETION_BLOCKED`] (defined in `drpolicy-api`).
pub mod reason {
    pub use drpolicy_api::names::condition::{
        REASON_DISTRIBUTED as DISTRIBUTED, REASON_DISTRIBUTION_DISABLED as DISTRIBUTION_DISABLED,
        REASON_DISTRIBUTION_FAILED as DISTRIBUTION_FAILED, REASON_DRPCS_EXIST as DRPCS_EXIST,
        REASON_SECRETS_UNAVAILABLE as SECRETS_UNAVAILABLE,
    };
}

/// A condition as the reconcile wants it (without timestamps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Condition type.
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

impl Desired {
    /// A `True` condition (its message cut to the CRD's limit).
    pub fn ok(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Desired {
            type_,
            status: true,
            reason: reason.to_owned(),
            message: crate::bounded::cut(message.into(), crate::bounded::CONDITION_MESSAGE_MAX),
        }
    }

    /// A `False` condition.
    pub fn failed(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Desired {
            status: false,
            ..Desired::ok(type_, reason, message)
        }
    }
}

fn status_str(status: bool) -> &'static str {
    if status { "True" } else { "False" }
}

/// The conditions after applying `desired` to `current`: conditions of other types are kept as they are,
/// an unchanged condition keeps its timestamp, a changed one keeps it unless its `status` changed.
/// `remove` lists types to drop. Returns `None` when nothing would change.
pub fn merge(
    current: &[Condition],
    desired: &[Desired],
    remove: &[&str],
    generation: Option<i64>,
    now: &Time,
) -> Option<Vec<Condition>> {
    let mut next: Vec<Condition> = current
        .iter()
        .filter(|c| !remove.contains(&c.type_.as_str()))
        .cloned()
        .collect();
    for want in desired {
        let status = status_str(want.status);
        let position = next.iter().position(|c| c.type_ == want.type_);
        let fresh = |last_transition_time: Time| Condition {
            type_: want.type_.to_owned(),
            status: status.to_owned(),
            reason: want.reason.clone(),
            message: want.message.clone(),
            observed_generation: generation,
            last_transition_time,
        };
        match position {
            Some(i) => {
                let old = &next[i];
                let same = old.status == status
                    && old.reason == want.reason
                    && old.message == want.message
                    && old.observed_generation == generation;
                if !same {
                    let time = if old.status == status {
                        old.last_transition_time.clone()
                    } else {
                        now.clone()
                    };
                    next[i] = fresh(time);
                }
            }
            None => next.push(fresh(now.clone())),
        }
    }
    (next != current).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(1_790_000_000 + second).unwrap())
    }

    #[test]
    fn a_new_condition_is_stamped_now() {
        let merged = merge(
            &[],
            &[Desired::ok("Validated", "Succeeded", "ok")],
            &[],
            Some(1),
            &at(5),
        )
        .unwrap();
        assert_eq!(merged[0].last_transition_time, at(5));
        assert_eq!(merged[0].observed_generation, Some(1));
        assert_eq!(merged[0].status, "True");
    }

    #[test]
    fn nothing_changes_when_only_time_would() {
        let first = merge(
            &[],
            &[Desired::ok("Validated", "Succeeded", "ok")],
            &[],
            Some(1),
            &at(5),
        )
        .unwrap();
        assert_eq!(
            merge(
                &first,
                &[Desired::ok("Validated", "Succeeded", "ok")],
                &[],
                Some(1),
                &at(9)
            ),
            None
        );
    }

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let first = merge(
            &[],
            &[Desired::failed("Validated", "A", "one")],
            &[],
            Some(1),
            &at(5),
        )
        .unwrap();
        let reworded = merge(
            &first,
            &[Desired::failed("Validated", "B", "two")],
            &[],
            Some(2),
            &at(9),
        )
        .unwrap();
        assert_eq!(reworded[0].last_transition_time, at(5));
        assert_eq!(reworded[0].reason, "B");
        assert_eq!(reworded[0].observed_generation, Some(2));
        let flipped = merge(
            &reworded,
            &[Desired::ok("Validated", "C", "three")],
            &[],
            Some(2),
            &at(12),
        )
        .unwrap();
        assert_eq!(flipped[0].last_transition_time, at(12));
    }

    #[test]
    fn other_conditions_are_kept_and_listed_ones_removed() {
        let start = merge(
            &[],
            &[
                Desired::ok("Foreign", "X", "x"),
                Desired::ok(DELETION_BLOCKED, "Y", "y"),
            ],
            &[],
            None,
            &at(1),
        )
        .unwrap();
        let next = merge(
            &start,
            &[Desired::ok("Validated", "Z", "z")],
            &[DELETION_BLOCKED],
            None,
            &at(2),
        )
        .unwrap();
        let types: Vec<&str> = next.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Foreign", "Validated"]);
    }
}
