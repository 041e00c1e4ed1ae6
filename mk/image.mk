# The bootable gateway appliance image (image/, appliance/provision/).
# See docs/image.md.

IMAGE_OUT ?= $(CURDIR)/out/image
IMAGE_DEBUG_LOGIN ?= 0
# What the image is made of: when none of it changed, make image-test
# reuses the image already built.
IMAGE_INPUTS := $(shell find image appliance cmd/edgeplaned runtime hub internal \
	-type f -not -name '*_test.go' 2>/dev/null) go.mod go.sum $(wildcard docs/gateway.md docs/image.md)

TEST_TARGETS += image-test

.PHONY: image
image: ## Build the bootable gateway disk image (raw, qcow2, raw.zst) into out/image (as root).
	@rm -f $(IMAGE_OUT)/.stamp
	@$(MAKE) --no-print-directory $(IMAGE_OUT)/.stamp

$(IMAGE_OUT)/.stamp: $(IMAGE_INPUTS)
	@mkdir -p $(BIN)
	go build -tags '$(GO_TAGS)' -o $(BIN)/edgeplaned ./cmd/edgeplaned
	$(MAKE) --no-print-directory fastroute-plugin
	EDGEPLANED_BIN=$(BIN)/edgeplaned FASTROUTE_PLUGIN=$(BIN)/edgeplane-fastroute.so \
		IMAGE_DEBUG_LOGIN=$(IMAGE_DEBUG_LOGIN) bash image/build.sh $(IMAGE_OUT)
	@touch $@

.PHONY: image-test
image-test: $(IMAGE_OUT)/.stamp ## Boot the image under QEMU against a host hub, registry and broker; print figures.
	@mkdir -p $(BIN)
	go build -tags '$(GO_TAGS)' -o $(BIN)/edgeplane ./cmd/edgeplane
	bash image/test.sh $(IMAGE_OUT)

.PHONY: image-bench
image-bench: image-test ## Print the image's sizes and boot times next to the same kernel's boot to a shell.
