//! What the propagator knows of the hub: Secret metadata (never values) and the live OCM objects, as the
//! caller's caches hold them.

use drpolicy_api::names::SECRET_POLICY_FINALIZER;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A hub Secret of the operator namespace, by its metadata only: the propagator never reads Secret data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretState {
    /// `metadata.resourceVersion`, the value of the Policy trigger annotation.
    pub resource_version: String,
    /// Whether the Secret has a `deletionTimestamp`.
    pub deleting: bool,
    /// Whether the Secret carries `drpolicies.ramendr.openshift.io/policy-protection`.
    pub has_finalizer: bool,
    /// The Secret's finalizers, in order (needed to remove ours precisely).
    pub finalizers: Vec<String>,
}

impl SecretState {
    /// Reads the state from a Secret's metadata.
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        let finalizers = meta.finalizers.clone().unwrap_or_default();
        SecretState {
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            has_finalizer: finalizers.iter().any(|f| f == SECRET_POLICY_FINALIZER),
            finalizers,
        }
    }
}

/// Secrets of the operator namespace by name.
pub type Secrets = BTreeMap<String, SecretState>;

/// The live OCM distribution objects of the operator namespace, by name, as a cache holds them.
///
/// Only the names the caller cares about need to be present; an absent name means "does not exist".
#[derive(Debug, Clone, Default)]
pub struct LiveObjects {
    /// Policies by name.
    pub policies: BTreeMap<String, Arc<Policy>>,
    /// PlacementRules by name.
    pub placement_rules: BTreeMap<String, Arc<PlacementRule>>,
    /// PlacementBindings by name.
    pub placement_bindings: BTreeMap<String, Arc<PlacementBinding>>,
}

impl LiveObjects {
    /// Replaces the cached objects with what this process wrote (`Some`) or deleted (`None`), for a
    /// cache that has not caught up with its own writes yet.
    pub fn overlay(&mut self, written: &crate::apply::Written) {
        fn put<K>(live: &mut BTreeMap<String, Arc<K>>, written: &BTreeMap<String, Option<Arc<K>>>) {
            for (name, object) in written {
                match object {
                    Some(object) => live.insert(name.clone(), object.clone()),
                    None => live.remove(name),
                };
            }
        }
        put(&mut self.policies, &written.policies);
        put(&mut self.placement_rules, &written.placement_rules);
        put(&mut self.placement_bindings, &written.placement_bindings);
    }

    /// Names of the secrets whose live Policy is a distribution of ours: it delivers secret `S` of
    /// `namespace` through our hub template. Objects that merely share the naming scheme and label
    /// (Ramen HEAD's velero-format `vS` distributions, say) are not ours to change or delete.
    pub fn owned_secrets<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = String> + 'a {
        self.policies
            .iter()
            .filter(move |(name, policy)| distributes(policy, namespace, name))
            .map(|(name, _)| name.clone())
    }
}

/// Whether `policy` is the distribution of hub Secret `secret` of `namespace` (it carries our hub
/// template for that Secret).
pub fn distributes(policy: &Policy, namespace: &str, secret: &str) -> bool {
    let template = drpolicy_api::ocm::hub_from_secret_template(
        namespace,
        secret,
        drpolicy_api::names::S3_SECRET_KEYS[0],
    );
    serde_json::to_string(&policy.spec).is_ok_and(|spec| {
        // The template sits JSON-encoded inside the spec: compare in that encoding.
        serde_json::to_string(&template)
            .map(|t| spec.contains(t.trim_matches('"')))
            .unwrap_or(false)
    })
}
