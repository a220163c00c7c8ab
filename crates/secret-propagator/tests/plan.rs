//! The planner, table-driven: which (cluster, secret) pairs are distributed, and what is reported.

use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::{DRCluster, DRPolicy};
use pretty_assertions::assert_eq;
use secret_propagator::{Plan, PlanInputs, PlanWarning, Scope, SecretState, Secrets, plan};
use std::collections::{BTreeMap, BTreeSet};
use test_fixtures::{by_name, drcluster, drpolicy};

const NS: &str = "ramen-system";

fn policy(name: &str, clusters: &[&str]) -> DRPolicy {
    drpolicy(name, clusters, "5m")
}

/// Cluster `x` uses profile `s3-x`, whose secret is `secret-x` (see `config`).
fn clusters() -> BTreeMap<String, DRCluster> {
    by_name(["a", "b", "c", "d", "x"].map(|n| drcluster(n, &format!("s3-{n}"))))
}

fn config(extra: &str) -> ramen_config::RamenConfig {
    let profiles: String = ["a", "b", "c", "d"]
        .iter()
        .map(|n| format!("- {{s3ProfileName: s3-{n}, s3SecretRef: {{name: secret-{n}}}}}\n"))
        .collect();
    ramen_config::parse_str(&format!("s3StoreProfiles:\n{profiles}{extra}"))
        .unwrap()
        .config
}

fn secrets(names: &[&str]) -> Secrets {
    names
        .iter()
        .map(|n| {
            let state = SecretState {
                resource_version: format!("rv-{n}"),
                ..Default::default()
            };
            (n.to_string(), state)
        })
        .collect()
}

fn all_secrets() -> Secrets {
    secrets(&["secret-a", "secret-b", "secret-c", "secret-d"])
}

fn run(holders: &[&DRPolicy], secrets: &Secrets, config: &ramen_config::RamenConfig) -> Plan {
    let drclusters = clusters();
    let inputs = PlanInputs {
        namespace: NS,
        config,
        drclusters: &drclusters,
        secrets,
    };
    plan(&inputs, holders.iter().copied(), Scope::All)
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(c, s)| (c.to_string(), format!("secret-{s}")))
        .collect()
}

#[test]
fn one_policy_sends_every_profile_secret_to_every_cluster() {
    let p = policy("p", &["a", "b"]);
    let plan = run(&[&p], &all_secrets(), &config(""));
    assert_eq!(
        plan.pairs(),
        pairs(&[("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")])
    );
    assert!(plan.warnings.is_empty());
    assert!(plan.enabled);
    assert_eq!(plan.secrets["secret-a"].resource_version, "rv-secret-a");
    assert_eq!(plan.target_namespace, NS);
}

#[test]
fn a_shared_cluster_keeps_the_secrets_either_policy_needs() {
    let p1 = policy("p1", &["a", "b"]);
    let p2 = policy("p2", &["b", "c"]);
    let plan = run(&[&p1, &p2], &all_secrets(), &config(""));
    assert_eq!(
        plan.pairs(),
        pairs(&[
            ("a", "a"),
            ("a", "b"),
            ("b", "a"),
            ("b", "b"),
            ("b", "c"),
            ("c", "b"),
            ("c", "c"),
        ])
    );
    assert_eq!(
        plan.secrets["secret-b"].policies,
        BTreeSet::from(["p1".to_owned(), "p2".to_owned()])
    );
}

#[test]
fn deleting_a_policy_removes_exactly_the_pairs_nobody_else_needs() {
    let p1 = policy("p1", &["a", "b"]);
    let p2 = policy("p2", &["b", "c"]);
    let before = run(&[&p1, &p2], &all_secrets(), &config("")).pairs();
    let after = run(&[&p2], &all_secrets(), &config("")).pairs();
    let removed: BTreeSet<_> = before.difference(&after).cloned().collect();
    assert_eq!(removed, pairs(&[("a", "a"), ("a", "b"), ("b", "a")]));
    assert!(after.is_subset(&before));
}

#[test]
fn a_cluster_without_profile_still_receives_its_peers_secret_and_is_reported() {
    let p = policy("p", &["a", "x"]);
    let plan = run(&[&p], &all_secrets(), &config(""));
    assert_eq!(plan.pairs(), pairs(&[("a", "a"), ("x", "a")]));
    assert_eq!(plan.warnings.len(), 1);
    assert_eq!(
        plan.warnings[0].to_string(),
        "drpolicy p: missing profile name (s3-x) in config for DRCluster (x)"
    );
}

#[test]
fn a_profile_pointing_at_a_missing_secret_is_reported_and_not_distributed() {
    let p = policy("p", &["a", "b"]);
    let plan = run(&[&p], &secrets(&["secret-a"]), &config(""));
    assert_eq!(plan.pairs(), pairs(&[("a", "a"), ("b", "a")]));
    assert_eq!(
        plan.warnings,
        [PlanWarning::SecretMissing {
            secret: "secret-b".into(),
            namespace: NS.into(),
            policies: BTreeSet::from(["p".to_owned()]),
        }]
    );
    assert_eq!(
        plan.warnings[0].to_string(),
        "secret ramen-system/secret-b needed by drpolicy p not found; it is not distributed"
    );
}

#[test]
fn a_secret_being_deleted_is_not_distributed() {
    let p = policy("p", &["a", "b"]);
    let mut states = all_secrets();
    states.get_mut("secret-b").unwrap().deleting = true;
    let plan = run(&[&p], &states, &config(""));
    assert!(!plan.secrets.contains_key("secret-b"));
    assert!(
        matches!(&plan.warnings[..], [PlanWarning::SecretDeleting { secret, .. }] if secret == "secret-b")
    );
}

#[test]
fn secret_names_up_to_63_characters_with_namespace_and_format_prefix_are_distributed() {
    // Ramen HEAD: len(S) + len(".") + len("ramen-system") + 1 <= 63  ⇔  len(S) <= 49
    let fits = "s".repeat(49);
    let too_long = "t".repeat(50);
    let extra = format!(
        "- {{s3ProfileName: s3-fits, s3SecretRef: {{name: {fits}}}}}\n- {{s3ProfileName: s3-long, s3SecretRef: {{name: {too_long}}}}}\n"
    );
    let config = config(&extra);
    let mut drclusters = clusters();
    for (name, profile) in [("f", "s3-fits"), ("l", "s3-long")] {
        drclusters.insert(name.into(), drcluster(name, profile));
    }
    let states = secrets(&[&fits, &too_long]);
    let p = policy("p", &["f", "l"]);
    let inputs = PlanInputs {
        namespace: NS,
        config: &config,
        drclusters: &drclusters,
        secrets: &states,
    };
    let plan = plan(&inputs, [&p], Scope::All);
    assert!(plan.secrets.contains_key(&fits));
    assert!(!plan.secrets.contains_key(&too_long));
    // Held: what exists of it is kept (shrunk only), nothing is created or grown.
    assert_eq!(
        plan.held[&too_long].clusters,
        BTreeSet::from(["f".to_owned(), "l".to_owned()])
    );
    assert_eq!(
        plan.warnings[0].to_string(),
        format!(
            "secret namespace.name ({too_long}.ramen-system) length exceeds maximum character limit (63); needed by drpolicy p"
        )
    );
}

#[test]
fn either_flag_off_disables_distribution_but_still_plans() {
    for flags in [
        "drClusterOperator: {deploymentAutomationEnabled: false}\n",
        "drClusterOperator: {s3SecretDistributionEnabled: false}\n",
    ] {
        let config = ramen_config::parse_str(&format!(
            "{flags}s3StoreProfiles:\n- {{s3ProfileName: s3-a, s3SecretRef: {{name: secret-a}}}}\n"
        ))
        .unwrap()
        .config;
        let p = policy("p", &["a"]);
        let plan = run(&[&p], &all_secrets(), &config);
        assert!(!plan.enabled, "{flags}");
        assert_eq!(plan.pairs(), pairs(&[("a", "a")]));
    }
}

#[test]
fn a_scoped_plan_covers_only_its_secrets() {
    let p = policy("p", &["a", "b"]);
    let drclusters = clusters();
    let states = all_secrets();
    let config = config("");
    let inputs = PlanInputs {
        namespace: NS,
        config: &config,
        drclusters: &drclusters,
        secrets: &states,
    };
    let scope = Scope::Secrets(BTreeSet::from(["secret-b".to_owned()]));
    let plan = plan(&inputs, [&p], scope);
    assert_eq!(plan.pairs(), pairs(&[("a", "b"), ("b", "b")]));
}

#[test]
fn delivered_secrets_go_to_the_configured_dr_cluster_operator_namespace() {
    let p = policy("p", &["a"]);
    let plan = run(
        &[&p],
        &all_secrets(),
        &config("drClusterOperator: {namespaceName: ramen-dr-ops}\n"),
    );
    assert_eq!(plan.target_namespace, "ramen-dr-ops");
}

#[test]
fn plans_are_deterministic_whatever_the_holder_order() {
    let p1 = policy("p1", &["c", "a"]);
    let p2 = policy("p2", &["d", "b", "a"]);
    let one = run(&[&p1, &p2], &all_secrets(), &config(""));
    let two = run(&[&p2, &p1], &all_secrets(), &config(""));
    assert_eq!(one, two);
    let rule = one
        .distribution("secret-a")
        .placement_rule(one.secrets["secret-a"].clusters.clone());
    assert_eq!(
        rule.cluster_names().collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
}

fn velero_config(kube_object_protection: &str) -> ramen_config::RamenConfig {
    config(&format!("kubeObjectProtection: {kube_object_protection}\n"))
}

#[test]
fn the_velero_format_follows_the_config_as_written() {
    let p = policy("p", &["a", "b"]);
    for (protection, velero) in [
        ("{veleroNamespaceName: velero}", Some("velero")),
        (
            "{veleroNamespaceName: openshift-adp, disabled: false}",
            Some("openshift-adp"),
        ),
        ("{veleroNamespaceName: velero, disabled: true}", None),
        // HEAD's per-reconcile decode has no default: no name, no velero format.
        ("{}", None),
        ("{disabled: false}", None),
    ] {
        let plan = run(&[&p], &all_secrets(), &velero_config(protection));
        assert_eq!(plan.velero_namespace.as_deref(), velero, "{protection}");
        let formats = &plan.secrets["secret-a"].formats;
        assert_eq!(
            formats.contains(&Format::Velero),
            velero.is_some(),
            "{protection}"
        );
        assert!(formats.contains(&Format::Ramen), "{protection}");
        assert!(plan.warnings.is_empty(), "{protection}");
    }
    let plan = run(&[&p], &all_secrets(), &config(""));
    assert_eq!(plan.velero_namespace, None);
    assert_eq!(
        plan.secrets["secret-a"].formats,
        BTreeSet::from([Format::Ramen])
    );
}

#[test]
fn velero_builders_name_the_v_objects_and_read_the_delivered_secret() {
    let p = policy("p", &["a"]);
    let plan = run(
        &[&p],
        &all_secrets(),
        &config(
            "drClusterOperator: {namespaceName: ramen-dr-ops}\n\
             kubeObjectProtection: {veleroNamespaceName: velero}\n",
        ),
    );
    let dist = plan.distribution_in("secret-a", Format::Velero).unwrap();
    assert_eq!(dist.names().policy, "vsecret-a");
    let secret = dist.delivered_secret();
    assert_eq!(secret.metadata.name, "vsecret-a");
    assert_eq!(secret.metadata.namespace.as_deref(), Some("velero"));
    assert!(
        secret.data["ramengenerated"]
            .contains(r#"(lookup "v1" "Secret" "ramen-dr-ops" "secret-a")"#)
    );
    let without = run(&[&p], &all_secrets(), &config(""));
    assert_eq!(without.distribution_in("secret-a", Format::Velero), None);
}

#[test]
fn a_velero_name_taken_by_another_secret_leaves_that_secret_in_the_ramen_format_only() {
    // Cluster b's profile names Secret `vsecret-a`: its ramen-format Policy is `vsecret-a`, the name
    // secret-a's velero format would take.
    let config = ramen_config::parse_str(
        "kubeObjectProtection: {veleroNamespaceName: velero}\n\
         s3StoreProfiles:\n\
         - {s3ProfileName: s3-a, s3SecretRef: {name: secret-a}}\n\
         - {s3ProfileName: s3-b, s3SecretRef: {name: vsecret-a}}\n",
    )
    .unwrap()
    .config;
    let p = policy("p", &["a", "b"]);
    let plan = run(&[&p], &secrets(&["secret-a", "vsecret-a"]), &config);
    assert_eq!(
        plan.secrets["secret-a"].formats,
        BTreeSet::from([Format::Ramen])
    );
    assert_eq!(
        plan.secrets["vsecret-a"].formats,
        BTreeSet::from([Format::Ramen, Format::Velero])
    );
    assert_eq!(
        plan.warnings,
        [PlanWarning::VeleroNameTaken {
            secret: "secret-a".into(),
            policies: BTreeSet::from(["p".to_owned()]),
        }]
    );
    assert_eq!(
        plan.warnings[0].summary(),
        "secret secret-a is not distributed in format 'velero': its policy name vsecret-a is the \
         ramen-format policy of secret vsecret-a, which the config names"
    );
}

#[test]
fn a_missing_or_deleting_secret_is_reported_as_such_even_when_its_name_is_too_long() {
    let long = "l".repeat(60);
    let config = config(&format!(
        "- {{s3ProfileName: s3-x, s3SecretRef: {{name: {long}}}}}\n"
    ));
    let p = policy("p", &["x"]);
    let plan = run(&[&p], &secrets(&[]), &config);
    assert!(matches!(
        &plan.warnings[..],
        [PlanWarning::SecretMissing { .. }]
    ));
    let mut states = secrets(&[&long]);
    states.get_mut(&long).unwrap().deleting = true;
    let plan = run(&[&p], &states, &config);
    assert!(matches!(
        &plan.warnings[..],
        [PlanWarning::SecretDeleting { .. }]
    ));
    assert!(plan.held.is_empty());
}
