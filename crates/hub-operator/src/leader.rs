//! Leader election on a Lease in the operator namespace (kube-lease-manager): only the holder
//! reconciles; losing the lease ends the run so the process restarts as a standby.
//!
//! kube-lease-manager reports a loss only after it *reads* another holder; while the API server
//! refuses its renewals it keeps saying "leader". A watchdog therefore also declares the lease lost
//! when this process could not confirm it holds a fresh lease for longer than the lease lasts minus
//! the renewal grace — the same guarantee as controller-runtime's renew deadline.

use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::Api;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use std::time::Duration;
use tokio::sync::watch::Receiver;
use tokio::task::JoinHandle;

/// Seconds a lease lasts without renewal.
pub const LEASE_DURATION: u64 = 15;
/// Seconds before expiry the holder renews.
pub const LEASE_GRACE: u64 = 5;

/// A held lease.
pub struct Leadership {
    state: Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
    leases: Api<Lease>,
    name: String,
    identity: String,
}

/// Waits until this process holds Lease `name` in `namespace`.
pub async fn acquire(
    client: Client,
    namespace: &str,
    name: &str,
    identity: &str,
) -> anyhow::Result<Leadership> {
    let leases = Api::namespaced(client.clone(), namespace);
    let manager = LeaseManagerBuilder::new(client, name)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_duration(LEASE_DURATION)
        .with_grace(LEASE_GRACE)
        .build()
        .await?;
    let (mut state, task) = manager.watch().await;
    tracing::info!(lease = name, identity, "waiting for leadership");
    while !*state.borrow_and_update() {
        state.changed().await?;
    }
    tracing::info!(lease = name, identity, "became leader");
    Ok(Leadership {
        state,
        task,
        leases,
        name: name.to_owned(),
        identity: identity.to_owned(),
    })
}

impl Leadership {
    /// Resolves when the lease is lost: another holder was seen, or this process could not confirm a
    /// fresh lease of its own for `LEASE_DURATION - LEASE_GRACE` seconds.
    pub async fn lost(&mut self) {
        let deadline = Duration::from_secs(LEASE_DURATION - LEASE_GRACE);
        let mut confirmed = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                changed = self.state.changed() => {
                    if changed.is_err() || !*self.state.borrow_and_update() {
                        tracing::warn!(lease = %self.name, "another process holds the lease");
                        return;
                    }
                }
                _ = tick.tick() => {
                    if self.holds_fresh_lease().await {
                        confirmed = tokio::time::Instant::now();
                    } else if confirmed.elapsed() > deadline {
                        tracing::warn!(lease = %self.name, "could not confirm the lease in time");
                        return;
                    }
                }
            }
        }
    }

    /// Whether the Lease names this process and was renewed within its duration.
    async fn holds_fresh_lease(&self) -> bool {
        let Ok(Some(lease)) = self.leases.get_opt(&self.name).await else {
            return false;
        };
        let Some(spec) = lease.spec else { return false };
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let fresh = spec.renew_time.is_some_and(|renewed| {
            let age = k8s_openapi::jiff::Timestamp::now().duration_since(renewed.0);
            age.as_secs() < i64::try_from(LEASE_DURATION).unwrap_or(i64::MAX)
        });
        ours && fresh
    }

    /// Gives the lease up so a standby takes over at once.
    pub async fn release(self) {
        drop(self.state);
        match self.task.await {
            Ok(Ok(_)) => tracing::info!("lease released"),
            Ok(Err(error)) => tracing::warn!(error = %error, "releasing the lease failed"),
            Err(error) => tracing::warn!(error = %error, "lease task failed"),
        }
    }
}
