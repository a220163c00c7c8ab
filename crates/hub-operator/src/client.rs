//! The operator's Kubernetes client: kube's service stack, rebuilt so that no request can wait
//! forever and every write passes the [`crate::fence`].
//!
//! kube's default stack has a connect timeout but no read timeout and no TCP keepalive: a request
//! whose answer never comes (a dead peer, a stuck API server) is waited on for ever, and a hung write
//! is never retried. Here:
//! - connections time out after [`Timeouts::connect`] and send TCP keepalive probes, so a dead
//!   peer is noticed by the kernel;
//! - every request must have its response headers within [`Timeouts::request`], and every request
//!   that is not a watch must also have its whole body within it (a timed-out request fails, and
//!   the caller retries it: the reconcile's error policy, the watcher's backoff);
//! - a watch is a long poll (kube's watcher asks for `timeoutSeconds=290`) whose body is exempt;
//!   kube's watcher ends a watch that sends nothing for its timeout plus a margin, and keepalive
//!   catches a peer that vanished;
//! - [`crate::fence::Enforce`] sits right above the connection, so neither a retry of this stack
//!   nor a slow caller sends a write once the fence has closed.

use bytes::Bytes;
use http::header::{HeaderValue, USER_AGENT};
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use kube::{Client, Config};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::retry::RetryLayer;
use tower::{BoxError, Layer, Service, ServiceBuilder};

use crate::fence::EnforceLayer;

/// The client's time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP (and TLS) connection.
    pub connect: Duration,
    /// A whole request (headers and body); for a watch, its response headers.
    pub request: Duration,
    /// Idle time before the first TCP keepalive probe.
    pub keepalive: Duration,
    /// Time between keepalive probes (three unanswered probes drop the connection).
    pub keepalive_interval: Duration,
}

impl Default for Timeouts {
    /// 5 s to connect (a write that passed the fence but is still connecting is abandoned
    /// [`crate::fence::WRITE_GRACE`] after the fence's deadline, before a standby can take over); 30 s per
    /// request (kube-apiserver gives up on a request after 60 s; this hub's lists are small); the
    /// first keepalive probe after 30 s idle (Go's net.Dialer default), then every 10 s.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
            keepalive: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(10),
        }
    }
}

/// The `User-Agent` of the operator's requests (`ramen-hub-operator/VERSION`).
pub fn user_agent() -> String {
    format!("{}/{}", crate::CONTROLLER_NAME, env!("CARGO_PKG_VERSION"))
}

/// The `User-Agent` of process `identity`'s requests; `purpose` (`leader-election`) names the
/// requests that are not the controller's.
pub fn identified_user_agent(identity: &str, purpose: Option<&str>) -> HeaderValue {
    let text = match purpose {
        Some(purpose) => format!("{} ({identity}) {purpose}", user_agent()),
        None => format!("{} ({identity})", user_agent()),
    };
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static(crate::CONTROLLER_NAME))
}

/// A client for the cluster of in-cluster config or `KUBECONFIG`, with the default [`Timeouts`].
pub async fn infer() -> Result<Client, kube::Error> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    build(config, Timeouts::default())
}

/// A client for `config` with `timeouts` (the stack is described in the module doc). `config`'s
/// own timeouts are replaced by `timeouts`.
pub fn build(config: Config, timeouts: Timeouts) -> Result<Client, kube::Error> {
    if let Some(proxy) = &config.proxy_url {
        return Err(kube::Error::ProxyProtocolUnsupported {
            proxy_url: Box::new(proxy.clone()),
        });
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeouts.connect));
    http.set_keepalive(Some(timeouts.keepalive));
    http.set_keepalive_interval(Some(timeouts.keepalive_interval));
    http.set_keepalive_retries(Some(3));
    http.set_nodelay(true);
    let connector = config.rustls_https_connector_with_connector(http)?;
    let connection: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);

    let agent = HeaderValue::from_str(&user_agent())
        .unwrap_or_else(|_| HeaderValue::from_static(crate::CONTROLLER_NAME));
    let service = ServiceBuilder::new()
        .layer(DeadlineLayer {
            limit: timeouts.request,
        })
        .map_request(move |mut request: Request<kube::client::Body>| {
            request
                .headers_mut()
                .entry(USER_AGENT)
                .or_insert_with(|| agent.clone());
            request
        })
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .layer(EnforceLayer)
        .service(connection);
    Ok(Client::new(service, config.default_namespace))
}

/// Whether a request is a watch (`watch=true` or `watch=1` in its query).
fn is_watch<B>(request: &Request<B>) -> bool {
    request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair == "watch=true" || pair == "watch=1")
    })
}

/// The error of a request that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the API server did not answer within {0:?}")]
pub struct TimedOut(pub Duration);

/// Bounds each request by a deadline (see the module doc).
#[derive(Debug, Clone, Copy)]
struct DeadlineLayer {
    limit: Duration,
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S, B, R> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    R: HttpBody<Data = Bytes> + Send + 'static,
    R::Error: Into<BoxError>,
{
    type Response = Response<DeadlineBody<R>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limit = self.limit;
        let deadline = tokio::time::Instant::now() + limit;
        let watch = is_watch(&request);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = tokio::time::timeout_at(deadline, response)
                .await
                .map_err(|_| BoxError::from(TimedOut(limit)))?
                .map_err(Into::into)?;
            Ok(response.map(|body| DeadlineBody {
                inner: Box::pin(body),
                deadline: (!watch).then(|| Box::pin(tokio::time::sleep_until(deadline))),
                limit,
            }))
        })
    }
}

/// A response body that fails with [`TimedOut`] once its request's deadline passed (a watch's body
/// has no deadline).
pub struct DeadlineBody<B> {
    inner: Pin<Box<B>>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Duration,
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match this.deadline.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(TimedOut(this.limit).into()))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_are_recognised_by_their_query() {
        let request = |uri: &str| Request::get(uri).body(()).unwrap();
        assert!(is_watch(&request(
            "/api/v1/secrets?watch=true&timeoutSeconds=290"
        )));
        assert!(is_watch(&request(
            "/api/v1/secrets?labelSelector=a&watch=1"
        )));
        assert!(!is_watch(&request("/api/v1/secrets?watch=false")));
        assert!(!is_watch(&request("/api/v1/secrets?limit=500")));
        assert!(!is_watch(&request("/api/v1/namespaces/watch=true/secrets")));
    }

    #[test]
    fn user_agents_name_the_process_and_purpose() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            identified_user_agent("pod-1", None),
            format!("ramen-hub-operator/{version} (pod-1)").as_str()
        );
        assert_eq!(
            identified_user_agent("pod-1", Some("leader-election")),
            format!("ramen-hub-operator/{version} (pod-1) leader-election").as_str()
        );
        assert_eq!(
            identified_user_agent("bad\nname", None),
            "ramen-hub-operator",
            "an identity that is no header value does not break the client"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_times_out_unless_it_is_a_watch_body() {
        use tower::ServiceExt;
        // Headers at once; the body never ends.
        let inner = tower::service_fn(|_: Request<()>| async {
            let body = http_body_util::StreamBody::new(futures::stream::pending::<
                Result<Frame<Bytes>, std::convert::Infallible>,
            >());
            Ok::<_, std::convert::Infallible>(Response::new(body))
        });
        let service = DeadlineLayer {
            limit: Duration::from_secs(30),
        }
        .layer(inner);
        let read = |uri: &'static str| {
            let service = service.clone();
            async move {
                let response = service
                    .oneshot(Request::get(uri).body(()).unwrap())
                    .await
                    .unwrap();
                http_body_util::BodyExt::collect(response.into_body()).await
            }
        };
        let error = read("/api/v1/secrets").await.unwrap_err();
        assert!(error.downcast_ref::<TimedOut>().is_some(), "{error}");
        let watch = tokio::time::timeout(
            Duration::from_secs(3600),
            read("/api/v1/secrets?watch=true"),
        );
        assert!(
            watch.await.is_err(),
            "a watch body is not cut off by the request deadline"
        );

        // No headers at all: a watch times out too.
        let hung = tower::service_fn(|_: Request<()>| {
            futures::future::pending::<Result<Response<http_body_util::Empty<Bytes>>, BoxError>>()
        });
        let service = DeadlineLayer {
            limit: Duration::from_secs(30),
        }
        .layer(hung);
        let Err(error) = service
            .oneshot(Request::get("/api/v1/secrets?watch=true").body(()).unwrap())
            .await
        else {
            panic!("a watch without response headers times out");
        };
        assert!(error.downcast_ref::<TimedOut>().is_some(), "{error}");
    }
}
