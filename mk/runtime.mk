# Gateway runtime (edgeplaned). See docs/gateway.md.

RUNTIME_PKGS := ./runtime/agent/... ./runtime/gateway/... ./runtime/hubsync/... ./runtime/state/... \
	./runtime/slogjournal/... ./runtime/podmantest/... ./cmd/edgeplaned/...

.PHONY: build-edgeplaned
build-edgeplaned: ## Build the gateway daemon into ./bin/edgeplaned.
	@mkdir -p $(BIN)
	go build -tags '$(GO_TAGS)' -o $(BIN)/edgeplaned ./cmd/edgeplaned

.PHONY: test-runtime
test-runtime: ## Run the gateway runtime's tests, rootless Podman included (needs root).
	go test -tags '$(GO_TAGS)' -count=1 $(RUNTIME_PKGS)

.PHONY: bench-runtime
bench-runtime: ## Cold deploy of 10 modules vs `podman run -d` x10, and edgeplaned's idle RSS (needs root).
	go test -tags '$(GO_TAGS)' -count=1 -run '^$$' -bench . -benchtime 1x ./runtime/gateway/
