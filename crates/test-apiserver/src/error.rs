//! Errors: the library's own [`Error`] and [`ApiError`], a Kubernetes `metav1.Status` failure that
//! request handlers turn into an HTTP response with Kubernetes' reason, message and details.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Errors returned by the library API (starting, stopping and driving the server).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or serving the listening socket failed.
    #[error("test-apiserver: cannot serve on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the kubeconfig file failed.
    #[error("test-apiserver: cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file that could not be written.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Building a `kube::Client` for the server failed.
    #[error("test-apiserver: cannot build a kube client: {0}")]
    Client(String),
    /// A wait helper gave up.
    #[error("test-apiserver: timed out after {0:?} waiting for {1}")]
    Timeout(std::time::Duration, &'static str),
}

/// A failed API request, rendered as a Kubernetes `metav1.Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Kubernetes `StatusReason` (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human readable message, in Kubernetes' wording.
    pub message: String,
    /// `details` of the Status, if any.
    pub details: Option<Value>,
    /// `Retry-After` seconds to send with the response.
    pub retry_after: Option<u64>,
}

/// Kubernetes' "qualified resource" text: `configmaps` or `drpolicies.ramendr.openshift.io`.
pub fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = json!({ "name": name, "kind": kind });
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

impl ApiError {
    /// A failure with a code, reason and message but no details.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 404 `configmaps "x" not found`.
    pub fn not_found(resource: &str, group: &str, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(resource, group)),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 409 `configmaps "x" already exists`.
    pub fn already_exists(resource: &str, group: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(resource, group)),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn conflict(resource: &str, group: &str, name: &str) -> Self {
        Self::conflict_msg(
            resource,
            group,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict: `Operation cannot be fulfilled on R "x": {why}`.
    pub fn conflict_msg(resource: &str, group: &str, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(resource, group)
            ),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 422 for an apply request without a `fieldManager`, in kube-apiserver's words.
    pub fn apply_without_field_manager() -> Self {
        Self::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            &[FieldCause::new(
                "FieldValueRequired",
                "fieldManager",
                "fieldManager: Required value: is required for apply patch",
            )],
        )
    }

    /// 403 Forbidden: `R "x" is forbidden: {why}`.
    pub fn forbidden(resource: &str, group: &str, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: {why}",
                qualified(resource, group)
            ),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 422 Invalid: `Kind.group "name" is invalid: ...` with one cause per field error.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: &[FieldCause]) -> Self {
        let qualified_kind = qualified(kind, group);
        let mut msgs: Vec<String> = Vec::new();
        for c in causes {
            if !msgs.contains(&c.message) {
                msgs.push(c.message.clone());
            }
        }
        let joined = if msgs.len() == 1 {
            msgs[0].clone()
        } else {
            format!("[{}]", msgs.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {joined}"),
        );
        let mut d = details(name, group, kind);
        d["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| {
                    // Causes carry the error body without the field path, as kube does.
                    let prefix = format!("{}: ", c.field);
                    let body = c.message.strip_prefix(&prefix).unwrap_or(&c.message);
                    json!({ "reason": c.reason, "message": body, "field": c.field })
                })
                .collect(),
        );
        e.details = Some(d);
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    /// 415 UnsupportedMediaType for a PATCH whose Content-Type is not a patch type the resource
    /// takes, in kube-apiserver's words (custom resources take no strategic merge patch).
    pub fn unsupported_patch_type(custom_resource: bool) -> Self {
        let accepted = if custom_resource {
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        } else {
            "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
        };
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}"
            ),
        )
    }

    /// 410 Expired: the requested resourceVersion is older than the kept history.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        if let Some(secs) = self.retry_after {
            let d = s["details"].as_object().cloned().unwrap_or_default();
            s["details"] = Value::Object(d);
            s["details"]["retryAfterSeconds"] = json!(secs);
        }
        s
    }
}

/// One cause of a 422 Invalid answer (Kubernetes `StatusCause`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, ...
    pub reason: String,
    /// The full field error text, e.g. `metadata.name: Required value: name is required`.
    pub message: String,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
}

impl FieldCause {
    /// A cause with a reason, field path and field-error text.
    pub fn new(reason: &str, field: &str, message: impl Into<String>) -> Self {
        FieldCause {
            reason: reason.to_string(),
            message: message.into(),
            field: field.to_string(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_status().to_string();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
