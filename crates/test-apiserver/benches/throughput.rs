//! Sustained write throughput of the embedded server with many objects and many watches:
//! 10 000 ConfigMaps created then patched through `kube::Client`, while 50 watches stream every
//! change. Run with `cargo bench -p test-apiserver --bench throughput` (release build).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use test_apiserver::TestApiServer;

const OBJECTS: usize = 10_000;
const WATCHES: usize = 50;
const CONCURRENCY: usize = 32;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let server = TestApiServer::start().await?;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let received = Arc::new(AtomicUsize::new(0));
    for _ in 0..WATCHES {
        let api = api.clone();
        let received = received.clone();
        let mut events = api
            .watch(&WatchParams::default().disable_bookmarks(), "0")
            .await?
            .boxed();
        tokio::spawn(async move {
            while let Ok(Some(ev)) = events.try_next().await {
                if matches!(ev, WatchEvent::Added(_) | WatchEvent::Modified(_)) {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    let started = Instant::now();
    stream::iter(0..OBJECTS)
        .map(|i| {
            let api = api.clone();
            async move {
                let cm: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": format!("cm-{i}"), "labels": {"bench": "true"}},
                    "data": {"i": i.to_string()}
                }))?;
                api.create(&PostParams::default(), &cm).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    let create_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    stream::iter(0..OBJECTS)
        .map(|i| {
            let api = api.clone();
            async move {
                let patch = json!({"data": {"i": format!("{i}-updated")}});
                api.patch(
                    &format!("cm-{i}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    let patch_secs = started.elapsed().as_secs_f64();

    let expected = 2 * OBJECTS * WATCHES;
    let writes_done = Instant::now();
    let deadline = writes_done + Duration::from_secs(600);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain_secs = writes_done.elapsed().as_secs_f64();
    let total_secs = create_secs + patch_secs;
    println!(
        "objects: {OBJECTS}, watches: {WATCHES}, client concurrency: {CONCURRENCY}, 2 worker threads"
    );
    println!(
        "creates: {:.0}/s ({create_secs:.2}s)",
        OBJECTS as f64 / create_secs
    );
    println!(
        "patches: {:.0}/s ({patch_secs:.2}s)",
        OBJECTS as f64 / patch_secs
    );
    println!("overall: {:.0} writes/s", (2 * OBJECTS) as f64 / total_secs);
    println!(
        "watch events delivered: {} of {expected}, the last {drain_secs:.2}s after the last write",
        received.load(Ordering::Relaxed)
    );
    server.shutdown().await;
    Ok(())
}
