//! What the propagator knows of the hub: Secret metadata (never values), the live OCM objects as the
//! caller's caches hold them, what a run wrote ([`Written`]) and the two together ([`View`]), and whose
//! distribution a live Policy is.

use drpolicy_api::names::S3_SECRET_KEYS;
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::{
    PlacementBinding, PlacementRule, Policy, VELERO_SECRET_DATA_KEY, hub_from_secret_template,
    template_string_literal,
};
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
    /// Whether the Secret carries a distribution finalizer of ours, in either format
    /// (`drpolicies.ramendr.openshift.io/policy-protection` or `…/policy-protection-velero`).
    pub has_finalizer: bool,
    /// The Secret's finalizers, in order (needed to remove ours precisely).
    pub finalizers: Vec<String>,
}

impl SecretState {
    /// Reads the state from a Secret's metadata.
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        let finalizers = meta.finalizers.clone().unwrap_or_default();
        let has_finalizer = Format::ALL
            .iter()
            .any(|format| finalizers.iter().any(|f| f == format.finalizer()));
        SecretState {
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            has_finalizer,
            finalizers,
        }
    }

    /// Whether the Secret carries the finalizer of `format`.
    pub fn finalized(&self, format: Format) -> bool {
        self.finalizers.iter().any(|f| f == format.finalizer())
    }
}

/// Secrets of the operator namespace by name.
pub type Secrets = BTreeMap<String, SecretState>;

/// The live OCM distribution objects of the operator namespace, by name, as a cache holds them.
///
/// Only the names the caller cares about need to be present; an absent name means "does not exist".
/// The velero-format objects of secret `S` are those named after Policy `vS`.
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
    pub fn overlay(&mut self, written: &Written) {
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

    /// Names of the secrets with a live Policy that is a distribution of ours, in either format (see
    /// [`distribution_of`]). Objects that merely share the naming scheme and label are not ours to
    /// change or delete.
    pub fn owned_secrets<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = String> + 'a {
        self.policies
            .values()
            .filter_map(move |policy| distribution_of(policy, namespace))
            .map(|(secret, _)| secret)
    }
}

/// The state the server answered to each write of a run: what a cache will show once its watch caught
/// up. Callers whose caches lag their own writes overlay this on the cached state until the watch
/// delivers the same resourceVersion (see [`LiveObjects::overlay`]).
#[derive(Debug, Default, Clone)]
pub struct Written {
    /// Policies applied (`Some`) or deleted (`None`), by name.
    pub policies: BTreeMap<String, Option<Arc<Policy>>>,
    /// PlacementRules applied or deleted, by name.
    pub placement_rules: BTreeMap<String, Option<Arc<PlacementRule>>>,
    /// PlacementBindings applied or deleted, by name.
    pub placement_bindings: BTreeMap<String, Option<Arc<PlacementBinding>>>,
    /// Secret metadata after our finalizer patches, by name.
    pub secrets: BTreeMap<String, SecretState>,
}

impl Written {
    /// Whether the run wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.placement_rules.is_empty()
            && self.placement_bindings.is_empty()
            && self.secrets.is_empty()
    }
}

/// The live objects as a run has left them so far: what it wrote, else what the cache shows. A secret
/// handled later in a run sees what an earlier one did to objects of the same name.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The cached objects.
    pub live: &'a LiveObjects,
    /// What the run wrote (or, for [`diff`](crate::diff()), assumes it will have written).
    pub written: &'a Written,
}

impl<'a> View<'a> {
    /// The Policy `name`, if it exists.
    pub fn policy(&self, name: &str) -> Option<&'a Policy> {
        current(&self.written.policies, &self.live.policies, name)
    }

    /// The PlacementRule `name`, if it exists.
    pub fn rule(&self, name: &str) -> Option<&'a PlacementRule> {
        current(
            &self.written.placement_rules,
            &self.live.placement_rules,
            name,
        )
    }

    /// The PlacementBinding `name`, if it exists.
    pub fn binding(&self, name: &str) -> Option<&'a PlacementBinding> {
        current(
            &self.written.placement_bindings,
            &self.live.placement_bindings,
            name,
        )
    }
}

fn current<'a, K>(
    written: &'a BTreeMap<String, Option<Arc<K>>>,
    live: &'a BTreeMap<String, Arc<K>>,
    name: &str,
) -> Option<&'a K> {
    match written.get(name) {
        Some(object) => object.as_deref(),
        None => live.get(name).map(AsRef::as_ref),
    }
}

/// Whether `policy` is the ramen-format distribution of hub Secret `secret` of `namespace` (it carries
/// our hub template for that Secret).
pub fn distributes(policy: &Policy, namespace: &str, secret: &str) -> bool {
    distributes_in(policy, namespace, secret, Format::Ramen)
}

/// Whether `policy` is the distribution of hub Secret `secret` of `namespace` in `format`: the
/// ramen format carries our hub template for that Secret; the velero format carries the
/// `ramengenerated` template reading that Secret on the managed cluster (whatever namespace it was
/// delivered to, which the config may have changed since).
pub fn distributes_in(policy: &Policy, namespace: &str, secret: &str, format: Format) -> bool {
    let Ok(spec) = serde_json::to_string(&policy.spec) else {
        return false;
    };
    // The templates sit JSON-encoded inside the spec: compare in that encoding.
    let encoded = |text: &str| {
        serde_json::to_string(text)
            .map(|t| t.trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    match format {
        Format::Ramen => {
            let template = hub_from_secret_template(namespace, secret, S3_SECRET_KEYS[0]);
            spec.contains(&encoded(&template))
        }
        Format::Velero => {
            let key = format!("\"{VELERO_SECRET_DATA_KEY}\":");
            let lookup = format!(
                "\" {}).data.{}",
                template_string_literal(secret),
                S3_SECRET_KEYS[0]
            );
            spec.contains(&key) && spec.contains(&encoded(&lookup))
        }
    }
}

/// Whose distribution the live `policy` is, as (secret, format), judged by its name and content: a
/// Policy `vS` is the ramen format of Secret `vS` or the velero format of Secret `S`, and only its
/// templates tell which. `None` for a Policy that is neither.
pub fn distribution_of(policy: &Policy, namespace: &str) -> Option<(String, Format)> {
    let name = policy.metadata.name.as_deref()?;
    drpolicy_api::names::ocm_names::owners("Policy", name)
        .into_iter()
        .find(|(secret, format)| distributes_in(policy, namespace, secret, *format))
}
