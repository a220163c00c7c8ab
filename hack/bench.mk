# Benchmark and soak targets, included by the Makefile (`-include hack/bench.mk`). See BENCHMARKS.md.
#
#   make bench                      CI-sized scale benchmark (reports; fails only on errors and leaks)
#   make bench BENCH_ARGS='--policies 1000 --clusters 100 --profiles 20 --unrelated 10000'
#   make bench BENCH_ARGS='--metro-pairs 5 --view-agents 8 --velero-namespace "" --rust-log info,hub_operator=debug'
#   make bench-full                 P=5000 C=200 S=20 N=50000 (release build)
#   make soak                       chaos soak, SOAK_SEEDS seeds (default 3), every fault kind (api,
#                                   crash, failover, restart) against the embedded API server
#   SOAK_SEEDS=200 make soak
#   SOAK_SEEDS=1 make soak SOAK_ARGS='--first-seed=7 --faults=crash --rust-log=info,hub_operator=debug'
#   make soak-real                  the restart kind against a real etcd + kube-apiserver (hack/kube,
#                                   built from source), SOAK_REAL_SEEDS seeds (default 2)
#
# Both seed joined OCM ManagedClusters and answer the operator's ManagedClusterViews in-process
# (e2e::views); the benchmark writes the operator's requests to target/hub-bench/requests.txt.
#
# BENCH_PROFILE / SOAK_PROFILE choose the cargo profile: `release` (default of the benchmark) or
# `debug` (default of the soak, and what CI uses for both to avoid a second full build).

BENCH_PROFILE ?= release
SOAK_PROFILE ?= debug
BENCH_ARGS ?=
BENCH_FULL_ARGS ?= --policies 5000 --clusters 200 --profiles 20 --unrelated 50000 --json target/hub-bench/full.json
SOAK_SEEDS ?= 3
SOAK_REAL_SEEDS ?= 2
SOAK_ARGS ?=
BENCH_TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)
profile_flag = $(if $(filter release,$(1)),--release,)

.PHONY: bench bench-full soak soak-real

## bench: CI-sized scale benchmark: the operator as a process vs a bare client (BENCH_ARGS sets sizes)
bench:
	$(CARGO) build --quiet $(call profile_flag,$(BENCH_PROFILE)) -p hub-operator -p hub-bench
	$(BENCH_TARGET_DIR)/$(BENCH_PROFILE)/hub-bench $(BENCH_ARGS)

## bench-full: the benchmark at the target size of BENCHMARKS.md (release build)
bench-full:
	$(CARGO) build --quiet --release -p hub-operator -p hub-bench
	$(BENCH_TARGET_DIR)/release/hub-bench $(BENCH_FULL_ARGS) $(BENCH_ARGS)

## soak: chaos soak: API faults, crashes, failovers, API-server restarts vs a fault-free run, SOAK_SEEDS seeds (default 3)
soak:
	$(CARGO) build --quiet $(call profile_flag,$(SOAK_PROFILE)) -p hub-operator -p hub-bench
	SOAK_SEEDS=$(SOAK_SEEDS) $(BENCH_TARGET_DIR)/$(SOAK_PROFILE)/hub-soak $(SOAK_ARGS)

## soak-real: kube-apiserver restarts under the operator on a real control plane, SOAK_REAL_SEEDS seeds (default 2)
soak-real:
	$(CARGO) build --quiet $(call profile_flag,$(SOAK_PROFILE)) -p hub-operator -p hub-bench
	kube="$$(bash hack/kube/build.sh)" && KUBE_BIN_DIR="$$kube" SOAK_SEEDS=$(SOAK_REAL_SEEDS) \
	  $(BENCH_TARGET_DIR)/$(SOAK_PROFILE)/hub-soak --real --out-dir target/hub-soak-real $(SOAK_ARGS)
