//! Test support: the seed ConfigMap fixture, read the way the operator would see it.
#![allow(
    dead_code,
    reason = "each test crate includes this module and uses a different part of it"
)]

use std::collections::BTreeMap;

use serde::Deserialize;

/// The seed fixture file, verbatim.
pub const SEED_CONFIG_MAP: &str = include_str!("../fixtures/seed-configmap.yaml");

/// The parts of a ConfigMap the tests need.
#[derive(Debug, Deserialize)]
pub struct ConfigMap {
    pub metadata: Metadata,
    pub data: BTreeMap<String, String>,
}

/// ConfigMap metadata.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub name: String,
    pub namespace: String,
}

/// The seed ConfigMap, decoded.
pub fn seed_config_map() -> ConfigMap {
    serde_saphyr::from_str(SEED_CONFIG_MAP).expect("the seed fixture is a valid ConfigMap")
}

/// The seed ConfigMap's `ramen_manager_config.yaml` text.
pub fn seed_yaml() -> String {
    seed_config_map()
        .data
        .remove(ramen_config::CONFIG_MAP_KEY)
        .expect("the seed fixture has the config key")
}
