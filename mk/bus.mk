# The local message bus: example module images and the bus benchmark.

MODULES := tempsensor filter
MODULE_TAG ?= dev
# REGISTRY=host:port also pushes the images there (plain HTTP allowed).
REGISTRY ?=

.PHONY: module-binaries
module-binaries: ## Build the example modules as static binaries into bin/modules.
	@mkdir -p $(BIN)/modules
	for m in $(MODULES); do \
		CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o $(BIN)/modules/$$m ./examples/modules/$$m || exit 1; \
	done

.PHONY: module-images
module-images: module-binaries ## Build the example module images (localhost/edgeplane/<module>:dev) with podman.
	for m in $(MODULES); do \
		podman build -q -f examples/modules/$$m/Containerfile -t localhost/edgeplane/$$m:$(MODULE_TAG) $(BIN)/modules || exit 1; \
		if [ -n "$(REGISTRY)" ]; then \
			podman tag localhost/edgeplane/$$m:$(MODULE_TAG) $(REGISTRY)/edgeplane/$$m:$(MODULE_TAG) && \
			podman push --tls-verify=false $(REGISTRY)/edgeplane/$$m:$(MODULE_TAG) || exit 1; \
		fi; \
	done

.PHONY: bench-bus
bench-bus: ## Benchmark the bus: routed module-to-module against one raw Mosquitto hop, and latency.
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'BusThroughput' -benchtime 50000x ./runtime/bus/
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'BusLatency' -benchtime 1x ./runtime/bus/
