//! The operator's requests out of the server's request log: split from the harness' own requests (and
//! from those of the OCM view agent the harness plays) by User-Agent, counted by verb and resource.

use serde::Serialize;
use std::collections::BTreeMap;
use test_apiserver::RequestRecord;

/// User-Agent of every harness client; any other request is the operator's.
pub const HARNESS_AGENT: &str = "hub-bench-harness";

/// User-Agent of the OCM view agent the harness runs (`e2e::views::ViewAgent`): its answers to the
/// operator's ManagedClusterViews are OCM's work, not the operator's.
pub const OCM_AGENT: &str = "hub-bench-ocm-view-agent";

/// Whether a logged request came from the operator's controller: not from the harness or its OCM view
/// agent, not from a `kubectl` someone points at the server to watch a long run, not from a real
/// kube-apiserver's own clients (its audit log records them), and not the operator's leader election
/// ([`is_lease`], counted apart).
pub fn is_operator(record: &RequestRecord) -> bool {
    match record.user_agent.as_deref() {
        Some(agent) => {
            agent != HARNESS_AGENT
                && agent != OCM_AGENT
                && !agent.starts_with("kubectl")
                && !agent.starts_with("kube-apiserver/")
                && !is_lease(record)
        }
        None => true,
    }
}

/// Whether a logged request is the operator's leader election (its User-Agent ends in
/// ` leader-election`).
pub fn is_lease(record: &RequestRecord) -> bool {
    record
        .user_agent
        .as_deref()
        .is_some_and(|agent| agent.ends_with(" leader-election"))
}

/// Requests counted by `verb resource[/subresource]`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// All requests.
    pub total: usize,
    /// Writes (create, update, patch, delete, deletecollection).
    pub writes: usize,
    /// Writes the server refused (status 400 or more, e.g. 409 Conflict on a stale resourceVersion).
    pub rejected_writes: usize,
    /// Requests answered with an injected fault.
    pub faulted: usize,
    /// Leader-election requests (not in `total`): Lease reads and writes.
    pub lease: usize,
    /// Of those, Lease writes (renewals).
    pub lease_writes: usize,
    /// Leader-election requests answered with an injected fault.
    pub lease_faulted: usize,
    /// By `verb resource[/subresource]`, e.g. `patch drpolicies/status`.
    pub by_kind: BTreeMap<String, usize>,
}

impl Counts {
    /// Counts the operator's requests among `records`.
    pub fn of_operator(records: &[RequestRecord]) -> Counts {
        let mut counts = Counts::default();
        for record in records.iter().filter(|r| is_lease(r)) {
            counts.lease += 1;
            counts.lease_writes += usize::from(record.is_write());
            counts.lease_faulted += usize::from(record.faulted);
        }
        for record in records.iter().filter(|r| is_operator(r)) {
            counts.total += 1;
            counts.writes += usize::from(record.is_write());
            counts.rejected_writes += usize::from(record.is_write() && record.status >= 400);
            counts.faulted += usize::from(record.faulted);
            *counts.by_kind.entry(kind(record)).or_default() += 1;
        }
        counts
    }

    /// Requests of one `verb resource[/subresource]`.
    pub fn get(&self, kind: &str) -> usize {
        self.by_kind.get(kind).copied().unwrap_or(0)
    }

    /// `verb resource=n` pairs on one line, for the table.
    pub fn brief(&self) -> String {
        if self.by_kind.is_empty() {
            return "-".into();
        }
        self.by_kind
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `verb resource[/subresource]` of a record (`verb path` for non-resource requests).
pub fn kind(record: &RequestRecord) -> String {
    if record.resource.is_empty() {
        return format!("{} {}", record.method, record.path);
    }
    if record.subresource.is_empty() {
        format!("{} {}", record.verb, record.resource)
    } else {
        format!("{} {}/{}", record.verb, record.resource, record.subresource)
    }
}

/// One line per request: `seq status verb resource[/subresource] namespace/name`.
pub fn line(record: &RequestRecord) -> String {
    format!(
        "{} {} {} {}/{}{}",
        record.seq,
        record.status,
        kind(record),
        record.namespace,
        record.name,
        if record.faulted { " (fault)" } else { "" }
    )
}
