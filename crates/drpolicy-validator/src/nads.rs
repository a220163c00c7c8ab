//! Ramen HEAD's network-attachment (NAD) validation (reference §7, D8; HEAD's H10): when a policy names a
//! network mapping, every NetworkAttachmentDefinition one cluster reports in its `DRClusterConfig` must
//! exist on the other. The result is `status.networkPeers`, the `NetworkAttachmentsValidated` condition
//! and, when NADs are missing, `Validated=False/NADsMissing`.
//!
//! # Where this differs from Ramen HEAD (BH4)
//!
//! HEAD's message names a missing NAD `/<name>` when its namespace is empty and bare `<name>` otherwise,
//! so the namespace never shows for a real NAD (NADs are namespaced) and two NADs of one name in different
//! namespaces read the same. The message here always names a NAD `<namespace>/<name>` — the key the
//! comparison uses, and how `kubectl` names namespaced objects — which reads `/<name>` for an empty
//! namespace, as in HEAD. Only this human-readable message differs; the reasons, the `Validated` message
//! and `status.networkPeers` are HEAD's.

use drpolicy_api::names::condition::VALIDATED;
pub use drpolicy_api::names::condition::{
    MESSAGE_NADS_MISSING, MESSAGE_NADS_SYMMETRIC, NETWORK_ATTACHMENTS_VALIDATED,
    REASON_NADS_MISSING, REASON_NADS_VALIDATED,
};
use drpolicy_api::{DRClusterConfig, DRPolicy, NetworkAttachment, NetworkPeer};
use std::collections::BTreeMap;
use thiserror::Error;

/// A condition to write: type, status, reason and message (the writer adds `observedGeneration` and
/// `lastTransitionTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOutcome {
    /// Condition type.
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// Reason.
    pub reason: &'static str,
    /// Message.
    pub message: String,
}

/// A NAD present on one cluster and absent from the other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingNad {
    /// Namespace of the NAD.
    pub namespace: String,
    /// Name of the NAD.
    pub name: String,
    /// The cluster it is missing on.
    pub missing_on: String,
}

/// The outcome of NAD validation for a policy's two clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct NadValidation {
    /// `status.networkPeers`: the NADs on both clusters with each cluster's CNI type (`""` when a cluster
    /// reports none), sorted by (namespace, name). Empty is HEAD's `nil`: leave the field out.
    pub network_peers: Vec<NetworkPeer>,
    /// The NADs on one cluster only, sorted by (namespace, name).
    pub missing: Vec<MissingNad>,
}

impl NadValidation {
    /// Whether every NAD is on both clusters.
    pub fn is_valid(&self) -> bool {
        self.missing.is_empty()
    }

    /// The `NetworkAttachmentsValidated` condition: `True/Validated/NADs are symmetric across both
    /// clusters`, or `False/NADsMissing/NADs missing on one or more clusters: <ns>/<name> missing on <c>; ...`.
    pub fn condition(&self) -> ConditionOutcome {
        if self.is_valid() {
            return ConditionOutcome {
                type_: NETWORK_ATTACHMENTS_VALIDATED,
                status: true,
                reason: REASON_NADS_VALIDATED,
                message: MESSAGE_NADS_SYMMETRIC.to_owned(),
            };
        }
        let entries: Vec<String> = self
            .missing
            .iter()
            .map(|m| format!("{}/{} missing on {}", m.namespace, m.name, m.missing_on))
            .collect();
        ConditionOutcome {
            type_: NETWORK_ATTACHMENTS_VALIDATED,
            status: false,
            reason: REASON_NADS_MISSING,
            message: format!(
                "NADs missing on one or more clusters: {}",
                entries.join("; ")
            ),
        }
    }

    /// The `Validated` condition NAD validation imposes: `False/NADsMissing` when NADs are missing, none
    /// otherwise. In HEAD's conditions list `Validated` comes before `NetworkAttachmentsValidated`, and
    /// the reconcile returns this message as its error (retried with backoff).
    pub fn validated(&self) -> Option<ConditionOutcome> {
        (!self.is_valid()).then(|| ConditionOutcome {
            type_: VALIDATED,
            status: false,
            reason: REASON_NADS_MISSING,
            message: MESSAGE_NADS_MISSING.to_owned(),
        })
    }
}

/// Whether the policy asks for NAD validation: `spec.networkMappingRef.name` is set and not empty.
///
/// When it does not, HEAD removes a `NetworkAttachmentsValidated` condition and `status.networkPeers`
/// left from an earlier mapping (and writes no early `Validated=True` in that reconcile).
pub fn network_mapping_enabled(policy: &DRPolicy) -> bool {
    policy
        .spec
        .network_mapping_ref
        .as_ref()
        .is_some_and(|r| !r.name.is_empty())
}

/// Whether the policy's `Validated` condition is `False/NADsMissing`: HEAD's guard against writing
/// `Validated=True` early (H6) over missing NADs.
pub fn nads_missing_recorded(policy: &DRPolicy) -> bool {
    policy
        .condition(VALIDATED)
        .is_some_and(|c| c.status == "False" && c.reason == REASON_NADS_MISSING)
}

/// The policy has fewer than two clusters to compare NADs between (the CRD requires two; HEAD's text).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("drpolicy {policy} has {count} clusters, expected at least 2")]
pub struct TooFewClusters {
    /// The policy.
    pub policy: String,
    /// How many clusters it lists.
    pub count: usize,
}

/// The two clusters NAD validation compares: `spec.drClusters[0]` and `[1]`.
pub fn nad_clusters(policy: &DRPolicy) -> Result<(&str, &str), TooFewClusters> {
    match policy.spec.dr_clusters.as_slice() {
        [a, b, ..] => Ok((a, b)),
        clusters => Err(TooFewClusters {
            policy: policy.metadata.name.clone().unwrap_or_default(),
            count: clusters.len(),
        }),
    }
}

/// Compares the NADs two clusters report (`status.networkAttachments` of their `DRClusterConfig`s; a NAD
/// listed twice counts once, the last entry giving its CNI type, as in HEAD).
///
/// ```
/// use drpolicy_api::{DRClusterConfig, DRClusterConfigStatus, NetworkAttachment};
/// use drpolicy_validator::validate_nads;
///
/// let config = |nads: &[(&str, &str)]| {
///     let mut config = DRClusterConfig::new("c", Default::default());
///     config.status = Some(DRClusterConfigStatus {
///         network_attachments: Some(nads.iter().map(|(ns, name)| NetworkAttachment {
///             namespace: ns.to_string(),
///             name: name.to_string(),
///             cni_type: Some("macvlan".into()),
///         }).collect()),
///         ..Default::default()
///     });
///     config
/// };
/// let result = validate_nads("A", &config(&[("vm", "nad-a"), ("vm", "nad-b")]), "B", &config(&[("vm", "nad-a")]));
/// assert_eq!(result.network_peers.len(), 1);
/// assert_eq!(result.condition().message, "NADs missing on one or more clusters: vm/nad-b missing on B");
/// assert_eq!(result.validated().unwrap().reason, "NADsMissing");
/// ```
pub fn validate_nads(
    cluster_a: &str,
    config_a: &DRClusterConfig,
    cluster_b: &str,
    config_b: &DRClusterConfig,
) -> NadValidation {
    let nads_a = by_key(config_a);
    let nads_b = by_key(config_b);
    let network_peers = nads_a
        .iter()
        .filter_map(|(key, a)| {
            let b = nads_b.get(key)?;
            let cni = |nad: &NetworkAttachment| nad.cni_type.clone().unwrap_or_default();
            Some(NetworkPeer {
                nad_name: a.name.clone(),
                nad_namespace: a.namespace.clone(),
                cluster_cni_types: Some(BTreeMap::from([
                    (cluster_a.to_owned(), cni(a)),
                    (cluster_b.to_owned(), cni(b)),
                ])),
            })
        })
        .collect();
    let missing_on = |from: &BTreeMap<(&str, &str), &NetworkAttachment>,
                      on: &BTreeMap<(&str, &str), &NetworkAttachment>,
                      cluster: &str| {
        from.keys()
            .filter(|key| !on.contains_key(*key))
            .map(|(namespace, name)| MissingNad {
                namespace: (*namespace).to_owned(),
                name: (*name).to_owned(),
                missing_on: cluster.to_owned(),
            })
            .collect::<Vec<_>>()
    };
    let mut missing = missing_on(&nads_a, &nads_b, cluster_b);
    missing.extend(missing_on(&nads_b, &nads_a, cluster_a));
    missing.sort();
    NadValidation {
        network_peers,
        missing,
    }
}

/// A cluster's NADs by (namespace, name), which sorts like HEAD's (namespace, name) order.
fn by_key(config: &DRClusterConfig) -> BTreeMap<(&str, &str), &NetworkAttachment> {
    config
        .status
        .as_ref()
        .map(|s| s.network_attachments())
        .unwrap_or_default()
        .iter()
        .map(|nad| ((nad.namespace.as_str(), nad.name.as_str()), nad))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use drpolicy_api::{DRClusterConfigStatus, DRPolicySpec, NetworkMappingRef};
    use pretty_assertions::assert_eq;

    fn nad(namespace: &str, name: &str, cni: Option<&str>) -> NetworkAttachment {
        NetworkAttachment {
            namespace: namespace.into(),
            name: name.into(),
            cni_type: cni.map(str::to_owned),
        }
    }

    fn config(nads: Vec<NetworkAttachment>) -> DRClusterConfig {
        let mut config = DRClusterConfig::new("c", Default::default());
        config.status = Some(DRClusterConfigStatus {
            network_attachments: Some(nads),
            ..Default::default()
        });
        config
    }

    fn peer(namespace: &str, name: &str, cni: &[(&str, &str)]) -> NetworkPeer {
        NetworkPeer {
            nad_name: name.into(),
            nad_namespace: namespace.into(),
            cluster_cni_types: Some(
                cni.iter()
                    .map(|(c, t)| (c.to_string(), t.to_string()))
                    .collect(),
            ),
        }
    }

    fn policy(mapping: Option<&str>, clusters: &[&str]) -> DRPolicy {
        DRPolicy::new(
            "p",
            DRPolicySpec {
                dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
                network_mapping_ref: mapping.map(|name| NetworkMappingRef { name: name.into() }),
                ..Default::default()
            },
        )
    }

    #[test]
    fn symmetric_nads_validate_and_become_network_peers() {
        let a = config(vec![
            nad("vm", "nad-b", Some("macvlan")),
            nad("vm", "nad-a", Some("bridge")),
        ]);
        let b = config(vec![
            nad("vm", "nad-a", Some("ovn")),
            nad("vm", "nad-b", None),
        ]);
        let result = validate_nads("A", &a, "B", &b);
        assert_eq!(
            result.network_peers,
            vec![
                peer("vm", "nad-a", &[("A", "bridge"), ("B", "ovn")]),
                peer("vm", "nad-b", &[("A", "macvlan"), ("B", "")]),
            ]
        );
        assert!(result.is_valid());
        assert_eq!(
            result.condition(),
            ConditionOutcome {
                type_: "NetworkAttachmentsValidated",
                status: true,
                reason: "Validated",
                message: "NADs are symmetric across both clusters".into(),
            }
        );
        assert_eq!(result.validated(), None);
    }

    #[test]
    fn missing_nads_fail_both_conditions() {
        // Reference §7's example. HEAD's message: "/nad-c missing on B; nad-b missing on B" (BH4).
        let a = config(vec![
            nad("vm", "nad-a", None),
            nad("vm", "nad-b", None),
            nad("", "nad-c", None),
        ]);
        let b = config(vec![nad("vm", "nad-a", None)]);
        let result = validate_nads("A", &a, "B", &b);
        assert_eq!(
            result.network_peers,
            vec![peer("vm", "nad-a", &[("A", ""), ("B", "")])]
        );
        let condition = result.condition();
        assert_eq!((condition.status, condition.reason), (false, "NADsMissing"));
        assert_eq!(
            condition.message,
            "NADs missing on one or more clusters: /nad-c missing on B; vm/nad-b missing on B"
        );
        assert_eq!(
            result.validated(),
            Some(ConditionOutcome {
                type_: "Validated",
                status: false,
                reason: "NADsMissing",
                message: "one or more NADs are absent on a peer cluster; see \
                          NetworkAttachmentsValidated condition"
                    .into(),
            })
        );
    }

    #[test]
    fn missing_on_either_side_is_sorted_by_namespace_then_name() {
        let a = config(vec![nad("ns2", "x", None), nad("ns1", "z", None)]);
        let b = config(vec![nad("ns1", "y", None), nad("ns2", "a", None)]);
        let result = validate_nads("A", &a, "B", &b);
        let got: Vec<(&str, &str, &str)> = result
            .missing
            .iter()
            .map(|m| (m.namespace.as_str(), m.name.as_str(), m.missing_on.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("ns1", "y", "A"),
                ("ns1", "z", "B"),
                ("ns2", "a", "A"),
                ("ns2", "x", "B")
            ]
        );
        assert_eq!(
            result.condition().message,
            "NADs missing on one or more clusters: ns1/y missing on A; ns1/z missing on B; \
             ns2/a missing on A; ns2/x missing on B"
        );
        assert!(result.network_peers.is_empty());
    }

    #[test]
    fn same_name_in_two_namespaces_are_two_nads() {
        let a = config(vec![nad("ns1", "net", None), nad("ns2", "net", None)]);
        let b = config(vec![nad("ns1", "net", None)]);
        let result = validate_nads("A", &a, "B", &b);
        assert_eq!(
            result.condition().message,
            "NADs missing on one or more clusters: ns2/net missing on B"
        );
    }

    #[test]
    fn no_nads_anywhere_is_symmetric() {
        let empty = DRClusterConfig::new("c", Default::default());
        let result = validate_nads("A", &empty, "B", &config(vec![]));
        assert!(result.is_valid());
        assert!(result.network_peers.is_empty());
    }

    #[test]
    fn a_nad_listed_twice_counts_once_with_its_last_cni_type() {
        let a = config(vec![
            nad("vm", "n", Some("first")),
            nad("vm", "n", Some("last")),
        ]);
        let b = config(vec![nad("vm", "n", Some("b"))]);
        let result = validate_nads("A", &a, "B", &b);
        assert_eq!(
            result.network_peers,
            vec![peer("vm", "n", &[("A", "last"), ("B", "b")])]
        );
    }

    #[test]
    fn mapping_is_enabled_only_by_a_non_empty_name() {
        assert!(network_mapping_enabled(&policy(Some("map"), &[])));
        assert!(!network_mapping_enabled(&policy(Some(""), &[])));
        assert!(!network_mapping_enabled(&policy(None, &[])));
    }

    #[test]
    fn the_first_two_clusters_are_compared() {
        assert_eq!(nad_clusters(&policy(None, &["a", "b"])), Ok(("a", "b")));
        let err = nad_clusters(&policy(None, &["a"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "drpolicy p has 1 clusters, expected at least 2"
        );
    }

    #[test]
    fn only_a_false_nads_missing_validated_is_recorded() {
        let mut policy = policy(Some("map"), &["a", "b"]);
        let condition = |status: &str, reason: &str| {
            serde_json::from_value(serde_json::json!({"type": "Validated", "status": status,
                "reason": reason, "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}))
            .unwrap()
        };
        assert!(!nads_missing_recorded(&policy));
        for (status, reason, recorded) in [
            ("False", "NADsMissing", true),
            ("True", "NADsMissing", false),
            ("False", "DRPolicyConflictFound", false),
        ] {
            policy.status = Some(drpolicy_api::DRPolicyStatus {
                conditions: Some(vec![condition(status, reason)]),
                ..Default::default()
            });
            assert_eq!(
                nads_missing_recorded(&policy),
                recorded,
                "{status} {reason}"
            );
        }
    }
}
