//! Secret distribution as its own per-Secret loop: minimal writes, and the cases the soak found.

mod support;

use drpolicy_api::names::{
    CREATED_BY_RAMEN_LABEL, SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO,
};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{Hub, NS, config, eventually, profile};
use test_apiserver::{FaultAction, RequestFilter, RequestRecord};
use test_fixtures::RamenConfigYaml;

/// A config with profiles `minio-on-dr1` … `minio-on-dr{clusters}`, cluster `dri` using Secret
/// `ramen-s3-secret-dr{(i-1) % 3 + 1}`.
fn config_with_clusters(clusters: usize) -> RamenConfigYaml {
    RamenConfigYaml::hub((1..=clusters).map(|i| {
        profile(
            i,
            (i - 1) % 3 + 1,
            &format!("http://10.0.0.{i}:30000"),
            &format!("r{i}"),
        )
    }))
    .operator_namespace(NS)
}

/// The writes since `mark` of the requests `keep` keeps, counted by `verb resource[/subresource]`.
fn count_writes(
    hub: &Hub,
    mark: test_apiserver::Mark,
    keep: impl Fn(&RequestRecord) -> bool,
) -> BTreeMap<String, usize> {
    let mut writes: BTreeMap<String, usize> = BTreeMap::new();
    for request in hub
        .server
        .hooks()
        .writes_since(mark)
        .iter()
        .filter(|r| keep(r))
    {
        let resource = if request.subresource.is_empty() {
            request.resource.clone()
        } else {
            format!("{}/{}", request.resource, request.subresource)
        };
        *writes
            .entry(format!("{} {resource}", request.verb))
            .or_default() += 1;
    }
    writes
}

#[tokio::test]
async fn a_hub_full_of_policies_converges_with_the_minimal_writes() {
    let clusters = 8;
    let mut hub = Hub::prepared(&config_with_clusters(clusters)).await;
    for i in 4..=clusters {
        hub.create_drcluster(&format!("dr{i}"), &format!("region-{i}"), true)
            .await;
    }
    // Every pair of clusters: 28 policies over 3 Secrets, each Secret needed by many of them.
    let mut policies = Vec::new();
    for a in 1..=clusters {
        for b in a + 1..=clusters {
            let name = format!("p-{a}-{b}");
            hub.create_policy(&name, &[&format!("dr{a}"), &format!("dr{b}")])
                .await;
            policies.push(name);
        }
    }
    hub.quiet().await;
    let mark = hub.server.hooks().mark();
    hub.start_operator().await;
    for policy in &policies {
        hub.wait_distributed(policy).await;
    }
    let all: Vec<&str> = ["dr1", "dr2", "dr3", "dr4", "dr5", "dr6", "dr7", "dr8"].into();
    for secret in 1..=3 {
        hub.wait_rule(&format!("ramen-s3-secret-dr{secret}"), &all)
            .await;
    }
    hub.quiet().await;

    let writes = count_writes(&hub, mark, |_| true);
    let expected: BTreeMap<String, usize> = [
        // The ConfigMap's backup label.
        ("patch configmaps", 1),
        // Label and finalizer, then both conditions in one status write.
        ("patch drpolicies", policies.len()),
        ("patch drpolicies/status", policies.len()),
        // Per Secret: its finalizer, binding, Policy and rule, each once, although every policy
        // arrives separately.
        ("patch secrets", 3),
        ("patch placementbindings", 3),
        ("patch policies", 3),
        ("patch placementrules", 3),
        // One DRClusterConfig view per cluster (their configs list no class), however many policies
        // read it; the view agent's answers. The first status write of each policy waits for them.
        ("create managedclusterviews", clusters),
        ("patch managedclusterviews/status", clusters),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(writes, expected);
}

#[tokio::test]
async fn a_deleting_secret_whose_profile_left_the_config_is_released() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    assert!(hub.secret_has_finalizer("ramen-s3-secret-dr1").await);

    // The profile naming the Secret leaves the config: nothing needs the Secret any more.
    let trimmed = config().profile_secret("minio-on-dr1", "ramen-s3-secret-dr3");
    assert_ne!(trimmed, config());
    hub.put_config(&trimmed.yaml()).await;
    hub.secrets()
        .delete("ramen-s3-secret-dr1", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted Secret is released and gone", || async {
        hub.secrets()
            .get_opt("ramen-s3-secret-dr1")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(hub.rule_clusters("ramen-s3-secret-dr1").await, None);
    hub.wait_rule("ramen-s3-secret-dr3", &["dr1", "dr2"]).await;
}

#[tokio::test]
async fn a_deletion_is_blocked_by_a_drpc_the_cache_has_not_seen_yet() {
    let hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;

    // The DRPlacementControl watch is cut and comes back only after 3 s: the cache is blind meanwhile.
    hub.server.hooks().add_latency(
        RequestFilter::any()
            .verb("watch")
            .resource("drplacementcontrols"),
        Duration::from_secs(3),
    );
    hub.server.close_watches();
    hub.delete_protecting_policy("p1").await;
    hub.server.hooks().clear_faults();
    assert!(
        hub.rule_clusters("ramen-s3-secret-dr1").await.is_some(),
        "nothing removed while blocked"
    );

    hub.unblock_deletion("p1").await;
}

#[tokio::test]
async fn an_unavailable_secret_is_reported_without_naming_other_policies() {
    let config = config().profile_secret("minio-on-dr3", "absent-secret");
    let mut hub = Hub::prepared(&config).await;
    hub.start_operator().await;
    hub.create_policy("p1", &["dr1", "dr3"]).await;
    let expected = "secret ramen-system/absent-secret not found; it is not distributed";
    let message = hub
        .wait_condition("p1", "SecretsDistributed", "False", "SecretsUnavailable")
        .await;
    assert_eq!(message, expected);
    // Another policy needing the same Secret does not change what p1 says (nor make it stale).
    hub.create_policy("p2", &["dr2", "dr3"]).await;
    let message = hub
        .wait_condition("p2", "SecretsDistributed", "False", "SecretsUnavailable")
        .await;
    assert_eq!(message, expected);
    hub.quiet().await;
    assert_eq!(
        hub.condition("p1", "SecretsDistributed").await.unwrap().2,
        expected
    );

    // The Secret appears: both policies report it distributed.
    hub.create_secret("absent-secret").await;
    hub.wait_distributed("p1").await;
    hub.wait_distributed("p2").await;
    hub.wait_rule("absent-secret", &["dr1", "dr2", "dr3"]).await;
}

#[tokio::test]
async fn a_blocked_deletion_still_holds_and_gets_distribution_when_it_is_enabled() {
    let disabled = config().distribution(false);
    let mut hub = Hub::prepared(&disabled).await;
    hub.start_operator().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    hub.wait_condition("p1", "SecretsDistributed", "False", "DistributionDisabled")
        .await;
    assert_eq!(hub.ocm_object_count().await, 0);
    hub.create_drpc("app", "app-drpc", "p1").await;
    hub.delete_policy("p1").await;
    hub.wait_deletion_blocked("p1").await;

    // Its applications still rely on it: enabling distribution delivers its secrets.
    hub.put_config(&config().yaml()).await;
    hub.wait_rule("ramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    hub.wait_rule("ramen-s3-secret-dr2", &["dr1", "dr2"]).await;

    hub.unblock_deletion("p1").await;
    assert!(!hub.secret_has_finalizer("ramen-s3-secret-dr1").await);
}

#[tokio::test]
async fn a_restart_removes_nothing_while_the_policy_cache_is_still_listing() {
    let mut hub = Hub::running().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.quiet().await;
    hub.stop_operator().await;

    // On restart the policy list is slow, and the operator sees a change before it completes: the
    // ConfigMap lost its backup label, which the operator puts back at once.
    let unlabel = serde_json::json!({"metadata": {"labels": {
        drpolicy_api::names::OCM_BACKUP_LABEL: null
    }}});
    hub.patch_configmap(&unlabel).await;
    hub.server.hooks().add_latency(
        RequestFilter::any().verb("list").resource("drpolicies"),
        Duration::from_secs(2),
    );
    let mark = hub.server.hooks().mark();
    hub.start_operator().await;
    hub.quiet().await;
    hub.server.hooks().clear_faults();

    let writes: Vec<String> = hub.writes_since(mark);
    assert_eq!(
        writes,
        ["patch configmaps ramen-hub-operator-config"],
        "an empty policy cache is not taken for \"no policy needs the secrets\""
    );
    hub.wait_rule("ramen-s3-secret-dr1", &["dr1", "dr2"]).await;
}

/// [`config`] with the velero format on (Velero in namespace `velero`).
fn velero_config() -> RamenConfigYaml {
    config().velero("velero")
}

/// A hub running with the velero format on.
async fn velero_hub() -> Hub {
    let mut hub = Hub::prepared(&velero_config()).await;
    hub.start_operator().await;
    hub
}

/// The resources secret distribution writes.
const DISTRIBUTION_RESOURCES: [&str; 4] =
    ["secrets", "placementbindings", "policies", "placementrules"];

/// The writes of secret distribution since `mark`, counted by `verb resource`.
fn write_counts(hub: &Hub, mark: test_apiserver::Mark) -> BTreeMap<String, usize> {
    count_writes(hub, mark, |r| {
        DISTRIBUTION_RESOURCES.contains(&r.resource.as_str())
    })
}

fn counts(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

async fn trigger(hub: &Hub, policy: &str) -> Option<String> {
    let policy = hub.ocm_policies().get_opt(policy).await.unwrap()?;
    policy.trigger().map(str::to_owned)
}

#[tokio::test]
async fn the_velero_format_is_distributed_with_the_minimal_writes_and_a_converged_hub_writes_nothing()
 {
    let mut hub = Hub::prepared(&velero_config()).await;
    let mark = hub.server.hooks().mark();
    hub.start_operator().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    for secret in ["ramen-s3-secret-dr1", "ramen-s3-secret-dr2"] {
        hub.wait_rule(secret, &["dr1", "dr2"]).await;
        hub.wait_rule(&format!("v{secret}"), &["dr1", "dr2"]).await;
        assert_eq!(
            hub.secret_finalizers(secret).await.unwrap(),
            [SECRET_POLICY_FINALIZER, SECRET_POLICY_FINALIZER_VELERO]
        );
        let version = hub.secrets().get(secret).await.unwrap().resource_version();
        assert_eq!(trigger(&hub, secret).await, version);
        assert_eq!(trigger(&hub, &format!("v{secret}")).await, version);
    }
    hub.quiet().await;
    assert_eq!(
        write_counts(&hub, mark),
        counts(&[
            // Per Secret one patch for both finalizers, then each format's binding, Policy, rule.
            ("patch secrets", 2),
            ("patch placementbindings", 4),
            ("patch policies", 4),
            ("patch placementrules", 4),
        ])
    );

    // Everything is reconsidered (the ConfigMap changed), nothing is written.
    let runs = || {
        hub.metrics
            .distributions
            .with_label_values(&["success"])
            .get()
    };
    let before = runs();
    let mark = hub.server.hooks().mark();
    let touch = serde_json::json!({"metadata": {"annotations": {"touched": "yes"}}});
    hub.patch_configmap(&touch).await;
    hub.quiet().await;
    assert_eq!(
        write_counts(&hub, mark),
        BTreeMap::new(),
        "a converged hub sees no distribution write"
    );
    assert!(runs() >= before + 2, "both secrets were converged again");
}

#[tokio::test]
async fn a_secret_rotation_refreshes_the_velero_policy_too() {
    // Ramen HEAD refreshes only the ramen-format Policy (BH1).
    let hub = velero_hub().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.wait_rule("vramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    let rotate = serde_json::json!({"data": {"AWS_SECRET_ACCESS_KEY": "cm90YXRlZA=="}});
    let rotated = hub
        .patch_secret("ramen-s3-secret-dr1", &rotate)
        .await
        .resource_version();
    eventually("both Policies carry the rotated version", || async {
        let ramen = trigger(&hub, "ramen-s3-secret-dr1").await;
        let velero = trigger(&hub, "vramen-s3-secret-dr1").await;
        (ramen == rotated && velero == rotated).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_deleted_secret_is_released_from_both_formats_while_a_policy_still_needs_it() {
    // Ramen HEAD keeps the velero objects and finalizer: the Secret stays Terminating (BH2).
    let hub = velero_hub().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.wait_rule("vramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    hub.secrets()
        .delete("ramen-s3-secret-dr1", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted Secret is released and gone", || async {
        hub.secret_finalizers("ramen-s3-secret-dr1")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let message = hub
        .wait_condition("p1", "SecretsDistributed", "False", "SecretsUnavailable")
        .await;
    assert_eq!(
        message,
        "secret ramen-system/ramen-s3-secret-dr1 not found; it is not distributed"
    );
    hub.quiet().await;
    let names = hub.ocm_object_names().await;
    assert!(
        names.iter().all(|n| !n.ends_with("ramen-s3-secret-dr1")),
        "{names:?}"
    );
    hub.wait_rule("vramen-s3-secret-dr2", &["dr1", "dr2"]).await;
}

#[tokio::test]
async fn turning_the_velero_format_off_removes_its_objects_and_finalizers_only() {
    // Ramen HEAD leaves them behind.
    let hub = velero_hub().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    for secret in ["ramen-s3-secret-dr1", "ramen-s3-secret-dr2"] {
        hub.wait_rule(&format!("v{secret}"), &["dr1", "dr2"]).await;
    }
    hub.quiet().await;
    let rule = hub.rules().get("plrule-ramen-s3-secret-dr1").await.unwrap();

    let mark = hub.server.hooks().mark();
    hub.put_config(&config().yaml()).await;
    eventually("the velero objects and finalizers are gone", || async {
        let names = hub.ocm_object_names().await;
        let velero_gone = names.iter().all(|n| !n.contains("vramen"));
        let mut finalizers_gone = true;
        for secret in ["ramen-s3-secret-dr1", "ramen-s3-secret-dr2"] {
            finalizers_gone &=
                hub.secret_finalizers(secret).await.unwrap() == [SECRET_POLICY_FINALIZER];
        }
        (velero_gone && finalizers_gone).then_some(())
    })
    .await;
    hub.quiet().await;
    assert_eq!(
        write_counts(&hub, mark),
        counts(&[
            ("delete placementbindings", 2),
            ("delete policies", 2),
            ("delete placementrules", 2),
            ("patch secrets", 2),
            // The ramen Policies' trigger follows the Secret version the finalizer patch moved.
            ("patch policies", 2),
        ])
    );
    let after = hub.rules().get("plrule-ramen-s3-secret-dr1").await.unwrap();
    assert_eq!(after.resource_version(), rule.resource_version());
    assert_eq!(
        hub.ocm_object_names().await,
        [
            "plbinding-ramen-s3-secret-dr1",
            "plbinding-ramen-s3-secret-dr2",
            "plrule-ramen-s3-secret-dr1",
            "plrule-ramen-s3-secret-dr2",
            "ramen-s3-secret-dr1",
            "ramen-s3-secret-dr2",
        ]
    );
    hub.wait_distributed("p1").await;
}

#[tokio::test]
async fn deleted_or_stripped_velero_objects_are_restored() {
    let hub = velero_hub().await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    hub.wait_rule("vramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    hub.quiet().await;

    // Watch events on `vS` objects reach secret `S`'s distribution.
    hub.rules()
        .delete("plrule-vramen-s3-secret-dr1", &DeleteParams::default())
        .await
        .unwrap();
    hub.wait_rule("vramen-s3-secret-dr1", &["dr1", "dr2"]).await;
    hub.bindings()
        .delete("plbinding-vramen-s3-secret-dr1", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the velero binding is back", || async {
        hub.bindings()
            .get_opt("plbinding-vramen-s3-secret-dr1")
            .await
            .unwrap()
            .is_some_and(|b| b.labels().contains_key(CREATED_BY_RAMEN_LABEL))
            .then_some(())
    })
    .await;

    // A Policy without annotations (Ramen HEAD assigns into the nil map, BH12) gets its trigger back.
    let strip = serde_json::json!({"metadata": {"annotations": null}});
    hub.ocm_policies()
        .patch(
            "vramen-s3-secret-dr1",
            &PatchParams::default(),
            &Patch::Merge(&strip),
        )
        .await
        .unwrap();
    let version = hub
        .secrets()
        .get("ramen-s3-secret-dr1")
        .await
        .unwrap()
        .resource_version();
    eventually("the velero trigger is back", || async {
        (trigger(&hub, "vramen-s3-secret-dr1").await == version).then_some(())
    })
    .await;
    hub.wait_distributed("p1").await;
}

#[tokio::test]
async fn a_failing_velero_write_is_reported_naming_its_format() {
    // Ramen HEAD's velero deletion error says format 'ramen' (BH3).
    let mut hub = Hub::prepared(&velero_config()).await;
    hub.server.hooks().fail_next(
        RequestFilter::any()
            .verb("patch")
            .resource("policies")
            .name("vramen-s3-secret-dr1"),
        usize::MAX,
        FaultAction::Status(500),
    );
    hub.start_operator().await;
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    let message = hub
        .wait_condition("p1", "SecretsDistributed", "False", "DistributionFailed")
        .await;
    assert!(
        message.starts_with(
            "drpolicy deploy: secret ramen-s3-secret-dr1: in format 'velero': \
             unable to apply policy vramen-s3-secret-dr1: "
        ),
        "{message}"
    );
    assert!(!message.contains(support::SECRET_KEY), "{message}");
    hub.server.hooks().clear_faults();
    hub.wait_distributed("p1").await;
    hub.wait_rule("vramen-s3-secret-dr1", &["dr1", "dr2"]).await;
}

#[tokio::test]
async fn a_persistent_conflict_is_retried_with_growing_delays_not_every_200_ms() {
    let hub = Hub::running().await;
    // Server-side apply of the OCM Policy of each secret answers 409 Conflict.
    let conflicts = RequestFilter::any()
        .verb("patch")
        .resource("policies")
        .namespace(support::NS);
    hub.server
        .hooks()
        .fail_next(conflicts.clone(), 10_000, FaultAction::Status(409));
    hub.create_policy("p1", &["dr1", "dr2"]).await;
    // The first seconds bring their own triggers (our writes coming back through the watches).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mark = hub.server.hooks().mark();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let tried = hub
        .server
        .hooks()
        .requests_since(mark)
        .iter()
        .filter(|r| conflicts.matches(r) && r.faulted)
        .count();
    // Two secrets conflict; with a fixed 200 ms retry each would try ~30 times in these 6 s, with
    // delays doubling from 200 ms (by now 1.6 s and more) a few times.
    assert!(tried >= 2, "{tried} attempts");
    assert!(tried <= 2 * 5, "{tried} attempts in 6 s");
    hub.server.hooks().clear_faults();
    hub.wait_distributed("p1").await;
}
