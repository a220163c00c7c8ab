//! Request paths: which endpoint a URL names, and the Kubernetes "request info" (verb, resource,
//! namespace, name) the request log and fault filters use.

use std::collections::HashMap;

use http::Method;

/// A resource URL, split into its parts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourcePath {
    /// API group, empty for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace, if the URL has one.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`status`).
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub legacy_watch: bool,
}

/// The endpoint a path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/readyz`, `/livez`
    Health,
    /// `/api`
    Api,
    /// `/apis`
    Apis,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`
    GroupVersion(String, String),
    /// `/openapi/v3`
    OpenApiRoot,
    /// `/openapi/v3/{api/v1 | apis/g/v}`
    OpenApiDoc(String),
    /// `/openapi/v2`
    OpenApiV2,
    /// A resource or collection.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// Parses a URL path.
pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::Api,
        ["api", v] => Route::GroupVersion(String::new(), v.to_string()),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", rest @ ..] => Route::OpenApiDoc(rest.join("/")),
        ["openapi", "v2"] => Route::OpenApiV2,
        _ => Route::Unknown,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let (legacy_watch, rest) = match rest {
        ["watch", more @ ..] if !more.is_empty() => (true, more),
        _ => (false, rest),
    };
    let mut p = ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        legacy_watch,
        ..Default::default()
    };
    let namespaced = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let tail = if namespaced {
        p.namespace = Some(rest[1].to_string());
        &rest[2..]
    } else {
        rest
    };
    match tail {
        [plural] => p.plural = plural.to_string(),
        [plural, name] => {
            p.plural = plural.to_string();
            p.name = Some(name.to_string());
        }
        [plural, name, sub] => {
            p.plural = plural.to_string();
            p.name = Some(name.to_string());
            p.subresource = Some(sub.to_string());
        }
        _ => return Route::Unknown,
    }
    Route::Resource(p)
}

/// Parses a query string.
pub fn query(q: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Whether a query asks for a watch.
pub fn is_watch(q: &HashMap<String, String>) -> bool {
    matches!(q.get("watch").map(String::as_str), Some("true" | "1"))
}

/// Kubernetes' verb for a request.
pub fn verb(method: &Method, p: &ResourcePath, q: &HashMap<String, String>) -> &'static str {
    match *method {
        Method::GET if p.legacy_watch || is_watch(q) => "watch",
        Method::GET if p.name.is_some() => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if p.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_and_cluster_paths_parse() {
        let Route::Resource(p) = parse("/api/v1/namespaces/ns1/configmaps/cm1") else {
            panic!("resource")
        };
        assert_eq!(
            (p.namespace.as_deref(), p.plural.as_str(), p.name.as_deref()),
            (Some("ns1"), "configmaps", Some("cm1"))
        );
        let Route::Resource(p) = parse("/api/v1/namespaces/ns1/status") else {
            panic!("resource")
        };
        assert_eq!(
            (
                p.namespace,
                p.plural.as_str(),
                p.name.as_deref(),
                p.subresource.as_deref()
            ),
            (None, "namespaces", Some("ns1"), Some("status"))
        );
        let Route::Resource(p) = parse("/apis/g.io/v1/things/t1/status") else {
            panic!("resource")
        };
        assert_eq!(
            (
                p.group.as_str(),
                p.name.as_deref(),
                p.subresource.as_deref()
            ),
            ("g.io", Some("t1"), Some("status"))
        );
        let Route::Resource(p) = parse("/api/v1/watch/namespaces/a/configmaps") else {
            panic!("resource")
        };
        assert!(p.legacy_watch);
        assert_eq!(
            parse("/apis/g.io/v1"),
            Route::GroupVersion("g.io".into(), "v1".into())
        );
    }
}
