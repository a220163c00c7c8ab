//! Leader election on a Lease in the operator namespace, with client-go's protocol and
//! controller-runtime's timing: only the holder writes, and it stops writing *before* anyone else
//! could take the lease over.
//!
//! Leadership is measured from this process' own renewals, as the API server answered them. Each
//! renewal records the monotonic instant taken *before* it was sent; when the server accepts it,
//! the [`Fence`] stays open until that instant plus [`RENEW_DEADLINE`]. A standby takes the lease
//! only after it saw the same record unchanged for [`LEASE_DURATION`] of its own time, counted from
//! when it *read* that record — which is after the holder sent it. So the fence closes at least
//! `LEASE_DURATION - RENEW_DEADLINE` (5 s) before a standby can write, however renewals fail: refused,
//! hung, or the process paused. Reads of the lease never count as confirmation.
//!
//! While it holds the lease, the process sends one request per [`RETRY_PERIOD`]: an update of the
//! Lease with the resourceVersion of its previous renewal (a conflict means someone else wrote it;
//! only then is it read again). A standby reads the Lease once per [`RETRY_PERIOD`].

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

use crate::fence::Fence;

/// How long a lease lasts without renewal (controller-runtime's default).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long after sending its last accepted renewal the holder keeps writing (controller-runtime's
/// default).
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often the holder renews and a standby tries to acquire (controller-runtime's default).
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

// A write in flight at the renew deadline is abandoned before the lease can expire.
const _: () = assert!(
    crate::fence::WRITE_GRACE.as_millis() < LEASE_DURATION.as_millis() - RENEW_DEADLINE.as_millis()
);
/// How long one Lease request may take: half the renew deadline, so a hung request leaves room for
/// another attempt before the deadline.
pub const LEASE_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Field manager of the Lease writes.
const FIELD_MANAGER: &str = "ramen-hub-operator-leader-election";

/// Why a leader stopped leading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Lost {
    /// No renewal was accepted within the renew deadline.
    #[error("no lease renewal was accepted within the renew deadline of {RENEW_DEADLINE:?}")]
    Deadline,
    /// The Lease names another holder.
    #[error("the lease is held by {0:?}")]
    Taken(String),
}

/// The lease protocol of one process: client-go's `tryAcquireOrRenew` against one Lease.
struct Elector {
    leases: Api<Lease>,
    name: String,
    identity: String,
    /// The last record this process read or wrote.
    observed: Option<Lease>,
    /// When this process first saw the spec of `observed` (a standby's clock for expiry).
    observed_at: Instant,
}

/// What one attempt concluded.
enum Attempt {
    /// This process holds the lease; the accepted write was sent at this instant.
    Held(Instant),
    /// Someone else holds a live lease.
    HeldBy(String),
    /// The attempt failed (the API server refused or did not answer); try again later.
    Failed,
}

/// Runs a Lease request with [`LEASE_REQUEST_TIMEOUT`].
async fn bounded<T>(
    what: &str,
    request: impl Future<Output = kube::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(LEASE_REQUEST_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what}: {error}")),
        Err(_) => Err(format!(
            "{what}: no answer within {LEASE_REQUEST_TIMEOUT:?}"
        )),
    }
}

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

impl Elector {
    fn holder(lease: &Lease) -> Option<&str> {
        lease
            .spec
            .as_ref()
            .and_then(|spec| spec.holder_identity.as_deref())
            .filter(|holder| !holder.is_empty())
    }

    /// The lease duration a record asks for (ours when it names none or nonsense).
    fn duration_of(lease: &Lease) -> Duration {
        lease
            .spec
            .as_ref()
            .and_then(|spec| spec.lease_duration_seconds)
            .and_then(|seconds| u64::try_from(seconds).ok())
            .filter(|seconds| *seconds > 0)
            .map_or(LEASE_DURATION, Duration::from_secs)
    }

    /// Records a read; the expiry clock restarts only when the record changed.
    fn observe(&mut self, lease: Lease, at: Instant) {
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|seen| seen.spec != lease.spec);
        if changed {
            self.observed_at = at;
        }
        self.observed = Some(lease);
    }

    /// The record this process would write now, following `previous`.
    fn record(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = now_micro();
        let ours = previous
            .and_then(|spec| spec.holder_identity.as_deref())
            .is_some_and(|holder| holder == self.identity);
        let transitions = previous.and_then(|spec| spec.lease_transitions);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(LEASE_DURATION.as_secs()).unwrap_or(15)),
            acquire_time: match previous {
                Some(spec) if ours => spec.acquire_time.clone(),
                _ => Some(now.clone()),
            },
            renew_time: Some(now),
            lease_transitions: match previous {
                None => Some(0),
                Some(_) if ours => transitions,
                Some(_) => Some(transitions.unwrap_or(0).saturating_add(1)),
            },
            ..LeaseSpec::default()
        }
    }

    /// Writes `spec` over `base` (same resourceVersion); on success returns when it was sent.
    async fn replace(&mut self, base: &Lease, spec: LeaseSpec) -> Result<Instant, String> {
        let lease = Lease {
            // The same metadata, resourceVersion included: a write in between makes this a conflict.
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..base.metadata.clone()
            },
            spec: Some(spec),
        };
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        let sent = Instant::now();
        let written = bounded(
            "updating the lease",
            self.leases.replace(&self.name, &params, &lease),
        )
        .await?;
        self.observe(written, Instant::now());
        Ok(sent)
    }

    /// One attempt to acquire or renew the lease.
    async fn try_acquire_or_renew(&mut self) -> Attempt {
        // Fast path: renew our own record with the resourceVersion of our last write — one request,
        // no read. A conflict or any other failure falls back to reading the current record.
        if let Some(ours) = self
            .observed
            .clone()
            .filter(|lease| Self::holder(lease) == Some(self.identity.as_str()))
        {
            let spec = self.record(ours.spec.as_ref());
            match self.replace(&ours, spec).await {
                Ok(sent) => return Attempt::Held(sent),
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "renewing the lease failed")
                }
            }
        }

        let current = match bounded("reading the lease", self.leases.get_opt(&self.name)).await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(lease = %self.name, %error, "lease");
                return Attempt::Failed;
            }
        };
        let Some(current) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(None)),
            };
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            let sent = Instant::now();
            return match bounded("creating the lease", self.leases.create(&params, &lease)).await {
                Ok(created) => {
                    self.observe(created, Instant::now());
                    Attempt::Held(sent)
                }
                Err(error) => {
                    tracing::debug!(lease = %self.name, %error, "lease");
                    Attempt::Failed
                }
            };
        };
        self.observe(current.clone(), Instant::now());
        if let Some(holder) = Self::holder(&current)
            && holder != self.identity
            && self.observed_at.elapsed() < Self::duration_of(&current)
        {
            return Attempt::HeldBy(holder.to_owned());
        }
        let spec = self.record(current.spec.as_ref());
        match self.replace(&current, spec).await {
            Ok(sent) => Attempt::Held(sent),
            Err(error) => {
                tracing::warn!(lease = %self.name, %error, "taking the lease failed");
                Attempt::Failed
            }
        }
    }
}

/// A held lease: renew it with [`Leadership::keep`], give it up with [`Leadership::release`].
pub struct Leadership {
    elector: Elector,
    fence: Fence,
}

/// Waits until this process holds Lease `name` in `namespace` (trying every [`RETRY_PERIOD`]).
///
/// `client` should not be fenced: the lease requests are what keeps the fence open.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    name: &str,
    identity: &str,
) -> Leadership {
    let mut elector = Elector {
        leases: Api::namespaced(client, namespace),
        name: name.to_owned(),
        identity: identity.to_owned(),
        observed: None,
        observed_at: Instant::now(),
    };
    tracing::info!(lease = name, identity, "waiting for leadership");
    let mut tick = tokio::time::interval(RETRY_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen_holder = None;
    loop {
        tick.tick().await;
        match elector.try_acquire_or_renew().await {
            Attempt::Held(sent) => {
                tracing::info!(lease = name, identity, "became leader");
                return Leadership {
                    elector,
                    fence: Fence::until(sent + RENEW_DEADLINE),
                };
            }
            Attempt::HeldBy(holder) => {
                if seen_holder.as_deref() != Some(holder.as_str()) {
                    tracing::info!(lease = name, %holder, "standing by: the lease is held");
                    seen_holder = Some(holder);
                }
            }
            Attempt::Failed => {}
        }
    }
}

impl Leadership {
    /// The fence of this leadership: open until the renew deadline of the last accepted renewal.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Renews the lease every [`RETRY_PERIOD`]; resolves when leadership is lost — the fence is
    /// closed by then. An attempt still in flight at the deadline is abandoned.
    pub async fn keep(&mut self) -> Lost {
        let Leadership { elector, fence } = self;
        let mut tick = tokio::time::interval_at(Instant::now() + RETRY_PERIOD, RETRY_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = fence.closed() => return Lost::Deadline,
                _ = tick.tick() => {}
            }
            // A process that was paused past its deadline must not even try: the fence says so.
            if !fence.is_open() {
                return Lost::Deadline;
            }
            let attempt = tokio::select! {
                biased;
                () = fence.closed() => return Lost::Deadline,
                attempt = elector.try_acquire_or_renew() => attempt,
            };
            match attempt {
                Attempt::Held(sent) => {
                    fence.extend(sent + RENEW_DEADLINE);
                }
                Attempt::HeldBy(holder) => {
                    fence.close();
                    return Lost::Taken(holder);
                }
                Attempt::Failed => {}
            }
        }
    }

    /// Closes the fence, then gives the lease up (if it is still ours) so a standby takes over at
    /// once.
    pub async fn release(self) {
        let Leadership { mut elector, fence } = self;
        let still_ours = fence.is_open();
        fence.close();
        let Some(ours) = elector
            .observed
            .clone()
            .filter(|lease| Elector::holder(lease) == Some(elector.identity.as_str()))
        else {
            return;
        };
        if !still_ours {
            return;
        }
        let now = now_micro();
        let spec = LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: ours.spec.as_ref().and_then(|spec| spec.lease_transitions),
            ..LeaseSpec::default()
        };
        match elector.replace(&ours, spec).await {
            Ok(_) => tracing::info!(lease = %elector.name, "lease released"),
            Err(error) => {
                tracing::warn!(lease = %elector.name, %error, "releasing the lease failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elector(identity: &str) -> Elector {
        // Never called: these tests exercise the decisions, not the requests.
        let service = tower::service_fn(|_: http::Request<kube::client::Body>| async {
            Err::<http::Response<kube::client::Body>, tower::BoxError>("no API server".into())
        });
        Elector {
            leases: Api::namespaced(kube::Client::new(service, "ns"), "ns"),
            name: "lease".into(),
            identity: identity.into(),
            observed: None,
            observed_at: Instant::now(),
        }
    }

    fn lease(spec: LeaseSpec) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(spec),
        }
    }

    #[tokio::test]
    async fn records_follow_client_go_acquire_and_renew() {
        let me = elector("me");
        let created = me.record(None);
        assert_eq!(created.holder_identity.as_deref(), Some("me"));
        assert_eq!(created.lease_duration_seconds, Some(15));
        assert_eq!(created.lease_transitions, Some(0));
        assert_eq!(created.acquire_time, created.renew_time);

        let renewed = me.record(Some(&created));
        assert_eq!(renewed.acquire_time, created.acquire_time);
        assert_eq!(renewed.lease_transitions, Some(0));

        let theirs = LeaseSpec {
            holder_identity: Some("them".into()),
            lease_transitions: Some(4),
            ..created.clone()
        };
        let taken = me.record(Some(&theirs));
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        assert_eq!(taken.lease_transitions, Some(5));
        assert_eq!(taken.acquire_time, taken.renew_time);
    }

    #[tokio::test(start_paused = true)]
    async fn a_standby_counts_expiry_from_when_it_saw_the_record_change() {
        let mut standby = elector("standby");
        let spec = LeaseSpec {
            holder_identity: Some("leader".into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(now_micro()),
            ..LeaseSpec::default()
        };
        let first_seen = Instant::now();
        standby.observe(lease(spec.clone()), first_seen);
        tokio::time::advance(Duration::from_secs(10)).await;
        standby.observe(lease(spec.clone()), Instant::now());
        assert_eq!(standby.observed_at, first_seen, "the same record again");
        let renewed = LeaseSpec {
            renew_time: Some(MicroTime(
                spec.renew_time.as_ref().unwrap().0 + Duration::from_secs(2),
            )),
            ..spec
        };
        standby.observe(lease(renewed), Instant::now());
        assert_eq!(standby.observed_at, Instant::now(), "a renewal restarts it");
    }

    #[test]
    fn nonsense_lease_durations_fall_back_to_ours() {
        let with = |seconds| {
            lease(LeaseSpec {
                lease_duration_seconds: seconds,
                ..LeaseSpec::default()
            })
        };
        assert_eq!(
            Elector::duration_of(&with(Some(30))),
            Duration::from_secs(30)
        );
        assert_eq!(Elector::duration_of(&with(Some(0))), LEASE_DURATION);
        assert_eq!(Elector::duration_of(&with(Some(-5))), LEASE_DURATION);
        assert_eq!(Elector::duration_of(&with(None)), LEASE_DURATION);
    }
}
