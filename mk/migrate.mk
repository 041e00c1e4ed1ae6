# V1 migration (edgeplane migrate v1): package migrate, examples/migrate.

.PHONY: test-migrate
test-migrate: ## Run the migration tests, with Terraform fmt and validate on the examples.
	go test -tags '$(GO_TAGS)' -count=1 ./migrate ./cmd/edgeplane

.PHONY: migrate-examples
migrate-examples: ## Regenerate the expected output of examples/migrate after a meant change.
	go test -tags '$(GO_TAGS)' -count=1 -run TestGolden ./migrate -update
