//! The fixtures against the embedded API server: a seed is complete, can be applied again, and its
//! config reads back as the operator reads it.

use pretty_assertions::assert_eq;
use test_apiserver::TestApiServer;
use test_fixtures::{
    HubSeed, ManagedClusterFixture, RamenConfigYaml, S3Credentials, S3Profile, SeedCluster,
    cluster_id,
};

fn config() -> RamenConfigYaml {
    RamenConfigYaml::hub([
        S3Profile::new("minio-on-dr1", "s3-dr1").store("http://minio.dr1:9000", "us-east-1"),
        S3Profile::new("minio-on-dr2", "s3-dr2").secret_in("ramen-system"),
    ])
    .velero("velero")
    .ops_namespace("ramen-ops")
}

#[test]
fn the_config_document_reads_back_as_built() {
    let config = ramen_config::parse_str(&config().distribution(false).yaml())
        .unwrap()
        .config;
    let profiles: Vec<(&str, &str)> = config
        .s3_store_profiles
        .iter()
        .map(|p| (p.s3_profile_name.as_str(), p.s3_secret_ref.name.as_str()))
        .collect();
    assert_eq!(
        profiles,
        [("minio-on-dr1", "s3-dr1"), ("minio-on-dr2", "s3-dr2")]
    );
    let empty = RamenConfigYaml::hub([]).yaml();
    assert!(ramen_config::parse_str(&empty).is_ok(), "{empty}");
}

#[tokio::test]
async fn a_seed_writes_everything_and_can_be_applied_again() {
    let server = TestApiServer::start().await.unwrap();
    let client = server.client();
    let seed = HubSeed::new("ramen-system", S3Credentials::new("access", "secret"))
        .config(&config())
        .secrets(["s3-dr1", "s3-dr2"])
        .clusters([
            SeedCluster::new("dr1", "minio-on-dr1").joined(cluster_id("dr1")),
            SeedCluster::new("dr2", "minio-on-dr2")
                .region("east")
                .unvalidated(),
        ]);
    for _ in 0..2 {
        let hub = seed.apply(&client).await.unwrap();
        let dr1 = hub.drclusters().get("dr1").await.unwrap();
        assert!(dr1.is_validated());
        let dr2 = hub.drclusters().get("dr2").await.unwrap();
        assert!(!dr2.is_validated());
        assert_eq!(dr2.spec.region.as_deref(), Some("east"));
        let secret = hub.secrets().get("s3-dr2").await.unwrap();
        let access = &secret.data.unwrap()["AWS_ACCESS_KEY_ID"];
        assert_eq!(access.0, b"access");
        let cluster = ManagedClusterFixture::joined("dr1", cluster_id("dr1"))
            .ensure(&client)
            .await
            .unwrap();
        assert_eq!(cluster.cluster_id(), Some("id-dr1"));
        assert_eq!(hub.rule_clusters("s3-dr1").await.unwrap(), None);
    }
}
