//! Secret values never enter the operator: a Secret applied client-side by kubectl (its values copied
//! into the `last-applied-configuration` annotation) leaves no trace in any log line at any level, any
//! Event, or any object the operator writes.

mod support;

use kube::api::{Api, ListParams};
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::Hub;

/// Every log line of the process, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const APPLIED_VALUE: &str = "applied-secret-value-never-seen";

#[tokio::test]
async fn a_kubectl_applied_secret_leaves_no_value_in_logs_events_or_objects() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let hub = Hub::running().await;
    // What `kubectl apply` (client-side) does to an existing Secret: the manifest, values included,
    // lands in an annotation.
    let encoded = k8s_openapi::ByteString(APPLIED_VALUE.as_bytes().to_vec());
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "ramen-s3-secret-dr1", "namespace": support::NS},
        "data": {"AWS_SECRET_ACCESS_KEY": encoded},
    });
    let patch = serde_json::json!({
        "metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": manifest.to_string(),
        }},
        "data": {"AWS_SECRET_ACCESS_KEY": encoded},
    });
    hub.patch_secret("ramen-s3-secret-dr1", &patch).await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    // A second policy sharing the secret: more reconciles and distributions that mention it.
    hub.create_distributed("p2", &["dr1", "dr3"]).await;
    hub.quiet().await;

    let base64 = serde_json::to_string(&encoded).unwrap();
    let needles = [
        APPLIED_VALUE,
        base64.trim_matches('"'),
        support::ACCESS_KEY,
        support::SECRET_KEY,
    ];
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("ramen-s3-secret-dr1"),
        "the capture works: the operator logs about the secret"
    );
    let mut written = vec![("logs".to_owned(), logs)];
    let lp = ListParams::default();
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(hub.client.clone());
    for event in events.list(&lp).await.unwrap() {
        written.push(("event".into(), serde_json::to_string(&event).unwrap()));
    }
    // Every DRPolicy, OCM Policy, PlacementRule and PlacementBinding.
    for object in hub.written_objects().await {
        written.push(("a written object".into(), object));
    }
    for (what, text) in &written {
        for needle in needles {
            assert!(!text.contains(needle), "{needle:?} appears in {what}");
        }
    }
}
