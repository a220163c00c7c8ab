//! The operator's configuration: a RamenConfig document built field by field ([`RamenConfigYaml`]),
//! and the `ramen-hub-operator-config` ConfigMap that holds it ([`operator_configmap`]).

use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, RAMEN_CONFIG_KEY};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// One entry of `s3StoreProfiles`; the optional fields are left out of the document when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Profile {
    /// `s3ProfileName`.
    pub name: String,
    /// `s3SecretRef.name`.
    pub secret: String,
    /// `s3SecretRef.namespace` (the operator namespace when absent).
    pub secret_namespace: Option<String>,
    /// `s3Bucket`.
    pub bucket: Option<String>,
    /// `s3CompatibleEndpoint`.
    pub endpoint: Option<String>,
    /// `s3Region`.
    pub region: Option<String>,
}

impl S3Profile {
    /// Profile `name` naming Secret `secret`, and nothing else.
    pub fn new(name: impl Into<String>, secret: impl Into<String>) -> Self {
        S3Profile {
            name: name.into(),
            secret: secret.into(),
            secret_namespace: None,
            bucket: None,
            endpoint: None,
            region: None,
        }
    }

    /// The same profile with bucket `bucket` at `endpoint` in `region`.
    pub fn store(mut self, endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        self.bucket = Some("bucket".into());
        self.endpoint = Some(endpoint.into());
        self.region = Some(region.into());
        self
    }

    /// The same profile with its Secret in `namespace`.
    pub fn secret_in(mut self, namespace: impl Into<String>) -> Self {
        self.secret_namespace = Some(namespace.into());
        self
    }

    fn yaml(&self) -> String {
        let mut yaml = format!("- s3ProfileName: {}\n", self.name);
        for (key, value) in [
            ("s3Bucket", &self.bucket),
            ("s3CompatibleEndpoint", &self.endpoint),
            ("s3Region", &self.region),
        ] {
            if let Some(value) = value {
                yaml.push_str(&format!("  {key}: {value}\n"));
            }
        }
        match &self.secret_namespace {
            Some(namespace) => yaml.push_str(&format!(
                "  s3SecretRef: {{name: {}, namespace: {namespace}}}\n",
                self.secret
            )),
            None => yaml.push_str(&format!("  s3SecretRef: {{name: {}}}\n", self.secret)),
        }
        yaml
    }
}

/// A RamenConfig document. [`RamenConfigYaml::hub`] is what a dr-hub operator is deployed with;
/// [`RamenConfigYaml::default`] says nothing but what is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RamenConfigYaml {
    /// `apiVersion`, `kind` and `ramenControllerType: dr-hub` at the top.
    pub header: bool,
    /// `maxConcurrentReconciles`.
    pub max_concurrent_reconciles: Option<u32>,
    /// `drClusterOperator.deploymentAutomationEnabled`.
    pub deployment_automation: Option<bool>,
    /// `drClusterOperator.s3SecretDistributionEnabled`.
    pub distribution_enabled: Option<bool>,
    /// `drClusterOperator.namespaceName`.
    pub operator_namespace: Option<String>,
    /// `ramenOpsNamespace`.
    pub ops_namespace: Option<String>,
    /// `kubeObjectProtection.veleroNamespaceName`: every Secret is distributed in the velero format
    /// too.
    pub velero_namespace: Option<String>,
    /// `s3StoreProfiles`.
    pub profiles: Vec<S3Profile>,
}

impl RamenConfigYaml {
    /// A dr-hub config with deployment automation and secret distribution on, and `profiles`.
    pub fn hub(profiles: impl IntoIterator<Item = S3Profile>) -> Self {
        RamenConfigYaml {
            header: true,
            deployment_automation: Some(true),
            distribution_enabled: Some(true),
            profiles: profiles.into_iter().collect(),
            ..Default::default()
        }
    }

    /// A config of nothing but `profiles`.
    pub fn profiles(profiles: impl IntoIterator<Item = S3Profile>) -> Self {
        RamenConfigYaml {
            profiles: profiles.into_iter().collect(),
            ..Default::default()
        }
    }

    /// The same config with `drClusterOperator.namespaceName`.
    pub fn operator_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.operator_namespace = Some(namespace.into());
        self
    }

    /// The same config with `maxConcurrentReconciles`.
    pub fn max_concurrent_reconciles(mut self, max: u32) -> Self {
        self.max_concurrent_reconciles = Some(max);
        self
    }

    /// The same config with secret distribution switched on or off.
    pub fn distribution(mut self, enabled: bool) -> Self {
        self.distribution_enabled = Some(enabled);
        self
    }

    /// The same config with the velero format on, Velero in `namespace`.
    pub fn velero(mut self, namespace: impl Into<String>) -> Self {
        self.velero_namespace = Some(namespace.into());
        self
    }

    /// The same config with `ramenOpsNamespace`.
    pub fn ops_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.ops_namespace = Some(namespace.into());
        self
    }

    /// The same config with profile `profile` naming Secret `secret` instead.
    pub fn profile_secret(mut self, profile: &str, secret: &str) -> Self {
        for p in self.profiles.iter_mut().filter(|p| p.name == profile) {
            p.secret = secret.into();
        }
        self
    }

    /// The document.
    pub fn yaml(&self) -> String {
        let mut yaml = String::new();
        if self.header {
            yaml.push_str(
                "apiVersion: ramendr.openshift.io/v1alpha1\nkind: RamenConfig\n\
                 ramenControllerType: dr-hub\n",
            );
        }
        if let Some(max) = self.max_concurrent_reconciles {
            yaml.push_str(&format!("maxConcurrentReconciles: {max}\n"));
        }
        let operator: Vec<String> = [
            self.deployment_automation
                .map(|on| format!("deploymentAutomationEnabled: {on}")),
            self.distribution_enabled
                .map(|on| format!("s3SecretDistributionEnabled: {on}")),
            self.operator_namespace
                .as_ref()
                .map(|ns| format!("namespaceName: {ns}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !operator.is_empty() {
            yaml.push_str("drClusterOperator:\n");
            for line in operator {
                yaml.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(namespace) = &self.ops_namespace {
            yaml.push_str(&format!("ramenOpsNamespace: {namespace}\n"));
        }
        if let Some(namespace) = &self.velero_namespace {
            yaml.push_str(&format!(
                "kubeObjectProtection:\n  veleroNamespaceName: {namespace}\n"
            ));
        }
        if self.profiles.is_empty() {
            yaml.push_str("s3StoreProfiles: []\n");
        } else {
            yaml.push_str("s3StoreProfiles:\n");
            for profile in &self.profiles {
                yaml.push_str(&profile.yaml());
            }
        }
        yaml
    }
}

/// The operator ConfigMap `ramen-hub-operator-config` of `namespace`, holding RamenConfig `yaml`.
pub fn operator_configmap(namespace: &str, yaml: &str) -> ConfigMap {
    let mut configmap = ConfigMap::default();
    configmap.metadata.name = Some(HUB_OPERATOR_CONFIGMAP.into());
    configmap.metadata.namespace = Some(namespace.into());
    configmap.data = Some(BTreeMap::from([(
        RAMEN_CONFIG_KEY.to_owned(),
        yaml.to_owned(),
    )]));
    configmap
}
