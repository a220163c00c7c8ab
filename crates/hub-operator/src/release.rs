//! `hub-operator release`: the uninstall step that takes the operator's finalizers off the hub's
//! objects once the operator is stopped, so that deleting the CRDs, the DRPolicies or the S3 Secrets
//! does not hang on a finalizer nobody will remove any more.
//!
//! It removes exactly our finalizers — [`DRPOLICY_FINALIZER`] on DRPolicies, [`SECRET_POLICY_FINALIZER`]
//! and [`SECRET_POLICY_FINALIZER_VELERO`] on the Secrets of the operator namespace — with JSON patches
//! that `test` the object's resourceVersion and each removed entry first, so a concurrent writer makes
//! the patch fail instead of losing its change (the object is then listed again). It reads and writes
//! metadata only (Secret values never reach this process), never deletes anything, and refuses while a
//! running operator holds the leader Lease, which would put the finalizers right back.

use std::collections::BTreeSet;
use std::fmt;

use drpolicy_api::DRPolicy;
use drpolicy_api::names::{
    DRPOLICY_FINALIZER, HUB_LEADER_ELECTION_ID, SECRET_POLICY_FINALIZER,
    SECRET_POLICY_FINALIZER_VELERO,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ListParams};
use kube::core::PartialObjectMeta;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

use crate::cli::ReleaseArgs;

/// Field manager named in the patches (audit logs show who removed the finalizers).
pub const FIELD_MANAGER: &str = "ramen-hub-operator-release";

/// Lease duration assumed when a Lease does not state one (controller-runtime's and ours: 15 s).
const DEFAULT_LEASE_SECONDS: i64 = 15;

/// Rounds of list-and-patch before giving up on objects that keep changing under us.
const MAX_ROUNDS: usize = 5;

/// Accept header asking for `PartialObjectMetadata`: a patched Secret comes back without its data.
const METADATA_ACCEPT: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/// What `release` does, resolved from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The operator namespace: its Secrets and its Lease.
    pub namespace: String,
    /// Name of the leader-election Lease in `namespace`.
    pub lease: String,
    /// Report what would change without writing.
    pub dry_run: bool,
    /// Go on although a fresh Lease says an operator is running.
    pub force: bool,
}

/// Why `release` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A running operator holds the leader Lease: it would add the finalizers back.
    #[error(
        "Lease {namespace}/{lease} is held by {holder:?}, renewed {age_seconds} s ago (it lasts \
         {duration_seconds} s): an operator is still running and would add the finalizers back. \
         Stop it first (kubectl -n {namespace} scale deployment/<name> --replicas=0, or helm \
         uninstall), or pass --force"
    )]
    LeaseHeld {
        /// The operator namespace.
        namespace: String,
        /// The Lease name.
        lease: String,
        /// `spec.holderIdentity`.
        holder: String,
        /// Seconds since `spec.renewTime`.
        age_seconds: i64,
        /// `spec.leaseDurationSeconds`.
        duration_seconds: i64,
    },
    /// A request to the API server failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done, naming the object.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// Objects kept changing between our list and our patch.
    #[error("{0} still changed under us after {MAX_ROUNDS} attempts; run release again")]
    KeptChanging(String),
}

/// One object whose finalizers were (or, in a dry run, would be) removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Released {
    /// `drpolicy` or `secret`.
    pub kind: &'static str,
    /// `name` for DRPolicies, `namespace/name` for Secrets.
    pub name: String,
    /// The finalizers removed.
    pub finalizers: Vec<String>,
}

/// What a run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The objects released, sorted.
    pub released: Vec<Released>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for r in &self.released {
            writeln!(
                f,
                "{}/{}: {verb} {}",
                r.kind,
                r.name,
                r.finalizers.join(", ")
            )?;
        }
        let count = |kind| self.released.iter().filter(|r| r.kind == kind).count();
        let finalizers: usize = self.released.iter().map(|r| r.finalizers.len()).sum();
        write!(
            f,
            "{}: {finalizers} finalizer(s) on {} DRPolicy(ies) and {} Secret(s){}",
            if self.dry_run { "dry run" } else { "released" },
            count("drpolicy"),
            count("secret"),
            if self.dry_run {
                "; nothing was changed"
            } else {
                ""
            },
        )
    }
}

/// The command: resolves the options (the Lease name from the flag, else the operator ConfigMap, else
/// Ramen's default), connects with in-cluster config or KUBECONFIG, releases and prints the summary.
pub async fn command(args: ReleaseArgs) -> anyhow::Result<()> {
    let namespace = args.namespace.filter(|n| !n.is_empty()).ok_or_else(|| {
        anyhow::anyhow!("no operator namespace: pass --namespace or set POD_NAMESPACE")
    })?;
    // The operator's own client: the same timeouts and User-Agent as `run`.
    let client = crate::client::infer().await.map_err(|e| {
        anyhow::anyhow!("no Kubernetes configuration (in-cluster or KUBECONFIG): {e}")
    })?;
    let lease = match args.leader_election_id.filter(|l| !l.is_empty()) {
        Some(lease) => lease,
        None => crate::settings::read_startup_config(&client, &namespace)
            .await
            .map(|c| c.leader_election.resource_name)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| HUB_LEADER_ELECTION_ID.to_owned()),
    };
    let options = Options {
        namespace,
        lease,
        dry_run: args.dry_run,
        force: args.force,
    };
    let summary = run(&client, &options).await?;
    println!("{summary}");
    Ok(())
}

/// Releases the operator's finalizers on the hub of `client`.
pub async fn run(client: &Client, options: &Options) -> Result<Summary, ReleaseError> {
    // --force skips the Lease entirely (with leader election off the chart grants no Lease access).
    if !options.force
        && let Some(held) = lease_state(client, options).await?
    {
        return Err(held);
    }
    let policies: Api<DRPolicy> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &options.namespace);
    let mut released = release_all(&policies, "drpolicy", &[DRPOLICY_FINALIZER], options).await?;
    released.extend(
        release_all(
            &secrets,
            "secret",
            &[SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO],
            options,
        )
        .await?,
    );
    released.sort();
    Ok(Summary {
        dry_run: options.dry_run,
        released,
    })
}

/// `Some(error)` when the Lease is held by someone and was renewed within its duration.
async fn lease_state(
    client: &Client,
    options: &Options,
) -> Result<Option<ReleaseError>, ReleaseError> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &options.namespace);
    let lease = leases.get_opt(&options.lease).await.map_err(|source| {
        let hint = match &source {
            kube::Error::Api(status) if status.code == 403 => {
                " (not allowed: without leader election the chart grants no Lease access; once \
                     the operator is stopped, pass --force)"
            }
            _ => "",
        };
        ReleaseError::Api {
            what: format!(
                "reading Lease {}/{}{hint}",
                options.namespace, options.lease
            ),
            source,
        }
    })?;
    Ok(lease
        .as_ref()
        .and_then(|l| held_lease(l, Timestamp::now()))
        .map(|held| ReleaseError::LeaseHeld {
            namespace: options.namespace.clone(),
            lease: options.lease.clone(),
            holder: held.holder,
            age_seconds: held.age_seconds,
            duration_seconds: held.duration_seconds,
        }))
}

/// A Lease that someone holds and renewed less than its duration ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    /// `spec.holderIdentity`.
    pub holder: String,
    /// Seconds since the last renewal (or acquisition).
    pub age_seconds: i64,
    /// `spec.leaseDurationSeconds` (15 when unset).
    pub duration_seconds: i64,
}

/// Whether `lease` is held at `now`: a holder is named and the last renewal (or acquisition) is younger
/// than the lease's duration. A released Lease (no holder) or an expired one is not held.
pub fn held_lease(lease: &Lease, now: Timestamp) -> Option<HeldLease> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty())?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let duration_seconds = spec
        .lease_duration_seconds
        .map_or(DEFAULT_LEASE_SECONDS, i64::from);
    let age = now.duration_since(renewed);
    (age < SignedDuration::from_secs(duration_seconds)).then(|| HeldLease {
        holder: holder.to_owned(),
        age_seconds: age.as_secs(),
        duration_seconds,
    })
}

/// The JSON patch that removes `ours` from `finalizers` of an object at `resource_version`: a `test` of
/// the resourceVersion, then for each of our entries (last first, so indices stay valid) a `test` of
/// the entry and its `remove`. `None` when no finalizer is ours.
pub fn finalizer_patch(
    resource_version: &str,
    finalizers: &[String],
    ours: &[&str],
) -> Option<(Value, Vec<String>)> {
    let mine: Vec<(usize, &String)> = finalizers
        .iter()
        .enumerate()
        .filter(|(_, f)| ours.contains(&f.as_str()))
        .collect();
    if mine.is_empty() {
        return None;
    }
    let mut ops =
        vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version})];
    for (index, finalizer) in mine.iter().rev() {
        let path = format!("/metadata/finalizers/{index}");
        ops.push(json!({"op": "test", "path": path, "value": finalizer}));
        ops.push(json!({"op": "remove", "path": path}));
    }
    let removed: BTreeSet<String> = mine.into_iter().map(|(_, f)| f.clone()).collect();
    Some((Value::Array(ops), removed.into_iter().collect()))
}

/// Lists `api` metadata-only and patches every object carrying one of `ours`. Objects that changed
/// between the list and the patch are listed and tried again, up to [`MAX_ROUNDS`] times.
async fn release_all<K>(
    api: &Api<K>,
    kind: &'static str,
    ours: &[&str],
    options: &Options,
) -> Result<Vec<Released>, ReleaseError>
where
    K: Resource<DynamicType = ()> + Clone + fmt::Debug + serde::de::DeserializeOwned,
{
    let mut released = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let list = api
            .list_metadata(&ListParams::default())
            .await
            .map_err(|source| ReleaseError::Api {
                what: format!("listing {kind}s"),
                source,
            })?;
        changed.clear();
        for object in &list.items {
            let name = object.name_any();
            let shown = match object.namespace() {
                Some(ns) => format!("{ns}/{name}"),
                None => name.clone(),
            };
            let version = object.resource_version().unwrap_or_default();
            let Some((patch, finalizers)) = finalizer_patch(&version, object.finalizers(), ours)
            else {
                continue;
            };
            if !options.dry_run {
                match json_patch(api, &name, &patch).await {
                    Ok(()) => {}
                    // Deleted meanwhile: nothing left to release.
                    Err(kube::Error::Api(status)) if status.code == 404 => continue,
                    // A failed `test` (422) or a stale resourceVersion (409): it changed meanwhile.
                    Err(kube::Error::Api(status)) if matches!(status.code, 409 | 422) => {
                        changed.push(shown);
                        continue;
                    }
                    Err(source) => {
                        return Err(ReleaseError::Api {
                            what: format!("removing the finalizers of {kind} {shown}"),
                            source,
                        });
                    }
                }
            }
            released.push(Released {
                kind,
                name: shown,
                finalizers,
            });
        }
        if changed.is_empty() {
            return Ok(released);
        }
        tracing::info!(kind, objects = ?changed, "changed since listed; listing again");
    }
    Err(ReleaseError::KeptChanging(format!(
        "{kind} {}",
        changed.join(", ")
    )))
}

/// Sends `patch` (a JSON patch) to object `name` of `api`, asking for metadata only in the answer.
async fn json_patch<K>(api: &Api<K>, name: &str, patch: &Value) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + fmt::Debug + serde::de::DeserializeOwned,
{
    use axum::http::{Method, Request, header};
    let url = format!("{}/{name}?fieldManager={FIELD_MANAGER}", api.resource_url());
    let body = serde_json::to_vec(patch).map_err(kube::Error::SerdeError)?;
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json-patch+json")
        .header(header::ACCEPT, METADATA_ACCEPT)
        .body(body)
        .map_err(kube::Error::HttpError)?;
    api.clone()
        .into_client()
        .request::<PartialObjectMeta<K>>(request)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn patch_tests_the_version_and_removes_only_our_entries_last_first() {
        let finalizers = strings(&[
            SECRET_POLICY_FINALIZER,
            "example.com/keep",
            SECRET_POLICY_FINALIZER_VELERO,
        ]);
        let (patch, removed) = finalizer_patch(
            "42",
            &finalizers,
            &[SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO],
        )
        .expect("two of ours");
        assert_eq!(
            patch,
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
                {"op": "test", "path": "/metadata/finalizers/2", "value": SECRET_POLICY_FINALIZER_VELERO},
                {"op": "remove", "path": "/metadata/finalizers/2"},
                {"op": "test", "path": "/metadata/finalizers/0", "value": SECRET_POLICY_FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/0"},
            ])
        );
        assert_eq!(
            removed,
            strings(&[SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO])
        );
    }

    #[test]
    fn no_patch_without_our_finalizers() {
        assert_eq!(
            finalizer_patch("1", &strings(&["example.com/keep"]), &[DRPOLICY_FINALIZER]),
            None
        );
        assert_eq!(finalizer_patch("1", &[], &[DRPOLICY_FINALIZER]), None);
    }

    fn lease(holder: Option<&str>, renewed_secs_ago: i64, duration: Option<i32>) -> Lease {
        let now = Timestamp::now();
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                renew_time: Some(MicroTime(now - SignedDuration::from_secs(renewed_secs_ago))),
                lease_duration_seconds: duration,
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn a_lease_is_held_while_named_and_renewed_within_its_duration() {
        let now = Timestamp::now();
        let held = held_lease(&lease(Some("pod-a"), 3, Some(15)), now).expect("fresh");
        assert_eq!(held.holder, "pod-a");
        assert_eq!(held.duration_seconds, 15);
        assert!(
            held_lease(&lease(Some("pod-a"), 16, Some(15)), now).is_none(),
            "expired"
        );
        assert!(
            held_lease(&lease(Some("pod-a"), 20, Some(60)), now).is_some(),
            "longer lease"
        );
        assert!(
            held_lease(&lease(Some("pod-a"), 14, None), now).is_some(),
            "default 15 s"
        );
        assert!(
            held_lease(&lease(None, 1, Some(15)), now).is_none(),
            "released"
        );
        assert!(
            held_lease(&lease(Some(""), 1, Some(15)), now).is_none(),
            "released"
        );
        assert!(held_lease(&Lease::default(), now).is_none(), "no spec");
    }

    #[test]
    fn summary_names_each_object_and_counts() {
        let summary = Summary {
            dry_run: true,
            released: vec![
                Released {
                    kind: "drpolicy",
                    name: "p1".into(),
                    finalizers: strings(&[DRPOLICY_FINALIZER]),
                },
                Released {
                    kind: "secret",
                    name: "ns/s1".into(),
                    finalizers: strings(&[SECRET_POLICY_FINALIZER]),
                },
            ],
        };
        let text = summary.to_string();
        assert!(
            text.contains(&format!("drpolicy/p1: would remove {DRPOLICY_FINALIZER}")),
            "{text}"
        );
        assert!(text.contains("secret/ns/s1: would remove"), "{text}");
        assert!(
            text.ends_with(
                "dry run: 2 finalizer(s) on 1 DRPolicy(ies) and 1 Secret(s); nothing was changed"
            ),
            "{text}"
        );
    }
}
