#!/usr/bin/env python3
"""Writes the values table of charts/ramen-hub-operator/README.md from values.yaml.

Every documented key of values.yaml carries a `# -- description` comment (continued on the following
`#` lines) right above it; the table lists each such key with its default. The table sits between the
`<!-- values-table:start -->` and `<!-- values-table:end -->` markers of the README.

Usage:
  hack/chart-readme.py           rewrite the table
  hack/chart-readme.py --check   exit 1 when the README's table differs from values.yaml

Needs PyYAML.
"""

import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "ramen-hub-operator"
START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


def described_keys(text):
    """[(dotted key, description)] for every key preceded by a `# --` comment, in file order."""
    found = []
    parents = []  # (indent, key)
    description = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            description = stripped[len("# --"):].strip()
            continue
        if stripped.startswith("#"):
            if description is not None:
                description += " " + stripped.lstrip("#").strip()
            continue
        match = KEY.match(line)
        if not match:
            if stripped and not stripped.startswith("-"):
                description = None
            continue
        indent = len(match["indent"])
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = ".".join([p for _, p in parents] + [match["key"]])
        if description is not None:
            found.append((path, description))
            description = None
        parents.append((indent, match["key"]))
    return found


def lookup(values, path):
    node = values
    for part in path.split("."):
        node = node[part]
    return node


def table(values_text):
    values = yaml.safe_load(values_text)
    rows = ["| Key | Default | Description |", "| --- | --- | --- |"]
    for path, description in described_keys(values_text):
        default = json.dumps(lookup(values, path), separators=(", ", ": "))
        default = default.replace("|", "\\|")
        description = description.replace("|", "\\|")
        rows.append(f"| `{path}` | `{default}` | {description} |")
    return "\n".join(rows)


def main(argv):
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        print(f"{readme_path}: markers {START} / {END} not found", file=sys.stderr)
        return 1
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    wanted = f"{head}{START}\n{table((CHART / 'values.yaml').read_text())}\n{END}{tail}"
    if "--check" in argv:
        if wanted != readme:
            print(f"{readme_path}: the values table is out of date: run hack/chart-readme.py",
                  file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
