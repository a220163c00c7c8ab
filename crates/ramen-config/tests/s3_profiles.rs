//! S3 profile lookups and Ramen's profile format check, with Ramen's messages.

use pretty_assertions::assert_eq;
use ramen_config::{ConfigError, RamenConfig, S3StoreProfile, parse_str};

fn config() -> RamenConfig {
    parse_str(concat!(
        "s3StoreProfiles:\n",
        "- s3ProfileName: good\n",
        "  s3Bucket: bucket\n",
        "  s3CompatibleEndpoint: http://192.168.124.246:30000\n",
        "  s3SecretRef: {name: secret-good, namespace: ignored}\n",
        "- s3ProfileName: good\n",
        "  s3Bucket: second\n",
        "  s3SecretRef: {name: secret-shadowed}\n",
        "- s3ProfileName: no-endpoint\n",
        "  s3Bucket: bucket\n",
        "- s3ProfileName: bad-endpoint\n",
        "  s3Bucket: bucket\n",
        "  s3CompatibleEndpoint: minio.local\n",
        "- s3ProfileName: bad-port\n",
        "  s3Bucket: bucket\n",
        "  s3CompatibleEndpoint: http://minio:port\n",
        "- s3ProfileName: no-bucket\n",
        "  s3CompatibleEndpoint: https://s3.example.com\n",
    ))
    .expect("fixture decodes")
    .config
}

#[test]
fn profile_lookup_takes_the_first_match() {
    let c = config();
    assert_eq!(
        c.s3_profile("good").map(|p| p.s3_bucket.as_str()),
        Some("bucket")
    );
    assert_eq!(c.s3_secret_name("good"), Some("secret-good"));
    assert_eq!(c.s3_profile("missing"), None);
    assert_eq!(c.s3_secret_name("missing"), None);
}

#[test]
fn checked_lookup_of_a_good_profile_succeeds() {
    let c = config();
    let profile = c.checked_s3_profile("good").expect("good profile");
    assert_eq!(profile.s3_secret_ref.name, "secret-good");
}

#[test]
fn checked_lookup_reports_ramen_messages() {
    let c = config();
    let message = |name: &str| match c.checked_s3_profile(name) {
        Ok(p) => panic!("{name} must fail, got {p:?}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        message("missing"),
        "s3 profile missing not found in RamenConfig"
    );
    assert_eq!(
        message("no-endpoint"),
        "s3 endpoint has not been configured in s3 profile no-endpoint"
    );
    assert_eq!(
        message("bad-endpoint"),
        "invalid s3 endpoint <minio.local> in profile bad-endpoint, reason: parse \"minio.local\": invalid URI for request"
    );
    assert_eq!(
        message("bad-port"),
        "invalid s3 endpoint <http://minio:port> in profile bad-port, reason: parse \"http://minio:port\": invalid port \":port\" after host"
    );
    assert_eq!(
        message("no-bucket"),
        "s3 bucket has not been configured in s3 profile no-bucket"
    );
}

#[test]
fn format_check_tests_the_endpoint_before_the_bucket() {
    let profile = S3StoreProfile {
        s3_profile_name: "p".to_owned(),
        s3_compatible_endpoint: "not a url".to_owned(),
        ..S3StoreProfile::default()
    };
    assert!(matches!(
        profile.format_check(),
        Err(ConfigError::InvalidS3Endpoint { .. })
    ));
}

#[test]
fn absolute_path_endpoint_passes_like_go() {
    let profile = S3StoreProfile {
        s3_profile_name: "p".to_owned(),
        s3_compatible_endpoint: "/s3".to_owned(),
        s3_bucket: "b".to_owned(),
        ..S3StoreProfile::default()
    };
    assert_eq!(profile.format_check(), Ok(()));
}
