//! Writes the Ramen CRDs into a directory: `cargo run -p drpolicy-api --example crdgen -- <dir>`.
//!
//! `make crds` runs it for `charts/ramen-hub-operator/crds/`; CI regenerates and fails on drift.

use anyhow::Context;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .context("usage: crdgen <output-dir>")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, crd) in drpolicy_api::crd::all() {
        let path = dir.join(file);
        let yaml = drpolicy_api::crd::to_yaml(&crd)?;
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
