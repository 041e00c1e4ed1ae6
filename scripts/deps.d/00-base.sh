#!/usr/bin/env bash
# Base packages every area needs. Idempotent; safe to run as often as wanted.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install git make ca-certificates
