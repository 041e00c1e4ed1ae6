# shellcheck shell=bash
# customize.sh is sourced by image/build.sh. customize_root turns the plain
# Debian tree in $root into the appliance's root A, and prepares the data
# partition's tree in $work/data and the ESP's loader files in $work/esp.
# It runs nothing inside the tree: every change is a file written from the
# outside, so it needs no chroot, no mounts and no emulation.

# enable_in DIR UNIT TARGET links UNIT (under DIR's systemd tree) into
# TARGET.wants, as `systemctl enable` would.
enable_user_unit() {
	local unit=$1 target=$2
	mkdir -p "$root/etc/systemd/user/$target.wants"
	ln -sf "/usr/lib/systemd/user/$unit" "$root/etc/systemd/user/$target.wants/$unit"
}

customize_root() {
	local f

	# Files of the image itself, then the appliance's provisioning.
	cp -r --no-preserve=ownership "$here/rootfs/." "$root/"
	install -D -m 0755 "$repo/appliance/provision/edgeplane-provision" "$root/usr/libexec/edgeplane/provision"
	install -D -m 0644 "$repo/appliance/provision/edgeplane-provision.service" \
		"$root/usr/lib/systemd/system/edgeplane-provision.service"
	install -D -m 0644 "$repo/appliance/provision/70-edgeplane-provision.rules" \
		"$root/usr/lib/udev/rules.d/70-edgeplane-provision.rules"
	install -D -m 0644 "$repo/appliance/provision/user-1000-after-provision.conf" \
		"$root/usr/lib/systemd/system/user@$gw_uid.service.d/50-edgeplane.conf"
	install -D -m 0644 "$repo/appliance/provision/edgeplaned-provisioned.conf" \
		"$root/usr/lib/systemd/user/edgeplaned.service.d/50-provisioned.conf"

	# The gateway daemon and its user unit.
	local unit=${EDGEPLANED_UNIT:-$repo/appliance/systemd/edgeplaned.service}
	[ -f "$unit" ] || die "$unit is missing: the daemon has no unit"
	install -D -m 0755 "$edgeplaned_bin" "$root/usr/bin/edgeplaned"
	# The broker's fast-route plugin, where edgeplaned looks by default.
	install -D -m 0644 "$fastroute_plugin" "$root/usr/lib/edgeplane/edgeplane-fastroute.so"
	install -D -m 0644 "$unit" \
		"$root/usr/lib/systemd/user/edgeplaned.service"
	enable_user_unit edgeplaned.service default.target
	enable_user_unit edgeplane-ready-port.service edgeplaned.service

	# The documentation the units point at.
	for f in gateway.md image.md; do
		[ ! -f "$repo/docs/$f" ] || install -D -m 0644 "$repo/docs/$f" "$root/usr/share/doc/edgeplane/$f"
	done

	# The gateway user: unprivileged, no password, subordinate ids for
	# rootless Podman, and lingering so that its manager (and so edgeplaned)
	# starts at boot without a login. Its home is on the data partition.
	useradd --root "$root" --uid "$gw_uid" --user-group --no-create-home \
		--home-dir /var/lib/edgeplane/home --shell /usr/sbin/nologin \
		--comment "Edgeplane gateway" "$gw_user"
	for f in subuid subgid; do
		grep -q "^$gw_user:" "$root/etc/$f" 2>/dev/null || echo "$gw_user:100000:65536" >>"$root/etc/$f"
	done
	mkdir -p "$root/var/lib/systemd/linger"
	touch "$root/var/lib/systemd/linger/$gw_user"

	# The user's units: the Podman API socket, and (above) edgeplaned.
	enable_user_unit podman.socket sockets.target

	# System units.
	systemctl --root="$root" --quiet enable edgeplane-provision.service edgeplane-boot-port.service \
		systemd-networkd.service systemd-resolved.service
	# Root's Podman units are not used: every container is rootless.
	# edgeplaned runs its own Mosquitto. Nothing updates itself from apt.
	systemctl --root="$root" --quiet mask podman.service podman.socket podman-auto-update.service \
		podman-auto-update.timer podman-restart.service mosquitto.service \
		apt-daily.timer apt-daily-upgrade.timer

	# Login: none, unless the build asks for a debug image. There is no SSH
	# server in the image at all.
	if [ "$debug_login" = 1 ]; then
		sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
	else
		sed -i 's/^root:[^:]*:/root:*:/' "$root/etc/shadow"
	fi

	# /etc/edgeplane lives on the data partition, so that the provisioned
	# configuration survives an A/B update of the root.
	rm -rf "$root/etc/edgeplane"
	ln -s ../var/lib/edgeplane/config "$root/etc/edgeplane"
	rm -rf "$root/var/lib/edgeplane"
	mkdir -p "$root/var/lib/edgeplane" "$root/var/log/journal" "$root/efi"

	printf '127.0.1.1\tedgeplane\n' >>"$root/etc/hosts"
	# Empty: each device makes its own machine id at first boot.
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id"

	# The data partition's tree.
	local data=$work/data journal_gid
	journal_gid=$(awk -F: '$1 == "systemd-journal" {print $3}' "$root/etc/group")
	install -d -m 0755 -o 0 -g 0 "$data"
	install -d -m 0700 -o "$gw_uid" -g "$gw_uid" "$data/home"
	install -d -m 0750 -o "$gw_uid" -g "$gw_uid" "$data/state"
	install -d -m 0750 -o 0 -g "$gw_uid" "$data/config"
	install -d -m 2755 -o 0 -g "$journal_gid" "$data/journal"

	# The boot loader's files: systemd-boot with one entry per root slot.
	# "+3" is the boot counter: systemd-boot counts tries down and
	# systemd-bless-boot drops the counter once boot-complete.target is
	# reached; the A/B updater will use it to fall back.
	mkdir -p "$work/esp"
	cat >"$work/esp/loader.conf" <<EOF
default edgeplane-*
timeout 0
editor no
EOF
	local kver
	kver=$(basename "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)")
	kver=${kver#vmlinuz-}
	cat >"$work/esp/edgeplane-a+3.conf" <<EOF
title      Edgeplane gateway (root A)
version    $kver
sort-key   edgeplane-a
linux      /a/vmlinuz
initrd     /a/initrd.img
options    root=PARTUUID=$part_root_a rw console=tty0 console=ttyS0,115200
EOF
	kernel=$root/boot/vmlinuz-$kver
	initrd=$root/boot/initrd.img-$kver
}
