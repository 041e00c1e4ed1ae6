#!/usr/bin/env bash
# The local message bus: Mosquitto (the broker edgeplaned runs) and its
# command-line clients (used by tests and the docs' examples). Podman for
# the example module images comes from the runtime's set-up script.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
# mosquitto-dev and libmosquitto-dev hold the headers the fast-route plugin
# (runtime/bus/fastroute) is built against.
apt_install mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev gcc
# Debian enables a system-wide broker on port 1883; edgeplaned runs its own.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now mosquitto.service >/dev/null 2>&1 || true
fi
