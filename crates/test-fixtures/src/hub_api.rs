//! A hub as the tests read it: the typed APIs of its objects in the operator namespace, and the reads
//! and waits every suite makes of them (a policy's conditions, a Secret's PlacementRule, finalizers,
//! what the operator wrote).

use crate::config::operator_configmap;
use crate::drpolicy::drpolicy;
use crate::error::{Context, FixtureError};
use crate::secret::{S3Credentials, s3_secret};
use crate::wait::{Patience, eventually};
use drpolicy_api::names::{HUB_OPERATOR_CONFIGMAP, SECRET_POLICY_FINALIZER};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRPlacementControl, DRPolicy};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

/// The resources the operator watches on a hub, so lists again on a relist.
pub const WATCHED_RESOURCES: [&str; 10] = [
    "drpolicies",
    "drclusters",
    "drplacementcontrols",
    "secrets",
    "configmaps",
    "policies",
    "placementrules",
    "placementbindings",
    "managedclusters",
    "managedclusterviews",
];

/// The scheduling interval of the policies [`HubApi::create_policy`] creates.
pub const POLICY_INTERVAL: &str = "5m";

/// A client of a hub, the operator namespace, the field manager of the tests' own applies, and how
/// long its waits wait.
#[derive(Clone)]
pub struct HubApi {
    /// API client.
    pub client: Client,
    /// The operator namespace.
    pub namespace: String,
    /// Field manager of [`HubApi::put_config`] and [`HubApi::apply_secret`].
    pub field_manager: String,
    /// Patience of every `wait_*`.
    pub patience: Patience,
}

impl HubApi {
    /// The hub behind `client` with operator namespace `namespace`.
    pub fn new(client: Client, namespace: impl Into<String>, patience: Patience) -> Self {
        HubApi {
            client,
            namespace: namespace.into(),
            field_manager: crate::seed::FIELD_MANAGER.into(),
            patience,
        }
    }

    /// DRPolicies.
    pub fn policies(&self) -> Api<DRPolicy> {
        Api::all(self.client.clone())
    }
    /// DRClusters.
    pub fn drclusters(&self) -> Api<DRCluster> {
        Api::all(self.client.clone())
    }
    /// DRPlacementControls of `namespace`.
    pub fn drpcs(&self, namespace: &str) -> Api<DRPlacementControl> {
        Api::namespaced(self.client.clone(), namespace)
    }
    /// Secrets of the operator namespace.
    pub fn secrets(&self) -> Api<Secret> {
        self.in_namespace()
    }
    /// ConfigMaps of the operator namespace.
    pub fn configmaps(&self) -> Api<ConfigMap> {
        self.in_namespace()
    }
    /// OCM Policies of the operator namespace.
    pub fn ocm_policies(&self) -> Api<Policy> {
        self.in_namespace()
    }
    /// PlacementRules of the operator namespace.
    pub fn rules(&self) -> Api<PlacementRule> {
        self.in_namespace()
    }
    /// PlacementBindings of the operator namespace.
    pub fn bindings(&self) -> Api<PlacementBinding> {
        self.in_namespace()
    }

    fn in_namespace<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Server-side applies the operator ConfigMap holding RamenConfig `yaml` (created when missing;
    /// what others wrote into it, like the operator's backup label, stays).
    pub async fn put_config(&self, yaml: &str) -> Result<ConfigMap, FixtureError> {
        self.configmaps()
            .patch(
                HUB_OPERATOR_CONFIGMAP,
                &PatchParams::apply(&self.field_manager).force(),
                &Patch::Apply(&operator_configmap(&self.namespace, yaml)),
            )
            .await
            .context(|| format!("applying ConfigMap {HUB_OPERATOR_CONFIGMAP}"))
    }

    /// Server-side applies S3 Secret `name` holding `credentials`.
    pub async fn apply_secret(
        &self,
        name: &str,
        credentials: &S3Credentials,
    ) -> Result<Secret, FixtureError> {
        self.secrets()
            .patch(
                name,
                &PatchParams::apply(&self.field_manager).force(),
                &Patch::Apply(&s3_secret(&self.namespace, name, credentials)),
            )
            .await
            .context(|| format!("applying Secret {name}"))
    }

    /// Creates DRPolicy `name` over `clusters`, replicating every [`POLICY_INTERVAL`].
    pub async fn create_policy(
        &self,
        name: &str,
        clusters: &[&str],
    ) -> Result<DRPolicy, FixtureError> {
        self.policies()
            .create(
                &PostParams::default(),
                &drpolicy(name, clusters, POLICY_INTERVAL),
            )
            .await
            .context(|| format!("creating DRPolicy {name}"))
    }

    /// Deletes DRPolicy `name` (it goes once the operator released it).
    pub async fn delete_policy(&self, name: &str) -> Result<(), FixtureError> {
        self.policies()
            .delete(name, &DeleteParams::default())
            .await
            .context(|| format!("deleting DRPolicy {name}"))?;
        Ok(())
    }

    /// Waits until DRPolicy `name` is gone.
    pub async fn wait_policy_gone(&self, name: &str) -> Result<(), FixtureError> {
        eventually(&format!("drpolicy {name} gone"), self.patience, || async {
            let policy = self.policies().get_opt(name).await;
            Ok(policy
                .context(|| format!("reading DRPolicy {name}"))?
                .is_none()
                .then_some(()))
        })
        .await
    }

    /// Condition `type_` of DRPolicy `name` as (status, reason, message), if both exist.
    pub async fn condition(
        &self,
        name: &str,
        type_: &str,
    ) -> Result<Option<(String, String, String)>, FixtureError> {
        let policy = self.policies().get_opt(name).await;
        let Some(policy) = policy.context(|| format!("reading DRPolicy {name}"))? else {
            return Ok(None);
        };
        Ok(policy
            .condition(type_)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone())))
    }

    /// Waits until DRPolicy `name` has condition `type_` with `status` and `reason`; its message.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> Result<String, FixtureError> {
        let what = format!("{name} {type_}={status}/{reason}");
        eventually(&what, self.patience, || async {
            Ok(self
                .condition(name, type_)
                .await?
                .filter(|(s, r, _)| s == status && r == reason)
                .map(|(_, _, message)| message))
        })
        .await
    }

    /// The clusters of PlacementRule `plrule-<secret>`, if it exists.
    pub async fn rule_clusters(&self, secret: &str) -> Result<Option<Vec<String>>, FixtureError> {
        let name = format!("plrule-{secret}");
        let rule = self.rules().get_opt(&name).await;
        let rule = rule.context(|| format!("reading PlacementRule {name}"))?;
        Ok(rule.map(|r| r.cluster_names().map(str::to_owned).collect()))
    }

    /// Waits until PlacementRule `plrule-<secret>` lists exactly `clusters` (`None`: until it does not
    /// exist).
    pub async fn wait_rule(
        &self,
        secret: &str,
        clusters: Option<&[&str]>,
    ) -> Result<(), FixtureError> {
        let want: Option<Vec<String>> = clusters.map(|c| c.iter().map(|s| s.to_string()).collect());
        eventually(
            &format!("plrule-{secret} = {want:?}"),
            self.patience,
            || async { Ok((self.rule_clusters(secret).await? == want).then_some(())) },
        )
        .await
    }

    /// Whether Secret `name` carries the ramen-format policy-protection finalizer.
    pub async fn secret_has_finalizer(&self, name: &str) -> Result<bool, FixtureError> {
        let secret = self.secrets().get_opt(name).await;
        Ok(secret
            .context(|| format!("reading Secret {name}"))?
            .is_some_and(|s| s.finalizers().iter().any(|f| f == SECRET_POLICY_FINALIZER)))
    }

    /// The finalizers of Secret `name`, if it exists.
    pub async fn secret_finalizers(&self, name: &str) -> Result<Option<Vec<String>>, FixtureError> {
        let secret = self.secrets().get_opt(name).await;
        Ok(secret
            .context(|| format!("reading Secret {name}"))?
            .map(|s| s.finalizers().to_vec()))
    }

    /// The names of every OCM Policy, PlacementRule and PlacementBinding of the operator namespace,
    /// sorted.
    pub async fn ocm_object_names(&self) -> Result<Vec<String>, FixtureError> {
        let mut names: Vec<String> = self
            .ocm_objects()
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The OCM Policies, PlacementRules and PlacementBindings of the operator namespace, as JSON text.
    pub async fn ocm_objects_json(&self) -> Result<Vec<String>, FixtureError> {
        Ok(self
            .ocm_objects()
            .await?
            .into_iter()
            .map(|(_, json)| json)
            .collect())
    }

    /// Every DRPolicy and every OCM object of the operator namespace ([`HubApi::ocm_objects_json`]),
    /// as JSON text: what the operator writes.
    pub async fn written_objects(&self) -> Result<Vec<String>, FixtureError> {
        let policies = self.policies().list(&ListParams::default()).await;
        let mut out = to_json(policies.context(|| "listing DRPolicies".into())?.items)?;
        out.extend(self.ocm_objects_json().await?);
        Ok(out)
    }

    /// (name, JSON) of every OCM Policy, PlacementRule and PlacementBinding.
    async fn ocm_objects(&self) -> Result<Vec<(String, String)>, FixtureError> {
        let lp = ListParams::default();
        let policies = self.ocm_policies().list(&lp).await;
        let rules = self.rules().list(&lp).await;
        let bindings = self.bindings().list(&lp).await;
        let mut out = named_json(policies.context(|| "listing OCM Policies".into())?.items)?;
        out.extend(named_json(
            rules.context(|| "listing PlacementRules".into())?.items,
        )?);
        out.extend(named_json(
            bindings
                .context(|| "listing PlacementBindings".into())?
                .items,
        )?);
        Ok(out)
    }
}

fn named_json<K: kube::Resource + serde::Serialize>(
    items: Vec<K>,
) -> Result<Vec<(String, String)>, FixtureError> {
    items
        .into_iter()
        .map(|o| {
            let name = o.name_any();
            serde_json::to_string(&o)
                .map(|json| (name.clone(), json))
                .map_err(|source| FixtureError::Json { what: name, source })
        })
        .collect()
}

fn to_json<K: kube::Resource + serde::Serialize>(
    items: Vec<K>,
) -> Result<Vec<String>, FixtureError> {
    Ok(named_json(items)?
        .into_iter()
        .map(|(_, json)| json)
        .collect())
}
