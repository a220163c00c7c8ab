//! `hub-soak`: the fault-injection soak of the hub operator (see `BENCHMARKS.md`). Runs `SOAK_SEEDS`
//! seeds; exits non-zero when any seed's final state is wrong, differs from the fault-free run, or
//! shows a Secret value.

use clap::Parser;
use hub_bench::soak::{self, SoakArgs};

/// Fault-injection soak: the operator as a process against the embedded API server.
#[derive(Debug, Parser)]
#[command(name = "hub-soak")]
struct Cli {
    #[command(flatten)]
    args: SoakArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let args = cli.args;
    let mut failed = Vec::new();
    for seed in args.first_seed..args.first_seed + args.seeds {
        let report = soak::run_seed(&args, seed).await;
        let verdict = if report.failures.is_empty() {
            "passed"
        } else {
            "FAILED"
        };
        println!(
            "seed {seed}: {verdict}: {} policies ({} with sync, {} with async peer classes), {} OCM objects, {} views; faulty run: {} operator requests, {} faulted ({:.1} %), {} lease requests, {} faulted; final state {:.1} s after the faults stopped",
            report.policies,
            report.sync_policies,
            report.async_policies,
            report.ocm_objects,
            report.views,
            report.requests,
            report.faulted,
            100.0 * report.faulted as f64 / report.requests.max(1) as f64,
            report.lease_requests,
            report.lease_faulted,
            report.settle_seconds
        );
        for failure in &report.failures {
            println!("  {failure}");
        }
        if !report.failures.is_empty() {
            failed.push(seed);
        }
    }
    println!(
        "soak: {} of {} seeds passed (seeds {}..={})",
        args.seeds - failed.len() as u64,
        args.seeds,
        args.first_seed,
        args.first_seed + args.seeds - 1
    );
    println!("scripts and operator logs: {}", args.out_dir.display());
    if !failed.is_empty() {
        anyhow::bail!("failed seeds: {failed:?}");
    }
    Ok(())
}
