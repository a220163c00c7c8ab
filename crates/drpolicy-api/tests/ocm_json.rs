//! The OCM objects serialize to the JSON Ramen's Go client sends (reference §2.2-2.4), plus the
//! `ramendr.openshift.io/created-by-ramen` label Ramen HEAD adds. The top-level `creationTimestamp: null`
//! and `status: {}` Go also sends are left out: the API server drops both.

use drpolicy_api::ocm::{Policy, SecretDistribution, hub_from_secret_template};
use pretty_assertions::assert_eq;
use serde_json::json;

const DIST: SecretDistribution<'static> = SecretDistribution {
    secret: "ramen-s3-secret-dr1",
    namespace: "ramen-system",
    target_namespace: "ramen-system",
};

#[test]
fn hub_template_strings_are_byte_for_byte_ramens() {
    assert_eq!(
        hub_from_secret_template("ramen-system", "ramen-s3-secret-dr1", "AWS_ACCESS_KEY_ID"),
        r#"{{hub fromSecret "ramen-system" "ramen-s3-secret-dr1" "AWS_ACCESS_KEY_ID" hub}}"#
    );
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
                "creationTimestamp": null,
                "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
              },
              "spec": {
                "severity": "high",
                "remediationAction": "Enforce",
                "namespaceSelector": {},
                "object-templates": [
                  {
                    "complianceType": "Musthave",
                    "objectDefinition": {
                      "kind": "Secret",
                      "apiVersion": "v1",
                      "metadata": {
                        "name": "ramen-s3-secret-dr1",
                        "namespace": "ramen-system",
                        "creationTimestamp": null,
                        "labels": {"ramendr.openshift.io/created-by-ramen": "true"}
                      },
                      "data": {
                        "AWS_ACCESS_KEY_ID": "{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_ACCESS_KEY_ID\" hub}}",
                        "AWS_SECRET_ACCESS_KEY": "{{hub fromSecret \"ramen-system\" \"ramen-s3-secret-dr1\" \"AWS_SECRET_ACCESS_KEY\" hub}}"
                      }
                    }
                  }
                ],
                "evaluationInterval": {}
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
