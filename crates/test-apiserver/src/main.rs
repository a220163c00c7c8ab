//! `test-apiserver`: runs the in-memory Kubernetes API server until SIGINT/SIGTERM, printing its
//! URL on stdout and writing a kubeconfig for `kubectl` and `kube::Client`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use test_apiserver::{ServerConfig, TestApiServer};

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
    // Handlers first: a supervisor may signal as soon as it has read the URL.
    let signals = Signals::install()?;
    let server = TestApiServer::start_with(config)
        .await
        .context("starting test-apiserver")?;
    println!("{}", server.url());
    tracing::info!(url = server.url(), kubeconfig = %kubeconfig.display(), "test-apiserver serving");
    signals.wait().await?;
    server.shutdown().await;
    Ok(())
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

    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        Ok(())
    }
}
