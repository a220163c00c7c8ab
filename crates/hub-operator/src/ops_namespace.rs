//! The Ramen ops namespace (`ramenOpsNamespace` of the config): created, labelled
//! `ramendr.openshift.io/created-by-ramen: "true"`, when a reconcile finds it missing (Ramen HEAD §9). An
//! existing namespace is used as it is, never relabelled.
//!
//! Ramen reads Namespaces from a cluster-wide cache; we do not watch Namespaces (that would cache every
//! namespace of the hub for one name). Instead the namespace is checked once per name with a GET (and
//! created when missing), then remembered: a converged hub pays nothing. A namespace deleted later is
//! re-created when the configured name changes or the operator restarts.

use drpolicy_api::names::{CREATED_BY_RAMEN_LABEL, CREATED_BY_RAMEN_LABEL_VALUE};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// Remembers the ops namespace known to exist; concurrent reconciles wait for one check.
#[derive(Debug, Default)]
pub struct OpsNamespace {
    known: Mutex<Option<String>>,
}

impl OpsNamespace {
    /// Makes sure namespace `name` exists: nothing when it is known to, else a GET and, on 404, a
    /// create. Errors are the API server's.
    pub async fn ensure(&self, client: &Client, name: &str) -> Result<(), kube::Error> {
        let mut known = self.known.lock().await;
        if known.as_deref() == Some(name) {
            return Ok(());
        }
        let api: Api<Namespace> = Api::all(client.clone());
        if api.get_opt(name).await?.is_none() {
            let namespace = Namespace {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    labels: Some(BTreeMap::from([(
                        CREATED_BY_RAMEN_LABEL.to_owned(),
                        CREATED_BY_RAMEN_LABEL_VALUE.to_owned(),
                    )])),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            match api.create(&PostParams::default(), &namespace).await {
                Ok(_) => tracing::info!(namespace = name, "created the Ramen ops namespace"),
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(error) => return Err(error),
            }
        }
        *known = Some(name.to_owned());
        Ok(())
    }
}
