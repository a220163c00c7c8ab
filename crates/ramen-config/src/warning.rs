//! Things in a config that Ramen accepts but a reader should hear about: ignored keys, keys
//! matched only case-insensitively, YAML 1.1 spellings, duplicates, ignored secret namespaces — and
//! how many more there were than are listed.

use std::fmt;

use crate::decoder::MAX_WARNINGS;
use crate::error::display_path;
use crate::names::quote_for_message;

/// A tolerated oddity in the config, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Dotted key path (`drClusterOperator.s3SecretDistributionEnabeld`); empty for the root.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was found.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// A key that is no field of `RamenConfig`; Ramen ignores it, and so does this crate.
    UnknownKey {
        /// A known key at the same level that is spelled almost the same, if any.
        did_you_mean: Option<String>,
    },
    /// A key that matches a field only when case is ignored, as Go's `encoding/json` allows.
    CaseInsensitiveKey {
        /// The key as written.
        key: String,
        /// The field's spelling.
        canonical: String,
    },
    /// A YAML 1.1 boolean (`yes`, `on`, `N`, ...) for a boolean field; go-yaml v2 reads it as a
    /// boolean, a YAML 1.2 parser reads a string.
    Yaml11Boolean {
        /// The scalar as written.
        text: String,
        /// The value it was read as.
        value: bool,
    },
    /// An unquoted scalar for a string field whose text is not what Ramen reads: go-yaml v2
    /// resolves it first (`yes` → `"true"`, `0x10` → `"16"`, `1.0` → `"1"`).
    ScalarConverted {
        /// The scalar as written.
        text: String,
        /// The string Ramen (and this crate) reads.
        value: String,
    },
    /// The same key more than once in one mapping; the last one wins.
    DuplicateKey,
    /// Several spellings of one field (`namespaceName`, `NamespaceName`); like Ramen, the one
    /// that sorts last byte-wise wins.
    ConflictingKeys {
        /// The spellings found.
        keys: Vec<String>,
        /// The spelling whose value is used.
        used: String,
    },
    /// A second YAML document in the value; only the first is read, as by Ramen.
    ExtraDocument,
    /// `s3SecretRef.namespace` names a namespace other than the operator's; Ramen reads the Secret
    /// from the operator namespace whatever it says, and so does this crate. Only
    /// [`crate::from_config_map_data`] knows the operator namespace and reports this.
    S3SecretNamespaceIgnored {
        /// The namespace written.
        namespace: String,
        /// The operator namespace, where the Secret is read from.
        operator_namespace: String,
        /// The profile's `s3ProfileName`.
        profile: String,
    },
    /// More warnings than are listed: only the first ones are kept, so that a document cannot make
    /// the list arbitrarily long. Always the last warning; its position is the first one left out.
    Omitted {
        /// How many warnings were left out.
        count: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", display_path(&self.path))?;
        match &self.kind {
            WarningKind::UnknownKey { did_you_mean } => {
                f.write_str("unknown key, ignored")?;
                if let Some(known) = did_you_mean {
                    write!(f, " (did you mean {known}?)")?;
                }
            }
            WarningKind::CaseInsensitiveKey { key, canonical } => write!(
                f,
                "key {key} matches {canonical} only case-insensitively (accepted, as by Go's encoding/json); spell it {canonical}"
            )?,
            WarningKind::Yaml11Boolean { text, value } => write!(
                f,
                "YAML 1.1 boolean {text} read as {value} (as Ramen's go-yaml v2 does); write {value} for YAML 1.2 readers"
            )?,
            WarningKind::ScalarConverted { text, value } => write!(
                f,
                "unquoted {text} is not a string in YAML 1.1 and is read as {value:?}; quote it to keep the text"
            )?,
            WarningKind::DuplicateKey => {
                f.write_str("key appears more than once in the mapping; the last value wins")?;
            }
            WarningKind::ConflictingKeys { keys, used } => write!(
                f,
                "keys {} all set this field; the value of {used} is used",
                keys.join(", ")
            )?,
            WarningKind::ExtraDocument => {
                f.write_str("a further YAML document starts here; only the first document is read")?
            }
            WarningKind::S3SecretNamespaceIgnored {
                namespace,
                operator_namespace,
                profile,
            } => write!(
                f,
                "{} differs from the operator namespace {operator}; the Secret is read from \
                 {operator} (profile {})",
                quote_for_message(namespace),
                quote_for_message(profile),
                operator = go_text::quote(operator_namespace),
            )?,
            WarningKind::Omitted { count } => write!(
                f,
                "... and {count} more warnings, not listed (only the first {MAX_WARNINGS} are), \
                 the first of them"
            )?,
        }
        write!(f, " at line {} column {}", self.line, self.column)
    }
}
