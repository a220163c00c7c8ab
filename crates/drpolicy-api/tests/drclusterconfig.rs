//! The managed-cluster `DRClusterConfig`: its objects survive our types, and its CRD is Ramen HEAD's
//! schema but stays out of the hub chart.

use drpolicy_api::{DRClusterConfig, crd};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/drclusterconfig.yaml");

fn without_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("description");
            map.values_mut().for_each(without_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(without_descriptions),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                *value = json!(f as i64);
            }
        }
        _ => {}
    }
}

fn string_list() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

#[test]
fn drclusterconfig_round_trips_every_head_field() {
    let original: Value = serde_saphyr::from_str(FIXTURE).unwrap();
    let config: DRClusterConfig = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(serde_json::to_value(&config).unwrap(), original);

    let status = config.status.as_ref().unwrap();
    assert_eq!(
        status.storage_classes(),
        ["ocs-storagecluster-ceph-rbd", "ocs-storagecluster-cephfs"]
    );
    assert_eq!(
        status.volume_group_replication_classes(),
        ["rbd-volumegroupreplicationclass-5m"]
    );
    assert_eq!(
        status.network_attachments()[0].cni_type.as_deref(),
        Some("macvlan")
    );
    assert_eq!(
        config.spec.cluster_id,
        "6a3e4d2c-1b0f-4e9d-8c7b-5a4f3e2d1c0b"
    );
}

#[test]
fn a_drclusterconfig_without_status_lists_reads_as_empty_lists() {
    let config: DRClusterConfig = serde_json::from_value(json!({
        "apiVersion": "ramendr.openshift.io/v1alpha1",
        "kind": "DRClusterConfig",
        "metadata": {"name": "dr1"},
        "spec": {"clusterID": "id-1"},
        "status": {}
    }))
    .unwrap();
    let status = config.status.unwrap();
    assert!(status.storage_classes().is_empty());
    assert!(status.volume_snapshot_classes().is_empty());
    assert!(status.volume_replication_classes().is_empty());
    assert!(status.volume_group_snapshot_classes().is_empty());
    assert!(status.network_attachments().is_empty());
}

#[test]
fn drclusterconfig_crd_schema_is_ramen_heads() {
    let mut generated = serde_json::to_value(crd::drclusterconfigs()).unwrap();
    without_descriptions(&mut generated);
    assert_eq!(
        generated["metadata"]["name"],
        "drclusterconfigs.ramendr.openshift.io"
    );
    assert_eq!(
        generated["spec"]["names"],
        json!({
            "kind": "DRClusterConfig",
            "listKind": "DRClusterConfigList",
            "plural": "drclusterconfigs",
            "singular": "drclusterconfig"
        })
    );
    assert_eq!(generated["spec"]["scope"], "Cluster");
    let version = &generated["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["subresources"], json!({"status": {}}));
    assert!(version.get("additionalPrinterColumns").is_none());

    let condition = drpolicy_api::schema::condition_value();
    let expected = json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {
                    "clusterID": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"message": "ClusterID is immutable", "rule": "self == oldSelf"}
                        ]
                    },
                    "replicationSchedules": string_list()
                },
                "required": ["clusterID"]
            },
            "status": {
                "type": "object",
                "properties": {
                    "conditions": {"type": "array", "items": condition},
                    "networkAttachments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "cniType": {"type": "string"},
                                "name": {"type": "string"},
                                "namespace": {"type": "string"}
                            },
                            "required": ["name", "namespace"]
                        }
                    },
                    "networkFenceClasses": string_list(),
                    "storageAccessDetails": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "cidrs": string_list(),
                                "storageProvisioner": {"type": "string"}
                            },
                            "required": ["cidrs", "storageProvisioner"]
                        }
                    },
                    "storageClasses": string_list(),
                    "volumeGroupReplicationClasses": string_list(),
                    "volumeGroupSnapshotClasses": string_list(),
                    "volumeReplicationClasses": string_list(),
                    "volumeSnapshotClasses": string_list()
                }
            }
        }
    });
    assert_eq!(version["schema"]["openAPIV3Schema"], expected);
}

#[test]
fn the_hub_chart_does_not_install_the_drclusterconfig_crd() {
    let hub: Vec<String> = crd::all().into_iter().map(|(file, _)| file).collect();
    assert!(
        !hub.iter().any(|f| f.contains("drclusterconfigs")),
        "{hub:?}"
    );
    let managed: Vec<String> = crd::managed_cluster()
        .into_iter()
        .map(|(file, _)| file)
        .collect();
    assert_eq!(managed, ["ramendr.openshift.io_drclusterconfigs.yaml"]);
}
