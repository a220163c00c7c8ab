//! `test-apiserver`: runs the in-memory Kubernetes API server until SIGINT/SIGTERM, printing its
//! URL on stdout and writing a kubeconfig for `kubectl` and `kube::Client`.
//!
//! For tests that need to know who asked for what (`make e2e-local` checks the chart's RBAC against
//! the operator's requests), it can also write its request log as JSON lines (`--request-log`) and
//! serve a second address that forwards every request with a fixed User-Agent (`--agent-proxy`), so
//! that one client's requests can be told apart from those of clients that send the same (or no)
//! User-Agent.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use test_apiserver::{Hooks, Mark, RequestRecord, ServerConfig, TestApiServer};

/// An in-memory Kubernetes API server for tests and local runs.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Watch events kept for resuming watches (older versions get 410 Gone).
    #[arg(long, default_value_t = 100_000)]
    history: usize,
    /// Append every served request to this file as a JSON line (verb, group, resource, subresource,
    /// namespace, name, query, status, user agent, field manager), written as requests are served
    /// and once more at shutdown.
    #[arg(long)]
    request_log: Option<PathBuf>,
    /// Also listen on a free port of 127.0.0.1 and forward every request received there to this
    /// server with this User-Agent (replacing the client's).
    #[arg(long, requires = "agent_proxy_kubeconfig_out")]
    agent_proxy: Option<String>,
    /// Where to write a kubeconfig pointing at the `--agent-proxy` address.
    #[arg(long, requires = "agent_proxy")]
    agent_proxy_kubeconfig_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let tempdir;
    let kubeconfig = match args.kubeconfig_out {
        Some(p) => p,
        None => {
            tempdir = tempfile::tempdir().context("creating a directory for the kubeconfig")?;
            tempdir.path().join("kubeconfig")
        }
    };
    let config = ServerConfig {
        listen: args.listen,
        kubeconfig: Some(kubeconfig.clone()),
        history_limit: args.history,
        ..ServerConfig::default()
    };
    let mut request_log = match &args.request_log {
        Some(path) => Some(RequestLog::create(path)?),
        None => None,
    };
    // Handlers first: a supervisor may signal as soon as it has read the URL.
    let mut signals = Signals::install()?;
    let server = TestApiServer::start_with(config)
        .await
        .context("starting test-apiserver")?;
    let proxy = match (&args.agent_proxy, &args.agent_proxy_kubeconfig_out) {
        (Some(agent), Some(out)) => Some(
            agent_proxy::start(&server, &kubeconfig, agent, out)
                .await
                .context("starting the agent proxy")?,
        ),
        _ => None,
    };
    println!("{}", server.url());
    tracing::info!(url = server.url(), kubeconfig = %kubeconfig.display(), "test-apiserver serving");
    let mut flush = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = signals.wait() => break,
            _ = flush.tick() => {
                if let Some(log) = request_log.as_mut() {
                    log.append_new(server.hooks())?;
                }
            }
        }
    }
    if let Some(proxy) = proxy {
        proxy.abort();
    }
    if let Some(log) = request_log.as_mut() {
        log.append_new(server.hooks())?;
    }
    server.shutdown().await;
    Ok(())
}

/// The `--request-log` file: every request of the server's log, each written once.
struct RequestLog {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    /// Where the last read of the server's log started.
    mark: Option<Mark>,
    /// The first sequence number not written yet.
    next_seq: usize,
}

impl RequestLog {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("creating the request log {}", path.display()))?;
        Ok(RequestLog {
            file: std::io::BufWriter::new(file),
            path: path.to_owned(),
            mark: None,
            next_seq: 0,
        })
    }

    /// Appends the requests served since the last call. The mark is taken before reading, so a request
    /// logged in between is read now and skipped (by its sequence number) next time.
    fn append_new(&mut self, hooks: &Hooks) -> anyhow::Result<()> {
        let mark = hooks.mark();
        let records = match self.mark {
            Some(previous) => hooks.requests_since(previous),
            None => hooks.requests(),
        };
        self.mark = Some(mark);
        let first = self.next_seq;
        for record in records.iter().filter(|r| r.seq >= first) {
            serde_json::to_writer(&mut self.file, &record_json(record))?;
            self.file.write_all(b"\n")?;
            self.next_seq = record.seq + 1;
        }
        self.file
            .flush()
            .with_context(|| format!("writing the request log {}", self.path.display()))
    }
}

fn record_json(r: &RequestRecord) -> serde_json::Value {
    serde_json::json!({
        "seq": r.seq,
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "verb": r.verb,
        "group": r.group,
        "resource": r.resource,
        "subresource": r.subresource,
        "namespace": r.namespace,
        "name": r.name,
        "status": r.status,
        "field_manager": r.field_manager,
        "user_agent": r.user_agent,
        "faulted": r.faulted,
    })
}

/// The `--agent-proxy` listener.
mod agent_proxy {
    use std::path::Path;

    use anyhow::Context;
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::response::{IntoResponse, Response};
    use http::{HeaderValue, StatusCode, header};
    use test_apiserver::TestApiServer;

    #[derive(Clone)]
    struct Proxy {
        client: kube::Client,
        agent: HeaderValue,
    }

    /// Headers that describe one hop, not the request.
    const HOP_HEADERS: [header::HeaderName; 5] = [
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::USER_AGENT,
    ];

    /// Serves the proxy on a free port of 127.0.0.1 and writes its kubeconfig (the server's, with the
    /// proxy's URL) to `out`.
    pub async fn start(
        server: &TestApiServer,
        kubeconfig: &Path,
        agent: &str,
        out: &Path,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let agent =
            HeaderValue::from_str(agent).context("the agent is not a valid header value")?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let text = std::fs::read_to_string(kubeconfig)
            .with_context(|| format!("reading {}", kubeconfig.display()))?;
        std::fs::write(out, text.replace(server.url(), &url))
            .with_context(|| format!("writing {}", out.display()))?;
        let app = axum::Router::new().fallback(forward).with_state(Proxy {
            client: server.client(),
            agent,
        });
        tracing::info!(%url, kubeconfig = %out.display(), "agent proxy serving");
        Ok(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }))
    }

    /// Forwards one request (the response streams back, so watches work) with the proxy's User-Agent.
    async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(body) => body,
            Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
        };
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut forwarded = http::Request::builder().method(parts.method).uri(target);
        for (name, value) in &parts.headers {
            if !HOP_HEADERS.contains(name) {
                forwarded = forwarded.header(name, value);
            }
        }
        let forwarded = match forwarded
            .header(header::USER_AGENT, proxy.agent)
            .body(kube::client::Body::from(body))
        {
            Ok(request) => request,
            Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
        };
        match proxy.client.send(forwarded).await {
            Ok(response) => response.map(Body::new),
            Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
        }
    }
}

/// SIGINT and SIGTERM listeners.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
