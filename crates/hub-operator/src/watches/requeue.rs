//! Where the watches' mappers send what they map events to.

use drpolicy_api::DRPolicy;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;

use crate::hub::HubView;

/// Where mapped events go.
#[derive(Clone)]
pub(crate) struct Requeue {
    /// Single policies.
    pub(crate) policies: UnboundedSender<ObjectRef<DRPolicy>>,
    /// "Every policy" (ConfigMap changes, an OCM API appearing).
    pub(crate) all: UnboundedSender<()>,
    /// Clusters a policy stopped listing (deleted, or its spec changed): their views may be unneeded.
    pub(crate) released_clusters: UnboundedSender<String>,
}

impl Requeue {
    /// Requeues policy `name`.
    pub(crate) fn policy(&self, name: &str) {
        let _ = self.policies.send(ObjectRef::new(name));
    }

    /// Requeues each of `names`.
    pub(crate) fn each<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        names.into_iter().for_each(|n| self.policy(n));
    }

    /// Requeues the policies listing `cluster`.
    pub(crate) fn cluster(&self, hub: &HubView, cluster: &str) {
        let names = hub.policies_with_clusters([cluster]);
        self.each(names.iter().map(String::as_str));
    }
}
