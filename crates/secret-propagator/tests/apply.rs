//! The applier against the embedded API server: objects written, and requests counted in its log.

use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::names::{
    CREATED_BY_RAMEN_LABEL, POLICY_TRIGGER_ANNOTATION, SECRET_POLICY_FINALIZER,
    SECRET_POLICY_FINALIZER_VELERO,
};
use drpolicy_api::ocm::{Delivery, Policy, SecretDistribution, velero_credentials_template};
use drpolicy_api::{DRCluster, DRPolicy};
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use secret_propagator::{
    Action, Applied, Applier, LiveObjects, Plan, PlanInputs, Scope, SecretState, Secrets,
    distributes_in, plan,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use test_apiserver::TestApiServer;
use test_fixtures::{
    CrdSet, HubApi, HubSeed, RamenConfigYaml, S3Credentials, S3Profile, by_name, drcluster,
    drpolicy,
};

const NS: &str = "ramen-system";
const ACCESS_KEY: &str = "AKIA-do-not-leak";
const SECRET_KEY: &str = "s3cr3t-do-not-leak";

/// Cluster `x` uses profile `s3-x`, whose Secret is `secret-x`.
fn profiles() -> RamenConfigYaml {
    RamenConfigYaml::profiles(
        ["a", "b", "c"].map(|n| S3Profile::new(format!("s3-{n}"), format!("secret-{n}"))),
    )
}

/// [`profiles`] with the velero format on, Velero in namespace `velero`.
fn velero() -> RamenConfigYaml {
    profiles().velero("velero")
}

struct Hub {
    server: TestApiServer,
    /// The hub's objects (`hub.ocm_policies()`, `hub.secrets()`, ...).
    api: HubApi,
    config: ramen_config::RamenConfig,
    drclusters: BTreeMap<String, DRCluster>,
}

impl std::ops::Deref for Hub {
    type Target = HubApi;

    fn deref(&self) -> &HubApi {
        &self.api
    }
}

impl Hub {
    /// A hub with OCM's governance CRDs, the namespace and Secrets `secret-a` … `secret-c`; DRClusters
    /// `a` … `c` using profiles `s3-a` … `s3-c`, and `config`, as a cache would hold them.
    async fn start(config: &RamenConfigYaml) -> Hub {
        let server = TestApiServer::start().await.unwrap();
        let api = HubSeed::new(NS, S3Credentials::new(ACCESS_KEY, SECRET_KEY))
            .crds(CrdSet::governance())
            .secrets(["secret-a", "secret-b", "secret-c"])
            .apply(&server.client())
            .await
            .unwrap();
        Hub {
            server,
            api,
            config: ramen_config::parse_str(&config.yaml()).unwrap().config,
            drclusters: by_name(["a", "b", "c"].map(|n| drcluster(n, &format!("s3-{n}")))),
        }
    }

    async fn default() -> Hub {
        Hub::start(&profiles()).await
    }

    /// The default hub with the velero format on.
    async fn velero() -> Hub {
        Hub::start(&velero()).await
    }

    /// The same hub read with another config document.
    fn with_config(self, config: &str) -> Hub {
        Hub {
            config: ramen_config::parse_str(config).unwrap().config,
            ..self
        }
    }

    async fn create_secret(&self, name: &str) {
        let credentials = S3Credentials::new(ACCESS_KEY, SECRET_KEY);
        self.apply_secret(name, &credentials).await.unwrap();
    }

    /// The state a cache would hold (read before the run and outside the measured window).
    async fn observe(&self) -> (Secrets, LiveObjects) {
        let lp = ListParams::default();
        let secrets = self
            .secrets()
            .list_metadata(&lp)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.name_any(), SecretState::from_meta(&s.metadata)))
            .collect();
        let live = LiveObjects {
            policies: arcs(self.ocm_policies().list(&lp).await.unwrap().items),
            placement_rules: arcs(self.rules().list(&lp).await.unwrap().items),
            placement_bindings: arcs(self.bindings().list(&lp).await.unwrap().items),
        };
        (secrets, live)
    }

    fn plan(&self, holders: &[&DRPolicy], secrets: &Secrets) -> Plan {
        let inputs = PlanInputs {
            namespace: NS,
            config: &self.config,
            drclusters: &self.drclusters,
            secrets,
        };
        plan(&inputs, holders.iter().copied(), Scope::All)
    }

    /// Observes, plans and applies once; returns the writes and the number of API requests it made.
    async fn converge(&self, holders: &[&DRPolicy]) -> (Vec<Applied>, usize) {
        let (secrets, live) = self.observe().await;
        let plan = self.plan(holders, &secrets);
        let mark = self.server.hooks().mark();
        let report = Applier::new(self.client.clone())
            .apply(&plan, &secrets, &live)
            .await;
        assert!(report.is_ok(), "{:?}", report.errors);
        (
            report.applied,
            self.server.hooks().requests_since(mark).len(),
        )
    }

    async fn rule_clusters(&self, secret: &str) -> Option<Vec<String>> {
        self.api.rule_clusters(secret).await.unwrap()
    }

    async fn ocm_object_names(&self) -> BTreeSet<String> {
        let names = self.api.ocm_object_names().await.unwrap();
        names.into_iter().collect()
    }

    async fn has_finalizer(&self, secret: &str) -> bool {
        self.secret_has_finalizer(secret).await.unwrap()
    }

    async fn finalizers(&self, secret: &str) -> Vec<String> {
        self.secret_finalizers(secret).await.unwrap().unwrap()
    }

    async fn secret_version(&self, secret: &str) -> String {
        self.secrets()
            .get(secret)
            .await
            .unwrap()
            .resource_version()
            .unwrap()
    }

    /// `(resource, name)` of the writes since `mark`.
    fn writes_since(&self, mark: test_apiserver::Mark) -> Vec<(String, String)> {
        self.server
            .hooks()
            .writes_since(mark)
            .into_iter()
            .map(|r| (r.resource, r.name))
            .collect()
    }
}

/// `items` by name, shared as a cache holds them.
fn arcs<K: kube::Resource>(items: Vec<K>) -> BTreeMap<String, Arc<K>> {
    by_name(items)
        .into_iter()
        .map(|(name, o)| (name, Arc::new(o)))
        .collect()
}

fn policy(name: &str, clusters: &[&str]) -> DRPolicy {
    drpolicy(name, clusters, "")
}

fn actions(applied: &[Applied], secret: &str) -> Vec<Action> {
    applied
        .iter()
        .filter(|a| a.secret == secret)
        .map(|a| a.action.clone())
        .collect()
}

fn format_actions(applied: &[Applied], secret: &str) -> Vec<(Format, Action)> {
    applied
        .iter()
        .filter(|a| a.secret == secret)
        .map(|a| (a.format, a.action.clone()))
        .collect()
}

fn writes(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, n)| ((*r).to_owned(), (*n).to_owned()))
        .collect()
}

#[tokio::test]
async fn first_run_creates_everything_in_ramens_order_and_second_run_sends_nothing() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    let mark = hub.server.hooks().mark();
    let (applied, _) = hub.converge(&[&p]).await;
    for secret in ["secret-a", "secret-b"] {
        assert_eq!(
            actions(&applied, secret),
            [
                Action::FinalizerAdded,
                Action::BindingApplied,
                Action::PolicyApplied,
                Action::RuleApplied
            ]
        );
        assert_eq!(hub.rule_clusters(secret).await.unwrap(), ["a", "b"]);
        assert!(hub.has_finalizer(secret).await);
        let policy = hub.ocm_policies().get(secret).await.unwrap();
        let rv = hub.secrets().get(secret).await.unwrap().resource_version();
        assert_eq!(
            policy.trigger(),
            rv.as_deref(),
            "trigger is the Secret's version after the finalizer"
        );
        let binding = hub
            .bindings()
            .get(&format!("plbinding-{secret}"))
            .await
            .unwrap();
        assert_eq!(binding.spec.subjects[0].name, secret);
    }
    let writes: Vec<(String, String)> = hub
        .server
        .hooks()
        .writes_since(mark)
        .into_iter()
        .filter(|r| r.name.ends_with("secret-a"))
        .map(|r| (r.resource, r.name))
        .collect();
    assert_eq!(
        writes,
        [
            ("secrets".to_owned(), "secret-a".to_owned()),
            ("placementbindings".into(), "plbinding-secret-a".into()),
            ("policies".into(), "secret-a".into()),
            ("placementrules".into(), "plrule-secret-a".into()),
        ]
    );
    assert!(!hub.has_finalizer("secret-c").await);

    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(applied, []);
    assert_eq!(requests, 0, "a converged hub gets no request at all");
}

#[tokio::test]
async fn adding_and_removing_a_cluster_only_rewrites_placement_rules() {
    let hub = Hub::default().await;
    let p1 = policy("p1", &["a", "b"]);
    hub.converge(&[&p1]).await;

    let p2 = policy("p2", &["b", "c"]);
    let (applied, _) = hub.converge(&[&p1, &p2]).await;
    assert_eq!(
        hub.rule_clusters("secret-b").await.unwrap(),
        ["a", "b", "c"]
    );
    assert_eq!(hub.rule_clusters("secret-a").await.unwrap(), ["a", "b"]);
    assert_eq!(hub.rule_clusters("secret-c").await.unwrap(), ["b", "c"]);
    assert_eq!(actions(&applied, "secret-b"), [Action::RuleApplied]);
    assert_eq!(actions(&applied, "secret-a"), []);

    let (applied, _) = hub.converge(&[&p2]).await;
    assert_eq!(hub.rule_clusters("secret-b").await.unwrap(), ["b", "c"]);
    assert_eq!(actions(&applied, "secret-b"), [Action::RuleApplied]);
    assert_eq!(
        actions(&applied, "secret-a"),
        [
            Action::BindingDeleted,
            Action::PolicyDeleted,
            Action::RuleDeleted,
            Action::FinalizerRemoved
        ]
    );
    assert_eq!(hub.rule_clusters("secret-a").await, None);
    assert!(!hub.has_finalizer("secret-a").await);
}

#[tokio::test]
async fn a_secret_update_moves_the_trigger_to_its_new_version() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    let patch = serde_json::json!({"data": {"AWS_SECRET_ACCESS_KEY": "cm90YXRlZA=="}});
    let rotated = hub
        .secrets()
        .patch("secret-a", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, "secret-a"), [Action::PolicyApplied]);
    assert_eq!(requests, 1);
    let policy = hub.ocm_policies().get("secret-a").await.unwrap();
    assert_eq!(policy.trigger(), rotated.resource_version().as_deref());
}

#[tokio::test]
async fn a_deleted_secret_loses_its_distribution_and_finalizer_and_goes_away() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.secrets()
        .delete("secret-a", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        hub.secrets().get_opt("secret-a").await.unwrap().is_some(),
        "finalizer holds it"
    );

    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        actions(&applied, "secret-a"),
        [
            Action::BindingDeleted,
            Action::PolicyDeleted,
            Action::RuleDeleted,
            Action::FinalizerRemoved
        ]
    );
    assert!(hub.secrets().get_opt("secret-a").await.unwrap().is_none());
    assert_eq!(hub.rule_clusters("secret-b").await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn deleted_and_edited_objects_are_restored() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.ocm_policies()
        .delete("secret-a", &DeleteParams::default())
        .await
        .unwrap();
    let edit = serde_json::json!({"spec": {"clusters": [{"name": "intruder"}]}});
    hub.rules()
        .patch(
            "plrule-secret-b",
            &PatchParams::default(),
            &Patch::Merge(&edit),
        )
        .await
        .unwrap();
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, "secret-a"), [Action::PolicyApplied]);
    assert_eq!(actions(&applied, "secret-b"), [Action::RuleApplied]);
    assert_eq!(hub.rule_clusters("secret-b").await.unwrap(), ["a", "b"]);
    let policy = hub.ocm_policies().get("secret-a").await.unwrap();
    assert!(policy.trigger().is_some());
}

#[tokio::test]
async fn a_policy_without_annotations_is_repaired_not_a_crash() {
    let hub = Hub::default().await;
    let p = policy("p", &["a"]);
    hub.converge(&[&p]).await;
    let strip = serde_json::json!({"metadata": {"annotations": null}});
    hub.ocm_policies()
        .patch("secret-a", &PatchParams::default(), &Patch::Merge(&strip))
        .await
        .unwrap();
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, "secret-a"), [Action::PolicyApplied]);
    let policy = hub.ocm_policies().get("secret-a").await.unwrap();
    assert!(policy.annotations().contains_key(POLICY_TRIGGER_ANNOTATION));
}

#[tokio::test]
async fn with_distribution_off_nothing_is_created_and_a_deleted_policy_leaks_nothing() {
    let hub = Hub::default().await;
    let p1 = policy("p1", &["a", "b"]);
    let p2 = policy("p2", &["b", "c"]);
    hub.converge(&[&p1, &p2]).await;
    let before = hub.ocm_object_names().await;

    let off = Hub {
        config: ramen_config::parse_str(&profiles().distribution(false).yaml())
            .unwrap()
            .config,
        ..hub
    };
    let (applied, requests) = off.converge(&[&p1, &p2]).await;
    assert_eq!(
        (applied, requests),
        (vec![], 0),
        "switched off: existing distribution kept as is"
    );
    assert_eq!(off.ocm_object_names().await, before);

    // A new policy is not distributed while switched off: nothing grows.
    let p3 = policy("p3", &["a", "c"]);
    let (applied, _) = off.converge(&[&p1, &p2, &p3]).await;
    assert_eq!(applied, []);
    assert_eq!(off.rule_clusters("secret-a").await.unwrap(), ["a", "b"]);

    // Deleting p1 still removes what only it needed.
    let (applied, _) = off.converge(&[&p2]).await;
    assert_eq!(
        actions(&applied, "secret-a"),
        [
            Action::BindingDeleted,
            Action::PolicyDeleted,
            Action::RuleDeleted,
            Action::FinalizerRemoved
        ]
    );
    assert_eq!(actions(&applied, "secret-b"), [Action::RuleApplied]);
    assert_eq!(off.rule_clusters("secret-b").await.unwrap(), ["b", "c"]);
    // Deleting the last policy leaves nothing behind.
    off.converge(&[]).await;
    assert_eq!(off.ocm_object_names().await, BTreeSet::new());
    for s in ["secret-a", "secret-b", "secret-c"] {
        assert!(!off.has_finalizer(s).await, "{s}");
    }
}

#[tokio::test]
async fn two_concurrent_appliers_on_one_secret_converge_to_the_union() {
    let hub = Hub::default().await;
    let p1 = policy("p1", &["a", "b"]);
    let p2 = policy("p2", &["a", "c"]);
    // Both reconciles see both holders (both carry the finalizer) and run at once.
    let (secrets, live) = hub.observe().await;
    let plan = hub.plan(&[&p1, &p2], &secrets);
    let applier = Applier::new(hub.client.clone());
    let (one, two) = tokio::join!(
        applier.apply(&plan, &secrets, &live),
        applier.apply(&plan, &secrets, &live)
    );
    // One of the two finalizer patches may lose the optimistic-concurrency race; a retry fixes it.
    let failed: Vec<_> = one.errors.iter().chain(&two.errors).collect();
    assert!(
        failed.iter().all(|e| e.step.contains("finalizer")),
        "{failed:?}"
    );
    // Whatever the interleaving, no run removed what the other added.
    assert_eq!(
        hub.rule_clusters("secret-a").await.unwrap(),
        ["a", "b", "c"]
    );
    hub.converge(&[&p1, &p2]).await;
    assert_eq!(
        hub.rule_clusters("secret-a").await.unwrap(),
        ["a", "b", "c"]
    );
    assert_eq!(hub.rule_clusters("secret-b").await.unwrap(), ["a", "b"]);
    assert_eq!(hub.rule_clusters("secret-c").await.unwrap(), ["a", "c"]);
    let (applied, requests) = hub.converge(&[&p1, &p2]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn no_secret_value_appears_in_any_written_object() {
    let hub = Hub::velero().await;
    let p = policy("p", &["a", "b", "c"]);
    hub.converge(&[&p]).await;
    let written = hub.ocm_objects_json().await.unwrap();
    assert_eq!(written.len(), 18, "three secrets in two formats");
    use base64::Engine as _;
    let encoded =
        [ACCESS_KEY, SECRET_KEY].map(|v| base64::engine::general_purpose::STANDARD.encode(v));
    for object in &written {
        for needle in [ACCESS_KEY, SECRET_KEY, &encoded[0], &encoded[1]] {
            assert!(!object.contains(needle), "{needle} leaked into {object}");
        }
    }
}

#[tokio::test]
async fn look_alike_objects_that_are_not_ours_are_left_alone() {
    // Same naming scheme and label, but neither format's template: someone else's objects.
    let hub = Hub::velero().await;
    let dist = SecretDistribution {
        secret: "vsecret-a",
        namespace: NS,
        target_namespace: "velero",
        delivery: Delivery::Ramen,
    };
    let mut velero = dist.policy("1");
    velero.spec.policy_templates[0].object_definition = serde_json::json!({
        "kind": "ConfigurationPolicy",
        "apiVersion": "policy.open-cluster-management.io/v1",
        "metadata": {"name": "cfg-policy-vsecret-a"},
        "spec": {"object-templates": [{"objectDefinition": {"data": {"ramengenerated": "{{ lookup }}"}}}]}
    });
    let pp = PostParams::default();
    hub.ocm_policies().create(&pp, &velero).await.unwrap();
    hub.rules()
        .create(&pp, &dist.placement_rule(["a", "b"]))
        .await
        .unwrap();
    hub.bindings()
        .create(&pp, &dist.placement_binding())
        .await
        .unwrap();

    let (applied, requests) = hub.converge(&[]).await;
    assert_eq!((applied, requests), (vec![], 0));
    assert_eq!(hub.ocm_object_names().await.len(), 3);
}

/// Every action of a first distribution in both formats: one Secret patch for both finalizers, then
/// each format's binding, Policy and rule.
fn created_in_both_formats() -> Vec<(Format, Action)> {
    vec![
        (Format::Ramen, Action::FinalizerAdded),
        (Format::Velero, Action::FinalizerAdded),
        (Format::Ramen, Action::BindingApplied),
        (Format::Ramen, Action::PolicyApplied),
        (Format::Ramen, Action::RuleApplied),
        (Format::Velero, Action::BindingApplied),
        (Format::Velero, Action::PolicyApplied),
        (Format::Velero, Action::RuleApplied),
    ]
}

/// The Secret delivered by Policy `name` (its only object template).
fn delivered(policy: &Policy) -> serde_json::Value {
    policy.spec.policy_templates[0].object_definition["spec"]["object-templates"][0]
        ["objectDefinition"]
        .clone()
}

#[tokio::test]
async fn the_velero_format_goes_to_the_same_clusters_and_a_converged_hub_gets_no_request() {
    let hub = Hub::velero().await;
    let p = policy("p", &["a", "b"]);
    let mark = hub.server.hooks().mark();
    let (applied, _) = hub.converge(&[&p]).await;
    for secret in ["secret-a", "secret-b"] {
        let velero = format!("v{secret}");
        assert_eq!(format_actions(&applied, secret), created_in_both_formats());
        assert_eq!(hub.rule_clusters(&velero).await.unwrap(), ["a", "b"]);
        assert_eq!(
            hub.finalizers(secret).await,
            [SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO]
        );
        let version = hub.secret_version(secret).await;
        for name in [secret, velero.as_str()] {
            let policy = hub.ocm_policies().get(name).await.unwrap();
            assert_eq!(policy.trigger(), Some(version.as_str()), "{name}");
            assert_eq!(policy.labels()[CREATED_BY_RAMEN_LABEL], "true", "{name}");
        }
        let policy = hub.ocm_policies().get(&velero).await.unwrap();
        assert_eq!(
            delivered(&policy),
            serde_json::json!({
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {
                    "name": velero,
                    "namespace": "velero",
                    "labels": {CREATED_BY_RAMEN_LABEL: "true"}
                },
                "data": {"ramengenerated": velero_credentials_template(NS, secret)}
            })
        );
        assert!(distributes_in(&policy, NS, secret, Format::Velero));
        let binding = hub
            .bindings()
            .get(&format!("plbinding-{velero}"))
            .await
            .unwrap();
        assert_eq!(binding.spec.subjects[0].name, velero);
        assert_eq!(binding.spec.placement_ref.name, format!("plrule-{velero}"));
        assert_eq!(binding.labels()[CREATED_BY_RAMEN_LABEL], "true");
        let rule = hub.rules().get(&format!("plrule-{velero}")).await.unwrap();
        assert_eq!(rule.labels()[CREATED_BY_RAMEN_LABEL], "true");
    }
    let written: Vec<(String, String)> = hub
        .writes_since(mark)
        .into_iter()
        .filter(|(_, name)| name.ends_with("secret-a"))
        .collect();
    assert_eq!(
        written,
        writes(&[
            ("secrets", "secret-a"),
            ("placementbindings", "plbinding-secret-a"),
            ("policies", "secret-a"),
            ("placementrules", "plrule-secret-a"),
            ("placementbindings", "plbinding-vsecret-a"),
            ("policies", "vsecret-a"),
            ("placementrules", "plrule-vsecret-a"),
        ])
    );
    assert!(hub.finalizers("secret-c").await.is_empty());

    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn a_secret_rotation_moves_the_trigger_of_both_formats() {
    // Ramen HEAD refreshes only the ramen-format Policy (BH1); here both follow the Secret.
    let hub = Hub::velero().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    let patch = serde_json::json!({"data": {"AWS_SECRET_ACCESS_KEY": "cm90YXRlZA=="}});
    let rotated = hub
        .secrets()
        .patch("secret-a", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Ramen, Action::PolicyApplied),
            (Format::Velero, Action::PolicyApplied)
        ]
    );
    assert_eq!(requests, 2);
    for name in ["secret-a", "vsecret-a"] {
        let policy = hub.ocm_policies().get(name).await.unwrap();
        assert_eq!(
            policy.trigger(),
            rotated.resource_version().as_deref(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_deleted_secret_loses_both_formats_and_both_finalizers_and_goes_away() {
    // Ramen HEAD never cleans the velero format of a deleted Secret while a DRPolicy needs it (BH2).
    let hub = Hub::velero().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.secrets()
        .delete("secret-a", &DeleteParams::default())
        .await
        .unwrap();

    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Ramen, Action::BindingDeleted),
            (Format::Ramen, Action::PolicyDeleted),
            (Format::Ramen, Action::RuleDeleted),
            (Format::Velero, Action::BindingDeleted),
            (Format::Velero, Action::PolicyDeleted),
            (Format::Velero, Action::RuleDeleted),
            (Format::Ramen, Action::FinalizerRemoved),
            (Format::Velero, Action::FinalizerRemoved),
        ]
    );
    assert_eq!(requests, 7, "six deletes and one Secret patch");
    assert!(hub.secrets().get_opt("secret-a").await.unwrap().is_none());
    let names = hub.ocm_object_names().await;
    assert!(names.iter().all(|n| !n.ends_with("secret-a")), "{names:?}");
    assert_eq!(hub.rule_clusters("vsecret-b").await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn turning_the_velero_format_off_removes_its_objects_and_finalizer_and_keeps_the_ramen_ones()
{
    // Ramen HEAD leaves both behind.
    for off in [
        "kubeObjectProtection: {veleroNamespaceName: velero, disabled: true}\n",
        "kubeObjectProtection: {}\n",
        "",
    ] {
        let hub = Hub::velero().await;
        let p = policy("p", &["a", "b"]);
        hub.converge(&[&p]).await;
        let before = (
            hub.rules().get("plrule-secret-a").await.unwrap(),
            hub.bindings().get("plbinding-secret-a").await.unwrap(),
            hub.ocm_policies().get("secret-a").await.unwrap(),
        );

        let hub = hub.with_config(&format!("{off}{}", profiles().yaml()));
        let mark = hub.server.hooks().mark();
        let (applied, _) = hub.converge(&[&p]).await;
        assert_eq!(
            format_actions(&applied, "secret-a"),
            [
                (Format::Velero, Action::BindingDeleted),
                (Format::Velero, Action::PolicyDeleted),
                (Format::Velero, Action::RuleDeleted),
                (Format::Velero, Action::FinalizerRemoved),
                // The finalizer patch moved the Secret's version: the ramen Policy's trigger follows it
                // in the same run, nothing else of the ramen format is written.
                (Format::Ramen, Action::PolicyApplied),
            ],
            "{off}"
        );
        let written: Vec<(String, String)> = hub
            .writes_since(mark)
            .into_iter()
            .filter(|(_, name)| name.ends_with("secret-a"))
            .collect();
        assert_eq!(
            written,
            writes(&[
                ("placementbindings", "plbinding-vsecret-a"),
                ("policies", "vsecret-a"),
                ("placementrules", "plrule-vsecret-a"),
                ("secrets", "secret-a"),
                ("policies", "secret-a"),
            ]),
            "{off}"
        );
        assert_eq!(hub.finalizers("secret-a").await, [SECRET_POLICY_FINALIZER]);
        let after = (
            hub.rules().get("plrule-secret-a").await.unwrap(),
            hub.bindings().get("plbinding-secret-a").await.unwrap(),
            hub.ocm_policies().get("secret-a").await.unwrap(),
        );
        assert_eq!(after.0.resource_version(), before.0.resource_version());
        assert_eq!(after.1.resource_version(), before.1.resource_version());
        assert_eq!(after.2.uid(), before.2.uid());
        assert_eq!(
            after.2.spec.policy_templates, before.2.spec.policy_templates,
            "{off}"
        );
        assert_eq!(
            hub.ocm_object_names().await,
            [
                "plbinding-secret-a",
                "plbinding-secret-b",
                "plrule-secret-a",
                "plrule-secret-b",
                "secret-a",
                "secret-b"
            ]
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>(),
            "{off}"
        );
        let (applied, requests) = hub.converge(&[&p]).await;
        assert_eq!((applied, requests), (vec![], 0), "{off}");
    }
}

#[tokio::test]
async fn turning_the_velero_format_on_adds_it_next_to_the_ramen_one() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    let hub = hub.with_config(&velero().yaml());
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Velero, Action::FinalizerAdded),
            (Format::Ramen, Action::PolicyApplied),
            (Format::Velero, Action::BindingApplied),
            (Format::Velero, Action::PolicyApplied),
            (Format::Velero, Action::RuleApplied),
        ]
    );
    let version = hub.secret_version("secret-a").await;
    for name in ["secret-a", "vsecret-a"] {
        let policy = hub.ocm_policies().get(name).await.unwrap();
        assert_eq!(policy.trigger(), Some(version.as_str()), "{name}");
    }
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn with_distribution_off_both_formats_shrink_alike_and_go_with_the_last_holder() {
    let hub = Hub::velero().await;
    let p1 = policy("p1", &["a", "b"]);
    let p2 = policy("p2", &["b", "c"]);
    hub.converge(&[&p1, &p2]).await;
    let off = hub.with_config(&velero().distribution(false).yaml());
    let (applied, requests) = off.converge(&[&p1, &p2]).await;
    assert_eq!((applied, requests), (vec![], 0));

    let (applied, _) = off.converge(&[&p2]).await;
    assert_eq!(
        format_actions(&applied, "secret-b"),
        [
            (Format::Ramen, Action::RuleApplied),
            (Format::Velero, Action::RuleApplied)
        ]
    );
    assert_eq!(off.rule_clusters("secret-b").await.unwrap(), ["b", "c"]);
    assert_eq!(off.rule_clusters("vsecret-b").await.unwrap(), ["b", "c"]);
    assert!(off.finalizers("secret-a").await.is_empty());
    off.converge(&[]).await;
    assert_eq!(off.ocm_object_names().await, BTreeSet::new());
    for s in ["secret-a", "secret-b", "secret-c"] {
        assert!(off.finalizers(s).await.is_empty(), "{s}");
    }
}

#[tokio::test]
async fn a_missing_placement_rule_is_recreated_or_with_distribution_off_ends_its_format() {
    // Ramen HEAD (D13): removing a secret whose PlacementRule is gone cleans up that format fully.
    let hub = Hub::velero().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.rules()
        .delete("plrule-vsecret-a", &DeleteParams::default())
        .await
        .unwrap();
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [(Format::Velero, Action::RuleApplied)],
        "enabled: the rule is restored"
    );

    hub.rules()
        .delete("plrule-vsecret-a", &DeleteParams::default())
        .await
        .unwrap();
    let off = hub.with_config(&velero().distribution(false).yaml());
    let (applied, _) = off.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Velero, Action::BindingDeleted),
            (Format::Velero, Action::PolicyDeleted),
            (Format::Velero, Action::FinalizerRemoved),
        ],
        "disabled: a format placing nothing is cleaned up"
    );
    assert_eq!(off.finalizers("secret-a").await, [SECRET_POLICY_FINALIZER]);
    assert_eq!(off.rule_clusters("secret-a").await.unwrap(), ["a", "b"]);
    let (applied, requests) = off.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn a_velero_policy_without_annotations_is_repaired_not_a_crash() {
    // Ramen HEAD assigns into the nil annotations map (BH12).
    let hub = Hub::velero().await;
    let p = policy("p", &["a"]);
    hub.converge(&[&p]).await;
    let strip = serde_json::json!({"metadata": {"annotations": null}});
    hub.ocm_policies()
        .patch("vsecret-a", &PatchParams::default(), &Patch::Merge(&strip))
        .await
        .unwrap();
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [(Format::Velero, Action::PolicyApplied)]
    );
    assert_eq!(requests, 1);
    let policy = hub.ocm_policies().get("vsecret-a").await.unwrap();
    assert_eq!(
        policy.trigger(),
        Some(hub.secret_version("secret-a").await.as_str())
    );
}

/// What Ramen before HEAD wrote for `secret-a` (reference §2.2-2.4): no labels, `Musthave`,
/// `creationTimestamp: null` in the embedded objects, no `customMessage`.
fn baseline_policy(trigger: &str) -> serde_json::Value {
    let template =
        |key: &str| format!("{{{{hub fromSecret \"{NS}\" \"secret-a\" \"{key}\" hub}}}}");
    serde_json::json!({
        "apiVersion": "policy.open-cluster-management.io/v1",
        "kind": "Policy",
        "metadata": {
            "name": "secret-a",
            "namespace": NS,
            "annotations": {POLICY_TRIGGER_ANNOTATION: trigger}
        },
        "spec": {
            "disabled": false,
            "remediationAction": "Enforce",
            "policy-templates": [{"objectDefinition": {
                "kind": "ConfigurationPolicy",
                "apiVersion": "policy.open-cluster-management.io/v1",
                "metadata": {"name": "cfg-policy-secret-a", "creationTimestamp": null},
                "spec": {
                    "severity": "high",
                    "remediationAction": "Enforce",
                    "namespaceSelector": {},
                    "object-templates": [{
                        "complianceType": "Musthave",
                        "objectDefinition": {
                            "kind": "Secret",
                            "apiVersion": "v1",
                            "metadata": {"name": "secret-a", "namespace": NS, "creationTimestamp": null},
                            "data": {
                                "AWS_ACCESS_KEY_ID": template("AWS_ACCESS_KEY_ID"),
                                "AWS_SECRET_ACCESS_KEY": template("AWS_SECRET_ACCESS_KEY")
                            }
                        }
                    }],
                    "evaluationInterval": {}
                },
                "status": {}
            }}]
        }
    })
}

#[tokio::test]
async fn a_distribution_older_ramen_wrote_is_rewritten_once_to_heads_body() {
    let hub = Hub::default().await;
    let finalize = serde_json::json!({"metadata": {"finalizers": [SECRET_POLICY_FINALIZER]}});
    let finalized = hub
        .secrets()
        .patch(
            "secret-a",
            &PatchParams::default(),
            &Patch::Merge(&finalize),
        )
        .await
        .unwrap();
    let pp = PostParams::default();
    let old: Policy =
        serde_json::from_value(baseline_policy(&finalized.resource_version().unwrap())).unwrap();
    hub.ocm_policies().create(&pp, &old).await.unwrap();
    let dist = SecretDistribution {
        secret: "secret-a",
        namespace: NS,
        target_namespace: NS,
        delivery: Delivery::Ramen,
    };
    let mut rule = dist.placement_rule(["a"]);
    rule.metadata.labels = None;
    hub.rules().create(&pp, &rule).await.unwrap();
    let mut binding = dist.placement_binding();
    binding.metadata.labels = None;
    hub.bindings().create(&pp, &binding).await.unwrap();

    let p = policy("p", &["a"]);
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(
        actions(&applied, "secret-a"),
        [
            Action::BindingApplied,
            Action::PolicyApplied,
            Action::RuleApplied
        ],
        "one update each: the label everywhere, HEAD's body in the Policy"
    );
    assert_eq!(requests, 3);
    let policy = hub.ocm_policies().get("secret-a").await.unwrap();
    assert_eq!(
        serde_json::to_value(&policy.spec.policy_templates).unwrap(),
        serde_json::to_value(&dist.policy("x").spec.policy_templates).unwrap()
    );
    let body = serde_json::to_string(&policy.spec).unwrap();
    assert!(!body.contains("creationTimestamp"), "{body}");
    assert!(!body.contains("Musthave"), "{body}");
    assert!(body.contains(r#""customMessage":{}"#), "{body}");
    assert_eq!(policy.trigger(), finalized.resource_version().as_deref());

    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn a_distribution_ramen_head_wrote_is_adopted_refreshing_only_its_stale_velero_trigger() {
    let hub = Hub::velero().await;
    let finalize = serde_json::json!({"metadata": {"finalizers": [
        SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO
    ]}});
    let finalized = hub
        .secrets()
        .patch(
            "secret-a",
            &PatchParams::default(),
            &Patch::Merge(&finalize),
        )
        .await
        .unwrap();
    let version = finalized.resource_version().unwrap();
    let pp = PostParams::default();
    for (delivery, trigger) in [
        (Delivery::Ramen, version.as_str()),
        // HEAD never refreshes the velero trigger (BH1): stale since an older Secret version.
        (
            Delivery::Velero {
                velero_namespace: "velero",
            },
            "1",
        ),
    ] {
        let dist = SecretDistribution {
            secret: "secret-a",
            namespace: NS,
            target_namespace: NS,
            delivery,
        };
        hub.bindings()
            .create(&pp, &dist.placement_binding())
            .await
            .unwrap();
        hub.ocm_policies()
            .create(&pp, &dist.policy(trigger))
            .await
            .unwrap();
        hub.rules()
            .create(&pp, &dist.placement_rule(["a"]))
            .await
            .unwrap();
    }
    let p = policy("p", &["a"]);
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [(Format::Velero, Action::PolicyApplied)]
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_secret_named_like_a_velero_policy_takes_those_names_and_gives_them_back() {
    let hub = Hub::velero().await;
    hub.create_secret("vsecret-a").await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    assert!(distributes_in(
        &hub.ocm_policies().get("vsecret-a").await.unwrap(),
        NS,
        "secret-a",
        Format::Velero
    ));

    // Cluster b's profile now names Secret `vsecret-a`: its ramen format takes the names.
    let taken = velero().profile_secret("s3-b", "vsecret-a");
    let hub = hub.with_config(&taken.yaml());
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Velero, Action::BindingDeleted),
            (Format::Velero, Action::PolicyDeleted),
            (Format::Velero, Action::RuleDeleted),
            (Format::Velero, Action::FinalizerRemoved),
            (Format::Ramen, Action::PolicyApplied),
        ]
    );
    assert_eq!(
        format_actions(&applied, "vsecret-a"),
        created_in_both_formats()
    );
    let policy = hub.ocm_policies().get("vsecret-a").await.unwrap();
    assert!(distributes_in(&policy, NS, "vsecret-a", Format::Ramen));
    assert_eq!(hub.finalizers("secret-a").await, [SECRET_POLICY_FINALIZER]);
    assert_eq!(hub.rule_clusters("vvsecret-a").await.unwrap(), ["a", "b"]);
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));

    // And back: secret-a's velero format takes over the names the other Secret no longer needs.
    let hub = hub.with_config(&velero().yaml());
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "vsecret-a"),
        [
            (Format::Velero, Action::BindingDeleted),
            (Format::Velero, Action::PolicyDeleted),
            (Format::Velero, Action::RuleDeleted),
            (Format::Ramen, Action::FinalizerRemoved),
            (Format::Velero, Action::FinalizerRemoved),
        ],
        "its ramen-format objects are secret-a's now: left alone"
    );
    let policy = hub.ocm_policies().get("vsecret-a").await.unwrap();
    assert!(distributes_in(&policy, NS, "secret-a", Format::Velero));
    assert_eq!(
        hub.finalizers("secret-a").await,
        [SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO]
    );
    assert!(hub.finalizers("vsecret-a").await.is_empty());
    assert_eq!(hub.rule_clusters("vsecret-a").await.unwrap(), ["a", "b"]);
    assert_eq!(hub.rule_clusters("vvsecret-a").await, None);
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));
}

#[tokio::test]
async fn a_half_created_velero_distribution_is_not_removed_for_the_secret_sharing_its_names() {
    // Secret secret-a's run has taken its finalizers and created `plbinding-vsecret-a`, not yet Policy
    // `vsecret-a`; meanwhile a run for the name's other reading, Secret `vsecret-a` (which nothing
    // needs), must not take the binding for an orphan of its own.
    let hub = Hub::velero().await;
    let finalize = serde_json::json!({"metadata": {"finalizers": [
        SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO
    ]}});
    hub.secrets()
        .patch(
            "secret-a",
            &PatchParams::default(),
            &Patch::Merge(&finalize),
        )
        .await
        .unwrap();
    let dist = SecretDistribution {
        secret: "secret-a",
        namespace: NS,
        target_namespace: NS,
        delivery: Delivery::Velero {
            velero_namespace: "velero",
        },
    };
    hub.bindings()
        .create(&PostParams::default(), &dist.placement_binding())
        .await
        .unwrap();

    let (secrets, live) = hub.observe().await;
    let inputs = PlanInputs {
        namespace: NS,
        config: &hub.config,
        drclusters: &hub.drclusters,
        secrets: &secrets,
    };
    let scope = Scope::Secrets(BTreeSet::from(["vsecret-a".to_owned()]));
    let plan = plan(&inputs, [], scope);
    let mark = hub.server.hooks().mark();
    let report = Applier::new(hub.client.clone())
        .apply(&plan, &secrets, &live)
        .await;
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.applied, []);
    assert_eq!(hub.server.hooks().requests_since(mark).len(), 0);
    assert!(
        hub.bindings()
            .get_opt("plbinding-vsecret-a")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_distribution_the_head_length_guard_refuses_is_kept_but_never_grown() {
    // 50 characters passed the older guard (len + 12 + 1 <= 63), not Ramen HEAD's (one more for the
    // format prefix). Whatever an older version distributed stays for the clusters still needing it.
    let long = "s".repeat(50);
    let hub = Hub::start(&RamenConfigYaml::profiles([S3Profile::new("s3-a", &long)])).await;
    hub.create_secret(&long).await;
    let finalize = serde_json::json!({"metadata": {"finalizers": [SECRET_POLICY_FINALIZER]}});
    let finalized = hub
        .secrets()
        .patch(&long, &PatchParams::default(), &Patch::Merge(&finalize))
        .await
        .unwrap();
    let dist = SecretDistribution {
        secret: &long,
        namespace: NS,
        target_namespace: NS,
        delivery: Delivery::Ramen,
    };
    let pp = PostParams::default();
    hub.bindings()
        .create(&pp, &dist.placement_binding())
        .await
        .unwrap();
    hub.ocm_policies()
        .create(&pp, &dist.policy(&finalized.resource_version().unwrap()))
        .await
        .unwrap();
    hub.rules()
        .create(&pp, &dist.placement_rule(["a", "c"]))
        .await
        .unwrap();

    // Cluster b would be added, cluster c is no longer needed: only c goes.
    let p = policy("p", &["a", "b"]);
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, &long), [Action::RuleApplied]);
    assert_eq!(hub.rule_clusters(&long).await.unwrap(), ["a"]);
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!((applied, requests), (vec![], 0));

    // No holder left: removed, finalizer and all.
    let (applied, _) = hub.converge(&[]).await;
    assert_eq!(
        actions(&applied, &long),
        [
            Action::BindingDeleted,
            Action::PolicyDeleted,
            Action::RuleDeleted,
            Action::FinalizerRemoved
        ]
    );
    assert!(hub.finalizers(&long).await.is_empty());
}

#[tokio::test]
async fn a_failed_velero_deletion_names_the_velero_format_and_spares_the_ramen_one() {
    // Ramen HEAD's velero deletion error says format 'ramen' (BH3).
    let hub = Hub::velero().await;
    let p = policy("p", &["a"]);
    hub.converge(&[&p]).await;
    hub.server.hooks().fail_next(
        test_apiserver::RequestFilter::any()
            .verb("delete")
            .resource("policies")
            .name("vsecret-a"),
        1,
        test_apiserver::FaultAction::Status(500),
    );
    let hub = hub.with_config(&profiles().yaml());
    let (secrets, live) = hub.observe().await;
    let plan = hub.plan(&[&p], &secrets);
    let report = Applier::new(hub.client.clone())
        .apply(&plan, &secrets, &live)
        .await;
    let [error] = &report.errors[..] else {
        panic!("{:?}", report.errors)
    };
    assert_eq!(error.format, Some(Format::Velero));
    assert!(
        error
            .to_string()
            .starts_with("secret secret-a in format 'velero': unable to delete policy vsecret-a: "),
        "{error}"
    );
    assert_eq!(
        error.what(),
        "in format 'velero': unable to delete policy vsecret-a"
    );
    // The velero finalizer stays until its objects are gone; the ramen format is still converged.
    assert_eq!(
        hub.finalizers("secret-a").await,
        [SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO]
    );
    assert_eq!(
        format_actions(&report.applied, "secret-a"),
        [(Format::Velero, Action::BindingDeleted)]
    );
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(
        format_actions(&applied, "secret-a"),
        [
            (Format::Velero, Action::PolicyDeleted),
            (Format::Velero, Action::RuleDeleted),
            (Format::Velero, Action::FinalizerRemoved),
            (Format::Ramen, Action::PolicyApplied),
        ]
    );
}
