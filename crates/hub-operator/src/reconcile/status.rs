//! Status writes and Warning events of a reconcile. A status is written only when the merged
//! conditions or the peer fields differ from what the policy shows as this process last wrote it.

use drpolicy_api::DRPolicy;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use std::sync::Arc;

use super::context::Context;
use super::error::ReconcileError;
use crate::bounded;
use crate::conditions::{self, Desired};
use crate::status_fields::StatusFields;

/// Writes the merged conditions when they differ from the cached ones (other status fields as they
/// are); returns whether it wrote.
pub(super) async fn write_status(
    ctx: &Context,
    policy: &Arc<DRPolicy>,
    desired: &[Desired],
    remove: &[&str],
) -> Result<bool, ReconcileError> {
    let written = ctx.written(policy);
    let fields = StatusFields::from_status(written.status.as_ref());
    write_status_with(ctx, policy, desired, remove, fields).await
}

/// Writes the merged conditions and `fields` (peer classes, network peers) when either differs from
/// what the cache (or our last write) shows; returns whether it wrote. Like Ramen HEAD, every status
/// write carries `async` and `sync`.
pub(super) async fn write_status_with(
    ctx: &Context,
    policy: &Arc<DRPolicy>,
    desired: &[Desired],
    remove: &[&str],
    fields: StatusFields,
) -> Result<bool, ReconcileError> {
    let written = ctx.written(policy);
    let current = written
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let current_fields = StatusFields::from_status(written.status.as_ref());
    let now = (ctx.clock)();
    let merged = conditions::merge(&current, desired, remove, policy.metadata.generation, &now);
    if merged.is_none() && fields == current_fields {
        return Ok(false);
    }
    let next = merged.unwrap_or(current);
    let name = policy.name_any();
    let answer = ctx
        .policies()
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&fields.patch(&next)),
        )
        .await
        .map_err(ReconcileError::Status)?;
    ctx.wrote(&name, Some(answer));
    Ok(true)
}

/// Publishes a Warning event about `policy` (its note bounded); a failure is only logged.
pub(super) async fn warn_event(ctx: &Context, policy: &DRPolicy, reason: &str, note: &str) {
    let event = Event {
        type_: EventType::Warning,
        reason: reason.to_owned(),
        note: Some(bounded::cut(note.to_owned(), bounded::EVENT_NOTE_MAX)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &policy.object_ref(&())).await {
        tracing::warn!(error = %error, "unable to publish event");
    }
}
