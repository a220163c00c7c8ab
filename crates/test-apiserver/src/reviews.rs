//! The review APIs a process calls to delegate the protection of its own endpoints to the API
//! server, as controller-runtime's secure metrics endpoint does: `TokenReview`
//! (`authentication.k8s.io/v1`, "who is this bearer token?") and `SubjectAccessReview`
//! (`authorization.k8s.io/v1`, "may this user do that?").
//!
//! This module owns the tokens and grants a test registers through [`Reviews`]
//! ([`TestApiServer::reviews`](crate::TestApiServer::reviews)), the decisions made from them, and
//! the two resources that answer them. Like kube-apiserver's, those resources are create-only
//! and virtual: a review is answered (201, the posted object with its `status` filled in) and
//! forgotten; there is nothing to get, list or watch. Bodies are JSON only (kube-apiserver also
//! takes protobuf, which neither kube-rs nor kubectl sends for these kinds).
//!
//! The grant model is documented on [`Reviews`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, MutexGuard};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::decode::{self, FieldValidation};
use crate::engine::Outcome;
use crate::error::{ApiError, FieldCause};
use crate::registry::ResourceType;
use crate::route::ResourcePath;

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";
const VERSION: &str = "v1";
const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// The error a `TokenReview` reports for a token nobody registered, in kube-apiserver's words.
const INVALID_TOKEN: &str = "invalid bearer token";

/// Who a grant is for: a user name or a group name, as in an RBAC binding's subjects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A user name, e.g. `system:serviceaccount:monitoring:prometheus`.
    User(String),
    /// A group name, e.g. `system:serviceaccounts`.
    Group(String),
}

impl Subject {
    /// The user `name`.
    pub fn user(name: &str) -> Self {
        Subject::User(name.to_string())
    }

    /// The group `name`.
    pub fn group(name: &str) -> Self {
        Subject::Group(name.to_string())
    }

    fn covers(&self, user: &str, groups: &[String]) -> bool {
        match self {
            Subject::User(u) => u == user,
            Subject::Group(g) => groups.contains(g),
        }
    }
}

/// A plain name is a user name.
impl From<&str> for Subject {
    fn from(name: &str) -> Self {
        Subject::user(name)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(u) => write!(f, "User {u:?}"),
            Subject::Group(g) => write!(f, "Group {g:?}"),
        }
    }
}

/// The user a registered bearer token authenticates as (a `TokenReview`'s `status.user`), and
/// the audiences the token is valid for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenUser {
    /// `status.user.username`.
    pub username: String,
    /// `status.user.uid`; omitted from the answer when empty.
    pub uid: String,
    /// `status.user.groups`, exactly these (no group is implied).
    pub groups: Vec<String>,
    /// Audiences the token is valid for; empty means any. A review naming audiences
    /// (`spec.audiences`) authenticates only if one of them is here, and its `status.audiences`
    /// are the ones in common.
    pub audiences: Vec<String>,
}

/// What a grant allows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    NonResource {
        verb: String,
        path: String,
    },
    Resource {
        verb: String,
        group: String,
        resource: String,
        namespace: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    subject: Subject,
    access: Access,
}

/// What a `SubjectAccessReview` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    NonResource {
        verb: String,
        path: String,
    },
    Resource {
        verb: String,
        group: String,
        /// `resource` or `resource/subresource`.
        resource: String,
        /// Empty for a cluster-scoped request.
        namespace: String,
    },
}

fn wildcard_eq(granted: &str, asked: &str) -> bool {
    granted == "*" || granted == asked
}

impl Access {
    fn covers(&self, asked: &Asked) -> bool {
        match (self, asked) {
            (Access::NonResource { verb, path }, Asked::NonResource { verb: v, path: p }) => {
                wildcard_eq(verb, v)
                    && match path.strip_suffix('*') {
                        Some(prefix) => p.starts_with(prefix),
                        None => path == p,
                    }
            }
            (
                Access::Resource {
                    verb,
                    group,
                    resource,
                    namespace,
                },
                Asked::Resource {
                    verb: v,
                    group: g,
                    resource: r,
                    namespace: ns,
                },
            ) => {
                wildcard_eq(verb, v)
                    && wildcard_eq(group, g)
                    && wildcard_eq(resource, r)
                    && namespace.as_ref().is_none_or(|n| n == ns)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Asked {
    /// What was asked, in the words of RBAC's "forbidden" messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Asked::NonResource { verb, path } => write!(f, "{verb} path {path:?}"),
            Asked::Resource {
                verb,
                group,
                resource,
                namespace,
            } => {
                write!(f, "{verb} resource {resource:?} in API group {group:?}")?;
                if namespace.is_empty() {
                    write!(f, " at the cluster scope")
                } else {
                    write!(f, " in the namespace {namespace:?}")
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    tokens: HashMap<String, TokenUser>,
    grants: Vec<Grant>,
}

/// The tokens and grants the server's `TokenReview` and `SubjectAccessReview` APIs answer from.
/// Get it with [`TestApiServer::reviews`](crate::TestApiServer::reviews); changes apply to the
/// next review.
///
/// # Grant model
///
/// A deliberately small subset of RBAC. A grant gives one [`Subject`] (a user or a group) one
/// verb, either on a non-resource path or on a resource:
///
/// - a review is allowed when a grant matches its user or one of its groups, its verb and its
///   path or resource; otherwise it is denied with a reason naming what was asked;
/// - `"*"` as the verb, API group or resource of a grant matches any; a grant path ending in `*`
///   matches every path with that prefix (`/healthz/*`), and `"*"` matches every path;
/// - the resource of a request for a subresource is `resource/subresource` (`pods/log`), so a
///   grant on `pods` does not cover `pods/log`;
/// - a grant with a namespace matches requests in that namespace only (a RoleBinding); one
///   without matches every namespace and cluster-scoped requests (a ClusterRoleBinding);
/// - resource names, API versions and selectors of a request are not considered, and no group
///   is implied (`system:authenticated` is not added to tokens, `system:masters` gets nothing
///   it was not granted).
///
/// ```no_run
/// # async fn demo() -> Result<(), test_apiserver::Error> {
/// use test_apiserver::{Subject, TestApiServer};
///
/// let server = TestApiServer::start().await?;
/// let sa = "system:serviceaccount:monitoring:prometheus";
/// server.reviews().add_token("t0k3n", sa, &["system:serviceaccounts"]);
/// server.reviews().grant_non_resource(sa, "get", "/metrics");
/// let group = Subject::group("system:serviceaccounts");
/// server.reviews().grant_resource(group, "list", "", "pods", Some("monitoring"));
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Reviews {
    state: Mutex<State>,
}

impl Reviews {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain data that no panic can leave half-written; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers (or replaces) a bearer token that authenticates as `username` with `groups`,
    /// no uid and valid for any audience.
    pub fn add_token(&self, token: &str, username: &str, groups: &[&str]) {
        self.add_token_user(
            token,
            TokenUser {
                username: username.to_string(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                ..TokenUser::default()
            },
        );
    }

    /// Registers (or replaces) a bearer token that authenticates as `user`.
    pub fn add_token_user(&self, token: &str, user: TokenUser) {
        self.lock().tokens.insert(token.to_string(), user);
    }

    /// Forgets a token (later reviews of it are not authenticated); whether it was registered.
    pub fn remove_token(&self, token: &str) -> bool {
        self.lock().tokens.remove(token).is_some()
    }

    /// Allows `subject` (a user name, or a [`Subject`]) to `verb` the non-resource `path`
    /// (`"get"`, `"/metrics"`). A path ending in `*` is a prefix; `"*"` is any verb or path.
    pub fn grant_non_resource(&self, subject: impl Into<Subject>, verb: &str, path: &str) {
        self.grant(
            subject.into(),
            Access::NonResource {
                verb: verb.to_string(),
                path: path.to_string(),
            },
        );
    }

    /// Allows `subject` (a user name, or a [`Subject`]) to `verb` `resource` (plural, or
    /// `plural/subresource`) of API `group` (`""` for core) in `namespace`, or in every namespace
    /// and at the cluster scope when `None`. `"*"` is any verb, group or resource.
    pub fn grant_resource(
        &self,
        subject: impl Into<Subject>,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) {
        self.grant(
            subject.into(),
            Access::Resource {
                verb: verb.to_string(),
                group: group.to_string(),
                resource: resource.to_string(),
                namespace: namespace.map(str::to_string),
            },
        );
    }

    fn grant(&self, subject: Subject, access: Access) {
        let mut state = self.lock();
        let grant = Grant { subject, access };
        if !state.grants.contains(&grant) {
            state.grants.push(grant);
        }
    }

    /// Removes every grant of `subject`; how many there were.
    pub fn revoke(&self, subject: impl Into<Subject>) -> usize {
        let subject = subject.into();
        let mut state = self.lock();
        let before = state.grants.len();
        state.grants.retain(|g| g.subject != subject);
        before - state.grants.len()
    }

    /// Forgets every token and grant.
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    /// The `status` of a `TokenReview` of `token` for `audiences`.
    fn authenticate(&self, token: &str, audiences: &[String]) -> Value {
        let state = self.lock();
        let Some(user) = state.tokens.get(token) else {
            return json!({"authenticated": false, "user": {}, "error": INVALID_TOKEN});
        };
        let common: Vec<String> = if user.audiences.is_empty() {
            audiences.to_vec()
        } else if audiences.is_empty() {
            user.audiences.clone()
        } else {
            audiences
                .iter()
                .filter(|a| user.audiences.contains(a))
                .cloned()
                .collect()
        };
        if common.is_empty() && !audiences.is_empty() {
            // The service account token authenticator's wording.
            return json!({
                "authenticated": false,
                "user": {},
                "error": format!(
                    "[{INVALID_TOKEN}, token audiences {:?} is invalid for the target audiences {:?}]",
                    user.audiences, audiences
                ),
            });
        }
        let mut info = json!({"username": user.username});
        if !user.uid.is_empty() {
            info["uid"] = json!(user.uid);
        }
        if !user.groups.is_empty() {
            info["groups"] = json!(user.groups);
        }
        let mut status = json!({"authenticated": true, "user": info});
        if !common.is_empty() {
            status["audiences"] = json!(common);
        }
        status
    }

    /// Whether `user` (with `groups`) may do what was asked, and why.
    fn authorize(&self, user: &str, groups: &[String], asked: &Asked) -> (bool, String) {
        let state = self.lock();
        match state
            .grants
            .iter()
            .find(|g| g.subject.covers(user, groups) && g.access.covers(asked))
        {
            Some(g) => (
                true,
                format!("allowed by a test-apiserver grant to {}", g.subject),
            ),
            None => (
                false,
                format!(
                    "User {user:?} cannot {asked}: no test-apiserver grant to the user or its groups {groups:?}"
                ),
            ),
        }
    }

    /// Answers a request to a path under one of the review API group-versions (those for which
    /// [`serves`] holds): `create` of a review, or kube-apiserver's 404 or 405 for anything else.
    pub(crate) fn request(
        &self,
        p: &ResourcePath,
        verb: &str,
        content_type: &str,
        q: &HashMap<String, String>,
        bytes: &[u8],
    ) -> Result<Outcome, ApiError> {
        let Some(rt) = resource_types()
            .iter()
            .find(|t| t.group == p.group && t.version == p.version && t.plural == p.plural)
        else {
            return Err(not_found());
        };
        // Only `POST /apis/{group}/v1/{plural}` is routed: other paths are unknown, other
        // methods on it not allowed (go-restful's answers, as kube-apiserver renders them).
        if p.namespace.is_some() || p.name.is_some() || p.legacy_watch {
            return Err(not_found());
        }
        if verb != "create" {
            let mut e = ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            );
            e.details = Some(json!({}));
            return Err(e);
        }
        let validation = FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?;
        let mut warnings = Vec::new();
        let obj = decode_review(rt, content_type, bytes, validation, &mut warnings)?;
        let body = if rt.group == AUTHENTICATION {
            self.token_review(rt, obj)?
        } else {
            self.subject_access_review(rt, obj)?
        };
        Ok(Outcome {
            body,
            code: 201,
            warnings,
        })
    }

    fn token_review(&self, rt: &ResourceType, mut obj: Value) -> Result<Value, ApiError> {
        let spec: TokenReviewSpec = spec_of(rt, &obj)?;
        let token = spec.token.unwrap_or_default();
        if token.is_empty() {
            return Err(ApiError::bad_request(
                "token is required for TokenReview in authentication",
            ));
        }
        let status = self.authenticate(&token, &spec.audiences.unwrap_or_default());
        obj["status"] = status;
        Ok(obj)
    }

    fn subject_access_review(&self, rt: &ResourceType, mut obj: Value) -> Result<Value, ApiError> {
        let spec: SubjectAccessReviewSpec = spec_of(rt, &obj)?;
        let user = spec.user.unwrap_or_default();
        let groups = spec.groups.unwrap_or_default();
        let mut causes = Vec::new();
        let asked = match (spec.resource_attributes, spec.non_resource_attributes) {
            (Some(r), None) => {
                let resource = r.resource.unwrap_or_default();
                let resource = match r.subresource.filter(|s| !s.is_empty()) {
                    Some(sub) => format!("{resource}/{sub}"),
                    None => resource,
                };
                Some(Asked::Resource {
                    verb: r.verb.unwrap_or_default(),
                    group: r.group.unwrap_or_default(),
                    resource,
                    namespace: r.namespace.unwrap_or_default(),
                })
            }
            (None, Some(n)) => Some(Asked::NonResource {
                verb: n.verb.unwrap_or_default(),
                path: n.path.unwrap_or_default(),
            }),
            (Some(_), Some(n)) => {
                causes.push(FieldCause::new(
                    "FieldValueInvalid",
                    "spec.nonResourceAttributes",
                    format!(
                        "spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{{Path:{:?}, Verb:{:?}}}: cannot be specified in combination with resourceAttributes",
                        n.path.as_deref().unwrap_or_default(),
                        n.verb.as_deref().unwrap_or_default()
                    ),
                ));
                None
            }
            (None, None) => {
                causes.push(FieldCause::new(
                    "FieldValueInvalid",
                    "spec.resourceAttributes",
                    "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
                ));
                None
            }
        };
        if user.is_empty() && groups.is_empty() {
            causes.push(FieldCause::new(
                "FieldValueInvalid",
                "spec.user",
                "spec.user: Invalid value: \"\": at least one of user or group must be specified",
            ));
        }
        if obj.get("metadata").is_some_and(|m| !is_zero(m, true)) {
            causes.push(FieldCause::new(
                "FieldValueInvalid",
                "metadata",
                format!(
                    "metadata: Invalid value: {}: must be empty",
                    obj["metadata"]
                ),
            ));
        }
        let asked = match asked {
            Some(asked) if causes.is_empty() => asked,
            _ => return Err(ApiError::invalid(&rt.kind, &rt.group, "", &causes)),
        };
        let (allowed, reason) = self.authorize(&user, &groups, &asked);
        obj["status"] = json!({"allowed": allowed, "reason": reason});
        Ok(obj)
    }
}

/// `spec` of a `TokenReview`; absent and `null` fields are Go's zero values.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenReviewSpec {
    token: Option<String>,
    audiences: Option<Vec<String>>,
}

/// `spec` of a `SubjectAccessReview` (`uid` and `extra` play no part in a decision).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SubjectAccessReviewSpec {
    user: Option<String>,
    groups: Option<Vec<String>>,
    resource_attributes: Option<ResourceAttributes>,
    non_resource_attributes: Option<NonResourceAttributes>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceAttributes {
    namespace: Option<String>,
    verb: Option<String>,
    group: Option<String>,
    resource: Option<String>,
    subresource: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NonResourceAttributes {
    path: Option<String>,
    verb: Option<String>,
}

/// Whether a value is Go's zero value after decoding (`null`, `""`, `0`, `false`, empty
/// collections), as `apiequality.Semantic.DeepEqual` compares metadata; `managedFields` is
/// ignored at the top of metadata, as kube-apiserver's `SubjectAccessReview` validation does.
fn is_zero(v: &Value, metadata: bool) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| (metadata && k == "managedFields") || is_zero(v, false)),
    }
}

/// The `spec` of a review, or kube-apiserver's "cannot be handled" 400.
fn spec_of<T: DeserializeOwned + Default>(rt: &ResourceType, obj: &Value) -> Result<T, ApiError> {
    match obj.get("spec") {
        None | Some(Value::Null) => Ok(T::default()),
        Some(spec) => T::deserialize(spec).map_err(|e| cannot_handle(rt, &format!("spec: {e}"))),
    }
}

fn cannot_handle(rt: &ResourceType, why: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: {why}",
        kind = rt.kind,
        version = rt.version,
    ))
}

/// Decodes a posted review: JSON only, apiVersion and kind of the resource (filled in when
/// absent), unknown top-level and metadata fields handled per `fieldValidation`.
fn decode_review(
    rt: &ResourceType,
    content_type: &str,
    bytes: &[u8],
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let (mut obj, duplicates) = decode::decode_body(bytes, false)?;
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    };
    let api_version = rt.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(av) if av != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(kind) if kind != rt.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        _ => {}
    }
    map.insert("apiVersion".into(), json!(api_version));
    map.insert("kind".into(), json!(rt.kind));
    if !map.get("metadata").is_some_and(Value::is_object) {
        map.insert("metadata".into(), Value::Object(Map::new()));
    }
    let pruned = decode::prune_unknown(&mut obj, Some(TOP_LEVEL_FIELDS));
    decode::enforce(validation, &pruned, &duplicates, warnings).map_err(|e| {
        if e.code == 400 {
            cannot_handle(rt, &e.message)
        } else {
            e
        }
    })?;
    Ok(obj)
}

fn not_found() -> ApiError {
    let mut e = ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    );
    e.details = Some(json!({}));
    e
}

fn review_type(group: &str, kind: &str, plural: &str) -> ResourceType {
    ResourceType {
        group: group.to_string(),
        version: VERSION.to_string(),
        kind: kind.to_string(),
        plural: plural.to_string(),
        singular: kind.to_lowercase(),
        short_names: vec![],
        categories: vec![],
        namespaced: false,
        has_status: false,
        tracks_generation: false,
        builtin_fields: Some(TOP_LEVEL_FIELDS),
        printer_columns: vec![],
        schema: None,
    }
}

/// The review resources, for discovery and routing. They take only `create`.
pub fn resource_types() -> &'static [ResourceType] {
    static TYPES: LazyLock<[ResourceType; 2]> = LazyLock::new(|| {
        [
            review_type(AUTHENTICATION, "TokenReview", "tokenreviews"),
            review_type(AUTHORIZATION, "SubjectAccessReview", "subjectaccessreviews"),
        ]
    });
    TYPES.as_slice()
}

/// Whether `/apis/{group}/{version}` is a review API group-version (answered by this module).
pub fn serves(group: &str, version: &str) -> bool {
    resource_types()
        .iter()
        .any(|t| t.group == group && t.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(verb: &str, group: &str, resource: &str, namespace: &str) -> Asked {
        Asked::Resource {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
        }
    }

    fn path(verb: &str, path: &str) -> Asked {
        Asked::NonResource {
            verb: verb.into(),
            path: path.into(),
        }
    }

    #[test]
    fn path_grants_match_exactly_or_by_trailing_star_prefix() {
        let r = Reviews::default();
        r.grant_non_resource("u", "get", "/metrics");
        r.grant_non_resource("u", "*", "/healthz/*");
        assert!(r.authorize("u", &[], &path("get", "/metrics")).0);
        assert!(!r.authorize("u", &[], &path("get", "/metrics/extra")).0);
        assert!(!r.authorize("u", &[], &path("post", "/metrics")).0);
        assert!(r.authorize("u", &[], &path("post", "/healthz/ping")).0);
        assert!(!r.authorize("u", &[], &path("get", "/healthz")).0);
        assert!(!r.authorize("v", &[], &path("get", "/metrics")).0);
    }

    #[test]
    fn namespaced_resource_grants_do_not_reach_other_namespaces_or_the_cluster_scope() {
        let r = Reviews::default();
        r.grant_resource("u", "list", "", "pods", Some("a"));
        assert!(r.authorize("u", &[], &resource("list", "", "pods", "a")).0);
        assert!(!r.authorize("u", &[], &resource("list", "", "pods", "b")).0);
        assert!(!r.authorize("u", &[], &resource("list", "", "pods", "")).0);
        assert!(
            !r.authorize("u", &[], &resource("list", "", "pods/log", "a"))
                .0
        );
        r.grant_resource(Subject::group("g"), "*", "*", "*", None);
        assert!(
            r.authorize(
                "x",
                &["g".into()],
                &resource("delete", "apps", "deployments", "")
            )
            .0
        );
    }

    #[test]
    fn denial_reason_names_the_user_groups_and_request() {
        let r = Reviews::default();
        let (allowed, reason) =
            r.authorize("u", &["g".into()], &resource("get", "", "secrets", "ns"));
        assert!(!allowed);
        assert_eq!(
            reason,
            r#"User "u" cannot get resource "secrets" in API group "" in the namespace "ns": no test-apiserver grant to the user or its groups ["g"]"#
        );
    }

    #[test]
    fn revoke_removes_only_that_subjects_grants() {
        let r = Reviews::default();
        r.grant_non_resource("u", "get", "/metrics");
        r.grant_non_resource(Subject::group("u"), "get", "/metrics");
        assert_eq!(r.revoke("u"), 1);
        assert!(!r.authorize("u", &[], &path("get", "/metrics")).0);
        assert!(r.authorize("x", &["u".into()], &path("get", "/metrics")).0);
    }

    #[test]
    fn audience_bound_tokens_authenticate_only_for_their_audiences() {
        let r = Reviews::default();
        r.add_token_user(
            "t",
            TokenUser {
                username: "u".into(),
                audiences: vec!["a".into(), "b".into()],
                ..TokenUser::default()
            },
        );
        let ok = r.authenticate("t", &["b".into(), "c".into()]);
        assert_eq!(ok["authenticated"], true);
        assert_eq!(ok["audiences"], json!(["b"]));
        let wrong = r.authenticate("t", &["c".into()]);
        assert_eq!(wrong["authenticated"], false);
        assert!(
            wrong["error"]
                .as_str()
                .unwrap_or_default()
                .contains("invalid")
        );
        assert_eq!(r.authenticate("t", &[])["audiences"], json!(["a", "b"]));
    }

    #[test]
    fn metadata_with_only_zero_values_counts_as_empty() {
        assert!(is_zero(
            &json!({"creationTimestamp": null, "managedFields": [{"manager": "m"}]}),
            true
        ));
        assert!(!is_zero(&json!({"name": "x"}), true));
    }
}
