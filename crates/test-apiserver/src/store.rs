//! In-memory object storage: objects keyed by (resource, namespace, name), one monotonically
//! increasing resourceVersion, a bounded event history, and the fan-out to open watches.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::registry::StorageKey;

/// The type of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

/// One committed change.
#[derive(Debug)]
pub struct StoreEvent {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Which resource.
    pub key: StorageKey,
    /// Namespace of the object (empty for cluster-scoped).
    pub namespace: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (the last state for deletions).
    pub object: Arc<Value>,
    /// The object before the change, for selector transitions.
    pub old: Option<Arc<Value>>,
}

struct WatcherSlot {
    key: StorageKey,
    namespace: Option<String>,
    tx: mpsc::UnboundedSender<Arc<StoreEvent>>,
}

/// A watch that asked for a resourceVersion older than the kept history.
#[derive(Debug)]
pub struct TooOld {
    /// The oldest resourceVersion a watch can start from.
    pub oldest: u64,
}

/// The in-memory store.
pub struct Store {
    rv: u64,
    objects: HashMap<StorageKey, BTreeMap<(String, String), Arc<Value>>>,
    history: VecDeque<Arc<StoreEvent>>,
    history_limit: usize,
    /// Changes with rv <= compacted are no longer in the history.
    compacted: u64,
    watchers: Vec<WatcherSlot>,
    /// Where each uid is stored.
    by_uid: HashMap<String, Location>,
    /// Objects naming each uid in their `ownerReferences`.
    dependents: HashMap<String, BTreeSet<Location>>,
}

/// Where an object is stored: resource, namespace, name.
pub type Location = (StorageKey, String, String);

/// The uids in an object's `ownerReferences`.
pub fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Store {
    /// An empty store keeping `history_limit` events for watch resumption.
    pub fn new(history_limit: usize) -> Self {
        Store {
            rv: 1,
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 1,
            watchers: Vec::new(),
            by_uid: HashMap::new(),
            dependents: HashMap::new(),
        }
    }

    /// The objects naming `uid` as an owner.
    pub fn dependents_of(&self, uid: &str) -> Vec<(StorageKey, Arc<Value>)> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|(k, ns, name)| self.get(k, ns, name).map(|o| (k.clone(), o)))
            .collect()
    }

    /// The object with this uid.
    pub fn find_uid(&self, uid: &str) -> Option<(StorageKey, Arc<Value>)> {
        let (k, ns, name) = self.by_uid.get(uid)?;
        self.get(k, ns, name).map(|o| (k.clone(), o))
    }

    fn unindex(&mut self, loc: &Location, obj: &Value) {
        if let Some(uid) = crate::meta::meta_str(obj, "uid") {
            self.by_uid.remove(uid);
        }
        for owner in owner_uids(obj) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(loc);
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
        }
    }

    fn index(&mut self, loc: &Location, obj: &Value) {
        if let Some(uid) = crate::meta::meta_str(obj, "uid") {
            self.by_uid.insert(uid.to_string(), loc.clone());
        }
        for owner in owner_uids(obj) {
            self.dependents
                .entry(owner)
                .or_default()
                .insert(loc.clone());
        }
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// Allocates the next resourceVersion.
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// One object.
    pub fn get(&self, key: &StorageKey, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(key)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a resource, optionally in one namespace, sorted by namespace and name.
    pub fn list(&self, key: &StorageKey, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let Some(objs) = self.objects.get(key) else {
            return Vec::new();
        };
        match namespace {
            Some(ns) => objs
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => objs.values().cloned().collect(),
        }
    }

    /// Stores `object` (whose resourceVersion must already be `rv`) and emits an event.
    pub fn put(
        &mut self,
        key: &StorageKey,
        rv: u64,
        object: Value,
        old: Option<Arc<Value>>,
    ) -> Arc<Value> {
        let ns = crate::meta::namespace(&object).to_string();
        let name = crate::meta::name(&object).to_string();
        let loc = (key.clone(), ns.clone(), name.clone());
        let object = Arc::new(object);
        let previous = self
            .objects
            .entry(key.clone())
            .or_default()
            .insert((ns.clone(), name), object.clone());
        if let Some(p) = previous {
            self.unindex(&loc, &p);
        }
        self.index(&loc, &object);
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(StoreEvent {
            rv,
            key: key.clone(),
            namespace: ns,
            kind,
            object: object.clone(),
            old,
        });
        object
    }

    /// Removes an object; `last` is its final state (with the deletion's resourceVersion).
    pub fn remove(&mut self, key: &StorageKey, rv: u64, last: Value) -> Arc<Value> {
        let ns = crate::meta::namespace(&last).to_string();
        let name = crate::meta::name(&last).to_string();
        let old = self
            .objects
            .get_mut(key)
            .and_then(|m| m.remove(&(ns.clone(), name.clone())));
        if let Some(o) = &old {
            self.unindex(&(key.clone(), ns.clone(), name), o);
        }
        let last = Arc::new(last);
        self.emit(StoreEvent {
            rv,
            key: key.clone(),
            namespace: ns,
            kind: EventType::Deleted,
            object: last.clone(),
            old,
        });
        last
    }

    /// Drops every object of a resource without events (used when its CRD goes away, after the
    /// caller emitted deletions).
    pub fn drop_resource(&mut self, key: &StorageKey) {
        if let Some(objs) = self.objects.remove(key) {
            for ((ns, name), o) in objs {
                self.unindex(&(key.clone(), ns, name), &o);
            }
        }
    }

    fn emit(&mut self, event: StoreEvent) {
        let event = Arc::new(event);
        self.watchers.retain(|w| {
            if w.key != event.key {
                return !w.tx.is_closed();
            }
            if let Some(ns) = &w.namespace
                && *ns != event.namespace
            {
                return !w.tx.is_closed();
            }
            w.tx.send(event.clone()).is_ok()
        });
        self.history.push_back(event);
        while self.history.len() > self.history_limit {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    /// Objects of a resource as they were at resourceVersion `rv` (for consistent paging),
    /// reconstructed from the current state and the history after `rv`.
    pub fn list_at(
        &self,
        key: &StorageKey,
        namespace: Option<&str>,
        rv: u64,
    ) -> Result<Vec<Arc<Value>>, TooOld> {
        if rv < self.compacted {
            return Err(TooOld {
                oldest: self.compacted,
            });
        }
        let mut state: BTreeMap<(String, String), Arc<Value>> = self
            .list(key, namespace)
            .into_iter()
            .map(|o| {
                (
                    (
                        crate::meta::namespace(&o).to_string(),
                        crate::meta::name(&o).to_string(),
                    ),
                    o,
                )
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for e in self.history.iter().filter(|e| e.rv > rv && e.key == *key) {
            if namespace.is_some_and(|ns| ns != e.namespace) {
                continue;
            }
            let id = (
                e.namespace.clone(),
                crate::meta::name(&e.object).to_string(),
            );
            if !seen.insert(id.clone()) {
                continue;
            }
            // The first change after `rv` tells what the object was at `rv`.
            match (&e.kind, &e.old) {
                (EventType::Added, _) | (_, None) => {
                    state.remove(&id);
                }
                (_, Some(old)) => {
                    state.insert(id, old.clone());
                }
            }
        }
        Ok(state.into_values().collect())
    }

    /// Forgets all history: any watch from a resourceVersion older than now gets 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    /// Registers a watch. With `from`, the backlog holds the changes after `from`; a version
    /// older than the kept history is [`TooOld`].
    #[allow(clippy::type_complexity)]
    pub fn subscribe(
        &mut self,
        key: &StorageKey,
        namespace: Option<&str>,
        from: Option<u64>,
    ) -> Result<
        (
            Vec<Arc<StoreEvent>>,
            mpsc::UnboundedReceiver<Arc<StoreEvent>>,
        ),
        TooOld,
    > {
        let mut backlog = Vec::new();
        if let Some(from) = from {
            if from < self.compacted {
                return Err(TooOld {
                    oldest: self.compacted,
                });
            }
            backlog = self
                .history
                .iter()
                .filter(|e| e.rv > from && e.key == *key)
                .filter(|e| namespace.is_none_or(|ns| ns == e.namespace))
                .cloned()
                .collect();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.watchers.push(WatcherSlot {
            key: key.clone(),
            namespace: namespace.map(str::to_string),
            tx,
        });
        Ok((backlog, rx))
    }

    /// Closes every open watch (their streams end).
    pub fn close_watches(&mut self) {
        self.watchers.clear();
    }

    /// Number of open watches.
    pub fn watch_count(&mut self) -> usize {
        self.watchers.retain(|w| !w.tx.is_closed());
        self.watchers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> StorageKey {
        StorageKey {
            group: String::new(),
            plural: "configmaps".into(),
        }
    }

    fn cm(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    #[test]
    fn list_filters_by_namespace_and_sorts_by_name() {
        let mut s = Store::new(10);
        for (ns, n) in [("b", "x"), ("a", "z"), ("a", "y")] {
            let rv = s.next_rv();
            s.put(&key(), rv, cm(ns, n), None);
        }
        let names: Vec<_> = s
            .list(&key(), Some("a"))
            .iter()
            .map(|o| crate::meta::name(o).to_string())
            .collect();
        assert_eq!(names, vec!["y", "z"]);
        assert_eq!(s.list(&key(), None).len(), 3);
    }

    #[test]
    fn list_at_reconstructs_an_earlier_version() {
        let mut s = Store::new(10);
        let rv = s.next_rv();
        let a = s.put(&key(), rv, cm("d", "a"), None);
        let snapshot = s.current_rv();
        let rv = s.next_rv();
        let mut changed = cm("d", "a");
        changed["data"] = json!({"x": "1"});
        s.put(&key(), rv, changed, Some(a));
        let rv = s.next_rv();
        s.put(&key(), rv, cm("d", "b"), None);
        let then = s.list_at(&key(), None, snapshot).expect("in history");
        assert_eq!(then.len(), 1);
        assert!(then[0].get("data").is_none());
        s.compact();
        assert!(s.list_at(&key(), None, snapshot).is_err());
    }

    #[test]
    fn uid_and_owner_indexes_follow_writes_and_removals() {
        let mut s = Store::new(10);
        let rv = s.next_rv();
        let mut child = cm("d", "child");
        child["metadata"]["uid"] = json!("c1");
        child["metadata"]["ownerReferences"] = json!([{"uid": "o1"}]);
        let stored = s.put(&key(), rv, child.clone(), None);
        assert_eq!(s.dependents_of("o1").len(), 1);
        assert!(s.find_uid("c1").is_some());
        child["metadata"]["ownerReferences"] = json!([{"uid": "o2"}]);
        let rv = s.next_rv();
        s.put(&key(), rv, child.clone(), Some(stored));
        assert!(s.dependents_of("o1").is_empty());
        assert_eq!(s.dependents_of("o2").len(), 1);
        let rv = s.next_rv();
        s.remove(&key(), rv, child);
        assert!(s.dependents_of("o2").is_empty());
        assert!(s.find_uid("c1").is_none());
    }

    #[test]
    fn subscribe_from_compacted_version_is_too_old() {
        let mut s = Store::new(2);
        for n in ["a", "b", "c"] {
            let rv = s.next_rv();
            s.put(&key(), rv, cm("d", n), None);
        }
        assert!(s.subscribe(&key(), None, Some(1)).is_err());
        let (backlog, _rx) = s.subscribe(&key(), None, Some(3)).expect("in history");
        assert_eq!(backlog.len(), 1);
    }
}
