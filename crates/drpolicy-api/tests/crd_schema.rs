//! The CRDs the chart installs carry every validation of Ramen's CRDs, and match what the types generate.

use drpolicy_api::crd;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const DRPOLICIES: &str =
    include_str!("../../../charts/ramen-hub-operator/crds/ramendr.openshift.io_drpolicies.yaml");
const DRCLUSTERS: &str =
    include_str!("../../../charts/ramen-hub-operator/crds/ramendr.openshift.io_drclusters.yaml");
const DRPCS: &str = include_str!(
    "../../../charts/ramen-hub-operator/crds/ramendr.openshift.io_drplacementcontrols.yaml"
);

/// Numbers compare by value whatever their JSON representation (`0` in YAML, `0.0` from k8s-openapi).
fn canonical(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                *value = json!(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical),
        Value::Object(map) => map.values_mut().for_each(canonical),
        _ => {}
    }
}

fn chart_file(yaml: &str) -> Value {
    let mut value: Value = serde_saphyr::from_str(yaml).expect("chart CRD is valid YAML");
    canonical(&mut value);
    value
}

fn generated(crd: CustomResourceDefinition) -> Value {
    let mut value = serde_json::to_value(crd).unwrap();
    canonical(&mut value);
    value
}

fn schema(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

fn rules(node: &Value) -> Vec<(String, String)> {
    node["x-kubernetes-validations"]
        .as_array()
        .unwrap_or_else(|| panic!("no x-kubernetes-validations in {node}"))
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn rule(rule: &str, message: &str) -> (String, String) {
    (rule.to_owned(), message.to_owned())
}

#[test]
fn chart_crds_are_exactly_what_the_types_generate() {
    assert_eq!(chart_file(DRPOLICIES), generated(crd::drpolicies()));
    assert_eq!(chart_file(DRCLUSTERS), generated(crd::drclusters()));
    assert_eq!(chart_file(DRPCS), generated(crd::drplacementcontrols()));
}

#[test]
fn crd_names_scope_and_subresources_match_ramen() {
    for (yaml, plural, singular, kind, scope) in [
        (DRPOLICIES, "drpolicies", "drpolicy", "DRPolicy", "Cluster"),
        (
            DRCLUSTERS,
            "drclusters",
            "drcluster",
            "DRCluster",
            "Cluster",
        ),
        (
            DRPCS,
            "drplacementcontrols",
            "drplacementcontrol",
            "DRPlacementControl",
            "Namespaced",
        ),
    ] {
        let crd = chart_file(yaml);
        assert_eq!(
            crd["metadata"]["name"],
            format!("{plural}.ramendr.openshift.io")
        );
        assert_eq!(crd["spec"]["group"], "ramendr.openshift.io");
        assert_eq!(crd["spec"]["scope"], scope);
        let names = &crd["spec"]["names"];
        assert_eq!(names["plural"], plural);
        assert_eq!(names["singular"], singular);
        assert_eq!(names["kind"], kind);
        assert_eq!(names["listKind"], format!("{kind}List"));
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["served"], true);
        assert_eq!(version["storage"], true);
        assert_eq!(version["subresources"], json!({"status": {}}));
        for root in ["apiVersion", "kind"] {
            assert_eq!(schema(&crd)["properties"][root], json!({"type": "string"}));
        }
        assert_eq!(
            schema(&crd)["properties"]["metadata"],
            json!({"type": "object"})
        );
        assert!(
            schema(&crd).get("required").is_none(),
            "{kind}: root has no required list"
        );
    }
    assert_eq!(
        chart_file(DRPCS)["spec"]["names"]["shortNames"],
        json!(["drpc"])
    );
    assert!(
        chart_file(DRPOLICIES)["spec"]["names"]
            .get("shortNames")
            .is_none()
    );
}

#[test]
fn no_schema_is_nullable() {
    for yaml in [DRPOLICIES, DRCLUSTERS, DRPCS] {
        assert!(!yaml.contains("nullable"));
    }
}

#[test]
fn drpolicy_spec_carries_ramen_validation() {
    let crd = chart_file(DRPOLICIES);
    let spec = &schema(&crd)["properties"]["spec"];
    assert_eq!(
        spec["required"],
        json!(["drClusters", "schedulingInterval"])
    );
    assert_eq!(
        rules(spec),
        vec![
            rule(
                "has(oldSelf.replicationClassSelector) == has(self.replicationClassSelector)",
                "replicationClassSelector is immutable"
            ),
            rule(
                "has(oldSelf.volumeSnapshotClassSelector) == has(self.volumeSnapshotClassSelector)",
                "volumeSnapshotClassSelector is immutable"
            ),
        ]
    );
    let props = &spec["properties"];

    let clusters = &props["drClusters"];
    assert_eq!(clusters["type"], "array");
    assert_eq!(clusters["items"], json!({"type": "string"}));
    assert_eq!(
        rules(clusters),
        vec![
            rule(
                "size(self) == 2",
                "drClusters requires a list of 2 clusters"
            ),
            rule("self == oldSelf", "drClusters is immutable"),
        ]
    );

    let interval = &props["schedulingInterval"];
    assert_eq!(interval["type"], "string");
    assert_eq!(interval["pattern"], r"^(|\d+[mhd])$");
    assert_eq!(
        rules(interval),
        vec![rule("self == oldSelf", "schedulingInterval is immutable")]
    );

    for selector in ["replicationClassSelector", "volumeSnapshotClassSelector"] {
        let node = &props[selector];
        assert_eq!(node["default"], json!({}), "{selector} defaults to {{}}");
        assert_eq!(node["x-kubernetes-map-type"], "atomic");
        assert_eq!(
            rules(node),
            vec![rule("self == oldSelf", &format!("{selector} is immutable"))]
        );
        assert_label_selector(node);
    }

    let group = &props["volumeGroupSnapshotClassSelector"];
    assert!(group.get("default").is_none());
    assert!(group.get("x-kubernetes-validations").is_none());
    assert_eq!(group["x-kubernetes-map-type"], "atomic");
    assert_label_selector(group);

    assert_eq!(
        props["networkMappingRef"],
        json!({
            "description": props["networkMappingRef"]["description"],
            "type": "object",
            "x-kubernetes-map-type": "atomic",
            "properties": {"name": {
                "type": "string",
                "default": "",
                "description": props["networkMappingRef"]["properties"]["name"]["description"]
            }}
        })
    );
}

fn assert_label_selector(node: &Value) {
    assert_eq!(node["type"], "object");
    let expressions = &node["properties"]["matchExpressions"];
    assert_eq!(expressions["x-kubernetes-list-type"], "atomic");
    assert_eq!(expressions["items"]["required"], json!(["key", "operator"]));
    assert_eq!(
        expressions["items"]["properties"]["values"],
        json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"})
    );
    assert_eq!(
        node["properties"]["matchLabels"],
        json!({"type": "object", "additionalProperties": {"type": "string"}})
    );
}

fn assert_conditions(node: &Value) {
    let item = &node["items"];
    assert_eq!(node["type"], "array");
    assert_eq!(
        item["required"],
        json!(["lastTransitionTime", "message", "reason", "status", "type"])
    );
    let p = &item["properties"];
    assert_eq!(
        p["lastTransitionTime"],
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(p["message"], json!({"type": "string", "maxLength": 32768}));
    assert_eq!(
        p["observedGeneration"],
        json!({"type": "integer", "format": "int64", "minimum": 0})
    );
    assert_eq!(
        p["reason"]["pattern"],
        "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
    );
    assert_eq!(p["reason"]["maxLength"], 1024);
    assert_eq!(p["reason"]["minLength"], 1);
    assert_eq!(p["status"]["enum"], json!(["True", "False", "Unknown"]));
    assert_eq!(p["type"]["maxLength"], 316);
    assert_eq!(
        p["type"]["pattern"],
        r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    );
}

#[test]
fn drpolicy_status_has_conditions_and_head_fields() {
    let crd = chart_file(DRPOLICIES);
    let status = &schema(&crd)["properties"]["status"]["properties"];
    assert_conditions(&status["conditions"]);
    for side in ["async", "sync"] {
        let class = &status[side]["properties"]["peerClasses"]["items"]["properties"];
        for (field, ty) in [
            ("clusterIDs", "array"),
            ("global", "boolean"),
            ("grouping", "boolean"),
            ("groupreplicationID", "string"),
            ("offloaded", "boolean"),
            ("replicationID", "string"),
            ("storageClassName", "string"),
            ("storageID", "array"),
        ] {
            assert_eq!(class[field]["type"], ty, "{side}.peerClasses[].{field}");
        }
    }
    let peer = &status["networkPeers"]["items"];
    assert_eq!(peer["required"], json!(["nadName", "nadNamespace"]));
    assert_eq!(
        peer["properties"]["clusterCNITypes"]["additionalProperties"],
        json!({"type": "string"})
    );
}

#[test]
fn drpolicy_has_validated_and_distributed_printer_columns() {
    let crd = chart_file(DRPOLICIES);
    let columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap();
    let validated = columns.iter().find(|c| c["name"] == "Validated").unwrap();
    assert_eq!(
        validated["jsonPath"],
        r#".status.conditions[?(@.type=="Validated")].status"#
    );
    assert_eq!(validated["type"], "string");
    let distributed = columns.iter().find(|c| c["name"] == "Distributed").unwrap();
    assert_eq!(
        distributed["jsonPath"],
        r#".status.conditions[?(@.type=="SecretsDistributed")].status"#
    );
}

#[test]
fn drcluster_spec_carries_ramen_validation() {
    let crd = chart_file(DRCLUSTERS);
    let spec = &schema(&crd)["properties"]["spec"];
    // Ramen HEAD made region optional; ccc4a73c required it. The superset requires only the profile.
    assert_eq!(spec["required"], json!(["s3ProfileName"]));
    let props = &spec["properties"];
    assert_eq!(
        rules(&props["region"]),
        vec![rule("self == oldSelf", "region is immutable")]
    );
    assert_eq!(
        rules(&props["s3ProfileName"]),
        vec![rule("self == oldSelf", "s3ProfileName is immutable")]
    );
    assert_eq!(
        props["clusterFence"]["enum"],
        json!(["Unfenced", "Fenced", "ManuallyFenced", "ManuallyUnfenced"])
    );
    assert_eq!(props["cidrs"]["items"], json!({"type": "string"}));

    let status = &schema(&crd)["properties"]["status"]["properties"];
    assert_conditions(&status["conditions"]);
    let mode = &status["maintenanceModes"]["items"];
    assert_eq!(
        mode["required"],
        json!(["state", "storageProvisioner", "targetID"])
    );
    assert_eq!(
        mode["properties"]["state"]["enum"],
        json!(["Unknown", "Error", "Progressing", "Completed"])
    );
    assert_conditions(&mode["properties"]["conditions"]);
}

#[test]
fn drpc_spec_types_what_we_read_and_preserves_the_rest() {
    let crd = chart_file(DRPCS);
    let spec = &schema(&crd)["properties"]["spec"];
    assert_eq!(
        spec["required"],
        json!(["drPolicyRef", "placementRef", "pvcSelector"])
    );
    assert_eq!(spec["x-kubernetes-preserve-unknown-fields"], true);
    let props = &spec["properties"];
    for (field, message) in [
        ("drPolicyRef", "drPolicyRef is immutable"),
        ("placementRef", "placementRef is immutable"),
        ("pvcSelector", "pvcSelector is immutable"),
    ] {
        assert_eq!(rules(&props[field]), vec![rule("self == oldSelf", message)]);
        assert_eq!(props[field]["x-kubernetes-map-type"], "atomic");
    }
    for field in [
        "apiVersion",
        "fieldPath",
        "kind",
        "name",
        "namespace",
        "resourceVersion",
        "uid",
    ] {
        assert_eq!(
            props["drPolicyRef"]["properties"][field],
            json!({"type": "string"})
        );
    }
    assert_label_selector(&props["pvcSelector"]);
    assert_eq!(props["action"]["enum"], json!(["Failover", "Relocate"]));
    assert_eq!(props["preferredCluster"]["type"], "string");
    assert_eq!(props["failoverCluster"]["type"], "string");

    let status = &schema(&crd)["properties"]["status"];
    assert_eq!(status["x-kubernetes-preserve-unknown-fields"], true);
    assert_conditions(&status["properties"]["conditions"]);
}

#[test]
fn drpc_printer_columns_match_ramen() {
    let crd = chart_file(DRPCS);
    let columns: Vec<(String, String, Option<i64>)> =
        crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["jsonPath"].as_str().unwrap().to_owned(),
                    c["priority"].as_i64(),
                )
            })
            .collect();
    let expected = [
        ("Age", ".metadata.creationTimestamp", None),
        ("preferredCluster", ".spec.preferredCluster", None),
        ("failoverCluster", ".spec.failoverCluster", None),
        ("desiredState", ".spec.action", None),
        ("currentState", ".status.phase", None),
        ("progression", ".status.progression", Some(2)),
        ("start time", ".status.actionStartTime", Some(2)),
        ("duration", ".status.actionDuration", Some(2)),
        ("peer ready", ".status.conditions[1].status", Some(2)),
    ]
    .map(|(n, p, pr)| (n.to_owned(), p.to_owned(), pr));
    assert_eq!(columns, expected.to_vec());
}
