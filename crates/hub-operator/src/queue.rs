//! A deduplicating work queue of string keys (hub Secret names), with client-go workqueue semantics:
//! a key is queued at most once; a key is processed by one worker at a time; a key added while it is
//! being processed is processed again once the current run ends, so no change is ever missed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    running: HashSet<String>,
    dirty: HashSet<String>,
}

/// The queue; clones share it.
#[derive(Clone, Default)]
pub struct KeyQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

impl KeyQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section is a handful of set operations: a panic cannot leave it half done.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` (no-op if already queued; deferred if being processed).
    pub fn add(&self, key: &str) {
        let mut state = self.lock();
        if state.running.contains(key) {
            state.dirty.insert(key.to_owned());
            return;
        }
        if state.queued.insert(key.to_owned()) {
            state.queue.push_back(key.to_owned());
            drop(state);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay` (retries).
    pub fn add_after(&self, key: &str, delay: Duration) {
        let queue = self.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(&key);
        });
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
                    state.running.insert(key.clone());
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
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.queued.len() + state.running.len()
    }

    /// Whether nothing is waiting or being processed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-key exponential retry delays: 500 ms doubling up to 5 minutes, reset on success.
#[derive(Default)]
pub struct Backoff(Mutex<HashMap<String, u32>>);

impl Backoff {
    /// The delay before the next attempt for `key` (and counts this failure).
    pub fn next(&self, key: &str) -> Duration {
        let mut failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let attempt = failures.entry(key.to_owned()).or_insert(0);
        *attempt = attempt.saturating_add(1);
        let millis = 500u64.saturating_mul(1u64 << (*attempt - 1).min(10));
        Duration::from_millis(millis.min(300_000))
    }

    /// `key` succeeded: its next failure starts over at 500 ms.
    pub fn reset(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, KeyQueue};
    use std::time::Duration;

    #[test]
    fn backoff_doubles_per_key_up_to_five_minutes_and_resets() {
        let backoff = Backoff::default();
        assert_eq!(backoff.next("a"), Duration::from_millis(500));
        assert_eq!(backoff.next("a"), Duration::from_secs(1));
        assert_eq!(backoff.next("b"), Duration::from_millis(500));
        for _ in 0..20 {
            backoff.next("a");
        }
        assert_eq!(backoff.next("a"), Duration::from_secs(300));
        backoff.reset("a");
        assert_eq!(backoff.next("a"), Duration::from_millis(500));
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
