//! Read access to DRClusters and ManagedClusters by name, over whatever the caller keeps them in (a map,
//! a slice, an index fed by a watch), so the decisions stay plain functions of cluster state.

use drpolicy_api::{DRCluster, ManagedCluster};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Looks a DRCluster up by name.
pub trait DRClusterLookup {
    /// The DRCluster called `name`, if it exists.
    fn drcluster(&self, name: &str) -> Option<&DRCluster>;
}

impl<T: DRClusterLookup + ?Sized> DRClusterLookup for &T {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        (**self).drcluster(name)
    }
}

impl DRClusterLookup for [DRCluster] {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
    }
}

impl DRClusterLookup for Vec<DRCluster> {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.as_slice().drcluster(name)
    }
}

impl DRClusterLookup for BTreeMap<String, DRCluster> {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.get(name)
    }
}

impl DRClusterLookup for BTreeMap<String, Arc<DRCluster>> {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.get(name).map(Arc::as_ref)
    }
}

impl<S: BuildHasher> DRClusterLookup for HashMap<String, DRCluster, S> {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.get(name)
    }
}

impl<S: BuildHasher> DRClusterLookup for HashMap<String, Arc<DRCluster>, S> {
    fn drcluster(&self, name: &str) -> Option<&DRCluster> {
        self.get(name).map(Arc::as_ref)
    }
}

/// Looks an OCM ManagedCluster up by name (a DRCluster's ManagedCluster has the DRCluster's name).
pub trait ManagedClusterLookup {
    /// The ManagedCluster called `name`, if it exists.
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster>;
}

impl<T: ManagedClusterLookup + ?Sized> ManagedClusterLookup for &T {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        (**self).managed_cluster(name)
    }
}

impl ManagedClusterLookup for [ManagedCluster] {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
    }
}

impl ManagedClusterLookup for Vec<ManagedCluster> {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.as_slice().managed_cluster(name)
    }
}

impl ManagedClusterLookup for BTreeMap<String, ManagedCluster> {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.get(name)
    }
}

impl ManagedClusterLookup for BTreeMap<String, Arc<ManagedCluster>> {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.get(name).map(Arc::as_ref)
    }
}

impl<S: BuildHasher> ManagedClusterLookup for HashMap<String, ManagedCluster, S> {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.get(name)
    }
}

impl<S: BuildHasher> ManagedClusterLookup for HashMap<String, Arc<ManagedCluster>, S> {
    fn managed_cluster(&self, name: &str) -> Option<&ManagedCluster> {
        self.get(name).map(Arc::as_ref)
    }
}
