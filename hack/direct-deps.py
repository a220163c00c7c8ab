#!/usr/bin/env python3
"""One version of each direct dependency across the workspace.

Fails when two workspace members depend directly (normal, dev or build dependency) on different versions
of the same crate — e.g. base64 0.22 in one crate and 0.23 in another — naming the crate, each version
and who uses it. Transitive duplicates are cargo-deny's business (`deny.toml`, bans.multiple-versions,
a warning). Shared dependencies belong in `[workspace.dependencies]` of the root Cargo.toml.

Usage:
  hack/direct-deps.py                 check the workspace (runs `cargo metadata`)
  hack/direct-deps.py --metadata F    check the output of `cargo metadata --format-version 1` in F
  hack/direct-deps.py --self-test     check the checker on small fixtures
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def conflicts(metadata):
    """{crate name: {version: [members]}} for crates that members use directly at more than one
    version."""
    packages = {p["id"]: p for p in metadata["packages"]}
    members = set(metadata["workspace_members"])
    versions = {}
    for node in metadata["resolve"]["nodes"]:
        if node["id"] not in members:
            continue
        member = packages[node["id"]]["name"]
        for dep in node.get("deps", []):
            if dep["pkg"] in members:
                continue
            package = packages[dep["pkg"]]
            users = versions.setdefault(package["name"], {}).setdefault(package["version"], [])
            if member not in users:
                users.append(member)
    return {name: by_version for name, by_version in sorted(versions.items()) if len(by_version) > 1}


def report(found):
    lines = []
    for name, by_version in found.items():
        uses = "; ".join(f"{version} in {', '.join(sorted(users))}" for version, users in sorted(by_version.items()))
        lines.append(f"direct-deps: {name} at {len(by_version)} versions: {uses}")
    return lines


def fixture(deps_by_member):
    """cargo metadata for members {member: [(crate, version)]}."""
    packages = [{"id": f"path+file:///ws/{m}#0.1.0", "name": m, "version": "0.1.0"} for m in deps_by_member]
    nodes = []
    for member, deps in deps_by_member.items():
        node = {"id": f"path+file:///ws/{member}#0.1.0", "deps": []}
        for crate, version in deps:
            crate_id = f"registry+https://github.com/rust-lang/crates.io-index#{crate}@{version}"
            if crate_id not in {p["id"] for p in packages}:
                packages.append({"id": crate_id, "name": crate, "version": version})
            node["deps"].append({"name": crate, "pkg": crate_id})
        nodes.append(node)
    return {
        "packages": packages,
        "workspace_members": [p["id"] for p in packages[: len(deps_by_member)]],
        "resolve": {"nodes": nodes},
    }


def self_test():
    same = fixture({"a": [("base64", "0.22.1"), ("serde", "1.0.1")], "b": [("base64", "0.22.1")]})
    assert conflicts(same) == {}, conflicts(same)
    split = fixture({"a": [("base64", "0.22.1")], "b": [("base64", "0.23.1")], "c": [("base64", "0.22.1")]})
    assert conflicts(split) == {"base64": {"0.22.1": ["a", "c"], "0.23.1": ["b"]}}, conflicts(split)
    assert report(conflicts(split)) == ["direct-deps: base64 at 2 versions: 0.22.1 in a, c; 0.23.1 in b"]
    # A member depending on another member is not a crate version to compare.
    member_dep = fixture({"a": [], "b": []})
    member_dep["resolve"]["nodes"][1]["deps"].append({"name": "a", "pkg": member_dep["workspace_members"][0]})
    assert conflicts(member_dep) == {}
    print("direct-deps: self-test passed")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if argv[:1] == ["--metadata"] and len(argv) == 2:
        metadata = json.loads(Path(argv[1]).read_text())
    elif not argv:
        metadata = json.loads(subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    found = conflicts(metadata)
    for line in report(found):
        print(line, file=sys.stderr)
    if found:
        print("direct-deps: use one version (a [workspace.dependencies] entry) for each crate above",
              file=sys.stderr)
        return 1
    print(f"direct-deps: one version of each direct dependency across {len(metadata['workspace_members'])} "
          "workspace members")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
