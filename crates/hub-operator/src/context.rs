//! What the watches, the distribution workers and the policy reconciles share: the read-only hub view,
//! this process' writes the view does not show yet, and the distribution state — side by side, none
//! inside another.

use std::sync::{Arc, OnceLock};

use crate::distribution;
use crate::hub::HubView;
use crate::pending::Pending;

/// The shared parts.
pub(crate) struct Shared {
    /// The caches and what is derived from them (changed by the watches only).
    pub(crate) hub: Arc<HubView>,
    /// Our writes the caches do not show yet.
    pub(crate) pending: Arc<Pending>,
    /// Secret distribution: queue, outcomes, policies being finalized.
    pub(crate) distribution: Arc<distribution::State>,
}

/// The shared parts once they exist: the watches' mappers are created before the stores they fill.
pub(crate) type SharedCell = Arc<OnceLock<Arc<Shared>>>;
