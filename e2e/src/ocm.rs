//! What a real OCM hub makes of the objects the operator writes: plays OCM's placement controller for
//! PlacementRules, creates managed clusters, and reads back the replicated Policies that OCM's
//! governance-policy-propagator (run by `make e2e-real`) puts into each cluster's namespace, decrypting
//! the values its hub templates resolved to. Values are only ever compared, never printed.

use crate::Hub;
use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use drpolicy_api::names::S3_SECRET_KEYS;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Set by `make e2e-real`: the propagator runs, so the tests of this module can run.
pub const PROPAGATOR_ENV: &str = "E2E_OCM_PROPAGATOR";
/// Prefix of a value the propagator encrypted (go-template-utils `protect`).
const ENCRYPTED_PREFIX: &str = "$ocm_encrypted:";
/// Annotation of a replicated Policy holding the AES-CBC initialization vector.
const IV_ANNOTATION: &str = "policy.open-cluster-management.io/encryption-iv";
/// Per-cluster Secret (in the cluster's namespace) holding the AES key.
const KEY_SECRET: &str = "policy-encryption-key";

/// Whether the OCM propagator runs beside the hub under test.
pub fn propagator_runs() -> bool {
    std::env::var(PROPAGATOR_ENV).is_ok_and(|v| v == "1")
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn placement_rules() -> ApiResource {
    resource(
        "apps.open-cluster-management.io",
        "v1",
        "PlacementRule",
        "placementrules",
    )
}

fn policies() -> ApiResource {
    resource(
        "policy.open-cluster-management.io",
        "v1",
        "Policy",
        "policies",
    )
}

/// The name of the replicated Policy of root Policy `namespace/name`.
pub fn replicated_name(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

impl Hub {
    /// Registers managed cluster `name` as OCM's registration would leave it: a ManagedCluster
    /// accepted by the hub and the cluster namespace of the same name.
    pub async fn ensure_managed_cluster(&self, name: &str) -> anyhow::Result<()> {
        test_fixtures::managed_cluster::register(&self.client, name).await?;
        Ok(())
    }

    /// Plays OCM's placement controller until the handle is aborted: every PlacementRule of the
    /// operator namespace gets `status.decisions` = the clusters its spec lists.
    pub fn play_placement(&self) -> JoinHandle<()> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &placement_rules());
        tokio::spawn(async move {
            loop {
                if let Ok(rules) = api.list(&Default::default()).await {
                    for rule in rules {
                        let Some(name) = rule.metadata.name.as_deref() else {
                            continue;
                        };
                        let decisions: Vec<Value> = rule.data["spec"]["clusters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|c| c["name"].as_str())
                            .map(|c| json!({"clusterName": c, "clusterNamespace": c}))
                            .collect();
                        let current = &rule.data["status"]["decisions"];
                        if current.as_array().map(Vec::as_slice).unwrap_or_default()
                            != decisions.as_slice()
                        {
                            let patch = json!({"status": {"decisions": decisions}});
                            // A rule deleted meanwhile or a conflict: the next round sees it anew.
                            let _ = api
                                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                                .await;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    }

    /// The replicated Policy of root Policy `root` in cluster namespace `cluster`, if it exists.
    pub async fn replicated_policy(
        &self,
        cluster: &str,
        root: &str,
    ) -> anyhow::Result<Option<DynamicObject>> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), cluster, &policies());
        Ok(api.get_opt(&replicated_name(&self.namespace, root)).await?)
    }

    /// The Secret data (key → base64 text, as in the Secret's `data`) that the replicated Policy of
    /// root Policy `root` delivers to `cluster`, decrypted with the cluster's key; `None` while the
    /// replicated Policy does not exist or its templates are not resolved.
    pub async fn delivered_data(
        &self,
        cluster: &str,
        root: &str,
    ) -> anyhow::Result<Option<BTreeMap<String, String>>> {
        let Some(replicated) = self.replicated_policy(cluster, root).await? else {
            return Ok(None);
        };
        let data = &replicated.data["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
            [0]["objectDefinition"]["data"];
        let Some(data) = data.as_object() else {
            bail!(
                "replicated policy {cluster}/{root} has no Secret data in its first object template"
            );
        };
        if data
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.contains("{{hub")))
        {
            return Ok(None);
        }
        let Some(iv) = replicated
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(IV_ANNOTATION))
        else {
            bail!("replicated policy {cluster}/{root} has resolved data but no {IV_ANNOTATION}");
        };
        let iv = STANDARD
            .decode(iv)
            .context("the encryption IV is not base64")?;
        let key = self.cluster_key(cluster).await?;
        let mut out = BTreeMap::new();
        for (name, value) in data {
            let Some(text) = value.as_str() else {
                bail!("replicated policy {cluster}/{root}: data key {name} is not a string");
            };
            out.insert(
                name.clone(),
                decrypt(text, &key, &iv).with_context(|| {
                    format!("replicated policy {cluster}/{root}: data key {name}")
                })?,
            );
        }
        Ok(Some(out))
    }

    async fn cluster_key(&self, cluster: &str) -> anyhow::Result<Vec<u8>> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), cluster);
        let secret = secrets
            .get(KEY_SECRET)
            .await
            .with_context(|| format!("reading {cluster}/{KEY_SECRET}"))?;
        secret
            .data
            .and_then(|mut d| d.remove("key"))
            .map(|k| k.0)
            .with_context(|| format!("{cluster}/{KEY_SECRET} has no key"))
    }

    /// The S3 data keys of hub Secret `name`, as base64 text (what a hub template resolves to).
    pub async fn hub_secret_data(&self, name: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let secret = self.secrets().get(name).await?;
        let data = secret.data.unwrap_or_default();
        Ok(S3_SECRET_KEYS
            .iter()
            .filter_map(|k| {
                data.get(*k)
                    .map(|v| ((*k).to_owned(), STANDARD.encode(&v.0)))
            })
            .collect())
    }

    /// Whether the root Policy `name` of the operator namespace exists.
    pub async fn root_policy_exists(&self, name: &str) -> anyhow::Result<bool> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &policies());
        Ok(api.get_opt(name).await?.is_some())
    }
}

/// Decrypts a value encrypted by go-template-utils' `protect`: `$ocm_encrypted:` + base64 of
/// AES-256-CBC with PKCS#7 padding.
pub fn decrypt(value: &str, key: &[u8], iv: &[u8]) -> anyhow::Result<String> {
    let Some(encoded) = value.strip_prefix(ENCRYPTED_PREFIX) else {
        bail!("the value is not encrypted (no {ENCRYPTED_PREFIX} prefix)");
    };
    let cipher = STANDARD
        .decode(encoded)
        .context("the encrypted value is not base64")?;
    let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
        .map_err(|_| anyhow::anyhow!("the key is not 32 bytes or the IV not 16"))?;
    let plain = decryptor
        .decrypt_padded_vec_mut::<Pkcs7>(&cipher)
        .map_err(|_| anyhow::anyhow!("decryption failed (wrong key, IV or padding)"))?;
    String::from_utf8(plain).context("the decrypted value is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    #[test]
    fn decrypt_reverses_protect() {
        let key = [7u8; 32];
        let iv = [3u8; 16];
        let encrypted = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(b"bWluaW8=");
        let value = format!("{ENCRYPTED_PREFIX}{}", STANDARD.encode(encrypted));
        assert_eq!(decrypt(&value, &key, &iv).unwrap(), "bWluaW8=");
        assert!(decrypt("bWluaW8=", &key, &iv).is_err());
    }
}
