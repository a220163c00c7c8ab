//! A deduplicating work queue of string keys (hub Secret names), with client-go workqueue semantics:
//! a key is queued at most once; a key is processed by one worker at a time; a key added while it is
//! being processed is processed again once the current run ends, so no change is ever missed. Keys
//! due later (retries) wait in kube-runtime's scheduler, run by one task per queue.

use futures::StreamExt;
use kube::runtime::scheduler::{ScheduleRequest, scheduler};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    /// Queued keys and since when they wait.
    queued: HashMap<String, Instant>,
    /// Keys being processed and since when.
    running: HashMap<String, Instant>,
    dirty: HashSet<String>,
}

/// The queue; clones share it.
#[derive(Clone, Default)]
pub struct KeyQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    /// Where delayed keys go: the scheduler task, started with the first delayed key.
    delayed: Arc<OnceLock<UnboundedSender<ScheduleRequest<String>>>>,
}

impl KeyQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Queues `key` (no-op if already queued; deferred if being processed).
    pub fn add(&self, key: &str) {
        let mut state = self.lock();
        if state.running.contains_key(key) {
            state.dirty.insert(key.to_owned());
            return;
        }
        if !state.queued.contains_key(key) {
            state.queued.insert(key.to_owned(), Instant::now());
            state.queue.push_back(key.to_owned());
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay` (retries). A key already due earlier keeps its earlier time.
    pub fn add_after(&self, key: &str, delay: Duration) {
        let Some(sender) = self.scheduler() else {
            tracing::error!(key, "no async runtime to delay a key in; queueing it now");
            self.add(key);
            return;
        };
        let request = ScheduleRequest {
            message: key.to_owned(),
            run_at: Instant::now() + delay,
        };
        if sender.send(request).is_err() {
            self.add(key);
        }
    }

    /// The sender to the scheduler task, which is started on first use (in the current runtime). The
    /// task holds the queue weakly: it ends once every clone of the queue is gone.
    fn scheduler(&self) -> Option<&UnboundedSender<ScheduleRequest<String>>> {
        if let Some(sender) = self.delayed.get() {
            return Some(sender);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.delayed.get_or_init(|| {
            let (sender, requests) = unbounded_channel();
            let (state, notify) = (Arc::downgrade(&self.state), Arc::downgrade(&self.notify));
            runtime.spawn(scheduler(UnboundedReceiverStream::new(requests)).for_each(
                move |key: String| {
                    if let Some(queue) = upgrade(&state, &notify) {
                        queue.add(&key);
                    }
                    futures::future::ready(())
                },
            ));
            sender
        }))
    }

    /// Takes the next key that no other worker is processing, waiting for one. Call [`KeyQueue::done`]
    /// when finished with it.
    pub async fn next(&self) -> String {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(key) = state.queue.pop_front() {
                    state.queued.remove(&key);
                    state.running.insert(key.clone(), Instant::now());
                    let more = !state.queue.is_empty();
                    drop(state);
                    if more {
                        // Another worker may be waiting for what is left.
                        self.notify.notify_one();
                    }
                    return key;
                }
            }
            notified.await;
        }
    }

    /// Ends processing of `key`; it is queued again if it was added meanwhile.
    pub fn done(&self, key: &str) {
        let requeue = {
            let mut state = self.lock();
            state.running.remove(key);
            state.dirty.remove(key)
        };
        if requeue {
            self.add(key);
        }
    }

    /// Keys waiting or being processed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.queued.len() + state.running.len()
    }

    /// Whether nothing is waiting or being processed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key that has waited or run longest, and since when (liveness).
    pub fn oldest(&self) -> Option<(String, Instant)> {
        let state = self.lock();
        state
            .queued
            .iter()
            .chain(state.running.iter())
            .min_by_key(|(_, since)| **since)
            .map(|(key, since)| (key.clone(), *since))
    }
}

/// The queue behind weak references, while it exists (its delayed keys are not needed any more).
fn upgrade(state: &Weak<Mutex<State>>, notify: &Weak<Notify>) -> Option<KeyQueue> {
    Some(KeyQueue {
        state: state.upgrade()?,
        notify: notify.upgrade()?,
        delayed: Arc::default(),
    })
}

/// Per-key exponential retry delays with jitter: the n-th consecutive failure waits between half and
/// all of `base · 2ⁿ⁻¹`, capped; reset on success. Jitter keeps many keys failing together (an API
/// server restart) from retrying in lockstep.
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
    base: Duration,
    cap: Duration,
    random: RandomState,
}

impl Default for Backoff {
    /// 500 ms doubling up to 5 minutes.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(300))
    }
}

impl Backoff {
    /// Delays starting at `base`, doubling up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            failures: Mutex::default(),
            base,
            cap,
            random: RandomState::new(),
        }
    }

    /// The delay before the next attempt for `key` (and counts this failure).
    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock();
        let attempt = failures.entry(key.to_owned()).or_insert(0);
        *attempt = attempt.saturating_add(1);
        let full = self
            .base
            .saturating_mul(1u32 << (*attempt - 1).min(20))
            .min(self.cap);
        // A random fraction in [0, 1) from the process' random hash keys.
        let fraction = (self.random.hash_one((key, *attempt)) >> 11) as f64 / (1u64 << 53) as f64;
        full.mul_f64(0.5 + fraction / 2.0)
    }

    /// `key` succeeded: its next failure starts over at the base delay.
    pub fn reset(&self, key: &str) {
        self.failures.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, KeyQueue};
    use std::time::Duration;

    /// Whether `delay` lies in the jitter range of `full`: [full/2, full].
    fn jittered(delay: Duration, full: Duration) -> bool {
        delay >= full / 2 && delay <= full
    }

    #[test]
    fn backoff_doubles_per_key_up_to_its_cap_with_jitter_and_resets() {
        let backoff = Backoff::default();
        assert!(jittered(backoff.next("a"), Duration::from_millis(500)));
        assert!(jittered(backoff.next("a"), Duration::from_secs(1)));
        assert!(jittered(backoff.next("b"), Duration::from_millis(500)));
        for _ in 0..20 {
            backoff.next("a");
        }
        assert!(jittered(backoff.next("a"), Duration::from_secs(300)));
        backoff.reset("a");
        assert!(jittered(backoff.next("a"), Duration::from_millis(500)));
    }

    #[test]
    fn keys_failing_together_do_not_retry_in_lockstep() {
        let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let delays: std::collections::BTreeSet<Duration> = (0..50)
            .map(|i| backoff.next(&format!("secret-{i}")))
            .collect();
        assert!(
            delays
                .iter()
                .all(|d| jittered(*d, Duration::from_millis(200)))
        );
        assert!(delays.len() > 40, "{} distinct delays of 50", delays.len());
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_waiting_or_running_key_is_known() {
        let queue = KeyQueue::new();
        assert!(queue.oldest().is_none());
        queue.add("a");
        assert_eq!(queue.next().await, "a");
        tokio::time::advance(Duration::from_secs(5)).await;
        queue.add("b");
        let (key, since) = queue.oldest().unwrap();
        assert_eq!(
            (key.as_str(), since.elapsed()),
            ("a", Duration::from_secs(5))
        );
        queue.done("a");
        let (key, since) = queue.oldest().unwrap();
        assert_eq!((key.as_str(), since.elapsed()), ("b", Duration::ZERO));
    }

    #[tokio::test]
    async fn keys_are_deduplicated_and_a_running_key_is_deferred_not_doubled() {
        let queue = KeyQueue::new();
        queue.add("a");
        queue.add("b");
        queue.add("a");
        assert_eq!(queue.len(), 2);
        let first = queue.next().await;
        assert_eq!(first, "a");
        // Added while running: not handed to a second worker, but processed again afterwards.
        queue.add("a");
        assert_eq!(queue.next().await, "b");
        queue.done("b");
        assert_eq!(queue.len(), 1, "only the running a");
        queue.done("a");
        assert_eq!(queue.next().await, "a");
        queue.done("a");
        assert!(queue.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_arrive_once_at_their_earliest_time() {
        let queue = KeyQueue::new();
        queue.add_after("a", Duration::from_secs(5));
        queue.add_after("a", Duration::from_secs(2));
        queue.add_after("b", Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(1900)).await;
        assert!(queue.is_empty());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.next().await, "a");
        queue.done("a");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(queue.next().await, "b");
        queue.done("b");
        assert!(queue.is_empty(), "a was due once");
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_when_a_key_arrives() {
        let queue = KeyQueue::new();
        let worker = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.next().await })
        };
        tokio::task::yield_now().await;
        queue.add("late");
        assert_eq!(worker.await.unwrap(), "late");
    }
}
