//! The seed ConfigMap (from the project's request) decodes to the values it holds.

mod common;

use pretty_assertions::assert_eq;
use ramen_config::{
    ConfigMapLocation, ControllerType, SecretKeySelector, SecretReference, from_config_map_data,
};

#[test]
fn seed_config_map_decodes_every_field_it_sets() {
    let cm = common::seed_config_map();
    assert_eq!(cm.metadata.name, ramen_config::HUB_OPERATOR_CONFIG_MAP_NAME);
    let location = ConfigMapLocation::hub(&cm.metadata.namespace);
    let parsed = from_config_map_data(&location, Some(&cm.data)).expect("seed config decodes");
    assert_eq!(parsed.warnings, vec![]);
    let config = parsed.config;

    assert_eq!(config.api_version, "ramendr.openshift.io/v1alpha1");
    assert_eq!(config.kind, "RamenConfig");
    assert_eq!(config.health.health_probe_bind_address, ":8081");
    assert_eq!(config.metrics.bind_address, "127.0.0.1:9289");
    assert_eq!(config.webhook.port, Some(9443));
    assert_eq!(config.leader_election.leader_elect, Some(true));
    assert_eq!(
        config.leader_election.resource_name,
        "hub.ramendr.openshift.io"
    );
    assert_eq!(config.ramen_controller_type, "dr-hub");
    assert_eq!(config.controller_type(), Some(ControllerType::DrHub));
    assert_eq!(config.max_concurrent_reconciles, 50);

    let op = &config.dr_cluster_operator;
    assert_eq!(op.deployment_automation_enabled, Some(true));
    assert_eq!(op.s3_secret_distribution_enabled, Some(true));
    assert_eq!(op.channel_name, "alpha");
    assert_eq!(op.package_name, "ramen-dr-cluster-operator");
    assert_eq!(op.namespace_name, "ramen-system");
    assert_eq!(op.catalog_source_name, "ramen-catalog");
    assert_eq!(op.catalog_source_namespace_name, "ramen-system");
    assert_eq!(
        op.cluster_service_version_name,
        "ramen-dr-cluster-operator.v0.0.1"
    );
    assert!(config.secret_distribution_enabled());
    assert_eq!(
        config.drcluster_operator_namespace_or("elsewhere"),
        "ramen-system"
    );

    assert_eq!(
        config.kube_object_protection.velero_namespace_name,
        "velero"
    );
    assert!(!config.vol_sync.disabled);

    assert_eq!(config.s3_store_profiles.len(), 2);
    let dr1 = &config.s3_store_profiles[0];
    assert_eq!(dr1.s3_profile_name, "minio-on-dr1");
    assert_eq!(dr1.s3_bucket, "bucket");
    assert_eq!(dr1.s3_compatible_endpoint, "http://192.168.124.246:30000");
    assert_eq!(dr1.s3_region, "us-west-1");
    assert_eq!(
        dr1.s3_secret_ref,
        SecretReference {
            name: "ramen-s3-secret-dr1".to_owned(),
            namespace: "ramen-system".to_owned(),
        }
    );
    assert_eq!(
        dr1.velero_namespace_secret_key_ref,
        Some(SecretKeySelector {
            name: "cloud-credentials".to_owned(),
            key: "cloud".to_owned(),
            optional: None,
        })
    );
    assert!(dr1.ca_certificates.is_empty());
    let dr2 = &config.s3_store_profiles[1];
    assert_eq!(dr2.s3_profile_name, "minio-on-dr2");
    assert_eq!(dr2.s3_compatible_endpoint, "http://192.168.124.174:30000");
    assert_eq!(dr2.s3_region, "us-east-1");
    assert_eq!(
        config.s3_secret_name("minio-on-dr2"),
        Some("ramen-s3-secret-dr2")
    );
    assert!(dr1.format_check().is_ok());
    assert!(dr2.format_check().is_ok());

    // Fields the seed does not set stay unset.
    assert_eq!(config.sync_period, None);
    assert_eq!(config.controller, None);
    assert_eq!(config.ramen_ops_namespace(), None);
    assert!(!config.multi_namespace.feature_enabled);
    assert!(!config.retain_namespace_scc_across_peers);
}
