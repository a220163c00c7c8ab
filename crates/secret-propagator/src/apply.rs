//! The applier: converges the hub to a [`Plan`] with the fewest writes, as [`diff`] (which writes,
//! decided from the cached state the caller passes: no GET, no LIST) then an [`Executor`] (sending
//! them). When every object already matches it sends nothing.

use kube::Client;

use crate::diff::{diff, secret_writes};
use crate::execute::Executor;
use crate::plan::Plan;
use crate::report::ApplyReport;
use crate::state::{LiveObjects, Secrets, View, Written};

/// Writes OCM distribution objects and Secret finalizers in the operator namespace.
#[derive(Clone)]
pub struct Applier {
    client: Client,
}

impl Applier {
    /// An applier using `client`.
    pub fn new(client: Client) -> Self {
        Applier { client }
    }

    /// Converges the secrets in the plan's scope: distributes what the plan wants in the formats it
    /// wants, removes what it does not want (objects, then the Secret finalizer of that format). With
    /// distribution disabled (or a secret held, see [`Plan::held`]) nothing is created or grown, but
    /// clusters, formats and secrets no holder needs any more are still removed. See [`diff`] for the
    /// order of the writes.
    ///
    /// `secrets` and `live` are the cached state (metadata of the operator namespace's Secrets and the
    /// live OCM objects of both formats); they decide which writes are needed.
    pub async fn apply(&self, plan: &Plan, secrets: &Secrets, live: &LiveObjects) -> ApplyReport {
        let steps = diff(plan, secrets, live);
        let redecide = |secret: &str, written: &Written| {
            let view = View { live, written };
            secret_writes(plan, secret, secrets.get(secret), view)
        };
        Executor::new(self.client.clone(), &plan.namespace)
            .run(steps, redecide)
            .await
    }
}
