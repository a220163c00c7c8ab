//! What the operator keeps of a hub Secret: its name, namespace, uid, resourceVersion, deletion
//! timestamp and finalizers — the fields the secret distribution reads — and nothing else.
//!
//! The watch asks the API server for metadata only (`PartialObjectMetadata`), so `data` never crosses
//! the wire. Metadata can carry the values too: client-side
//! `kubectl apply` stores the whole manifest, `data` included, in the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation. Every other field is dropped as the
//! watch delivers it, before anything caches, logs or maps it.

use futures::Stream;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

/// Watches the Secrets of `api` metadata-only (kube asks for `PartialObjectMetadata`: the API server
/// sends no `data`), keeping only what
/// [`keep_used`] keeps.
pub(crate) fn watch(
    api: Api<PartialObjectMeta<Secret>>,
    config: watcher::Config,
) -> impl Stream<Item = Result<Event<PartialObjectMeta<Secret>>, watcher::Error>> + Send {
    watcher::watcher(api, config).modify(keep_used)
}

/// Drops every field of a Secret's metadata the operator does not read.
pub(crate) fn keep_used(secret: &mut PartialObjectMeta<Secret>) {
    let meta = std::mem::take(&mut secret.metadata);
    secret.metadata = ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resource_version: meta.resource_version,
        deletion_timestamp: meta.deletion_timestamp,
        finalizers: meta.finalizers,
        ..ObjectMeta::default()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::PostParams;
    use std::collections::BTreeMap;

    const VALUE: &str = "c2VjcmV0LXZhbHVlLW5ldmVyLWtlcHQ=";

    /// A Secret as client-side `kubectl apply` stores it: the manifest, values included, in an
    /// annotation, plus labels and an owner the operator never reads.
    fn applied_secret() -> Secret {
        let manifest = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s3", "namespace": "ramen-system"},
            "data": {"AWS_SECRET_ACCESS_KEY": VALUE},
        });
        let mut secret = Secret::default();
        secret.metadata.name = Some("s3".into());
        secret.metadata.annotations = Some(BTreeMap::from([(
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            manifest.to_string(),
        )]));
        secret.metadata.labels = Some(BTreeMap::from([("app".to_owned(), "minio".to_owned())]));
        secret.metadata.finalizers = Some(vec!["example.com/keep".into()]);
        secret.data = Some(BTreeMap::from([(
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            k8s_openapi::ByteString(VALUE.as_bytes().to_vec()),
        )]));
        secret
    }

    #[tokio::test]
    async fn the_secret_watch_keeps_nothing_of_a_kubectl_applied_manifest() {
        let server = test_apiserver::TestApiServer::start().await.unwrap();
        let client = server.client();
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some("ramen-system".into());
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        Api::<Secret>::namespaced(client.clone(), "ramen-system")
            .create(&PostParams::default(), &applied_secret())
            .await
            .unwrap();

        let stream = watch(
            Api::namespaced(client, "ramen-system"),
            watcher::Config::default(),
        );
        futures::pin_mut!(stream);
        let mut seen = Vec::new();
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                Event::InitApply(secret) | Event::Apply(secret) => seen.push(secret),
                Event::InitDone => break,
                _ => {}
            }
        }
        assert_eq!(seen.len(), 1);
        let kept = serde_json::to_string(&seen[0]).unwrap();
        assert!(!kept.contains(VALUE), "{kept}");
        assert!(!kept.contains("last-applied"), "{kept}");
        assert!(!kept.contains("minio"), "labels are not read: {kept}");
        let meta = &seen[0].metadata;
        assert_eq!(meta.name.as_deref(), Some("s3"));
        assert!(meta.resource_version.is_some());
        assert_eq!(
            meta.finalizers.as_deref(),
            Some(&["example.com/keep".to_owned()][..])
        );
    }
}
