//! An embedded, in-memory Kubernetes API server that `kube::Client`, kube-runtime controllers and
//! `kubectl` can talk to, for integration tests, CI e2e runs and local development.
//!
//! ```no_run
//! # async fn demo() -> Result<(), test_apiserver::Error> {
//! let server = test_apiserver::TestApiServer::start().await?;
//! let client = server.client();
//! println!("kubectl --kubeconfig {} get ns", server.kubeconfig_path().display());
//! # let _ = client;
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod apply;
mod decode;
mod discovery;
mod engine;
mod error;
mod handlers;
mod hooks;
mod jsonpath;
mod kubeconfig;
mod managed;
mod meta;
mod patch;
mod protobuf;
mod registry;
mod render;
mod reviews;
mod route;
mod schema;
mod selectors;
mod server;
mod store;
mod watch;

pub use error::{ApiError, Error};
pub use hooks::{FaultAction, Hooks, Mark, RequestFilter, RequestRecord};
/// Kubeconfig text for a plain-HTTP server URL (what [`TestApiServer`] writes), for clients that
/// reach the server another way, e.g. through a proxy.
pub use kubeconfig::render as kubeconfig_text;
pub use reviews::{Reviews, Subject, TokenUser};
pub use server::{ServerConfig, TestApiServer};
