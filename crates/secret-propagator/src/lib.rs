//! Decides which OCM governance objects must exist to distribute RamenDR hub S3 Secrets to managed
//! clusters ([`plan()`]), and converges the hub to that with the fewest writes ([`Applier`]): a pure
//! [`diff()`] decides the [`Step`]s, an [`Executor`] sends them.
//!
//! A cluster receives secret `S` iff some policy holding a distribution lists it and needs `S`. Per
//! secret the hub carries a `Policy` `S` (its ConfigurationPolicy creates the Secret from hub templates —
//! the values are never read or copied), a `PlacementRule` `plrule-S` listing the clusters and a
//! `PlacementBinding` `plbinding-S`; the hub Secret carries the finalizer
//! `drpolicies.ramendr.openshift.io/policy-protection` while distributed. While the config asks for
//! the velero format (Ramen HEAD, [`velero_namespace`]), the same clusters also get `Policy` `vS`
//! (`plrule-vS`, `plbinding-vS`), whose Secret `vS` in the velero namespace is an AWS credentials file
//! the managed cluster builds from the delivered Secret, and the hub Secret carries
//! `drpolicies.ramendr.openshift.io/policy-protection-velero` too.
//!
//! ```
//! use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
//! use secret_propagator::{PlanInputs, Scope, SecretState, plan};
//! use std::collections::BTreeMap;
//!
//! let config = ramen_config::parse_str(
//!     "s3StoreProfiles:\n\
//!      - {s3ProfileName: s3-east, s3SecretRef: {name: secret-east}}\n\
//!      - {s3ProfileName: s3-west, s3SecretRef: {name: secret-west}}\n",
//! )
//! .unwrap()
//! .config;
//! let cluster = |name: &str, profile: &str| {
//!     DRCluster::new(name, DRClusterSpec { s3_profile_name: profile.into(), ..Default::default() })
//! };
//! let clusters = vec![cluster("east", "s3-east"), cluster("west", "s3-west")];
//! let secrets: BTreeMap<String, SecretState> = ["secret-east", "secret-west"]
//!     .into_iter()
//!     .map(|s| (s.to_owned(), SecretState { resource_version: "7".into(), ..Default::default() }))
//!     .collect();
//! let policy = DRPolicy::new("p", DRPolicySpec {
//!     dr_clusters: vec!["east".into(), "west".into()],
//!     ..Default::default()
//! });
//!
//! let inputs = PlanInputs {
//!     namespace: "ramen-system",
//!     config: &config,
//!     drclusters: &clusters,
//!     secrets: &secrets,
//! };
//! let plan = plan(&inputs, [&policy], Scope::All);
//! // Each cluster gets both secrets: it needs its peer's S3 profile too.
//! assert_eq!(plan.pairs().len(), 4);
//! let rule = plan.distribution("secret-east").placement_rule(plan.secrets["secret-east"].clusters.clone());
//! assert_eq!(rule.cluster_names().collect::<Vec<_>>(), ["east", "west"]);
//! ```
#![warn(missing_docs)]

//!
//! Modules, one concern each: [`plan`] (which objects should exist), [`state`] (what the hub has, and
//! what a run wrote), [`compare`] (does a live object say what we want?), [`step`] (the writes as
//! data), [`diff`](mod@diff) (which writes converge the hub: pure), [`execute`] (sending them),
//! [`report`] (what a run did) and [`apply`] (the [`Applier`]: diff, then execute).

pub mod apply;
pub mod compare;
pub mod diff;
pub mod execute;
pub mod plan;
pub mod report;
pub mod state;
pub mod step;

pub use apply::Applier;
pub use diff::{candidates, diff, secret_writes};
pub use execute::{Executor, FIELD_MANAGER};
pub use plan::{DesiredSecret, Plan, PlanInputs, PlanWarning, Scope, plan, velero_namespace};
pub use report::{Action, Applied, ApplyReport, Kind, Operation, StepError};
pub use state::{
    LiveObjects, SecretState, Secrets, View, Written, distributes, distributes_in, distribution_of,
};
pub use step::{FinalizerPatch, Op, ResolvedPatch, Stage, Step, Trigger, Write};
