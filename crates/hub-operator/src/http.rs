//! The health and metrics endpoints: `/healthz`, `/readyz` (ready once the caches have synced, or while
//! standing by for leadership) and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// Readiness shared between the operator and the probe endpoint.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the process ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether the process is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AppState {
    readiness: Readiness,
    metrics: Metrics,
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Binds the probe and metrics listeners (one listener when both addresses are equal; none for metrics
/// without an address) and serves them until the process ends. Returns the bound addresses (useful
/// with port 0).
pub async fn serve(
    health: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    readiness: Readiness,
    registry: Metrics,
) -> std::io::Result<(SocketAddr, Option<SocketAddr>)> {
    let state = AppState {
        readiness,
        metrics: registry,
    };
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let metrics_routes = Router::new().route("/metrics", get(metrics));
    let health_listener = TcpListener::bind(health).await?;
    let health_bound = health_listener.local_addr()?;
    let Some(metrics_addr) = metrics_addr else {
        let probes = probes.with_state(state);
        tokio::spawn(async move { axum::serve(health_listener, probes).await });
        return Ok((health_bound, None));
    };
    if health == metrics_addr {
        let app = probes.merge(metrics_routes).with_state(state);
        tokio::spawn(async move { axum::serve(health_listener, app).await });
        return Ok((health_bound, Some(health_bound)));
    }
    let metrics_listener = TcpListener::bind(metrics_addr).await?;
    let metrics_bound = metrics_listener.local_addr()?;
    let probes = probes.with_state(state.clone());
    let metrics_app = metrics_routes.with_state(state);
    tokio::spawn(async move { axum::serve(health_listener, probes).await });
    tokio::spawn(async move { axum::serve(metrics_listener, metrics_app).await });
    Ok((health_bound, Some(metrics_bound)))
}

/// Parses a Go-style bind address: `:8081` means every interface.
pub fn parse_bind_address(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_owned()
    };
    full.parse()
        .map_err(|e| format!("invalid bind address {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_bind_address;

    #[test]
    fn go_style_addresses_parse() {
        assert_eq!(
            parse_bind_address(":8081").unwrap().to_string(),
            "0.0.0.0:8081"
        );
        assert_eq!(
            parse_bind_address("127.0.0.1:9289").unwrap().to_string(),
            "127.0.0.1:9289"
        );
        assert!(parse_bind_address("nope").is_err());
    }
}
