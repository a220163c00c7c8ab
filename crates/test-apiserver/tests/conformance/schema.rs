//! Custom resources are validated, defaulted and pruned against their CRD's schema (via
//! `crd-schema`), including CEL transition rules, on main and `/status` writes.

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::common::*;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["interval"],
                "properties": {
                    "interval": {"type": "string", "pattern": "^(|\\d+[mhd])$"},
                    "replicas": {"type": "integer", "default": 1, "minimum": 0},
                    "region": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "region is immutable"}]},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }
            },
            "status": {
                "type": "object",
                "properties": {"phase": {"type": "string", "enum": ["Pending", "Ready"]}}
            }
        }
    })
}

async fn setup() -> (Target, Api<DynamicObject>) {
    let s = target().await;
    s.install_crd(s.crd("Thing", "things", true, Some(schema())))
        .await;
    let api = s.things();
    (s, api)
}

#[tokio::test]
async fn pattern_violation_is_422_in_kubernetes_wording() {
    let (s, api) = setup().await;
    let st = status_of(
        api.create(
            &PostParams::default(),
            &s.thing("t", json!({"interval": "3s"})),
        )
        .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        st.message,
        format!(
            r#"Thing.{} "t" is invalid: spec.interval: Invalid value: "3s": spec.interval in body should match '^(|\d+[mhd])$'"#,
            s.group()
        )
    );
    let cause = &st.details.expect("details").causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldValueInvalid", "spec.interval")
    );
}

#[tokio::test]
async fn defaults_are_applied_and_unknown_fields_pruned() {
    let (s, api) = setup().await;
    let created = api
        .create(
            &PostParams::default(),
            &s.thing(
                "t",
                json!({"interval": "5m", "bogus": true, "extra": {"kept": 1}}),
            ),
        )
        .await
        .expect("create");
    assert_eq!(
        created.data["spec"],
        json!({"interval": "5m", "replicas": 1, "extra": {"kept": 1}})
    );
}

#[tokio::test]
async fn strict_field_validation_rejects_unknown_custom_resource_fields() {
    let (s, _api) = setup().await;
    let body = json!({"apiVersion": format!("{}/v1", s.group()), "kind": "Thing", "metadata": {"name": "t"}, "spec": {"interval": "5m", "bogus": 1}});
    let (code, _, st) = raw(
        &s,
        "POST",
        &format!(
            "/apis/{}/v1/namespaces/{}/things?fieldValidation=Strict",
            s.group(),
            s.ns()
        ),
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "Thing in version \"v1\" cannot be handled as a Thing: strict decoding error: unknown field \"spec.bogus\""
    );
    let (code, headers, _) = raw(
        &s,
        "POST",
        &format!("/apis/{}/v1/namespaces/{}/things", s.group(), s.ns()),
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(
        headers.get("warning").expect("warning"),
        "299 - \"unknown field \\\"spec.bogus\\\"\""
    );
}

#[tokio::test]
async fn cel_transition_rule_rejects_changing_an_immutable_field() {
    let (s, api) = setup().await;
    api.create(
        &PostParams::default(),
        &s.thing("t", json!({"interval": "5m", "region": "east"})),
    )
    .await
    .expect("create");
    let st = status_of(
        api.patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"region": "west"}})),
        )
        .await,
    );
    assert_eq!(st.code, 422);
    // Known difference: kube-apiserver 1.37 reports the value; crd-schema (as Kubernetes
    // before it) the schema type.
    let value = if s.embedded().is_some() {
        "string"
    } else {
        "west"
    };
    assert_eq!(
        st.message,
        format!(
            r#"Thing.{} "t" is invalid: spec.region: Invalid value: "{value}": region is immutable"#,
            s.group()
        )
    );
    api.patch(
        "t",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"interval": "6m"}})),
    )
    .await
    .expect("other fields may change");
}

#[tokio::test]
async fn status_writes_are_validated_against_the_schema() {
    let (s, api) = setup().await;
    api.create(
        &PostParams::default(),
        &s.thing("t", json!({"interval": "5m"})),
    )
    .await
    .expect("create");
    let st = status_of(
        api.patch_status(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Bogus"}})),
        )
        .await,
    );
    assert_eq!(st.code, 422);
    assert!(
        st.message
            .contains("status.phase: Unsupported value: \"Bogus\""),
        "{}",
        st.message
    );
    api.patch_status(
        "t",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Ready"}})),
    )
    .await
    .expect("valid status");
}

#[tokio::test]
async fn missing_required_field_is_422() {
    let (s, api) = setup().await;
    let st = status_of(
        api.create(&PostParams::default(), &s.thing("t", json!({})))
            .await,
    );
    // With CEL rules in the schema, kube adds its "rules were not checked" note after a
    // blocking error; crd-schema reproduces that.
    assert!(
        st.message.starts_with(&format!(
            r#"Thing.{} "t" is invalid: [spec.interval: Required value, "#,
            s.group()
        )),
        "{}",
        st.message
    );
}

/// The repository's own Ramen CRDs (the Helm chart's), when present.
#[tokio::test]
async fn ramen_drpolicy_crd_rejects_a_bad_scheduling_interval_as_kubernetes_does() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/ramen-hub-operator/crds/ramendr.openshift.io_drpolicies.yaml"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("skipping: {path} not found");
        return;
    };
    let mut crd: Value = serde_saphyr::from_str(&text).expect("CRD YAML");
    let s = target().await;
    // In this test's group: the CRD is cluster-scoped and a shared server may hold Ramen's own.
    crd["spec"]["group"] = json!(s.group());
    crd["metadata"]["name"] = json!(format!("drpolicies.{}", s.group()));
    s.install_crd(crd).await;
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(s.group(), "v1alpha1", "DRPolicy"),
        "drpolicies",
    );
    let api: Api<DynamicObject> = Api::all_with(s.client(), &ar);
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/v1alpha1", s.group()), "kind": "DRPolicy",
        "metadata": {"name": "drpolicy0"},
        "spec": {"drClusters": ["east", "west"], "schedulingInterval": "3s"}
    }))
    .expect("policy");
    let st = status_of(api.create(&PostParams::default(), &policy).await);
    assert_eq!(
        st.message,
        format!(
            r#"DRPolicy.{} "drpolicy0" is invalid: spec.schedulingInterval: Invalid value: "3s": spec.schedulingInterval in body should match '^(|\d+[mhd])$'"#,
            s.group()
        )
    );
    let st = status_of(api.get("drpolicy0").await);
    assert_eq!(
        st.message,
        format!(r#"drpolicies.{} "drpolicy0" not found"#, s.group())
    );
}
