//! No config value can change the templates of the Policies the plan asks for: whatever string a
//! config puts in a field that reaches an object (namespaces, profile and secret names), either the
//! config is refused (by `ramen_config` when read, by the planner when built in code), or every
//! Policy holds exactly the templates built from the valid names — as many `{{hub`, each the
//! expected `fromSecret`, and no `{{` besides.

use drpolicy_api::names::S3_SECRET_KEYS;
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::hub_from_secret_template;
use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use proptest::prelude::*;
use ramen_config::RamenConfig;
use secret_propagator::{Plan, PlanInputs, PlanWarning, Scope, SecretState, Secrets, plan};
use std::collections::BTreeMap;

const NS: &str = "ramen-system";

/// The config fields that reach an object or a template, each set to a valid value by default.
#[derive(Debug, Clone)]
struct Names {
    profile: String,
    secret: String,
    target_namespace: String,
    velero_namespace: String,
    ops_namespace: String,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            profile: "minio-on-dr1".into(),
            secret: "ramen-s3-secret-dr1".into(),
            target_namespace: "ramen-dr-ops".into(),
            velero_namespace: "velero".into(),
            ops_namespace: "ramen-ops".into(),
        }
    }
}

/// `names` with field `field` (0..5) set to `value`.
fn with_field(field: usize, value: String) -> Names {
    let mut names = Names::default();
    *match field {
        0 => &mut names.profile,
        1 => &mut names.secret,
        2 => &mut names.target_namespace,
        3 => &mut names.velero_namespace,
        _ => &mut names.ops_namespace,
    } = value;
    names
}

/// The config as a document: every value a JSON string, which is a YAML double-quoted scalar.
fn yaml(names: &Names) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    format!(
        "drClusterOperator:\n  namespaceName: {}\nkubeObjectProtection:\n  veleroNamespaceName: {}\n\
         ramenOpsNamespace: {}\ns3StoreProfiles:\n- s3ProfileName: {}\n  s3SecretRef:\n    name: {}\n",
        q(&names.target_namespace),
        q(&names.velero_namespace),
        q(&names.ops_namespace),
        q(&names.profile),
        q(&names.secret),
    )
}

/// The config built in code, bypassing every check `ramen_config` makes when reading one.
fn built(names: &Names) -> RamenConfig {
    let mut config = RamenConfig {
        ramen_ops_namespace: names.ops_namespace.clone(),
        s3_store_profiles: vec![ramen_config::S3StoreProfile {
            s3_profile_name: names.profile.clone(),
            s3_secret_ref: ramen_config::SecretReference {
                name: names.secret.clone(),
                namespace: String::new(),
            },
            ..Default::default()
        }],
        ..Default::default()
    };
    config.dr_cluster_operator.namespace_name = names.target_namespace.clone();
    config.kube_object_protection.velero_namespace_name = names.velero_namespace.clone();
    config
}

/// The plan for a policy over two clusters using the profile, with the profile's Secret present.
fn plan_for(config: &RamenConfig, names: &Names) -> Plan {
    let drclusters: BTreeMap<String, DRCluster> = ["east", "west"]
        .into_iter()
        .map(|name| {
            let spec = DRClusterSpec {
                s3_profile_name: names.profile.clone(),
                ..Default::default()
            };
            (name.to_owned(), DRCluster::new(name, spec))
        })
        .collect();
    let secrets: Secrets = [(
        names.secret.clone(),
        SecretState {
            resource_version: "7".into(),
            ..Default::default()
        },
    )]
    .into_iter()
    .collect();
    let policy = DRPolicy::new(
        "policy",
        DRPolicySpec {
            dr_clusters: vec!["east".into(), "west".into()],
            ..Default::default()
        },
    );
    let inputs = PlanInputs {
        namespace: NS,
        config,
        drclusters: &drclusters,
        secrets: &secrets,
    };
    plan(&inputs, [&policy], Scope::All)
}

/// Every Policy the plan asks for holds exactly the templates built from `names`; `Err` says what
/// differs.
fn templates_are_exact(plan: &Plan, names: &Names) -> Result<(), String> {
    for (secret, desired) in &plan.secrets {
        if *secret != names.secret {
            return Err(format!("unexpected secret {secret:?} planned"));
        }
        for format in &desired.formats {
            let distribution = plan
                .distribution_in(secret, *format)
                .ok_or_else(|| format!("no builder for {format}"))?;
            let json = serde_json::to_string(&distribution.policy(&desired.resource_version))
                .map_err(|e| e.to_string())?;
            let hub_templates = json.matches("{{hub").count();
            let templates = json.matches("{{").count();
            let expected: Vec<String> = match format {
                Format::Ramen => S3_SECRET_KEYS
                    .iter()
                    .map(|key| hub_from_secret_template(NS, &names.secret, key))
                    .collect(),
                Format::Velero => Vec::new(),
            };
            let expected_templates = match format {
                Format::Ramen => 2,
                Format::Velero => 1,
            };
            if hub_templates != expected.len() || templates != expected_templates {
                return Err(format!(
                    "{format}: {hub_templates} hub templates, {templates} templates in {json}"
                ));
            }
            let data: Vec<String> = distribution.delivered_secret().data.into_values().collect();
            if *format == Format::Ramen && data != expected {
                return Err(format!("templates {data:?}, expected {expected:?}"));
            }
        }
    }
    Ok(())
}

/// Strings made to break out: quotes, braces, template openers and closers, backslashes, newlines
/// and unicode, besides valid names and anything at all.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}".to_owned()),
        Just("{{ lookup \"v1\" \"Secret\" \"ns\" \"s\" }}".to_owned()),
        "[a-z0-9]([-a-z0-9.]{0,12}[a-z0-9])?",
        proptest::collection::vec(
            prop_oneof![
                Just("{{hub "),
                Just(" hub}}"),
                Just("{{"),
                Just("}}"),
                Just("\""),
                Just("\\"),
                Just("'"),
                Just("\n"),
                Just(" "),
                Just("ü"),
                Just("a"),
                Just("-"),
                Just("."),
            ],
            0..10,
        )
        .prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_config_read_from_yaml_is_refused_or_yields_exactly_the_expected_templates(
        field in 0usize..5,
        value in hostile(),
    ) {
        let names = with_field(field, value);
        if let Ok(parsed) = ramen_config::parse_str(&yaml(&names)) {
            let plan = plan_for(&parsed.config, &names);
            // An empty secret name is "unset": nothing to distribute.
            prop_assert_eq!(
                plan.secrets.contains_key(&names.secret),
                !names.secret.is_empty(),
                "{:?}",
                plan.warnings
            );
            let checked = templates_are_exact(&plan, &names);
            prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
        }
    }

    #[test]
    fn a_config_built_in_code_is_held_or_yields_exactly_the_expected_templates(
        field in 0usize..5,
        value in hostile(),
    ) {
        let names = with_field(field, value);
        let plan = plan_for(&built(&names), &names);
        let checked = templates_are_exact(&plan, &names);
        prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
    }
}

#[test]
fn a_template_in_the_target_namespace_holds_the_secret_with_a_warning() {
    let names = with_field(
        2,
        "x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}".into(),
    );
    let plan = plan_for(&built(&names), &names);
    assert!(plan.secrets.is_empty());
    assert!(plan.held.contains_key("ramen-s3-secret-dr1"));
    let warning = plan
        .warnings
        .iter()
        .find(|w| matches!(w, PlanWarning::UnsafeName { .. }))
        .expect("reported");
    assert_eq!(
        warning.to_string(),
        r#"secret "ramen-s3-secret-dr1" is not distributed: target namespace "x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}" is not a DNS-1123 label; needed by drpolicy policy"#
    );
    assert_eq!(warning.secret(), Some("ramen-s3-secret-dr1"));
}

#[test]
fn valid_names_are_distributed_in_both_formats_with_ramens_templates() {
    let names = Names::default();
    let config = ramen_config::parse_str(&yaml(&names))
        .expect("valid")
        .config;
    let plan = plan_for(&config, &names);
    assert_eq!(
        plan.secrets["ramen-s3-secret-dr1"].formats,
        [Format::Ramen, Format::Velero].into()
    );
    assert_eq!(templates_are_exact(&plan, &names), Ok(()));
    assert_eq!(
        plan.distribution("ramen-s3-secret-dr1")
            .delivered_secret()
            .data["AWS_ACCESS_KEY_ID"],
        r#"{{hub fromSecret "ramen-system" "ramen-s3-secret-dr1" "AWS_ACCESS_KEY_ID" hub}}"#
    );
}
