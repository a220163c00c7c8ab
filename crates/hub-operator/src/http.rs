//! The health and metrics endpoints: `/healthz` (live while the process makes progress, see
//! [`crate::liveness`]; 503 naming what is stuck otherwise), `/readyz` (ready once the caches have
//! synced, or while standing by for leadership) and `/metrics` — plain HTTP, or with
//! [`SecureMetrics`] over TLS for callers the API server authenticates and authorizes
//! ([`crate::metrics_auth`]). The probes stay plain HTTP: the kubelet calls them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

use crate::liveness::Liveness;
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
    liveness: Liveness,
    metrics: Metrics,
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let stuck = state.liveness.stuck();
    if stuck.is_empty() {
        return (StatusCode::OK, "ok".to_owned());
    }
    tracing::warn!(?stuck, "liveness probe failed: no progress");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("no progress: {}", stuck.join("; ")),
    )
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

/// How `/metrics` is protected when served securely.
#[derive(Clone)]
pub struct SecureMetrics {
    /// The TLS configuration ([`crate::metrics_tls::server_config`]).
    pub tls: Arc<rustls::ServerConfig>,
    /// Who may read it.
    pub authorizer: crate::metrics_auth::Authorizer,
}

/// Binds the probe and metrics listeners (one listener when both addresses are equal; none for metrics
/// without an address) and serves them until the process ends; metrics over TLS with authorization
/// when `secure` is given (then the two addresses must differ). Returns the bound addresses (useful
/// with port 0).
pub async fn serve(
    health: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    readiness: Readiness,
    liveness: Liveness,
    registry: Metrics,
    secure: Option<SecureMetrics>,
) -> std::io::Result<(SocketAddr, Option<SocketAddr>)> {
    let state = AppState {
        readiness,
        liveness,
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
    if let Some(secure) = secure {
        // Port 0 (tests) binds two listeners anyway.
        if health == metrics_addr && health.port() != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "secure metrics need their own address (the probes stay plain HTTP)",
            ));
        }
        let metrics_listener = TcpListener::bind(metrics_addr).await?;
        let metrics_bound = metrics_listener.local_addr()?;
        let metrics_app = metrics_routes
            .layer(axum::middleware::from_fn_with_state(
                secure.authorizer,
                crate::metrics_auth::require_access,
            ))
            .with_state(state.clone());
        let probes = probes.with_state(state);
        tokio::spawn(async move { axum::serve(health_listener, probes).await });
        tokio::spawn(crate::metrics_tls::serve(
            metrics_listener,
            secure.tls,
            metrics_app,
        ));
        return Ok((health_bound, Some(metrics_bound)));
    }
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
