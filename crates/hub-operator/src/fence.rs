//! The write fence: the one place that decides whether this process may still change the cluster.
//!
//! A leader may write only while its lease is provably its own. [`Fence`] holds the instant until
//! which that is true (the send time of the last renewal the API server accepted plus the renew
//! deadline, see [`crate::leader`]); every request that can change the cluster (anything but a GET
//! or a TokenReview/SubjectAccessReview) is refused locally, never sent, from that instant on. The check sits in the client's service stack, so no call site
//! has to remember it: [`fenced`] wraps a client so its requests carry the fence and are checked
//! before they enter the stack, and [`Enforce`] (innermost in [`crate::client::build`]'s stack)
//! checks it again right before the connection, which also stops retries the stack makes on its own.
//!
//! A closed fence never reopens: once the deadline passed, the process stops and restarts as a
//! standby.

use http::header::{HeaderValue, USER_AGENT};
use http::{Method, Request, Response};
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

/// How long after the fence's deadline a write that passed the fence may still be in flight before it
/// is abandoned: waiting for a pooled connection, connecting, the TLS handshake and sending happen after
/// the check. It stays below the lease duration minus the renew deadline (5 s), so no write this
/// process sends reaches the API server after a standby may have taken the lease; a write the server
/// is still processing cannot be recalled (Kubernetes has no fencing tokens).
pub const WRITE_GRACE: std::time::Duration = std::time::Duration::from_secs(4);

/// Until when this process may write; cloned handles share one state.
#[derive(Clone, Debug)]
pub struct Fence {
    /// `None`: no leader election, always open.
    valid_until: Option<Arc<Mutex<Instant>>>,
}

/// The error of a write the fence refused (it was never sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("write refused: this process no longer holds the leader lease")]
pub struct Fenced;

impl Fence {
    /// A fence that never closes, for a process that writes without leader election.
    pub fn open() -> Fence {
        Fence { valid_until: None }
    }

    /// A fence open until `valid_until`.
    pub fn until(valid_until: Instant) -> Fence {
        Fence {
            valid_until: Some(Arc::new(Mutex::new(valid_until))),
        }
    }

    fn lock(cell: &Mutex<Instant>) -> parking_lot::MutexGuard<'_, Instant> {
        cell.lock()
    }

    /// The instant the fence closes (`None` for a fence that never closes).
    pub fn valid_until(&self) -> Option<Instant> {
        self.valid_until.as_deref().map(|cell| *Self::lock(cell))
    }

    /// Whether writes are still allowed now.
    pub fn is_open(&self) -> bool {
        self.valid_until()
            .is_none_or(|until| Instant::now() < until)
    }

    /// Moves the deadline to `until` if that is later and the fence is still open; returns whether
    /// the fence is open afterwards. A closed fence stays closed.
    pub fn extend(&self, until: Instant) -> bool {
        let Some(cell) = self.valid_until.as_deref() else {
            return true;
        };
        let mut current = Self::lock(cell);
        let now = Instant::now();
        if now >= *current {
            return false;
        }
        if until > *current {
            *current = until;
        }
        now < *current
    }

    /// Closes the fence now (a fence that never closes is not affected).
    pub fn close(&self) {
        if let Some(cell) = self.valid_until.as_deref() {
            let mut current = Self::lock(cell);
            let now = Instant::now();
            if *current > now {
                *current = now;
            }
        }
    }

    /// Resolves once the fence is closed (never, for a fence that never closes).
    ///
    /// A [`Fence::close`] is noticed when the deadline in force before it passes; the fence itself
    /// refuses writes at once either way.
    pub async fn closed(&self) {
        loop {
            let Some(until) = self.valid_until() else {
                return std::future::pending().await;
            };
            if Instant::now() >= until {
                return;
            }
            tokio::time::sleep_until(until).await;
        }
    }

    /// `Ok` when `request` may be sent now: reads always, writes while the fence is open.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Fenced> {
        if changes_nothing(request) || self.is_open() {
            Ok(())
        } else {
            Err(Fenced)
        }
    }
}

/// Whether a request cannot change the cluster: a read, or a review (TokenReview,
/// SubjectAccessReview), which is a POST that asks a question and stores nothing.
fn changes_nothing<B>(request: &Request<B>) -> bool {
    let method = request.method();
    let path = request.uri().path();
    method == Method::GET
        || method == Method::HEAD
        || (method == Method::POST
            && (path.contains("/apis/authentication.k8s.io/")
                || path.contains("/apis/authorization.k8s.io/")))
}

/// `client`, with every request carrying `fence` (checked here and again by [`Enforce`] when the
/// client was built by [`crate::client::build`]) and `user_agent` (so the API server's audit log
/// tells processes apart).
pub fn fenced(client: kube::Client, fence: Fence, user_agent: HeaderValue) -> kube::Client {
    let namespace = client.default_namespace().to_owned();
    let service = tower::service_fn(move |mut request: Request<kube::client::Body>| {
        let (client, fence) = (client.clone(), fence.clone());
        request.headers_mut().insert(USER_AGENT, user_agent.clone());
        async move {
            fence.check(&request)?;
            request.extensions_mut().insert(fence);
            client.send(request).await.map_err(BoxError::from)
        }
    });
    kube::Client::new(service, namespace)
}

/// Refuses a write whose request carries a closed [`Fence`]; place it right above the connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct EnforceLayer;

impl<S> Layer<S> for EnforceLayer {
    type Service = Enforce<S>;

    fn layer(&self, inner: S) -> Enforce<S> {
        Enforce { inner }
    }
}

/// See [`EnforceLayer`].
#[derive(Clone, Debug)]
pub struct Enforce<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Enforce<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let fence = request.extensions().get::<Fence>();
        if let Some(fence) = fence
            && let Err(refused) = fence.check(&request)
        {
            return Box::pin(std::future::ready(Err(refused.into())));
        }
        // A write that passed may still wait for a connection: it is abandoned WRITE_GRACE after the
        // deadline in force now.
        let abandon_at = fence
            .filter(|_| !changes_nothing(&request))
            .and_then(Fence::valid_until)
            .map(|until| until + WRITE_GRACE);
        let response = self.inner.call(request);
        Box::pin(async move {
            match abandon_at {
                None => response.await.map_err(Into::into),
                Some(at) => match tokio::time::timeout_at(at, response).await {
                    Ok(answered) => answered.map_err(Into::into),
                    Err(_) => Err(Fenced.into()),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn the_fence_closes_at_its_deadline_and_never_reopens() {
        let fence = Fence::until(Instant::now() + Duration::from_secs(10));
        assert!(fence.is_open());
        assert!(fence.extend(Instant::now() + Duration::from_secs(12)));
        let extended = fence.valid_until();
        assert!(fence.extend(Instant::now() + Duration::from_secs(5)));
        assert_eq!(
            fence.valid_until(),
            extended,
            "an older renewal does not shorten it"
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(fence.is_open(), "the later deadline counts");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!fence.is_open());
        assert!(
            !fence.extend(Instant::now() + Duration::from_secs(10)),
            "a renewal that arrives too late does not reopen it"
        );
        assert!(!fence.is_open());
        let request = |method: Method, path: &str| {
            Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap()
        };
        let secrets = "/api/v1/namespaces/ns/secrets/s";
        assert_eq!(fence.check(&request(Method::GET, secrets)), Ok(()));
        assert_eq!(fence.check(&request(Method::PATCH, secrets)), Err(Fenced));
        assert_eq!(fence.check(&request(Method::POST, secrets)), Err(Fenced));
        assert_eq!(fence.check(&request(Method::PUT, secrets)), Err(Fenced));
        assert_eq!(fence.check(&request(Method::DELETE, secrets)), Err(Fenced));
        let review = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
        assert_eq!(fence.check(&request(Method::POST, review)), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn closed_resolves_at_the_deadline_in_force() {
        let fence = Fence::until(Instant::now() + Duration::from_secs(10));
        let start = Instant::now();
        let waiter = tokio::spawn({
            let fence = fence.clone();
            async move { fence.closed().await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        fence.extend(Instant::now() + Duration::from_secs(10));
        waiter.await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn close_shuts_the_fence_at_once_and_open_never_closes() {
        let fence = Fence::until(Instant::now() + Duration::from_secs(10));
        fence.close();
        assert!(!fence.is_open());
        let open = Fence::open();
        open.close();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(open.is_open());
        assert!(open.extend(Instant::now()));
        let delete = Request::delete("/api/v1/namespaces/ns/secrets/s")
            .body(())
            .unwrap();
        assert_eq!(open.check(&delete), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn enforce_refuses_writes_that_carry_a_closed_fence_without_calling_the_service() {
        let sent = Arc::new(Mutex::new(Vec::<Method>::new()));
        let inner = tower::service_fn({
            let sent = sent.clone();
            move |request: Request<()>| {
                sent.lock().push(request.method().clone());
                async { Ok::<_, std::convert::Infallible>(Response::new(())) }
            }
        });
        let service = EnforceLayer.layer(inner);
        let fence = Fence::until(Instant::now() + Duration::from_secs(1));
        let request = |method: Method, fence: Option<&Fence>| {
            let mut request = Request::builder().method(method).body(()).unwrap();
            if let Some(fence) = fence {
                request.extensions_mut().insert(fence.clone());
            }
            request
        };
        let call = |r| service.clone().oneshot(r);
        call(request(Method::PATCH, Some(&fence))).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let refused = call(request(Method::PATCH, Some(&fence)))
            .await
            .unwrap_err();
        assert!(refused.downcast_ref::<Fenced>().is_some(), "{refused}");
        call(request(Method::GET, Some(&fence))).await.unwrap();
        call(request(Method::PATCH, None)).await.unwrap();
        assert_eq!(
            *sent.lock(),
            vec![Method::PATCH, Method::GET, Method::PATCH]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_still_waiting_for_its_answer_is_abandoned_after_the_grace_but_a_read_is_not() {
        // The service takes 20 s to answer: a connection that takes that long to open.
        let slow = tower::service_fn(|_: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(20)).await;
            Ok::<_, std::convert::Infallible>(Response::new(()))
        });
        let service = EnforceLayer.layer(slow);
        let fence = Fence::until(Instant::now() + Duration::from_secs(1));
        let request = |method: Method| {
            let mut request = Request::builder().method(method).body(()).unwrap();
            request.extensions_mut().insert(fence.clone());
            request
        };
        let started = Instant::now();
        let abandoned = service
            .clone()
            .oneshot(request(Method::PUT))
            .await
            .unwrap_err();
        assert!(abandoned.downcast_ref::<Fenced>().is_some(), "{abandoned}");
        assert_eq!(started.elapsed(), Duration::from_secs(1) + WRITE_GRACE);
        service.oneshot(request(Method::GET)).await.unwrap();
    }
}
