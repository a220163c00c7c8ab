//! What one managed cluster offers, as far as peer classes care: its classes in DRClusterConfig order,
//! reduced to name, labels and provisioner (or driver), plus the replication schedule.
//!
//! The types deserialize from the Kubernetes objects themselves (a ManagedClusterView's `status.result`),
//! leniently like Ramen's Go decoding: unknown fields are ignored and missing ones read as empty.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The classes one cluster of a policy reports, each list in its DRClusterConfig's order.
///
/// A cluster whose `storage_classes` is empty takes no part in the computation (see
/// [`EmptyReport`](crate::EmptyReport) for what happens to its stored peer classes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterClasses {
    /// The cluster's ID: the value of its ManagedCluster claim `id.k8s.io`.
    pub cluster_id: String,
    /// StorageClasses named in `status.storageClasses`.
    pub storage_classes: Vec<StorageClass>,
    /// VolumeSnapshotClasses named in `status.volumeSnapshotClasses`.
    pub volume_snapshot_classes: Vec<SnapshotClass>,
    /// VolumeReplicationClasses named in `status.volumeReplicationClasses`.
    pub volume_replication_classes: Vec<ReplicationClass>,
    /// VolumeGroupReplicationClasses named in `status.volumeGroupReplicationClasses`.
    pub volume_group_replication_classes: Vec<ReplicationClass>,
    /// VolumeGroupSnapshotClasses named in `status.volumeGroupSnapshotClasses`.
    pub volume_group_snapshot_classes: Vec<SnapshotClass>,
}

impl ClusterClasses {
    /// A cluster with ID `cluster_id` that reports no classes yet.
    pub fn new(cluster_id: impl Into<String>) -> Self {
        Self {
            cluster_id: cluster_id.into(),
            ..Self::default()
        }
    }

    /// Appends a StorageClass.
    pub fn with_storage_class(mut self, class: StorageClass) -> Self {
        self.storage_classes.push(class);
        self
    }

    /// Appends a VolumeSnapshotClass.
    pub fn with_volume_snapshot_class(mut self, class: SnapshotClass) -> Self {
        self.volume_snapshot_classes.push(class);
        self
    }

    /// Appends a VolumeReplicationClass.
    pub fn with_volume_replication_class(mut self, class: ReplicationClass) -> Self {
        self.volume_replication_classes.push(class);
        self
    }

    /// Appends a VolumeGroupReplicationClass.
    pub fn with_volume_group_replication_class(mut self, class: ReplicationClass) -> Self {
        self.volume_group_replication_classes.push(class);
        self
    }

    /// Appends a VolumeGroupSnapshotClass.
    pub fn with_volume_group_snapshot_class(mut self, class: SnapshotClass) -> Self {
        self.volume_group_snapshot_classes.push(class);
        self
    }

    /// Whether the cluster reports at least one StorageClass, i.e. takes part in the computation.
    pub fn reports_storage_classes(&self) -> bool {
        !self.storage_classes.is_empty()
    }

    /// The first StorageClass named `name`: duplicates in a report are possible, and only the first
    /// counts wherever a class is looked up by name.
    pub(crate) fn storage_class(&self, name: &str) -> Option<&StorageClass> {
        self.storage_classes.iter().find(|sc| sc.name == name)
    }
}

/// A `storage.k8s.io/v1` StorageClass: name, labels, provisioner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "wire::StorageClass")]
pub struct StorageClass {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `provisioner`.
    pub provisioner: String,
}

impl StorageClass {
    /// A StorageClass without labels.
    pub fn new(name: impl Into<String>, provisioner: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            provisioner: provisioner.into(),
            labels: BTreeMap::new(),
        }
    }

    /// Sets label `key` to `value`.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// A VolumeSnapshotClass (`snapshot.storage.k8s.io/v1`) or VolumeGroupSnapshotClass
/// (`groupsnapshot.storage.k8s.io/v1` or `groupsnapshot.storage.openshift.io/v1beta1`): name, labels,
/// driver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "wire::SnapshotClass")]
pub struct SnapshotClass {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `driver`: the CSI driver, compared with the StorageClass provisioner.
    pub driver: String,
}

impl SnapshotClass {
    /// A snapshot class without labels.
    pub fn new(name: impl Into<String>, driver: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            driver: driver.into(),
            labels: BTreeMap::new(),
        }
    }

    /// Sets label `key` to `value`.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// A VolumeReplicationClass or VolumeGroupReplicationClass (`replication.storage.openshift.io/v1alpha1`):
/// name, labels, `spec.provisioner` and `spec.parameters.schedulingInterval`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "wire::ReplicationClass")]
pub struct ReplicationClass {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.provisioner`.
    pub provisioner: String,
    /// `spec.parameters.schedulingInterval`, compared verbatim with the DRPolicy's interval.
    pub scheduling_interval: Option<String>,
}

impl ReplicationClass {
    /// A replication class without labels and without a scheduling interval.
    pub fn new(name: impl Into<String>, provisioner: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            provisioner: provisioner.into(),
            labels: BTreeMap::new(),
            scheduling_interval: None,
        }
    }

    /// Sets label `key` to `value`.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets `spec.parameters.schedulingInterval`.
    pub fn with_scheduling_interval(mut self, interval: impl Into<String>) -> Self {
        self.scheduling_interval = Some(interval.into());
        self
    }
}

/// The Kubernetes shapes the public types are read from.
mod wire {
    use drpolicy_api::names::class_labels::SCHEDULING_INTERVAL_PARAMETER;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Metadata {
        name: String,
        // `null` labels read as none, as Go's decoding of a nil map.
        labels: Option<BTreeMap<String, String>>,
    }

    #[derive(Deserialize)]
    pub struct StorageClass {
        #[serde(default)]
        metadata: Metadata,
        #[serde(default)]
        provisioner: String,
    }

    #[derive(Deserialize)]
    pub struct SnapshotClass {
        #[serde(default)]
        metadata: Metadata,
        #[serde(default)]
        driver: String,
    }

    #[derive(Deserialize)]
    pub struct ReplicationClass {
        #[serde(default)]
        metadata: Metadata,
        #[serde(default)]
        spec: ReplicationClassSpec,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct ReplicationClassSpec {
        provisioner: String,
        parameters: Option<BTreeMap<String, String>>,
    }

    impl From<StorageClass> for super::StorageClass {
        fn from(w: StorageClass) -> Self {
            Self {
                name: w.metadata.name,
                labels: w.metadata.labels.unwrap_or_default(),
                provisioner: w.provisioner,
            }
        }
    }

    impl From<SnapshotClass> for super::SnapshotClass {
        fn from(w: SnapshotClass) -> Self {
            Self {
                name: w.metadata.name,
                labels: w.metadata.labels.unwrap_or_default(),
                driver: w.driver,
            }
        }
    }

    impl From<ReplicationClass> for super::ReplicationClass {
        fn from(w: ReplicationClass) -> Self {
            let scheduling_interval = w
                .spec
                .parameters
                .and_then(|mut p| p.remove(SCHEDULING_INTERVAL_PARAMETER));
            Self {
                name: w.metadata.name,
                labels: w.metadata.labels.unwrap_or_default(),
                provisioner: w.spec.provisioner,
                scheduling_interval,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_storage_class_reads_from_the_kubernetes_object() {
        let class: StorageClass = serde_json::from_value(json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "rbd",
                "labels": {"ramendr.openshift.io/storageid": "ceph-east"},
                "resourceVersion": "7"
            },
            "provisioner": "rbd.csi.ceph.com",
            "reclaimPolicy": "Delete"
        }))
        .unwrap();
        assert_eq!(
            class,
            StorageClass::new("rbd", "rbd.csi.ceph.com")
                .with_label("ramendr.openshift.io/storageid", "ceph-east")
        );
    }

    #[test]
    fn a_snapshot_class_reads_its_driver() {
        let class: SnapshotClass = serde_json::from_value(json!({
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": "rbd-snap", "labels": null},
            "driver": "rbd.csi.ceph.com",
            "deletionPolicy": "Delete"
        }))
        .unwrap();
        assert_eq!(class, SnapshotClass::new("rbd-snap", "rbd.csi.ceph.com"));
    }

    #[test]
    fn a_replication_class_reads_provisioner_and_scheduling_interval_from_its_spec() {
        let class: ReplicationClass = serde_json::from_value(json!({
            "apiVersion": "replication.storage.openshift.io/v1alpha1",
            "kind": "VolumeReplicationClass",
            "metadata": {"name": "rbd-5m", "labels": {"ramendr.openshift.io/replicationid": "rep-1"}},
            "spec": {
                "provisioner": "rbd.csi.ceph.com",
                "parameters": {"schedulingInterval": "5m", "mirroringMode": "snapshot"}
            }
        }))
        .unwrap();
        assert_eq!(
            class,
            ReplicationClass::new("rbd-5m", "rbd.csi.ceph.com")
                .with_label("ramendr.openshift.io/replicationid", "rep-1")
                .with_scheduling_interval("5m")
        );
    }

    #[test]
    fn missing_fields_read_as_empty_like_gos_decoding() {
        let class: ReplicationClass =
            serde_json::from_value(json!({"metadata": {"name": "bare"}})).unwrap();
        assert_eq!(class, ReplicationClass::new("bare", ""));
        let class: StorageClass = serde_json::from_value(json!({})).unwrap();
        assert_eq!(class, StorageClass::default());
    }
}
