//! Writes the Ramen CRDs into a directory: `cargo run -p drpolicy-api --example crdgen -- <dir>`.
//!
//! `make crds` runs it for `charts/ramen-hub-operator/crds/`; CI regenerates and fails on drift. With
//! `--managed-cluster` it writes the managed-cluster CRDs instead (`DRClusterConfig`, never part of the
//! hub chart), e.g. to compare them with Ramen's through `hack/compare-ramen-crds.py`.

use anyhow::Context;
use std::path::PathBuf;

const USAGE: &str = "usage: crdgen [--managed-cluster] <output-dir>";

fn main() -> anyhow::Result<()> {
    let mut managed_cluster = false;
    let mut dir: Option<PathBuf> = None;
    for arg in std::env::args_os().skip(1) {
        if arg == "--managed-cluster" {
            managed_cluster = true;
        } else if dir.is_none() {
            dir = Some(PathBuf::from(arg));
        } else {
            anyhow::bail!(USAGE);
        }
    }
    let dir = dir.context(USAGE)?;
    let crds = if managed_cluster {
        drpolicy_api::crd::managed_cluster()
    } else {
        drpolicy_api::crd::all()
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, crd) in crds {
        let path = dir.join(file);
        let yaml = drpolicy_api::crd::to_yaml(&crd)?;
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
