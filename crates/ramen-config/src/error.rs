//! The crate's one error type: why a config could not be read or a profile lookup failed.

/// Shows an empty key path as the document root.
pub(crate) fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(document root)"
    } else {
        path
    }
}

/// Why a `RamenConfig` could not be read, or why an S3 profile lookup failed.
///
/// The S3 profile variants print Ramen's own messages (`ramenconfig.go`), word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The ConfigMap holding the config does not exist.
    #[error("configmaps \"{name}\" not found in namespace \"{namespace}\"")]
    ConfigMapNotFound {
        /// Namespace that was searched.
        namespace: String,
        /// ConfigMap name that was looked up.
        name: String,
    },
    /// The ConfigMap exists but its `data` has no entry for the config key.
    #[error("configmap \"{namespace}/{name}\" has no \"{key}\" key in its data")]
    KeyMissing {
        /// Namespace of the ConfigMap.
        namespace: String,
        /// Name of the ConfigMap.
        name: String,
        /// The missing data key (normally `ramen_manager_config.yaml`).
        key: String,
    },
    /// The YAML is malformed, a value has the wrong type for its field, a value naming a namespace
    /// or object is no valid such name, or the document is too big to read safely (too deep, too
    /// many nodes or too much text repeated through aliases).
    #[error("{}: {message} at line {line} column {column}", display_path(path))]
    Parse {
        /// Dotted key path of the offending value (`drClusterOperator.namespaceName`,
        /// `s3StoreProfiles[1].s3Bucket`); empty for the document root.
        path: String,
        /// 1-based line of the offending value (or of the syntax error).
        line: usize,
        /// 1-based column of the offending value (or of the syntax error).
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// The config could not be written as YAML.
    #[error("cannot serialize RamenConfig as YAML: {message}")]
    Serialize {
        /// The serializer's message.
        message: String,
    },
    /// No entry of `s3StoreProfiles` has this `s3ProfileName`.
    #[error("s3 profile {profile} not found in RamenConfig")]
    S3ProfileNotFound {
        /// The profile name looked up.
        profile: String,
    },
    /// The profile's `s3CompatibleEndpoint` is empty.
    #[error("s3 endpoint has not been configured in s3 profile {profile}")]
    S3EndpointNotConfigured {
        /// The profile name.
        profile: String,
    },
    /// The profile's `s3CompatibleEndpoint` is not what Go's `url.ParseRequestURI` accepts.
    #[error("invalid s3 endpoint <{endpoint}> in profile {profile}, reason: {reason}")]
    InvalidS3Endpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// The profile name.
        profile: String,
        /// Go's `*url.Error` text, e.g. `parse "minio:9000": invalid URI for request`.
        reason: String,
    },
    /// The profile's `s3Bucket` is empty.
    #[error("s3 bucket has not been configured in s3 profile {profile}")]
    S3BucketNotConfigured {
        /// The profile name.
        profile: String,
    },
}
