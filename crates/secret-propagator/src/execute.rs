//! The effects: sends the [`Step`]s a [`diff`](crate::diff()) decided, in order, resolving the
//! dependencies their data states on the results of earlier ones, and reports what happened.
//!
//! Objects are written with server-side apply of the whole desired object (force, one field manager),
//! so the outcome depends only on the plan — two concurrent runs over the same state agree, and a
//! Policy, PlacementRule or PlacementBinding someone edited or deleted is restored. The Secret
//! finalizers are changed with a merge patch that carries the cached resourceVersion, so a stale cache
//! yields a conflict (and a retry), never a lost finalizer; only metadata is sent and asked back, so
//! Secret data never reaches this process.

use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;

use crate::report::{Action, Applied, ApplyReport, Kind, Operation, StepError};
use crate::state::{SecretState, Written};
use crate::step::{FinalizerPatch, Op, ResolvedPatch, Stage, Step, Write};

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "ramen-hub-operator";

/// Sends steps to the API server, in one namespace.
#[derive(Clone)]
pub struct Executor {
    secrets: Api<Secret>,
    policies: Api<Policy>,
    rules: Api<PlacementRule>,
    bindings: Api<PlacementBinding>,
}

/// What the steps so far left for the later steps of the run to depend on.
#[derive(Default)]
struct Outcomes {
    /// (secret, format, stage) whose writes stopped at a failure.
    failed: BTreeSet<(String, Option<Format>, Stage)>,
    /// The resourceVersion each Secret's finalizer patch returned.
    patched: BTreeMap<String, Option<String>>,
}

impl Outcomes {
    /// Whether an earlier failure skips `write` (see [`Stage`]).
    fn skips(&self, write: &Write) -> bool {
        let failed = |format, stage| self.failed.contains(&(write.secret.clone(), format, stage));
        failed(write.format, write.stage)
            || (write.stage == Stage::Converge && failed(None, Stage::Finalizers))
    }
}

impl Executor {
    /// An executor writing in `namespace` through `client`.
    pub fn new(client: Client, namespace: &str) -> Self {
        Executor {
            secrets: Api::namespaced(client.clone(), namespace),
            policies: Api::namespaced(client.clone(), namespace),
            rules: Api::namespaced(client.clone(), namespace),
            bindings: Api::namespaced(client, namespace),
        }
    }

    /// Sends `steps` in order. A failed write is reported and skips what depends on it; the other
    /// formats and secrets go on. At a [`Step::Redecide`] the planned writes of that secret are
    /// replaced by `redecide(secret, written so far)`.
    pub async fn run<F>(&self, steps: Vec<Step>, redecide: F) -> ApplyReport
    where
        F: Fn(&str, &Written) -> Vec<Write>,
    {
        let mut report = ApplyReport::default();
        let mut outcomes = Outcomes::default();
        let mut steps = steps.into_iter().peekable();
        while let Some(step) = steps.next() {
            match step {
                Step::Write(write) => self.send(write, &mut report, &mut outcomes).await,
                Step::Redecide { secret } => {
                    while steps.next_if(|step| step.secret() == secret).is_some() {}
                    for write in redecide(&secret, &report.written) {
                        self.send(write, &mut report, &mut outcomes).await;
                    }
                }
            }
        }
        report
    }

    async fn send(&self, write: Write, report: &mut ApplyReport, outcomes: &mut Outcomes) {
        if outcomes.skips(&write) {
            return;
        }
        let secret = write.secret.as_str();
        let format = write.format;
        let (kind, name) = (write.op.kind(), write.op.name());
        let fail =
            |operation| move |source| StepError::new(secret, format, operation, kind, name, source);
        // The object writes are of one format; the Secret patch reports each format it changes.
        let of_format = |actions: Vec<Action>| -> Vec<(Format, Action)> {
            format
                .map(|format| actions.into_iter().map(|a| (format, a)).collect())
                .unwrap_or_default()
        };
        let result = match &write.op {
            Op::ApplyBinding(binding) => apply(&self.bindings, name, binding)
                .await
                .map(|answer| {
                    let answer = Some(Arc::new(answer));
                    report
                        .written
                        .placement_bindings
                        .insert(name.to_owned(), answer);
                    of_format(vec![Action::BindingApplied])
                })
                .map_err(fail(Operation::Apply)),
            Op::ApplyPolicy { policy, trigger } => {
                let patched = outcomes.patched.get(secret).cloned().flatten();
                match trigger.resolve(policy, patched.as_deref()) {
                    None => Ok(vec![]),
                    Some(policy) => apply(&self.policies, name, &policy)
                        .await
                        .map(|answer| {
                            let answer = Some(Arc::new(answer));
                            report.written.policies.insert(name.to_owned(), answer);
                            of_format(vec![Action::PolicyApplied])
                        })
                        .map_err(fail(Operation::Apply)),
                }
            }
            Op::ApplyRule(rule) => apply(&self.rules, name, rule)
                .await
                .map(|answer| {
                    let answer = Some(Arc::new(answer));
                    report
                        .written
                        .placement_rules
                        .insert(name.to_owned(), answer);
                    of_format(vec![Action::RuleApplied])
                })
                .map_err(fail(Operation::Apply)),
            Op::Delete { .. } => self
                .delete(kind, name, &mut report.written)
                .await
                .map(of_format)
                .map_err(fail(Operation::Delete)),
            Op::PatchFinalizers(patch) => {
                let resolved = patch.resolve(|format| {
                    !outcomes
                        .failed
                        .contains(&(secret.to_owned(), Some(format), Stage::Release))
                });
                match resolved {
                    None => Ok(vec![]),
                    Some(resolved) => {
                        self.patch_finalizers(secret, patch, resolved, report, outcomes)
                            .await
                    }
                }
            }
        };
        match result {
            Ok(actions) => {
                for (format, action) in actions {
                    record(report, secret, format, action);
                }
            }
            Err(error) => {
                outcomes
                    .failed
                    .insert((write.secret.clone(), write.format, write.stage));
                failed(report, error);
            }
        }
    }

    /// Deletes `name`, recording it gone; the action when it was there.
    async fn delete(
        &self,
        kind: Kind,
        name: &str,
        written: &mut Written,
    ) -> Result<Vec<Action>, kube::Error> {
        let (deleted, action) = match kind {
            Kind::PlacementBinding => {
                let deleted = delete(&self.bindings, name).await?;
                written.placement_bindings.insert(name.to_owned(), None);
                (deleted, Action::BindingDeleted)
            }
            Kind::Policy => {
                let deleted = delete(&self.policies, name).await?;
                written.policies.insert(name.to_owned(), None);
                (deleted, Action::PolicyDeleted)
            }
            Kind::PlacementRule => {
                let deleted = delete(&self.rules, name).await?;
                written.placement_rules.insert(name.to_owned(), None);
                (deleted, Action::RuleDeleted)
            }
            // `diff` never deletes a Secret.
            Kind::Secret => return Ok(vec![]),
        };
        Ok(if deleted { vec![action] } else { vec![] })
    }

    /// Sends the finalizer patch as the released formats left it, and records the resourceVersion it
    /// returns for the Policies' triggers; the (format, action) of each finalizer removed, then added.
    async fn patch_finalizers(
        &self,
        secret: &str,
        patch: &FinalizerPatch,
        resolved: ResolvedPatch,
        report: &mut ApplyReport,
        outcomes: &mut Outcomes,
    ) -> Result<Vec<(Format, Action)>, StepError> {
        let body = json!({
            "metadata": {
                "resourceVersion": patch.resource_version,
                "finalizers": resolved.finalizers,
            }
        });
        let patched: PartialObjectMeta<Secret> = self
            .secrets
            .patch_metadata(secret, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|source| {
                StepError::new(
                    secret,
                    None,
                    resolved.operation,
                    Kind::Secret,
                    secret,
                    source,
                )
            })?;
        report
            .written
            .secrets
            .insert(secret.to_owned(), SecretState::from_meta(patched.meta()));
        outcomes
            .patched
            .insert(secret.to_owned(), patched.meta().resource_version.clone());
        let removed = resolved
            .removed
            .into_iter()
            .map(|format| (format, Action::FinalizerRemoved));
        let added = resolved
            .added
            .into_iter()
            .map(|format| (format, Action::FinalizerAdded));
        Ok(removed.chain(added).collect())
    }
}

fn record(report: &mut ApplyReport, secret: &str, format: Format, action: Action) {
    tracing::info!(secret = %secret, format = %format, action = ?action, "secret distribution write");
    report.applied.push(Applied {
        secret: secret.to_owned(),
        format,
        action,
    });
}

fn failed(report: &mut ApplyReport, error: StepError) {
    tracing::warn!(
        secret = %error.secret,
        format = error.format.map(Format::as_str),
        error = %error,
        "secret distribution step failed"
    );
    report.errors.push(error);
}

async fn apply<K>(api: &Api<K>, name: &str, object: &K) -> Result<K, kube::Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
}

/// Deletes `name`; `Ok(false)` when it was already gone.
async fn delete<K>(api: &Api<K>, name: &str) -> Result<bool, kube::Error>
where
    K: Resource + DeserializeOwned + Clone + Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}
