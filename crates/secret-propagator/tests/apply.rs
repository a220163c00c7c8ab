//! The applier against the embedded API server: objects written, and requests counted in its log.

use drpolicy_api::names::{POLICY_TRIGGER_ANNOTATION, SECRET_POLICY_FINALIZER};
use drpolicy_api::ocm::{PlacementBinding, PlacementRule, Policy};
use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use pretty_assertions::assert_eq;
use secret_propagator::{
    Action, Applied, Applier, LiveObjects, Plan, PlanInputs, Scope, SecretState, Secrets, plan,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use test_apiserver::TestApiServer;

const NS: &str = "ramen-system";
const ACCESS_KEY: &str = "AKIA-do-not-leak";
const SECRET_KEY: &str = "s3cr3t-do-not-leak";

struct Hub {
    server: TestApiServer,
    client: kube::Client,
    config: ramen_config::RamenConfig,
    drclusters: BTreeMap<String, DRCluster>,
}

fn ocm_crds() -> Vec<CustomResourceDefinition> {
    [
        include_str!("../../../hack/crds/ocm/policy.open-cluster-management.io_policies.yaml"),
        include_str!(
            "../../../hack/crds/ocm/policy.open-cluster-management.io_placementbindings.yaml"
        ),
        include_str!("../../../hack/crds/ocm/apps.open-cluster-management.io_placementrules.yaml"),
    ]
    .into_iter()
    .map(|y| serde_saphyr::from_str(y).unwrap())
    .collect()
}

impl Hub {
    async fn start(config: &str) -> Hub {
        let server = TestApiServer::start().await.unwrap();
        let client = server.client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in ocm_crds() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        let ns: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(NS.into());
        ns.create(&PostParams::default(), &namespace).await.unwrap();
        let hub = Hub {
            server,
            client,
            config: ramen_config::parse_str(config).unwrap().config,
            drclusters: ["a", "b", "c"]
                .into_iter()
                .map(|n| {
                    let spec = DRClusterSpec {
                        s3_profile_name: format!("s3-{n}"),
                        ..Default::default()
                    };
                    (n.to_owned(), DRCluster::new(n, spec))
                })
                .collect(),
        };
        for s in ["secret-a", "secret-b", "secret-c"] {
            hub.create_secret(s).await;
        }
        hub
    }

    async fn default() -> Hub {
        Hub::start(
            "s3StoreProfiles:\n\
             - {s3ProfileName: s3-a, s3SecretRef: {name: secret-a}}\n\
             - {s3ProfileName: s3-b, s3SecretRef: {name: secret-b}}\n\
             - {s3ProfileName: s3-c, s3SecretRef: {name: secret-c}}\n",
        )
        .await
    }

    async fn create_secret(&self, name: &str) {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.data = Some(BTreeMap::from([
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                ByteString(ACCESS_KEY.into()),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                ByteString(SECRET_KEY.into()),
            ),
        ]));
        self.secrets_api()
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    fn secrets_api(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), NS)
    }
    fn policies(&self) -> Api<Policy> {
        Api::namespaced(self.client.clone(), NS)
    }
    fn rules(&self) -> Api<PlacementRule> {
        Api::namespaced(self.client.clone(), NS)
    }
    fn bindings(&self) -> Api<PlacementBinding> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// The state a cache would hold (read before the run and outside the measured window).
    async fn observe(&self) -> (Secrets, LiveObjects) {
        let lp = ListParams::default();
        let secrets = self
            .secrets_api()
            .list_metadata(&lp)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.name_any(), SecretState::from_meta(&s.metadata)))
            .collect();
        let live = LiveObjects {
            policies: by_name(self.policies().list(&lp).await.unwrap().items),
            placement_rules: by_name(self.rules().list(&lp).await.unwrap().items),
            placement_bindings: by_name(self.bindings().list(&lp).await.unwrap().items),
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
        let rule = self
            .rules()
            .get_opt(&format!("plrule-{secret}"))
            .await
            .unwrap()?;
        Some(rule.cluster_names().map(str::to_owned).collect())
    }

    async fn ocm_object_names(&self) -> BTreeSet<String> {
        let lp = ListParams::default();
        let mut names = BTreeSet::new();
        names.extend(
            self.policies()
                .list(&lp)
                .await
                .unwrap()
                .items
                .iter()
                .map(|o| o.name_any()),
        );
        names.extend(
            self.rules()
                .list(&lp)
                .await
                .unwrap()
                .items
                .iter()
                .map(|o| o.name_any()),
        );
        names.extend(
            self.bindings()
                .list(&lp)
                .await
                .unwrap()
                .items
                .iter()
                .map(|o| o.name_any()),
        );
        names
    }

    async fn has_finalizer(&self, secret: &str) -> bool {
        self.secrets_api()
            .get_opt(secret)
            .await
            .unwrap()
            .is_some_and(|s| s.finalizers().iter().any(|f| f == SECRET_POLICY_FINALIZER))
    }
}

fn by_name<K: kube::Resource>(items: Vec<K>) -> BTreeMap<String, Arc<K>> {
    items
        .into_iter()
        .map(|o| (o.name_any(), Arc::new(o)))
        .collect()
}

fn policy(name: &str, clusters: &[&str]) -> DRPolicy {
    DRPolicy::new(
        name,
        DRPolicySpec {
            dr_clusters: clusters.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        },
    )
}

fn actions(applied: &[Applied], secret: &str) -> Vec<Action> {
    applied
        .iter()
        .filter(|a| a.secret == secret)
        .map(|a| a.action.clone())
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
        let policy = hub.policies().get(secret).await.unwrap();
        let rv = hub
            .secrets_api()
            .get(secret)
            .await
            .unwrap()
            .resource_version();
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
        .secrets_api()
        .patch("secret-a", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let (applied, requests) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, "secret-a"), [Action::PolicyApplied]);
    assert_eq!(requests, 1);
    let policy = hub.policies().get("secret-a").await.unwrap();
    assert_eq!(policy.trigger(), rotated.resource_version().as_deref());
}

#[tokio::test]
async fn a_deleted_secret_loses_its_distribution_and_finalizer_and_goes_away() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.secrets_api()
        .delete("secret-a", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        hub.secrets_api()
            .get_opt("secret-a")
            .await
            .unwrap()
            .is_some(),
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
    assert!(
        hub.secrets_api()
            .get_opt("secret-a")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(hub.rule_clusters("secret-b").await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn deleted_and_edited_objects_are_restored() {
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b"]);
    hub.converge(&[&p]).await;
    hub.policies()
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
    let policy = hub.policies().get("secret-a").await.unwrap();
    assert!(policy.trigger().is_some());
}

#[tokio::test]
async fn a_policy_without_annotations_is_repaired_not_a_crash() {
    let hub = Hub::default().await;
    let p = policy("p", &["a"]);
    hub.converge(&[&p]).await;
    let strip = serde_json::json!({"metadata": {"annotations": null}});
    hub.policies()
        .patch("secret-a", &PatchParams::default(), &Patch::Merge(&strip))
        .await
        .unwrap();
    let (applied, _) = hub.converge(&[&p]).await;
    assert_eq!(actions(&applied, "secret-a"), [Action::PolicyApplied]);
    let policy = hub.policies().get("secret-a").await.unwrap();
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
        config: ramen_config::parse_str(&format!(
            "drClusterOperator: {{s3SecretDistributionEnabled: false}}\n{}",
            "s3StoreProfiles:\n\
             - {s3ProfileName: s3-a, s3SecretRef: {name: secret-a}}\n\
             - {s3ProfileName: s3-b, s3SecretRef: {name: secret-b}}\n\
             - {s3ProfileName: s3-c, s3SecretRef: {name: secret-c}}\n"
        ))
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
    let hub = Hub::default().await;
    let p = policy("p", &["a", "b", "c"]);
    hub.converge(&[&p]).await;
    let lp = ListParams::default();
    let mut written = Vec::new();
    written.extend(
        hub.policies()
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| serde_json::to_string(o).unwrap()),
    );
    written.extend(
        hub.rules()
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| serde_json::to_string(o).unwrap()),
    );
    written.extend(
        hub.bindings()
            .list(&lp)
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| serde_json::to_string(o).unwrap()),
    );
    assert_eq!(written.len(), 9);
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
    // Ramen HEAD's velero-format distribution: same naming scheme and label, different template.
    let hub = Hub::default().await;
    let dist = drpolicy_api::ocm::SecretDistribution {
        secret: "vsecret-a",
        namespace: NS,
        target_namespace: "velero",
    };
    let mut velero = dist.policy("1");
    velero.spec.policy_templates[0].object_definition = serde_json::json!({
        "kind": "ConfigurationPolicy",
        "apiVersion": "policy.open-cluster-management.io/v1",
        "metadata": {"name": "cfg-policy-vsecret-a"},
        "spec": {"object-templates": [{"objectDefinition": {"data": {"ramengenerated": "{{ lookup }}"}}}]}
    });
    let pp = PostParams::default();
    hub.policies().create(&pp, &velero).await.unwrap();
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
