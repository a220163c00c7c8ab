//! What Ramen tolerates silently is accepted here too, but reported as a warning with its
//! key path and position.

use pretty_assertions::assert_eq;
use ramen_config::{Parsed, Warning, WarningKind, parse_str};

fn parse(yaml: &str) -> Parsed {
    parse_str(yaml).unwrap_or_else(|e| panic!("{yaml:?} must decode: {e}"))
}

fn warning(path: &str, line: usize, column: usize, kind: WarningKind) -> Warning {
    Warning {
        path: path.to_owned(),
        line,
        column,
        kind,
    }
}

#[test]
fn typo_in_a_key_is_an_unknown_key_warning_with_suggestion() {
    let parsed = parse(
        "drClusterOperator:\n  deploymentAutomationEnabled: false\n  s3SecretDistributionEnabeld: false\n",
    );
    assert_eq!(
        parsed.warnings,
        vec![warning(
            "drClusterOperator.s3SecretDistributionEnabeld",
            3,
            3,
            WarningKind::UnknownKey {
                did_you_mean: Some("s3SecretDistributionEnabled".to_owned()),
            },
        )]
    );
    assert_eq!(
        parsed.warnings[0].to_string(),
        "drClusterOperator.s3SecretDistributionEnabeld: unknown key, ignored (did you mean s3SecretDistributionEnabled?) at line 3 column 3"
    );
    // The misspelt flag is ignored, so the real one keeps its default.
    assert_eq!(
        parsed
            .config
            .dr_cluster_operator
            .s3_secret_distribution_enabled,
        None
    );
}

#[test]
fn unknown_keys_anywhere_are_reported_and_ignored() {
    let parsed = parse(
        "veleroNamespaceName: velero\ns3StoreProfiles:\n- s3ProfileName: p\n  endpoint: http://x\n",
    );
    assert_eq!(
        parsed.warnings,
        vec![
            warning(
                "veleroNamespaceName",
                1,
                1,
                WarningKind::UnknownKey { did_you_mean: None }
            ),
            warning(
                "s3StoreProfiles[0].endpoint",
                4,
                3,
                WarningKind::UnknownKey { did_you_mean: None }
            ),
        ]
    );
    assert_eq!(parsed.config.s3_store_profiles[0].s3_profile_name, "p");
}

#[test]
fn every_go_yaml_v2_boolean_spelling_is_accepted_with_a_warning() {
    let truthy = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"];
    let falsy = ["n", "N", "no", "No", "NO", "off", "Off", "OFF"];
    for (spellings, value) in [(truthy, true), (falsy, false)] {
        for text in spellings {
            let parsed = parse(&format!("volSync:\n  disabled: {text}\n"));
            assert_eq!(parsed.config.vol_sync.disabled, value, "{text}");
            assert_eq!(
                parsed.warnings,
                vec![warning(
                    "volSync.disabled",
                    2,
                    13,
                    WarningKind::Yaml11Boolean {
                        text: text.to_owned(),
                        value,
                    },
                )],
                "{text}"
            );
        }
    }
}

#[test]
fn yaml_1_2_booleans_need_no_warning() {
    for (text, value) in [("true", true), ("True", true), ("FALSE", false)] {
        let parsed = parse(&format!("volumeUnprotectionEnabled: {text}\n"));
        assert_eq!(parsed.config.volume_unprotection_enabled, value);
        assert_eq!(parsed.warnings, vec![]);
    }
}

#[test]
fn yaml11_boolean_for_distribution_flag_turns_it_off() {
    let parsed = parse("drClusterOperator:\n  s3SecretDistributionEnabled: no\n");
    assert!(!parsed.config.secret_distribution_enabled());
    assert_eq!(
        parsed.warnings[0].to_string(),
        "drClusterOperator.s3SecretDistributionEnabled: YAML 1.1 boolean no read as false (as Ramen's go-yaml v2 does); write false for YAML 1.2 readers at line 2 column 32"
    );
}

#[test]
fn keys_match_case_insensitively_with_a_warning() {
    let parsed = parse(
        "DRClusterOperator:\n  S3SecretDistributionEnabled: false\nmultinamespace:\n  featureenabled: true\n",
    );
    assert_eq!(
        parsed
            .config
            .dr_cluster_operator
            .s3_secret_distribution_enabled,
        Some(false)
    );
    assert!(parsed.config.multi_namespace.feature_enabled);
    assert_eq!(
        parsed.warnings,
        vec![
            warning(
                "DRClusterOperator",
                1,
                1,
                WarningKind::CaseInsensitiveKey {
                    key: "DRClusterOperator".to_owned(),
                    canonical: "drClusterOperator".to_owned(),
                }
            ),
            warning(
                "drClusterOperator.S3SecretDistributionEnabled",
                2,
                3,
                WarningKind::CaseInsensitiveKey {
                    key: "S3SecretDistributionEnabled".to_owned(),
                    canonical: "s3SecretDistributionEnabled".to_owned(),
                }
            ),
            warning(
                "multinamespace",
                3,
                1,
                WarningKind::CaseInsensitiveKey {
                    key: "multinamespace".to_owned(),
                    canonical: "multiNamespace".to_owned(),
                }
            ),
            warning(
                "multiNamespace.featureenabled",
                4,
                3,
                WarningKind::CaseInsensitiveKey {
                    key: "featureenabled".to_owned(),
                    canonical: "FeatureEnabled".to_owned(),
                }
            ),
        ]
    );
}

#[test]
fn feature_enabled_is_spelt_with_a_capital_on_the_wire() {
    let parsed = parse("multiNamespace:\n  FeatureEnabled: true\n  volsyncSupported: true\n");
    assert!(parsed.config.multi_namespace.feature_enabled);
    assert!(parsed.config.multi_namespace.volsync_supported);
    assert_eq!(parsed.warnings, vec![]);
}

#[test]
fn scalars_for_string_fields_are_read_as_ramen_reads_them() {
    // Same text: silently a string.
    let parsed = parse("drClusterOperator:\n  namespaceName: 123\n");
    assert_eq!(parsed.config.dr_cluster_operator.namespace_name, "123");
    assert_eq!(parsed.warnings, vec![]);
    // Text that YAML 1.1 resolves to something else: Ramen's string, with a warning.
    for (text, value) in [
        ("yes", "true"),
        ("Off", "false"),
        ("0x10", "16"),
        ("017", "15"),
        ("1_000", "1000"),
        ("1.0", "1"),
        ("1e3", "1000"),
    ] {
        let parsed = parse(&format!("ramenOpsNamespace: {text}\n"));
        assert_eq!(parsed.config.ramen_ops_namespace, value, "{text}");
        assert_eq!(
            parsed.warnings,
            vec![warning(
                "ramenOpsNamespace",
                1,
                20,
                WarningKind::ScalarConverted {
                    text: text.to_owned(),
                    value: value.to_owned(),
                }
            )],
            "{text}"
        );
    }
    // Quoted: kept as written.
    let parsed = parse("ramenOpsNamespace: \"yes\"\n");
    assert_eq!(parsed.config.ramen_ops_namespace, "yes");
    assert_eq!(parsed.warnings, vec![]);
}

#[test]
fn duplicate_keys_last_wins_with_a_warning() {
    let parsed = parse("ramenOpsNamespace: a\nramenOpsNamespace: b\n");
    assert_eq!(parsed.config.ramen_ops_namespace, "b");
    assert_eq!(
        parsed.warnings,
        vec![warning(
            "ramenOpsNamespace",
            2,
            1,
            WarningKind::DuplicateKey
        )]
    );
}

#[test]
fn differently_cased_duplicates_resolve_like_ramen() {
    // sigs.k8s.io/yaml sorts JSON keys and encoding/json keeps the last assignment, so the
    // spelling that sorts last wins: "namespaceName" > "NamespaceName".
    let parsed = parse("drClusterOperator:\n  namespaceName: a\n  NamespaceName: b\n");
    assert_eq!(parsed.config.dr_cluster_operator.namespace_name, "a");
    assert!(parsed.warnings.iter().any(|w| w.kind
        == WarningKind::ConflictingKeys {
            keys: vec!["namespaceName".to_owned(), "NamespaceName".to_owned()],
            used: "namespaceName".to_owned(),
        }));
}

#[test]
fn merge_keys_apply_and_explicit_keys_override_them() {
    let parsed = parse(
        "x-defaults: &d\n  s3Bucket: shared\n  s3Region: eu\ns3StoreProfiles:\n- <<: *d\n  s3ProfileName: p\n  s3Region: us\n",
    );
    let profile = &parsed.config.s3_store_profiles[0];
    assert_eq!(profile.s3_bucket, "shared");
    assert_eq!(profile.s3_region, "us");
    // Only the anchor's home is an unknown key; overriding a merged key is not a duplicate.
    assert_eq!(
        parsed.warnings,
        vec![warning(
            "x-defaults",
            1,
            1,
            WarningKind::UnknownKey { did_you_mean: None }
        )]
    );
}

#[test]
fn null_values_leave_fields_at_their_defaults() {
    let parsed = parse(
        "drClusterOperator:\n  deploymentAutomationEnabled: null\n  namespaceName: ~\nmaxConcurrentReconciles:\ns3StoreProfiles: null\n",
    );
    assert_eq!(parsed.config, ramen_config::RamenConfig::default());
    assert_eq!(parsed.warnings, vec![]);
}

#[test]
fn second_document_is_ignored_with_a_warning() {
    let parsed = parse("ramenOpsNamespace: a\n---\nramenOpsNamespace: b\n");
    assert_eq!(parsed.config.ramen_ops_namespace, "a");
    assert_eq!(
        parsed.warnings,
        vec![warning("", 2, 1, WarningKind::ExtraDocument)]
    );
}

#[test]
fn warnings_come_in_document_order() {
    let parsed = parse("zzz: 1\nvolSync:\n  disabled: yes\naaa: 2\n");
    let lines: Vec<usize> = parsed.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, vec![1, 3, 4]);
}

fn from_configmap(yaml: &str, namespace: &str) -> Parsed {
    let data = std::collections::BTreeMap::from([(
        ramen_config::CONFIG_MAP_KEY.to_owned(),
        yaml.to_owned(),
    )]);
    ramen_config::from_config_map_data(
        &ramen_config::ConfigMapLocation::hub(namespace),
        Some(&data),
    )
    .unwrap_or_else(|e| panic!("{yaml:?} must decode: {e}"))
}

const TWO_PROFILES: &str = "s3StoreProfiles:\n\
    - s3ProfileName: minio-on-dr1\n  \
      s3SecretRef:\n    \
        name: ramen-s3-secret-dr1\n    \
        namespace: ramen-system\n\
    - s3ProfileName: minio-on-dr2\n  \
      s3Bucket: bucket\n  \
      s3SecretRef:\n    \
        name: ramen-s3-secret-dr2\n    \
        namespace: other\n";

#[test]
fn a_secret_namespace_other_than_the_operator_namespace_is_reported_as_ignored() {
    let parsed = from_configmap(TWO_PROFILES, "ramen-system");
    assert_eq!(
        parsed.warnings,
        vec![warning(
            "s3StoreProfiles[1].s3SecretRef.namespace",
            10,
            16,
            WarningKind::S3SecretNamespaceIgnored {
                namespace: "other".to_owned(),
                operator_namespace: "ramen-system".to_owned(),
                profile: "minio-on-dr2".to_owned(),
            },
        )]
    );
    assert_eq!(
        parsed.warnings[0].to_string(),
        "s3StoreProfiles[1].s3SecretRef.namespace: \"other\" differs from the operator namespace \
         \"ramen-system\"; the Secret is read from \"ramen-system\" (profile \"minio-on-dr2\") at \
         line 10 column 16"
    );
    // Ramen ignores the namespace: the profile's Secret is still looked up by name alone.
    assert_eq!(
        parsed.config.s3_secret_name("minio-on-dr2"),
        Some("ramen-s3-secret-dr2")
    );
}

#[test]
fn a_secret_namespace_is_judged_against_the_configmap_namespace() {
    // In namespace `other`, the first profile's namespace is the odd one out.
    let parsed = from_configmap(TWO_PROFILES, "other");
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(
        parsed.warnings[0].path,
        "s3StoreProfiles[0].s3SecretRef.namespace"
    );
    assert_eq!(
        (parsed.warnings[0].line, parsed.warnings[0].column),
        (5, 16)
    );
    // Without a ConfigMap there is no operator namespace to compare with.
    assert_eq!(parse(TWO_PROFILES).warnings, vec![]);
}

#[test]
fn an_unset_secret_namespace_is_no_warning() {
    let parsed = from_configmap(
        "s3StoreProfiles:\n- s3ProfileName: p\n  s3SecretRef: {name: s, namespace: \"\"}\n- s3ProfileName: q\n  s3SecretRef: {name: s}\n",
        "ramen-system",
    );
    assert_eq!(parsed.warnings, vec![]);
}

#[test]
fn at_most_a_hundred_warnings_are_listed_then_how_many_more_there_were() {
    let mut yaml = String::new();
    for i in 0..150 {
        yaml.push_str(&format!("unknownKey{i}: 1\n"));
    }
    let parsed = parse(&yaml);
    assert_eq!(parsed.warnings.len(), 101);
    assert_eq!(parsed.warnings[99].path, "unknownKey99");
    assert_eq!(
        parsed.warnings[100],
        warning("", 101, 1, WarningKind::Omitted { count: 50 })
    );
    assert_eq!(
        parsed.warnings[100].to_string(),
        "(document root): ... and 50 more warnings, not listed (only the first 100 are), the \
         first of them at line 101 column 1"
    );
}
