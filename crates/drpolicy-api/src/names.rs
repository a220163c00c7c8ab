//! Every name Ramen hub controllers must agree on: finalizers, labels, annotations, condition types and
//! reasons, the operator ConfigMap, and the OCM object naming scheme for distributed S3 secrets.
//!
//! The values are Ramen's (`RamenDR/ramen` at ccc4a73c, with HEAD additions marked); changing any of them
//! breaks interoperability with objects Ramen already wrote.

/// API group of the Ramen CRDs.
pub const RAMEN_GROUP: &str = "ramendr.openshift.io";
/// API version of the Ramen CRDs.
pub const RAMEN_VERSION: &str = "v1alpha1";

/// Finalizer the hub operator puts on every DRPolicy it has validated.
pub const DRPOLICY_FINALIZER: &str = "drpolicies.ramendr.openshift.io/ramen";
/// Finalizer on a hub S3 Secret while an OCM Policy distributes it.
pub const SECRET_POLICY_FINALIZER: &str = "drpolicies.ramendr.openshift.io/policy-protection";

/// Label key that makes the OCM hub backup include an object.
pub const OCM_BACKUP_LABEL: &str = "cluster.open-cluster-management.io/backup";
/// Value written for [`OCM_BACKUP_LABEL`] when the key is absent (an existing value is never overwritten).
pub const OCM_BACKUP_LABEL_VALUE: &str = "ramen";
/// Label on every OCM object created for secret distribution (Ramen HEAD), used to watch and find them.
pub const CREATED_BY_RAMEN_LABEL: &str = "ramendr.openshift.io/created-by-ramen";
/// Value of [`CREATED_BY_RAMEN_LABEL`].
pub const CREATED_BY_RAMEN_LABEL_VALUE: &str = "true";

/// Annotation on a distribution Policy whose value is the hub Secret's resourceVersion; a change makes the
/// OCM propagator re-resolve the hub templates.
pub const POLICY_TRIGGER_ANNOTATION: &str = "policy.open-cluster-management.io/trigger-update";

/// Name of the hub operator's ConfigMap in the operator namespace.
pub const HUB_OPERATOR_CONFIGMAP: &str = "ramen-hub-operator-config";
/// Key of the `RamenConfig` document inside [`HUB_OPERATOR_CONFIGMAP`].
pub const RAMEN_CONFIG_KEY: &str = "ramen_manager_config.yaml";
/// Default namespace of the hub operator (`POD_NAMESPACE` in a real deployment).
pub const DEFAULT_OPERATOR_NAMESPACE: &str = "ramen-system";
/// Leader election Lease name of the hub operator.
pub const HUB_LEADER_ELECTION_ID: &str = "hub.ramendr.openshift.io";

/// Data keys of an S3 Secret referenced by the distribution hub templates.
pub const S3_SECRET_KEYS: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/// Finalizer on a hub S3 Secret while an OCM Policy distributes it in the velero format (Ramen HEAD:
/// [`SECRET_POLICY_FINALIZER`] + `-velero`).
pub const SECRET_POLICY_FINALIZER_VELERO: &str =
    "drpolicies.ramendr.openshift.io/policy-protection-velero";

/// Labels and parameters on a managed cluster's storage, snapshot and replication classes that make them
/// peer classes of a DRPolicy (Ramen HEAD; the keys are lower case, whatever Ramen's documentation writes).
pub mod class_labels {
    /// Storage instance identity, on StorageClasses and every snapshot and replication class.
    pub const STORAGE_ID: &str = "ramendr.openshift.io/storageid";
    /// Replication identity, on VolumeReplicationClasses.
    pub const REPLICATION_ID: &str = "ramendr.openshift.io/replicationid";
    /// Group replication identity, on VolumeGroupReplicationClasses; on a StorageClass it selects which
    /// of several VolumeGroupReplicationClasses sharing its storage ID belongs to it.
    pub const GROUP_REPLICATION_ID: &str = "ramendr.openshift.io/groupreplicationid";
    /// On a StorageClass, whatever its value: replication is managed outside Ramen's VRG.
    pub const OFFLOADED: &str = "ramendr.openshift.io/offloaded";
    /// On a VolumeGroupReplicationClass, with value [`GLOBAL_VALUE`]: one group replication shared by
    /// every VRG.
    pub const GLOBAL: &str = "ramendr.openshift.io/global";
    /// The only value of [`GLOBAL`] that counts.
    pub const GLOBAL_VALUE: &str = "true";
    /// Key in a replication class's `spec.parameters` that must equal the DRPolicy's
    /// `spec.schedulingInterval`, string for string.
    pub const SCHEDULING_INTERVAL_PARAMETER: &str = "schedulingInterval";
}

/// Condition types and reasons written on a DRPolicy.
pub mod condition {
    /// The condition type Ramen writes on every DRPolicy.
    pub const VALIDATED: &str = "Validated";

    /// `Validated=True`: the policy is valid.
    pub const REASON_SUCCEEDED: &str = "Succeeded";
    /// Message of `Validated=True`.
    pub const MESSAGE_VALIDATED: &str = "drpolicy validated";
    /// The operator ConfigMap could not be read or parsed.
    pub const REASON_CONFIGMAP_GET_FAILED: &str = "ConfigMapGetFailed";
    /// The Ramen ops namespace could not be created.
    pub const REASON_NAMESPACE_CREATE_FAILED: &str = "NamespaceCreateFailed";
    /// Listing DRClusters failed (lower-case `d`, as Ramen spells it).
    pub const REASON_DRCLUSTER_LIST_FAILED: &str = "drClusterListFailed";
    /// Generic validation failure (empty cluster list, duplicates, conflicts).
    pub const REASON_VALIDATION_FAILED: &str = "ValidationFailed";
    /// A cluster named by the policy has no DRCluster object.
    pub const REASON_DRCLUSTER_NOT_FOUND: &str = "DRClusterNotFound";
    /// None of the policy's DRClusters is validated.
    pub const REASON_DRCLUSTERS_UNAVAILABLE: &str = "DRClustersUnavailable";
    /// Adding the label or finalizer failed.
    pub const REASON_FINALIZER_ADD_FAILED: &str = "FinalizerAddFailed";
    /// Ramen HEAD: the policy overlaps another, older policy.
    pub const REASON_DRPOLICY_CONFLICT_FOUND: &str = "DRPolicyConflictFound";
    /// Ramen HEAD: DRCluster details could not be read.
    pub const REASON_DRCLUSTER_DETAILS_FAILED: &str = "drClusterDetailsFailed";

    /// Ramen HEAD: condition type of the network attachment (NAD) validation of a policy whose
    /// `spec.networkMappingRef.name` is set.
    pub const NETWORK_ATTACHMENTS_VALIDATED: &str = "NetworkAttachmentsValidated";
    /// `NetworkAttachmentsValidated=True`: every NAD is on both clusters.
    pub const REASON_NADS_VALIDATED: &str = "Validated";
    /// `NetworkAttachmentsValidated=False` and `Validated=False`: some NAD is on one cluster only.
    pub const REASON_NADS_MISSING: &str = "NADsMissing";
    /// Message of `NetworkAttachmentsValidated=True`.
    pub const MESSAGE_NADS_SYMMETRIC: &str = "NADs are symmetric across both clusters";
    /// Message of `Validated=False/NADsMissing`.
    pub const MESSAGE_NADS_MISSING: &str =
        "one or more NADs are absent on a peer cluster; see NetworkAttachmentsValidated condition";

    /// The condition type DRClusters carry once Ramen's DRCluster controller accepted them.
    pub const DRCLUSTER_VALIDATED: &str = "Validated";

    /// Ours (not Ramen's): whether the policy's S3 secrets are distributed — Ramen's `Validated=True`
    /// says nothing about delivery.
    pub const SECRETS_DISTRIBUTED: &str = "SecretsDistributed";
    /// `SecretsDistributed=True`: every needed secret reaches every cluster of the policy.
    pub const REASON_DISTRIBUTED: &str = "Distributed";
    /// `SecretsDistributed=False`: `deploymentAutomationEnabled` or `s3SecretDistributionEnabled` is false.
    pub const REASON_DISTRIBUTION_DISABLED: &str = "DistributionDisabled";
    /// `SecretsDistributed=False`: a profile, DRCluster or Secret needed for distribution is missing.
    pub const REASON_SECRETS_UNAVAILABLE: &str = "SecretsUnavailable";
    /// `SecretsDistributed=False`: writing the OCM objects failed (retried).
    pub const REASON_DISTRIBUTION_FAILED: &str = "DistributionFailed";

    /// Ours: present while the deletion of a policy waits for DRPlacementControls that use it.
    pub const DELETION_BLOCKED: &str = "DeletionBlocked";
    /// `DeletionBlocked=True`: DRPlacementControls still reference the policy.
    pub const REASON_DRPCS_EXIST: &str = "DRPlacementControlsExist";
}

/// Names of the OCM objects that distribute hub S3 secret `S` (reference §2.1, HEAD §8.2).
///
/// The ramen-format Policy has the Secret's own name so that OCM's replicated policy `NS.S` stays
/// recognisable; the velero format (Ramen HEAD) prefixes it with `v`. Every other name derives from
/// the Policy name, so the velero-format objects of `S` are named exactly like the ramen-format objects
/// of a Secret literally named `vS`: a name alone can belong to either (see [`ocm_names::owners`]).
pub mod ocm_names {
    use std::fmt;

    /// The form in which a hub S3 Secret is delivered to managed clusters.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Format {
        /// The Secret itself (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), in the DR cluster
        /// operator namespace, through hub templates.
        Ramen,
        /// Ramen HEAD: an AWS credentials file (key `ramengenerated`) in the velero namespace, built
        /// on the managed cluster from the ramen-format Secret delivered there.
        Velero,
    }

    impl Format {
        /// Both formats, in the order Ramen processes them.
        pub const ALL: [Format; 2] = [Format::Ramen, Format::Velero];

        /// Ramen's name of the format (`ramen`, `velero`), as its logs and errors spell it.
        pub fn as_str(self) -> &'static str {
            match self {
                Format::Ramen => "ramen",
                Format::Velero => "velero",
            }
        }

        /// Prefix of the format's Policy name: none for ramen (backward compatible), `v` for velero.
        pub fn prefix(self) -> &'static str {
            match self {
                Format::Ramen => "",
                Format::Velero => "v",
            }
        }

        /// The hub Secret finalizer held while the format is distributed.
        pub fn finalizer(self) -> &'static str {
            match self {
                Format::Ramen => super::SECRET_POLICY_FINALIZER,
                Format::Velero => super::SECRET_POLICY_FINALIZER_VELERO,
            }
        }

        /// The Policy name of secret `secret` in this format (`S` or `vS`).
        pub fn policy(self, secret: &str) -> String {
            format!("{}{secret}", self.prefix())
        }

        /// Every object name of secret `secret` in this format.
        pub fn names(self, secret: &str) -> ObjectNames {
            let policy = self.policy(secret);
            ObjectNames {
                placement_rule: placement_rule(&policy),
                placement_binding: placement_binding(&policy),
                configuration_policy: configuration_policy(&policy),
                policy,
            }
        }
    }

    impl fmt::Display for Format {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.as_str())
        }
    }

    /// The names of one distribution (a secret in one format).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ObjectNames {
        /// The Policy (`S` or `vS`).
        pub policy: String,
        /// The PlacementRule (`plrule-<policy>`).
        pub placement_rule: String,
        /// The PlacementBinding (`plbinding-<policy>`).
        pub placement_binding: String,
        /// The embedded ConfigurationPolicy (`cfg-policy-<policy>`).
        pub configuration_policy: String,
    }

    /// Name of the ramen-format distribution Policy for secret `secret` (the secret name itself).
    pub fn policy(secret: &str) -> String {
        secret.to_owned()
    }
    /// Name of the PlacementRule of the Policy named `policy` (for the ramen format, the secret name).
    pub fn placement_rule(policy: &str) -> String {
        format!("plrule-{policy}")
    }
    /// Name of the PlacementBinding tying the Policy named `policy` to its PlacementRule.
    pub fn placement_binding(policy: &str) -> String {
        format!("plbinding-{policy}")
    }
    /// Name of the ConfigurationPolicy embedded in the Policy named `policy`.
    pub fn configuration_policy(policy: &str) -> String {
        format!("cfg-policy-{policy}")
    }

    /// The Policy name an object of `kind` (`Policy`, `PlacementRule` or `PlacementBinding`) named
    /// `object_name` belongs to, if it follows the naming scheme.
    fn policy_of<'a>(kind: &str, object_name: &'a str) -> Option<&'a str> {
        match kind {
            "Policy" => Some(object_name),
            "PlacementRule" => object_name.strip_prefix("plrule-"),
            "PlacementBinding" => object_name.strip_prefix("plbinding-"),
            _ => None,
        }
        .filter(|policy| !policy.is_empty())
    }

    /// The secret whose **ramen-format** object of `kind` would be named `object_name`. A velero-format
    /// name `vS` also belongs to secret `S`: use [`owners`] to get every candidate.
    ///
    /// `kind` is `Policy`, `PlacementRule` or `PlacementBinding`.
    pub fn secret_of(kind: &str, object_name: &str) -> Option<String> {
        policy_of(kind, object_name).map(str::to_owned)
    }

    /// Every (secret, format) whose object of `kind` would be named `object_name`: the ramen format of
    /// the name itself and, for a name `vS`, the velero format of `S`. Only an object's content tells
    /// which one it really is.
    pub fn owners(kind: &str, object_name: &str) -> Vec<(String, Format)> {
        let Some(policy) = policy_of(kind, object_name) else {
            return Vec::new();
        };
        let mut owners = vec![(policy.to_owned(), Format::Ramen)];
        if let Some(secret) = policy
            .strip_prefix(Format::Velero.prefix())
            .filter(|s| !s.is_empty())
        {
            owners.push((secret.to_owned(), Format::Velero));
        }
        owners
    }

    /// Longest `namespace.name` OCM accepts for a replicated policy (a label value).
    pub const MAX_REPLICATED_POLICY_NAME: usize = 63;

    /// Whether OCM can replicate the policies of secret `secret` of namespace `namespace` in every
    /// format: `len(S) + len(NS) + len(".") + 1 <= 63`, the extra 1 being the format prefix (Ramen
    /// HEAD's guard, applied to both formats; reference HEAD §8.5).
    pub fn fits_replicated_policy_name(secret: &str, namespace: &str) -> bool {
        let replicated_name =
            namespace.len() + ".".len() + Format::Velero.prefix().len() + secret.len();
        replicated_name <= MAX_REPLICATED_POLICY_NAME
    }
}

#[cfg(test)]
mod tests {
    use super::ocm_names::{self, Format, ObjectNames};

    #[test]
    fn ocm_object_names_follow_ramen_scheme() {
        assert_eq!(ocm_names::policy("s3"), "s3");
        assert_eq!(ocm_names::placement_rule("s3"), "plrule-s3");
        assert_eq!(ocm_names::placement_binding("s3"), "plbinding-s3");
        assert_eq!(ocm_names::configuration_policy("s3"), "cfg-policy-s3");
    }

    #[test]
    fn each_format_names_its_objects_and_finalizer_as_ramen_head() {
        assert_eq!(
            Format::Ramen.names("s3"),
            ObjectNames {
                policy: "s3".into(),
                placement_rule: "plrule-s3".into(),
                placement_binding: "plbinding-s3".into(),
                configuration_policy: "cfg-policy-s3".into(),
            }
        );
        assert_eq!(
            Format::Velero.names("s3"),
            ObjectNames {
                policy: "vs3".into(),
                placement_rule: "plrule-vs3".into(),
                placement_binding: "plbinding-vs3".into(),
                configuration_policy: "cfg-policy-vs3".into(),
            }
        );
        assert_eq!(
            Format::Ramen.finalizer(),
            "drpolicies.ramendr.openshift.io/policy-protection"
        );
        assert_eq!(
            Format::Velero.finalizer(),
            "drpolicies.ramendr.openshift.io/policy-protection-velero"
        );
        assert_eq!(Format::Velero.to_string(), "velero");
    }

    #[test]
    fn secret_of_inverts_ramen_format_object_names() {
        assert_eq!(
            ocm_names::secret_of("PlacementRule", "plrule-s3").as_deref(),
            Some("s3")
        );
        assert_eq!(
            ocm_names::secret_of("PlacementBinding", "plbinding-s3").as_deref(),
            Some("s3")
        );
        assert_eq!(ocm_names::secret_of("Policy", "s3").as_deref(), Some("s3"));
        assert_eq!(ocm_names::secret_of("PlacementRule", "other"), None);
        assert_eq!(ocm_names::secret_of("PlacementRule", "plrule-"), None);
        assert_eq!(ocm_names::secret_of("Secret", "s3"), None);
    }

    #[test]
    fn a_name_starting_with_v_belongs_to_either_format() {
        let owners = |kind, name| ocm_names::owners(kind, name);
        assert_eq!(
            owners("PlacementRule", "plrule-vs3"),
            [
                ("vs3".to_owned(), Format::Ramen),
                ("s3".to_owned(), Format::Velero)
            ]
        );
        assert_eq!(
            owners("Policy", "vs3"),
            [
                ("vs3".to_owned(), Format::Ramen),
                ("s3".to_owned(), Format::Velero)
            ]
        );
        assert_eq!(
            owners("PlacementBinding", "plbinding-s3"),
            [("s3".to_owned(), Format::Ramen)]
        );
        // `v` alone is a secret name, not the velero format of an empty one.
        assert_eq!(owners("Policy", "v"), [("v".to_owned(), Format::Ramen)]);
        assert_eq!(owners("PlacementRule", "other"), []);
    }

    #[test]
    fn replicated_policy_name_limit_counts_the_format_prefix() {
        // Ramen HEAD: len(S) + len(NS) + len(".") + 1 <= 63, for both formats.
        let ns = "ramen-system"; // 12
        let fits = "a".repeat(63 - 12 - 1 - 1);
        let too_long = "a".repeat(63 - 12 - 1);
        assert_eq!(fits.len(), 49);
        assert!(ocm_names::fits_replicated_policy_name(&fits, ns));
        assert!(!ocm_names::fits_replicated_policy_name(&too_long, ns));
        // HEAD's unit test: a 54-character name in a 7-character namespace is the longest accepted.
        assert!(ocm_names::fits_replicated_policy_name(
            &"s".repeat(54),
            "ns-1234"
        ));
        assert!(!ocm_names::fits_replicated_policy_name(
            &"s".repeat(55),
            "ns-1234"
        ));
    }
}
