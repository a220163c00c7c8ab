//! Test hooks: a log of every request with counters, fault injection (fail, delay or hang
//! matching requests; answer a watch with 410) and "wait until quiet".

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// One served request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// Position in the log (0-based, never reused).
    pub seq: usize,
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection, or
    /// `""` for non-resource requests (discovery, openapi).
    pub verb: String,
    /// API group of the resource.
    pub group: String,
    /// Plural resource name (`""` for non-resource requests).
    pub resource: String,
    /// Subresource (`status`) or `""`.
    pub subresource: String,
    /// Namespace or `""`.
    pub namespace: String,
    /// Object name or `""`.
    pub name: String,
    /// HTTP status code of the response.
    pub status: u16,
    /// `fieldManager` query parameter, if any.
    pub field_manager: Option<String>,
    /// User-Agent header, if any.
    pub user_agent: Option<String>,
    /// Whether an injected fault answered it.
    pub faulted: bool,
    /// Wall-clock time the request arrived (comparable with the `MicroTime`s clients write, such
    /// as a Lease's `renewTime`, when they run on this machine).
    pub received_at: SystemTime,
    /// Wall-clock time its response was ready (or the client went away).
    pub answered_at: SystemTime,
}

impl RequestRecord {
    /// Whether the verb changes state.
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }
}

/// Which requests a fault or latency applies to; `None` fields match anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFilter {
    /// Verb to match.
    pub verb: Option<String>,
    /// Plural resource to match.
    pub resource: Option<String>,
    /// Object name to match.
    pub name: Option<String>,
    /// Namespace to match.
    pub namespace: Option<String>,
    /// Subresource to match (`""` for the main resource).
    pub subresource: Option<String>,
}

impl RequestFilter {
    /// Matches every resource request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Restricts to a verb.
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_string());
        self
    }

    /// Restricts to a plural resource.
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    /// Restricts to an object name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Restricts to a namespace.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Restricts to a subresource (`""` for the main resource).
    pub fn subresource(mut self, subresource: &str) -> Self {
        self.subresource = Some(subresource.to_string());
        self
    }

    /// Whether a request matches.
    pub fn matches(&self, r: &RequestRecord) -> bool {
        !r.resource.is_empty()
            && self.verb.as_ref().is_none_or(|v| *v == r.verb)
            && self.resource.as_ref().is_none_or(|v| *v == r.resource)
            && self.name.as_ref().is_none_or(|v| *v == r.name)
            && self.namespace.as_ref().is_none_or(|v| *v == r.namespace)
            && self
                .subresource
                .as_ref()
                .is_none_or(|v| *v == r.subresource)
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this HTTP status and a matching `metav1.Status` body (500 InternalError,
    /// 409 Conflict, 503 ServiceUnavailable, ...).
    Status(u16),
    /// Answer 429 TooManyRequests with `Retry-After`.
    TooManyRequests {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// Hang for the duration, then answer 504 Timeout (clients with shorter timeouts see a
    /// timeout).
    Hang(Duration),
    /// Hang for the duration, then close the connection without a complete response (clients
    /// see a transport error).
    HangUp(Duration),
    /// Answer a watch with HTTP 200 and a single `ERROR` event carrying 410 Expired, as
    /// kube-apiserver does for a too-old resourceVersion.
    WatchGone,
}

#[derive(Debug)]
struct Fault {
    filter: RequestFilter,
    remaining: usize,
    action: FaultAction,
}

#[derive(Debug, Default)]
struct State {
    log: std::collections::VecDeque<RequestRecord>,
    /// Records dropped from the front of the log to respect its limit.
    dropped: usize,
    faults: Vec<Fault>,
    latency: Vec<(RequestFilter, Duration)>,
    last_activity: Option<Instant>,
}

/// A position in the request log, from [`Hooks::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(usize);

/// The request log and fault injection of one server.
#[derive(Debug)]
pub struct Hooks {
    state: Mutex<State>,
    in_flight: AtomicUsize,
    log_limit: usize,
}

impl Default for Hooks {
    fn default() -> Self {
        Self::with_log_limit(DEFAULT_LOG_LIMIT)
    }
}

/// Requests kept in the log by default (older ones are dropped, so long local runs stay small).
pub const DEFAULT_LOG_LIMIT: usize = 1_000_000;

impl Hooks {
    /// Hooks keeping at most `limit` requests in the log.
    pub fn with_log_limit(limit: usize) -> Self {
        Hooks {
            state: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            log_limit: limit.max(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every request still in the log (all of them unless the log limit was reached).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state().log.iter().cloned().collect()
    }

    /// The current end of the log.
    pub fn mark(&self) -> Mark {
        let s = self.state();
        Mark(s.dropped + s.log.len())
    }

    /// Requests logged after a mark.
    pub fn requests_since(&self, mark: Mark) -> Vec<RequestRecord> {
        let s = self.state();
        s.log
            .iter()
            .skip(mark.0.saturating_sub(s.dropped))
            .cloned()
            .collect()
    }

    /// Requests with this verb on this plural resource.
    pub fn count(&self, verb: &str, resource: &str) -> usize {
        self.state()
            .log
            .iter()
            .filter(|r| r.verb == verb && r.resource == resource)
            .count()
    }

    /// Requests with this verb on this plural resource after a mark.
    pub fn count_since(&self, mark: Mark, verb: &str, resource: &str) -> usize {
        self.requests_since(mark)
            .iter()
            .filter(|r| r.verb == verb && r.resource == resource)
            .count()
    }

    /// Write requests (create, update, patch, delete, deletecollection) after a mark.
    pub fn writes_since(&self, mark: Mark) -> Vec<RequestRecord> {
        self.requests_since(mark)
            .into_iter()
            .filter(RequestRecord::is_write)
            .collect()
    }

    /// Fails the next `times` requests matching `filter` with `action`.
    pub fn fail_next(&self, filter: RequestFilter, times: usize, action: FaultAction) {
        self.state().faults.push(Fault {
            filter,
            remaining: times,
            action,
        });
    }

    /// Delays every request matching `filter` by `delay` until [`Hooks::clear_faults`].
    pub fn add_latency(&self, filter: RequestFilter, delay: Duration) {
        self.state().latency.push((filter, delay));
    }

    /// Removes all pending faults and latencies.
    pub fn clear_faults(&self) {
        let mut s = self.state();
        s.faults.clear();
        s.latency.clear();
    }

    /// Number of injected faults not yet used up.
    pub fn pending_faults(&self) -> usize {
        self.state().faults.iter().map(|f| f.remaining).sum()
    }

    /// Called when a request starts: its latency and fault, if any.
    pub(crate) fn begin(&self, r: &RequestRecord) -> (Duration, Option<FaultAction>) {
        let mut s = self.state();
        if r.verb != "watch" {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
        }
        s.last_activity = Some(Instant::now());
        let delay = s
            .latency
            .iter()
            .filter(|(f, _)| f.matches(r))
            .map(|(_, d)| *d)
            .sum();
        let mut action = None;
        if let Some(f) = s
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.filter.matches(r))
        {
            f.remaining -= 1;
            action = Some(f.action.clone());
        }
        s.faults.retain(|f| f.remaining > 0);
        (delay, action)
    }

    /// Called when a request has its response.
    pub(crate) fn end(&self, mut r: RequestRecord) {
        let mut s = self.state();
        if r.verb != "watch" {
            let _ = self
                .in_flight
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                    Some(v.saturating_sub(1))
                });
        }
        s.last_activity = Some(Instant::now());
        r.answered_at = SystemTime::now();
        r.seq = s.dropped + s.log.len();
        s.log.push_back(r);
        while s.log.len() > self.log_limit {
            s.log.pop_front();
            s.dropped += 1;
        }
    }

    /// Waits until no request (other than open watches) has started or finished for `quiet`;
    /// gives up after `timeout`.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> Result<(), crate::Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let idle_for = self.state().last_activity.map_or(quiet, |t| t.elapsed());
            if self.in_flight.load(Ordering::SeqCst) == 0 && idle_for >= quiet {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(crate::Error::Timeout(
                    timeout,
                    "the API server to become quiet",
                ));
            }
            let step = quiet
                .saturating_sub(idle_for)
                .clamp(Duration::from_millis(5), Duration::from_millis(100));
            tokio::time::sleep(step).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(verb: &str, resource: &str, name: &str) -> RequestRecord {
        RequestRecord {
            seq: 0,
            method: "GET".into(),
            path: String::new(),
            query: String::new(),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: String::new(),
            namespace: String::new(),
            name: name.into(),
            status: 200,
            field_manager: None,
            user_agent: None,
            faulted: false,
            received_at: SystemTime::UNIX_EPOCH,
            answered_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn faults_apply_to_matching_requests_the_given_number_of_times() {
        let h = Hooks::default();
        h.fail_next(
            RequestFilter::any().verb("create").resource("configmaps"),
            2,
            FaultAction::Status(500),
        );
        assert_eq!(h.begin(&rec("get", "configmaps", "a")).1, None);
        assert_eq!(
            h.begin(&rec("create", "configmaps", "a")).1,
            Some(FaultAction::Status(500))
        );
        assert_eq!(
            h.begin(&rec("create", "configmaps", "b")).1,
            Some(FaultAction::Status(500))
        );
        assert_eq!(h.begin(&rec("create", "configmaps", "c")).1, None);
        assert_eq!(h.pending_faults(), 0);
    }

    #[test]
    fn log_limit_drops_the_oldest_records_and_keeps_marks_valid() {
        let h = Hooks::with_log_limit(2);
        h.end(rec("get", "configmaps", "a"));
        let m = h.mark();
        h.end(rec("get", "configmaps", "b"));
        h.end(rec("get", "configmaps", "c"));
        let names: Vec<String> = h.requests().into_iter().map(|r| r.name).collect();
        assert_eq!(names, vec!["b", "c"]);
        assert_eq!(h.requests_since(m).len(), 2);
        assert_eq!(h.requests()[1].seq, 2);
    }

    #[test]
    fn the_log_stamps_when_each_request_was_answered() {
        let h = Hooks::default();
        let before = SystemTime::now();
        h.end(rec("patch", "configmaps", "a"));
        let logged = &h.requests()[0];
        assert!(logged.answered_at >= before);
        assert_eq!(logged.received_at, SystemTime::UNIX_EPOCH, "kept as given");
    }

    #[test]
    fn counters_count_by_verb_resource_and_mark() {
        let h = Hooks::default();
        h.end(rec("create", "configmaps", "a"));
        let m = h.mark();
        h.end(rec("patch", "configmaps", "a"));
        h.end(rec("get", "configmaps", "a"));
        assert_eq!(h.count("create", "configmaps"), 1);
        assert_eq!(h.count_since(m, "create", "configmaps"), 0);
        assert_eq!(h.writes_since(m).len(), 1);
    }
}
