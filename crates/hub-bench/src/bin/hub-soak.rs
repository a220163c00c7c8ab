//! `hub-soak`: the chaos soak of the hub operator (see `BENCHMARKS.md`). Runs `SOAK_SEEDS` seeds, each
//! fault-free and then once per fault kind; exits non-zero when any run's final state is wrong or
//! differs from the fault-free run, an object the hub needed was deleted, an operator process wrote
//! without the lease, or a Secret value shows.

use clap::Parser;
use hub_bench::faults::FaultKind;
use hub_bench::soak::{self, SoakArgs};
use std::collections::BTreeMap;

/// Chaos soak: the operator as processes against the embedded API server or a real kube-apiserver.
#[derive(Debug, Parser)]
#[command(name = "hub-soak")]
struct Cli {
    #[command(flatten)]
    args: SoakArgs,
}

/// Seeds passed and the longest convergence after the last fault, per kind.
#[derive(Default)]
struct Tally {
    runs: u64,
    passed: u64,
    longest: f64,
    faults: usize,
    inside_writes: usize,
    longest_need: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let args = cli.args;
    let kinds = args.kinds();
    if args.real && kinds.contains(&FaultKind::Api) {
        anyhow::bail!(
            "API faults need the embedded server's fault hooks; leave out --real or `api`"
        );
    }
    let mut failed = Vec::new();
    let mut tally: BTreeMap<FaultKind, Tally> = BTreeMap::new();
    let mut reference_passed = 0;
    for seed in args.first_seed..args.first_seed + args.seeds {
        let report = soak::run_seed(&args, seed).await;
        let verdict = |ok: bool| if ok { "passed" } else { "FAILED" };
        println!(
            "seed {seed}: {}: fault-free run {}: {} policies ({} with sync, {} with async peer classes), {} OCM objects, {} views",
            verdict(report.passed()),
            verdict(report.reference_failures.is_empty()),
            report.policies,
            report.sync_policies,
            report.async_policies,
            report.ocm_objects,
            report.views,
        );
        for failure in &report.reference_failures {
            println!("  fault-free: {failure}");
        }
        reference_passed += u64::from(report.reference_failures.is_empty());
        for run in &report.kinds {
            println!(
                "  {:<8} {}: {} faults ({} inside a write), {} operator processes, {} operator requests ({} faulted), {} lease requests, {} OCM deletions ({} judged, needed at most {:.1} s before); final state {:.1} s after the last fault",
                run.kind.as_str(),
                verdict(run.failures.is_empty()),
                run.faults,
                run.inside_writes,
                run.starts,
                run.requests,
                run.faulted,
                run.lease_requests,
                run.deletions.0,
                run.deletions.1,
                run.longest_need.as_secs_f64(),
                run.settle_seconds
            );
            if !run.longest_outage.is_zero() {
                println!(
                    "    longest API-server outage {:.1} s",
                    run.longest_outage.as_secs_f64()
                );
            }
            for failure in &run.failures {
                println!("    {failure}");
            }
            if !run.failures.is_empty() {
                for event in &run.events {
                    println!("    fault: {event}");
                }
            }
            let t = tally.entry(run.kind).or_default();
            t.runs += 1;
            t.passed += u64::from(run.failures.is_empty());
            t.faults += run.faults;
            t.inside_writes += run.inside_writes;
            if run.failures.is_empty() {
                t.longest = t.longest.max(run.settle_seconds);
            }
            t.longest_need = t.longest_need.max(run.longest_need.as_secs_f64());
        }
        if !report.passed() {
            failed.push(seed);
        }
    }
    println!(
        "soak ({}): {} of {} seeds passed (seeds {}..={}); fault-free runs {} of {}",
        if args.real {
            "real kube-apiserver"
        } else {
            "embedded API server"
        },
        args.seeds - failed.len() as u64,
        args.seeds,
        args.first_seed,
        args.first_seed + args.seeds - 1,
        reference_passed,
        args.seeds
    );
    for (kind, t) in &tally {
        println!(
            "  {:<8} {} of {} seeds passed, {} faults ({} inside a write), longest convergence after the last fault {:.1} s, a deleted object needed at most {:.1} s before",
            kind.as_str(),
            t.passed,
            t.runs,
            t.faults,
            t.inside_writes,
            t.longest,
            t.longest_need
        );
    }
    println!("scripts and operator logs: {}", args.out_dir.display());
    if !failed.is_empty() {
        anyhow::bail!("failed seeds: {failed:?}");
    }
    Ok(())
}
