#!/usr/bin/env bash
# The appliance image's build (make image) and boot test (make image-test).
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
# Build: the root tree, filesystems made without mounting, the GPT disk.
apt_install mmdebstrap debian-archive-keyring systemd systemd-boot-efi dosfstools mtools \
	e2fsprogs qemu-utils zstd passwd util-linux
# Boot test: UEFI under TCG, host services the guest reaches, tools.
apt_install qemu-system-x86 ovmf netcat-openbsd curl jq docker-registry podman uidmap \
	mosquitto mosquitto-clients bmap-tools
# bmaptool (bmap-tools) makes a .bmap beside the raw image; the build skips it when absent.
