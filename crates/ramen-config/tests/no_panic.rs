//! No input makes the decoder panic: arbitrary text, and arbitrary YAML built from the config's
//! own keys (so the typed decoding paths are exercised, not just the parser).

use proptest::prelude::*;
use ramen_config::{ConfigError, parse_str};

/// Keys of the config at every level, a few misspelt or recased, plus YAML specials.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "syncPeriod",
    "leaderElection",
    "leaderElect",
    "leaseDuration",
    "resourceName",
    "cacheNamespace",
    "gracefulShutDown",
    "controller",
    "groupKindConcurrency",
    "cacheSyncTimeout",
    "recoverPanic",
    "metrics",
    "bindAddress",
    "health",
    "webhook",
    "port",
    "ramenControllerType",
    "s3StoreProfiles",
    "s3ProfileName",
    "s3Bucket",
    "s3CompatibleEndpoint",
    "s3SecretRef",
    "veleroNamespaceSecretKeyRef",
    "caCertificates",
    "optional",
    "name",
    "namespace",
    "key",
    "maxConcurrentReconciles",
    "drClusterOperator",
    "deploymentAutomationEnabled",
    "s3SecretDistributionEnabled",
    "S3SecretDistributionEnabled",
    "s3SecretDistributionEnabeld",
    "namespaceName",
    "volSync",
    "disabled",
    "destinationCopyMethod",
    "kubeObjectProtection",
    "multiNamespace",
    "FeatureEnabled",
    "featureenabled",
    "volumeUnprotectionEnabled",
    "ramenOpsNamespace",
    "retainNamespaceSCCAcrossPeers",
    "<<",
    "~",
    "yes",
    "1",
];

const SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "true",
    "yes",
    "Off",
    "n",
    "0",
    "-1",
    "9443",
    "0x1F",
    "017",
    "1e3",
    "1.5",
    ".inf",
    ".nan",
    "9223372036854775808",
    "-9223372036854775809",
    "10h",
    "1m30s",
    "x",
    "\"quoted\"",
    "'single'",
    "LS0t",
    "*a",
    "&a x",
    "!!str 5",
    "!!int x",
    "|\n  block",
    "[]",
    "{}",
    "[a, {b: c}]",
    "{a: [1, 2]}",
    "-",
    ":",
    "? x",
];

/// A YAML-ish tree, rendered as block or flow text.
#[derive(Debug, Clone)]
enum Yamlish {
    Scalar(String),
    Seq(Vec<Yamlish>),
    Map(Vec<(String, Yamlish)>),
}

impl Yamlish {
    fn render(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match self {
            Yamlish::Scalar(s) => {
                out.push(' ');
                out.push_str(s);
                out.push('\n');
            }
            Yamlish::Seq(items) => {
                out.push('\n');
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    item.render(indent + 2, out);
                }
            }
            Yamlish::Map(entries) => {
                out.push('\n');
                for (key, value) in entries {
                    out.push_str(&pad);
                    out.push_str(key);
                    out.push(':');
                    value.render(indent + 2, out);
                }
            }
        }
    }

    fn to_document(&self) -> String {
        let mut out = String::new();
        self.render(0, &mut out);
        out
    }
}

fn yamlish() -> impl Strategy<Value = Yamlish> {
    let leaf = prop_oneof![
        prop::sample::select(SCALARS).prop_map(|s| Yamlish::Scalar(s.to_owned())),
        "[ -~]{0,8}".prop_map(Yamlish::Scalar),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Yamlish::Seq),
            prop::collection::vec(
                (prop::sample::select(KEYS).prop_map(str::to_owned), inner),
                0..6
            )
            .prop_map(Yamlish::Map),
        ]
    })
}

fn check(yaml: &str) {
    match parse_str(yaml) {
        Ok(parsed) => {
            // Whatever decoded serializes and decodes again to the same config.
            let text = parsed.config.to_yaml().expect("serializes");
            let again = parse_str(&text).expect("own output decodes");
            assert_eq!(again.config, parsed.config, "{text}");
        }
        Err(ConfigError::Parse { line, column, .. }) => {
            assert!(
                line >= 1 && column >= 1,
                "position {line}:{column} for {yaml:?}"
            );
        }
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn arbitrary_yaml_structures_never_panic(tree in yamlish()) {
        check(&tree.to_document());
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-zA-Z0-9:{}\\[\\],\"'&*!|>#~ \n-]{0,80}") {
        check(&text);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(10_000);
    assert!(parse_str(&deep).is_err());
    let deep_map = (0..500).fold(String::new(), |acc, i| {
        format!("{acc}{}k:\n", " ".repeat(i))
    });
    assert!(parse_str(&deep_map).is_err());
}
