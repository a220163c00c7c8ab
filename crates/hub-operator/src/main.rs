//! `hub-operator`: the RamenDR hub DRPolicy operator binary.

use anyhow::Context;
use clap::Parser;
use hub_operator::cli::{Cli, Command};
use std::time::Duration;

/// How long in-flight reconciles get after SIGTERM before the process exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crds) => {
            for (_, crd) in drpolicy_api::crd::all() {
                print!("{}", drpolicy_api::crd::to_yaml(&crd)?);
            }
            Ok(())
        }
        Some(Command::Release(args)) => {
            hub_operator::release::command(args.or_namespace(cli.run.namespace)).await
        }
        Some(Command::Run(args)) => run(args.or(cli.run)).await,
        None => run(cli.run).await,
    }
}

async fn run(args: hub_operator::cli::RunArgs) -> anyhow::Result<()> {
    hub_operator::telemetry::init(args.log_format);
    let client = hub_operator::client::infer()
        .await
        .context("no Kubernetes configuration: run in a cluster or set KUBECONFIG")?;
    let namespace = args.namespace.clone().unwrap_or_default();
    let config = if namespace.is_empty() {
        None
    } else {
        hub_operator::settings::read_startup_config(&client, &namespace).await
    };
    let settings = hub_operator::settings::resolve(&args, config.as_ref())?;
    tracing::info!(?settings, "starting");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = hub_operator::shutdown_signal(async move {
        let _ = stop_rx.await;
    });
    let operator = tokio::spawn(hub_operator::run(
        client,
        settings,
        hub_operator::metrics::Metrics::new(),
        shutdown,
    ));
    let signal = wait_for_signal();
    tokio::pin!(operator);
    tokio::select! {
        result = &mut operator => return result.context("operator task")?,
        _ = signal => tracing::info!("signal received, stopping"),
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(STOP_GRACE, operator).await {
        Ok(result) => result.context("operator task")?,
        Err(_) => {
            tracing::warn!("in-flight work did not finish within {STOP_GRACE:?}; exiting");
            Ok(())
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
