//! Watch responses: newline-delimited JSON events (ADDED/MODIFIED/DELETED, BOOKMARK, ERROR)
//! streamed from the store, with selector transitions, `timeoutSeconds`, bookmarks and
//! `sendInitialEvents` streaming lists.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::engine::{Engine, present};
use crate::error::ApiError;
use crate::registry::ResourceType;
use crate::render::Render;
use crate::selectors::Selector;
use crate::store::{EventType, StoreEvent};

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// The resource.
    pub rt: ResourceType,
    /// Namespace, `None` for all.
    pub namespace: Option<String>,
    /// Selectors.
    pub selector: Selector,
    /// `resourceVersion`.
    pub from: Option<u64>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// How to render objects (Tables for kubectl `get --watch`, metadata only for kube's
    /// metadata watches).
    pub render: Render,
}

impl WatchRequest {
    /// Reads the watch parameters of a query.
    pub fn from_query(
        rt: ResourceType,
        namespace: Option<String>,
        q: &HashMap<String, String>,
        render: Render,
    ) -> Result<Self, ApiError> {
        let selector = Selector::parse(
            q.get("labelSelector").map(String::as_str),
            q.get("fieldSelector").map(String::as_str),
        )?;
        let from = match q.get("resourceVersion").map(String::as_str) {
            None | Some("") => None,
            Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "resourceVersion: Invalid value: \"{rv}\": must be a valid resource version"
                ))
            })?),
        };
        let flag = |k: &str| matches!(q.get(k).map(String::as_str), Some("true" | "1"));
        // 0 or absent: no timeout (kube-apiserver would pick a long random one).
        let timeout = match q.get("timeoutSeconds") {
            Some(t) if !t.is_empty() => {
                let secs = t
                    .parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t}")))?;
                (secs > 0).then(|| Duration::from_secs(secs))
            }
            _ => None,
        };
        Ok(WatchRequest {
            rt,
            namespace,
            selector,
            from,
            bookmarks: flag("allowWatchBookmarks"),
            send_initial_events: flag("sendInitialEvents"),
            timeout,
            render,
        })
    }
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn streaming(rx: mpsc::Receiver<Result<Bytes, Infallible>>) -> Response {
    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// A 200 response carrying one ERROR event (how kube-apiserver reports 410 on watch).
pub fn error_event_response(err: &ApiError) -> Response {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Ok(line("ERROR", err.to_status())));
    drop(tx);
    let mut r = streaming(rx);
    *r.status_mut() = StatusCode::OK;
    r
}

/// Starts a watch and returns the streaming response.
pub fn serve(engine: Arc<Engine>, req: WatchRequest, bookmark_interval: Duration) -> Response {
    let from = if req.send_initial_events {
        None
    } else {
        req.from
    };
    let sub = match engine.subscribe(&req.rt, req.namespace.as_deref(), from, &req.selector) {
        Ok(s) => s,
        Err(e) if e.code == 410 => return error_event_response(&e),
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    tokio::spawn(async move {
        let mut w = Writer {
            tx,
            req,
            first_table: true,
        };
        let mut last_rv = sub.start_rv.max(w.req.from.unwrap_or(0));
        for obj in sub.initial {
            if !w.send("ADDED", &obj).await {
                return;
            }
        }
        if w.req.send_initial_events && !w.bookmark(sub.start_rv, true).await {
            return;
        }
        for ev in sub.backlog {
            last_rv = ev.rv;
            if !w.event(&ev).await {
                return;
            }
        }
        let deadline = w.req.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut rx = sub.rx;
        let mut tick = tokio::time::interval(bookmark_interval);
        tick.tick().await;
        loop {
            let sleep_until = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                ev = rx.recv() => match ev {
                    // A watch from a version ahead of the store skips changes up to it.
                    Some(ev) if ev.rv <= from.unwrap_or(0) => {}
                    Some(ev) => {
                        last_rv = ev.rv;
                        if !w.event(&ev).await { return; }
                    }
                    None => return,
                },
                _ = sleep_until => return,
                _ = tick.tick(), if w.req.bookmarks => {
                    if !w.bookmark(last_rv, false).await { return; }
                }
                _ = w.tx.closed() => return,
            }
        }
    });
    streaming(rx)
}

struct Writer {
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    req: WatchRequest,
    first_table: bool,
}

impl Writer {
    async fn send(&mut self, kind: &str, obj: &Value) -> bool {
        let mut body = present(&self.req.rt, obj);
        if self.req.render != Render::Full {
            body = self
                .req
                .render
                .apply(body, self.first_table, &self.req.rt.printer_columns);
            self.first_table = false;
        }
        self.tx.send(Ok(line(kind, body))).await.is_ok()
    }

    async fn bookmark(&mut self, rv: u64, initial_end: bool) -> bool {
        let mut md = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.req.rt.kind, "apiVersion": self.req.rt.api_version(), "metadata": md});
        self.tx.send(Ok(line("BOOKMARK", obj))).await.is_ok()
    }

    async fn event(&mut self, ev: &StoreEvent) -> bool {
        let sel = &self.req.selector;
        let now = sel.matches(&ev.object);
        let kind = match ev.kind {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => ev
                .old
                .as_deref()
                .map_or(now, |o| sel.matches(o) || now)
                .then_some("DELETED"),
            EventType::Modified => {
                let before = ev.old.as_deref().is_some_and(|o| sel.matches(o));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (true, false) => Some("DELETED"),
                    (false, true) => Some("ADDED"),
                    (false, false) => None,
                }
            }
        };
        match kind {
            Some(k) => self.send(k, &ev.object).await,
            None => true,
        }
    }
}
