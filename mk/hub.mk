# Hub (control plane) targets. See docs/hub.md.

HUB_DATA ?= $(CURDIR)/.hub-data

.PHONY: hub-run
hub-run: build ## Run a local hub on 127.0.0.1:8080 with SQLite in .hub-data (token: EDGEPLANE_HUB_TOKENS).
	@mkdir -p $(HUB_DATA)
	@if [ -z "$${EDGEPLANE_HUB_TOKENS:-}" ] && [ ! -f $(HUB_DATA)/tokens ]; then \
		head -c 24 /dev/urandom | base64 | tr -d '/+=' > $(HUB_DATA)/tokens; \
		echo "operator token written to $(HUB_DATA)/tokens"; fi
	$(BIN)/edgeplane hub --listen 127.0.0.1:8080 --data-dir $(HUB_DATA) \
		$$( [ -f $(HUB_DATA)/tokens ] && echo --token-file $(HUB_DATA)/tokens )

.PHONY: test-hub
test-hub: ## Run the hub's tests, SQLite and PostgreSQL (PostgreSQL needs root or the postgres binaries).
	go test -tags '$(GO_TAGS)' -count=1 ./hub/... ./cmd/edgeplane/...

.PHONY: bench-hub
bench-hub: ## Hub figures: long-poll fan-out (5,000 devices), module PUT rate, listing 500 device statuses and a tag filter over 5,000 devices on SQLite and PostgreSQL, with baselines.
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'Baseline|ModulePut|LongPollFanOut|DeviceListStatus|DeviceListTag' -benchtime 1s -timeout 30m ./hub/
