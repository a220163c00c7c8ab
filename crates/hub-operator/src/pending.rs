//! What this process wrote and its caches do not show yet: one overlay per kind we write (DRPolicy
//! metadata and status, Secret metadata, OCM Policy, PlacementRule, PlacementBinding), all with one
//! rule.
//!
//! A write is recorded with the server's answer. Until the cache shows it, readers see the answer
//! instead of the cached copy, so a decision right after a write neither repeats it nor undoes it
//! (say, a reconcile of another policy sharing a secret planning from a cache that lags our finalizer
//! write, and shrinking a PlacementRule for a moment). An entry leaves when:
//! - the cache holds the object at the written resourceVersion or a later one (resourceVersions are
//!   compared as numbers where both are, as every API server we know numbers them, and grow across
//!   objects, so an object re-created under the name counts as later; opaque versions count only when
//!   equal, or when the cached copy is another object);
//! - for a deletion we wrote, the cache no longer holds the object; for a write of ours, the object is
//!   deleted after it (someone else's deletion, repaired from the cache);
//! - the object is forgotten (a DRPolicy or a Secret deleted);
//! - [`OWN_WRITE_TTL`] passed since the write: the cache is trusted again (should the watch never show
//!   a write, the distribution converges the secret once more then).
//!
//! Entries are decided under the overlay's lock against the cache: a watch event applied before a write
//! is recorded will not come again, so a write the cache already shows is not recorded at all.

use drpolicy_api::DRPolicy;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use kube::Resource;
use parking_lot::Mutex;
use secret_propagator::{LiveObjects, SecretState, Secrets, Written};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::HubView;

/// How long an own write overrides the cache at most. Normally the watch shows it within
/// milliseconds.
pub(crate) const OWN_WRITE_TTL: Duration = Duration::from_secs(10);

/// The identity and version of one copy of an object.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stamp<'a> {
    /// `metadata.uid`, when known.
    pub(crate) uid: Option<&'a str>,
    /// `metadata.resourceVersion`, when known.
    pub(crate) version: Option<&'a str>,
}

impl<'a> Stamp<'a> {
    /// The stamp of a Kubernetes object.
    pub(crate) fn of<K: Resource>(object: &'a K) -> Self {
        Stamp {
            uid: object.meta().uid.as_deref(),
            version: object.meta().resource_version.as_deref(),
        }
    }

    /// Whether this copy (the cache's) shows a write answered with `written`: it is at that version
    /// or a later one (resourceVersions of one server grow across all objects, so an object
    /// re-created under the name is later too). Opaque versions only count when equal, or when the
    /// copy is another object (another uid).
    fn shows(self, written: Stamp<'_>) -> bool {
        let (Some(cached), Some(ours)) = (self.version, written.version) else {
            return false;
        };
        match (cached.parse::<u64>(), ours.parse::<u64>()) {
            (Ok(cached), Ok(ours)) => cached >= ours,
            _ => cached == ours || matches!((self.uid, written.uid), (Some(a), Some(b)) if a != b),
        }
    }
}

/// A value an overlay can hold: it knows its stamp.
pub(crate) trait Stamped: Clone {
    /// The stamp of the written copy.
    fn stamp(&self) -> Stamp<'_>;
}

impl<K: Resource> Stamped for Arc<K> {
    fn stamp(&self) -> Stamp<'_> {
        Stamp::of(self.as_ref())
    }
}

impl Stamped for SecretState {
    fn stamp(&self) -> Stamp<'_> {
        Stamp {
            uid: None,
            version: Some(&self.resource_version),
        }
    }
}

struct Entry<V> {
    /// The server's answer to our last write; `None` when we deleted the object.
    value: Option<V>,
    /// Every resourceVersion our writes produced since the entry was made (an event at one of them
    /// is our own).
    versions: Vec<String>,
    at: Instant,
}

impl<V: Stamped> Entry<V> {
    fn shown_by(&self, cached: Option<Stamp<'_>>) -> bool {
        match (&self.value, cached) {
            (Some(value), Some(cached)) => cached.shows(value.stamp()),
            (None, None) => true,
            _ => false,
        }
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.at) >= OWN_WRITE_TTL
    }
}

/// The own writes of one kind, by object name.
pub(crate) struct Overlay<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
}

impl<V> Default for Overlay<V> {
    fn default() -> Self {
        Overlay {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

/// What a watch delivered about an object.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Observed<'a> {
    /// Created or changed: the copy now in the cache.
    Present(Stamp<'a>),
    /// Deleted: the last copy of the deleted object.
    Deleted(Stamp<'a>),
}

impl<V: Stamped> Overlay<V> {
    /// Records that we wrote `name`, answered with `value` (`None`: deleted). `cached` reads what the
    /// cache holds now; it is read under the overlay's lock, so a watch event applied before this
    /// point is taken into account and one applied after it finds the entry.
    pub(crate) fn wrote<C: Stamped>(
        &self,
        name: &str,
        value: Option<V>,
        cached: impl FnOnce() -> Option<C>,
    ) {
        let mut entries = self.entries.lock();
        let cached = cached();
        let cached = cached.as_ref().map(Stamped::stamp);
        let version = value
            .as_ref()
            .and_then(|v| v.stamp().version.map(str::to_owned));
        let mut versions = match entries.remove(name) {
            Some(previous) if !previous.expired(Instant::now()) => previous.versions,
            _ => Vec::new(),
        };
        versions.extend(version);
        let entry = Entry {
            value,
            versions,
            at: Instant::now(),
        };
        if !entry.shown_by(cached) {
            entries.insert(name.to_owned(), entry);
        }
    }

    /// The watch delivered `name`. Drops the entry when the cache shows it, or when the object was
    /// deleted after our write (someone else's deletion, to be repaired from the cache); returns
    /// whether the delivered event is our own write.
    pub(crate) fn observed(&self, name: &str, event: Observed<'_>) -> bool {
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get(name) else {
            return false;
        };
        let (own, shown) = match event {
            Observed::Present(cached) => (
                cached
                    .version
                    .is_some_and(|v| entry.versions.iter().any(|w| w == v)),
                entry.shown_by(Some(cached)),
            ),
            Observed::Deleted(last) => match &entry.value {
                None => (true, true),
                Some(value) => (false, last.shows(value.stamp())),
            },
        };
        if shown || entry.expired(Instant::now()) {
            entries.remove(name);
        }
        own
    }

    /// What to act on for `name` given a copy of it (`cached`): our last write while that copy does
    /// not show it (`Some(None)`: we deleted it), else `None`. Only the watch ([`Overlay::observed`])
    /// and expiry remove entries: the copy may be one a reconcile holds, not the cache's.
    pub(crate) fn get(&self, name: &str, cached: Option<Stamp<'_>>) -> Option<Option<V>> {
        let entries = self.entries.lock();
        let entry = entries.get(name)?;
        if entry.shown_by(cached) || entry.expired(Instant::now()) {
            return None;
        }
        Some(entry.value.clone())
    }

    /// Every entry younger than [`OWN_WRITE_TTL`].
    pub(crate) fn fresh(&self) -> Vec<(String, Option<V>)> {
        let now = Instant::now();
        self.entries
            .lock()
            .iter()
            .filter(|(_, e)| !e.expired(now))
            .map(|(n, e)| (n.clone(), e.value.clone()))
            .collect()
    }

    /// Drops the entries of `names` older than [`OWN_WRITE_TTL`]; returns whether there were any.
    pub(crate) fn expire<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        let mut dropped = false;
        for name in names {
            if entries.get(name).is_some_and(|e| e.expired(now)) {
                entries.remove(name);
                dropped = true;
            }
        }
        dropped
    }

    /// Whether any of `names` has an entry.
    pub(crate) fn contains_any<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        let entries = self.entries.lock();
        names.into_iter().any(|n| entries.contains_key(n))
    }

    /// Forgets `name`.
    pub(crate) fn forget(&self, name: &str) {
        self.entries.lock().remove(name);
    }

    /// How many entries are pending.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// The overlays of every kind we write.
#[derive(Default)]
pub(crate) struct Pending {
    /// DRPolicies: the answer to our last metadata (label, finalizer) or status write.
    pub(crate) policies: Overlay<Arc<DRPolicy>>,
    /// Secret metadata (our protection finalizers).
    pub(crate) secrets: Overlay<SecretState>,
    /// OCM Policies.
    pub(crate) ocm_policies: Overlay<Arc<Policy>>,
    /// OCM PlacementRules.
    pub(crate) placement_rules: Overlay<Arc<PlacementRule>>,
    /// OCM PlacementBindings.
    pub(crate) placement_bindings: Overlay<Arc<PlacementBinding>>,
}

impl Pending {
    /// Records a write to a DRPolicy answered with `answer` (`None`: it was already gone).
    pub(crate) fn policy_written(&self, hub: &HubView, name: &str, answer: Option<DRPolicy>) {
        let answer = answer.map(|mut p| {
            // Kept until the watch shows it: without managedFields, which are never read.
            p.metadata.managed_fields = None;
            Arc::new(p)
        });
        self.policies.wrote(name, answer, || hub.policy(name));
    }

    /// The DRPolicy watch delivered `policy`; returns whether it is exactly one of our own writes (the
    /// reconcile that made it already went on with it).
    pub(crate) fn policy_observed(&self, policy: &DRPolicy) -> bool {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        self.policies
            .observed(name, Observed::Present(Stamp::of(policy)))
    }

    /// `policy` (a copy from the cache, or one a reconcile got back from a write) as this process last
    /// wrote it: our last answer while that copy does not show it.
    pub(crate) fn policy(&self, policy: &Arc<DRPolicy>) -> Arc<DRPolicy> {
        let name = policy.metadata.name.as_deref().unwrap_or_default();
        match self.policies.get(name, Some(Stamp::of(policy.as_ref()))) {
            Some(Some(written)) => written,
            // We wrote to it and it was gone (a finalizer removal the server answered with 404).
            Some(None) | None => policy.clone(),
        }
    }

    /// Forgets what we wrote to policy `name` (it was deleted).
    pub(crate) fn forget_policy(&self, name: &str) {
        self.policies.forget(name);
    }

    /// Records the writes of a distribution run, given the caches of `hub`.
    pub(crate) fn distribution_written(&self, hub: &HubView, written: &Written) {
        fn record<K>(
            overlay: &Overlay<Arc<K>>,
            written: &std::collections::BTreeMap<String, Option<Arc<K>>>,
            cached: impl Fn(&str) -> Option<Arc<K>>,
        ) where
            K: Resource,
        {
            for (name, object) in written {
                overlay.wrote(name, object.clone(), || cached(name));
            }
        }
        let caches = &hub.caches;
        let ns = hub.namespace.as_str();
        record(&self.ocm_policies, &written.policies, |n| {
            caches.ocm_policies.get(&crate::hub::within(n, ns))
        });
        record(&self.placement_rules, &written.placement_rules, |n| {
            caches.placement_rules.get(&crate::hub::within(n, ns))
        });
        record(&self.placement_bindings, &written.placement_bindings, |n| {
            caches.placement_bindings.get(&crate::hub::within(n, ns))
        });
        for (name, state) in &written.secrets {
            // Only existing Secrets are patched: one the cache does not hold any more is gone (its
            // deletion finished when we released it), not a write to wait for.
            let key = crate::hub::within(name, ns);
            if caches.secrets.get(&key).is_some() {
                self.secrets
                    .wrote(name, Some(state.clone()), || caches.secrets.get(&key));
            } else {
                self.secrets.forget(name);
            }
        }
    }

    /// The live objects and Secret states with our fresh writes on top.
    pub(crate) fn overlay(&self, live: &mut LiveObjects, secrets: &mut Secrets) {
        let written = Written {
            policies: self.ocm_policies.fresh().into_iter().collect(),
            placement_rules: self.placement_rules.fresh().into_iter().collect(),
            placement_bindings: self.placement_bindings.fresh().into_iter().collect(),
            secrets: Default::default(),
        };
        live.overlay(&written);
        for (name, state) in self.secrets.fresh() {
            if let Some(state) = state {
                secrets.insert(name, state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp<'a>(uid: &'a str, version: &'a str) -> Stamp<'a> {
        Stamp {
            uid: Some(uid),
            version: Some(version),
        }
    }

    #[derive(Clone, Debug, PartialEq)]
    struct V(&'static str, &'static str);

    impl Stamped for V {
        fn stamp(&self) -> Stamp<'_> {
            stamp(self.0, self.1)
        }
    }

    #[test]
    fn an_entry_lasts_until_the_cache_shows_that_version_or_a_later_one() {
        let overlay = Overlay::<V>::default();
        overlay.wrote("p", Some(V("u", "5")), || Some(V("u", "4")));
        assert_eq!(
            overlay.get("p", Some(stamp("u", "4"))),
            Some(Some(V("u", "5")))
        );
        assert!(
            !overlay.observed("p", Observed::Present(stamp("u", "4"))),
            "not ours"
        );
        assert_eq!(overlay.len(), 1);
        overlay.wrote("p", Some(V("u", "6")), || Some(V("u", "4")));
        assert!(
            overlay.observed("p", Observed::Present(stamp("u", "5"))),
            "our first write"
        );
        assert_eq!(overlay.len(), 1, "the second is not shown yet");
        assert_eq!(
            overlay.get("p", Some(stamp("u", "6"))),
            None,
            "a copy showing it"
        );
        assert_eq!(overlay.len(), 1, "only the watch removes it");
        assert!(overlay.observed("p", Observed::Present(stamp("u", "6"))));
        assert_eq!(overlay.len(), 0);
    }

    #[test]
    fn a_later_version_or_another_object_shows_the_write_too() {
        let overlay = Overlay::<V>::default();
        overlay.wrote("p", Some(V("u", "5")), || None::<V>);
        assert_eq!(overlay.get("p", Some(stamp("u", "9"))), None, "later");
        assert_eq!(
            overlay.get("p", Some(stamp("other", "3"))),
            Some(Some(V("u", "5"))),
            "an older copy of another object does not show it"
        );
        assert_eq!(
            overlay.get("p", Some(stamp("other", "7"))),
            None,
            "re-created later"
        );
        assert!(!overlay.observed("p", Observed::Present(stamp("u", "9"))));
        assert_eq!(overlay.len(), 0);
        overlay.wrote("p", Some(V("u", "5")), || Some(V("u", "5")));
        assert_eq!(overlay.len(), 0, "already shown when recorded");
    }

    #[test]
    fn a_deletion_lasts_until_the_object_is_gone() {
        let overlay = Overlay::<V>::default();
        overlay.wrote("p", None, || Some(V("u", "5")));
        assert_eq!(overlay.get("p", Some(stamp("u", "5"))), Some(None));
        assert!(overlay.observed("p", Observed::Deleted(stamp("u", "5"))));
        assert_eq!(overlay.len(), 0);
    }

    #[test]
    fn a_deletion_after_our_write_drops_it_and_an_older_one_does_not() {
        let overlay = Overlay::<V>::default();
        overlay.wrote("p", Some(V("u2", "8")), || Some(V("u1", "5")));
        assert!(!overlay.observed("p", Observed::Deleted(stamp("u1", "5"))));
        assert_eq!(overlay.len(), 1, "the deletion of the object we replaced");
        assert!(!overlay.observed("p", Observed::Deleted(stamp("u2", "9"))));
        assert_eq!(
            overlay.len(),
            0,
            "someone deleted what we wrote: repaired from the cache"
        );
    }

    #[test]
    fn opaque_versions_count_only_when_equal() {
        assert!(stamp("u", "abc").shows(stamp("u", "abc")));
        assert!(!stamp("u", "abd").shows(stamp("u", "abc")));
        assert!(!stamp("u", "4").shows(stamp("u", "5")));
        assert!(stamp("v", "abd").shows(stamp("u", "abc")), "another object");
    }
}
