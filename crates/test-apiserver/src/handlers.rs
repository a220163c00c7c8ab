//! HTTP layer: routes every request to discovery, OpenAPI or a resource verb, and the
//! middleware that logs requests and injects faults.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::decode::{self, FieldValidation};
use crate::discovery;
use crate::engine::{DeleteOptions, Engine, ListOptions, Outcome, Target, WriteOptions};
use crate::error::ApiError;
use crate::hooks::{FaultAction, Hooks, RequestRecord};
use crate::managed::Scope;
use crate::patch::PatchType;
use crate::registry::ResourceType;
use crate::render::Render;
use crate::reviews::{self, Reviews};
use crate::route::{self, ResourcePath, Route};
use crate::selectors::Selector;
use crate::watch::{self, WatchRequest};

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// Objects and kinds.
    pub engine: Arc<Engine>,
    /// Request log and faults.
    pub hooks: Arc<Hooks>,
    /// Tokens and grants of the review APIs.
    pub reviews: Arc<Reviews>,
    /// Interval between watch bookmarks.
    pub bookmark_interval: Duration,
    /// `host:port` the server listens on.
    pub server_address: String,
}

const MAX_BODY: usize = 64 << 20;

fn json_response(code: u16, body: &Value, warnings: &[String]) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

/// What kube-apiserver answers for a path under an API group (or version) it does not serve:
/// Go's plain-text 404, not a `Status`.
fn page_not_found() -> Response {
    let mut resp = (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// The single entry point for every path.
pub async fn dispatch(State(app): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let q = route::query(parts.uri.query());
    let route = route::parse(parts.uri.path());
    if parts.method != Method::GET && !matches!(route, Route::Resource(_)) {
        return ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            parts.method
        ))
        .into_response();
    }
    let ok = |v: Option<Value>| match v {
        Some(v) => json_response(200, &v, &[]),
        None => not_found().into_response(),
    };
    match route {
        Route::Version => ok(Some(discovery::version())),
        Route::Health => "ok".into_response(),
        Route::Api => ok(Some(discovery::api(&app.server_address))),
        Route::Apis => ok(Some(discovery::apis(&app.engine.registry()))),
        Route::Group(g) => match discovery::group(&app.engine.registry(), &g) {
            Some(v) => json_response(200, &v, &[]),
            None => page_not_found(),
        },
        Route::GroupVersion(g, v) => {
            match discovery::resource_list(&app.engine.registry(), &g, &v) {
                Some(v) => json_response(200, &v, &[]),
                None if g.is_empty() => not_found().into_response(),
                None => page_not_found(),
            }
        }
        Route::OpenApiRoot => ok(Some(discovery::openapi_root(&app.engine.registry()))),
        Route::OpenApiDoc(gv) => ok(discovery::openapi_doc(&app.engine.registry(), &gv)),
        Route::OpenApiV2 | Route::Unknown => not_found().into_response(),
        Route::Resource(p) => {
            let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
                Ok(b) => b,
                Err(e) => {
                    return ApiError::bad_request(format!("cannot read request body: {e}"))
                        .into_response();
                }
            };
            match resource_request(&app, &parts.method, &parts.headers, p, &q, &bytes) {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn write_options(
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<WriteOptions, ApiError> {
    let explicit = q.get("fieldManager").filter(|m| !m.is_empty());
    let manager = match explicit {
        Some(m) => m.clone(),
        None => header_str(headers, header::USER_AGENT)
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    };
    Ok(WriteOptions {
        manager,
        manager_explicit: explicit.is_some(),
        validation: FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?,
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        force: q.get("force").is_some_and(|f| f == "true"),
        duplicates: Vec::new(),
    })
}

fn outcome(o: Outcome, render: &Render, rt: &ResourceType) -> Response {
    let body = render.apply(o.body, true, &rt.printer_columns);
    json_response(o.code, &body, &o.warnings)
}

fn resource_request(
    app: &AppState,
    method: &Method,
    headers: &HeaderMap,
    p: ResourcePath,
    q: &HashMap<String, String>,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    if reviews::serves(&p.group, &p.version) {
        let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
        let o = app
            .reviews
            .request(&p, route::verb(method, &p, q), ct, q, bytes)?;
        return Ok(json_response(o.code, &o.body, &o.warnings));
    }
    let engine = &app.engine;
    let rt = match engine.resolve(&p.group, &p.version, &p.plural) {
        Ok(rt) => rt,
        Err(_) if !p.group.is_empty() && !engine.serves(&p.group, &p.version) => {
            return Ok(page_not_found());
        }
        Err(e) => return Err(e),
    };
    if p.namespace.is_some() && !rt.namespaced {
        return Err(not_found());
    }
    let scope = match p.subresource.as_deref() {
        None => Scope::Main {
            has_status: rt.has_status,
        },
        Some("status") if rt.has_status => Scope::Status,
        Some(_) => return Err(not_found()),
    };
    let render = Render::from_accept(
        header_str(headers, header::ACCEPT),
        q.get("includeObject").map(String::as_str),
    );
    let namespace = p.namespace.clone().unwrap_or_default();
    let verb = route::verb(method, &p, q);
    let selector = || {
        Selector::parse(
            q.get("labelSelector").map(String::as_str),
            q.get("fieldSelector").map(String::as_str),
        )
    };
    let decode_body = |allow_yaml: bool| -> Result<(Value, Vec<String>), ApiError> {
        let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
        if ct.contains("protobuf") {
            return Ok((crate::protobuf::decode(bytes)?, Vec::new()));
        }
        if ct.contains("cbor") {
            return Err(ApiError::unsupported_media_type(ct));
        }
        if bytes.is_empty() {
            return Err(ApiError::bad_request("the request body is empty"));
        }
        decode::decode_body(bytes, allow_yaml)
    };
    if p.name.is_some() && rt.namespaced && p.namespace.is_none() {
        return Err(not_found());
    }
    if p.subresource.is_some() && matches!(verb, "delete" | "watch" | "list" | "deletecollection") {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let name = p.name.clone().unwrap_or_default();
    let target = Target {
        rt: &rt,
        namespace: &namespace,
        name: &name,
    };
    match verb {
        "watch" => {
            let ns = p.namespace.clone();
            let mut wq = q.clone();
            if p.name.is_some() {
                let fs = format!("metadata.name={name}");
                let combined = match wq.get("fieldSelector") {
                    Some(f) if !f.is_empty() => format!("{f},{fs}"),
                    _ => fs,
                };
                wq.insert("fieldSelector".into(), combined);
            }
            let req = WatchRequest::from_query(rt.clone(), ns, &wq, render)?;
            Ok(watch::serve(engine.clone(), req, app.bookmark_interval))
        }
        "list" => {
            let limit = match q.get("limit") {
                Some(l) if !l.is_empty() => l
                    .parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
                _ => 0,
            };
            let exact_rv = match (
                q.get("resourceVersionMatch").map(String::as_str),
                q.get("resourceVersion"),
            ) {
                (Some("Exact"), Some(rv)) => Some(rv.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "resourceVersion: Invalid value: {rv:?}: must be a valid resource version"
                    ))
                })?),
                _ => None,
            };
            let opts = ListOptions {
                selector: selector()?,
                limit,
                continue_token: q.get("continue").cloned(),
                exact_rv,
            };
            let body = engine.list(&rt, p.namespace.as_deref(), &opts)?;
            Ok(outcome(
                Outcome {
                    body,
                    code: 200,
                    warnings: vec![],
                },
                &render,
                &rt,
            ))
        }
        "get" => Ok(outcome(
            Outcome {
                body: engine.get(&target)?,
                code: 200,
                warnings: vec![],
            },
            &render,
            &rt,
        )),
        "create" => {
            if p.subresource.is_some() || p.name.is_some() {
                return Err(ApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            if rt.namespaced && p.namespace.is_none() {
                return Err(ApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            let (body, dups) = decode_body(false)?;
            let mut opts = write_options(headers, q)?;
            opts.duplicates = dups;
            let created = engine
                .create(&rt, &namespace, body, &opts)
                .map_err(|e| decode_error(&rt, e))?;
            Ok(outcome(created, &Render::Full, &rt))
        }
        "update" => {
            let (body, dups) = decode_body(false)?;
            let mut opts = write_options(headers, q)?;
            opts.duplicates = dups;
            let updated = engine
                .update(&target, scope, body, &opts)
                .map_err(|e| decode_error(&rt, e))?;
            Ok(outcome(updated, &Render::Full, &rt))
        }
        "patch" => {
            let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
            let custom = rt.is_custom_resource();
            // As kube-apiserver: custom resources have no Go type to carry the merge keys of a
            // strategic merge patch, so they do not accept one.
            let ptype = PatchType::from_content_type(ct)
                .filter(|p| !(custom && *p == PatchType::Strategic))
                .ok_or_else(|| ApiError::unsupported_patch_type(custom))?;
            let mut opts = write_options(headers, q)?;
            // Checked before the body is decoded, as kube-apiserver validates PatchOptions.
            if ptype == PatchType::Apply && !opts.manager_explicit {
                return Err(ApiError::apply_without_field_manager());
            }
            let (body, dups) = decode_body(ptype == PatchType::Apply)?;
            opts.duplicates = dups;
            Ok(outcome(
                engine.patch(&target, scope, ptype, body, &opts)?,
                &Render::Full,
                &rt,
            ))
        }
        "delete" => {
            let opts = delete_options(bytes, q)?;
            Ok(outcome(engine.delete(&target, &opts)?, &Render::Full, &rt))
        }
        "deletecollection" => {
            let opts = delete_options(bytes, q)?;
            let body =
                engine.delete_collection(&rt, p.namespace.as_deref(), &selector()?, &opts)?;
            Ok(json_response(200, &body, &[]))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// As kube-apiserver's create and update handlers (not patches): a body that does not decode
/// strictly is reported as one that cannot be handled as the resource's kind.
fn decode_error(rt: &ResourceType, e: ApiError) -> ApiError {
    if e.code == 400 && e.message.starts_with("strict decoding error: ") {
        ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {message}",
            kind = rt.kind,
            version = rt.version,
            message = e.message
        ))
    } else {
        e
    }
}

fn delete_options(bytes: &[u8], q: &HashMap<String, String>) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        orphan: q.get("propagationPolicy").is_some_and(|p| p == "Orphan")
            || q.get("orphanDependents").is_some_and(|o| o == "true"),
        foreground: q
            .get("propagationPolicy")
            .is_some_and(|p| p == "Foreground"),
        ..Default::default()
    };
    if !bytes.is_empty() {
        let (body, _) = decode::decode_body(bytes, false)?;
        opts.uid = body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        opts.resource_version = body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        match body.get("propagationPolicy").and_then(Value::as_str) {
            Some("Orphan") => opts.orphan = true,
            Some("Foreground") => opts.foreground = true,
            _ => {}
        }
        if body.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
            opts.orphan = true;
        }
        if body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"))
        {
            opts.dry_run = true;
        }
    }
    Ok(opts)
}

fn record_for(req: &Request) -> RequestRecord {
    let q = route::query(req.uri().query());
    let mut rec = RequestRecord {
        seq: 0,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
        verb: String::new(),
        group: String::new(),
        resource: String::new(),
        subresource: String::new(),
        namespace: String::new(),
        name: String::new(),
        status: 0,
        field_manager: q.get("fieldManager").cloned(),
        user_agent: header_str(req.headers(), header::USER_AGENT).map(str::to_string),
        faulted: false,
        received_at: std::time::SystemTime::now(),
        answered_at: std::time::SystemTime::now(),
    };
    if let Route::Resource(p) = route::parse(req.uri().path()) {
        rec.verb = route::verb(req.method(), &p, &q).to_string();
        rec.group = p.group.clone();
        rec.resource = p.plural.clone();
        rec.subresource = p.subresource.clone().unwrap_or_default();
        rec.namespace = p.namespace.clone().unwrap_or_default();
        rec.name = p.name.clone().unwrap_or_default();
    }
    rec
}

/// Logs the request when dropped, so cancelled requests are logged too.
struct LogGuard {
    hooks: Arc<Hooks>,
    rec: Option<RequestRecord>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(mut rec) = self.rec.take() {
            if rec.status == 0 {
                rec.status = 499;
            }
            tracing::debug!(
                method = %rec.method,
                path = %rec.path,
                query = %rec.query,
                verb = %rec.verb,
                status = rec.status,
                faulted = rec.faulted,
                "request"
            );
            self.hooks.end(rec);
        }
    }
}

fn injected(code: u16, rec: &RequestRecord) -> ApiError {
    match code {
        409 => ApiError::conflict(&rec.resource, &rec.group, &rec.name),
        404 => ApiError::not_found(&rec.resource, &rec.group, &rec.name),
        429 => ApiError::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        503 => ApiError::new(
            503,
            "ServiceUnavailable",
            "The server is currently unable to handle the request (injected fault)",
        ),
        504 => ApiError::new(
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout",
        ),
        403 => ApiError::new(403, "Forbidden", "forbidden (injected fault)"),
        410 => ApiError::expired(0, 0),
        500 => ApiError::new(
            500,
            "InternalError",
            "Internal error occurred: injected fault",
        ),
        other => ApiError::new(other, "Unknown", format!("injected fault ({other})")),
    }
}

async fn fault_response(action: &FaultAction, rec: &RequestRecord) -> Response {
    match action {
        FaultAction::Status(code) => injected(*code, rec).into_response(),
        FaultAction::TooManyRequests { retry_after_secs } => {
            let mut e = injected(429, rec);
            e.retry_after = Some(*retry_after_secs);
            e.into_response()
        }
        FaultAction::Hang(d) => {
            tokio::time::sleep(*d).await;
            injected(504, rec).into_response()
        }
        FaultAction::HangUp(d) => {
            tokio::time::sleep(*d).await;
            // A body that fails makes hyper abort the connection mid-response.
            let failing = aborted_body();
            Response::new(axum::body::Body::from_stream(failing))
        }
        FaultAction::WatchGone => {
            let e = ApiError::expired(1, 2);
            if rec.verb == "watch" {
                watch::error_event_response(&e)
            } else {
                e.into_response()
            }
        }
    }
}

fn aborted_body() -> tokio_stream::Once<Result<bytes::Bytes, std::io::Error>> {
    tokio_stream::once(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "injected fault: connection closed",
    )))
}

/// Middleware: request log, latency and fault injection.
pub async fn observe(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let rec = record_for(&req);
    let (delay, fault) = app.hooks.begin(&rec);
    let mut guard = LogGuard {
        hooks: app.hooks.clone(),
        rec: Some(rec),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let resp = match &fault {
        Some(action) => {
            let rec = guard.rec.as_ref().expect("set above");
            fault_response(action, rec).await
        }
        None => next.run(req).await,
    };
    if let Some(rec) = guard.rec.as_mut() {
        rec.status = resp.status().as_u16();
        rec.faulted = fault.is_some();
    }
    drop(guard);
    resp
}
