# Route language (runtime/route): benchmarks and fuzzing.

ROUTE_FUZZTIME ?= 3m

.PHONY: bench-route
bench-route: ## Benchmark route evaluation next to the encoding/json baseline (evals/s, allocs).
	go test -tags '$(GO_TAGS)' -run '^$$' -bench 'BenchmarkEvaluate|BenchmarkTable' -benchmem ./runtime/route

.PHONY: fuzz-route
fuzz-route: ## Fuzz the route parser and the body parser for ROUTE_FUZZTIME each (default 3m).
	go test -tags '$(GO_TAGS)' -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(ROUTE_FUZZTIME) ./runtime/route
	go test -tags '$(GO_TAGS)' -run '^$$' -fuzz '^FuzzBody$$' -fuzztime $(ROUTE_FUZZTIME) ./runtime/route
