#!/usr/bin/env python3
"""The chart's RBAC against what the operator really asks for.

`make e2e-local` runs the operator through test-apiserver's agent proxy (every request it makes carries
one User-Agent) and writes the server's request log as JSON lines (`test-apiserver --request-log`).
This script turns the operator's requests into the RBAC permissions they need — the one place where
that derivation lives, `required()` — renders the chart with helm, and checks both ways:

  (i)  every permission the operator used is granted by a Role or ClusterRole bound to its
       ServiceAccount, in the right scope (a namespaced request: a Role of that namespace or a bound
       ClusterRole; a cluster-scoped or all-namespaces request: a bound ClusterRole);
  (ii) every verb of every rule bound to the ServiceAccount was used at least once, except the entries
       of ALLOWED_UNUSED, each with the reason the e2e run does not exercise it.

Usage:
  hack/rbac-usage.py --requests FILE --user-agent AGENT [--namespace NS] [--rendered FILE]
    --rendered: a `helm template` output to check instead of rendering the chart (HELM: helm binary).

Exits non-zero naming every permission that is missing and every grant that went unused.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "ramen-hub-operator"
RELEASE = "ramen-hub-operator"

# Grants the e2e run is not expected to use, keyed (apiGroup, resource, verb), each with its reason.
# An entry here may be used (it is then reported, so that a stale entry is noticed) but need not be.
ALLOWED_UNUSED = {
    ("authentication.k8s.io", "tokenreviews", "create"):
        "the authenticated /metrics endpoint reviews the scraper's token; e2e-local scrapes over loopback "
        "without authentication",
    ("authorization.k8s.io", "subjectaccessreviews", "create"):
        "the authenticated /metrics endpoint asks whether the scraper may get /metrics; not exercised by "
        "e2e-local",
    ("", "namespaces", "get"):
        "the config's ramenOpsNamespace is checked once; the e2e suite's configs name none",
    ("", "namespaces", "create"):
        "the ops namespace is created only when missing; the e2e suite's configs name none",
    ("events.k8s.io", "events", "patch"):
        "kube-rs' Recorder patches an Event only when the same event repeats within its cache TTL (5 min): "
        "whether the suite repeats one in time depends on timing",
    ("view.open-cluster-management.io", "managedclusterviews", "update"):
        "a view is updated only when its spec or labels drifted, or to adopt one an older Ramen made",
    ("view.open-cluster-management.io", "managedclusterviews", "get"):
        "a view is read directly only to adopt one an older Ramen made without our label",
}

# Non-resource paths every authenticated user may get (the default ClusterRoles system:discovery and
# system:public-info-viewer, bound to system:authenticated): API discovery, OpenAPI, version, health.
DEFAULT_NON_RESOURCE = re.compile(
    r"^/(api|apis)(/[^/]+){0,2}/?$|^/openapi/.*$|^/version/?$|^/(healthz|livez|readyz)(/.*)?$"
)


class Permission(tuple):
    """(group, resource[/subresource], verb, namespace or "", name or "")."""

    __slots__ = ()

    def __new__(cls, group, resource, verb, namespace="", name=""):
        return super().__new__(cls, (group, resource, verb, namespace, name))

    group = property(lambda self: self[0])
    resource = property(lambda self: self[1])
    verb = property(lambda self: self[2])
    namespace = property(lambda self: self[3])
    name = property(lambda self: self[4])

    def __str__(self):
        scope = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.resource}{named} (group {self.group!r}) {scope}"


def load_requests(path, user_agent):
    """The logged requests of one User-Agent."""
    with open(path, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [r for r in records if r.get("user_agent") == user_agent]


def field_selector_name(query):
    """The object name a list or watch is restricted to by `fieldSelector=metadata.name=X` (the API
    server authorizes such a request as one on that name, so `resourceNames` covers it)."""
    for selector in parse_qs(query or "").get("fieldSelector", []):
        for term in selector.split(","):
            key, _, value = term.partition("=")
            if key.strip() == "metadata.name" and value and not value.startswith("="):
                return value.strip()
    return ""


def required(records):
    """The permissions a list of logged requests needs: {Permission: count}, and the non-resource paths.

    - the verb is the request's (get, list, watch, create, update, patch, delete, deletecollection);
    - a subresource is `resource/subresource`;
    - a list or watch with a `metadata.name` field selector is a request on that name;
    - a create names no object (RBAC cannot restrict create by name);
    - a patch that created its object (server-side apply answered 201) is also a create.
    """
    needed = {}
    non_resource = set()

    def need(permission):
        needed[permission] = needed.get(permission, 0) + 1

    for r in records:
        if not r.get("resource"):
            non_resource.add(r.get("path", ""))
            continue
        resource = r["resource"] + (f"/{r['subresource']}" if r.get("subresource") else "")
        verb = r["verb"]
        name = r.get("name", "")
        if verb in ("list", "watch"):
            name = field_selector_name(r.get("query"))
        if verb == "create":
            name = ""
        need(Permission(r.get("group", ""), resource, verb, r.get("namespace", ""), name))
        if verb == "patch" and r.get("status") == 201:
            need(Permission(r.get("group", ""), resource, "create", r.get("namespace", ""), ""))
    return needed, non_resource


def bound_roles(docs, namespace, account):
    """[(role description, scope namespace or None for cluster-wide, rules)] of the roles the chart binds
    to ServiceAccount `namespace/account`."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs
             if d["kind"] in ("Role", "ClusterRole")}
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    bound = []
    for binding in docs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if subject not in binding.get("subjects", []):
            continue
        ref = binding["roleRef"]
        scope = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role_namespace = scope if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_namespace, ref["name"]))
        if role is None:
            raise ValueError(f"{binding['kind']} {binding['metadata']['name']} binds a missing {ref}")
        label = f"{ref['kind']} {ref['name']}" + (f" (in {scope})" if scope else "")
        bound.append((label, scope, role.get("rules", [])))
    return bound


def rule_allows(rule, permission):
    def has(field, value):
        return value in rule.get(field, []) or "*" in rule.get(field, [])

    if not (has("apiGroups", permission.group) and has("resources", permission.resource)
            and has("verbs", permission.verb)):
        return False
    names = rule.get("resourceNames") or []
    return not names or permission.name in names


def in_scope(scope, permission):
    """A role bound in namespace `scope` covers requests in that namespace; a cluster-wide one covers
    all."""
    return scope is None or (permission.namespace and permission.namespace == scope)


def check(needed, bound, allowed_unused=None):
    """(missing permissions, unused grants, allow-listed grants that were used).

    A grant is (role label, apiGroup, resource, verb, resourceNames); it is used when a needed permission
    in the role's scope matches it."""
    allowed_unused = ALLOWED_UNUSED if allowed_unused is None else allowed_unused
    missing = [p for p in sorted(needed) if not any(
        in_scope(scope, p) and rule_allows(rule, p) for _, scope, rules in bound for rule in rules)]
    unused, used_anyway = [], []
    for label, scope, rules in bound:
        for rule in rules:
            if "nonResourceURLs" in rule:
                continue
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        single = {**rule, "apiGroups": [group], "resources": [resource], "verbs": [verb]}
                        used = any(in_scope(scope, p) and rule_allows(single, p) for p in needed)
                        grant = (label, group, resource, verb, tuple(rule.get("resourceNames") or ()))
                        if (group, resource, verb) in allowed_unused:
                            if used:
                                used_anyway.append(grant)
                        elif not used:
                            unused.append(grant)
    return missing, unused, used_anyway


def render_chart(namespace):
    helm = os.environ.get("HELM", "helm")
    out = subprocess.run(
        [helm, "template", RELEASE, str(CHART), "--namespace", namespace],
        capture_output=True, text=True, check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def service_account(docs):
    accounts = [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"]
    if len(accounts) != 1:
        raise ValueError(f"expected one ServiceAccount in the chart, found {accounts}")
    return accounts[0]


def format_grant(grant):
    label, group, resource, verb, names = grant
    named = f" {list(names)}" if names else ""
    return f"{label}: {verb} {resource}{named} (group {group!r})"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", required=True, help="JSON lines of test-apiserver --request-log")
    parser.add_argument("--user-agent", required=True, help="the operator's User-Agent in that log")
    parser.add_argument("--namespace", default="ramen-system", help="the operator (release) namespace")
    parser.add_argument("--rendered", help="helm template output to check instead of rendering")
    args = parser.parse_args(argv)

    records = load_requests(args.requests, args.user_agent)
    if not records:
        print(f"rbac-usage: no request with User-Agent {args.user_agent!r} in {args.requests}",
              file=sys.stderr)
        return 1
    if args.rendered:
        docs = [d for d in yaml.safe_load_all(Path(args.rendered).read_text()) if d]
    else:
        docs = render_chart(args.namespace)
    bound = bound_roles(docs, args.namespace, service_account(docs))
    needed, non_resource = required(records)
    missing, unused, used_anyway = check(needed, bound)
    unknown_paths = sorted(p for p in non_resource if not DEFAULT_NON_RESOURCE.match(p))

    print(f"rbac-usage: {len(records)} operator requests, {len(needed)} distinct permissions:")
    for permission in sorted(needed):
        print(f"  {needed[permission]:6d}  {permission}")
    for grant in used_anyway:
        print(f"rbac-usage: note: allow-listed as unused but used: {format_grant(grant)}")
    failed = False
    for permission in missing:
        print(f"rbac-usage: NOT GRANTED by the chart: {permission}", file=sys.stderr)
        failed = True
    for path in unknown_paths:
        print(f"rbac-usage: non-resource path outside the default discovery roles: {path}", file=sys.stderr)
        failed = True
    for grant in unused:
        print(f"rbac-usage: granted but never used (drop it, or add it to ALLOWED_UNUSED with a reason): "
              f"{format_grant(grant)}", file=sys.stderr)
        failed = True
    if failed:
        return 1
    print("rbac-usage: every request is granted and every grant was used (or is allow-listed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
