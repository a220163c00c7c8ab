//! Whether the API server serves a kind we watch but do not install (OCM's ManagedCluster and
//! ManagedClusterView).

use std::sync::atomic::{AtomicU8, Ordering};

/// Whether the API server serves a kind we watch but do not install (OCM's ManagedCluster and
/// ManagedClusterView): known once its watch listed or failed with 404.
#[derive(Debug, Default)]
pub(crate) struct ApiPresence(AtomicU8);

// 0, the default: not known yet.

const SERVED: u8 = 1;
const MISSING: u8 = 2;

impl ApiPresence {
    /// The watch listed: the API is served.
    pub(crate) fn served(&self) {
        self.0.store(SERVED, Ordering::Relaxed);
    }

    /// The watch failed with 404: the CRD is not installed.
    pub(crate) fn missing(&self) {
        self.0.store(MISSING, Ordering::Relaxed);
    }

    /// Whether the last answer was a 404.
    pub(crate) fn is_missing(&self) -> bool {
        self.0.load(Ordering::Relaxed) == MISSING
    }
}
