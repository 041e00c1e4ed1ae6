#!/usr/bin/env bash
# Terraform 1.5.7 for the provider's tests, built from the Go module proxy
# into ~/.cache/edgeplane/bin (no download site is reachable; see
# mk/provider.mk). OpenTofu and tfplugindocs are built by the targets that
# need them. Idempotent: nothing is rebuilt when the binary is there.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install curl # make bench-provider waits for the hub's /readyz with it
cd "$(dirname "$0")/../.."
make --no-print-directory tools-terraform
