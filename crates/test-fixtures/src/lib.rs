//! Builders for the objects of a RamenDR hub and a seeder that writes them, shared by the tests of
//! `hub-operator` and `secret-propagator`, the e2e suite and the benchmarks (a dev-dependency of the
//! product crates, never a dependency).
//!
//! It owns what every suite used to write again: the S3 Secrets ([`secret`]), the operator ConfigMap
//! and its RamenConfig ([`config`]), DRClusters and their `Validated` condition ([`drcluster`]),
//! DRPolicies ([`drpolicy`]), DRPlacementControls ([`drpc`]), OCM ManagedClusters ([`managed_cluster`]),
//! the Ramen and minimal OCM CRDs ([`crds`]), seeding a hub with them ([`seed`]) and the reads and waits
//! the suites make of a hub ([`hub_api`]). Everything that talks to a server takes a [`kube::Client`], so
//! it works against the embedded `test-apiserver` and a real kube-apiserver alike.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), test_fixtures::FixtureError> {
//! use test_fixtures::{HubSeed, RamenConfigYaml, S3Credentials, S3Profile, SeedCluster};
//!
//! let hub = HubSeed::new("ramen-system", S3Credentials::new("access", "secret"))
//!     .config(&RamenConfigYaml::hub([S3Profile::new("minio-on-dr1", "s3-dr1")]))
//!     .secrets(["s3-dr1"])
//!     .clusters([SeedCluster::new("dr1", "minio-on-dr1").joined("id-dr1")])
//!     .apply(&client)
//!     .await?;
//! hub.create_policy("p1", &["dr1"]).await?;
//! # Ok(()) }
//! ```

pub mod config;
pub mod crds;
pub mod drcluster;
pub mod drpc;
pub mod drpolicy;
mod error;
pub mod hub_api;
pub mod managed_cluster;
pub mod secret;
pub mod seed;
pub mod wait;

pub use config::{RamenConfigYaml, S3Profile, operator_configmap};
pub use crds::CrdSet;
pub use drcluster::{drcluster, drcluster_in};
pub use drpc::drpc;
pub use drpolicy::{by_name, drpolicy};
pub use error::FixtureError;
pub use hub_api::HubApi;
pub use managed_cluster::{ManagedClusterFixture, cluster_id};
pub use secret::{S3Credentials, s3_secret};
pub use seed::{HubSeed, SeedCluster};
pub use wait::Patience;
