#!/usr/bin/env bash
# What the gateway runtime's tests need: rootless Podman with runc (crun
# fails on hybrid cgroup hosts), user namespaces, slirp4netns networking,
# a local registry with htpasswd auth, systemd-journald for the journald
# log driver, and Mosquitto for the bus that edgeplaned runs. The tests
# themselves create their user and start the services
# (runtime/podmantest). Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install podman uidmap slirp4netns fuse-overlayfs runc conmon \
	docker-registry apache2-utils systemd passwd mosquitto
