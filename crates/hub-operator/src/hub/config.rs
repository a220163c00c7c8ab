//! The parsed RamenConfig, re-parsed only when the operator ConfigMap's resourceVersion changes.

use drpolicy_api::names::HUB_OPERATOR_CONFIGMAP;
use k8s_openapi::api::core::v1::ConfigMap;
use parking_lot::Mutex;
use ramen_config::RamenConfig;
use std::sync::Arc;

/// Why the current config cannot be used (its text is the `ConfigMapGetFailed` message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigProblem {
    /// No version of the ConfigMap has been parsed yet.
    #[error("config not read yet")]
    NotRead,
    /// The ConfigMap is missing or its RamenConfig does not parse: where and why.
    #[error(transparent)]
    Invalid(Arc<ramen_config::ConfigError>),
}

/// The config as the reconcile sees it.
#[derive(Clone, Debug)]
pub(crate) struct ConfigView {
    /// The current config, or why it cannot be used.
    pub(crate) current: Result<Arc<RamenConfig>, ConfigProblem>,
    /// The last config that parsed, for cleaning up deleting policies while the current one is broken.
    pub(crate) last_good: Option<Arc<RamenConfig>>,
}

impl ConfigView {
    /// The config to act on: the current one, or while it is broken the last one that parsed.
    pub(crate) fn usable(&self) -> Option<Arc<RamenConfig>> {
        self.current.clone().ok().or_else(|| self.last_good.clone())
    }

    /// Whether the current config, or the last one that parsed, has a profile naming Secret `name`.
    pub(crate) fn names_secret(&self, name: &str) -> bool {
        self.current
            .as_ref()
            .ok()
            .into_iter()
            .chain(self.last_good.as_ref())
            .any(|c| {
                c.s3_store_profiles
                    .iter()
                    .any(|p| p.s3_secret_ref.name == name)
            })
    }
}

#[derive(Default)]
struct Parsed {
    resource_version: Option<String>,
    current: Option<Result<Arc<RamenConfig>, ConfigProblem>>,
    last_good: Option<Arc<RamenConfig>>,
}

impl Parsed {
    fn view(&self) -> ConfigView {
        ConfigView {
            current: self.current.clone().unwrap_or(Err(ConfigProblem::NotRead)),
            last_good: self.last_good.clone(),
        }
    }
}

/// The config cache.
#[derive(Default)]
pub(crate) struct ConfigCache(Mutex<Parsed>);

impl ConfigCache {
    /// The config of `configmap` (the cached operator ConfigMap), parsed only when its
    /// resourceVersion changed. Warnings are logged once per ConfigMap version.
    ///
    /// The parse runs outside the lock: readers of the parsed config never wait for a parse (several
    /// reconciles meeting a new version at once may each parse it; parsing is bounded in time and
    /// memory by `ramen-config`, and only the first result is kept and logged).
    pub(crate) fn get(&self, namespace: &str, configmap: Option<&ConfigMap>) -> ConfigView {
        let version = configmap.and_then(|c| c.metadata.resource_version.clone());
        {
            let cache = self.0.lock();
            if cache.current.is_some() && cache.resource_version == version {
                return cache.view();
            }
        }
        let parsed = crate::settings::parse_operator_config(namespace, configmap);
        let mut cache = self.0.lock();
        if cache.current.is_some() && !newer(version.as_deref(), cache.resource_version.as_deref())
        {
            // Another reconcile stored this version (or a newer one) meanwhile.
            return cache.view();
        }
        let current = match parsed {
            Ok(parsed) => {
                for warning in &parsed.warnings {
                    tracing::warn!(configmap = HUB_OPERATOR_CONFIGMAP, "{warning}");
                }
                let config = Arc::new(parsed.config);
                cache.last_good = Some(config.clone());
                Ok(config)
            }
            Err(error) => {
                tracing::error!(configmap = HUB_OPERATOR_CONFIGMAP, "{error}");
                Err(ConfigProblem::Invalid(Arc::new(error)))
            }
        };
        cache.current = Some(current);
        cache.resource_version = version;
        cache.view()
    }
}

/// Whether ConfigMap version `candidate` should replace `stored`: it differs, and is not older when
/// both are numeric (resourceVersions are opaque, but the API server's are increasing numbers).
fn newer(candidate: Option<&str>, stored: Option<&str>) -> bool {
    if candidate == stored {
        return false;
    }
    match (
        candidate.and_then(|v| v.parse::<u64>().ok()),
        stored.and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(candidate), Some(stored)) => candidate > stored,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_parsed_meanwhile_is_replaced_only_by_a_newer_version() {
        assert!(!newer(Some("7"), Some("7")));
        assert!(
            !newer(Some("6"), Some("7")),
            "a slower reconcile's older parse loses"
        );
        assert!(newer(Some("8"), Some("7")));
        assert!(newer(None, Some("7")), "the ConfigMap was deleted");
        assert!(newer(Some("7"), None));
        assert!(newer(Some("opaque"), Some("7")));
    }
}
