# The local message bus: example module images and the bus benchmark.

MODULES := tempsensor filter
MODULE_TAG ?= dev
# REGISTRY=host:port also pushes the images there (plain HTTP allowed).
REGISTRY ?=

.PHONY: fastroute-plugin
fastroute-plugin: ## Build the broker's fast-route plugin (needs mosquitto-dev) into bin/edgeplane-fastroute.so.
	@mkdir -p $(BIN)
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o $(BIN)/edgeplane-fastroute.so runtime/bus/fastroute/fastroute.c

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
bench-bus: ## Benchmark the bus: module-to-module in the broker and through the router, against one raw Mosquitto hop, and latency.
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'BusThroughput' -benchtime 50000x ./runtime/bus/
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'BusLatency' -benchtime 1x ./runtime/bus/
