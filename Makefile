# Developer entry points. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo
CRD_DIR := charts/ramen-hub-operator/crds

.PHONY: all build test lint fmt crds crds-check run-local e2e-local e2e-real conformance-real e2e kube-build

all: build

## build: compile every crate of the workspace
build:
	$(CARGO) build --workspace --all-targets

## test: run every test of the workspace (unit, integration against the embedded API server, doc tests);
## the e2e suite needs a hub and runs with `make e2e-local` / `make e2e-real` / `make e2e`.
## Uses cargo-nextest when installed (CI installs it), else falls back to `cargo test`.
test:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  echo "$(CARGO) nextest run --workspace --exclude e2e --no-fail-fast"; \
	  $(CARGO) nextest run --workspace --exclude e2e --no-fail-fast; \
	else \
	  echo "cargo-nextest is not installed (cargo install --locked cargo-nextest): running cargo test"; \
	  $(CARGO) test --workspace --exclude e2e --no-fail-fast --lib --bins --tests; \
	fi
	$(CARGO) test --workspace --exclude e2e --doc
	@# The e2e crate's own tests (its fake OCM view agent) need no external hub.
	$(CARGO) test -p e2e --lib --test views

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

## e2e-local: the e2e suite against the embedded API server with the operator as a separate process
e2e-local:
	bash hack/e2e-local.sh

## e2e-real: the e2e suite against a real kube-apiserver + etcd built from source (hack/kube), the chart
## installed with helm, the operator authenticated as the chart's ServiceAccount, and OCM's
## governance-policy-propagator (hack/ocm) downstream; needs go, python3, openssl and npm
e2e-real:
	bash hack/e2e-real.sh

## conformance-real: the conformance tests of crates/test-apiserver against a real kube-apiserver (hack/kube)
conformance-real:
	bash hack/conformance-real.sh

## kube-build: build kube-apiserver, etcd and kubectl from source into ~/.cache/ramen-hub-operator/kube/
kube-build:
	bash hack/kube/build.sh

## e2e: the e2e suite on a kind cluster with the image and the Helm chart (needs docker, kind, kubectl);
## KEEP_CLUSTER=1 keeps the cluster (it is always kept when the suite fails)
e2e:
	bash hack/e2e-kind.sh

# Chart, image and kind targets live in their own file.
-include hack/chart.mk

# Benchmark and soak targets.
-include hack/bench.mk
