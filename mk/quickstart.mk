# The quick start: one command from a fresh machine to a working fleet.

.PHONY: quickstart
quickstart: deps build ## Start a hub, registry, upstream broker and two gateways, and apply examples/quickstart.
	$(MAKE) --no-print-directory tools-terraform module-images
	bash scripts/quickstart/up.sh

.PHONY: quickstart-down
quickstart-down: ## Stop and remove everything the quick start started.
	bash scripts/quickstart/down.sh

TEST_TARGETS += test-quickstart

.PHONY: test-quickstart
test-quickstart: ## Run the quick start end to end, then tear it down and check nothing is left.
	bash scripts/quickstart/test.sh
