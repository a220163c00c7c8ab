//! The running server: binding, the axum router, the `kube::Client`, kubeconfig and shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Error;
use crate::engine::Engine;
use crate::handlers::{self, AppState};
use crate::hooks::{FaultAction, Hooks, RequestFilter};
use crate::reviews::Reviews;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where to write the kubeconfig; `None` writes one into a temporary directory owned by
    /// the server handle.
    pub kubeconfig: Option<PathBuf>,
    /// Watch events kept for resuming watches; older resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// Interval between BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Requests kept in the request log (the oldest are dropped beyond it).
    pub request_log_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig: None,
            history_limit: 100_000,
            bookmark_interval: Duration::from_secs(1),
            request_log_limit: crate::hooks::DEFAULT_LOG_LIMIT,
        }
    }
}

/// A running in-memory API server. Dropping it stops the server.
pub struct TestApiServer {
    addr: SocketAddr,
    url: String,
    engine: Arc<Engine>,
    hooks: Arc<Hooks>,
    reviews: Arc<Reviews>,
    client: kube::Client,
    kubeconfig: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApiServer")
            .field("url", &self.url)
            .field("kubeconfig", &self.kubeconfig)
            .finish()
    }
}

/// The axum router of a server state.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(handlers::dispatch)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            handlers::observe,
        ))
        .with_state(state)
}

impl TestApiServer {
    /// Starts a server on an ephemeral port of 127.0.0.1 with a temporary kubeconfig.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(ServerConfig::default()).await
    }

    /// Starts a server with a configuration.
    pub async fn start_with(config: ServerConfig) -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
        let url = format!("http://{addr}");
        let (kubeconfig, tempdir) = match config.kubeconfig {
            Some(p) => (p, None),
            None => {
                let dir = tempfile::tempdir().map_err(|source| Error::Kubeconfig {
                    path: "<tempdir>".into(),
                    source,
                })?;
                (dir.path().join("kubeconfig"), Some(dir))
            }
        };
        crate::kubeconfig::write(&kubeconfig, &url)?;
        let engine = Arc::new(Engine::new(config.history_limit));
        let hooks = Arc::new(Hooks::with_log_limit(config.request_log_limit));
        let reviews = Arc::new(Reviews::default());
        let state = AppState {
            engine: engine.clone(),
            hooks: hooks.clone(),
            reviews: reviews.clone(),
            bookmark_interval: config.bookmark_interval,
            server_address: addr.to_string(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::Client(e.to_string()))?;
        let client = kube::Client::try_from(kube::Config::new(uri))
            .map_err(|e| Error::Client(e.to_string()))?;
        Ok(TestApiServer {
            addr,
            url,
            engine,
            hooks,
            reviews,
            client,
            kubeconfig,
            _tempdir: tempdir,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// A `kube::Client` for this server (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The written kubeconfig file.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Request log and fault injection.
    pub fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    /// The tokens and grants the `TokenReview` and `SubjectAccessReview` APIs answer from, for
    /// a process that delegates authentication and authorization to this server.
    pub fn reviews(&self) -> &Reviews {
        &self.reviews
    }

    /// Ends every open watch stream (clients see the connection end and re-watch).
    pub fn close_watches(&self) {
        self.engine.close_watches();
    }

    /// Number of open watch streams.
    pub fn open_watches(&self) -> usize {
        self.engine.watch_count()
    }

    /// Answers the next watch on `resource` (plural) with a 410 Expired ERROR event.
    pub fn expire_next_watch(&self, resource: &str) {
        self.hooks.fail_next(
            RequestFilter::any().verb("watch").resource(resource),
            1,
            FaultAction::WatchGone,
        );
    }

    /// Forgets the watch history: resuming a watch from any current version gets 410 Expired.
    pub fn compact_history(&self) {
        self.engine.compact();
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.engine.current_rv()
    }

    /// Waits until no request (other than open watches) started or finished for `quiet`.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> Result<(), Error> {
        self.hooks.wait_quiet(quiet, timeout).await
    }

    /// Stops the server: closes watches, stops accepting and waits (up to 5 s) for in-flight
    /// requests.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn stop_now(&mut self) {
        self.engine.close_watches();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
