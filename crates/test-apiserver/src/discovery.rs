//! Discovery (`/version`, `/api`, `/apis`, group-version resource lists) and the OpenAPI v3
//! documents kubectl reads to decide that validation is left to the server.

use serde_json::{Value, json};

use crate::registry::{Registry, ResourceType};
use crate::reviews;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of the create-only review resources.
const CREATE_ONLY: &[&str] = &["create"];

/// Every served resource type with its verbs: the registry's, then the review APIs'.
fn served(reg: &Registry) -> Vec<(&ResourceType, &'static [&'static str])> {
    reg.types()
        .iter()
        .map(|t| (t, VERBS))
        .chain(reviews::resource_types().iter().map(|t| (t, CREATE_ONLY)))
        .collect()
}

/// Groups in discovery order, with their versions (preferred = first listed): the registry's,
/// then the review APIs'.
fn groups(reg: &Registry) -> Vec<(String, Vec<String>)> {
    let mut out = reg.groups();
    for t in reviews::resource_types() {
        match out.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, versions)) if versions.contains(&t.version) => {}
            Some((_, versions)) => versions.push(t.version.clone()),
            None => out.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    out
}

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-test-apiserver",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`.
pub fn api(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

/// `/apis`.
pub fn apis(reg: &Registry) -> Value {
    let groups: Vec<Value> = groups(reg)
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`.
pub fn group(reg: &Registry, group: &str) -> Option<Value> {
    groups(reg)
        .into_iter()
        .find(|(g, _)| g == group && !g.is_empty())
        .map(|(g, vs)| {
            let mut v = group_json(&g, &vs);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        })
}

fn gv_types<'a>(
    reg: &'a Registry,
    group: &str,
    version: &str,
) -> Vec<(&'a ResourceType, &'static [&'static str])> {
    served(reg)
        .into_iter()
        .filter(|(t, _)| t.group == group && t.version == version)
        .collect()
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = gv_types(reg, group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for (t, verbs) in types {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.has_status {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: one entry per group-version.
pub fn openapi_root(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, versions) in groups(reg) {
        for v in versions {
            let key = gv_key(&g, &v);
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={:016X}", reg.generation)}),
            );
        }
    }
    json!({"paths": paths})
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(t: &ResourceType, action: &str, write: bool) -> Value {
    let mut params = vec![param("pretty")];
    if write {
        params.extend([
            param("dryRun"),
            param("fieldManager"),
            param("fieldValidation"),
        ]);
    }
    if action == "patch" {
        params.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    json!({
        "operationId": format!("{action}{}", t.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", schema_name(t))}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
    })
}

fn schema_name(t: &ResourceType) -> String {
    let group = if t.group.is_empty() {
        "core".to_string()
    } else {
        t.group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{group}.{}.{}", t.version, t.kind)
}

/// `/openapi/v3/{api/v1 | apis/g/v}`: paths with `x-kubernetes-group-version-kind` and a
/// `fieldValidation` parameter, and a schema per kind (the CRD's schema for custom resources).
pub fn openapi_doc(reg: &Registry, gv: &str) -> Option<Value> {
    let (group, version) = match gv.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    let types = gv_types(reg, &group, &version);
    if types.is_empty() {
        return None;
    }
    let prefix = format!("/{}", gv_key(&group, &version));
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for (t, verbs) in types {
        let base = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", t.plural)
        } else {
            format!("{prefix}/{}", t.plural)
        };
        if verbs == CREATE_ONLY {
            // kubectl asks only a kind's PATCH operation whether the server validates fields
            // (`fieldValidation`); without one it validates on the client from OpenAPI v2, which
            // this server does not serve, and `kubectl create -f` fails. So the create-only
            // review kinds advertise one here; discovery still lists `create` alone, and a
            // PATCH is answered 405 as kube-apiserver does.
            paths.insert(
                base,
                json!({"post": operation(t, "post", true), "patch": operation(t, "patch", true)}),
            );
        } else {
            paths.insert(
                base.clone(),
                json!({"get": operation(t, "list", false), "post": operation(t, "post", true)}),
            );
            let item = json!({
                "get": operation(t, "get", false),
                "put": operation(t, "put", true),
                "patch": operation(t, "patch", true),
                "delete": operation(t, "delete", false),
            });
            paths.insert(format!("{base}/{{name}}"), item.clone());
            if t.has_status {
                paths.insert(format!("{base}/{{name}}/status"), item);
            }
        }
        let mut schema = match &t.schema {
            Some(s) if s.raw.is_object() => s.raw.clone(),
            _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        };
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": t.group, "version": t.version, "kind": t.kind}]);
        schemas.insert(schema_name(t), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
