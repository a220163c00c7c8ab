//! Metro or regional? Ramen HEAD's classification of a policy (`dRPolicySupportsMetro`, reference §6.4,
//! §10.1, D6): from its peer classes, or, before it has any, from `spec.schedulingInterval`. DRCluster
//! regions play no part any more (ccc4a73c's region rule lives in [`crate::metro`]).
//!
//! It decides three things: the `dr_type` label of the `ramen_dr_policy_type` gauge ([`dr_type`],
//! [`DrTypeCounts`]), whether the `ramen_policy_schedule_interval_seconds` gauge is written
//! ([`is_metro`]), and which clusters a policy holds in synchronous groups for the conflict check
//! ([`metro_clusters`]).
//!
//! One deliberate difference: the interval converts through [`scheduling_interval_seconds`], which
//! converts every value the CRD pattern accepts. HEAD's Go conversion overflows past ~292 years
//! (`99999999999999999999m`) and classifies such a policy `unknown`; here it is `regional`, like every
//! other non-zero interval. Only values the pattern rejects (say `5x`, set before the pattern existed)
//! are `unknown`.

use drpolicy_api::{DRPolicy, PeerClass};
use std::fmt;

use crate::cluster_ids::ClusterIds;
use crate::interval::{IntervalError, scheduling_interval_seconds};

/// The DR type of a policy, as the `dr_type` label of `ramen_dr_policy_type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DrType {
    /// Synchronous replication (sync peer classes, or no peer classes and a zero interval).
    Metro,
    /// Asynchronous replication.
    Regional,
    /// No peer classes and an interval that does not convert.
    Unknown,
}

impl DrType {
    /// Every type, in the order HEAD initialises the gauge series.
    pub const ALL: [DrType; 3] = [DrType::Metro, DrType::Regional, DrType::Unknown];

    /// The label value: `metro`, `regional` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            DrType::Metro => "metro",
            DrType::Regional => "regional",
            DrType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for DrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status.sync.peerClasses`, empty when absent.
pub(crate) fn sync_peers(policy: &DRPolicy) -> &[PeerClass] {
    policy
        .status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.peer_classes.as_deref())
        .unwrap_or_default()
}

/// `status.async.peerClasses`, empty when absent.
pub(crate) fn async_peers(policy: &DRPolicy) -> &[PeerClass] {
    policy
        .status
        .as_ref()
        .and_then(|s| s.async_.as_ref())
        .and_then(|s| s.peer_classes.as_deref())
        .unwrap_or_default()
}

/// Whether the policy is metro by HEAD's rule without an ID map (`dRPolicySupportsMetro(policy, nil)`):
/// sync peer classes → metro (async ones too or not); async only → not metro; no peer classes → metro
/// iff the interval is zero (`""`, `0m`, `00m`, `0d`, ...), and an interval that does not convert is an
/// error.
///
/// HEAD writes the schedule-interval gauge only for policies that are not metro, and reports an error
/// here as `error in intiating policy metrics: failed to check if DRPolicy supports Metro: <err>`.
///
/// ```
/// use drpolicy_api::{DRPolicy, DRPolicySpec};
/// use drpolicy_validator::is_metro;
///
/// let policy = |interval: &str| DRPolicy::new("p", DRPolicySpec {
///     scheduling_interval: interval.into(),
///     ..Default::default()
/// });
/// assert_eq!(is_metro(&policy("00m")), Ok(true));
/// assert_eq!(is_metro(&policy("5m")), Ok(false));
/// assert!(is_metro(&policy("5x")).is_err());
/// ```
pub fn is_metro(policy: &DRPolicy) -> Result<bool, IntervalError> {
    if !sync_peers(policy).is_empty() {
        return Ok(true);
    }
    if !async_peers(policy).is_empty() {
        return Ok(false);
    }
    Ok(scheduling_interval_seconds(&policy.spec.scheduling_interval)? == 0.0)
}

/// The DR type HEAD's telemetry reports for a policy (deleting ones included): [`is_metro`] → `metro`,
/// not metro → `regional`, error → `unknown`.
///
/// ```
/// use drpolicy_api::{DRPolicy, DRPolicySpec};
/// use drpolicy_validator::{DrType, dr_type};
///
/// let policy = DRPolicy::new("p", DRPolicySpec { scheduling_interval: "5m".into(), ..Default::default() });
/// assert_eq!(dr_type(&policy), DrType::Regional);
/// assert_eq!(dr_type(&policy).as_str(), "regional");
/// ```
pub fn dr_type(policy: &DRPolicy) -> DrType {
    match is_metro(policy) {
        Ok(true) => DrType::Metro,
        Ok(false) => DrType::Regional,
        Err(_) => DrType::Unknown,
    }
}

/// How many policies there are of each DR type: the values of `ramen_dr_policy_type`, zeros included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrTypeCounts {
    /// Policies of type `metro`.
    pub metro: u64,
    /// Policies of type `regional`.
    pub regional: u64,
    /// Policies of type `unknown`.
    pub unknown: u64,
}

impl DrTypeCounts {
    /// Counts `policies` by [`dr_type`].
    ///
    /// ```
    /// use drpolicy_api::{DRPolicy, DRPolicySpec};
    /// use drpolicy_validator::DrTypeCounts;
    ///
    /// let policy = |interval: &str| DRPolicy::new("p", DRPolicySpec {
    ///     scheduling_interval: interval.into(),
    ///     ..Default::default()
    /// });
    /// let counts = DrTypeCounts::of(&[policy(""), policy("5m")]);
    /// assert_eq!(counts.series(), [("metro", 1), ("regional", 1), ("unknown", 0)]);
    /// ```
    pub fn of<'a>(policies: impl IntoIterator<Item = &'a DRPolicy>) -> Self {
        let mut counts = DrTypeCounts::default();
        for policy in policies {
            match dr_type(policy) {
                DrType::Metro => counts.metro += 1,
                DrType::Regional => counts.regional += 1,
                DrType::Unknown => counts.unknown += 1,
            }
        }
        counts
    }

    /// The count of one type.
    pub fn get(&self, dr_type: DrType) -> u64 {
        match dr_type {
            DrType::Metro => self.metro,
            DrType::Regional => self.regional,
            DrType::Unknown => self.unknown,
        }
    }

    /// Every series as (label value, count), in [`DrType::ALL`] order, zeros included.
    pub fn series(&self) -> [(&'static str, u64); 3] {
        DrType::ALL.map(|t| (t.as_str(), self.get(t)))
    }
}

/// A policy's metro classification with the ID map (`dRPolicySupportsMetro(policy, idToName)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetroClusters {
    /// Whether the policy is metro.
    pub metro: bool,
    /// The clusters of each synchronous peer class, by DRCluster name (`""` for an ID the map does not
    /// know), in peer-class order. Empty unless the policy has sync peer classes.
    pub groups: Vec<Vec<String>>,
}

impl MetroClusters {
    /// Whether one of the groups holds `cluster`.
    pub fn holds(&self, cluster: &str) -> bool {
        self.groups.iter().flatten().any(|c| c == cluster)
    }
}

/// HEAD's metro classification with the ID → name map, as the conflict check uses it:
/// * no peer classes: metro iff the interval converts to zero (a conversion error counts as not
///   metro), and no groups — so such a policy is never the source of a conflict;
/// * sync peer classes: metro, and one group per sync peer class with exactly one storage ID, naming
///   its `clusterIDs` through `ids`; a sync peer class with one storage ID and no `clusterIDs` makes
///   the policy not metro, with no groups;
/// * async peer classes only: not metro, no groups.
///
/// ```
/// use drpolicy_api::{DRPolicy, DRPolicySpec, DRPolicyStatus, PeerClass, PeerClassesStatus};
/// use drpolicy_validator::{ClusterIds, metro_clusters};
///
/// let mut policy = DRPolicy::new("p", DRPolicySpec::default());
/// policy.status = Some(DRPolicyStatus {
///     sync: Some(PeerClassesStatus { peer_classes: Some(vec![PeerClass {
///         storage_id: Some(vec!["sid".into()]),
///         cluster_ids: Some(vec!["id-e".into(), "id-w".into()]),
///         ..Default::default()
///     }]) }),
///     ..Default::default()
/// });
/// let ids: ClusterIds = [("id-e".into(), "east".into()), ("id-w".into(), "west".into())].into();
/// let metro = metro_clusters(&policy, &ids);
/// assert!(metro.metro);
/// assert_eq!(metro.groups, [["east", "west"]]);
/// ```
pub fn metro_clusters(policy: &DRPolicy, ids: &ClusterIds) -> MetroClusters {
    let sync = sync_peers(policy);
    if sync.is_empty() {
        let metro = async_peers(policy).is_empty()
            && scheduling_interval_seconds(&policy.spec.scheduling_interval) == Ok(0.0);
        return MetroClusters {
            metro,
            groups: Vec::new(),
        };
    }
    let mut groups = Vec::new();
    for peer in sync {
        if peer.storage_id.as_ref().map(Vec::len) != Some(1) {
            continue;
        }
        let cluster_ids = peer.cluster_ids.as_deref().unwrap_or_default();
        if cluster_ids.is_empty() {
            return MetroClusters::default();
        }
        groups.push(
            cluster_ids
                .iter()
                .map(|id| ids.get(id).cloned().unwrap_or_default())
                .collect(),
        );
    }
    MetroClusters {
        metro: true,
        groups,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use drpolicy_api::{DRPolicySpec, DRPolicyStatus, PeerClassesStatus};
    use pretty_assertions::assert_eq;

    pub(crate) fn peer(storage_ids: &[&str], cluster_ids: &[&str]) -> PeerClass {
        PeerClass {
            storage_class_name: Some("sc".into()),
            storage_id: Some(storage_ids.iter().map(|s| s.to_string()).collect()),
            cluster_ids: Some(cluster_ids.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    pub(crate) fn with_peers(
        name: &str,
        clusters: &[&str],
        interval: &str,
        sync: Vec<PeerClass>,
        async_: Vec<PeerClass>,
    ) -> DRPolicy {
        let mut policy = DRPolicy::new(
            name,
            DRPolicySpec {
                dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
                scheduling_interval: interval.into(),
                ..Default::default()
            },
        );
        policy.status = Some(DRPolicyStatus {
            sync: Some(PeerClassesStatus {
                peer_classes: Some(sync),
            }),
            async_: Some(PeerClassesStatus {
                peer_classes: Some(async_),
            }),
            ..Default::default()
        });
        policy
    }

    fn interval_only(interval: &str) -> DRPolicy {
        DRPolicy::new(
            "p",
            DRPolicySpec {
                scheduling_interval: interval.into(),
                ..Default::default()
            },
        )
    }

    fn ids() -> ClusterIds {
        [("cID1", "dr1"), ("cID2", "dr2"), ("cID3", "dr3")]
            .into_iter()
            .map(|(i, n)| (i.to_owned(), n.to_owned()))
            .collect()
    }

    #[test]
    fn ht10_classification() {
        let sync = || vec![peer(&["s"], &["a", "b"])];
        let async_ = || vec![peer(&["s1", "s2"], &["a", "b"])];
        assert_eq!(
            dr_type(&with_peers("p", &[], "5m", sync(), vec![])),
            DrType::Metro
        );
        assert_eq!(
            dr_type(&with_peers("p", &[], "5m", vec![], async_())),
            DrType::Regional
        );
        assert_eq!(
            dr_type(&with_peers("p", &[], "5m", sync(), async_())),
            DrType::Metro
        );
        assert_eq!(dr_type(&interval_only("")), DrType::Metro);
        assert_eq!(dr_type(&interval_only("0m")), DrType::Metro);
        assert_eq!(dr_type(&interval_only("5m")), DrType::Regional);
        assert_eq!(dr_type(&interval_only("5x")), DrType::Unknown);
    }

    #[test]
    fn every_zero_interval_is_metro() {
        for zero in ["", "0m", "00m", "0h", "0d"] {
            assert_eq!(is_metro(&interval_only(zero)), Ok(true), "{zero:?}");
        }
    }

    #[test]
    fn intervals_that_overflow_go_durations_are_regional_not_unknown() {
        // HEAD: unknown (time.ParseDuration overflows).
        assert_eq!(
            dr_type(&interval_only("99999999999999999999m")),
            DrType::Regional
        );
    }

    #[test]
    fn peer_classes_decide_before_the_interval() {
        // Async peers with a zero interval: regional, and the schedule gauge is written as 0.
        let policy = with_peers("p", &[], "0m", vec![], vec![peer(&["a", "b"], &["x", "y"])]);
        assert_eq!(is_metro(&policy), Ok(false));
        // Sync peers with an invalid interval: metro.
        let policy = with_peers("p", &[], "5x", vec![peer(&["a"], &["x", "y"])], vec![]);
        assert_eq!(is_metro(&policy), Ok(true));
    }

    #[test]
    fn ht12_counts() {
        let policies = [
            with_peers(
                "metro-peers",
                &[],
                "5m",
                vec![peer(&["s"], &["a", "b"])],
                vec![],
            ),
            interval_only(""),
            interval_only("5m"),
            interval_only("5x"),
        ];
        let counts = DrTypeCounts::of(&policies);
        assert_eq!(
            counts,
            DrTypeCounts {
                metro: 2,
                regional: 1,
                unknown: 1
            }
        );
        assert_eq!(
            DrTypeCounts::of([]).series(),
            [("metro", 0), ("regional", 0), ("unknown", 0)]
        );
    }

    #[test]
    fn sync_peer_classes_give_groups_by_name() {
        let policy = with_peers(
            "p",
            &["dr1", "dr2"],
            "0m",
            vec![
                peer(&["s1"], &["cID1", "cID2"]),
                peer(&["s2"], &["cID2", "cID9"]),
            ],
            vec![],
        );
        let got = metro_clusters(&policy, &ids());
        assert!(got.metro);
        assert_eq!(got.groups, vec![vec!["dr1", "dr2"], vec!["dr2", ""]]);
        assert!(got.holds("dr2"));
        assert!(!got.holds("dr3"));
    }

    #[test]
    fn sync_peer_classes_with_other_than_one_storage_id_give_no_group() {
        let policy = with_peers(
            "p",
            &[],
            "",
            vec![peer(&["s1", "s2"], &["cID1", "cID2"]), peer(&[], &["cID3"])],
            vec![],
        );
        assert_eq!(
            metro_clusters(&policy, &ids()),
            MetroClusters {
                metro: true,
                groups: vec![]
            }
        );
    }

    #[test]
    fn a_sync_peer_without_cluster_ids_makes_the_policy_not_metro_and_groupless() {
        let policy = with_peers(
            "p",
            &[],
            "",
            vec![peer(&["s1"], &["cID1", "cID2"]), peer(&["s2"], &[])],
            vec![],
        );
        assert_eq!(metro_clusters(&policy, &ids()), MetroClusters::default());
        // Without the map (telemetry, schedule gauge) it stays metro.
        assert_eq!(is_metro(&policy), Ok(true));
    }

    #[test]
    fn policies_without_sync_peers_have_no_groups() {
        for interval in ["", "0m"] {
            let got = metro_clusters(&interval_only(interval), &ids());
            assert_eq!(
                got,
                MetroClusters {
                    metro: true,
                    groups: vec![]
                }
            );
        }
        assert_eq!(
            metro_clusters(&interval_only("5m"), &ids()),
            MetroClusters::default()
        );
        assert_eq!(
            metro_clusters(&interval_only("5x"), &ids()),
            MetroClusters::default()
        );
        let regional = with_peers(
            "p",
            &[],
            "0m",
            vec![],
            vec![peer(&["a", "b"], &["cID1", "cID2"])],
        );
        assert_eq!(metro_clusters(&regional, &ids()), MetroClusters::default());
    }

    #[test]
    fn labels_are_heads() {
        assert_eq!(
            DrType::ALL.map(DrType::as_str),
            ["metro", "regional", "unknown"]
        );
        assert_eq!(DrType::Unknown.to_string(), "unknown");
    }
}
