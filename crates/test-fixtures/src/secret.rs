//! S3 credential Secrets, as the seed's `s3SecretRef`s name them.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// The two values of an S3 Secret; tests choose values that must never show up in anything the
/// operator writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
}

impl S3Credentials {
    /// Credentials with these two values.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        S3Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }
}

/// Secret `namespace/name` holding `credentials` under `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`.
pub fn s3_secret(namespace: &str, name: &str, credentials: &S3Credentials) -> Secret {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.into());
    secret.metadata.namespace = Some(namespace.into());
    secret.data = Some(BTreeMap::from([
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            ByteString(credentials.access_key.as_bytes().to_vec()),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            ByteString(credentials.secret_key.as_bytes().to_vec()),
        ),
    ]));
    secret
}
