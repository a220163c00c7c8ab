//! Serializing a config gives YAML that reads back (with Ramen's YAML 1.1 rules) to the same
//! config, using Ramen's wire names.

mod common;

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use ramen_config::{
    ControllerConfig, GoDuration, RamenConfig, S3StoreProfile, SecretKeySelector, SecretReference,
    parse_str,
};

fn round_trip(config: &RamenConfig) -> (String, RamenConfig) {
    let yaml = config.to_yaml().expect("serializes");
    let parsed = parse_str(&yaml).unwrap_or_else(|e| panic!("re-parse failed: {e}\n{yaml}"));
    assert_eq!(parsed.warnings, vec![], "{yaml}");
    (yaml, parsed.config)
}

#[test]
fn seed_config_round_trips() {
    let original = parse_str(&common::seed_yaml())
        .expect("seed decodes")
        .config;
    let (yaml, back) = round_trip(&original);
    assert_eq!(back, original);
    for line in [
        "apiVersion: ramendr.openshift.io/v1alpha1",
        "kind: RamenConfig",
        "ramenControllerType: dr-hub",
        "maxConcurrentReconciles: 50",
        "  s3SecretDistributionEnabled: true",
        "- s3ProfileName: minio-on-dr1",
    ] {
        assert!(
            yaml.lines().any(|l| l == line),
            "missing {line:?} in\n{yaml}"
        );
    }
}

#[test]
fn every_field_round_trips_with_ramen_wire_names() {
    let config = RamenConfig {
        api_version: "ramendr.openshift.io/v1alpha1".to_owned(),
        kind: "RamenConfig".to_owned(),
        sync_period: Some(GoDuration::from_nanos(36_000_000_000_000)),
        graceful_shut_down: Some(GoDuration::from_nanos(1_500_000_000)),
        cache_namespace: "cache-ns".to_owned(),
        controller: Some(ControllerConfig {
            group_kind_concurrency: BTreeMap::from([(
                "DRPolicy.ramendr.openshift.io".to_owned(),
                2,
            )]),
            cache_sync_timeout: Some(120_000_000_000),
            recover_panic: Some(false),
        }),
        ramen_controller_type: "dr-hub".to_owned(),
        s3_store_profiles: vec![S3StoreProfile {
            s3_profile_name: "p".to_owned(),
            s3_bucket: "b".to_owned(),
            s3_compatible_endpoint: "http://x:9000".to_owned(),
            s3_region: "us-east-1".to_owned(),
            s3_secret_ref: SecretReference {
                name: "s".to_owned(),
                namespace: "ns".to_owned(),
            },
            velero_namespace_secret_key_ref: Some(SecretKeySelector {
                name: "cloud-credentials".to_owned(),
                key: "cloud".to_owned(),
                optional: Some(true),
            }),
            ca_certificates: b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        }],
        max_concurrent_reconciles: 7,
        volume_unprotection_enabled: true,
        ramen_ops_namespace: "ramen-ops".to_owned(),
        retain_namespace_scc_across_peers: true,
        ..RamenConfig::default()
    };
    let mut config = config;
    config.leader_election.leader_elect = Some(false);
    config.leader_election.lease_duration = Some(GoDuration::from_nanos(15_000_000_000));
    config.leader_election.resource_name = "hub.ramendr.openshift.io".to_owned();
    config.metrics.bind_address = "127.0.0.1:9289".to_owned();
    config.health.health_probe_bind_address = ":8081".to_owned();
    config.webhook.port = Some(9443);
    config.dr_cluster_operator.deployment_automation_enabled = Some(false);
    config.dr_cluster_operator.namespace_name = "ramen-system".to_owned();
    config.vol_sync.disabled = true;
    config.vol_sync.cephfs_csi_driver_name = "cephfs".to_owned();
    config.vol_sync.destination_copy_method = "Direct".to_owned();
    config.kube_object_protection.disabled = true;
    config.kube_object_protection.velero_namespace_name = "velero".to_owned();
    config.multi_namespace.feature_enabled = true;
    config.multi_namespace.volsync_supported = true;

    let (yaml, back) = round_trip(&config);
    assert_eq!(back, config);
    for fragment in [
        "syncPeriod: 10h0m0s",
        "gracefulShutDown: 1.5s",
        "cacheSyncTimeout: 120000000000",
        "caCertificates: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
        "FeatureEnabled: true",
        "volsyncSupported: true",
        "cephFSCSIDriverName: cephfs",
        "retainNamespaceSCCAcrossPeers: true",
        "deploymentAutomationEnabled: false",
        "leaseDuration: 15s",
        "veleroNamespaceSecretKeyRef:",
    ] {
        assert!(yaml.contains(fragment), "missing {fragment:?} in\n{yaml}");
    }
    // Explicit `false` must survive: absence would mean `true`.
    assert!(!back.secret_distribution_enabled());
}

#[test]
fn zero_config_serializes_to_an_empty_mapping() {
    let (yaml, back) = round_trip(&RamenConfig::default());
    assert_eq!(back, RamenConfig::default());
    assert_eq!(yaml.trim(), "{}");
}

/// Strings that a YAML 1.1 reader would take for something else unless quoted.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("yes".to_owned()),
        Just("Off".to_owned()),
        Just("y".to_owned()),
        Just("~".to_owned()),
        Just("null".to_owned()),
        Just("123".to_owned()),
        Just("0x10".to_owned()),
        Just("017".to_owned()),
        Just("1_000".to_owned()),
        Just("1.0".to_owned()),
        Just(".5".to_owned()),
        Just("1e3".to_owned()),
        Just(".inf".to_owned()),
        Just(":8081".to_owned()),
        Just("a: b".to_owned()),
        Just("- x".to_owned()),
        Just("#x".to_owned()),
        Just("<<".to_owned()),
        Just("*alias".to_owned()),
        Just("&anchor".to_owned()),
        Just(" padded ".to_owned()),
        Just("two\nlines".to_owned()),
        Just("tab\there".to_owned()),
        Just("quote\"s'".to_owned()),
        Just("2024-01-01".to_owned()),
        Just("ünïcödé ✓".to_owned()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

/// Valid Kubernetes names (DNS-1123 labels, so subdomains too) for the fields that must hold one,
/// among them strings a YAML 1.1 reader would take for something else unless quoted.
fn name_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("yes".to_owned()),
        Just("y".to_owned()),
        Just("null".to_owned()),
        Just("123".to_owned()),
        Just("017".to_owned()),
        Just("1e3".to_owned()),
        Just("2024-01-01".to_owned()),
        "[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?",
    ]
}

fn arb_duration() -> impl Strategy<Value = Option<GoDuration>> {
    proptest::option::of(any::<i64>().prop_map(GoDuration::from_nanos))
}

prop_compose! {
    fn arb_profile()(
        name in name_string(),
        bucket in tricky_string(),
        endpoint in tricky_string(),
        secret in name_string(),
        key in proptest::option::of((name_string(), tricky_string(), proptest::option::of(any::<bool>()))),
        ca in proptest::collection::vec(any::<u8>(), 0..40),
    ) -> S3StoreProfile {
        S3StoreProfile {
            s3_profile_name: name,
            s3_bucket: bucket,
            s3_compatible_endpoint: endpoint,
            s3_secret_ref: SecretReference { name: secret, namespace: String::new() },
            velero_namespace_secret_key_ref: key.map(|(name, key, optional)| SecretKeySelector { name, key, optional }),
            ca_certificates: ca,
            ..S3StoreProfile::default()
        }
    }
}

prop_compose! {
    fn arb_config()(
        namespace in name_string(),
        ops in name_string(),
        automation in proptest::option::of(any::<bool>()),
        s3 in proptest::option::of(any::<bool>()),
        max in any::<i64>(),
        sync in arb_duration(),
        lease in arb_duration(),
        port in proptest::option::of(any::<i64>()),
        timeout in proptest::option::of(any::<i64>()),
        kinds in proptest::collection::btree_map(tricky_string(), any::<i64>(), 0..3),
        profiles in proptest::collection::vec(arb_profile(), 0..3),
        flags in any::<[bool; 5]>(),
    ) -> RamenConfig {
        let mut c = RamenConfig {
            ramen_ops_namespace: ops,
            max_concurrent_reconciles: max,
            sync_period: sync,
            s3_store_profiles: profiles,
            controller: timeout.map(|t| ControllerConfig {
                cache_sync_timeout: Some(t),
                group_kind_concurrency: kinds,
                recover_panic: None,
            }),
            volume_unprotection_enabled: flags[0],
            retain_namespace_scc_across_peers: flags[1],
            ..RamenConfig::default()
        };
        c.dr_cluster_operator.namespace_name = namespace;
        c.dr_cluster_operator.deployment_automation_enabled = automation;
        c.dr_cluster_operator.s3_secret_distribution_enabled = s3;
        c.leader_election.lease_duration = lease;
        c.webhook.port = port;
        c.vol_sync.disabled = flags[2];
        c.multi_namespace.feature_enabled = flags[3];
        c.kube_object_protection.disabled = flags[4];
        c
    }
}

proptest! {
    #[test]
    fn any_config_round_trips(config in arb_config()) {
        let yaml = config.to_yaml().expect("serializes");
        let parsed = parse_str(&yaml).unwrap_or_else(|e| panic!("re-parse failed: {e}\n{yaml}"));
        prop_assert_eq!(&parsed.warnings, &vec![], "{}", yaml);
        prop_assert_eq!(parsed.config, config, "{}", yaml);
    }
}
