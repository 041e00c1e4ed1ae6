# $upstream store-and-forward (runtime/queue, runtime/upstream).
UPSTREAM_PKGS := ./runtime/queue/ ./runtime/upstream/

.PHONY: test-upstream
test-upstream: ## Run the upstream queue and forwarder tests against a real Mosquitto.
	go test -tags '$(GO_TAGS)' -count=1 $(UPSTREAM_PKGS)

.PHONY: bench-upstream
bench-upstream: ## Print upstream drain, Enqueue and disk figures beside their baselines.
	go test -tags '$(GO_TAGS)' -count=1 -run '^$$' -bench . -benchtime 1x $(UPSTREAM_PKGS)
