//! `view-agent`: plays OCM's managed clusters for a hub that has none (the embedded API server of
//! `make run-local`, a kind hub). Registers every cluster of a table file as a joined ManagedCluster with
//! its `id.k8s.io` claim and cluster namespace, then answers the hub's ManagedClusterViews from the
//! table until interrupted (SIGINT or SIGTERM).
//!
//! ```sh
//! view-agent --kubeconfig .local/kubeconfig --table examples/hub/managed-clusters/views.yaml
//! view-agent --kubeconfig .local/e2e/kubeconfig --table e2e/tables/e2e.yaml --never-answer e2e-silent
//! ```

use anyhow::Context;
use clap::Parser;
use e2e::views::{ManagedClusterFixture, ManagedObjects, TableFile, ViewAgent, ensure_crds};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;

/// Answers the hub's ManagedClusterViews from a table of what each managed cluster holds.
#[derive(Parser, Debug)]
#[command(name = "view-agent", version)]
struct Args {
    /// Kubeconfig of the hub.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// YAML file: a map of cluster name to the list of objects on that cluster, plus optional
    /// `clusterIDs: {cluster: id}` (default ID: the cluster name). Repeatable: the tables must name
    /// different clusters.
    #[arg(long, required = true)]
    table: Vec<PathBuf>,
    /// A cluster whose views are never answered (repeatable): as if its agent were down. It is still
    /// registered as a joined ManagedCluster.
    #[arg(long = "never-answer", value_name = "CLUSTER")]
    never_answer: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let file = read_tables(&args.table)?;
    let named = file.clusters();
    if let Some(cluster) = args.never_answer.iter().find(|c| !named.contains(*c)) {
        anyhow::bail!("--never-answer {cluster}: no table names that cluster");
    }

    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading the kubeconfig {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    let client = Client::try_from(config).context("creating the Kubernetes client")?;

    ensure_crds(&client)
        .await
        .context("installing the ManagedCluster and ManagedClusterView CRDs")?;
    for cluster in &named {
        let id = file.cluster_id(cluster);
        ManagedClusterFixture::joined(cluster.as_str(), id)
            .ensure(&client)
            .await?;
        eprintln!("view-agent: ManagedCluster {cluster} joined, id.k8s.io={id}");
    }

    let mut agent = ViewAgent::new(client, ManagedObjects::new(file.table()));
    for cluster in args.never_answer {
        agent = agent.never_answer(cluster);
    }
    eprintln!("view-agent: answering ManagedClusterViews until interrupted");
    agent.run(shutdown_signal()).await?;
    eprintln!("view-agent: stopped");
    Ok(())
}

/// Reads every table file into one table; a cluster may be named by one file only.
fn read_tables(paths: &[PathBuf]) -> anyhow::Result<TableFile> {
    let mut all = TableFile::default();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the table {}", path.display()))?;
        let file = TableFile::from_yaml(&text)
            .with_context(|| format!("parsing the table {}", path.display()))?;
        let named = all.clusters();
        if let Some(cluster) = file.clusters().into_iter().find(|c| named.contains(c)) {
            anyhow::bail!(
                "the table {} names cluster {cluster}, which an earlier table names too",
                path.display()
            );
        }
        all.objects.extend(file.objects);
        all.cluster_ids.extend(file.cluster_ids);
    }
    Ok(all)
}

/// Completes on SIGINT or SIGTERM. If a handler cannot be installed, the default action (ending the
/// process) still applies, so waiting on the other one is enough.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
