//! Entry points: YAML text or ConfigMap data in, [`Parsed`] config (with warnings) out.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::decoder::{DecodeError, Diagnostics, NodeDe};
use crate::error::ConfigError;
use crate::tree;
use crate::types::RamenConfig;
use crate::warning::{Warning, WarningKind};

/// Name of the hub operator's ConfigMap (Ramen's `HubOperatorConfigMapName`).
pub const HUB_OPERATOR_CONFIG_MAP_NAME: &str = "ramen-hub-operator-config";
/// Name of the DR cluster operator's ConfigMap (Ramen's `DrClusterOperatorConfigMapName`).
pub const DR_CLUSTER_OPERATOR_CONFIG_MAP_NAME: &str = "ramen-dr-cluster-operator-config";
/// The ConfigMap data key holding the YAML (Ramen's `ConfigMapRamenConfigKeyName`).
pub const CONFIG_MAP_KEY: &str = "ramen_manager_config.yaml";

/// A decoded config and the warnings found while decoding it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The config.
    pub config: RamenConfig,
    /// Tolerated oddities (unknown keys, YAML 1.1 booleans, ...), in document order.
    pub warnings: Vec<Warning>,
}

/// Where a config lives: a ConfigMap and the data key within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigMapLocation<'a> {
    /// The ConfigMap's namespace (the operator's namespace, `$POD_NAMESPACE`).
    pub namespace: &'a str,
    /// The ConfigMap's name.
    pub name: &'a str,
    /// The data key holding the YAML.
    pub key: &'a str,
}

impl<'a> ConfigMapLocation<'a> {
    /// The hub operator's config: [`HUB_OPERATOR_CONFIG_MAP_NAME`] / [`CONFIG_MAP_KEY`] in
    /// `namespace`.
    #[must_use]
    pub const fn hub(namespace: &'a str) -> Self {
        Self {
            namespace,
            name: HUB_OPERATOR_CONFIG_MAP_NAME,
            key: CONFIG_MAP_KEY,
        }
    }
}

/// Decodes a `ramen_manager_config.yaml` document the way Ramen does.
///
/// An empty document (or one that is only `null`) is the zero config: every field at its
/// default. Only the first YAML document is read. At most 100 warnings are listed, then one
/// [`WarningKind::Omitted`] counting the rest.
///
/// # Errors
/// [`ConfigError::Parse`] naming the key path and the line and column, for
/// - malformed YAML or a value of the wrong type;
/// - a value naming a namespace or object that is no valid such name (`drClusterOperator.namespaceName`,
///   `kubeObjectProtection.veleroNamespaceName`, `ramenOpsNamespace`, `cacheNamespace`,
///   `leaderElection.resourceNamespace` and `drClusterOperator.catalogSourceNamespaceName` must be
///   DNS-1123 labels; `s3StoreProfiles[].s3ProfileName`, `s3StoreProfiles[].s3SecretRef.name`,
///   `s3StoreProfiles[].veleroNamespaceSecretKeyRef.name`, `leaderElection.resourceName`,
///   `drClusterOperator.catalogSourceName` and `drClusterOperator.clusterServiceVersionName`
///   DNS-1123 subdomains; empty values stay allowed);
/// - a document that is too big to read safely: nested deeper than 128 levels, more than 50,000
///   nodes once aliases and merge keys are expanded, or aliases repeating more than 4 MiB of
///   scalar text (the position is that of the alias or node that went over).
pub fn parse_str(yaml: &str) -> Result<Parsed, ConfigError> {
    parse(yaml, None)
}

/// [`parse_str`], warning about `s3SecretRef.namespace`s other than `operator_namespace` when
/// it is given.
fn parse(yaml: &str, operator_namespace: Option<&str>) -> Result<Parsed, ConfigError> {
    let document = tree::parse(yaml).map_err(|e| ConfigError::Parse {
        path: e.path,
        line: e.mark.line,
        column: e.mark.column,
        message: e.message,
    })?;
    let diagnostics = Diagnostics::default();
    if let Some(mark) = document.extra_document {
        diagnostics.push(Warning {
            path: String::new(),
            line: mark.line,
            column: mark.column,
            kind: WarningKind::ExtraDocument,
        });
    }
    let config = match &document.root {
        None => RamenConfig::default(),
        Some(root) => RamenConfig::deserialize(NodeDe {
            node: root,
            path: String::new(),
            diagnostics: &diagnostics,
        })
        .map_err(|e: DecodeError| {
            let (path, mark) = e.at.unwrap_or_else(|| (String::new(), root.mark));
            ConfigError::Parse {
                path,
                line: mark.line,
                column: mark.column,
                message: e.message,
            }
        })?,
    };
    if let Some(operator_namespace) = operator_namespace {
        warn_ignored_secret_namespaces(&config, operator_namespace, &diagnostics);
    }
    Ok(Parsed {
        config,
        warnings: diagnostics.into_warnings(),
    })
}

/// Decodes the config from a ConfigMap's `data`.
///
/// `data` is `None` when the ConfigMap does not exist; pass `Some` of its data (an empty map
/// when the ConfigMap has no `data`) otherwise. An empty value under the key is the zero config.
///
/// # Errors
/// [`ConfigError::ConfigMapNotFound`] when `data` is `None`, [`ConfigError::KeyMissing`] when
/// the key is absent, otherwise as [`parse_str`].
///
/// Knowing the operator namespace (`location.namespace`), it also warns
/// ([`WarningKind::S3SecretNamespaceIgnored`]) about each profile whose `s3SecretRef.namespace`
/// names another namespace, which Ramen ignores.
pub fn from_config_map_data(
    location: &ConfigMapLocation<'_>,
    data: Option<&BTreeMap<String, String>>,
) -> Result<Parsed, ConfigError> {
    let data = data.ok_or_else(|| ConfigError::ConfigMapNotFound {
        namespace: location.namespace.to_owned(),
        name: location.name.to_owned(),
    })?;
    let yaml = data
        .get(location.key)
        .ok_or_else(|| ConfigError::KeyMissing {
            namespace: location.namespace.to_owned(),
            name: location.name.to_owned(),
            key: location.key.to_owned(),
        })?;
    parse(yaml, Some(location.namespace))
}

/// Warns about every profile whose `s3SecretRef.namespace` is set to another namespace than the
/// operator's: Ramen ignores it silently and reads the Secret from the operator namespace.
fn warn_ignored_secret_namespaces(
    config: &RamenConfig,
    operator_namespace: &str,
    diagnostics: &Diagnostics,
) {
    for (i, profile) in config.s3_store_profiles.iter().enumerate() {
        let namespace = &profile.s3_secret_ref.namespace;
        if namespace.is_empty() || namespace == operator_namespace {
            continue;
        }
        let path = format!("s3StoreProfiles[{i}].s3SecretRef.namespace");
        let mark = diagnostics.mark_of(&path).unwrap_or_default();
        diagnostics.push(Warning {
            path,
            line: mark.line,
            column: mark.column,
            kind: WarningKind::S3SecretNamespaceIgnored {
                namespace: namespace.clone(),
                operator_namespace: operator_namespace.to_owned(),
                profile: profile.s3_profile_name.clone(),
            },
        });
    }
}

impl RamenConfig {
    /// Serializes the config as YAML that Ramen reads back to the same values (wire field
    /// names, durations as Go strings, `caCertificates` as base64, strings quoted where YAML 1.1
    /// would otherwise read them as something else).
    ///
    /// # Errors
    /// [`ConfigError::Serialize`] if the YAML serializer fails, which plain config data does
    /// not provoke.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        serde_saphyr::to_string(self).map_err(|e| ConfigError::Serialize {
            message: e.to_string(),
        })
    }
}
