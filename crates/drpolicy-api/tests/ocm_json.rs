//! The OCM objects serialize to the JSON Ramen HEAD's Go client sends (reference HEAD §8.2-8.3): the
//! `ramendr.openshift.io/created-by-ramen` label on everything, `complianceType: MustHave`,
//! `customMessage: {}` and no `creationTimestamp` anywhere. The top-level `status: {}` Go also sends is
//! left out: the API server drops it.

use drpolicy_api::ocm::{
    Delivery, Policy, SecretDistribution, hub_from_secret_template, velero_credentials_template,
};
use pretty_assertions::assert_eq;
use serde_json::json;

const DIST: SecretDistribution<'static> = SecretDistribution {
    secret: "ramen-s3-secret-dr1",
    namespace: "ramen-system",
    target_namespace: "ramen-system",
    delivery: Delivery::Ramen,
};

const VELERO: SecretDistribution<'static> = SecretDistribution {
    delivery: Delivery::Velero {
        velero_namespace: "velero",
    },
    ..DIST
};

#[test]
fn hub_template_strings_are_byte_for_byte_ramens() {
    assert_eq!(
        hub_from_secret_template("ramen-system", "ramen-s3-secret-dr1", "AWS_ACCESS_KEY_ID"),
        r#"{{hub fromSecret "ramen-system" "ramen-s3-secret-dr1" "AWS_ACCESS_KEY_ID" hub}}"#
    );
}

#[test]
fn velero_template_is_byte_for_byte_ramen_heads() {
    // Backslash-n are two characters each: the template's printf makes the newlines.
    let expected = concat!(
        r#"{{ (printf "[default]\n  aws_access_key_id = %s\n  aws_secret_access_key = %s\n" "#,
        r#"((lookup "v1" "Secret" "ramen-dr" "s3").data.AWS_ACCESS_KEY_ID | base64dec) "#,
        r#"((lookup "v1" "Secret" "ramen-dr" "s3").data.AWS_SECRET_ACCESS_KEY | base64dec)) | base64enc }}"#
    );
    assert_eq!(velero_credentials_template("ramen-dr", "s3"), expected);
    assert!(!expected.contains('\n'));
}

#[test]
fn the_embedded_configuration_policy_is_byte_for_byte_ramen_heads() {
    // Reference HEAD §8.3, key order as Go sends it.
    let expected = concat!(
        r#"{"kind":"ConfigurationPolicy","apiVersion":"policy.open-cluster-management.io/v1","#,
        r#""metadata":{"name":"cfg-policy-ramen-s3-secret-dr1","labels":{"ramendr.openshift.io/created-by-ramen":"true"}},"#,
        r#""spec":{"customMessage":{},"severity":"high","remediationAction":"Enforce","evaluationInterval":{},"#,
        r#""namespaceSelector":{},"#,
        r#""object-templates":[{"complianceType":"MustHave","objectDefinition":"#,
        r#"{"kind":"Secret","apiVersion":"v1","#,
        r#""metadata":{"name":"ramen-s3-secret-dr1","namespace":"ramen-system","#,
        r#""labels":{"ramendr.openshift.io/created-by-ramen":"true"}},"#,
        r#""data":{"AWS_ACCESS_KEY_ID":"{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_ACCESS_KEY_ID\" hub}}","#,
        r#""AWS_SECRET_ACCESS_KEY":"{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_SECRET_ACCESS_KEY\" hub}}"}}}]},"#,
        r#""status":{}}"#
    );
    assert_eq!(
        serde_json::to_string(&DIST.configuration_policy()).unwrap(),
        expected
    );
}

#[test]
fn no_creation_timestamp_anywhere_in_either_format() {
    for dist in [DIST, VELERO] {
        let written = [
            serde_json::to_string(&dist.policy("1")).unwrap(),
            serde_json::to_string(&dist.placement_rule(["dr1"])).unwrap(),
            serde_json::to_string(&dist.placement_binding()).unwrap(),
        ];
        for object in written {
            assert!(!object.contains("creationTimestamp"), "{object}");
            assert!(!object.contains("null"), "{object}");
        }
    }
}

#[test]
fn policy_serializes_to_ramens_json() {
    let expected = json!({
      "kind": "Policy",
      "apiVersion": "policy.open-cluster-management.io/v1",
      "metadata": {
        "name": "ramen-s3-secret-dr1",
        "namespace": "ramen-system",
        "labels": {"ramendr.openshift.io/created-by-ramen": "true"},
        "annotations": {
          "policy.open-cluster-management.io/trigger-update": "4711"
        }
      },
      "spec": {
        "disabled": false,
        "remediationAction": "Enforce",
        "policy-templates": [
          {
            "objectDefinition": {
              "kind": "ConfigurationPolicy",
              "apiVersion": "policy.open-cluster-management.io/v1",
              "metadata": {
                "name": "cfg-policy-ramen-s3-secret-dr1",
                "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
              },
              "spec": {
                "customMessage": {},
                "severity": "high",
                "remediationAction": "Enforce",
                "evaluationInterval": {},
                "namespaceSelector": {},
                "object-templates": [
                  {
                    "complianceType": "MustHave",
                    "objectDefinition": {
                      "kind": "Secret",
                      "apiVersion": "v1",
                      "metadata": {
                        "name": "ramen-s3-secret-dr1",
                        "namespace": "ramen-system",
                        "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
                      },
                      "data": {
                        "AWS_ACCESS_KEY_ID": "{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_ACCESS_KEY_ID\" hub}}",
                        "AWS_SECRET_ACCESS_KEY": "{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_SECRET_ACCESS_KEY\" hub}}"
                      }
                    }
                  }
                ]
              },
              "status": {}
            }
          }
        ]
      }
    });
    assert_eq!(serde_json::to_value(DIST.policy("4711")).unwrap(), expected);
}

#[test]
fn velero_policy_serializes_to_ramen_heads_json() {
    let velero = SecretDistribution {
        target_namespace: "ramen-dr-ops",
        ..VELERO
    };
    let expected = json!({
      "kind": "Policy",
      "apiVersion": "policy.open-cluster-management.io/v1",
      "metadata": {
        "name": "vramen-s3-secret-dr1",
        "namespace": "ramen-system",
        "labels": {"ramendr.openshift.io/created-by-ramen": "true"},
        "annotations": {"policy.open-cluster-management.io/trigger-update": "4711"}
      },
      "spec": {
        "disabled": false,
        "remediationAction": "Enforce",
        "policy-templates": [{"objectDefinition": {
          "kind": "ConfigurationPolicy",
          "apiVersion": "policy.open-cluster-management.io/v1",
          "metadata": {
            "name": "cfg-policy-vramen-s3-secret-dr1",
            "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
          },
          "spec": {
            "customMessage": {},
            "severity": "high",
            "remediationAction": "Enforce",
            "evaluationInterval": {},
            "namespaceSelector": {},
            "object-templates": [{
              "complianceType": "MustHave",
              "objectDefinition": {
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {
                  "name": "vramen-s3-secret-dr1",
                  "namespace": "velero",
                  "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
                },
                "data": {"ramengenerated": velero_credentials_template("ramen-dr-ops", "ramen-s3-secret-dr1")}
              }
            }]
          },
          "status": {}
        }}]
      }
    });
    assert_eq!(
        serde_json::to_value(velero.policy("4711")).unwrap(),
        expected
    );
}

#[test]
fn velero_placement_objects_are_named_after_the_velero_policy() {
    let binding = serde_json::to_value(VELERO.placement_binding()).unwrap();
    assert_eq!(
        binding["metadata"]["name"],
        "plbinding-vramen-s3-secret-dr1"
    );
    assert_eq!(
        binding["placementRef"]["name"],
        "plrule-vramen-s3-secret-dr1"
    );
    assert_eq!(binding["subjects"][0]["name"], "vramen-s3-secret-dr1");
    assert_eq!(
        binding["metadata"]["labels"]["ramendr.openshift.io/created-by-ramen"],
        "true"
    );
    let rule = VELERO.placement_rule(["dr1", "dr2"]);
    assert_eq!(
        rule.metadata.name.as_deref(),
        Some("plrule-vramen-s3-secret-dr1")
    );
    assert_eq!(rule.cluster_names().collect::<Vec<_>>(), ["dr1", "dr2"]);
}

#[test]
fn delivered_secret_goes_to_the_target_namespace_but_templates_read_the_hub_namespace() {
    let dist = SecretDistribution {
        target_namespace: "ramen-dr-cluster",
        ..DIST
    };
    let value = serde_json::to_value(dist.policy("1")).unwrap();
    let secret = &value["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
        [0]["objectDefinition"];
    assert_eq!(secret["metadata"]["namespace"], "ramen-dr-cluster");
    assert_eq!(
        secret["data"]["AWS_SECRET_ACCESS_KEY"],
        r#"{{hub fromSecret "ramen-system" "ramen-s3-secret-dr1" "AWS_SECRET_ACCESS_KEY" hub}}"#
    );
}

#[test]
fn placement_binding_serializes_to_ramens_json() {
    let expected = json!({
      "kind": "PlacementBinding",
      "apiVersion": "policy.open-cluster-management.io/v1",
      "metadata": {
        "name": "plbinding-ramen-s3-secret-dr1",
        "namespace": "ramen-system",
        "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
      },
      "bindingOverrides": {},
      "placementRef": {
        "apiGroup": "apps.open-cluster-management.io",
        "kind": "PlacementRule",
        "name": "plrule-ramen-s3-secret-dr1"
      },
      "subjects": [
        { "apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": "ramen-s3-secret-dr1" }
      ]
    });
    assert_eq!(
        serde_json::to_value(DIST.placement_binding()).unwrap(),
        expected
    );
}

#[test]
fn placement_rule_serializes_to_ramens_json_keeping_cluster_order() {
    let expected = json!({
      "kind": "PlacementRule",
      "apiVersion": "apps.open-cluster-management.io/v1",
      "metadata": {
        "name": "plrule-ramen-s3-secret-dr1",
        "namespace": "ramen-system",
        "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
      },
      "spec": { "clusters": [ { "name": "dr2" }, { "name": "dr1" } ] }
    });
    let rule = DIST.placement_rule(["dr2", "dr1"]);
    assert_eq!(serde_json::to_value(&rule).unwrap(), expected);
    assert_eq!(rule.cluster_names().collect::<Vec<_>>(), ["dr2", "dr1"]);
}

#[test]
fn a_policy_written_by_ramen_without_annotations_reads_fine() {
    // Ramen bug B7 crashed on this; reading it must simply yield no trigger.
    let policy: Policy = serde_json::from_value(json!({
        "apiVersion": "policy.open-cluster-management.io/v1",
        "kind": "Policy",
        "metadata": {"name": "s", "namespace": "ramen-system"},
        "spec": {"disabled": false, "policy-templates": [], "extra": 1},
        "status": {"compliant": "Compliant"}
    }))
    .unwrap();
    assert_eq!(policy.trigger(), None);
    assert_eq!(policy.spec.other["extra"], 1);
}

#[test]
fn test_crds_in_hack_serve_exactly_these_kinds() {
    use drpolicy_api::ocm::{PlacementBinding, PlacementRule};
    use kube::Resource;
    for (yaml, group, kind, plural) in [
        (
            include_str!("../../../hack/crds/ocm/policy.open-cluster-management.io_policies.yaml"),
            Policy::group(&()),
            Policy::kind(&()),
            Policy::plural(&()),
        ),
        (
            include_str!(
                "../../../hack/crds/ocm/policy.open-cluster-management.io_placementbindings.yaml"
            ),
            PlacementBinding::group(&()),
            PlacementBinding::kind(&()),
            PlacementBinding::plural(&()),
        ),
        (
            include_str!(
                "../../../hack/crds/ocm/apps.open-cluster-management.io_placementrules.yaml"
            ),
            PlacementRule::group(&()),
            PlacementRule::kind(&()),
            PlacementRule::plural(&()),
        ),
    ] {
        let crd: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(crd["spec"]["group"], group.as_ref());
        assert_eq!(crd["spec"]["names"]["kind"], kind.as_ref());
        assert_eq!(crd["spec"]["names"]["plural"], plural.as_ref());
        assert_eq!(crd["metadata"]["name"], format!("{plural}.{group}"));
        assert_eq!(crd["spec"]["scope"], "Namespaced");
    }
}
