//! Which hub S3 Secrets a policy needs: each cluster's DRCluster names an S3 profile, the RamenConfig
//! maps the profile to a Secret (looked up in the operator namespace; `s3SecretRef.namespace` is ignored,
//! as in Ramen).

use drpolicy_api::DRPolicy;
use ramen_config::RamenConfig;
use std::collections::BTreeSet;
use std::fmt;

use crate::DRClusterLookup;

/// Why a cluster of a policy contributes no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretProblem {
    /// The cluster has no DRCluster object, so its S3 profile is unknown.
    DRClusterMissing {
        /// Cluster name.
        cluster: String,
    },
    /// The DRCluster's S3 profile is not in the RamenConfig.
    ProfileMissing {
        /// Cluster name.
        cluster: String,
        /// The profile the DRCluster names.
        profile: String,
    },
    /// The profile has no `s3SecretRef.name`.
    SecretRefMissing {
        /// Cluster name.
        cluster: String,
        /// The profile.
        profile: String,
    },
}

impl fmt::Display for SecretProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretProblem::DRClusterMissing { cluster } => {
                write!(
                    f,
                    "DRCluster {cluster:?} not found, so its S3 profile is unknown"
                )
            }
            // Ramen's wording (drPolicySecretNames).
            SecretProblem::ProfileMissing { cluster, profile } => write!(
                f,
                "missing profile name ({profile}) in config for DRCluster ({cluster})"
            ),
            SecretProblem::SecretRefMissing { cluster, profile } => write!(
                f,
                "s3 profile {profile:?} of DRCluster {cluster:?} has no s3SecretRef.name"
            ),
        }
    }
}

/// The hub Secret holding the S3 credentials of `cluster`'s profile.
pub fn secret_for_cluster(
    cluster: &str,
    drclusters: &(impl DRClusterLookup + ?Sized),
    config: &RamenConfig,
) -> Result<String, SecretProblem> {
    let drcluster =
        drclusters
            .drcluster(cluster)
            .ok_or_else(|| SecretProblem::DRClusterMissing {
                cluster: cluster.to_owned(),
            })?;
    let profile = &drcluster.spec.s3_profile_name;
    let found = config
        .s3_profile(profile)
        .ok_or_else(|| SecretProblem::ProfileMissing {
            cluster: cluster.to_owned(),
            profile: profile.clone(),
        })?;
    if found.s3_secret_ref.name.is_empty() {
        return Err(SecretProblem::SecretRefMissing {
            cluster: cluster.to_owned(),
            profile: profile.clone(),
        });
    }
    Ok(found.s3_secret_ref.name.clone())
}

/// The secrets a policy needs, and why some of its clusters contribute none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretNeeds {
    /// Secret names, sorted.
    pub secrets: BTreeSet<String>,
    /// One entry per cluster that contributes no secret.
    pub problems: Vec<SecretProblem>,
}

/// Every secret of every cluster of `policy` (each cluster of a policy needs its peers' profiles too).
pub fn needed_secrets(
    policy: &DRPolicy,
    drclusters: &(impl DRClusterLookup + ?Sized),
    config: &RamenConfig,
) -> SecretNeeds {
    let mut needs = SecretNeeds::default();
    let unique: BTreeSet<&str> = policy.spec.dr_clusters.iter().map(String::as_str).collect();
    for cluster in unique {
        match secret_for_cluster(cluster, drclusters, config) {
            Ok(secret) => {
                needs.secrets.insert(secret);
            }
            Err(problem) => needs.problems.push(problem),
        }
    }
    needs
}
