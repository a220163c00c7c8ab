//! Config values that name a namespace or an object must be valid such names: anything else is a
//! positioned parse error, before it can reach an object or a template.

use std::collections::BTreeMap;

use ramen_config::{ConfigError, ConfigMapLocation, from_config_map_data, parse_str};

/// The document setting `path` (dotted, `s3StoreProfiles[0]` for the one profile) to `value`,
/// written as a single-quoted YAML scalar.
fn document(path: &str, value: &str) -> String {
    let quoted = format!("'{}'", value.replace('\'', "''"));
    let mut yaml = String::new();
    let mut indent = String::new();
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match segment.strip_suffix("[0]") {
            Some(list) => {
                yaml.push_str(&format!("{indent}{list}:\n{indent}- "));
                indent.push_str("  ");
                // The first key of the item follows the dash on the same line.
                continue;
            }
            None if last => yaml.push_str(&format!("{segment}: {quoted}\n")),
            None => {
                yaml.push_str(&format!("{segment}:\n"));
                indent.push_str("  ");
            }
        }
        if !last {
            yaml.push_str(&indent);
        }
    }
    yaml
}

fn refusal(yaml: &str) -> (String, String) {
    match parse_str(yaml) {
        Err(ConfigError::Parse { path, message, .. }) => (path, message),
        other => panic!("expected a parse error for\n{yaml}\ngot {other:?}"),
    }
}

const NAMESPACE_FIELDS: &[&str] = &[
    "drClusterOperator.namespaceName",
    "drClusterOperator.catalogSourceNamespaceName",
    "kubeObjectProtection.veleroNamespaceName",
    "ramenOpsNamespace",
    "cacheNamespace",
    "leaderElection.resourceNamespace",
];

const OBJECT_NAME_FIELDS: &[(&str, &str)] = &[
    ("s3StoreProfiles[0].s3ProfileName", "S3 profile name"),
    ("s3StoreProfiles[0].s3SecretRef.name", "Secret name"),
    (
        "s3StoreProfiles[0].veleroNamespaceSecretKeyRef.name",
        "Secret name",
    ),
    ("leaderElection.resourceName", "Lease name"),
    ("drClusterOperator.catalogSourceName", "CatalogSource name"),
    (
        "drClusterOperator.clusterServiceVersionName",
        "ClusterServiceVersion name",
    ),
];

/// Names real Ramen and OpenShift DR deployments use, and the empty value ("unset").
const VALID_NAMESPACES: &[&str] = &[
    "",
    "ramen-system",
    "ramen-ops",
    "openshift-dr-system",
    "openshift-dr-ops",
    "openshift-adp",
    "velero",
    "123",
];

const INVALID_NAMESPACES: &[&str] = &[
    "Ramen-system",
    "ramen_system",
    "ramen.system",
    "-ramen",
    "ramen-",
    "ramen system",
    "ramén",
    "x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}",
    "{{ lookup \"v1\" \"Secret\" \"ns\" \"s\" }}",
    "a\nb",
];

const VALID_OBJECT_NAMES: &[&str] = &[
    "",
    "minio-on-dr1",
    "minio-on-dr2",
    "s3profile-east",
    "s3profile-ocp-dr1-ocs-storagecluster",
    "ramen-s3-secret-dr1",
    "cloud-credentials",
    "hub.ramendr.openshift.io",
    "odr-cluster-operator.v4.16.0",
];

const INVALID_OBJECT_NAMES: &[&str] = &[
    "MinIO-on-dr1",
    "s3_profile",
    "a..b",
    ".a",
    "a.",
    "a/b",
    "a b",
    "x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}",
    "}}",
];

#[test]
fn namespace_fields_accept_namespace_names_and_empty_values() {
    for field in NAMESPACE_FIELDS {
        for value in VALID_NAMESPACES {
            let yaml = document(field, value);
            if let Err(e) = parse_str(&yaml) {
                panic!("{field} = {value:?} refused: {e}\n{yaml}");
            }
        }
    }
}

#[test]
fn namespace_fields_refuse_what_is_no_dns_1123_label() {
    let too_long = "a".repeat(64);
    for field in NAMESPACE_FIELDS {
        for value in INVALID_NAMESPACES
            .iter()
            .copied()
            .chain([too_long.as_str()])
        {
            let (path, message) = refusal(&document(field, value));
            assert_eq!(&path, field);
            assert!(
                message.contains(
                    " is not a valid namespace name (a DNS-1123 label: lowercase letters, digits \
                     and '-', starting and ending with a letter or digit, at most 63 characters)"
                ),
                "{message}"
            );
        }
    }
}

#[test]
fn object_name_fields_accept_real_names_and_empty_values() {
    for (field, _) in OBJECT_NAME_FIELDS {
        for value in VALID_OBJECT_NAMES {
            let yaml = document(field, value);
            if let Err(e) = parse_str(&yaml) {
                panic!("{field} = {value:?} refused: {e}\n{yaml}");
            }
        }
    }
}

#[test]
fn object_name_fields_refuse_what_is_no_dns_1123_subdomain() {
    let too_long = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(62)
    );
    assert_eq!(too_long.len(), 254);
    for (field, kind) in OBJECT_NAME_FIELDS {
        for value in INVALID_OBJECT_NAMES
            .iter()
            .copied()
            .chain([too_long.as_str()])
        {
            let (path, message) = refusal(&document(field, value));
            assert_eq!(path, *field);
            assert!(
                message.contains(&format!(" is not a valid {kind} (")),
                "{message}"
            );
            assert!(message.contains("a DNS-1123 subdomain"), "{message}");
        }
    }
}

#[test]
fn a_template_in_the_dr_cluster_operator_namespace_is_refused_with_its_position() {
    let yaml = "drClusterOperator:\n  deploymentAutomationEnabled: true\n  namespaceName: \
                'x\" \"{{hub fromSecret \"ramen-system\" \"other\" \"k\" hub}}'\n";
    let error = parse_str(yaml).expect_err("refused");
    assert_eq!(
        error.to_string(),
        r#"drClusterOperator.namespaceName: "x\" \"{{hub fromSecret \"ramen-system\" \"oth..." is not a valid namespace name (a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters) at line 3 column 18"#
    );
}

#[test]
fn an_invalid_name_in_the_configmap_is_the_same_parse_error() {
    let yaml =
        "s3StoreProfiles:\n- s3ProfileName: minio-on-dr1\n  s3SecretRef: {name: Bad_Secret}\n";
    let data = BTreeMap::from([(ramen_config::CONFIG_MAP_KEY.to_owned(), yaml.to_owned())]);
    let error = from_config_map_data(&ConfigMapLocation::hub("ramen-system"), Some(&data))
        .expect_err("refused");
    assert_eq!(
        error,
        ConfigError::Parse {
            path: "s3StoreProfiles[0].s3SecretRef.name".to_owned(),
            line: 3,
            column: 23,
            message: "\"Bad_Secret\" is not a valid Secret name (a DNS-1123 subdomain: lowercase \
                      letters, digits, '-' and '.', each '.'-separated part starting and ending \
                      with a letter or digit, at most 253 characters)"
                .to_owned(),
        }
    );
}

#[test]
fn the_s3_profile_name_error_says_why_it_must_be_a_subdomain() {
    let (_, message) = refusal("s3StoreProfiles:\n- s3ProfileName: East_Profile\n");
    assert!(
        message.starts_with(
            "\"East_Profile\" is not a valid S3 profile name (Ramen names Velero objects after \
             it, so a DNS-1123 subdomain"
        ),
        "{message}"
    );
}

#[test]
fn a_name_is_checked_as_ramen_reads_it() {
    // go-yaml v2 reads the unquoted 1.5 as a float, and Ramen as the string "1.5": no label.
    let (path, message) = refusal("ramenOpsNamespace: 1.5\n");
    assert_eq!(path, "ramenOpsNamespace");
    assert!(
        message.starts_with("\"1.5\" is not a valid namespace name"),
        "{message}"
    );
    // 0x10 reads as "16", which is one.
    let parsed = parse_str("ramenOpsNamespace: 0x10\n").expect("valid");
    assert_eq!(parsed.config.ramen_ops_namespace, "16");
}

#[test]
fn a_name_through_an_alias_is_refused_where_the_anchor_is() {
    let error = parse_str("x: &n Bad\nramenOpsNamespace: *n\n").expect_err("refused");
    assert!(
        matches!(&error, ConfigError::Parse { path, line: 1, column: 7, .. } if path == "ramenOpsNamespace"),
        "{error:?}"
    );
}

#[test]
fn only_the_value_ramen_uses_is_checked() {
    // Of equal keys the last wins: the first value is never used, so never checked.
    let parsed = parse_str("ramenOpsNamespace: Bad\nramenOpsNamespace: good\n").expect("valid");
    assert_eq!(parsed.config.ramen_ops_namespace, "good");
    // A case-insensitive spelling is checked under the field's own path.
    let (path, _) = refusal("RamenOpsNamespace: Bad\n");
    assert_eq!(path, "ramenOpsNamespace");
    // Fields that name nothing take any string.
    parse_str("s3StoreProfiles:\n- s3Bucket: Any Bucket_Name\n  s3Region: \"{{x}}\"\n")
        .expect("valid");
}
