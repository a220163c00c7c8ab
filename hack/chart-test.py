#!/usr/bin/env python3
"""Chart tests for charts/ramen-hub-operator: render the chart with helm and assert what must hold.

RBAC scope (no cluster-wide Secret access, the exact ClusterRole resources, the release-namespace Role),
the restricted security context, the downward-API namespace, probes and Service ports derived from the
configured addresses, the ConfigMap switch and checksum, and values.schema.json rejections; plus the
tests of hack/rbac-usage.py, the e2e check of the RBAC against the operator's requests, on fixtures.

Usage:
  hack/chart-test.py                    run every test (HELM: helm binary, default `helm`)
  hack/chart-test.py -k NAME            run the tests whose name contains NAME
  hack/chart-test.py without-kinds K..  copy the YAML stream on stdin to stdout without kinds K..

Needs PyYAML. Exits non-zero when a test fails, naming it and why.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "ramen-hub-operator"
FULL_VALUES = CHART / "ci" / "full-values.yaml"
HELM = os.environ.get("HELM", "helm")
NAMESPACE = "ramen-system"
CONFIGMAP = "ramen-hub-operator-config"
CONFIG_KEY = "ramen_manager_config.yaml"
BACKUP_LABEL = "cluster.open-cluster-management.io/backup"
RAMEN_GROUP = "ramendr.openshift.io"

# What the operator's ClusterRole may hold: cluster-scoped Ramen resources, cross-namespace reads and the
# reviews of the authenticated metrics endpoint, nothing else. Kept in step with the operator's requests
# by hack/rbac-usage.py in `make e2e-local`.
CLUSTER_RULES = {
    ("ramendr.openshift.io", "drpolicies"): {"list", "watch", "patch"},
    ("ramendr.openshift.io", "drpolicies/status"): {"patch"},
    ("ramendr.openshift.io", "drclusters"): {"list", "watch"},
    ("ramendr.openshift.io", "drplacementcontrols"): {"list", "watch"},
    # Peer classes: OCM's ManagedClusters (read) and our ManagedClusterViews in the cluster namespaces.
    ("cluster.open-cluster-management.io", "managedclusters"): {"list", "watch"},
    ("view.open-cluster-management.io", "managedclusterviews"): {
        "get", "list", "watch", "create", "update", "delete",
    },
    # The Ramen ops namespace of the config.
    ("", "namespaces"): {"get", "create"},
    # The authenticated /metrics endpoint.
    ("authentication.k8s.io", "tokenreviews"): {"create"},
    ("authorization.k8s.io", "subjectaccessreviews"): {"create"},
}
OCM_RESOURCES = {
    ("policy.open-cluster-management.io", "policies"),
    ("policy.open-cluster-management.io", "placementbindings"),
    ("apps.open-cluster-management.io", "placementrules"),
}
# Keys of a RamenConfig (crates/ramen-config/src/types.rs) the chart may render at the top level.
RAMEN_CONFIG_KEYS = {
    "apiVersion", "kind", "syncPeriod", "leaderElection", "cacheNamespace", "gracefulShutDown",
    "controller", "metrics", "health", "webhook", "ramenControllerType", "s3StoreProfiles",
    "maxConcurrentReconciles", "drClusterOperator", "volSync", "kubeObjectProtection",
    "multiNamespace", "volumeUnprotectionEnabled", "ramenOpsNamespace",
    "retainNamespaceSCCAcrossPeers",
}


class HelmFailed(Exception):
    """helm exited non-zero."""


def helm(*args):
    result = subprocess.run([HELM, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HelmFailed(f"helm {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout


def render(*args, namespace=NAMESPACE, release="hub"):
    """Renders the chart and returns its objects."""
    out = helm("template", release, str(CHART), "--namespace", namespace, *args)
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_error(*args):
    """Renders the chart expecting a failure and returns helm's error text."""
    try:
        render(*args)
    except HelmFailed as error:
        return str(error)
    raise AssertionError(f"helm template {' '.join(args)} succeeded; it should have failed")


def objects(docs, kind, namespace=None):
    return [
        d for d in docs
        if d["kind"] == kind and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(docs, kind, namespace=None):
    found = objects(docs, kind, namespace)
    assert len(found) == 1, f"expected one {kind} (namespace {namespace}), found {len(found)}"
    return found[0]


def operator_clusterrole(docs, release="hub"):
    """The operator's ClusterRole (the chart also renders `<fullname>-metrics-reader`)."""
    name = f"{release}-ramen-hub-operator"
    found = [d for d in objects(docs, "ClusterRole") if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected ClusterRole {name}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def rule_map(rules):
    """{(apiGroup, resource): (verbs, resourceNames)} merged over rules; resourceNames None = all."""
    merged = {}
    for rule in rules:
        names = tuple(rule.get("resourceNames") or ()) or None
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                merged.setdefault((group, resource), []).append((set(rule["verbs"]), names))
    return merged


def container(docs):
    deployment = one(docs, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"expected one container, found {len(containers)}"
    return deployment, containers[0]


def env_of(ctr):
    return {e["name"]: e for e in ctr.get("env", [])}


def ramen_config(docs):
    configmap = one(docs, "ConfigMap")
    return yaml.safe_load(configmap["data"][CONFIG_KEY])


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# --------------------------------------------------------------------------------------------------
# RBAC scope


def test_no_clusterrole_grants_secrets_or_wildcards():
    for values in ([], ["-f", str(FULL_VALUES)]):
        docs = render(*values)
        for role in objects(docs, "ClusterRole"):
            for rule in role["rules"]:
                assert "secrets" not in rule.get("resources", []), f"ClusterRole grants secrets: {rule}"
        for role in objects(docs, "ClusterRole") + objects(docs, "Role"):
            for rule in role["rules"]:
                for field in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule.get(field, []), f"{role['metadata']['name']}: wildcard {rule}"


def test_clusterrole_holds_exactly_the_cluster_scoped_rules():
    docs = render()
    role = operator_clusterrole(docs)
    merged = rule_map(role["rules"])
    assert set(merged) == set(CLUSTER_RULES), f"ClusterRole resources {sorted(merged)}"
    for key, grants in merged.items():
        verbs = set().union(*(v for v, _ in grants))
        assert verbs == CLUSTER_RULES[key], f"ClusterRole {key}: verbs {sorted(verbs)}"
        assert all(names is None for _, names in grants)


def test_role_in_release_namespace_holds_the_namespaced_rules():
    for namespace in (NAMESPACE, "dr-hub"):
        docs = render(namespace=namespace)
        role = one(docs, "Role", namespace)
        merged = rule_map(role["rules"])

        secrets = merged.pop(("", "secrets"))
        assert secrets == [({"list", "watch", "patch"}, None)], f"secrets rule {secrets}"

        configmaps = merged.pop(("", "configmaps"))
        assert configmaps == [({"get", "list", "watch", "patch"}, (CONFIGMAP,))], (
            f"configmaps rule must be limited to {CONFIGMAP}: {configmaps}"
        )
        for key in OCM_RESOURCES:
            grants = merged.pop(key)
            assert grants == [({"list", "watch", "create", "patch", "delete"}, None)], f"{key}: {grants}"
        leases = merged.pop(("coordination.k8s.io", "leases"))
        assert ({"create"}, None) in leases, f"leases: {leases}"
        assert ({"get", "update"}, ("hub.ramendr.openshift.io",)) in leases, f"leases: {leases}"
        assert len(leases) == 2, f"leases: {leases}"
        # Events live in the -events Role only (the operator records Events about DRPolicies only).
        assert not merged, f"unexpected Role rules: {sorted(merged)}"


def test_secrets_are_granted_in_the_release_namespace_only():
    docs = render("-f", str(FULL_VALUES))
    holders = [
        (r["kind"], r["metadata"].get("namespace"))
        for r in objects(docs, "Role") + objects(docs, "ClusterRole")
        if ("", "secrets") in rule_map(r["rules"])
    ]
    assert holders == [("Role", NAMESPACE)], f"secrets granted by {holders}"


def test_cluster_scoped_events_role_grants_events_only():
    docs = render()
    role = one(docs, "Role", "default")
    assert rule_map(role["rules"]) == {("events.k8s.io", "events"): [({"create", "patch"}, None)]}
    binding = one(docs, "RoleBinding", "default")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    docs = render("--set", "rbac.clusterScopedEventsNamespace=")
    assert not objects(docs, "Role", "default"), "events Role rendered although disabled"
    assert all(("events.k8s.io", "events") not in rule_map(r["rules"]) for r in objects(docs, "Role"))
    # Released into that namespace: still the -events Role, the main Role never grants Events.
    docs = render(namespace="default")
    roles = {r["metadata"]["name"]: rule_map(r["rules"]) for r in objects(docs, "Role", "default")}
    assert set(roles) == {"hub-ramen-hub-operator", "hub-ramen-hub-operator-events"}, sorted(roles)
    assert ("events.k8s.io", "events") not in roles["hub-ramen-hub-operator"]
    assert roles["hub-ramen-hub-operator-events"] == {
        ("events.k8s.io", "events"): [({"create", "patch"}, None)]
    }
    assert len(objects(docs, "RoleBinding")) == 2


def test_metrics_reader_clusterrole_grants_get_metrics_and_is_bound_to_nobody():
    docs = render()
    readers = [d for d in objects(docs, "ClusterRole") if d["metadata"]["name"].endswith("-metrics-reader")]
    assert [r["metadata"]["name"] for r in readers] == ["hub-ramen-hub-operator-metrics-reader"]
    assert readers[0]["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}], readers[0]["rules"]
    bound = {b["roleRef"]["name"] for b in objects(docs, "ClusterRoleBinding") + objects(docs, "RoleBinding")}
    assert "hub-ramen-hub-operator-metrics-reader" not in bound, "the chart binds the metrics reader"
    assert not [d for d in render("--set", "rbac.create=false") if d["kind"] == "ClusterRole"]


def test_bindings_bind_the_service_account_of_the_release_namespace():
    for values, account in (([], "hub-ramen-hub-operator"), (["-f", str(FULL_VALUES)], "ramen-hub")):
        docs = render(*values)
        assert one(docs, "ServiceAccount")["metadata"]["name"] == account
        deployment, _ = container(docs)
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account
        bindings = objects(docs, "ClusterRoleBinding") + objects(docs, "RoleBinding")
        assert len(bindings) == 3, f"bindings: {[b['metadata']['name'] for b in bindings]}"
        roles = {(r["kind"], r["metadata"]["name"]) for r in objects(docs, "ClusterRole") + objects(docs, "Role")}
        for binding in bindings:
            assert binding["subjects"] == [
                {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
            ], f"{binding['metadata']['name']}: {binding['subjects']}"
            assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) in roles


def test_lease_rule_follows_leader_election_values():
    docs = render("--set", "config.leaderElection.resourceName=custom-lease")
    leases = rule_map(one(docs, "Role", NAMESPACE)["rules"])[("coordination.k8s.io", "leases")]
    assert ({"get", "update"}, ("custom-lease",)) in leases, leases
    docs = render("--set", "config.leaderElection.leaderElect=false")
    assert ("coordination.k8s.io", "leases") not in rule_map(one(docs, "Role", NAMESPACE)["rules"])


def test_rbac_can_be_left_out():
    docs = render("--set", "rbac.create=false")
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        assert not objects(docs, kind), f"{kind} rendered with rbac.create=false"


# --------------------------------------------------------------------------------------------------
# hack/rbac-usage.py: the e2e check of the RBAC against the operator's requests


def rbac_usage():
    spec = importlib.util.spec_from_file_location("rbac_usage", ROOT / "hack" / "rbac-usage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def usage_fixture(cluster_verbs):
    """A ServiceAccount bound to a ClusterRole on drpolicies (`cluster_verbs`) and to a Role on one
    ConfigMap of namespace ops."""
    account = {"kind": "ServiceAccount", "name": "op", "namespace": "ops"}
    return [
        {"kind": "ServiceAccount", "metadata": {"name": "op", "namespace": "ops"}},
        {"kind": "ClusterRole", "metadata": {"name": "op"}, "rules": [
            {"apiGroups": [RAMEN_GROUP], "resources": ["drpolicies"], "verbs": list(cluster_verbs)},
        ]},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "op"}, "subjects": [account],
         "roleRef": {"kind": "ClusterRole", "name": "op"}},
        {"kind": "Role", "metadata": {"name": "op", "namespace": "ops"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"],
             "verbs": ["get", "watch"]},
            {"apiGroups": ["apps.open-cluster-management.io"], "resources": ["placementrules"],
             "verbs": ["create", "patch"]},
        ]},
        {"kind": "RoleBinding", "metadata": {"name": "op", "namespace": "ops"}, "subjects": [account],
         "roleRef": {"kind": "Role", "name": "op"}},
    ]


def usage_request(verb, resource, namespace="", name="", group=None, query="", status=200):
    group = RAMEN_GROUP if group is None else group
    return {"verb": verb, "group": group, "resource": resource, "subresource": "",
            "namespace": namespace, "name": name, "query": query, "status": status,
            "path": f"/{resource}", "user_agent": "op"}


USAGE_REQUESTS = [
    usage_request("list", "drpolicies"),
    usage_request("watch", "drpolicies", query="watch=true&resourceVersion=1"),
    usage_request("patch", "drpolicies", name="p1"),
    usage_request("get", "configmaps", "ops", "cfg", group=""),
    usage_request("watch", "configmaps", "ops", group="", query="fieldSelector=metadata.name%3Dcfg&watch=true"),
    # A server-side apply that created its object needs create as well as patch.
    usage_request("patch", "placementrules", "ops", "r1", group="apps.open-cluster-management.io",
                  status=201),
]


def usage_check(cluster_verbs, requests=None, allowed=None):
    module = rbac_usage()
    docs = usage_fixture(cluster_verbs)
    bound = module.bound_roles(docs, "ops", "op")
    needed, _ = module.required(USAGE_REQUESTS if requests is None else requests)
    return module.check(needed, bound, {} if allowed is None else allowed)


def test_rbac_usage_passes_when_the_grants_are_exactly_the_requests():
    missing, unused, used_anyway = usage_check({"list", "watch", "patch"})
    assert (missing, unused, used_anyway) == ([], [], []), (missing, unused)


def test_rbac_usage_fails_when_the_clusterrole_lacks_a_used_verb():
    missing, unused, _ = usage_check({"list", "watch"})
    assert [str(p) for p in missing] == [f"patch drpolicies p1 (group '{RAMEN_GROUP}') cluster-wide"], missing
    assert not unused


def test_rbac_usage_fails_when_the_clusterrole_grants_an_unused_verb():
    missing, unused, _ = usage_check({"list", "watch", "patch", "delete"})
    assert not missing
    assert unused == [("ClusterRole op", RAMEN_GROUP, "drpolicies", "delete", ())], unused
    # An allow-listed grant may go unused; when it is used anyway it is reported.
    missing, unused, used_anyway = usage_check(
        {"list", "watch", "patch", "delete"}, allowed={(RAMEN_GROUP, "drpolicies", "delete"): "why",
                                                       (RAMEN_GROUP, "drpolicies", "list"): "why"})
    assert (missing, unused) == ([], []), (missing, unused)
    assert used_anyway == [("ClusterRole op", RAMEN_GROUP, "drpolicies", "list", ())], used_anyway


def test_rbac_usage_scopes_roles_names_and_apply_creates():
    module = rbac_usage()
    # A namespaced request elsewhere is not covered by the Role of ops.
    missing, _, _ = usage_check({"list", "watch", "patch"}, USAGE_REQUESTS + [
        usage_request("get", "configmaps", "other", "cfg", group="")])
    assert [(p.verb, p.namespace) for p in missing] == [("get", "other")], missing
    # Another ConfigMap, or a watch not restricted to cfg, is outside resourceNames.
    missing, _, _ = usage_check({"list", "watch", "patch"}, USAGE_REQUESTS + [
        usage_request("get", "configmaps", "ops", "else", group=""),
        usage_request("watch", "configmaps", "ops", group="", query="watch=true")])
    assert sorted((p.verb, p.name) for p in missing) == [("get", "else"), ("watch", "")], missing
    # Without the 201 the apply needed no create: the create grant goes unused.
    requests = [dict(r, status=200) for r in USAGE_REQUESTS]
    _, unused, _ = usage_check({"list", "watch", "patch"}, requests)
    assert [(g[2], g[3]) for g in unused] == [("placementrules", "create")], unused
    assert module.field_selector_name("fieldSelector=metadata.name%3Dcfg,metadata.namespace%3Dops") == "cfg"


def test_rbac_usage_allow_list_names_grants_of_the_chart_only():
    module = rbac_usage()
    docs = render()
    account = one(docs, "ServiceAccount")["metadata"]["name"]
    granted = {
        (group, resource, verb)
        for _, _, rules in module.bound_roles(docs, NAMESPACE, account)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }
    stale = sorted(set(module.ALLOWED_UNUSED) - granted)
    assert not stale, f"ALLOWED_UNUSED entries the chart does not grant: {stale}"
    assert all(reason.strip() for reason in module.ALLOWED_UNUSED.values())


# --------------------------------------------------------------------------------------------------
# Deployment


def test_security_context_is_restricted():
    for values in ([], ["-f", str(FULL_VALUES)]):
        docs = render(*values)
        deployment, ctr = container(docs)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        sc = ctr["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc.get("privileged", False) is False
        assert sc["capabilities"] == {"drop": ["ALL"]}, sc["capabilities"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(forbidden), f"{forbidden} set"
        assert "resources" in ctr and ctr["resources"]["limits"]["memory"]


def test_pod_namespace_and_name_come_from_the_downward_api():
    _, ctr = container(render())
    env = env_of(ctr)
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["LOG_FORMAT"]["value"] == "json"
    assert ctr["args"] == ["run"]


def test_probes_and_ports_follow_the_configured_addresses():
    for values in ([], ["-f", str(FULL_VALUES)]):
        docs = render(*values)
        config = ramen_config(docs)
        health = port_of(config["health"]["healthProbeBindAddress"])
        metrics = port_of(config["metrics"]["bindAddress"])
        _, ctr = container(docs)
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        assert ports == {"health": health, "metrics": metrics}, f"{values}: ports {ports}"
        assert ctr["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": health}
        assert ctr["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": health}
        service = one(docs, "Service")
        assert service["spec"]["ports"] == [
            {"name": "metrics", "port": metrics, "targetPort": "metrics", "protocol": "TCP"}
        ], service["spec"]["ports"]
        assert service["spec"]["selector"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    # Defaults: health :8081 (Ramen's), metrics on every interface so the Service reaches it.
    _, ctr = container(render())
    assert ctr["livenessProbe"]["httpGet"]["port"] == 8081


def test_one_port_when_health_and_metrics_share_an_address():
    docs = render("--set", "config.metrics.bindAddress=:8081", "--set", "metricsSecurity.enabled=false")
    _, ctr = container(docs)
    assert ctr["ports"] == [{"name": "metrics", "containerPort": 8081, "protocol": "TCP"}], ctr["ports"]
    assert ctr["readinessProbe"]["httpGet"]["port"] == 8081
    # Secure metrics are HTTPS; the probes stay plain HTTP: one port cannot serve both.
    error = render_error("--set", "config.metrics.bindAddress=:8081")
    assert "give config.metrics.bindAddress a port other than the health probes'" in error, error


def test_metrics_are_secure_by_default_and_the_service_monitor_scrapes_them_with_its_token():
    docs = render("--set", "serviceMonitor.enabled=true")
    _, ctr = container(docs)
    assert env_of(ctr)["METRICS_SECURE"]["value"] == "true"
    assert "METRICS_CERT_DIR" not in env_of(ctr), "self-signed without a certificate Secret"
    assert "volumeMounts" not in ctr
    endpoint = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["scheme"] == "https", endpoint
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}, endpoint

    docs = render(
        "--set", "serviceMonitor.enabled=true",
        "--set", "metricsSecurity.certSecret=metrics-tls",
        "--set", "serviceMonitor.tlsConfig.serverName=hub-metrics.ramen-system.svc",
    )
    deployment, ctr = container(docs)
    assert env_of(ctr)["METRICS_CERT_DIR"]["value"] == "/etc/ramen-hub-operator/metrics-tls"
    assert ctr["volumeMounts"] == [
        {"name": "metrics-tls", "mountPath": "/etc/ramen-hub-operator/metrics-tls", "readOnly": True}
    ], ctr["volumeMounts"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "metrics-tls", "secret": {"secretName": "metrics-tls"}}], volumes
    endpoint = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["tlsConfig"] == {"serverName": "hub-metrics.ramen-system.svc"}, endpoint

    docs = render("--set", "serviceMonitor.enabled=true", "--set", "metricsSecurity.enabled=false")
    _, ctr = container(docs)
    assert "METRICS_SECURE" not in env_of(ctr)
    endpoint = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["scheme"] == "http" and "bearerTokenFile" not in endpoint, endpoint


def test_replicas_and_scheduling_values_apply():
    docs = render("-f", str(FULL_VALUES))
    deployment, ctr = container(docs)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["tolerations"][0]["key"] == "node-role.kubernetes.io/control-plane"
    assert "podAntiAffinity" in pod["affinity"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert ctr["image"] == "quay.io/example/ramen-hub-operator:0.1.0-ci"
    assert ctr["imagePullPolicy"] == "Always"
    assert env_of(ctr)["MAX_CONCURRENT_RECONCILES"]["value"] == "4"
    assert env_of(ctr)["LOG_FORMAT"]["value"] == "text"
    assert deployment["spec"]["template"]["metadata"]["annotations"]["example.com/scrape"] == "false"
    assert container(render())[0]["spec"]["replicas"] == 1


def test_image_tag_defaults_to_app_version():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    _, ctr = container(render())
    assert ctr["image"] == f"ramen-hub-operator:{chart['appVersion']}"


def test_optional_objects_are_off_by_default_and_render_when_enabled():
    docs = render()
    assert not objects(docs, "ServiceMonitor") and not objects(docs, "PodDisruptionBudget")
    docs = render("-f", str(FULL_VALUES))
    monitor = one(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"] == {
        "minAvailable": 1,
        "selector": one(docs, "Deployment")["spec"]["selector"],
    }, pdb["spec"]
    assert not objects(render("--set", "metricsService.enabled=false"), "Service")


def test_namespaced_objects_live_in_the_release_namespace():
    for namespace in (NAMESPACE, "dr-hub"):
        docs = render("-f", str(FULL_VALUES), namespace=namespace)
        for doc in docs:
            if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                assert "namespace" not in doc["metadata"]
                continue
            expected = "default" if doc["metadata"]["name"].endswith("-events") else namespace
            assert doc["metadata"].get("namespace") == expected, (
                f"{doc['kind']}/{doc['metadata']['name']} in {doc['metadata'].get('namespace')}"
            )


def test_common_labels_are_on_every_object():
    docs = render("-f", str(FULL_VALUES))
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                    "app.kubernetes.io/version", "helm.sh/chart"):
            assert key in labels, f"{doc['kind']}/{doc['metadata']['name']} lacks {key}"


# --------------------------------------------------------------------------------------------------
# ConfigMap


def test_configmap_is_rendered_in_the_seed_structure():
    docs = render()
    configmap = one(docs, "ConfigMap")
    assert configmap["metadata"]["name"] == CONFIGMAP
    assert configmap["metadata"]["namespace"] == NAMESPACE
    assert configmap["metadata"]["labels"][BACKUP_LABEL] == "ramen"
    config = ramen_config(docs)
    assert set(config) <= RAMEN_CONFIG_KEYS, f"unknown RamenConfig keys {set(config) - RAMEN_CONFIG_KEYS}"
    assert config["kind"] == "RamenConfig" and config["ramenControllerType"] == "dr-hub"
    assert config["health"] == {"healthProbeBindAddress": ":8081"}
    assert config["metrics"] == {"bindAddress": ":9289"}
    assert config["leaderElection"] == {"leaderElect": True, "resourceName": "hub.ramendr.openshift.io"}
    assert config["maxConcurrentReconciles"] == 50
    assert config["s3StoreProfiles"] == []
    dco = config["drClusterOperator"]
    assert dco["deploymentAutomationEnabled"] is True and dco["s3SecretDistributionEnabled"] is True
    assert dco["namespaceName"] == NAMESPACE and dco["catalogSourceNamespaceName"] == NAMESPACE


def test_configmap_carries_the_profiles_and_extra_keys():
    docs = render("-f", str(FULL_VALUES))
    configmap = one(docs, "ConfigMap")
    assert configmap["metadata"]["labels"][BACKUP_LABEL] == "resource", "a given backup label value wins"
    config = ramen_config(docs)
    assert set(config) <= RAMEN_CONFIG_KEYS
    profiles = {p["s3ProfileName"]: p for p in config["s3StoreProfiles"]}
    assert profiles["minio-on-dr1"]["s3SecretRef"]["name"] == "ramen-s3-secret-dr1"
    assert profiles["minio-on-dr2"]["s3Region"] == "us-east-1"
    assert config["kubeObjectProtection"] == {"veleroNamespaceName": "velero"}
    assert config["maxConcurrentReconciles"] == 8
    assert config["drClusterOperator"]["catalogSourceNamespaceName"] == "openshift-marketplace"


def test_configmap_switch_leaves_the_configmap_out_and_pins_addresses():
    docs = render("--set", "config.create=false")
    assert not objects(docs, "ConfigMap"), "ConfigMap rendered with config.create=false"
    deployment, ctr = container(docs)
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert "checksum/config" not in annotations
    env = env_of(ctr)
    assert env["HEALTH_PROBE_BIND_ADDRESS"]["value"] == ":8081"
    assert env["METRICS_BIND_ADDRESS"]["value"] == ":9289"
    assert env["LEADER_ELECTION_ID"]["value"] == "hub.ramendr.openshift.io"
    # Created by the chart, the ConfigMap is the one place for these settings: no env duplicates them.
    _, ctr = container(render())
    assert not {"HEALTH_PROBE_BIND_ADDRESS", "METRICS_BIND_ADDRESS", "LEADER_ELECTION_ID"} & set(env_of(ctr))


def test_config_checksum_changes_with_the_config_only():
    def checksum(*args):
        deployment, _ = container(render(*args))
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    base = checksum()
    assert re.fullmatch(r"[0-9a-f]{64}", base), base
    assert checksum("--set", "config.maxConcurrentReconciles=3") != base
    assert checksum("--set", "replicas=1", "--set", "resources.limits.memory=512Mi") == base


# --------------------------------------------------------------------------------------------------
# Rejected values


def test_schema_rejects_invalid_values():
    cases = [
        (["--set", "replicas=-1"], "replicas"),
        (["--set", "replicas=two"], "replicas"),
        (["--set", "logFormat=xml"], "logFormat"),
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "config.health.healthProbeBindAddress=localhost:8081"], "healthProbeBindAddress"),
        (["--set", "config.maxConcurrentReconciles=0"], "maxConcurrentReconciles"),
        (["--set", "config.leaderElection.leaderElect=yes"], "leaderElect"),
        (["--set", "unknownKey=1"], "unknownKey"),
        (["--set", "config.s3StoreProfiles[0].s3Bucket=b"], "s3ProfileName"),
    ]
    for args, mentions in cases:
        error = render_error(*args)
        assert "values don't meet the specifications of the schema" in error, f"{args}: {error}"
        assert mentions in error, f"{args}: error does not name {mentions}: {error}"


def test_templates_reject_inconsistent_values():
    cases = [
        (["--set", "config.metrics.bindAddress=127.0.0.1:9289"], "loopback only"),
        (["--set", "config.health.healthProbeBindAddress=127.0.0.1:8081"], "kubelet cannot probe"),
        (["--set", "replicas=2", "--set", "config.leaderElection.leaderElect=false"], "leaderElect=true"),
        (["--set", "serviceMonitor.enabled=true", "--set", "metricsService.enabled=false"], "metricsService"),
        (["--set", "config.metrics.bindAddress=:70000"], "outside 1-65535"),
        (["--set", "podDisruptionBudget.enabled=true", "--set", "podDisruptionBudget.minAvailable=1"],
         "not both"),
        (["--set-string", "config.metrics.bindAddress=0"], "disables metrics"),
    ]
    for args, mentions in cases:
        error = render_error(*args)
        assert mentions in error, f"{args}: error does not say {mentions!r}: {error}"
    # Loopback metrics are fine without the Service (metrics then stay inside the pod).
    render("--set", "config.metrics.bindAddress=127.0.0.1:9289", "--set", "metricsService.enabled=false")


def test_metrics_bind_address_zero_disables_metrics():
    docs = render("--set-string", "config.metrics.bindAddress=0", "--set", "metricsService.enabled=false")
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert [p["name"] for p in container["ports"]] == ["health"], container["ports"]
    assert not any(d and d["kind"] == "Service" for d in docs)
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    config = yaml.safe_load(configmap["data"]["ramen_manager_config.yaml"])
    assert config["metrics"]["bindAddress"] == "0", config["metrics"]


# --------------------------------------------------------------------------------------------------
# Documentation


def render_notes(*args):
    """NOTES.txt as `helm install` prints it. helm template leaves NOTES out, so a copy of the chart
    renders it into a ConfigMap with `tpl`."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / CHART.name
        shutil.copytree(CHART, chart)
        shutil.copy(chart / "templates" / "NOTES.txt", chart / "notes-under-test.txt")
        (chart / "templates" / "zz-notes-under-test.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n"
            "  notes: {{ tpl (.Files.Get \"notes-under-test.txt\") . | toJson }}\n"
        )
        out = helm("template", "hub", str(chart), "--namespace", NAMESPACE,
                   "--show-only", "templates/zz-notes-under-test.yaml", *args)
    return yaml.safe_load(out)["data"]["notes"]


def test_notes_render_for_each_mode():
    notes = render_notes()
    assert "kubectl -n ramen-system rollout status deployment/hub-ramen-hub-operator" in notes, notes
    assert "port-forward service/hub-ramen-hub-operator-metrics 9289" in notes, notes
    assert "No S3 store profile is configured" in notes, notes
    notes = render_notes("--set", "config.create=false", "--set", "metricsService.enabled=false")
    assert "the chart does not manage ConfigMap" in notes and "port-forward" not in notes, notes
    notes = render_notes("-f", str(FULL_VALUES))
    assert "No S3 store profile" not in notes and "9441" in notes, notes


def leaf_keys(tree, prefix=""):
    """Dotted paths of values.yaml: maps recurse, except empty ones and free-form maps (leaves)."""
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        free_form = path in {"podSecurityContext", "securityContext", "resources", "config.extra"}
        if isinstance(value, dict) and value and not free_form:
            keys |= leaf_keys(value, path + ".")
        else:
            keys.add(path)
    return keys


def test_readme_documents_every_value():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    documented = set(re.findall(r"^\| `([^`]+)` \|", (CHART / "README.md").read_text(), re.MULTILINE))
    keys = leaf_keys(values)
    assert not keys - documented, f"values missing from README.md's table: {sorted(keys - documented)}"
    assert not documented - keys, f"README.md documents unknown values: {sorted(documented - keys)}"
    check = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "chart-readme.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert check.returncode == 0, check.stderr.strip()


# --------------------------------------------------------------------------------------------------


def without_kinds(kinds):
    """Filters a YAML stream (stdin → stdout), dropping documents of the given kinds."""
    kept = [doc for doc in yaml.safe_load_all(sys.stdin) if doc and doc.get("kind") not in kinds]
    yaml.safe_dump_all(kept, sys.stdout, sort_keys=False)
    return 0


def main(argv):
    if argv[:1] == ["without-kinds"]:
        return without_kinds(set(argv[1:]))
    selected = argv[1] if argv[:1] == ["-k"] and len(argv) > 1 else ""
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_") and callable(fn)]
    tests = [(name, fn) for name, fn in tests if selected in name]
    failed = []
    for name, fn in tests:
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - every failure is reported, then the run goes on
            failed.append(name)
            detail = str(error) if isinstance(error, (AssertionError, HelmFailed)) and str(error) else (
                traceback.format_exc()
            )
            print(f"FAIL {name}: {detail}")
        else:
            print(f"ok   {name}")
    print(f"chart-test: {len(tests) - len(failed)} passed, {len(failed)} failed")
    if not tests:
        print(f"no test matches {selected!r}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
