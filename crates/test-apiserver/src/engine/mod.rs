//! The API semantics over the store: create, update, patch, apply, delete, get, list and watch
//! subscription, with Kubernetes' rules for resourceVersion, generation, status subresource,
//! finalizers, namespaces, CRDs, managedFields and validation. Handlers only translate HTTP.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::apply::{self, Writer};
use crate::decode::{self, FieldValidation};
use crate::error::{ApiError, FieldCause};
use crate::managed::{ListTypes, Scope};
use crate::meta;
use crate::patch::{self, PatchType};
use crate::registry::{self, Registry, ResourceType, StorageKey};
use crate::selectors::Selector;
use crate::store::{Store, StoreEvent};

mod crd;
mod delete;
mod gc;
mod lifecycle;
mod validate;
mod write;

use self::crd::*;
use self::delete::*;
use self::gc::*;
use self::lifecycle::*;
use self::validate::*;
use self::write::*;

/// Options shared by writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Field manager (query `fieldManager`, or derived from the User-Agent).
    pub manager: String,
    /// Whether `fieldManager` was given explicitly (required for apply).
    pub manager_explicit: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `force` (apply only).
    pub force: bool,
    /// Duplicate fields found while decoding the body.
    pub duplicates: Vec<String>,
}

/// The result of a successful write.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Response body.
    pub body: Value,
    /// 200 or 201.
    pub code: u16,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

/// Preconditions and options of a DELETE.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `propagationPolicy: Orphan`: dependents keep existing (their ownerReference is removed).
    pub orphan: bool,
    /// `propagationPolicy: Foreground`: the object waits for its dependents to be deleted.
    pub foreground: bool,
}

/// Paging of a list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Selectors.
    pub selector: Selector,
    /// `limit` (0 = all).
    pub limit: usize,
    /// `continue` token.
    pub continue_token: Option<String>,
    /// `resourceVersion` with `resourceVersionMatch=Exact`: list the state at that version.
    pub exact_rv: Option<u64>,
}

/// A started watch: the initial events, the live stream and the version it starts from.
pub struct Subscription {
    /// Synthetic ADDED objects (for watches without a resourceVersion, or `0`).
    pub initial: Vec<Arc<Value>>,
    /// Events after `start_rv` already in the history.
    pub backlog: Vec<Arc<StoreEvent>>,
    /// Live events.
    pub rx: mpsc::UnboundedReceiver<Arc<StoreEvent>>,
    /// The store's resourceVersion when the watch started.
    pub start_rv: u64,
}

struct Inner {
    registry: Registry,
    store: Store,
}

/// The server state: registry and store behind one lock.
pub struct Engine {
    inner: Mutex<Inner>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic while holding the lock would be a bug in the server; keep serving anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a request points.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The resource type.
    pub rt: &'a ResourceType,
    /// Namespace from the URL (empty for cluster-scoped).
    pub namespace: &'a str,
    /// Name from the URL.
    pub name: &'a str,
}

const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Engine {
    /// A fresh server state with the built-in namespaces.
    pub fn new(history_limit: usize) -> Self {
        let engine = Engine {
            inner: Mutex::new(Inner {
                registry: Registry::new(),
                store: Store::new(history_limit),
            }),
        };
        {
            let mut inner = lock(&engine.inner);
            let rt = inner
                .registry
                .get("", "v1", "namespaces")
                .cloned()
                .expect("built-in namespaces");
            for ns in SYSTEM_NAMESPACES {
                let body =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                let opts = WriteOptions {
                    manager: "test-apiserver".into(),
                    ..Default::default()
                };
                // Built-in names are valid, so creation cannot fail.
                let _ = create_locked(&mut inner, &rt, "", body, &opts, false);
            }
        }
        engine
    }

    /// Looks up a served resource.
    pub fn resolve(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<ResourceType, ApiError> {
        lock(&self.inner)
            .registry
            .get(group, version, plural)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )
            })
    }

    /// Whether any resource is served at `/apis/{group}/{version}`.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        lock(&self.inner)
            .registry
            .types()
            .iter()
            .any(|t| t.group == group && t.version == version)
    }

    /// A snapshot of the registry.
    pub fn registry(&self) -> Registry {
        lock(&self.inner).registry.clone()
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        lock(&self.inner).store.current_rv()
    }

    /// Forgets the watch history (watches from older versions get 410).
    pub fn compact(&self) {
        lock(&self.inner).store.compact();
    }

    /// Ends every open watch stream.
    pub fn close_watches(&self) {
        lock(&self.inner).store.close_watches();
    }

    /// Number of open watches.
    pub fn watch_count(&self) -> usize {
        lock(&self.inner).store.watch_count()
    }

    /// GET one object.
    pub fn get(&self, t: &Target<'_>) -> Result<Value, ApiError> {
        let inner = lock(&self.inner);
        let obj = inner
            .store
            .get(&t.rt.key(), t.namespace, t.name)
            .ok_or_else(|| ApiError::not_found(&t.rt.plural, &t.rt.group, t.name))?;
        Ok(present(t.rt, &obj))
    }

    /// LIST objects (namespace `None` = all namespaces).
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Value, ApiError> {
        let after = match &opts.continue_token {
            Some(tok) if !tok.is_empty() => Some(decode_continue(tok)?),
            _ => None,
        };
        let inner = lock(&self.inner);
        let key = rt.key();
        // Later pages are served from the first page's snapshot, as etcd does.
        let snapshot = after.as_ref().map(|(rv, _, _)| *rv).or(opts.exact_rv);
        let (all, rv) = match snapshot {
            None => (inner.store.list(&key, namespace), inner.store.current_rv()),
            Some(snapshot_rv) if after.is_none() => {
                let all = inner
                    .store
                    .list_at(&key, namespace, snapshot_rv)
                    .map_err(|e| ApiError::expired(snapshot_rv, e.oldest))?;
                (all, snapshot_rv)
            }
            Some(snapshot_rv) => {
                let all = inner.store.list_at(&key, namespace, snapshot_rv).map_err(|_| {
                    ApiError::new(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
                })?;
                (all, snapshot_rv)
            }
        };
        drop(inner);
        let after = after.map(|(_, ns, name)| (ns, name));
        let mut items = Vec::new();
        let mut remaining = 0usize;
        let mut last_key = None;
        for obj in all.iter() {
            let k = (
                meta::namespace(obj).to_string(),
                meta::name(obj).to_string(),
            );
            if after.as_ref().is_some_and(|a| k <= *a) || !opts.selector.matches(obj) {
                continue;
            }
            if opts.limit > 0 && items.len() >= opts.limit {
                remaining += 1;
                continue;
            }
            last_key = Some(k);
            items.push(present(rt, obj));
        }
        let mut md = json!({"resourceVersion": rv.to_string()});
        if remaining > 0
            && let Some((ns, name)) = last_key
        {
            md["continue"] = json!(encode_continue(rv, &ns, &name));
            md["remainingItemCount"] = json!(remaining);
        }
        Ok(json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": md,
            "items": items,
        }))
    }

    /// Starts a watch. `from` is the requested resourceVersion (`None` or `0`: from now, with
    /// the current objects as synthetic ADDED events).
    pub fn subscribe(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        from: Option<u64>,
        selector: &Selector,
    ) -> Result<Subscription, ApiError> {
        let mut inner = lock(&self.inner);
        let key = rt.key();
        let start_rv = inner.store.current_rv();
        match from.filter(|rv| *rv != 0) {
            Some(rv) => {
                let (backlog, rx) = inner
                    .store
                    .subscribe(&key, namespace, Some(rv))
                    .map_err(|e| ApiError::expired(rv, e.oldest))?;
                Ok(Subscription {
                    initial: Vec::new(),
                    backlog,
                    rx,
                    start_rv,
                })
            }
            None => {
                let initial: Vec<Arc<Value>> = inner
                    .store
                    .list(&key, namespace)
                    .into_iter()
                    .filter(|o| selector.matches(o))
                    .collect();
                let (backlog, rx) = inner
                    .store
                    .subscribe(&key, namespace, None)
                    .map_err(|e| ApiError::expired(start_rv, e.oldest))?;
                Ok(Subscription {
                    initial,
                    backlog,
                    rx,
                    start_rv,
                })
            }
        }
    }

    /// POST: create.
    pub fn create(
        &self,
        rt: &ResourceType,
        namespace: &str,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        let mut inner = lock(&self.inner);
        create_locked(&mut inner, rt, namespace, body, opts, false)
    }

    /// PUT of the object or its `/status`.
    pub fn update(
        &self,
        t: &Target<'_>,
        scope: Scope,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        let mut inner = lock(&self.inner);
        let rt = t.rt;
        let old = inner
            .store
            .get(&rt.key(), t.namespace, t.name)
            .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, t.name))?;
        let mut new = body;
        check_body_identity(&mut new, t)?;
        if let Some(rv) = meta::resource_version(&new)
            && Some(rv) != meta::resource_version(&old)
        {
            return Err(ApiError::conflict(&rt.plural, &rt.group, t.name));
        }
        commit_update(&mut inner, t, old, new, scope, opts, false)
    }

    /// PATCH of the object or its `/status`, including server-side apply.
    pub fn patch(
        &self,
        t: &Target<'_>,
        scope: Scope,
        ptype: PatchType,
        body: Value,
        opts: &WriteOptions,
    ) -> Result<Outcome, ApiError> {
        let mut inner = lock(&self.inner);
        let rt = t.rt;
        if ptype == PatchType::Apply {
            return apply_locked(&mut inner, t, scope, body, opts);
        }
        let old = inner
            .store
            .get(&rt.key(), t.namespace, t.name)
            .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, t.name))?;
        let mut new = present(rt, &old);
        match ptype {
            PatchType::Json => patch::json_patch(&mut new, &body)?,
            PatchType::Merge => {
                if !body.is_object() {
                    return Err(ApiError::bad_request(
                        "cannot unmarshal a merge patch that is not a JSON object",
                    ));
                }
                patch::merge_patch(&mut new, &body)
            }
            PatchType::Strategic => {
                if !body.is_object() {
                    return Err(ApiError::bad_request(
                        "cannot unmarshal a strategic merge patch that is not a JSON object",
                    ));
                }
                patch::strategic_merge(&mut new, &body)
            }
            PatchType::Apply => return apply_locked(&mut inner, t, scope, body, opts),
        }
        if meta::resource_version(&new) != meta::resource_version(&old) {
            return Err(ApiError::conflict(&rt.plural, &rt.group, t.name));
        }
        check_body_identity(&mut new, t)?;
        commit_update(&mut inner, t, old, new, scope, opts, false)
    }

    /// DELETE one object.
    pub fn delete(&self, t: &Target<'_>, opts: &DeleteOptions) -> Result<Outcome, ApiError> {
        let mut inner = lock(&self.inner);
        delete_locked(&mut inner, t, opts).map(|(o, _)| o)
    }

    /// DELETE a collection: every object matching the selector.
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        selector: &Selector,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let mut inner = lock(&self.inner);
        let objs: Vec<Arc<Value>> = inner
            .store
            .list(&rt.key(), namespace)
            .into_iter()
            .filter(|o| selector.matches(o))
            .collect();
        let mut items = Vec::new();
        for o in objs {
            let t = Target {
                rt,
                namespace: meta::namespace(&o),
                name: meta::name(&o),
            };
            items.push(delete_locked(&mut inner, &t, opts)?.1);
        }
        let rv = inner.store.current_rv();
        Ok(
            json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        )
    }
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    format!("{rv}/{ns}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(tok: &str) -> Result<(u64, String, String), ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {tok}"));
    if !tok.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..tok.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&tok[i..i + 2], 16))
        .collect();
    let text = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '/');
    let rv = parts
        .next()
        .and_then(|r| r.parse::<u64>().ok())
        .ok_or_else(bad)?;
    let ns = parts.next().ok_or_else(bad)?;
    let name = parts.next().ok_or_else(bad)?;
    Ok((rv, ns.to_string(), name.to_string()))
}

/// The object as served at `rt`'s version.
pub fn present(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    v
}

fn check_api_version(obj: &Value, rt: &ResourceType) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    // Another version of the same group is accepted: versions share storage.
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str)
        && av != rt.api_version()
        && (rt.group.is_empty() || av.split('/').next() != Some(rt.group.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

/// Checks and fills apiVersion, kind, name and namespace of a PUT/PATCH/apply body.
fn check_body_identity(obj: &mut Value, t: &Target<'_>) -> Result<(), ApiError> {
    check_api_version(obj, t.rt)?;
    let name = meta::name(obj);
    if !name.is_empty() && name != t.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            t.name
        )));
    }
    let ns = meta::namespace(obj);
    if t.rt.namespaced && !ns.is_empty() && ns != t.namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let md = meta::metadata_mut(obj);
    md.insert("name".into(), json!(t.name));
    if t.rt.namespaced {
        md.insert("namespace".into(), json!(t.namespace));
    } else {
        md.remove("namespace");
    }
    let m = obj.as_object_mut().expect("checked object");
    m.insert("apiVersion".into(), json!(t.rt.api_version()));
    m.insert("kind".into(), json!(t.rt.kind));
    Ok(())
}
