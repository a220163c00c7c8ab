//! `hub-bench`: the scale benchmark of the hub operator (see `BENCHMARKS.md`). Prints a Markdown table
//! and writes the results as JSON; it reports, it does not fail on timings (only on errors and leaks).

use clap::Parser;
use hub_bench::bench::{self, BenchArgs};

/// Scale benchmark: the operator as a process against the embedded API server.
#[derive(Debug, Parser)]
#[command(name = "hub-bench")]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let json = cli.args.json.clone();
    let results = bench::run(cli.args).await?;
    println!("{}", bench::table(&results));
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&json, serde_json::to_string_pretty(&results)?)?;
    println!("results: {}", json.display());
    if !results.leaks.is_empty() {
        anyhow::bail!("secret values leaked: {}", results.leaks.join(", "));
    }
    Ok(())
}
