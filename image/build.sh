#!/usr/bin/env bash
# build.sh builds the Edgeplane gateway appliance: a GPT disk image that
# boots with UEFI (systemd-boot), runs Debian bookworm with rootless Podman,
# Mosquitto and edgeplaned, and provisions itself from a FAT partition.
#
# It never mounts anything, so it works where loop-mounted partitions do not
# (see docs/image.md): mmdebstrap makes the root tree, mkfs.ext4 -d and
# mkfs.vfat + mcopy make the filesystems from directories, and systemd-repart
# assembles the GPT disk from those filesystem images with CopyBlocks=.
#
# Usage: image/build.sh [OUT_DIR]            (as root; default out/image)
#
# Environment:
#   EDGEPLANED_BIN     the edgeplaned binary to install (required; make
#                      image builds it)
#   EDGEPLANED_UNIT    its user unit (default appliance/systemd/edgeplaned.service)
#   FASTROUTE_PLUGIN   the broker's fast-route plugin (required; make image
#                      builds it)
#   IMAGE_DEBUG_LOGIN  1 = passwordless root login on the console (never
#                      for production)
#   IMAGE_CACHE_DIR    where the mmdebstrap tarball is cached
#                      (default ~/.cache/edgeplane/image)
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR   apt mirrors
#   ROOT_SIZE, ESP_SIZE, DATA_SIZE, PROV_SIZE   partition sizes (MiB)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$repo/out/image}
cache=${IMAGE_CACHE_DIR:-$HOME/.cache/edgeplane/image}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
debug_login=${IMAGE_DEBUG_LOGIN:-0}
edgeplaned_bin=${EDGEPLANED_BIN:-}
[ -n "$edgeplaned_bin" ] && [ -x "$edgeplaned_bin" ] ||
	die "EDGEPLANED_BIN must name the edgeplaned binary to install (make image builds it)"
fastroute_plugin=${FASTROUTE_PLUGIN:-}
[ -n "$fastroute_plugin" ] && [ -f "$fastroute_plugin" ] ||
	die "FASTROUTE_PLUGIN must name the fast-route plugin to install (make image builds it)"
root_mib=${ROOT_SIZE:-1536}
esp_mib=${ESP_SIZE:-256}
data_mib=${DATA_SIZE:-512}
prov_mib=${PROV_SIZE:-32}

# The gateway user. Its uid is fixed so that units can name user@UID.
gw_user=edgeplane
gw_uid=1000

# Partition UUIDs are fixed: the kernel command line names root A by its
# PARTUUID, and the A/B updater will name root B the same way.
part_esp=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c01
part_root_a=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c0a
part_root_b=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c0b
part_prov=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c0c
part_data=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c0d

log() { printf '==> [%3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'image/build.sh: %s\n' "$*" >&2; exit 1; }

need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null || die "$cmd not found: install the Debian package $pkg (make deps)"
}

[ "$(id -u)" -eq 0 ] || die "run as root: the root tree has files of many owners (sudo make image)"
need mmdebstrap mmdebstrap
need mkfs.ext4 e2fsprogs
need mkfs.vfat dosfstools
need mcopy mtools
need systemd-repart systemd
need qemu-img qemu-utils
need zstd zstd

work=$(mktemp -d "${TMPDIR:-/var/tmp}/edgeplane-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$cache"

# --- 1. the root tree (cached) ----------------------------------------------
# The tarball is keyed by everything that goes into mmdebstrap, so a changed
# package list or mirror rebuilds it and anything else reuses it.
packages=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | sort | paste -sd, -)
key=$(printf '%s\n' "v1" "$packages" "$mirror" "$security" | sha256sum | cut -c1-16)
tarball=$cache/rootfs-bookworm-$key.tar

if [ -s "$tarball" ]; then
	log "root tree: cached $tarball"
else
	log "root tree: mmdebstrap bookworm (+updates, +security), $(echo "$packages" | tr , '\n' | wc -l) packages"
	# mmdebstrap picks the output format from the name: keep ".tar".
	partial=$cache/partial-$key.tar
	mmdebstrap --variant=minbase --mode=root --format=tar \
		--include="$packages" \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		bookworm "$partial" \
		"deb $mirror bookworm main" \
		"deb $mirror bookworm-updates main" \
		"deb $security bookworm-security main"
	mv -f "$partial" "$tarball"
fi

root=$work/root
mkdir -p "$root"
tar --xattrs --xattrs-include='*' --numeric-owner -C "$root" -xf "$tarball"

# --- 2. the system ----------------------------------------------------------
log "customising the root tree"
# shellcheck source=image/customize.sh
. "$here/customize.sh"
customize_root

# --- 3. the filesystems -----------------------------------------------------
# The data partition holds what must survive an A/B update of the root:
# the gateway user's home (container images), the gateway's state, its
# configuration and the journal. It starts with the tree prepared above.
log "making filesystems"
fs=$work/fs
mkdir -p "$fs"

mkfs.ext4 -q -L ep-root-a -d "$root" -E root_owner=0:0 "$fs/root.ext4" "${root_mib}M" ||
	die "root tree does not fit in ${root_mib} MiB: raise ROOT_SIZE"
mkfs.ext4 -q -L ep-data -d "$work/data" -E root_owner=0:0 "$fs/data.ext4" "${data_mib}M"

# The ESP holds systemd-boot and the kernel of each root slot.
mkfs.vfat -C -n EP-ESP -F 32 "$fs/esp.vfat" $((esp_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$fs/esp.vfat" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/a
mcopy -i "$fs/esp.vfat" "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$fs/esp.vfat" "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/systemd/systemd-bootx64.efi
mcopy -i "$fs/esp.vfat" "$work/esp/loader.conf" ::/loader/loader.conf
mcopy -i "$fs/esp.vfat" "$work/esp/edgeplane-a+3.conf" ::/loader/entries/edgeplane-a+3.conf
mcopy -i "$fs/esp.vfat" "$kernel" ::/a/vmlinuz
mcopy -i "$fs/esp.vfat" "$initrd" ::/a/initrd.img

# The provisioning partition is FAT so that any laptop can write it.
mkfs.vfat -C -n EPPROV "$fs/prov.vfat" $((prov_mib * 1024)) >/dev/null
mcopy -i "$fs/prov.vfat" "$here/provision.conf.example" ::/provision.conf.example
mcopy -i "$fs/prov.vfat" "$here/PROVISIONING.txt" ::/README.txt

# --- 4. the disk ------------------------------------------------------------
log "assembling the GPT disk with systemd-repart"
defs=$work/repart.d
mkdir -p "$defs"
cat >"$defs/10-esp.conf" <<EOF
[Partition]
Type=esp
Label=ep-esp
UUID=$part_esp
CopyBlocks=$fs/esp.vfat
EOF
cat >"$defs/20-root-a.conf" <<EOF
[Partition]
Type=root-x86-64
Label=ep-root-a
UUID=$part_root_a
CopyBlocks=$fs/root.ext4
EOF
cat >"$defs/21-root-b.conf" <<EOF
[Partition]
Type=root-x86-64
Label=ep-root-b
UUID=$part_root_b
SizeMinBytes=${root_mib}M
SizeMaxBytes=${root_mib}M
EOF
cat >"$defs/30-prov.conf" <<EOF
[Partition]
# Microsoft basic data, so that Windows and macOS show the partition.
Type=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7
Label=ep-prov
UUID=$part_prov
CopyBlocks=$fs/prov.vfat
EOF
cat >"$defs/40-data.conf" <<EOF
[Partition]
Type=linux-generic
Label=ep-data
UUID=$part_data
CopyBlocks=$fs/data.ext4
EOF

raw=$out/edgeplane.raw
rm -f "$raw.tmp"
systemd-repart --empty=create --size=auto --dry-run=no --no-pager \
	--definitions="$defs" --seed=6e1b2f4a-5d0c-4b8e-9a51-0e6f1a2b3c00 "$raw.tmp" >"$work/repart.log" 2>&1 ||
	{ cat "$work/repart.log" >&2; die "systemd-repart failed"; }
# repart writes the filesystems' empty blocks as zeros; punching them out
# again makes the raw file sparse, and the conversions below fast.
fallocate --dig-holes "$raw.tmp" 2>/dev/null || true
mv -f "$raw.tmp" "$raw"

# The kernel and initrd are kept beside the disk for the boot test's
# baseline (the same kernel booted straight to a shell).
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
echo "$part_root_a" >"$out/root-partuuid"
cat >"$out/build-info" <<EOF
edgeplaned=yes
debug_login=$debug_login
kernel=$(basename "$kernel")
rootfs_key=$key
EOF

log "converting to qcow2"
# Not compressed (-c is slow); zero blocks are left out all the same.
qemu-img convert -f raw -O qcow2 "$raw" "$out/edgeplane.qcow2"
if command -v bmaptool >/dev/null; then
	bmaptool create -o "$out/edgeplane.raw.bmap" "$raw"
fi
zstd -q -T0 -f "$raw" -o "$out/edgeplane.raw.zst"

# --- 5. report --------------------------------------------------------------
size() { du --apparent-size -m "$1" | cut -f1; }
log "partitions"
sfdisk -d "$raw" 2>/dev/null | sed -n 's/^.*\(start=.*\)$/   \1/p' >&2 || true
printf '\nimage sizes (MiB):\n'
printf '  %-28s %6s\n' "edgeplane.raw" "$(size "$raw")"
printf '  %-28s %6s\n' "  of which allocated" "$(du -m "$raw" | cut -f1)"
printf '  %-28s %6s\n' "edgeplane.qcow2" "$(size "$out/edgeplane.qcow2")"
printf '  %-28s %6s\n' "edgeplane.raw.zst" "$(size "$out/edgeplane.raw.zst")"
printf 'debug login: %s\n' "$([ "$debug_login" = 1 ] && echo "ENABLED (root on the console, no password)" || echo "disabled")"
