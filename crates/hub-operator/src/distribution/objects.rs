//! Which hub Secret an OCM object we write belongs to, by its name.

use drpolicy_api::names::ocm_names::Format;
use std::collections::BTreeSet;

/// The kinds a distribution writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// OCM Policy.
    Policy,
    /// OCM PlacementRule.
    PlacementRule,
    /// OCM PlacementBinding.
    PlacementBinding,
}

impl Kind {
    /// Every hub Secret an object of this kind named `name` may belong to. A name `vS` is the ramen
    /// format of Secret `vS` or the velero format of Secret `S`: both are returned, and converging
    /// either is harmless when it is not that one's.
    pub(crate) fn secrets_of(self, name: &str) -> Vec<String> {
        let kind = match self {
            Kind::Policy => "Policy",
            Kind::PlacementRule => "PlacementRule",
            Kind::PlacementBinding => "PlacementBinding",
        };
        drpolicy_api::names::ocm_names::owners(kind, name)
            .into_iter()
            .map(|(secret, _)| secret)
            .collect()
    }
}

/// The names the objects of `secret` are listed under in [`crate::hub::HubView::live_objects`]: its
/// own (the ramen format) and `v<secret>` (the velero format's objects are named like the ramen
/// format's of `vS`).
pub(crate) fn object_bases(secret: &str) -> BTreeSet<String> {
    Format::ALL
        .iter()
        .map(|format| format.policy(secret))
        .collect()
}

/// Every object name a distribution of `secret` may write, in every format.
pub(crate) fn object_names(secret: &str) -> Vec<String> {
    Format::ALL
        .iter()
        .flat_map(|format| {
            let names = format.names(secret);
            [names.policy, names.placement_rule, names.placement_binding]
        })
        .collect()
}

/// The secrets other than `secret` whose objects share a name with what a run of `secret` wrote.
pub(crate) fn others_named(secret: &str, written: &secret_propagator::Written) -> BTreeSet<String> {
    let mut others: BTreeSet<String> = BTreeSet::new();
    let mut add = |kind: Kind, names: Vec<&String>| {
        others.extend(names.into_iter().flat_map(|name| kind.secrets_of(name)));
    };
    add(Kind::Policy, written.policies.keys().collect());
    add(
        Kind::PlacementRule,
        written.placement_rules.keys().collect(),
    );
    add(
        Kind::PlacementBinding,
        written.placement_bindings.keys().collect(),
    );
    others.remove(secret);
    others
}
