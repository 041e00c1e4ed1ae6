#!/usr/bin/env bash
# What the quick start's scripts use beyond the areas' own packages.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install curl jq util-linux passwd iproute2
