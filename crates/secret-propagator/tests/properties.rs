//! Planner invariants over many generated hubs: cluster `c` gets secret `S` iff some holder lists `c`
//! and needs `S` (a policy needs the secrets of all its clusters' profiles), except secrets that are
//! missing, being deleted, out of scope or whose replicated name is too long (those are held); every
//! exclusion is reported by a warning naming the secret or the cluster. Every planned secret goes in
//! the ramen format, and in the velero format too iff the config asks for it and no profile names a
//! secret `v<S>`.
//!
//! The hubs come from a seeded generator (splitmix64) rather than proptest so this file needs no
//! dependency the crate does not already have; every case is reproducible from its seed, which a
//! failure prints.

use drpolicy_api::names::ocm_names::{Format, fits_replicated_policy_name};
use drpolicy_api::{DRCluster, DRClusterSpec, DRPolicy, DRPolicySpec};
use drpolicy_validator::secret_for_cluster;
use ramen_config::{KubeObjectProtectionConfig, RamenConfig, S3StoreProfile, SecretReference};
use secret_propagator::{Plan, PlanInputs, PlanWarning, Scope, SecretState, Secrets, plan};
use std::collections::{BTreeMap, BTreeSet};

const NS: &str = "ramen-system";
const CASES: u64 = 2000;
/// A secret name whose replicated policy name (`ramen-system.<name>`) exceeds 63 characters.
const LONG_SECRET: &str = "s3-secret-with-a-name-far-too-long-for-ocm-replication-x";

/// splitmix64: tiny, seedable, good enough to spread cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One generated hub.
struct Case {
    config: RamenConfig,
    drclusters: BTreeMap<String, DRCluster>,
    secrets: Secrets,
    holders: Vec<DRPolicy>,
    scope: Scope,
}

const CLUSTERS: [&str; 6] = ["c0", "c1", "c2", "c3", "c4", "c5"];
const PROFILES: [&str; 5] = ["p0", "p1", "p2", "p3", "p4"];
/// `vs0` is named like the velero-format objects of `s0`.
const SECRET_NAMES: [&str; 5] = ["s0", "s1", "s2", "vs0", LONG_SECRET];

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

fn generate(seed: u64) -> Case {
    let mut rng = Rng(seed);
    // Profiles: some absent from the config, some without a secret name, several sharing a secret.
    let mut profiles = Vec::new();
    for profile in PROFILES {
        if !rng.chance(80) {
            continue;
        }
        let name = if rng.chance(10) {
            String::new()
        } else {
            pick(&mut rng, &SECRET_NAMES).to_owned()
        };
        profiles.push(S3StoreProfile {
            s3_profile_name: profile.to_owned(),
            s3_secret_ref: SecretReference {
                name,
                namespace: String::new(),
            },
            ..Default::default()
        });
    }
    // Velero format: on, off, or disabled with a namespace.
    let kube_object_protection = KubeObjectProtectionConfig {
        disabled: rng.chance(20),
        velero_namespace_name: if rng.chance(60) { "velero" } else { "" }.to_owned(),
    };
    let config = RamenConfig {
        s3_store_profiles: profiles,
        kube_object_protection,
        ..Default::default()
    };
    // DRClusters: some missing, each naming a profile that may not exist.
    let mut drclusters = BTreeMap::new();
    for cluster in CLUSTERS {
        if rng.chance(85) {
            let spec = DRClusterSpec {
                s3_profile_name: pick(&mut rng, &PROFILES).to_owned(),
                ..Default::default()
            };
            drclusters.insert(cluster.to_owned(), DRCluster::new(cluster, spec));
        }
    }
    // Hub Secrets: some missing, some being deleted, some already finalized.
    let mut secrets = Secrets::new();
    for secret in SECRET_NAMES {
        if rng.chance(80) {
            let finalizers: Vec<String> = Format::ALL
                .iter()
                .filter(|_| rng.chance(30))
                .map(|f| f.finalizer().to_owned())
                .collect();
            let state = SecretState {
                resource_version: rng.below(1000).to_string(),
                deleting: rng.chance(15),
                has_finalizer: !finalizers.is_empty(),
                finalizers,
            };
            secrets.insert(secret.to_owned(), state);
        }
    }
    // Holders: 0..6 policies of 0..3 clusters, duplicates allowed (the planner must not care).
    let holders = (0..rng.below(7))
        .map(|i| {
            let clusters = (0..rng.below(4))
                .map(|_| pick(&mut rng, &CLUSTERS).to_owned())
                .collect();
            DRPolicy::new(
                &format!("policy-{i}"),
                DRPolicySpec {
                    dr_clusters: clusters,
                    scheduling_interval: "5m".into(),
                    ..Default::default()
                },
            )
        })
        .collect();
    let scope = if rng.chance(50) {
        Scope::All
    } else {
        Scope::Secrets(
            SECRET_NAMES
                .iter()
                .filter(|_| rng.chance(50))
                .map(|s| (*s).to_owned())
                .collect(),
        )
    };
    Case {
        config,
        drclusters,
        secrets,
        holders,
        scope,
    }
}

fn run(case: &Case, holders: &[DRPolicy]) -> Plan {
    let inputs = PlanInputs {
        namespace: NS,
        config: &case.config,
        drclusters: &case.drclusters,
        secrets: &case.secrets,
    };
    plan(&inputs, holders, case.scope.clone())
}

/// The secrets a holder needs: those of every cluster of it whose profile resolves.
fn needs(case: &Case, policy: &DRPolicy) -> BTreeSet<String> {
    policy
        .spec
        .dr_clusters
        .iter()
        .filter_map(|c| secret_for_cluster(c, &case.drclusters, &case.config).ok())
        .collect()
}

/// Whether a needed secret can be distributed at all.
fn distributable(case: &Case, secret: &str) -> bool {
    case.scope.contains(secret)
        && fits_replicated_policy_name(secret, NS)
        && case.secrets.get(secret).is_some_and(|s| !s.deleting)
}

/// The formats a planned secret goes in, computed directly from the rule.
fn expected_formats(case: &Case, secret: &str) -> BTreeSet<Format> {
    let protection = &case.config.kube_object_protection;
    let velero_on = !protection.disabled && !protection.velero_namespace_name.is_empty();
    let taken = case
        .config
        .s3_store_profiles
        .iter()
        .any(|p| p.s3_secret_ref.name == format!("v{secret}"));
    let mut formats = BTreeSet::from([Format::Ramen]);
    if velero_on && !taken {
        formats.insert(Format::Velero);
    }
    formats
}

/// The pairs the rule asks for, computed directly from the rule.
fn expected_pairs(case: &Case) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for policy in &case.holders {
        for secret in needs(case, policy) {
            if distributable(case, &secret) {
                for cluster in &policy.spec.dr_clusters {
                    pairs.insert((cluster.clone(), secret.clone()));
                }
            }
        }
    }
    pairs
}

#[test]
fn every_needed_pair_is_planned_and_no_other() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        assert_eq!(plan.pairs(), expected_pairs(&case), "seed {seed}");
    }
}

#[test]
fn each_planned_secret_names_exactly_the_holders_needing_it() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        for (name, desired) in &plan.secrets {
            let holders: BTreeSet<String> = case
                .holders
                .iter()
                .filter(|p| needs(&case, p).contains(name))
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect();
            assert_eq!(desired.policies, holders, "seed {seed}, secret {name}");
            assert_eq!(
                desired.resource_version, case.secrets[name].resource_version,
                "seed {seed}, secret {name}: the trigger is the Secret's resourceVersion"
            );
        }
    }
}

#[test]
fn every_planned_or_held_secret_goes_in_the_formats_the_config_asks_for() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        assert_eq!(
            plan.velero_namespace.is_some(),
            !case.config.kube_object_protection.disabled
                && !case
                    .config
                    .kube_object_protection
                    .velero_namespace_name
                    .is_empty(),
            "seed {seed}"
        );
        for (name, desired) in plan.secrets.iter().chain(&plan.held) {
            assert_eq!(
                desired.formats,
                expected_formats(&case, name),
                "seed {seed}, secret {name}"
            );
        }
    }
}

#[test]
fn held_secrets_are_exactly_the_needed_existing_ones_whose_name_is_too_long() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        let expected: BTreeSet<String> = case
            .holders
            .iter()
            .flat_map(|p| needs(&case, p))
            .filter(|s| {
                case.scope.contains(s)
                    && !fits_replicated_policy_name(s, NS)
                    && case.secrets.get(s).is_some_and(|st| !st.deleting)
            })
            .collect();
        let held: BTreeSet<String> = plan.held.keys().cloned().collect();
        assert_eq!(held, expected, "seed {seed}");
        assert!(
            plan.held.keys().all(|s| !plan.secrets.contains_key(s)),
            "seed {seed}"
        );
    }
}

#[test]
fn every_needed_secret_left_out_is_reported() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        let needed: BTreeSet<String> = case
            .holders
            .iter()
            .flat_map(|p| needs(&case, p))
            .filter(|s| case.scope.contains(s))
            .collect();
        for secret in needed.difference(&plan.secrets.keys().cloned().collect()) {
            let reported = plan.warnings.iter().any(|w| match w {
                PlanWarning::SecretMissing { secret: s, .. }
                | PlanWarning::SecretDeleting { secret: s, .. }
                | PlanWarning::NameTooLong { secret: s, .. }
                | PlanWarning::UnsafeName { secret: s, .. } => s == secret,
                PlanWarning::Profile { .. } | PlanWarning::VeleroNameTaken { .. } => false,
            });
            assert!(
                reported,
                "seed {seed}: secret {secret} left out without a warning"
            );
        }
    }
}

#[test]
fn every_cluster_without_a_usable_profile_is_reported_for_its_policy() {
    for seed in 0..CASES {
        let case = generate(seed);
        let plan = run(&case, &case.holders);
        for policy in &case.holders {
            let name = policy.metadata.name.clone().unwrap_or_default();
            for cluster in &policy.spec.dr_clusters {
                if let Err(problem) = secret_for_cluster(cluster, &case.drclusters, &case.config) {
                    let expected = PlanWarning::Profile {
                        policy: name.clone(),
                        problem,
                    };
                    assert!(
                        plan.warnings.contains(&expected),
                        "seed {seed}: {expected} not reported"
                    );
                }
            }
        }
    }
}

#[test]
fn the_plan_does_not_depend_on_holder_order() {
    for seed in 0..CASES {
        let case = generate(seed);
        let forward = run(&case, &case.holders);
        let reversed: Vec<DRPolicy> = case.holders.iter().rev().cloned().collect();
        let backward = run(&case, &reversed);
        assert_eq!(forward.secrets, backward.secrets, "seed {seed}");
        assert_eq!(forward.enabled, backward.enabled, "seed {seed}");
    }
}
