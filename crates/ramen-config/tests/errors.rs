//! Failures: a missing ConfigMap or key, malformed YAML, and values of the wrong type, each
//! naming where the problem is.

mod common;

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use ramen_config::{ConfigError, ConfigMapLocation, RamenConfig, from_config_map_data, parse_str};

fn parse_error(yaml: &str) -> (String, usize, usize, String) {
    match parse_str(yaml) {
        Err(ConfigError::Parse {
            path,
            line,
            column,
            message,
        }) => (path, line, column, message),
        other => panic!("expected a parse error for {yaml:?}, got {other:?}"),
    }
}

#[test]
fn missing_config_map_is_config_map_not_found() {
    let err = from_config_map_data(&ConfigMapLocation::hub("ramen-system"), None)
        .expect_err("no ConfigMap");
    assert_eq!(
        err,
        ConfigError::ConfigMapNotFound {
            namespace: "ramen-system".to_owned(),
            name: "ramen-hub-operator-config".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        "configmaps \"ramen-hub-operator-config\" not found in namespace \"ramen-system\""
    );
}

#[test]
fn missing_key_is_key_missing() {
    let data = BTreeMap::from([("other.yaml".to_owned(), "a: b".to_owned())]);
    let err = from_config_map_data(&ConfigMapLocation::hub("ramen-system"), Some(&data))
        .expect_err("no key");
    assert_eq!(
        err,
        ConfigError::KeyMissing {
            namespace: "ramen-system".to_owned(),
            name: "ramen-hub-operator-config".to_owned(),
            key: "ramen_manager_config.yaml".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        "configmap \"ramen-system/ramen-hub-operator-config\" has no \"ramen_manager_config.yaml\" key in its data"
    );
}

#[test]
fn empty_value_is_the_zero_config() {
    for yaml in [
        "",
        "   \n",
        "# nothing\n",
        "---\n",
        "~\n",
        "null\n",
        "---\n...\n",
    ] {
        let data = BTreeMap::from([(ramen_config::CONFIG_MAP_KEY.to_owned(), yaml.to_owned())]);
        let parsed = from_config_map_data(&ConfigMapLocation::hub("ns"), Some(&data))
            .unwrap_or_else(|e| panic!("{yaml:?}: {e}"));
        assert_eq!(parsed.config, RamenConfig::default(), "{yaml:?}");
        assert_eq!(parsed.warnings, vec![], "{yaml:?}");
    }
}

#[test]
fn wrong_boolean_names_path_line_and_column() {
    let yaml = common::seed_yaml().replace(
        "s3SecretDistributionEnabled: true",
        "s3SecretDistributionEnabled: maybe",
    );
    let err = parse_str(&yaml).expect_err("maybe is no boolean");
    assert_eq!(
        err.to_string(),
        "drClusterOperator.s3SecretDistributionEnabled: expected a boolean, found \"maybe\" at line 16 column 32"
    );
}

#[test]
fn quoted_boolean_is_a_string_not_a_boolean() {
    let (path, line, column, message) = parse_error("volSync:\n  disabled: \"true\"\n");
    assert_eq!(path, "volSync.disabled");
    assert_eq!((line, column), (2, 13));
    assert_eq!(message, "expected a boolean, found \"true\"");
}

#[test]
fn string_for_an_integer_field_is_an_error() {
    let (path, line, column, message) = parse_error("maxConcurrentReconciles: \"x\"\n");
    assert_eq!(path, "maxConcurrentReconciles");
    assert_eq!((line, column), (1, 26));
    assert_eq!(message, "expected an integer, found \"x\"");
    // A fraction does not fit a Go int either.
    let (_, _, _, message) = parse_error("maxConcurrentReconciles: 1.5\n");
    assert_eq!(message, "expected an integer, found \"1.5\"");
}

#[test]
fn errors_inside_lists_name_the_index() {
    let yaml = "s3StoreProfiles:\n- s3ProfileName: a\n- s3ProfileName: b\n  s3SecretRef: oops\n";
    let (path, line, column, message) = parse_error(yaml);
    assert_eq!(path, "s3StoreProfiles[1].s3SecretRef");
    assert_eq!((line, column), (4, 16));
    assert_eq!(message, "expected a mapping, found \"oops\"");
}

#[test]
fn mapping_for_a_string_field_is_an_error() {
    let (path, _, _, message) = parse_error("drClusterOperator:\n  namespaceName: {a: b}\n");
    assert_eq!(path, "drClusterOperator.namespaceName");
    assert_eq!(message, "expected a string, found a mapping");
}

#[test]
fn non_mapping_document_is_an_error_at_the_root() {
    let err = parse_str("- a\n- b\n").expect_err("a list is no RamenConfig");
    assert_eq!(
        err.to_string(),
        "(document root): expected a mapping, found a sequence at line 1 column 1"
    );
    let (path, ..) = parse_error("just text\n");
    assert_eq!(path, "");
}

#[test]
fn malformed_yaml_is_a_parse_error_with_position() {
    let err = parse_str("kind: RamenConfig\nfoo: [\n").expect_err("unclosed bracket");
    assert_eq!(
        err.to_string(),
        "foo: unclosed bracket '[' at line 2 column 6"
    );
    let (path, line, column, message) = parse_error("a: b\n  c: d\n");
    assert_eq!(path, "");
    assert_eq!((line, column), (2, 4));
    assert_eq!(message, "mapping values are not allowed in this context");
    let (path, line, _, _) = parse_error("s3StoreProfiles:\n- s3Bucket: 'b\n");
    assert_eq!(path, "s3StoreProfiles[0].s3Bucket");
    assert_eq!(line, 2);
}

#[test]
fn bad_duration_reports_go_message() {
    let (path, line, column, message) = parse_error("syncPeriod: 10d\n");
    assert_eq!(path, "syncPeriod");
    assert_eq!((line, column), (1, 13));
    assert_eq!(message, "time: unknown unit \"d\" in duration \"10d\"");
    // metav1.Duration only reads strings: a bare number is a type error, as in Ramen.
    let (path, _, _, message) = parse_error("leaderElection:\n  leaseDuration: 15\n");
    assert_eq!(path, "leaderElection.leaseDuration");
    assert!(message.contains("duration string"), "{message}");
}

#[test]
fn bad_base64_ca_certificates_is_an_error() {
    let (path, line, _, message) =
        parse_error("s3StoreProfiles:\n- s3ProfileName: p\n  caCertificates: \"not base64!\"\n");
    assert_eq!(path, "s3StoreProfiles[0].caCertificates");
    assert_eq!(line, 3);
    assert!(message.starts_with("illegal base64 data"), "{message}");
}

#[test]
fn cache_sync_timeout_must_be_integer_nanoseconds() {
    let (path, _, _, message) = parse_error("controller:\n  cacheSyncTimeout: 2m\n");
    assert_eq!(path, "controller.cacheSyncTimeout");
    assert_eq!(message, "expected an integer, found \"2m\"");
}

#[test]
fn non_scalar_key_is_an_error() {
    let (path, line, _, message) = parse_error("? [a, b]\n: c\n");
    assert_eq!(path, "");
    assert_eq!(line, 1);
    assert_eq!(message, "mapping keys must be scalars, found a sequence");
}

#[test]
fn undefined_alias_is_an_error() {
    let (_, line, _, message) = parse_error("ramenOpsNamespace: *missing\n");
    assert_eq!(line, 1);
    assert!(message.contains("anchor"), "{message}");
}
