# Terraform provider: tools, acceptance tests, docs and figures.
# See docs/provider.md.

TERRAFORM_VERSION ?= v1.5.7
TOFU_VERSION ?= v1.10.6
TFPLUGINDOCS_VERSION ?= v0.25.0
TERRAFORM := $(TOOLS_BIN)/terraform
TOFU := $(TOOLS_BIN)/tofu
TFPLUGINDOCS := $(TOOLS_BIN)/tfplugindocs

# Acceptance tests are skipped by plain `go test`; these targets run them
# against a real hub with Terraform and with OpenTofu.
TEST_TARGETS += testacc testacc-tofu docs-check

# The environment terraform-plugin-testing needs so that it never downloads
# a binary: an explicit CLI path, no version to install, no checkpoint.
TESTACC_ENV = TF_ACC=1 TF_ACC_TERRAFORM_VERSION= CHECKPOINT_DISABLE=1 \
	EDGEPLANE_BIN=$(BIN)/edgeplane TF_ACC_PROVIDER_NAMESPACE=edgeplane

.PHONY: tools-terraform
tools-terraform: ## Build Terraform 1.5.7 into $(TOOLS_BIN) unless it is there.
	@# Read the version first: grep -q under pipefail would fail on SIGPIPE.
	@have=$$(CHECKPOINT_DISABLE=1 $(TERRAFORM) version 2>/dev/null | head -n1 || true); \
	if [ "$$have" = "Terraform $(TERRAFORM_VERSION)" ]; then \
		echo "terraform $(TERRAFORM_VERSION) already in $(TOOLS_BIN)"; \
	else \
		mkdir -p $(TOOLS_BIN) && \
		GOBIN=$(TOOLS_BIN) GOFLAGS= CGO_ENABLED=0 go install github.com/hashicorp/terraform@$(TERRAFORM_VERSION); \
	fi

.PHONY: tools-tofu
tools-tofu: ## Build OpenTofu 1.10.6 into $(TOOLS_BIN) unless it is there.
	@have=$$($(TOFU) version 2>/dev/null | head -n1 || true); \
	if [ "$$have" = "OpenTofu $(TOFU_VERSION)" ]; then \
		echo "tofu $(TOFU_VERSION) already in $(TOOLS_BIN)"; \
	else \
		set -e; mkdir -p $(TOOLS_BIN); \
		dir=$$(cd $${TMPDIR:-/tmp} && GOFLAGS= go mod download -json github.com/opentofu/opentofu@$(TOFU_VERSION) | \
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
		test -n "$$dir"; \
		src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT; \
		cp -r "$$dir/." "$$src"; chmod -R u+w "$$src"; \
		(cd "$$src" && GOFLAGS= CGO_ENABLED=0 go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
			-o $(TOFU) ./cmd/tofu); \
	fi

.PHONY: tools-tfplugindocs
tools-tfplugindocs: ## Build tfplugindocs into $(TOOLS_BIN) unless it is there.
	@if [ ! -x $(TFPLUGINDOCS) ]; then \
		mkdir -p $(TOOLS_BIN) && \
		GOBIN=$(TOOLS_BIN) GOFLAGS= CGO_ENABLED=0 go install \
			github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@$(TFPLUGINDOCS_VERSION); \
	fi

.PHONY: testacc
testacc: tools-terraform build ## Run the provider acceptance tests against a real hub with Terraform.
	$(TESTACC_ENV) TF_ACC_TERRAFORM_PATH=$(TERRAFORM) \
		go test -tags '$(GO_TAGS)' -count=1 -timeout 30m -run '^TestAcc' ./provider/...

.PHONY: testacc-tofu
testacc-tofu: tools-tofu build ## Run the provider acceptance tests against a real hub with OpenTofu.
	$(TESTACC_ENV) TF_ACC_TERRAFORM_PATH=$(TOFU) TF_ACC_PROVIDER_HOST=registry.opentofu.org \
		go test -tags '$(GO_TAGS)' -count=1 -timeout 30m -run '^TestAcc' ./provider/...

.PHONY: provider-docs
provider-docs: tools-terraform tools-tfplugindocs ## Regenerate the provider's Registry docs in docs/ (offline).
	TERRAFORM=$(TERRAFORM) TFPLUGINDOCS=$(TFPLUGINDOCS) scripts/provider-docs.sh generate

.PHONY: docs-check
docs-check: tools-terraform tools-tfplugindocs ## Fail when the provider's generated docs in docs/ are out of date.
	TERRAFORM=$(TERRAFORM) TFPLUGINDOCS=$(TFPLUGINDOCS) scripts/provider-docs.sh check

.PHONY: bench-provider
bench-provider: tools-terraform build ## Time terraform apply of 200 devices x (3 modules, 3 twins, 2 routes) against terraform_data, and a no-change plan.
	TERRAFORM=$(TERRAFORM) EDGEPLANE_BIN=$(BIN)/edgeplane PROVIDER_BIN=$(BIN)/terraform-provider-edgeplane \
		scripts/provider-bench.sh
