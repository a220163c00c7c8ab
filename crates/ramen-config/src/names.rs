//! Which config values name a Kubernetes namespace or object, and the syntax each must have.
//!
//! These values end up in objects and templates (the namespace of the Secret every OCM Policy
//! delivers, the Secret a hub template reads, the ops namespace the hub creates, the Velero objects
//! Ramen names after an S3 profile), so a value that is no valid name is refused while decoding,
//! with its key path and position, instead of being written somewhere. A value that fails these
//! checks could never name an existing namespace or object, so refusing it takes nothing from a
//! working config. Empty values stay allowed: they mean "unset" (most of them "use the default").
//!
//! The DNS-1123 checks themselves are `go-text`'s, the ones `drpolicy-api` applies to the names it
//! puts into objects, so a value accepted here is accepted there.

use std::fmt::Write as _;

use go_text::{is_dns1123_label, is_dns1123_subdomain, quote};

/// Characters of an invalid value quoted in an error message; longer values are cut.
const SHOWN_CHARS: usize = 40;

/// The syntax a named value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// A DNS-1123 label (namespace names).
    Label,
    /// A DNS-1123 subdomain (most object names).
    Subdomain,
}

/// What a config value names, and so which syntax it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    /// A namespace.
    Namespace,
    /// An object of this kind (`Secret`, `Lease`, ...).
    Object(&'static str),
    /// An S3 profile: Ramen names Velero objects on DR clusters `<prefix>--<group>--<profile>`.
    S3Profile,
}

impl NameKind {
    fn syntax(self) -> Syntax {
        match self {
            NameKind::Namespace => Syntax::Label,
            NameKind::Object(_) | NameKind::S3Profile => Syntax::Subdomain,
        }
    }

    fn describe(self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            NameKind::Namespace => write!(out, "namespace name"),
            NameKind::Object(kind) => write!(out, "{kind} name"),
            NameKind::S3Profile => write!(out, "S3 profile name"),
        };
    }
}

/// Config values that name something, by key path; `[]` stands for any sequence index.
const NAMED_FIELDS: &[(&str, NameKind)] = &[
    ("cacheNamespace", NameKind::Namespace),
    ("leaderElection.resourceNamespace", NameKind::Namespace),
    ("leaderElection.resourceName", NameKind::Object("Lease")),
    ("ramenOpsNamespace", NameKind::Namespace),
    ("drClusterOperator.namespaceName", NameKind::Namespace),
    (
        "drClusterOperator.catalogSourceNamespaceName",
        NameKind::Namespace,
    ),
    (
        "drClusterOperator.catalogSourceName",
        NameKind::Object("CatalogSource"),
    ),
    (
        "drClusterOperator.clusterServiceVersionName",
        NameKind::Object("ClusterServiceVersion"),
    ),
    (
        "kubeObjectProtection.veleroNamespaceName",
        NameKind::Namespace,
    ),
    ("s3StoreProfiles[].s3ProfileName", NameKind::S3Profile),
    (
        "s3StoreProfiles[].s3SecretRef.name",
        NameKind::Object("Secret"),
    ),
    (
        "s3StoreProfiles[].veleroNamespaceSecretKeyRef.name",
        NameKind::Object("Secret"),
    ),
];

/// Key paths whose position [`crate::load`] needs after decoding (for warnings that compare a
/// value with something only the caller knows).
const REMEMBERED_FIELDS: &[&str] = &["s3StoreProfiles[].s3SecretRef.namespace"];

/// Whether `path` is `pattern`, where `[]` in the pattern matches `[<digits>]`.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.as_bytes(), path.as_bytes());
    loop {
        match (pattern.split_first(), path.split_first()) {
            (None, None) => return true,
            (Some((b'[', rest)), Some((b'[', _))) if rest.first() == Some(&b']') => {
                let digits = path[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 || path.get(1 + digits) != Some(&b']') {
                    return false;
                }
                pattern = &rest[1..];
                path = &path[digits + 2..];
            }
            (Some((a, pattern_rest)), Some((b, path_rest))) if a == b => {
                pattern = pattern_rest;
                path = path_rest;
            }
            _ => return false,
        }
    }
}

/// Whether the decoder should remember where the value at `path` is.
pub(crate) fn is_remembered(path: &str) -> bool {
    REMEMBERED_FIELDS
        .iter()
        .any(|pattern| path_matches(pattern, path))
}

/// `value` quoted as Go quotes it ([`go_text::quote`], like the crate's other messages), cut
/// after [`SHOWN_CHARS`] characters with `...` inside the quotes.
pub(crate) fn quote_for_message(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => quote(value),
        Some((cut, _)) => {
            let quoted = quote(&value[..cut]);
            // `quote` always ends in the closing `"`: put the ellipsis before it.
            format!("{}...\"", &quoted[..quoted.len() - 1])
        }
    }
}

/// Checks the string `value` decoded at key path `path`: `Err` with what is wrong when the path
/// names a namespace or object and the value is neither empty nor a valid such name.
pub(crate) fn check(path: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let Some(&(_, kind)) = NAMED_FIELDS
        .iter()
        .find(|(pattern, _)| path_matches(pattern, path))
    else {
        return Ok(());
    };
    let valid = match kind.syntax() {
        Syntax::Label => is_dns1123_label(value),
        Syntax::Subdomain => is_dns1123_subdomain(value),
    };
    if valid {
        return Ok(());
    }
    let mut message = format!("{} is not a valid ", quote_for_message(value));
    kind.describe(&mut message);
    message.push_str(match (kind, kind.syntax()) {
        (_, Syntax::Label) => {
            " (a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a \
             letter or digit, at most 63 characters)"
        }
        (NameKind::S3Profile, Syntax::Subdomain) => {
            " (Ramen names Velero objects after it, so a DNS-1123 subdomain: lowercase letters, \
             digits, '-' and '.', each '.'-separated part starting and ending with a letter or \
             digit, at most 253 characters)"
        }
        (_, Syntax::Subdomain) => {
            " (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', each '.'-separated \
             part starting and ending with a letter or digit, at most 253 characters)"
        }
    });
    Err(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_any_index() {
        let pattern = "s3StoreProfiles[].s3SecretRef.name";
        assert!(path_matches(pattern, "s3StoreProfiles[0].s3SecretRef.name"));
        assert!(path_matches(
            pattern,
            "s3StoreProfiles[12].s3SecretRef.name"
        ));
        assert!(!path_matches(pattern, "s3StoreProfiles[].s3SecretRef.name"));
        assert!(!path_matches(
            pattern,
            "s3StoreProfiles[x].s3SecretRef.name"
        ));
        assert!(!path_matches(
            pattern,
            "s3StoreProfiles[0].s3SecretRef.namespace"
        ));
        assert!(!path_matches(pattern, "s3StoreProfiles[0].s3SecretRef"));
        assert!(path_matches("ramenOpsNamespace", "ramenOpsNamespace"));
        assert!(!path_matches("ramenOpsNamespace", "ramenOpsNamespaces"));
    }

    #[test]
    fn unnamed_fields_and_empty_values_pass() {
        assert_eq!(check("s3StoreProfiles[0].s3Bucket", "Not A Name"), Ok(()));
        assert_eq!(check("drClusterOperator.namespaceName", ""), Ok(()));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = format!("{}\"", "x".repeat(100));
        assert_eq!(
            quote_for_message(&long),
            format!("\"{}...\"", "x".repeat(40))
        );
        assert_eq!(quote_for_message("a\"b"), r#""a\"b""#);
    }

    #[test]
    fn messages_quote_values_as_go_does_also_when_cut() {
        assert_eq!(quote_for_message("a\u{1}\n"), r#""a\x01\n""#);
        let long = format!("\u{7f}{}", "x".repeat(50));
        assert_eq!(
            quote_for_message(&long),
            format!("\"\\x7f{}...\"", "x".repeat(39))
        );
    }
}
