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

/// Deletions of needed objects: every successful DELETE of an OCM object whose need held without a
/// break for the [`STALENESS`] before it. `samples` must be in time order.
pub fn withdrawn(records: &[RequestRecord], samples: &[NeedSample]) -> Vec<String> {
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
    let mut out = Vec::new();
    for record in records.iter().filter(|r| {
        r.verb == "delete"
            && OCM_RESOURCES.contains(&r.resource.as_str())
            && r.status < 300
            && !r.faulted
    }) {
        let object = key(&record.resource, &record.name);
        let deleted = record.received_at;
        let since = deleted
            .checked_sub(STALENESS)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // The intervals overlapping [since, deleted]: the one in force at `since` and every later one
        // that began before the deletion.
        let first = intervals
            .iter()
            .rposition(|(from, _)| *from <= since)
            .unwrap_or(0);
        let overlapping: Vec<&BTreeSet<String>> = intervals
            .iter()
            .enumerate()
            .filter(|(i, (from, _))| *i >= first && *from <= deleted)
            .map(|(_, (_, needed))| *needed)
            .collect();
        let covered = intervals.first().is_some_and(|(from, _)| *from <= since);
        if covered && !overlapping.is_empty() && overlapping.iter().all(|n| n.contains(&object)) {
            out.push(format!(
                "{object} was deleted (request {}, status {}) although the hub had needed it \
                 without a break for the {STALENESS:?} before",
                record.seq, record.status
            ));
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

/// Writes of the operator sent while the writer did not hold the lease: at the time the server
/// received the write, the last lease write the server had accepted must be the writer's own and at
/// most [`LEASE_DURATION`] old (counted from when the server received it, which is before any standby
/// could read it). Writes refused by an injected fault count too: the process sent them. Every
/// operator process is expected to run with leader election, so a write whose User-Agent names no
/// identity is one without the lease.
pub fn unfenced_writes(records: &[RequestRecord]) -> Vec<String> {
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
    accepted.sort_by_key(|(r, _)| r.answered_at);
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
            .take_while(|(lease, _)| lease.answered_at <= write.received_at)
            .last();
        let problem = match holder {
            None => Some("before any lease was taken".to_owned()),
            Some((_, id)) if *id != writer => Some(format!("while {id} held the lease")),
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
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("policies/a was deleted"), "{found:?}");
        // Long after the break the need of b held again for longer than the staleness; the
        // unreadable config keeps the needs in force.
        assert_eq!(withdrawn(&[delete(3, "b", 35.0)], &samples).len(), 1);
        // Before the first sample nothing is known; failed deletions delete nothing.
        assert!(withdrawn(&[delete(4, "a", 5.0)], &samples).is_empty());
        let mut refused = delete(5, "a", 15.0);
        refused.status = 409;
        assert!(withdrawn(&[refused], &samples).is_empty());
        assert_eq!(withdrawn(&[delete(6, "a", 15.0)], &samples).len(), 1);
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
        let found = unfenced_writes(&records);
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
        let found = unfenced_writes(&[lease(1, LEASE_A, 1.0), refused, write(8, OPERATOR_A, 17.0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        // A process without leader election names no identity.
        let found = unfenced_writes(&[
            lease(1, LEASE_A, 1.0),
            write(9, "ramen-hub-operator/0.1.0", 2.0),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("without an identity"), "{found:?}");
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
