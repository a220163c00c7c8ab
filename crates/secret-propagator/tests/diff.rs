//! `diff` decides the writes from the plan and the cached state alone: no server in these tests.

use drpolicy_api::names::POLICY_TRIGGER_ANNOTATION;
use drpolicy_api::names::ocm_names::Format;
use drpolicy_api::ocm::{Delivery, PlacementRule, Policy, SecretDistribution};
use pretty_assertions::assert_eq;
use secret_propagator::{
    DesiredSecret, FinalizerPatch, LiveObjects, Op, Operation, Plan, Scope, SecretState, Secrets,
    Stage, Step, Trigger, diff,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const NS: &str = "ramen-system";
const RAMEN: &[Format] = &[Format::Ramen];
const BOTH: &[Format] = &[Format::Ramen, Format::Velero];

fn desired(
    name: &str,
    clusters: &[&str],
    resource_version: &str,
    formats: &[Format],
) -> DesiredSecret {
    DesiredSecret {
        name: name.to_owned(),
        clusters: clusters.iter().map(|c| (*c).to_owned()).collect(),
        resource_version: resource_version.to_owned(),
        policies: BTreeSet::from(["p".to_owned()]),
        formats: formats.iter().copied().collect(),
    }
}

/// A plan distributing `secrets`, with the velero format on when any of them wants it.
fn plan_of(secrets: &[DesiredSecret]) -> Plan {
    let velero = secrets.iter().any(|s| s.formats.contains(&Format::Velero));
    Plan {
        namespace: NS.to_owned(),
        target_namespace: NS.to_owned(),
        velero_namespace: velero.then(|| "velero".to_owned()),
        enabled: true,
        scope: Scope::All,
        secrets: secrets
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect(),
        held: BTreeMap::new(),
        warnings: Vec::new(),
    }
}

fn dist(secret: &str, format: Format) -> SecretDistribution<'_> {
    let delivery = match format {
        Format::Ramen => Delivery::Ramen,
        Format::Velero => Delivery::Velero {
            velero_namespace: "velero",
        },
    };
    SecretDistribution {
        secret,
        namespace: NS,
        target_namespace: NS,
        delivery,
    }
}

/// A Secret at `resource_version` carrying the finalizers of `formats`.
fn secret(resource_version: &str, formats: &[Format]) -> SecretState {
    let finalizers: Vec<String> = formats.iter().map(|f| f.finalizer().to_owned()).collect();
    SecretState {
        resource_version: resource_version.to_owned(),
        deleting: false,
        has_finalizer: !finalizers.is_empty(),
        finalizers,
    }
}

/// Adds the distribution of `name` in `format` as a converged hub holds it.
fn distributed(
    live: &mut LiveObjects,
    name: &str,
    format: Format,
    trigger: &str,
    clusters: &[&str],
) {
    let dist = dist(name, format);
    let names = dist.names();
    live.placement_bindings
        .insert(names.placement_binding, Arc::new(dist.placement_binding()));
    live.policies
        .insert(names.policy, Arc::new(dist.policy(trigger)));
    live.placement_rules.insert(
        names.placement_rule,
        Arc::new(dist.placement_rule(clusters.iter().copied())),
    );
}

/// One line per step: `secret format stage: what`.
fn lines(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|step| {
            let Step::Write(write) = step else {
                return format!("{}: decide again", step.secret());
            };
            let format = write.format.map_or("-", Format::as_str);
            let what = match &write.op {
                Op::ApplyBinding(_) | Op::ApplyPolicy { .. } | Op::ApplyRule(_) => {
                    format!("apply {:?} {}", write.op.kind(), write.op.name())
                }
                Op::Delete { kind, name } => format!("delete {kind:?} {name}"),
                Op::PatchFinalizers(patch) => {
                    format!("finalizers +{:?} -{:?}", patch.add, patch.release)
                }
            };
            format!("{} {format} {:?}: {what}", write.secret, write.stage)
        })
        .collect()
}

fn policy_step(steps: &[Step], name: &str) -> (Policy, Trigger) {
    steps
        .iter()
        .filter_map(Step::write)
        .find_map(|write| match &write.op {
            Op::ApplyPolicy { policy, trigger } if write.op.name() == name => {
                Some(((**policy).clone(), trigger.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no policy step for {name}: {:#?}", lines(steps)))
}

fn rule_clusters(rule: &PlacementRule) -> Vec<&str> {
    rule.cluster_names().collect()
}

#[test]
fn a_converged_hub_needs_no_step() {
    let plan = plan_of(&[desired("secret-a", &["a", "b"], "7", BOTH)]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", BOTH))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["b", "a"]);
    distributed(&mut live, "secret-a", Format::Velero, "7", &["a", "b"]);

    assert_eq!(diff(&plan, &secrets, &live), []);
}

#[test]
fn missing_objects_are_created_after_the_finalizer_binding_policy_then_rule() {
    let plan = plan_of(&[
        desired("secret-a", &["a", "b"], "7", RAMEN),
        desired("secret-b", &["a"], "3", RAMEN),
    ]);
    let secrets = Secrets::from([
        ("secret-a".to_owned(), secret("7", &[])),
        ("secret-b".to_owned(), secret("3", &[])),
    ]);

    let steps = diff(&plan, &secrets, &LiveObjects::default());

    assert_eq!(
        lines(&steps),
        [
            "secret-a - Finalizers: finalizers +[Ramen] -[]",
            "secret-a ramen Converge: apply PlacementBinding plbinding-secret-a",
            "secret-a ramen Converge: apply Policy secret-a",
            "secret-a ramen Converge: apply PlacementRule plrule-secret-a",
            "secret-b - Finalizers: finalizers +[Ramen] -[]",
            "secret-b ramen Converge: apply PlacementBinding plbinding-secret-b",
            "secret-b ramen Converge: apply Policy secret-b",
            "secret-b ramen Converge: apply PlacementRule plrule-secret-b",
        ]
    );
    let Some(Op::ApplyRule(rule)) = steps.get(3).and_then(Step::write).map(|w| &w.op) else {
        panic!("{:#?}", lines(&steps))
    };
    assert_eq!(rule_clusters(rule), ["a", "b"]);
}

#[test]
fn a_placement_rule_whose_clusters_differ_is_the_one_update() {
    let plan = plan_of(&[desired("secret-a", &["a", "b", "c"], "7", RAMEN)]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", RAMEN))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["b", "a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        ["secret-a ramen Converge: apply PlacementRule plrule-secret-a"]
    );
    let Some(Op::ApplyRule(rule)) = steps.first().and_then(Step::write).map(|w| &w.op) else {
        panic!("{:#?}", lines(&steps))
    };
    assert_eq!(rule_clusters(rule), ["a", "b", "c"]);
}

#[test]
fn with_distribution_off_a_rule_only_loses_the_clusters_no_holder_needs() {
    let mut plan = plan_of(&[desired("secret-a", &["a", "b", "d"], "7", RAMEN)]);
    plan.enabled = false;
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", RAMEN))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a", "b", "c"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        ["secret-a ramen Release: apply PlacementRule plrule-secret-a"]
    );
    let Some(Op::ApplyRule(rule)) = steps.first().and_then(Step::write).map(|w| &w.op) else {
        panic!("{:#?}", lines(&steps))
    };
    assert_eq!(rule_clusters(rule), ["a", "b"]);
}

#[test]
fn a_distribution_no_holder_needs_is_deleted_then_its_finalizer_released() {
    let plan = plan_of(&[]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", RAMEN))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        [
            "secret-a ramen Release: delete PlacementBinding plbinding-secret-a",
            "secret-a ramen Release: delete Policy secret-a",
            "secret-a ramen Release: delete PlacementRule plrule-secret-a",
            "secret-a - Finalizers: finalizers +[] -[Ramen]",
        ]
    );
}

#[test]
fn a_finalized_secret_whose_objects_the_cache_does_not_show_deletes_them_by_name() {
    // Ramen before HEAD did not label its objects: the finalizer is the only trace.
    let plan = plan_of(&[]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", RAMEN))]);

    let steps = diff(&plan, &secrets, &LiveObjects::default());

    assert_eq!(
        lines(&steps),
        [
            "secret-a ramen Release: delete PlacementBinding plbinding-secret-a",
            "secret-a ramen Release: delete Policy secret-a",
            "secret-a ramen Release: delete PlacementRule plrule-secret-a",
            "secret-a - Finalizers: finalizers +[] -[Ramen]",
        ]
    );
}

#[test]
fn turning_the_velero_format_off_deletes_it_and_releases_only_its_finalizer() {
    let plan = plan_of(&[desired("secret-a", &["a"], "7", RAMEN)]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", BOTH))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a"]);
    distributed(&mut live, "secret-a", Format::Velero, "7", &["a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        [
            "secret-a velero Release: delete PlacementBinding plbinding-vsecret-a",
            "secret-a velero Release: delete Policy vsecret-a",
            "secret-a velero Release: delete PlacementRule plrule-vsecret-a",
            "secret-a - Finalizers: finalizers +[] -[Velero]",
            // Its trigger follows the patch; whether it is written depends on what the patch returns.
            "secret-a ramen Converge: apply Policy secret-a",
        ]
    );
    let (_, trigger) = policy_step(&steps, "secret-a");
    assert_eq!(
        trigger,
        Trigger::AfterFinalizerPatch {
            converged_at: Some("7".to_owned())
        }
    );
}

#[test]
fn the_policy_trigger_is_the_version_the_finalizer_patch_returns() {
    // The velero format is turned on: the patch adds its finalizer and moves the Secret to a new
    // resourceVersion, which both formats' Policies must carry.
    let plan = plan_of(&[desired("secret-a", &["a"], "7", BOTH)]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("7", RAMEN))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        [
            "secret-a - Finalizers: finalizers +[Velero] -[]",
            "secret-a ramen Converge: apply Policy secret-a",
            "secret-a velero Converge: apply PlacementBinding plbinding-vsecret-a",
            "secret-a velero Converge: apply Policy vsecret-a",
            "secret-a velero Converge: apply PlacementRule plrule-vsecret-a",
        ]
    );
    let (ramen, trigger) = policy_step(&steps, "secret-a");
    assert_eq!(ramen.trigger(), Some("7"), "built with the cached version");
    assert_eq!(
        trigger,
        Trigger::AfterFinalizerPatch {
            converged_at: Some("7".to_owned())
        }
    );
    // The executor fills in what the patch returned…
    let sent = trigger
        .resolve(&ramen, Some("8"))
        .expect("a new trigger is written");
    assert_eq!(sent.trigger(), Some("8"));
    assert_eq!(
        sent.metadata.annotations.as_ref().map(BTreeMap::len),
        Some(1),
        "{POLICY_TRIGGER_ANNOTATION} only"
    );
    // …and a patch that sent nothing leaves a Policy that already matches alone.
    assert_eq!(trigger.resolve(&ramen, None), None);

    let (velero, trigger) = policy_step(&steps, "vsecret-a");
    assert_eq!(trigger, Trigger::AfterFinalizerPatch { converged_at: None });
    assert_eq!(
        trigger
            .resolve(&velero, None)
            .and_then(|p| p.trigger().map(str::to_owned)),
        Some("7".to_owned()),
        "without a new version the cached one stays"
    );
}

#[test]
fn without_a_finalizer_patch_a_rotated_secret_moves_only_the_policy_trigger() {
    let plan = plan_of(&[desired("secret-a", &["a"], "8", RAMEN)]);
    let secrets = Secrets::from([("secret-a".to_owned(), secret("8", RAMEN))]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        ["secret-a ramen Converge: apply Policy secret-a"]
    );
    let (policy, trigger) = policy_step(&steps, "secret-a");
    assert_eq!(trigger, Trigger::Cached);
    assert_eq!(policy.trigger(), Some("8"));
}

#[test]
fn a_finalizer_goes_only_with_the_formats_whose_objects_went() {
    let patch = FinalizerPatch {
        resource_version: "7".to_owned(),
        finalizers: vec![
            "someone-elses".to_owned(),
            Format::Ramen.finalizer().to_owned(),
            Format::Velero.finalizer().to_owned(),
        ],
        add: vec![],
        release: vec![Format::Ramen, Format::Velero],
    };

    let resolved = patch
        .resolve(|format| format == Format::Ramen)
        .expect("the ramen finalizer goes");
    assert_eq!(resolved.removed, [Format::Ramen]);
    assert_eq!(resolved.operation, Operation::RemoveFinalizer);
    assert_eq!(
        resolved.finalizers,
        ["someone-elses", Format::Velero.finalizer()]
    );
    assert_eq!(patch.resolve(|_| false), None, "nothing left to send");

    let both = FinalizerPatch {
        add: vec![Format::Ramen],
        release: vec![Format::Velero],
        finalizers: vec![Format::Velero.finalizer().to_owned()],
        ..patch
    };
    let resolved = both.resolve(|_| true).expect("one patch does both");
    assert_eq!(resolved.operation, Operation::UpdateFinalizers);
    assert_eq!(resolved.finalizers, [Format::Ramen.finalizer()]);
}

#[test]
fn a_secret_whose_names_an_earlier_secret_writes_is_decided_on_that_and_again_at_run_time() {
    // Secret `vsecret-a` once had a ramen-format distribution, under the names the velero format of
    // `secret-a` is about to take: the objects `secret-a` creates there are not `vsecret-a`'s.
    let plan = plan_of(&[desired("secret-a", &["a"], "7", BOTH)]);
    let secrets = Secrets::from([
        ("secret-a".to_owned(), secret("7", BOTH)),
        ("vsecret-a".to_owned(), secret("4", RAMEN)),
    ]);
    let mut live = LiveObjects::default();
    distributed(&mut live, "secret-a", Format::Ramen, "7", &["a"]);

    let steps = diff(&plan, &secrets, &live);

    assert_eq!(
        lines(&steps),
        [
            "secret-a velero Converge: apply PlacementBinding plbinding-vsecret-a",
            "secret-a velero Converge: apply Policy vsecret-a",
            "secret-a velero Converge: apply PlacementRule plrule-vsecret-a",
            "vsecret-a: decide again",
            "vsecret-a - Finalizers: finalizers +[] -[Ramen]",
        ]
    );
    assert!(
        steps
            .iter()
            .filter_map(Step::write)
            .all(|w| w.stage != Stage::Release),
        "nothing of secret-a's is deleted for vsecret-a"
    );
}
