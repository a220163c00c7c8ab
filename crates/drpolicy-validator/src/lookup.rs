//! Read access to DRClusters by name, over whatever the caller keeps them in (a map, a slice, an index
//! fed by a watch), so the decisions stay plain functions of cluster state.

use drpolicy_api::DRCluster;
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
