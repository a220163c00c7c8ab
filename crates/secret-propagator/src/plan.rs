//! The pure planner: which hub Secret goes to which managed clusters, in which formats.
//!
//! Rule: a cluster gets secret `S` iff some holding policy lists that cluster and needs `S` — a policy
//! needs the secrets of the S3 profiles of all its clusters. Which policies hold is the caller's
//! decision (the hub operator: every policy carrying the DRPolicy finalizer, plus every valid policy not
//! being deleted, minus a policy being finalized). Every distributed secret goes in the ramen format,
//! and also in the velero format while the config asks for it ([`velero_namespace`]); both formats go
//! to the same clusters. The plan is a function of its inputs only, so two runs over the same state
//! produce the same objects. A secret whose objects would carry a name that is no Kubernetes name
//! (its own, or a namespace from the config) is held and reported ([`PlanWarning::UnsafeName`]): a
//! config read by `ramen_config` never has one, and one built otherwise must not put text into the
//! Policies that OCM would resolve as templates.

use drpolicy_api::DRPolicy;
use drpolicy_api::names::ocm_names::{self, Format};
use drpolicy_api::ocm::{Delivery, SecretDistribution, UnsafeName};
use drpolicy_validator::{DRClusterLookup, SecretProblem, secret_for_cluster};
use ramen_config::RamenConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::state::Secrets;

/// Which secrets a plan is authoritative for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every secret: anything distributed that the plan does not want is removed.
    All,
    /// Only these secrets; others are left alone whatever their state. The holders given to
    /// [`plan()`] must include every holder needing one of them.
    Secrets(BTreeSet<String>),
}

impl Scope {
    /// Whether `secret` is in scope.
    pub fn contains(&self, secret: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Secrets(set) => set.contains(secret),
        }
    }
}

/// What the planner reads.
pub struct PlanInputs<'a, D: DRClusterLookup + ?Sized> {
    /// The operator namespace: where the hub Secrets and the OCM objects live.
    pub namespace: &'a str,
    /// The parsed RamenConfig.
    pub config: &'a RamenConfig,
    /// The DRClusters.
    pub drclusters: &'a D,
    /// The hub Secrets of the operator namespace (metadata only).
    pub secrets: &'a Secrets,
}

/// One secret to distribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSecret {
    /// Hub Secret name.
    pub name: String,
    /// Clusters that must receive it, sorted (the PlacementRule order).
    pub clusters: BTreeSet<String>,
    /// The Secret's resourceVersion (the Policy trigger).
    pub resource_version: String,
    /// The holding policies that need it.
    pub policies: BTreeSet<String>,
    /// The formats it is delivered in: always [`Format::Ramen`], plus [`Format::Velero`] while the
    /// config asks for it (and no other secret's ramen-format names are in the way).
    pub formats: BTreeSet<Format>,
}

/// A condition the plan tolerated; each names what it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanWarning {
    /// A cluster of a policy has no usable S3 profile or secret reference.
    Profile {
        /// The policy.
        policy: String,
        /// The problem, naming cluster and profile.
        problem: SecretProblem,
    },
    /// A needed Secret does not exist in the operator namespace.
    SecretMissing {
        /// Secret name.
        secret: String,
        /// Operator namespace.
        namespace: String,
        /// Policies that need it.
        policies: BTreeSet<String>,
    },
    /// A needed Secret is being deleted; its distribution is removed so the deletion can finish.
    SecretDeleting {
        /// Secret name.
        secret: String,
        /// Policies that need it.
        policies: BTreeSet<String>,
    },
    /// OCM cannot replicate a policy whose `namespace.name` exceeds 63 characters (counting the format
    /// prefix, as Ramen HEAD does). Nothing is created or grown; what already exists stays until no
    /// holder needs it.
    NameTooLong {
        /// Secret name.
        secret: String,
        /// Operator namespace.
        namespace: String,
        /// Policies that need it.
        policies: BTreeSet<String>,
    },
    /// The velero-format objects of `secret` (`v<secret>`, `plrule-v<secret>`, ...) would carry the
    /// names of the ramen-format objects of the Secret `v<secret>`, which a profile of the config
    /// names: the ramen format wins, `secret` is distributed in the ramen format only.
    VeleroNameTaken {
        /// Secret name.
        secret: String,
        /// Policies that need it.
        policies: BTreeSet<String>,
    },
    /// A name the distribution of `secret` would put into its objects or templates (the secret's
    /// own, the operator, target or velero namespace) is no valid Kubernetes name. A config read by
    /// `ramen_config` never has one; for any other, nothing is created or grown (the secret is
    /// held), so no such name reaches an object.
    UnsafeName {
        /// Secret name.
        secret: String,
        /// Which name, and why.
        problem: UnsafeName,
        /// Policies that need it.
        policies: BTreeSet<String>,
    },
}

fn policy_list(policies: &BTreeSet<String>) -> String {
    policies.iter().cloned().collect::<Vec<_>>().join(", ")
}

impl PlanWarning {
    /// The policies the warning concerns.
    pub fn policies(&self) -> Vec<&str> {
        match self {
            PlanWarning::Profile { policy, .. } => vec![policy.as_str()],
            PlanWarning::SecretMissing { policies, .. }
            | PlanWarning::SecretDeleting { policies, .. }
            | PlanWarning::NameTooLong { policies, .. }
            | PlanWarning::VeleroNameTaken { policies, .. }
            | PlanWarning::UnsafeName { policies, .. } => {
                policies.iter().map(String::as_str).collect()
            }
        }
    }
}

impl PlanWarning {
    /// The warning without the list of policies concerned: what one of them reports about itself,
    /// stable while other policies come and go.
    pub fn summary(&self) -> String {
        match self {
            PlanWarning::Profile { problem, .. } => problem.to_string(),
            PlanWarning::SecretMissing {
                secret, namespace, ..
            } => format!("secret {namespace}/{secret} not found; it is not distributed"),
            PlanWarning::SecretDeleting { secret, .. } => {
                format!("secret {secret} is being deleted; its distribution is removed")
            }
            PlanWarning::NameTooLong {
                secret, namespace, ..
            } => format!(
                "secret namespace.name ({secret}.{namespace}) length exceeds maximum character limit (63)"
            ),
            PlanWarning::VeleroNameTaken { secret, .. } => velero_name_taken(secret),
            PlanWarning::UnsafeName {
                secret, problem, ..
            } => unsafe_name(secret, problem),
        }
    }

    /// The Secret the warning is about (`None` for profile problems, which concern a cluster).
    pub fn secret(&self) -> Option<&str> {
        match self {
            PlanWarning::Profile { .. } => None,
            PlanWarning::SecretMissing { secret, .. }
            | PlanWarning::SecretDeleting { secret, .. }
            | PlanWarning::NameTooLong { secret, .. }
            | PlanWarning::VeleroNameTaken { secret, .. }
            | PlanWarning::UnsafeName { secret, .. } => Some(secret),
        }
    }
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::Profile { policy, problem } => write!(f, "drpolicy {policy}: {problem}"),
            PlanWarning::SecretMissing {
                secret,
                namespace,
                policies,
            } => write!(
                f,
                "secret {namespace}/{secret} needed by drpolicy {} not found; it is not distributed",
                policy_list(policies)
            ),
            PlanWarning::SecretDeleting { secret, policies } => write!(
                f,
                "secret {secret} needed by drpolicy {} is being deleted; its distribution is removed",
                policy_list(policies)
            ),
            PlanWarning::NameTooLong {
                secret,
                namespace,
                policies,
            } => write!(
                f,
                "secret namespace.name ({secret}.{namespace}) length exceeds maximum character limit (63); needed by drpolicy {}",
                policy_list(policies)
            ),
            PlanWarning::VeleroNameTaken { secret, policies } => write!(
                f,
                "{}; needed by drpolicy {}",
                velero_name_taken(secret),
                policy_list(policies)
            ),
            PlanWarning::UnsafeName {
                secret,
                problem,
                policies,
            } => write!(
                f,
                "{}; needed by drpolicy {}",
                unsafe_name(secret, problem),
                policy_list(policies)
            ),
        }
    }
}

fn velero_name_taken(secret: &str) -> String {
    let velero = Format::Velero.policy(secret);
    format!(
        "secret {secret} is not distributed in format 'velero': its policy name {velero} is the \
         ramen-format policy of secret {velero}, which the config names"
    )
}

fn unsafe_name(secret: &str, problem: &UnsafeName) -> String {
    format!("secret {secret:?} is not distributed: {problem}")
}

/// The managed clusters' velero namespace when the config asks for the velero format:
/// `kubeObjectProtection.disabled` false and `kubeObjectProtection.veleroNamespaceName` non-empty **as
/// written** (reference HEAD §12).
///
/// Ramen HEAD's DRPolicy controller decides from its per-reconcile decode of the ConfigMap, which has
/// no default: an absent name means no velero format. (HEAD's startup merge writes `velero` into the
/// ConfigMap, so a ConfigMap HEAD ran with already says it; this operator does not rewrite the
/// ConfigMap, and [`RamenConfig::velero_namespace_name`]'s `velero` default, which is what the DR
/// cluster operator uses, would turn the format on for every config that never asked for it.)
pub fn velero_namespace(config: &RamenConfig) -> Option<&str> {
    let protection = &config.kube_object_protection;
    Some(protection.velero_namespace_name.as_str())
        .filter(|namespace| !protection.disabled && !namespace.is_empty())
}

/// The desired distribution state for the secrets in scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Operator namespace.
    pub namespace: String,
    /// Namespace of the ramen-format Secret delivered on each managed cluster.
    pub target_namespace: String,
    /// Namespace of the velero-format Secret on each managed cluster, when the config asks for that
    /// format ([`velero_namespace`]); `None`: no velero format, and any existing one is removed.
    pub velero_namespace: Option<String>,
    /// Whether distribution is enabled (`deploymentAutomationEnabled` and `s3SecretDistributionEnabled`).
    /// When false the applier creates and grows nothing, but still removes what no holder needs.
    pub enabled: bool,
    /// What the plan is authoritative for.
    pub scope: Scope,
    /// Secrets to distribute, by name.
    pub secrets: BTreeMap<String, DesiredSecret>,
    /// Secrets holders need that cannot be distributed as they are (name too long, or a name that is no
    /// Kubernetes name, see [`PlanWarning::UnsafeName`]): nothing is created
    /// or grown for them, but what exists is kept for the clusters still needing it, as with
    /// distribution disabled.
    pub held: BTreeMap<String, DesiredSecret>,
    /// Everything tolerated while planning.
    pub warnings: Vec<PlanWarning>,
}

impl Plan {
    /// The ramen-format object builder for secret `name` of this plan.
    pub fn distribution<'a>(&'a self, name: &'a str) -> SecretDistribution<'a> {
        SecretDistribution {
            secret: name,
            namespace: &self.namespace,
            target_namespace: &self.target_namespace,
            delivery: Delivery::Ramen,
        }
    }

    /// The object builder for secret `name` in `format`; `None` for the velero format when the plan
    /// has no velero namespace.
    pub fn distribution_in<'a>(
        &'a self,
        name: &'a str,
        format: Format,
    ) -> Option<SecretDistribution<'a>> {
        let delivery = match format {
            Format::Ramen => Delivery::Ramen,
            Format::Velero => Delivery::Velero {
                velero_namespace: self.velero_namespace.as_deref()?,
            },
        };
        Some(SecretDistribution {
            delivery,
            ..self.distribution(name)
        })
    }

    /// Every (cluster, secret) pair the plan distributes, sorted.
    pub fn pairs(&self) -> BTreeSet<(String, String)> {
        self.secrets
            .values()
            .flat_map(|s| s.clusters.iter().map(|c| (c.clone(), s.name.clone())))
            .collect()
    }
}

/// Plans the distributions of the secrets in `scope` from the `holders`.
///
/// `holders` are the policies holding a distribution; pass every holder that needs a secret in scope
/// (all holders always work). Policies being deleted still hold until their own finalization, so only
/// a policy being finalized is left out by the caller.
pub fn plan<'a, D: DRClusterLookup + ?Sized>(
    inputs: &PlanInputs<'_, D>,
    holders: impl IntoIterator<Item = &'a DRPolicy>,
    scope: Scope,
) -> Plan {
    let mut warnings = Vec::new();
    let mut wanted: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for policy in holders {
        let policy_name = policy.metadata.name.clone().unwrap_or_default();
        let clusters: BTreeSet<&str> = policy.spec.dr_clusters.iter().map(String::as_str).collect();
        let mut secrets = BTreeSet::new();
        for cluster in &clusters {
            match secret_for_cluster(cluster, inputs.drclusters, inputs.config) {
                Ok(secret) => {
                    secrets.insert(secret);
                }
                Err(problem) => warnings.push(PlanWarning::Profile {
                    policy: policy_name.clone(),
                    problem,
                }),
            }
        }
        for secret in secrets.into_iter().filter(|s| scope.contains(s)) {
            let (targets, policies) = wanted.entry(secret).or_default();
            targets.extend(clusters.iter().map(|c| (*c).to_owned()));
            policies.insert(policy_name.clone());
        }
    }

    let velero = velero_namespace(inputs.config);
    let target_namespace = inputs
        .config
        .drcluster_operator_namespace_or(inputs.namespace);
    // Secrets the config names: their ramen-format names are theirs, whatever the velero format wants.
    let named: BTreeSet<&str> = inputs
        .config
        .s3_store_profiles
        .iter()
        .map(|p| p.s3_secret_ref.name.as_str())
        .collect();
    let mut desired = BTreeMap::new();
    let mut held = BTreeMap::new();
    for (secret, (clusters, policies)) in wanted {
        // A missing or deleting Secret first: its distribution must go (and its finalizers with it),
        // whatever its name.
        let state = match inputs.secrets.get(&secret) {
            None => {
                warnings.push(PlanWarning::SecretMissing {
                    secret,
                    namespace: inputs.namespace.to_owned(),
                    policies,
                });
                continue;
            }
            Some(state) if state.deleting => {
                warnings.push(PlanWarning::SecretDeleting { secret, policies });
                continue;
            }
            Some(state) => state,
        };
        let fits = ocm_names::fits_replicated_policy_name(&secret, inputs.namespace);
        if !fits {
            warnings.push(PlanWarning::NameTooLong {
                secret: secret.clone(),
                namespace: inputs.namespace.to_owned(),
                policies: policies.clone(),
            });
        }
        let mut formats = BTreeSet::from([Format::Ramen]);
        if velero.is_some() {
            if named.contains(Format::Velero.policy(&secret).as_str()) {
                warnings.push(PlanWarning::VeleroNameTaken {
                    secret: secret.clone(),
                    policies: policies.clone(),
                });
            } else {
                formats.insert(Format::Velero);
            }
        }
        // Every name the objects would carry must be a Kubernetes name, or it could change what
        // OCM does with them (a `{{hub ...}}` in a namespace is a template OCM resolves).
        let unsafe_name = formats.iter().find_map(|format| {
            let delivery = match format {
                Format::Ramen => Delivery::Ramen,
                Format::Velero => Delivery::Velero {
                    velero_namespace: velero.unwrap_or_default(),
                },
            };
            let distribution = SecretDistribution {
                secret: &secret,
                namespace: inputs.namespace,
                target_namespace,
                delivery,
            };
            distribution.validate().err()
        });
        let safe = match unsafe_name {
            Some(problem) => {
                warnings.push(PlanWarning::UnsafeName {
                    secret: secret.clone(),
                    problem,
                    policies: policies.clone(),
                });
                false
            }
            None => true,
        };
        let entry = DesiredSecret {
            name: secret.clone(),
            clusters,
            resource_version: state.resource_version.clone(),
            policies,
            formats,
        };
        if fits && safe {
            desired.insert(secret, entry);
        } else {
            held.insert(secret, entry);
        }
    }

    Plan {
        namespace: inputs.namespace.to_owned(),
        target_namespace: target_namespace.to_owned(),
        velero_namespace: velero.map(str::to_owned),
        enabled: inputs.config.secret_distribution_enabled(),
        scope,
        secrets: desired,
        held,
        warnings,
    }
}
