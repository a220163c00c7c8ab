//! What `/healthz` answers: whether this process still makes progress.
//!
//! It is not live when
//! - a watch has not had a successful list or watch response for longer than the stall limit (a
//!   healthy watch gets one at least every watch timeout, as the server ends each watch request after
//!   it: [`watch_timeout`] keeps the timeout a third of the limit), or
//! - a piece of work (a DRPolicy reconcile, a queued or running secret distribution) has waited or
//!   run for longer than the work stall limit.
//!
//! Watch progress is seen where it happens, in the client: [`ProgressLayer`] records every list and
//! watch response per resource (path and selectors). An API the server does not serve (404) is not
//! tracked: OCM's optional kinds retry quietly without making the process "dead".
//!
//! The defaults (15 minutes each) are generous: a slow API server delays answers, it does not stop
//! them for a quarter of an hour, so it never causes a restart loop.

use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use parking_lot::{Mutex, MutexGuard};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// How long progress may stop before the process is reported dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A watch without a successful list or watch response for this long is stuck.
    pub watch_stall: Duration,
    /// A reconcile or secret distribution waiting or running for this long is stuck.
    pub work_stall: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            watch_stall: Duration::from_secs(15 * 60),
            work_stall: Duration::from_secs(15 * 60),
        }
    }
}

/// The server-side timeout of every watch request: a third of the watch stall limit, at most the 290 s
/// kube-rs asks for by default.
pub fn watch_timeout(limits: &Limits) -> u32 {
    let third = limits.watch_stall.as_secs() / 3;
    u32::try_from(third.clamp(1, 290)).unwrap_or(290)
}

/// A check registered by a component: the oldest unfinished item it knows of, with its description.
type Check = Box<dyn Fn() -> Option<(String, Instant)> + Send + Sync>;

#[derive(Default)]
struct State {
    /// Last successful list or watch response, per resource.
    watches: HashMap<String, Instant>,
    /// Work in progress, by id: what, and since when.
    busy: BTreeMap<u64, (String, Instant)>,
    checks: Vec<Check>,
}

/// Progress of this process; clones share it.
#[derive(Clone, Default)]
pub struct Liveness {
    limits: Limits,
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU64>,
}

/// Work in progress; finished when dropped.
pub struct Busy {
    liveness: Liveness,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.liveness.lock().busy.remove(&self.id);
    }
}

impl Liveness {
    /// Liveness with these limits.
    pub fn new(limits: Limits) -> Self {
        Liveness {
            limits,
            ..Liveness::default()
        }
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Records the start of `what`; it counts as stuck if the returned guard lives longer than the
    /// work stall limit.
    pub fn busy(&self, what: impl Into<String>) -> Busy {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().busy.insert(id, (what.into(), Instant::now()));
        Busy {
            liveness: self.clone(),
            id,
        }
    }

    /// Registers a component's own view of its oldest unfinished work (held to the work stall limit).
    pub fn add_check(&self, check: impl Fn() -> Option<(String, Instant)> + Send + Sync + 'static) {
        self.lock().checks.push(Box::new(check));
    }

    /// Records a list or watch response for `resource`.
    fn observed(&self, resource: &str, status: StatusCode) {
        let mut state = self.lock();
        if status.is_success() {
            match state.watches.get_mut(resource) {
                Some(at) => *at = Instant::now(),
                None => {
                    state.watches.insert(resource.to_owned(), Instant::now());
                }
            }
        } else if status == StatusCode::NOT_FOUND {
            // Not served (a CRD not installed): retried quietly, not a stall.
            state.watches.remove(resource);
        }
    }

    /// What is stuck, sorted; empty when the process makes progress.
    pub fn stuck(&self) -> Vec<String> {
        let now = Instant::now();
        let state = self.lock();
        let mut problems: Vec<String> = state
            .watches
            .iter()
            .filter(|(_, at)| now.duration_since(**at) > self.limits.watch_stall)
            .map(|(resource, at)| {
                format!(
                    "watch {resource}: no successful list or watch for {} s",
                    now.duration_since(*at).as_secs()
                )
            })
            .collect();
        let work = state
            .busy
            .values()
            .map(|(what, since)| (what.clone(), *since))
            .chain(state.checks.iter().filter_map(|check| check()));
        problems.extend(
            work.filter(|(_, since)| now.duration_since(*since) > self.limits.work_stall)
                .map(|(what, since)| {
                    format!(
                        "{what}: unfinished for {} s",
                        now.duration_since(since).as_secs()
                    )
                }),
        );
        problems.sort();
        problems
    }

    /// The layer recording list and watch responses into this liveness.
    pub fn layer(&self) -> ProgressLayer {
        ProgressLayer(self.clone())
    }

    /// `client` with its list and watch responses recorded here.
    pub fn observe(&self, client: kube::Client) -> kube::Client {
        let namespace = client.default_namespace().to_owned();
        let send = tower::service_fn(move |request: Request<kube::client::Body>| {
            let client = client.clone();
            async move { client.send(request).await }
        });
        kube::Client::new(tower::Layer::layer(&self.layer(), send), namespace)
    }
}

/// The resource a list or watch request reads (path plus selectors), `None` for other requests.
fn list_or_watch(uri: &http::Uri) -> Option<String> {
    let query = uri.query().unwrap_or_default();
    let mut watch = false;
    let mut list = false;
    let mut selectors = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "watch" => watch = value == "true" || value == "1",
            // kube-rs lists in pages; single-object reads never carry a limit.
            "limit" | "continue" => list = true,
            "labelSelector" | "fieldSelector" => selectors.push(pair),
            _ => {}
        }
    }
    if !(watch || list) {
        return None;
    }
    if selectors.is_empty() {
        return Some(uri.path().to_owned());
    }
    Some(format!("{}?{}", uri.path(), selectors.join("&")))
}

/// A tower layer for the kube client: see the module doc.
#[derive(Clone)]
pub struct ProgressLayer(Liveness);

impl<S> tower::Layer<S> for ProgressLayer {
    type Service = Progress<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Progress {
            inner,
            liveness: self.0.clone(),
        }
    }
}

/// The service of [`ProgressLayer`].
#[derive(Clone)]
pub struct Progress<S> {
    inner: S,
    liveness: Liveness,
}

impl<S, B, R> tower::Service<Request<B>> for Progress<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let resource = (request.method() == http::Method::GET)
            .then(|| list_or_watch(request.uri()))
            .flatten();
        let response = self.inner.call(request);
        let liveness = self.liveness.clone();
        Box::pin(async move {
            let response = response.await;
            if let (Some(resource), Ok(response)) = (&resource, &response) {
                liveness.observed(resource, response.status());
            }
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            watch_stall: Duration::from_secs(60),
            work_stall: Duration::from_secs(120),
        }
    }

    #[test]
    fn lists_and_watches_are_told_from_other_reads() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert_eq!(
            list_or_watch(&uri(
                "/api/v1/namespaces/ramen-system/secrets?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=7"
            )),
            Some("/api/v1/namespaces/ramen-system/secrets".into())
        );
        assert_eq!(
            list_or_watch(&uri(
                "/apis/view.open-cluster-management.io/v1beta1/managedclusterviews?labelSelector=a%3Db&limit=500"
            )),
            Some(
                "/apis/view.open-cluster-management.io/v1beta1/managedclusterviews?labelSelector=a%3Db"
                    .into()
            )
        );
        assert_eq!(
            list_or_watch(&uri("/api/v1/namespaces/ramen-system/configmaps/x")),
            None
        );
        assert_eq!(list_or_watch(&uri("/version")), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_without_a_successful_answer_for_longer_than_the_limit_is_stuck() {
        let liveness = Liveness::new(limits());
        liveness.observed("/a", StatusCode::OK);
        liveness.observed("/b", StatusCode::OK);
        tokio::time::advance(Duration::from_secs(50)).await;
        liveness.observed("/b", StatusCode::OK);
        liveness.observed("/a", StatusCode::INTERNAL_SERVER_ERROR);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(
            liveness.stuck(),
            ["watch /a: no successful list or watch for 70 s"]
        );
        liveness.observed("/a", StatusCode::OK);
        assert!(liveness.stuck().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_is_not_served_is_not_tracked() {
        let liveness = Liveness::new(limits());
        liveness.observed("/views", StatusCode::OK);
        liveness.observed("/views", StatusCode::NOT_FOUND);
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(liveness.stuck().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn work_unfinished_for_longer_than_the_limit_is_stuck_until_it_ends() {
        let liveness = Liveness::new(limits());
        let long = liveness.busy("reconcile of drpolicy p1");
        let queued_at = Instant::now();
        let waiting = Arc::new(Mutex::new(Some(queued_at)));
        let seen = waiting.clone();
        liveness.add_check(move || {
            let at = (*seen.lock())?;
            Some(("distribution of secret s3".to_owned(), at))
        });
        tokio::time::advance(Duration::from_secs(100)).await;
        let short = liveness.busy("reconcile of drpolicy p2");
        assert!(liveness.stuck().is_empty());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            liveness.stuck(),
            [
                "distribution of secret s3: unfinished for 130 s",
                "reconcile of drpolicy p1: unfinished for 130 s",
            ]
        );
        drop(long);
        *waiting.lock() = None;
        assert!(liveness.stuck().is_empty());
        drop(short);
    }

    #[test]
    fn watch_timeouts_stay_a_third_of_the_stall_limit() {
        assert_eq!(watch_timeout(&Limits::default()), 290);
        assert_eq!(
            watch_timeout(&Limits {
                watch_stall: Duration::from_secs(6),
                work_stall: Duration::from_secs(6)
            }),
            2
        );
    }
}
