//! The TLS side of the secure metrics endpoint: a certificate from a directory (`tls.crt` and
//! `tls.key`, as a mounted Secret or cert-manager provides them) or, without one, a self-signed
//! certificate generated at startup (as controller-runtime does; scrapers then skip verification
//! or pin it), and the accept loop serving a router over TLS.

use anyhow::Context as _;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake that takes longer is dropped (a client that connects and sends nothing never
/// holds a task).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request whose headers take longer is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; further ones wait in the listen backlog (a flood cannot use up the
/// file descriptors the operator's API connections need).
const CONNECTIONS: usize = 32;

/// The server's TLS configuration: the certificate of `cert_dir`, or a self-signed one for
/// `hostnames`.
pub fn server_config(
    cert_dir: Option<&Path>,
    hostnames: &[String],
) -> anyhow::Result<Arc<ServerConfig>> {
    let (certs, key) = match cert_dir {
        Some(dir) => {
            let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
            let certs = CertificateDer::pem_file_iter(&cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("reading the metrics certificate {}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(&key)
                .with_context(|| format!("reading the metrics key {}", key.display()))?;
            (certs, key)
        }
        None => {
            let generated = rcgen::generate_simple_self_signed(hostnames.to_vec())
                .context("generating a self-signed metrics certificate")?;
            let key = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
            (vec![generated.cert.der().clone()], key.into())
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the metrics certificate and key do not match")?;
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Arc<ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(error = %error, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, error = %error, "metrics: TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "metrics: TLS handshake timed out");
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %error, "metrics: connection ended with an error");
            }
        });
    }
}
