//! One watch: a kube watcher feeding a reflector store, whose events are turned into the changes the
//! mappers act on. A relist (after a 410 or a watch gap) is compared with what the store held before
//! it, so it yields only the objects that changed, appeared or vanished meanwhile: a relist with no
//! change costs no reconcile and no distribution run.

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use tokio::task::JoinHandle;

use crate::kube_util::is_not_served;
use crate::metrics::Metrics;

/// What changed in a watch event, for the mappers.
pub(crate) enum Change<'a, K> {
    /// Created or modified (also: listed by a relist with another resourceVersion, or new).
    Applied(&'a K),
    /// Deleted (also: gone from a relist).
    Deleted(&'a K),
    /// A relist after a watch gap completed; its differences were reported before this.
    Relisted,
    /// The first complete list is in the cache.
    Synced,
}

/// Compares a (re)list with the store it replaces. Feed it every event *after* the reflector applied
/// it: until `InitDone` the store still shows the state before the list, and at `InitDone` it shows
/// the list. So differences are only recorded while the list arrives, and reported at its end, once
/// every reader of the store sees the listed state:
/// - each object listed with another resourceVersion, or new: [`Change::Applied`] (with the store's
///   copy); one whose uid changed is first reported [`Change::Deleted`] (the object it replaced);
/// - each object the list no longer holds: [`Change::Deleted`];
/// - then [`Change::Relisted`], or [`Change::Synced`] after the first list.
///
/// A list that fails and starts again starts over: nothing of the failed attempt was reported.
pub(crate) struct RelistDiff<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    listed_once: bool,
    /// Whether the first list reports each object as applied (the DRPolicy stream reconciles them).
    report_first_list: bool,
    /// What the store held when the current list started (`None` outside a list).
    before: Option<Vec<Arc<K>>>,
    /// The objects the current list found changed or new, with the object a new uid replaced.
    changed: Vec<(ObjectRef<K>, Option<Arc<K>>)>,
}

impl<K> RelistDiff<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    /// A diff over `store` (the reader of the reflector the events went through).
    pub(crate) fn new(store: Store<K>) -> Self {
        RelistDiff {
            store,
            listed_once: false,
            report_first_list: false,
            before: None,
            changed: Vec::new(),
        }
    }

    /// Also reports every object of the first list as [`Change::Applied`].
    pub(crate) fn reporting_first_list(mut self) -> Self {
        self.report_first_list = true;
        self
    }

    /// Calls `on_change` for what `event` changed (see the type's doc).
    pub(crate) fn changes(&mut self, event: &Event<K>, mut on_change: impl FnMut(Change<'_, K>)) {
        match event {
            Event::Apply(object) => on_change(Change::Applied(object)),
            Event::Delete(object) => on_change(Change::Deleted(object)),
            Event::Init => {
                // Also when a list restarts: the store still holds the state before it.
                self.before = Some(if self.listed_once {
                    self.store.state()
                } else {
                    Vec::new()
                });
                self.changed.clear();
            }
            Event::InitApply(object) => {
                if !self.listed_once && !self.report_first_list {
                    return;
                }
                let key = ObjectRef::from_obj(object);
                match self.store.get(&key) {
                    Some(old) if same_version(old.as_ref(), object) => {}
                    Some(old) if old.meta().uid != object.meta().uid => {
                        self.changed.push((key, Some(old)));
                    }
                    _ => self.changed.push((key, None)),
                }
            }
            Event::InitDone => {
                for (key, replaced) in std::mem::take(&mut self.changed) {
                    if let Some(replaced) = replaced {
                        on_change(Change::Deleted(&replaced));
                    }
                    if let Some(listed) = self.store.get(&key) {
                        on_change(Change::Applied(&listed));
                    }
                }
                for old in self.before.take().unwrap_or_default() {
                    if self.store.get(&ObjectRef::from_obj(&*old)).is_none() {
                        on_change(Change::Deleted(&old));
                    }
                }
                if self.listed_once {
                    on_change(Change::Relisted);
                } else {
                    self.listed_once = true;
                    on_change(Change::Synced);
                }
            }
        }
    }
}

/// Whether two copies are the same version of the same object.
fn same_version<K: Resource>(a: &K, b: &K) -> bool {
    let (a, b) = (a.meta(), b.meta());
    a.uid == b.uid && a.resource_version.is_some() && a.resource_version == b.resource_version
}

/// Runs a watcher into a store and calls `on_change` for every change after the first complete list
/// (see [`RelistDiff`]); watch errors are counted and logged.
pub(crate) fn spawn_watch<K, S>(
    stream: S,
    writer: reflector::store::Writer<K>,
    resource: &'static str,
    metrics: Metrics,
    mut on_change: impl FnMut(Change<'_, K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let mut diff = RelistDiff::new(writer.as_reader());
    tokio::spawn(async move {
        let mut reported_missing = false;
        // managedFields are never read: not caching them saves about half of each object.
        let stream = stream
            .default_backoff()
            .modify(|o: &mut K| o.meta_mut().managed_fields = None)
            .reflect(writer);
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => diff.changes(&event, |change| {
                    if matches!(change, Change::Relisted) {
                        tracing::debug!(resource, "relisted after a watch gap");
                    }
                    on_change(change)
                }),
                Err(error) if is_not_served(&error) => {
                    // An optional API (OCM's views): said once, then retried quietly.
                    metrics.watch_errors.with_label_values(&[resource]).inc();
                    if !reported_missing {
                        reported_missing = true;
                        tracing::warn!(
                            resource,
                            "the API server does not serve this resource; retrying quietly until it does"
                        );
                    }
                }
                Err(error) => {
                    metrics.watch_errors.with_label_values(&[resource]).inc();
                    tracing::warn!(resource, error = %error, "watch error");
                }
            }
        }
    })
}

/// The object a change is about, if any.
pub(crate) fn object<'a, K>(change: &Change<'a, K>) -> Option<&'a K> {
    match *change {
        Change::Applied(obj) | Change::Deleted(obj) => Some(obj),
        Change::Relisted | Change::Synced => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn cm(name: &str, rv: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some(format!("uid-{name}")),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn seen(change: Change<'_, ConfigMap>) -> String {
        match change {
            Change::Applied(o) => format!("applied {}", o.metadata.name.as_deref().unwrap()),
            Change::Deleted(o) => format!("deleted {}", o.metadata.name.as_deref().unwrap()),
            Change::Relisted => "relisted".into(),
            Change::Synced => "synced".into(),
        }
    }

    /// Feeds `events` through a reflector writer and the diff, as `spawn_watch` does.
    fn run(
        writer: &mut reflector::store::Writer<ConfigMap>,
        diff: &mut RelistDiff<ConfigMap>,
        events: Vec<Event<ConfigMap>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for event in events {
            writer.apply_watcher_event(&event);
            diff.changes(&event, |c| out.push(seen(c)));
        }
        out
    }

    /// The events of one complete list of `objects` (name, resourceVersion).
    fn list(objects: &[(&str, &str)]) -> Vec<Event<ConfigMap>> {
        let mut events = vec![Event::Init];
        events.extend(objects.iter().map(|(n, rv)| Event::InitApply(cm(n, rv))));
        events.push(Event::InitDone);
        events
    }

    #[test]
    fn a_relist_reports_only_what_changed_appeared_or_vanished() {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut diff = RelistDiff::new(reader);
        let first = run(
            &mut writer,
            &mut diff,
            list(&[("same", "1"), ("changed", "2"), ("vanished", "3")]),
        );
        assert_eq!(first, ["synced"], "the first list is not a change");
        let relist = run(
            &mut writer,
            &mut diff,
            list(&[("same", "1"), ("changed", "7"), ("new", "8")]),
        );
        assert_eq!(
            relist,
            [
                "applied changed",
                "applied new",
                "deleted vanished",
                "relisted"
            ],
            "reported once the store shows the list"
        );
        let unchanged = run(
            &mut writer,
            &mut diff,
            list(&[("same", "1"), ("changed", "7"), ("new", "8")]),
        );
        assert_eq!(unchanged, ["relisted"], "a relist with no change is free");
    }

    #[test]
    fn changes_are_reported_when_the_store_shows_the_list() {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut diff = RelistDiff::new(reader.clone()).reporting_first_list();
        let mut seen_in_store = Vec::new();
        for event in [
            Event::Init,
            Event::InitApply(cm("a", "1")),
            Event::InitDone,
            Event::Init,
            Event::InitApply(cm("a", "2")),
            Event::InitDone,
        ] {
            writer.apply_watcher_event(&event);
            diff.changes(&event, |change| {
                if let Change::Applied(object) = change {
                    let key = ObjectRef::from_obj(object);
                    let cached = reader.get(&key).unwrap();
                    seen_in_store.push(cached.metadata.resource_version.clone().unwrap());
                }
            });
        }
        assert_eq!(
            seen_in_store,
            ["1", "2"],
            "readers already see what is reported"
        );
    }

    #[test]
    fn a_list_that_fails_half_way_reports_nothing_of_it() {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut diff = RelistDiff::new(reader);
        run(&mut writer, &mut diff, vec![Event::Init, Event::InitDone]);
        let out = run(
            &mut writer,
            &mut diff,
            vec![
                Event::Init,
                Event::InitApply(cm("gone-meanwhile", "1")),
                // The list fails and starts again; the object was deleted in between.
                Event::Init,
                Event::InitApply(cm("b", "2")),
                Event::InitDone,
            ],
        );
        assert_eq!(out, ["applied b", "relisted"]);
    }

    #[test]
    fn a_relist_that_restarts_compares_with_the_state_before_it() {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut diff = RelistDiff::new(reader);
        run(
            &mut writer,
            &mut diff,
            vec![Event::Init, Event::InitApply(cm("a", "1")), Event::InitDone],
        );
        // A relist fails half-way and starts again: "a" changed meanwhile.
        let out = run(
            &mut writer,
            &mut diff,
            vec![
                Event::Init,
                Event::Init,
                Event::InitApply(cm("a", "2")),
                Event::InitDone,
            ],
        );
        assert_eq!(out, ["applied a", "relisted"]);
        let recreated = run(
            &mut writer,
            &mut diff,
            vec![
                Event::Init,
                Event::InitApply({
                    let mut a = cm("a", "2");
                    a.metadata.uid = Some("other".into());
                    a
                }),
                Event::InitDone,
            ],
        );
        assert_eq!(
            recreated,
            ["deleted a", "applied a", "relisted"],
            "same rv, other object: the one it replaced is gone"
        );
        let live = run(&mut writer, &mut diff, vec![Event::Apply(cm("a", "3"))]);
        assert_eq!(live, ["applied a"]);
    }
}
