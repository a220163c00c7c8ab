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

/// Names of the OCM objects that distribute hub S3 secret `S` (reference §2.1).
///
/// The Policy has the Secret's own name so that OCM's replicated policy `NS.S` stays recognisable.
pub mod ocm_names {
    /// Name of the distribution Policy for secret `secret` (the secret name itself).
    pub fn policy(secret: &str) -> String {
        secret.to_owned()
    }
    /// Name of the PlacementRule listing the clusters that receive `secret`.
    pub fn placement_rule(secret: &str) -> String {
        format!("plrule-{secret}")
    }
    /// Name of the PlacementBinding tying the Policy to its PlacementRule.
    pub fn placement_binding(secret: &str) -> String {
        format!("plbinding-{secret}")
    }
    /// Name of the ConfigurationPolicy embedded in the Policy.
    pub fn configuration_policy(secret: &str) -> String {
        format!("cfg-policy-{secret}")
    }
    /// If `object_name` is a distribution object name of one of the three kinds, the secret it belongs to.
    ///
    /// `kind` is `Policy`, `PlacementRule` or `PlacementBinding`.
    pub fn secret_of(kind: &str, object_name: &str) -> Option<String> {
        match kind {
            "Policy" => Some(object_name.to_owned()),
            "PlacementRule" => object_name.strip_prefix("plrule-").map(str::to_owned),
            "PlacementBinding" => object_name.strip_prefix("plbinding-").map(str::to_owned),
            _ => None,
        }
    }

    /// Longest `namespace.name` OCM accepts for a replicated policy (a label value).
    pub const MAX_REPLICATED_POLICY_NAME: usize = 63;

    /// Whether OCM can replicate policy `secret` of namespace `namespace`: `len(S) + len(NS) + 1 <= 63`
    /// (Ramen's guard, reference §2.1).
    pub fn fits_replicated_policy_name(secret: &str, namespace: &str) -> bool {
        let replicated_name = namespace.len() + ".".len() + secret.len();
        replicated_name <= MAX_REPLICATED_POLICY_NAME
    }
}

#[cfg(test)]
mod tests {
    use super::ocm_names;

    #[test]
    fn ocm_object_names_follow_ramen_scheme() {
        assert_eq!(ocm_names::policy("s3"), "s3");
        assert_eq!(ocm_names::placement_rule("s3"), "plrule-s3");
        assert_eq!(ocm_names::placement_binding("s3"), "plbinding-s3");
        assert_eq!(ocm_names::configuration_policy("s3"), "cfg-policy-s3");
    }

    #[test]
    fn secret_of_inverts_object_names() {
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
        assert_eq!(ocm_names::secret_of("Secret", "s3"), None);
    }

    #[test]
    fn replicated_policy_name_limit_is_63_including_dot() {
        let ns = "ramen-system"; // 12
        let fits = "a".repeat(63 - 12 - 1);
        let too_long = "a".repeat(63 - 12);
        assert!(ocm_names::fits_replicated_policy_name(&fits, ns));
        assert!(!ocm_names::fits_replicated_policy_name(&too_long, ns));
    }
}
