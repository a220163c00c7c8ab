//! S3 profile lookups: by name, the secret a profile names, and Ramen's format check.

use crate::error::ConfigError;
use crate::request_uri::parse_request_uri;
use crate::types::{RamenConfig, S3StoreProfile};

impl RamenConfig {
    /// The first entry of `s3StoreProfiles` named `name` (Ramen takes the first match too).
    #[must_use]
    pub fn s3_profile(&self, name: &str) -> Option<&S3StoreProfile> {
        self.s3_store_profiles
            .iter()
            .find(|profile| profile.s3_profile_name == name)
    }

    /// The name of the hub secret (`s3SecretRef.name`) of the profile named `name`, as Ramen's
    /// `drPolicySecretNames` resolves it. `None` when there is no such profile.
    ///
    /// Ramen reads the secret from its own namespace; `s3SecretRef.namespace` is ignored.
    #[must_use]
    pub fn s3_secret_name(&self, name: &str) -> Option<&str> {
        self.s3_profile(name)
            .map(|profile| profile.s3_secret_ref.name.as_str())
    }

    /// The profile named `name`, checked like Ramen's `GetRamenConfigS3StoreProfile`.
    ///
    /// # Errors
    /// `s3 profile <name> not found in RamenConfig`, or an error of
    /// [`S3StoreProfile::format_check`].
    pub fn checked_s3_profile(&self, name: &str) -> Result<&S3StoreProfile, ConfigError> {
        let profile = self
            .s3_profile(name)
            .ok_or_else(|| ConfigError::S3ProfileNotFound {
                profile: name.to_owned(),
            })?;
        profile.format_check()?;
        Ok(profile)
    }
}

impl S3StoreProfile {
    /// Ramen's `s3StoreProfileFormatCheck`: the endpoint is set and parses as Go's
    /// `url.ParseRequestURI` requires (an absolute URI or an absolute path), and the bucket is
    /// set — checked in that order.
    ///
    /// # Errors
    /// [`ConfigError::S3EndpointNotConfigured`], [`ConfigError::InvalidS3Endpoint`] or
    /// [`ConfigError::S3BucketNotConfigured`], printing Ramen's messages.
    pub fn format_check(&self) -> Result<(), ConfigError> {
        let profile = || self.s3_profile_name.clone();
        if self.s3_compatible_endpoint.is_empty() {
            return Err(ConfigError::S3EndpointNotConfigured { profile: profile() });
        }
        parse_request_uri(&self.s3_compatible_endpoint).map_err(|reason| {
            ConfigError::InvalidS3Endpoint {
                endpoint: self.s3_compatible_endpoint.clone(),
                profile: profile(),
                reason,
            }
        })?;
        if self.s3_bucket.is_empty() {
            return Err(ConfigError::S3BucketNotConfigured { profile: profile() });
        }
        Ok(())
    }
}
