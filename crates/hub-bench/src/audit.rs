//! kube-apiserver's JSON audit log (`hack/kube/apiserver.sh --audit`, level Metadata) read into the
//! [`RequestRecord`]s the embedded test API server logs, so that the soak's checks on the operator's
//! requests run against a real kube-apiserver too: [`parse_event`] turns one event into a record,
//! [`AuditLog`] follows the file as the server appends to it (across restarts of the server, which
//! append to the same file).
//!
//! What a Metadata-level event carries: the verb, the request URI, the User-Agent, the object
//! reference (group, resource, subresource, namespace and name), the response code and the
//! timestamps; never a request or response body. A `create` carries the object's name when the
//! request body names it (`metadata.name`; not with `generateName`), as do `get`, `update`, `patch`
//! and `delete` (from the URL).

use anyhow::{Context, bail};
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::SystemTime;
use test_apiserver::RequestRecord;

/// The fields of an `audit.k8s.io/v1` Event the records need.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    stage: String,
    verb: String,
    #[serde(rename = "requestURI")]
    request_uri: String,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    response_status: Option<ResponseStatus>,
    request_received_timestamp: String,
    stage_timestamp: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ObjectRef {
    api_group: String,
    resource: String,
    subresource: String,
    namespace: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct ResponseStatus {
    #[serde(default)]
    code: Option<u16>,
}

/// Parses one line of the audit log into a request record, for the events that close a request:
/// stage `ResponseComplete` or `Panic`. Other stages (a watch's `ResponseStarted`, `RequestReceived`
/// if the policy keeps it) and blank lines give `None`.
///
/// The record's `method` comes from the verb (`get`, `list`, `watch` → GET, `create` → POST, `update` →
/// PUT, `patch` → PATCH, `delete`, `deletecollection` → DELETE; for a non-resource request the verb is
/// the lower-cased HTTP method, upper-cased back). As in the test server's log, `verb` and the object
/// fields are `""` for non-resource requests (no `objectRef`: discovery, `/readyz`). `status` is
/// `responseStatus.code`; kube-apiserver always sets it on these stages (a request that ended without a
/// response code, such as a watch the client closed early, is logged as 200), so a missing code is read
/// as 200 for `ResponseComplete` and 500 for `Panic`. `field_manager` is the percent-decoded
/// `fieldManager` query parameter, `received_at` is `requestReceivedTimestamp`, `answered_at` is
/// `stageTimestamp`, `faulted` is false and `seq` is 0 ([`AuditLog`] numbers the records).
pub fn parse_event(line: &str) -> anyhow::Result<Option<RequestRecord>> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let event: Event = serde_json::from_str(line).context("not an audit event")?;
    let fallback_status = match event.stage.as_str() {
        "ResponseComplete" => 200,
        "Panic" => 500,
        _ => return Ok(None),
    };
    let method = match event.verb.as_str() {
        "get" | "list" | "watch" => "GET".to_string(),
        "create" => "POST".to_string(),
        "update" => "PUT".to_string(),
        "patch" => "PATCH".to_string(),
        "delete" | "deletecollection" => "DELETE".to_string(),
        other => other.to_uppercase(),
    };
    let (path, query) = match event.request_uri.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (event.request_uri.clone(), String::new()),
    };
    let field_manager = query_param(&query, "fieldManager");
    let (verb, object) = match event.object_ref {
        Some(object) => (event.verb, object),
        None => (String::new(), ObjectRef::default()),
    };
    Ok(Some(RequestRecord {
        seq: 0,
        method,
        path,
        query,
        verb,
        group: object.api_group,
        resource: object.resource,
        subresource: object.subresource,
        namespace: object.namespace,
        name: object.name,
        status: event
            .response_status
            .and_then(|s| s.code)
            .unwrap_or(fallback_status),
        field_manager,
        user_agent: event.user_agent,
        faulted: false,
        received_at: timestamp(&event.request_received_timestamp)
            .context("requestReceivedTimestamp")?,
        answered_at: timestamp(&event.stage_timestamp).context("stageTimestamp")?,
    }))
}

fn timestamp(value: &str) -> anyhow::Result<SystemTime> {
    let ts: Timestamp = value
        .parse()
        .with_context(|| format!("bad timestamp {value:?}"))?;
    Ok(SystemTime::from(ts))
}

/// The first value of a query parameter, decoded as `application/x-www-form-urlencoded` (as the
/// server does: `+` is a space, `%XX` a byte; a malformed escape stays as it is).
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == key).then(|| form_decode(v))
    })
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Follows kube-apiserver's audit log: each [`read_new`](AuditLog::read_new) returns the requests of
/// the lines appended since the last call.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// Bytes of the file consumed: up to the end of the last complete line read.
    offset: u64,
    next_seq: usize,
}

impl AuditLog {
    /// Follows the audit log at `path` from its beginning; the file need not exist yet.
    pub fn open(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: path.into(),
            offset: 0,
            next_seq: 0,
        }
    }

    /// The records ([`parse_event`]) of the complete lines appended since the last call, `seq`
    /// numbered consecutively across calls from 0. A partial last line (the server is writing it) waits
    /// for the next call; a file that does not exist yet has no records. An unparsable line or a file
    /// shorter than what was read already (replaced or truncated) is an error, and the lines of this
    /// call are read again by the next.
    pub fn read_new(&mut self) -> anyhow::Result<Vec<RequestRecord>> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("opening {}", self.path.display())),
        };
        let len = file
            .metadata()
            .with_context(|| format!("reading {}", self.path.display()))?
            .len();
        if len < self.offset {
            bail!(
                "{} shrank to {len} bytes after {} were read (rotated or truncated?)",
                self.path.display(),
                self.offset
            );
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)
            .with_context(|| format!("reading {}", self.path.display()))?;
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete = &buf[..=end];
        let mut records = Vec::new();
        let mut line_offset = self.offset;
        for line in complete.split_inclusive(|&b| b == b'\n') {
            let parsed = std::str::from_utf8(line)
                .map_err(anyhow::Error::from)
                .and_then(parse_event)
                .with_context(|| format!("{} at byte {line_offset}", self.path.display()))?;
            line_offset += line.len() as u64;
            records.extend(parsed);
        }
        for (i, record) in records.iter_mut().enumerate() {
            record.seq = self.next_seq + i;
        }
        self.next_seq += records.len();
        self.offset += complete.len() as u64;
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    // Lines from kube-apiserver v1.37.2's audit log (`apiserver.sh --audit`, kubectl as the client),
    // trimmed of `user.extra` and the latency annotations. Go escapes `&` as `\u0026`, kept in CREATE.
    const CREATE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"42ae7a92-4cee-4bb5-800c-af718da5b064","stage":"ResponseComplete","requestURI":"/apis/example.com/v1/namespaces/default/widgets?fieldManager=kubectl-create\u0026fieldValidation=Strict","verb":"create","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"widgets","namespace":"default","name":"w-one","apiGroup":"example.com","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-12-02T09:14:08.760026Z","stageTimestamp":"2026-12-02T09:14:10.768916Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const CREATE_GENERATE_NAME: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"4a925ec1-065a-4b1f-8713-8d699a6d4af9","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict","verb":"create","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"configmaps","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-12-02T09:14:10.929171Z","stageTimestamp":"2026-12-02T09:14:10.933980Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const PATCH: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"635a54d3-45dd-4dac-bdf4-d18418a1915f","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps/cm-one?fieldManager=my+manager%2F1","verb":"patch","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"configmaps","namespace":"default","name":"cm-one","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-02T09:14:11.028100Z","stageTimestamp":"2026-12-02T09:14:11.031763Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const DELETE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"92014745-ef33-44c9-9dd8-70c72c88f230","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps/cm-one","verb":"delete","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"configmaps","namespace":"default","name":"cm-one","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Success","details":{"name":"cm-one","kind":"configmaps","uid":"d5b30dc0-4cda-47cb-8655-0d18f021d96e"},"code":200},"requestReceivedTimestamp":"2026-12-02T09:14:11.237282Z","stageTimestamp":"2026-12-02T09:14:11.241298Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const WATCH_STARTED: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"70d08150-de88-4464-9b2d-aeeef957bae2","stage":"ResponseStarted","requestURI":"/apis/apiextensions.k8s.io/v1/customresourcedefinitions?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dwidgets.example.com&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=437&watch=true","verb":"watch","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"customresourcedefinitions","name":"widgets.example.com","apiGroup":"apiextensions.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-02T09:14:08.426034Z","stageTimestamp":"2026-12-02T09:14:08.427249Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const WATCH_COMPLETE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"70d08150-de88-4464-9b2d-aeeef957bae2","stage":"ResponseComplete","requestURI":"/apis/apiextensions.k8s.io/v1/customresourcedefinitions?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dwidgets.example.com&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=437&watch=true","verb":"watch","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"customresourcedefinitions","name":"widgets.example.com","apiGroup":"apiextensions.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-02T09:14:08.426034Z","stageTimestamp":"2026-12-02T09:14:08.529740Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;
    const READYZ: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e6239544-a98c-40eb-84e0-cb2464035ad6","stage":"ResponseComplete","requestURI":"/readyz","verb":"get","user":{"username":"admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/$Format","responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-02T09:14:01.150570Z","stageTimestamp":"2026-12-02T09:14:01.151143Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

    fn parse(line: &str) -> RequestRecord {
        parse_event(line).unwrap().expect("a record")
    }

    #[test]
    fn create_of_a_custom_resource_names_the_object() {
        let r = parse(CREATE);
        assert_eq!(r.method, "POST");
        assert_eq!(r.verb, "create");
        assert_eq!(r.path, "/apis/example.com/v1/namespaces/default/widgets");
        assert_eq!(
            r.query,
            "fieldManager=kubectl-create&fieldValidation=Strict"
        );
        assert_eq!(
            (
                r.group.as_str(),
                r.resource.as_str(),
                r.subresource.as_str()
            ),
            ("example.com", "widgets", "")
        );
        assert_eq!(
            (r.namespace.as_str(), r.name.as_str()),
            ("default", "w-one")
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.field_manager.as_deref(), Some("kubectl-create"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some("kubectl/v1.37.2 (linux/amd64) kubernetes/$Format")
        );
        assert!(!r.faulted);
        assert_eq!(r.seq, 0);
        let received = "2026-12-02T09:14:08.760026Z".parse::<Timestamp>().unwrap();
        assert_eq!(r.received_at, SystemTime::from(received));
        assert_eq!(
            r.answered_at.duration_since(r.received_at).unwrap(),
            Duration::from_micros(2_008_890)
        );
        assert!(r.is_write());
    }

    #[test]
    fn create_with_generate_name_has_no_name() {
        let r = parse(CREATE_GENERATE_NAME);
        assert_eq!(
            (r.verb.as_str(), r.resource.as_str()),
            ("create", "configmaps")
        );
        assert_eq!(r.name, "");
    }

    #[test]
    fn patch_decodes_the_field_manager() {
        let r = parse(PATCH);
        assert_eq!((r.method.as_str(), r.verb.as_str()), ("PATCH", "patch"));
        assert_eq!(r.path, "/api/v1/namespaces/default/configmaps/cm-one");
        assert_eq!((r.group.as_str(), r.resource.as_str()), ("", "configmaps"));
        assert_eq!(r.name, "cm-one");
        assert_eq!(r.field_manager.as_deref(), Some("my manager/1"));
        assert_eq!(r.status, 200);
    }

    #[test]
    fn delete_names_the_object() {
        let r = parse(DELETE);
        assert_eq!((r.method.as_str(), r.verb.as_str()), ("DELETE", "delete"));
        assert_eq!(
            (r.namespace.as_str(), r.name.as_str()),
            ("default", "cm-one")
        );
        assert_eq!((r.query.as_str(), r.field_manager), ("", None));
        assert_eq!(r.status, 200);
    }

    #[test]
    fn a_watch_is_recorded_when_it_completes() {
        assert_eq!(parse_event(WATCH_STARTED).unwrap(), None);
        let r = parse(WATCH_COMPLETE);
        assert_eq!((r.method.as_str(), r.verb.as_str()), ("GET", "watch"));
        assert_eq!(r.resource, "customresourcedefinitions");
        assert_eq!(r.group, "apiextensions.k8s.io");
        assert!(r.query.ends_with("&watch=true"));
    }

    #[test]
    fn non_resource_requests_have_no_verb() {
        let r = parse(READYZ);
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/readyz"));
        assert_eq!((r.verb.as_str(), r.resource.as_str()), ("", ""));
        assert!(!r.is_write());
    }

    #[test]
    fn missing_status_code_and_other_stages() {
        let line = WATCH_COMPLETE.replace(r#""responseStatus":{"metadata":{},"code":200},"#, "");
        assert_eq!(parse(&line).status, 200);
        let panic = line.replace(r#""stage":"ResponseComplete""#, r#""stage":"Panic""#);
        assert_eq!(parse(&panic).status, 500);
        let received = CREATE.replace(
            r#""stage":"ResponseComplete""#,
            r#""stage":"RequestReceived""#,
        );
        assert_eq!(parse_event(&received).unwrap(), None);
        assert_eq!(parse_event("  \n").unwrap(), None);
        assert!(parse_event("{not json").is_err());
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            query_param("a=1&fieldManager=x%2By+z%zz%", "fieldManager").as_deref(),
            Some("x+y z%zz%")
        );
        assert_eq!(
            query_param("fieldManager", "fieldManager").as_deref(),
            Some("")
        );
        assert_eq!(query_param("", "fieldManager"), None);
    }

    #[test]
    fn read_new_follows_the_file_line_by_line() {
        let path = std::env::temp_dir().join(format!(
            "hub-bench-audit-{}-{}.log",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut log = AuditLog::open(&path);
        assert!(log.read_new().unwrap().is_empty(), "no file yet");

        let mut file = std::fs::File::create(&path).unwrap();
        let (head, tail) = PATCH.split_at(100);
        write!(file, "{CREATE}\n{WATCH_STARTED}\n{head}").unwrap();
        let records = log.read_new().unwrap();
        assert_eq!(records.len(), 1, "the partial patch line waits");
        assert_eq!((records[0].seq, records[0].verb.as_str()), (0, "create"));
        assert!(log.read_new().unwrap().is_empty());

        write!(file, "{tail}\n{DELETE}\n").unwrap();
        let records = log.read_new().unwrap();
        let seen: Vec<_> = records.iter().map(|r| (r.seq, r.verb.as_str())).collect();
        assert_eq!(seen, [(1, "patch"), (2, "delete")]);
        assert_eq!(records[0].field_manager.as_deref(), Some("my manager/1"));

        writeln!(file, "{{broken").unwrap();
        assert!(log.read_new().is_err());
        assert!(log.read_new().is_err(), "an unparsable line stays unread");

        std::fs::write(&path, "").unwrap();
        assert!(log.read_new().is_err(), "a truncated file is an error");
        std::fs::remove_file(&path).unwrap();
    }
}
