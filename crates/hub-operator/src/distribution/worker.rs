//! The distribution workers: each takes a secret from the queue, decides its holders, plans and
//! applies its objects with `secret-propagator`, records the outcome and requeues the policies whose
//! view of it changed.

use drpolicy_api::DRPolicy;
use kube::Client;
use kube::runtime::reflector::ObjectRef;
use secret_propagator::{Applier, PlanInputs, Scope, plan};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

use super::objects::{object_bases, object_names, others_named};
use super::{Outcome, Result, State, WriteFailure};
use crate::hub::HubView;
use crate::kube_util::{describe, is_conflict, status_code};
use crate::metrics::Metrics;
use crate::pending::{OWN_WRITE_TTL, Pending};

/// What a distribution worker uses.
pub(crate) struct Worker {
    /// API client.
    pub(crate) client: Client,
    /// The hub view.
    pub(crate) hub: Arc<HubView>,
    /// Our writes the view does not show yet.
    pub(crate) pending: Arc<Pending>,
    /// The distribution state.
    pub(crate) state: Arc<State>,
    /// Metrics.
    pub(crate) metrics: Metrics,
    /// Where policies are requeued.
    pub(crate) requeue: UnboundedSender<ObjectRef<DRPolicy>>,
}

impl Worker {
    /// Processes the queue until `shutdown` resolves; the run in progress completes.
    pub(crate) async fn run(self: Arc<Self>, shutdown: crate::Shutdown) {
        let (queue, expiry) = (self.state.queue.clone(), self.state.expiry.clone());
        tokio::select! {
            _ = shutdown.clone() => return,
            _ = self.state.wait_policies_synced() => {}
        }
        loop {
            let key = tokio::select! {
                _ = shutdown.clone() => return,
                key = queue.next() => key,
                secret = expiry.next() => {
                    expiry.done(&secret);
                    self.check_expiry(&secret);
                    continue;
                }
            };
            let span = tracing::info_span!("distribute", secret = %key);
            let timer = self
                .metrics
                .distribution_duration
                .with_label_values::<&str>(&[])
                .start_timer();
            let label = tracing::Instrument::instrument(self.converge(&key), span).await;
            timer.observe_duration();
            self.metrics.distributions.with_label_values(&[label]).inc();
            queue.done(&key);
        }
    }

    /// Should the watch never show a write of `secret`'s run, converges it again without the write
    /// once [`OWN_WRITE_TTL`] passed; writes still younger are checked again later.
    fn check_expiry(&self, secret: &str) {
        let names = object_names(secret);
        let names = || names.iter().map(String::as_str);
        let pending = &self.pending;
        let expired = [
            pending.ocm_policies.expire(names()),
            pending.placement_rules.expire(names()),
            pending.placement_bindings.expire(names()),
            pending.secrets.expire([secret]),
        ];
        if expired.contains(&true) {
            self.state.queue.add(secret);
        }
        let younger = pending.ocm_policies.contains_any(names())
            || pending.placement_rules.contains_any(names())
            || pending.placement_bindings.contains_any(names())
            || pending.secrets.contains_any([secret]);
        if younger {
            self.state.expiry.add_after(secret, OWN_WRITE_TTL / 2);
        }
    }

    /// Converges one secret; returns the result label for the metrics.
    async fn converge(&self, secret: &str) -> &'static str {
        let state = &self.state;
        let epoch = state.tick();
        let view = self.hub.config();
        // A broken config does not stop distribution: the last config that parsed still applies (the
        // policies report the broken one in `Validated`).
        let Some(config) = view.usable() else {
            tracing::debug!("no config has been read yet");
            return "skipped";
        };
        let drclusters = self.hub.drclusters();
        let drclusters = &*drclusters;
        let holders = state.holders(&self.hub, &self.pending, secret, &config, drclusters);
        let mut secrets = self.hub.secrets();
        let mut live = self.hub.live_objects(Some(&object_bases(secret)));
        self.pending.overlay(&mut live, &mut secrets);
        let inputs = PlanInputs {
            namespace: &self.hub.namespace,
            config: &config,
            drclusters,
            secrets: &secrets,
        };
        let plan = plan(
            &inputs,
            holders.iter().map(AsRef::as_ref),
            Scope::Secrets(BTreeSet::from([secret.to_owned()])),
        );
        let report = Applier::new(self.client.clone())
            .apply(&plan, &secrets, &live)
            .await;
        // The watch events of our own writes are swallowed; a name `vS` may also be another secret's
        // (the ramen format of Secret `vS` or the velero format of `S`), whose run must look again.
        for other in others_named(secret, &report.written) {
            state.queue.add(&other);
        }
        if !report.written.is_empty() {
            self.pending
                .distribution_written(&self.hub, &report.written);
            state.expiry.add_after(secret, OWN_WRITE_TTL);
        }

        let (result, label) = if report.is_ok() {
            state.failures.reset(secret);
            state.conflicts.reset(secret);
            let unavailable = plan
                .warnings
                .iter()
                .find(|w| w.secret() == Some(secret))
                .map(|w| w.summary());
            let result = match unavailable {
                Some(why) => Result::Unavailable(why),
                None if !plan.enabled => Result::Disabled,
                None => Result::Distributed,
            };
            (result, "success")
        } else {
            if report.errors.iter().all(|e| is_conflict(&e.source)) {
                // The cache was behind a write: the next run, once it caught up, succeeds. The
                // outcome stays what it was.
                let delay = state.conflicts.next(secret);
                tracing::debug!(retry_in = ?delay, "cache behind a write; retrying");
                state.queue.add_after(secret, delay);
                return "conflict";
            }
            let failures: Vec<WriteFailure> = report
                .errors
                .iter()
                .map(|e| WriteFailure {
                    what: e.what(),
                    code: status_code(&e.source),
                    message: describe(&e.source),
                })
                .collect();
            let delay = state.failures.next(secret);
            tracing::warn!(
                error = %super::describe_failures(&failures),
                retry_in = ?delay,
                "secret distribution failed"
            );
            state.queue.add_after(secret, delay);
            (Result::Failed(failures), "error")
        };

        let outcome = Outcome {
            epoch,
            holders: Arc::new(
                holders
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect(),
            ),
            result,
        };
        let previous = state
            .outcomes
            .lock()
            .insert(secret.to_owned(), outcome.clone());
        let mut requeue: BTreeSet<String> = match previous {
            Some(previous) if previous.result == outcome.result => previous
                .holders
                .symmetric_difference(&outcome.holders)
                .cloned()
                .collect(),
            Some(previous) => previous.holders.union(&outcome.holders).cloned().collect(),
            None => (*outcome.holders).clone(),
        };
        if let Some(waiting) = state.waiters.lock().remove(secret) {
            requeue.extend(waiting);
        }
        for policy in requeue {
            let _ = self.requeue.send(ObjectRef::new(&policy));
        }
        label
    }
}
