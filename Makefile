# Developer entry points. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo
CRD_DIR := charts/ramen-hub-operator/crds

.PHONY: all build test lint fmt crds crds-check run-local

all: build

## build: compile every crate of the workspace
build:
	$(CARGO) build --workspace --all-targets

## test: run every test of the workspace (unit, integration against the embedded API server, doc tests)
test:
	$(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc

## lint: formatting and clippy with warnings as errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## fmt: format the code
fmt:
	$(CARGO) fmt --all

## crds: regenerate the Ramen CRDs of the chart from crates/drpolicy-api
crds:
	$(CARGO) run --quiet -p drpolicy-api --example crdgen -- $(CRD_DIR)

## crds-check: fail when the committed CRDs differ from what the types generate
crds-check: crds
	@git diff --exit-code -- $(CRD_DIR) || { echo "CRDs are out of date: run 'make crds' and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- $(CRD_DIR))" || { echo "untracked generated CRDs: commit them"; exit 1; }

## run-local: run the operator against the embedded API server with the example hub of examples/hub/
run-local:
	bash hack/run-local.sh

# Chart, image and kind targets live in their own file.
-include hack/chart.mk
