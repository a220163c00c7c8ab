//! The soak's checks over a whole run, from the server's request log (the embedded server's hooks or
//! kube-apiserver's audit log): no OCM object was deleted while the hub needed it, and no operator
//! process wrote while it did not hold the leader lease. Pure functions of the records and of the
//! hub's needs as the harness sampled them, so they are tested without a server.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use test_apiserver::RequestRecord;

use crate::requests::{is_lease, is_operator};

/// OCM governance resources the operator writes, as `resource` of a request record.
pub const OCM_RESOURCES: [&str; 3] = ["policies", "placementrules", "placementbindings"];

/// The key of an OCM object: `resource/name` (all live in the operator namespace).
pub fn key(resource: &str, name: &str) -> String {
    format!("{resource}/{name}")
}

/// What the hub needed from a moment on, as the harness read it right after one of its changes: the
/// OCM objects the planner derives from the inputs of that moment, or `None` when the config could
/// not be read (the operator then keeps what exists, so the previous needs stay in force).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedSample {
    /// When the change was written (the needs hold from then until the next sample).
    pub from: SystemTime,
    /// The needed objects ([`key`]s).
    pub needed: Option<BTreeSet<String>>,
}

/// How long a decision of the operator may lag behind the hub: its caches follow the server through
/// watches, which are re-established after a dropped connection or a restart, and a paused leader
/// resumes with what it knew before. An object that was needed for longer than this before it was
/// deleted was deleted on a decision nothing on the hub justified.
pub const STALENESS: Duration = Duration::from_secs(8);

/// What [`withdrawn`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withdrawals {
    /// Deletions of needed objects, one line each.
    pub violations: Vec<String>,
    /// Successful deletions of OCM objects in the log.
    pub deletions: usize,
    /// Of those, how many had a verdict: the need was absent at some moment before the deletion, or
    /// the samples cover the whole [`STALENESS`] before it.
    pub judged: usize,
    /// Of the deletions that passed, the longest the hub had needed the object without a break
    /// before it was deleted (a deletion on a decision that lagged behind a new need): how close the
    /// run came to [`STALENESS`].
    pub longest_need: Duration,
}

/// Deletions of needed objects: every successful DELETE of an OCM object whose need held without a
/// break for the [`STALENESS`] before it. `samples` must be in time order.
pub fn withdrawn(records: &[RequestRecord], samples: &[NeedSample]) -> Withdrawals {
    // Needs in force, with unreadable configs carried forward.
    let mut intervals: Vec<(SystemTime, &BTreeSet<String>)> = Vec::new();
    for sample in samples {
        match &sample.needed {
            Some(needed) => intervals.push((sample.from, needed)),
            None => {
                if let Some((_, last)) = intervals.last() {
                    let last = *last;
                    intervals.push((sample.from, last));
                }
            }
        }
    }
    let mut out = Withdrawals::default();
    for record in records.iter().filter(|r| {
        r.verb == "delete"
            && OCM_RESOURCES.contains(&r.resource.as_str())
            && r.status < 300
            && !r.faulted
    }) {
        out.deletions += 1;
        let object = key(&record.resource, &record.name);
        let deleted = record.received_at;
        // The needs in force up to the deletion, newest first: how long before it the object had
        // been needed without a break (`open`: since before the first sample).
        let mut in_force = intervals.iter().rev().filter(|(from, _)| *from <= deleted);
        let mut needed_since = None;
        let mut open = true;
        for (from, needed) in in_force.by_ref() {
            if !needed.contains(&object) {
                open = false;
                break;
            }
            needed_since = Some(*from);
        }
        let needed_for = needed_since
            .and_then(|since| deleted.duration_since(since).ok())
            .unwrap_or_default();
        let conclusive = !open || needed_for >= STALENESS;
        out.judged += usize::from(conclusive);
        if needed_for >= STALENESS {
            out.violations.push(format!(
                "{object} was deleted (request {}, status {}) although the hub had needed it \
                 without a break for {:.1} s before (more than the {STALENESS:?} a decision may lag)",
                record.seq,
                record.status,
                needed_for.as_secs_f64()
            ));
        } else {
            out.longest_need = out.longest_need.max(needed_for);
        }
    }
    out
}

/// The identity a request's User-Agent names: `ramen-hub-operator/VERSION (IDENTITY)[ purpose]`.
pub fn identity(record: &RequestRecord) -> Option<&str> {
    let agent = record.user_agent.as_deref()?;
    let (_, rest) = agent.split_once(" (")?;
    let (identity, _) = rest.split_once(')')?;
    Some(identity)
}

/// How long a lease lasts without renewal (the operator's `LEASE_DURATION`).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);

/// A process start: from then on, the process of `identity` holds the lease only once it wrote the
/// lease itself (a container restart keeps the identity of the process it replaces, whose renewals
/// the new process must not borrow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// `POD_NAME` of the process.
    pub identity: String,
    /// When it was started.
    pub at: SystemTime,
}

/// Writes of the operator sent while the writer did not hold the lease: at the time the server
/// received the write, the last lease write the server had received (and accepted) must be the
/// writer's own, sent after the writer's process was launched (`launches`), and at most
/// [`LEASE_DURATION`] old (counted from when the server received it, which is before any standby
/// could read it; the operator's own fence closes earlier, at its 10 s renew deadline plus a 4 s grace
/// for writes in flight). Writes refused by an injected fault count too: the process sent them. Every
/// operator process is expected to run with leader election, so a write whose User-Agent names no
/// identity is one without the lease.
pub fn unfenced_writes(records: &[RequestRecord], launches: &[Launch]) -> Vec<String> {
    let mut accepted: Vec<(&RequestRecord, &str)> = records
        .iter()
        .filter(|r| {
            is_lease(r)
                && r.resource == "leases"
                && matches!(r.verb.as_str(), "create" | "update" | "patch")
                && r.status < 300
                && !r.faulted
        })
        .filter_map(|r| identity(r).map(|id| (r, id)))
        .collect();
    accepted.sort_by_key(|(r, _)| r.received_at);
    let mut out = Vec::new();
    let mut reported: BTreeMap<String, usize> = BTreeMap::new();
    for write in records.iter().filter(|r| {
        is_operator(r)
            && r.is_write()
            && !matches!(r.resource.as_str(), "tokenreviews" | "subjectaccessreviews")
    }) {
        // A process with leader election names itself in every request; one that does not was
        // not elected at all.
        let writer = identity(write).unwrap_or("a process without an identity");
        let holder = accepted
            .iter()
            .take_while(|(lease, _)| lease.received_at <= write.received_at)
            .last();
        let launched = launches
            .iter()
            .filter(|l| l.identity == writer && l.at <= write.received_at)
            .map(|l| l.at)
            .max();
        let problem = match holder {
            None => Some("before any lease was taken".to_owned()),
            Some((_, id)) if *id != writer => Some(format!("while {id} held the lease")),
            Some((lease, _)) if launched.is_some_and(|at| lease.received_at < at) => Some(
                "before its process took the lease (the last renewal was its predecessor's)"
                    .to_owned(),
            ),
            Some((lease, _)) => {
                let age = write
                    .received_at
                    .duration_since(lease.received_at)
                    .unwrap_or_default();
                (age >= LEASE_DURATION).then(|| {
                    format!(
                        "{:.1} s after its last accepted renewal (the lease lasts {LEASE_DURATION:?})",
                        age.as_secs_f64()
                    )
                })
            }
        };
        if let Some(problem) = problem {
            let count = reported.entry(writer.to_owned()).or_default();
            *count += 1;
            // The first few of each writer say enough.
            if *count <= 3 {
                out.push(format!(
                    "{writer} wrote {} {}/{} (request {}) {problem}",
                    write.verb, write.resource, write.name, write.seq
                ));
            }
        }
    }
    for (writer, count) in reported.into_iter().filter(|(_, n)| *n > 3) {
        out.push(format!("{writer}: {} more such writes", count - 3));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000) + Duration::from_secs_f64(seconds)
    }

    fn record(
        seq: usize,
        verb: &str,
        resource: &str,
        name: &str,
        agent: &str,
        t: f64,
    ) -> RequestRecord {
        RequestRecord {
            seq,
            method: String::new(),
            path: String::new(),
            query: String::new(),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: String::new(),
            namespace: "ramen-system".into(),
            name: name.into(),
            status: 200,
            field_manager: None,
            user_agent: Some(agent.into()),
            faulted: false,
            received_at: at(t),
            answered_at: at(t + 0.01),
        }
    }

    const OPERATOR_A: &str = "ramen-hub-operator/0.1.0 (op-a-0)";
    const LEASE_A: &str = "ramen-hub-operator/0.1.0 (op-a-0) leader-election";
    const OPERATOR_B: &str = "ramen-hub-operator/0.1.0 (op-b-0)";
    const LEASE_B: &str = "ramen-hub-operator/0.1.0 (op-b-0) leader-election";

    fn need(t: f64, keys: &[&str]) -> NeedSample {
        NeedSample {
            from: at(t),
            needed: Some(keys.iter().map(|k| (*k).to_owned()).collect()),
        }
    }

    #[test]
    fn a_deletion_is_a_withdrawal_only_when_the_need_held_throughout_the_staleness_before_it() {
        let samples = [
            need(0.0, &["policies/a", "policies/b"]),
            need(20.0, &["policies/a"]),
            need(21.0, &["policies/a", "policies/b"]),
            NeedSample {
                from: at(22.0),
                needed: None,
            },
        ];
        let delete = |seq, name, t| record(seq, "delete", "policies", name, OPERATOR_A, t);
        // b was not needed at 20 s: deleting it within the staleness after that is a lagging
        // decision; a was needed throughout.
        let found = withdrawn(&[delete(1, "b", 25.0), delete(2, "a", 25.0)], &samples);
        assert_eq!((found.deletions, found.judged), (2, 2));
        // b had been needed again for 4 s (since 21 s) when it was deleted.
        assert_eq!(found.longest_need, Duration::from_secs(4));
        let found = found.violations;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("policies/a was deleted"), "{found:?}");
        // Long after the break the need of b held again for longer than the staleness; the
        // unreadable config keeps the needs in force.
        assert_eq!(
            withdrawn(&[delete(3, "b", 35.0)], &samples)
                .violations
                .len(),
            1
        );
        // Before the first sample nothing is known; failed deletions delete nothing.
        let early = withdrawn(&[delete(4, "a", 5.0)], &samples);
        assert_eq!(
            (early.violations.len(), early.deletions, early.judged),
            (0, 1, 0)
        );
        let mut refused = delete(5, "a", 15.0);
        refused.status = 409;
        assert_eq!(withdrawn(&[refused], &samples), Withdrawals::default());
        assert_eq!(
            withdrawn(&[delete(6, "a", 15.0)], &samples)
                .violations
                .len(),
            1
        );
    }

    #[test]
    fn a_write_needs_the_writers_own_live_lease() {
        let lease = |seq, agent, t| record(seq, "update", "leases", "ramen-hub-operator", agent, t);
        let write = |seq, agent, t| record(seq, "patch", "drpolicies", "p", agent, t);
        let records = [
            write(0, OPERATOR_A, 0.5),
            lease(1, LEASE_A, 1.0),
            write(2, OPERATOR_A, 2.0),
            write(3, OPERATOR_A, 16.5),
            lease(4, LEASE_B, 20.0),
            write(5, OPERATOR_A, 21.0),
            write(6, OPERATOR_B, 21.0),
        ];
        let found = unfenced_writes(&records, &[]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].contains("request 0) before any lease"),
            "{found:?}"
        );
        assert!(found[1].contains("request 3) 15.5 s after"), "{found:?}");
        assert!(
            found[2].contains("request 5) while op-b-0 held"),
            "{found:?}"
        );
        // A renewal that was refused (or faulted) does not extend the lease.
        let mut refused = lease(7, LEASE_A, 10.0);
        refused.faulted = true;
        let found = unfenced_writes(
            &[lease(1, LEASE_A, 1.0), refused, write(8, OPERATOR_A, 17.0)],
            &[],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        // A process without leader election names no identity.
        let found = unfenced_writes(
            &[
                lease(1, LEASE_A, 1.0),
                write(9, "ramen-hub-operator/0.1.0", 2.0),
            ],
            &[],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("without an identity"), "{found:?}");
        // A restarted container keeps its identity but not its predecessor's lease: it writes only
        // after a lease write of its own.
        let launches = [
            Launch {
                identity: "op-a-0".into(),
                at: at(0.0),
            },
            Launch {
                identity: "op-a-0".into(),
                at: at(3.0),
            },
        ];
        let records = [
            lease(1, LEASE_A, 1.0),
            write(2, OPERATOR_A, 2.0),
            write(3, OPERATOR_A, 3.5),
            lease(4, LEASE_A, 4.0),
            write(5, OPERATOR_A, 4.5),
        ];
        let found = unfenced_writes(&records, &launches);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("request 3) before its process took"),
            "{found:?}"
        );
    }

    #[test]
    fn identities_come_from_the_user_agent() {
        let r = record(0, "get", "leases", "x", LEASE_B, 0.0);
        assert_eq!(identity(&r), Some("op-b-0"));
        let mut plain = r.clone();
        plain.user_agent = Some("kubectl/v1.32".into());
        assert_eq!(identity(&plain), None);
    }
}
