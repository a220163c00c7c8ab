//! Who holds which Secret: the policies whose clusters a Secret's distribution must reach, decided as a
//! pure function of a snapshot (no cache, no lock, no server), so every rule is unit-tested here.
//!
//! A policy holds a distribution of Secret `S` when it lists a cluster whose profile names `S`, is not
//! being finalized by this process, and either
//! - carries our finalizer as this process last wrote it (a finalizer write the cache does not show
//!   yet counts; a removal we wrote counts as released), or
//! - is valid (gate, validation, conflicts) and not being deleted — so a new policy's clusters are
//!   planned before its finalizer lands, and a PlacementRule is written once, not once per arriving
//!   policy.

use drpolicy_api::DRPolicy;
use std::sync::Arc;

use crate::hub::holds_distribution;

/// One policy that lists a cluster of the Secret, as the snapshot saw it.
pub(crate) struct Candidate {
    /// The cached object (what the reconciles judge).
    pub(crate) cached: Arc<DRPolicy>,
    /// The object as this process last wrote it (the cached one when nothing is pending).
    pub(crate) written: Arc<DRPolicy>,
    /// Whether this process is finalizing it (it holds nothing from then on).
    pub(crate) releasing: bool,
}

/// The holders among `candidates`; `acceptable` says whether a cached policy passes every check a
/// reconcile makes before it may hold.
pub(crate) fn holders(
    candidates: impl IntoIterator<Item = Candidate>,
    acceptable: impl Fn(&DRPolicy) -> bool,
) -> Vec<Arc<DRPolicy>> {
    candidates
        .into_iter()
        .filter_map(|c| holder(c, &acceptable))
        .collect()
}

fn holder(candidate: Candidate, acceptable: &impl Fn(&DRPolicy) -> bool) -> Option<Arc<DRPolicy>> {
    if candidate.releasing {
        return None;
    }
    if holds_distribution(&candidate.written) {
        return Some(candidate.written);
    }
    let finalizer_released = holds_distribution(&candidate.cached);
    let deleting = candidate.cached.metadata.deletion_timestamp.is_some();
    (!finalizer_released && !deleting && acceptable(&candidate.cached)).then_some(candidate.cached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::DRPolicySpec;
    use drpolicy_api::names::DRPOLICY_FINALIZER;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn policy(name: &str, finalized: bool, deleting: bool) -> Arc<DRPolicy> {
        let mut p = DRPolicy::new(
            name,
            DRPolicySpec {
                dr_clusters: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        );
        if finalized {
            p.metadata.finalizers = Some(vec![DRPOLICY_FINALIZER.into()]);
        }
        if deleting {
            p.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        }
        Arc::new(p)
    }

    fn candidate(cached: Arc<DRPolicy>, written: Option<Arc<DRPolicy>>) -> Candidate {
        Candidate {
            written: written.unwrap_or_else(|| cached.clone()),
            cached,
            releasing: false,
        }
    }

    fn names(holders: Vec<Arc<DRPolicy>>) -> Vec<String> {
        holders
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn a_finalizer_holds_and_a_valid_policy_holds_before_it_lands() {
        let valid = |_: &DRPolicy| true;
        let invalid = |_: &DRPolicy| false;
        let held = holders(
            [
                candidate(policy("finalized", true, false), None),
                candidate(policy("new", false, false), None),
            ],
            valid,
        );
        assert_eq!(names(held), ["finalized", "new"]);
        let held = holders(
            [
                candidate(policy("finalized", true, false), None),
                candidate(policy("new", false, false), None),
            ],
            invalid,
        );
        assert_eq!(
            names(held),
            ["finalized"],
            "an invalid policy that already holds keeps holding until it is finalized"
        );
    }

    #[test]
    fn our_own_finalizer_writes_count_before_the_cache_shows_them() {
        let invalid = |_: &DRPolicy| false;
        let added = candidate(policy("p", false, false), Some(policy("p", true, false)));
        let held = holders([added], invalid);
        assert_eq!(names(held.clone()), ["p"]);
        assert!(
            holds_distribution(&held[0]),
            "the written copy is the holder"
        );
        let removed = candidate(policy("p", true, true), Some(policy("p", false, true)));
        assert!(holders([removed], |_: &DRPolicy| true).is_empty());
    }

    #[test]
    fn deleting_or_releasing_policies_do_not_hold() {
        let valid = |_: &DRPolicy| true;
        assert!(holders([candidate(policy("p", false, true), None)], valid).is_empty());
        let mut releasing = candidate(policy("p", true, true), None);
        releasing.releasing = true;
        assert!(holders([releasing], valid).is_empty());
        assert_eq!(
            names(holders([candidate(policy("p", true, true), None)], valid)),
            ["p"],
            "deleting but not finalized yet: still holds"
        );
    }
}
