//! Defaults are applied by accessors, as Ramen's `...OrDefault` helpers do.

use std::time::Duration;

use pretty_assertions::assert_eq;
use ramen_config::{ControllerType, RamenConfig, parse_str};

fn config(yaml: &str) -> RamenConfig {
    parse_str(yaml)
        .unwrap_or_else(|e| panic!("{yaml:?} must decode: {e}"))
        .config
}

#[test]
fn zero_config_defaults() {
    let c = RamenConfig::default();
    assert_eq!(
        c.drcluster_operator_namespace_or("ramen-system"),
        "ramen-system"
    );
    let op = &c.dr_cluster_operator;
    assert_eq!(op.channel_name(), "alpha");
    assert_eq!(op.package_name(), "ramen-dr-cluster-operator");
    assert_eq!(op.catalog_source_name(), "ramen-catalog");
    assert_eq!(
        op.catalog_source_namespace_name_or("ramen-system"),
        "ramen-system"
    );
    assert_eq!(
        op.cluster_service_version_name(),
        "ramen-dr-cluster-operator.v0.0.1"
    );
    assert_eq!(c.velero_namespace_name(), "velero");
    assert_eq!(c.vol_sync.destination_copy_method(), "Snapshot");
    assert_eq!(
        c.vol_sync.cephfs_csi_driver_name(),
        "openshift-storage.cephfs.csi.ceph.com"
    );
    assert_eq!(c.ramen_ops_namespace(), None);
    assert_eq!(c.max_concurrent_reconciles_or_default(), 1);
    assert_eq!(c.sync_period_or_default(), Duration::from_secs(36_000));
    assert_eq!(c.controller_type(), None);
    assert_eq!(c.leader_election.resource_lock(), "leases");
    assert_eq!(c.leader_election.resource_namespace_or("ns"), "ns");
    assert_eq!(
        c.leader_election.lease_duration_or_default(),
        Duration::from_secs(15)
    );
    assert_eq!(
        c.leader_election.renew_deadline_or_default(),
        Duration::from_secs(10)
    );
    assert_eq!(
        c.leader_election.retry_period_or_default(),
        Duration::from_secs(2)
    );
    assert_eq!(c.health.readiness_endpoint_name(), "readyz");
    assert_eq!(c.health.liveness_endpoint_name(), "healthz");
}

#[test]
fn distribution_flags_default_to_true_when_absent() {
    // Ramen HEAD's default; ccc4a73c read absent flags as false.
    assert!(RamenConfig::default().secret_distribution_enabled());
    assert!(config("drClusterOperator:\n  namespaceName: x\n").secret_distribution_enabled());
    assert!(
        config("drClusterOperator:\n  deploymentAutomationEnabled: true\n")
            .secret_distribution_enabled()
    );
}

#[test]
fn distribution_needs_both_flags() {
    for (automation, s3) in [("false", "true"), ("true", "false"), ("false", "false")] {
        let c = config(&format!(
            "drClusterOperator:\n  deploymentAutomationEnabled: {automation}\n  s3SecretDistributionEnabled: {s3}\n"
        ));
        assert!(!c.secret_distribution_enabled(), "{automation} {s3}");
    }
    assert!(
        !config("drClusterOperator:\n  deploymentAutomationEnabled: false\n")
            .secret_distribution_enabled()
    );
}

#[test]
fn configured_values_override_defaults() {
    let c = config(concat!(
        "drClusterOperator:\n",
        "  namespaceName: dr-ns\n",
        "  channelName: stable\n",
        "  packageName: pkg\n",
        "  catalogSourceName: cat\n",
        "  catalogSourceNamespaceName: cat-ns\n",
        "  clusterServiceVersionName: csv.v1\n",
        "volSync:\n",
        "  destinationCopyMethod: Direct\n",
        "  cephFSCSIDriverName: cephfs.example\n",
        "kubeObjectProtection:\n",
        "  veleroNamespaceName: openshift-adp\n",
        "ramenOpsNamespace: ramen-ops\n",
        "maxConcurrentReconciles: 50\n",
        "syncPeriod: 1h30m\n",
        "ramenControllerType: dr-cluster\n",
        "leaderElection:\n",
        "  resourceLock: configmapsleases\n",
        "  resourceNamespace: le-ns\n",
        "  leaseDuration: 30s\n",
        "  renewDeadline: 20s\n",
        "  retryPeriod: 0s\n",
    ));
    assert_eq!(c.drcluster_operator_namespace_or("ramen-system"), "dr-ns");
    let op = &c.dr_cluster_operator;
    assert_eq!(op.channel_name(), "stable");
    assert_eq!(op.package_name(), "pkg");
    assert_eq!(op.catalog_source_name(), "cat");
    assert_eq!(
        op.catalog_source_namespace_name_or("ramen-system"),
        "cat-ns"
    );
    assert_eq!(op.cluster_service_version_name(), "csv.v1");
    assert_eq!(c.vol_sync.destination_copy_method(), "Direct");
    assert_eq!(c.vol_sync.cephfs_csi_driver_name(), "cephfs.example");
    assert_eq!(c.velero_namespace_name(), "openshift-adp");
    assert_eq!(c.ramen_ops_namespace(), Some("ramen-ops"));
    assert_eq!(c.max_concurrent_reconciles_or_default(), 50);
    assert_eq!(c.sync_period_or_default(), Duration::from_secs(5_400));
    assert_eq!(c.controller_type(), Some(ControllerType::DrCluster));
    let le = &c.leader_election;
    assert_eq!(le.resource_lock(), "configmapsleases");
    assert_eq!(le.resource_namespace_or("ns"), "le-ns");
    assert_eq!(le.lease_duration_or_default(), Duration::from_secs(30));
    assert_eq!(le.renew_deadline_or_default(), Duration::from_secs(20));
    // Zero is "not set" for controller-runtime.
    assert_eq!(le.retry_period_or_default(), Duration::from_secs(2));
}

#[test]
fn controller_section_decodes_go_types() {
    let c = config(concat!(
        "controller:\n",
        "  groupKindConcurrency:\n",
        "    DRPolicy.ramendr.openshift.io: 3\n",
        "  cacheSyncTimeout: 120000000000\n",
        "  recoverPanic: true\n",
        "gracefulShutDown: 30s\n",
        "webhook:\n",
        "  port: 9443\n",
        "  host: 0.0.0.0\n",
        "  certDir: /certs\n",
    ));
    let controller = c.controller.expect("controller section");
    assert_eq!(
        controller
            .group_kind_concurrency
            .get("DRPolicy.ramendr.openshift.io"),
        Some(&3)
    );
    assert_eq!(controller.cache_sync_timeout, Some(120_000_000_000));
    assert_eq!(
        controller.cache_sync_timeout_duration(),
        Some(Duration::from_secs(120))
    );
    assert_eq!(controller.recover_panic, Some(true));
    assert_eq!(
        c.graceful_shut_down.and_then(|d| d.to_std()),
        Some(Duration::from_secs(30))
    );
    assert_eq!(c.webhook.port, Some(9443));
    assert_eq!(c.webhook.host, "0.0.0.0");
    assert_eq!(c.webhook.cert_dir, "/certs");
}

#[test]
fn head_only_fields_decode() {
    let c = config(
        "retainNamespaceSCCAcrossPeers: true\nvolumeUnprotectionEnabled: true\nmultiNamespace:\n  volsyncSupported: true\n",
    );
    assert!(c.retain_namespace_scc_across_peers);
    assert!(c.volume_unprotection_enabled);
    assert!(c.multi_namespace.volsync_supported);
}

#[test]
fn ca_certificates_decode_from_base64() {
    let c = config("s3StoreProfiles:\n- s3ProfileName: p\n  caCertificates: LS0tLS1CRUdJTg==\n");
    assert_eq!(
        c.s3_store_profiles[0].ca_certificates,
        b"-----BEGIN".to_vec()
    );
}
