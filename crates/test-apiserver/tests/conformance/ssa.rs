//! Server-side apply: creation, managedFields in FieldsV1, conflicts between managers, `force`,
//! and removal of fields a manager stops applying.

use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::common::*;

fn applied(s: &Target, name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": format!("{}/v1", s.group()), "kind": "Thing", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn apply_creates_and_records_managed_fields() {
    let (s, api) = with_things().await;
    let o = api
        .patch(
            "t",
            &PatchParams::apply("alice"),
            &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
        )
        .await
        .expect("apply");
    let mf = o.metadata.managed_fields.expect("managedFields");
    assert_eq!(mf.len(), 1);
    assert_eq!(
        (mf[0].manager.as_deref(), mf[0].operation.as_deref()),
        (Some("alice"), Some("Apply"))
    );
    assert_eq!(mf[0].fields_type.as_deref(), Some("FieldsV1"));
    assert_eq!(
        mf[0].fields_v1.as_ref().expect("fieldsV1").0,
        json!({"f:spec": {"f:x": {}}})
    );
}

#[tokio::test]
async fn apply_conflicts_with_another_manager_unless_forced() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
    )
    .await
    .expect("alice");
    let st = status_of(
        api.patch(
            "t",
            &PatchParams::apply("bob"),
            &Patch::Apply(applied(&s, "t", json!({"x": 2}))),
        )
        .await,
    );
    assert_eq!((st.code, st.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        st.message,
        "Apply failed with 1 conflict: conflict with \"alice\": .spec.x"
    );
    let forced = api
        .patch(
            "t",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(applied(&s, "t", json!({"x": 2}))),
        )
        .await
        .expect("force");
    assert_eq!(forced.data["spec"]["x"], 2);
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .expect("mf")
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["bob"]);
}

#[tokio::test]
async fn applying_the_same_value_as_another_manager_shares_ownership() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
    )
    .await
    .expect("alice");
    let o = api
        .patch(
            "t",
            &PatchParams::apply("bob"),
            &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
        )
        .await
        .expect("bob, same value");
    assert_eq!(o.metadata.managed_fields.expect("mf").len(), 2);
}

#[tokio::test]
async fn fields_a_manager_stops_applying_are_removed() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1, "y": 2}))),
    )
    .await
    .expect("first");
    let o = api
        .patch(
            "t",
            &PatchParams::apply("alice"),
            &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
        )
        .await
        .expect("second");
    assert_eq!(o.data["spec"], json!({"x": 1}));
}

#[tokio::test]
async fn fields_still_owned_by_another_manager_are_kept() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1, "y": 2}))),
    )
    .await
    .expect("alice");
    api.patch(
        "t",
        &PatchParams::apply("bob"),
        &Patch::Apply(applied(&s, "t", json!({"y": 2}))),
    )
    .await
    .expect("bob");
    let o = api
        .patch(
            "t",
            &PatchParams::apply("alice"),
            &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
        )
        .await
        .expect("alice drops y");
    assert_eq!(o.data["spec"], json!({"x": 1, "y": 2}));
}

#[tokio::test]
async fn update_operations_take_ownership_and_cause_apply_conflicts() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
    )
    .await
    .expect("alice");
    api.patch(
        "t",
        &PatchParams {
            field_manager: Some("editor".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"spec": {"x": 5}})),
    )
    .await
    .expect("merge patch by editor");
    let st = status_of(
        api.patch(
            "t",
            &PatchParams::apply("alice"),
            &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
        )
        .await,
    );
    assert_eq!(
        st.message,
        format!(
            "Apply failed with 1 conflict: conflict with \"editor\" using {}/v1: .spec.x",
            s.group()
        )
    );
}

#[tokio::test]
async fn apply_to_status_only_changes_status() {
    let (s, api) = with_things().await;
    api.patch(
        "t",
        &PatchParams::apply("alice"),
        &Patch::Apply(applied(&s, "t", json!({"x": 1}))),
    )
    .await
    .expect("create");
    let mut status = applied(&s, "t", json!({"x": 99}));
    status["status"] = json!({"phase": "Ready"});
    let o = api
        .patch_status("t", &PatchParams::apply("ctrl"), &Patch::Apply(status))
        .await
        .expect("status apply");
    assert_eq!(o.data["status"]["phase"], "Ready");
    assert_eq!(o.data["spec"]["x"], 1);
    let mf = o.metadata.managed_fields.expect("mf");
    assert!(mf.iter().any(
        |m| m.manager.as_deref() == Some("ctrl") && m.subresource.as_deref() == Some("status")
    ));
}

#[tokio::test]
async fn apply_without_field_manager_is_422() {
    let (s, _api) = with_things().await;
    let body = applied(&s, "t", json!({})).to_string();
    let (code, _, st) = raw(
        &s,
        "PATCH",
        &format!("/apis/{}/v1/namespaces/{}/things/t", s.group(), s.ns()),
        "application/apply-patch+yaml",
        &body,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
}

#[tokio::test]
async fn map_list_items_are_owned_per_key_by_different_managers() {
    let s = target().await;
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "status": {"type": "object", "properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}
        }}}
    }});
    s.install_crd(s.crd("Thing", "things", true, Some(schema)))
        .await;
    let api = s.things();
    api.patch(
        "t",
        &PatchParams::apply("user"),
        &Patch::Apply(applied(&s, "t", json!({}))),
    )
    .await
    .expect("create");
    let cond = |t: &str| {
        let mut o = applied(&s, "t", json!({}));
        o["status"] = json!({"conditions": [{"type": t, "status": "True"}]});
        o
    };
    api.patch_status("t", &PatchParams::apply("a"), &Patch::Apply(cond("A")))
        .await
        .expect("a");
    let both = api
        .patch_status("t", &PatchParams::apply("b"), &Patch::Apply(cond("B")))
        .await
        .expect("b, no conflict");
    assert_eq!(
        both.data["status"]["conditions"],
        json!([{"type": "A", "status": "True"}, {"type": "B", "status": "True"}])
    );
    let mut none = applied(&s, "t", json!({}));
    none["status"] = json!({});
    let after = api
        .patch_status("t", &PatchParams::apply("a"), &Patch::Apply(none))
        .await
        .expect("a drops A");
    assert_eq!(
        after.data["status"]["conditions"],
        json!([{"type": "B", "status": "True"}])
    );
}

#[tokio::test]
async fn finalizers_applied_by_two_managers_are_both_kept() {
    let (s, api) = with_things().await;
    let with_finalizer = |f: &str| {
        let mut o = applied(&s, "t", json!({}));
        o["metadata"]["finalizers"] = json!([f]);
        o
    };
    api.patch(
        "t",
        &PatchParams::apply("a"),
        &Patch::Apply(with_finalizer("a.example.com/f")),
    )
    .await
    .expect("a");
    let o = api
        .patch(
            "t",
            &PatchParams::apply("b"),
            &Patch::Apply(with_finalizer("b.example.com/f")),
        )
        .await
        .expect("b");
    assert_eq!(
        o.metadata.finalizers,
        Some(vec![
            "a.example.com/f".to_string(),
            "b.example.com/f".to_string()
        ])
    );
}
