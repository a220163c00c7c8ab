//! The `SecretsDistributed` condition of a valid policy, from the outcomes of the secrets it needs.

use drpolicy_api::DRPolicy;
use drpolicy_validator::needed_secrets;
use kube::ResourceExt;
use ramen_config::RamenConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::context::Context;
use super::error::describe_secret_failures;
use crate::bounded;
use crate::conditions::{Desired, SECRETS_DISTRIBUTED, reason};
use crate::distribution::Result as Distribution;

/// The `SecretsDistributed` condition of a valid policy, from the outcomes of the secrets it needs;
/// `None` while one of them has not been converged with this policy as a holder (the distribution
/// worker requeues the policy when it has).
pub(super) fn distribution_condition(
    ctx: &Context,
    policy: &DRPolicy,
    config: &RamenConfig,
    drclusters: &BTreeMap<String, Arc<drpolicy_api::DRCluster>>,
) -> Option<Desired> {
    let name = policy.name_any();
    let needs = needed_secrets(policy, drclusters, config);
    let mut pending = BTreeSet::new();
    let mut failures = Vec::new();
    let mut problems: Vec<String> = needs
        .problems
        .iter()
        .map(|p| format!("drpolicy {name}: {p}"))
        .collect();
    let mut distributed = Vec::new();
    for secret in &needs.secrets {
        let outcome = ctx
            .distribution
            .outcome(secret)
            .filter(|o| o.holders.contains(&name));
        match outcome.map(|o| o.result) {
            None => {
                pending.insert(secret.clone());
            }
            Some(Distribution::Distributed) => distributed.push(secret.as_str()),
            Some(Distribution::Disabled) if config.secret_distribution_enabled() => {
                // Converged under an older config; the config change requeued the secret.
                pending.insert(secret.clone());
            }
            Some(Distribution::Disabled) => {}
            Some(Distribution::Unavailable(why)) => problems.push(why),
            Some(Distribution::Failed(failed)) => failures.push((secret.clone(), failed)),
        }
    }
    if !pending.is_empty() {
        tracing::debug!(secrets = ?pending, "waiting for secret distribution");
        ctx.distribution.wait_for(&name, &pending);
        return None;
    }
    if !config.secret_distribution_enabled() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::DISTRIBUTION_DISABLED,
            "S3 secret distribution is disabled: drClusterOperator.deploymentAutomationEnabled and \
             drClusterOperator.s3SecretDistributionEnabled must both be true",
        ));
    }
    if !failures.is_empty() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::DISTRIBUTION_FAILED,
            format!("drpolicy deploy: {}", describe_secret_failures(&failures)),
        ));
    }
    if !problems.is_empty() {
        return Some(Desired::failed(
            SECRETS_DISTRIBUTED,
            reason::SECRETS_UNAVAILABLE,
            bounded::list(&problems, "; "),
        ));
    }
    Some(Desired::ok(
        SECRETS_DISTRIBUTED,
        reason::DISTRIBUTED,
        format!(
            "secrets [{}] distributed to clusters [{}]",
            distributed.join(" "),
            policy.spec.dr_clusters.join(" ")
        ),
    ))
}
