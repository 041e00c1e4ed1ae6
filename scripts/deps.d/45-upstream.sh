#!/usr/bin/env bash
# Mosquitto (with mosquitto_passwd) for the $upstream tests and benchmarks:
# they start a real broker standing in for the cloud. Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install mosquitto
