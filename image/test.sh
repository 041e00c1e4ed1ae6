#!/usr/bin/env bash
# test.sh is the appliance's boot test (make image-test). It boots the built
# image under QEMU (TCG, OVMF, 2 vCPUs, 2 GiB) against real services on the
# host's loopback, reached from the guest at 10.0.2.100 through QEMU's user
# network, and proves from the outside that the gateway provisions itself
# and joins the fleet. It also measures the boot figures.
#
# Every check is reported as PASS or FAIL, and the summary lists them all.
# A part the test needs and cannot find (the edgeplane binary, the module
# image, edgeplaned in the image) stops the test with an error: nothing is
# skipped and counted as passing.
#
# Usage: image/test.sh [OUT_DIR]       (as root; default out/image)
# Environment: IMAGE_TEST_TIMEOUT (seconds to READY, default 420),
#   IMAGE_TEST_KEEP=1 keeps the work directory, EDGEPLANE_BIN (default
#   bin/edgeplane).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-$repo/out/image}
ready_timeout=${IMAGE_TEST_TIMEOUT:-420}
edgeplane=${EDGEPLANE_BIN:-$repo/bin/edgeplane}
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
guest_host=10.0.2.100
device=gw-boot-test
module=tempsensor
token=image-test-$RANDOM$RANDOM

die() { printf 'image/test.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null || die "$1 not found: install the Debian package $2 (make deps)"; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make image-test): it uses loop devices and mounts"
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need mkfs.vfat dosfstools
need mcopy mtools
need partx util-linux
need journalctl systemd
need jq jq
need curl curl
[ -f "$ovmf_code" ] || die "$ovmf_code not found: install the Debian package ovmf"
[ -f "$out/edgeplane.qcow2" ] || die "$out/edgeplane.qcow2 not found: run make image"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/edgeplane-image-test.XXXXXX")
pids=()
mnt='' loopdev=''

cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true
	[ -z "$loopdev" ] || losetup -d "$loopdev" 2>/dev/null || true
	if [ "${IMAGE_TEST_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- checks -------------------------------------------------------------------
declare -A result=()
order=()
check() { # check NAME STATUS [DETAIL]
	order+=("$1")
	result[$1]="$2${3:+ ($3)}"
	printf '    %-50s %s\n' "$1" "${result[$1]}" >&2
}

# free_port prints a TCP port nothing listens on; the service started on it
# fails loudly if another program takes it first.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
}

# wait_for FILE REGEX SECONDS waits for a line matching REGEX in FILE.
wait_for() {
	local file=$1 re=$2 secs=$3 qpid=${4:-} end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -Eq "$re" "$file" 2>/dev/null && return 0
		if [ -n "$qpid" ] && ! kill -0 "$qpid" 2>/dev/null; then return 1; fi
		sleep 0.5
	done
	return 1
}

# wait_journal NAME JQ_FILTER SECONDS [QEMU_PID] waits for a journal entry
# of the NAME boot's stream that JQ_FILTER selects.
wait_journal() {
	local name=$1 filter=$2 end=$((SECONDS + $3)) qpid=${4:-}
	while [ $SECONDS -lt $end ]; do
		if [ -n "$(jq -c "$filter" "$work/$name.journal" 2>/dev/null | head -n1)" ]; then return 0; fi
		if [ -n "$qpid" ] && ! kill -0 "$qpid" 2>/dev/null; then return 1; fi
		sleep 1
	done
	return 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- host services ------------------------------------------------------------
hub_url='' hub_port='' reg_port='' mq_port=''
hub_api() { # hub_api METHOD PATH [BODY]
	curl -fsS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "$hub_url$2"
}

start_hub() {
	[ -x "$edgeplane" ] || die "$edgeplane not found: run make build"
	mkdir -p "$work/hub"
	EDGEPLANE_HUB_TOKENS=$token "$edgeplane" hub --listen 127.0.0.1:0 --data-dir "$work/hub" \
		--addr-file "$work/hub.addr" >"$work/hub.log" 2>&1 &
	pids+=($!)
	wait_for "$work/hub.addr" . 30 || { cat "$work/hub.log" >&2; die "the hub did not start"; }
	local addr
	addr=$(cat "$work/hub.addr")
	hub_port=${addr##*:}
	hub_url=http://$addr
	log "hub: $hub_url (guest: http://$guest_host:$hub_port)"
}

start_registry() {
	need docker-registry docker-registry
	need podman podman
	reg_port=$(free_port)
	mkdir -p "$work/registry"
	cat >"$work/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$reg_port
log:
  level: warn
EOF
	docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	pids+=($!)
	local end=$((SECONDS + 30))
	until curl -fsS "http://127.0.0.1:$reg_port/v2/" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { cat "$work/registry.log" >&2; die "the registry did not start"; }
		sleep 0.3
	done
	log "registry: 127.0.0.1:$reg_port"

	if ! podman image exists "localhost/edgeplane/$module:dev" 2>/dev/null; then
		make -C "$repo" --no-print-directory module-images >&2
	fi
	podman image exists "localhost/edgeplane/$module:dev" ||
		die "no module image localhost/edgeplane/$module:dev after make module-images"
	podman push -q --tls-verify=false "localhost/edgeplane/$module:dev" \
		"docker://127.0.0.1:$reg_port/edgeplane/$module:dev" >&2
	log "registry: pushed edgeplane/$module:dev"
}

start_broker() {
	need mosquitto mosquitto
	need mosquitto_sub mosquitto-clients
	mq_port=$(free_port)
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mq_port" >"$work/mosquitto.conf"
	mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
	pids+=($!)
	local end=$((SECONDS + 15))
	until mosquitto_sub -p "$mq_port" -h 127.0.0.1 -t probe -C 1 -W 1 >/dev/null 2>&1 ||
		[ $? -eq 27 ]; do
		[ $SECONDS -lt $end ] || { cat "$work/mosquitto.log" >&2; die "the upstream broker did not start"; }
		sleep 0.3
	done
	# Errors go to their own file so that they never pass for a message.
	mosquitto_sub -h 127.0.0.1 -p "$mq_port" -t '#' -v >"$work/upstream.log" 2>"$work/upstream.err" &
	pids+=($!)
	log "upstream broker: 127.0.0.1:$mq_port"
}

# --- the fleet ----------------------------------------------------------------
device_key=''
create_fleet() {
	hub_api PUT "/v1/devices/$device" '{"id":"'"$device"'","enabled":true}' >/dev/null
	device_key=$(hub_api GET "/v1/devices/$device" | jq -r .key)
	[ -n "$device_key" ] && [ "$device_key" != null ] || die "the hub returned no key for $device"
	hub_api PUT "/v1/devices/$device/modules/$module" \
		'{"name":"'"$module"'","image":"'"$guest_host:$reg_port/edgeplane/$module:dev"'"}' >/dev/null
	hub_api PUT "/v1/devices/$device/upstream" '{"url":"mqtt://'"$guest_host:$mq_port"'"}' >/dev/null
	hub_api PUT "/v1/devices/$device/routes/to-upstream" \
		'{"name":"to-upstream","route":"FROM /messages/* INTO $upstream"}' >/dev/null
	log "hub: device $device created with module $module and a route to \$upstream"
}

# prov_disk FILE CONTENT writes a FAT disk labelled EPPROV with provision.conf.
prov_disk() {
	rm -f "$1"
	mkfs.vfat -C -n EPPROV "$1" 4096 >/dev/null
	printf '%s' "$2" >"$work/provision.conf"
	MTOOLS_SKIP_CHECK=1 mcopy -i "$1" "$work/provision.conf" ::/provision.conf
}

# --- QEMU ---------------------------------------------------------------------
# boot NAME EXTRA_ARGS... starts a VM whose files are $work/NAME.*; sets qpid.
qpid=''
boot() {
	local name=$1
	shift
	local fwd=()
	for p in $hub_port $reg_port $mq_port; do
		fwd+=(",guestfwd=tcp:$guest_host:$p-cmd:nc 127.0.0.1 $p")
	done
	cp "$ovmf_vars" "$work/$name.vars"
	mkfifo "$work/$name.mon.in" "$work/$name.mon.out"
	cat "$work/$name.mon.out" >"$work/$name.mon.log" &
	pids+=($!)
	qemu-system-x86_64 -machine q35 -accel tcg -smp 2 -m 2048 -nographic -no-reboot \
		-drive "if=pflash,format=raw,readonly=on,file=$ovmf_code" \
		-drive "if=pflash,format=raw,file=$work/$name.vars" \
		-netdev "user,id=n0$(printf '%s' "${fwd[@]}")" -device virtio-net-pci,netdev=n0 \
		-device virtio-rng-pci -device virtio-serial-pci \
		-chardev "file,id=status,path=$work/$name.status" \
		-device virtserialport,chardev=status,name=org.edgeplane.status \
		-chardev "file,id=journal,path=$work/$name.journal" \
		-device virtserialport,chardev=journal,name=org.edgeplane.journal \
		-chardev "pipe,id=mon,path=$work/$name.mon" -mon chardev=mon,mode=readline \
		-serial "file:$work/$name.console" \
		"$@" >"$work/$name.qemu.log" 2>&1 &
	qpid=$!
	pids+=($qpid)
}

# powerdown asks the guest to shut down (ACPI) and waits up to SECS.
powerdown() {
	local pid=$1 name=$2 secs=$3 end
	echo system_powerdown >"$work/$name.mon.in"
	end=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			kill "$pid" 2>/dev/null || true
			return 1
		fi
		sleep 0.5
	done
}

show_console() {
	local name=$1
	echo "---- console of the $name boot (last 150 lines) ----" >&2
	tail -n 150 "$work/$name.console" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
	echo "---- status port ----" >&2
	cat "$work/$name.status" >&2 2>/dev/null || true
	echo "---- journal stream (last 80 entries) ----" >&2
	tail -n 80 "$work/$name.journal" 2>/dev/null |
		jq -r '"\(.__MONOTONIC_TIMESTAMP|tonumber/1e6|tostring|.[0:8]) \(._SYSTEMD_UNIT // ._SYSTEMD_USER_UNIT // .SYSLOG_IDENTIFIER // "-"): \(.MESSAGE|tostring)"' \
			>&2 2>/dev/null || true
	echo "---- end ----" >&2
}

# marker_time NAME WORD prints the guest uptime of the first WORD marker.
marker_time() { awk -v w="$2" '$2 == w { print $1; exit }' "$work/$1.status"; }

# --- run ------------------------------------------------------------------------
need nc netcat-openbsd
log "starting host services"
start_hub
start_registry
start_broker
create_fleet

size() { du --apparent-size -m "$1" | cut -f1; }
raw_mib=$(size "$out/edgeplane.raw")
qcow_mib=$(size "$out/edgeplane.qcow2")
zst_mib=$([ -f "$out/edgeplane.raw.zst" ] && size "$out/edgeplane.raw.zst" || echo "?")
grep -qs '^edgeplaned=yes' "$out/build-info" ||
	die "$out has no edgeplaned (build-info): rebuild it with make image"

# 1. Baseline: the same kernel and initrd, straight to a shell.
log "boot 1/4: baseline (same kernel and initrd, init=/bin/sh script)"
qemu-img create -q -f qcow2 -b "$out/edgeplane.qcow2" -F qcow2 "$work/baseline.qcow2"
t0=$(now)
boot baseline -drive "file=$work/baseline.qcow2,format=qcow2,if=virtio" \
	-kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
	-append "root=PARTUUID=$(cat "$out/root-partuuid") ro console=ttyS0,115200 init=/usr/libexec/edgeplane/baseline-init"
if wait_for "$work/baseline.status" '^[0-9.]+ SHELL' 300 "$qpid"; then
	baseline_s=$(elapsed "$t0" "$(now)")
	check "baseline boots to a shell" PASS "${baseline_s}s"
else
	baseline_s='?'
	check "baseline boots to a shell" FAIL "no SHELL marker within 300 s"
	show_console baseline
fi
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true

# 2. The gateway, provisioned from a second disk labelled EPPROV.
log "boot 2/4: the gateway, provisioned from a second disk"
qemu-img create -q -f qcow2 -b "$out/edgeplane.qcow2" -F qcow2 "$work/gw.qcow2" 6G
hub_guest=http://$guest_host:$hub_port
prov_disk "$work/prov.img" "# boot test
EDGEPLANE_HUB_URL=$hub_guest
EDGEPLANE_DEVICE_ID=$device
EDGEPLANE_DEVICE_KEY=$device_key
EDGEPLANE_INSECURE_REGISTRIES=$guest_host:$reg_port
"
t0=$(now)
boot gw -drive "file=$work/gw.qcow2,format=qcow2,if=virtio" -drive "file=$work/prov.img,format=raw,if=virtio"
gw_pid=$qpid
failed=0

if wait_for "$work/gw.status" "^[0-9.]+ PROVISION" "$ready_timeout" "$gw_pid" &&
	grep -Eq "^[0-9.]+ PROVISIONED $device\$" "$work/gw.status"; then
	check "provisioned from the EPPROV disk" PASS "at ${SECONDS}s of the test, guest uptime $(marker_time gw PROVISIONED)s"
else
	check "provisioned from the EPPROV disk" FAIL "$(grep PROVISION "$work/gw.status" || echo "no marker")"
	failed=1
fi

if wait_for "$work/gw.status" '^[0-9.]+ BOOTED' "$ready_timeout" "$gw_pid"; then
	booted_s=$(elapsed "$t0" "$(now)")
	check "boots to multi-user.target" PASS "${booted_s}s from power-on"
else
	booted_s='?'
	check "boots to multi-user.target" FAIL "no BOOTED marker within ${ready_timeout}s"
	failed=1
fi

ready_s='n/a'
if wait_for "$work/gw.status" '^[0-9.]+ READY' "$ready_timeout" "$gw_pid"; then
	ready_s=$(elapsed "$t0" "$(now)")
	check "edgeplaned READY" PASS "${ready_s}s from power-on"
else
	check "edgeplaned READY" FAIL "no READY marker within ${ready_timeout}s"
	failed=1
fi

# Through the hub: online, and the module running rootless.
{
	end=$((SECONDS + 120)) st=''
	while [ $SECONDS -lt $end ]; do
		st=$(hub_api GET "/v1/devices/$device/status" 2>/dev/null || true)
		[ "$(jq -r .online <<<"$st" 2>/dev/null)" = true ] && break
		sleep 2
	done
	if [ "$(jq -r .online <<<"$st" 2>/dev/null)" = true ]; then
		check "device online in the hub" PASS
	else
		check "device online in the hub" FAIL "status: ${st:-none}"
		failed=1
	fi
}

{
	end=$((SECONDS + 300)) ms=''
	while [ $SECONDS -lt $end ]; do
		ms=$(hub_api GET "/v1/devices/$device/status" 2>/dev/null | jq -r ".modules[\"$module\"].status // empty" || true)
		[ "$ms" = running ] && break
		sleep 2
	done
	if [ "$ms" = running ]; then
		check "module pulled from the host registry runs" PASS "reported running to the hub"
	else
		check "module pulled from the host registry runs" FAIL "reported status: ${ms:-none}"
		failed=1
	fi
}

# The forwarder's topics name device, module and output (docs/upstream.md);
# the tempsensor's readings are JSON with a temperature.
up_re="^edgeplane/$device/messages/$module/[^ ]+ \\{.*\"temperature\""
if wait_for "$work/upstream.log" "$up_re" 180; then
	check "message routed to \$upstream reaches the host" PASS "$(grep -Em1 "$up_re" "$work/upstream.log" | cut -d' ' -f1 | cut -c1-60)"
else
	check "message routed to \$upstream reaches the host" FAIL \
		"no reading from $module on the host broker within 180 s: $(head -c 300 "$work/upstream.log" "$work/upstream.err")"
	failed=1
fi

# A clean shutdown within the time a gateway gets (no 90 s hang).
if powerdown "$gw_pid" gw 120; then
	check "shuts down cleanly" PASS
else
	check "shuts down cleanly" FAIL "still running 120 s after the ACPI power button"
	failed=1
fi
wait "$gw_pid" 2>/dev/null || true

# The persistent journal, read from the data partition of the powered-off
# disk.
qemu-img convert -O raw "$work/gw.qcow2" "$work/gw.raw"
start=$(partx -g -o START,NAME "$work/gw.raw" | awk '$2 == "ep-data" { print $1 }')
if [ -z "$start" ]; then
	check "journal persisted on the data partition" FAIL "no ep-data partition"
	failed=1
else
	loopdev=$(losetup -r -f --show -o $((start * 512)) "$work/gw.raw")
	mnt=$work/data
	mkdir -p "$mnt"
	mount -o ro,noload "$loopdev" "$mnt"
	jdir=$(find "$mnt/journal" -mindepth 1 -maxdepth 1 -type d | head -n1)
	if [ -n "$jdir" ] && journalctl -D "$jdir" -q -o cat -u edgeplane-provision.service 2>/dev/null |
		grep -q "provisioned device $device"; then
		check "journal persisted on the data partition" PASS "edgeplane-provision's lines found"
	else
		check "journal persisted on the data partition" FAIL "no edgeplane-provision lines in ${jdir:-$mnt/journal}"
		failed=1
	fi
	# The runtime names the container; it contains the module's name.
	cname=$(journalctl -D "$jdir" -F CONTAINER_NAME 2>/dev/null | grep -F "$module" | head -n1 || true)
	n=0
	[ -z "$cname" ] || n=$(journalctl -D "$jdir" -q -o cat "CONTAINER_NAME=$cname" | wc -l)
	if [ "$n" -gt 0 ]; then
		check "module logs in the guest journal" PASS "$n lines of CONTAINER_NAME=$cname"
	else
		check "module logs in the guest journal" FAIL "no CONTAINER_NAME containing $module"
		failed=1
	fi
	# Rootless: the journald log driver's lines come from the module's
	# conmon, which runs as the unprivileged gateway user, never as root.
	uids=''
	[ -z "$cname" ] || uids=$(journalctl -D "$jdir" -o json "CONTAINER_NAME=$cname" | jq -r '._UID' | sort -u | tr '\n' ' ')
	if [ -n "$uids" ] && ! grep -qw 0 <<<"$uids"; then
		check "module runs rootless" PASS "its journal lines have _UID $uids"
	else
		check "module runs rootless" FAIL "_UID of $module's journal lines: ${uids:-none}"
		failed=1
	fi
	umount "$mnt" && mnt=''
	losetup -d "$loopdev" && loopdev=''
fi
rm -f "$work/gw.raw"
[ $failed = 0 ] || show_console gw

# 3. A malformed provision.conf leaves the gateway waiting, and says why.
log "boot 3/4: a malformed provision.conf"
qemu-img create -q -f qcow2 -b "$out/edgeplane.qcow2" -F qcow2 "$work/bad.qcow2"
prov_disk "$work/bad-prov.img" "EDGEPLANE_HUB_URL=ftp://hub.example.com
EDGEPLANE_DEVICE_ID=$device
EDGEPLANE_DEVICE_KEY=$device_key
"
boot bad -drive "file=$work/bad.qcow2,format=qcow2,if=virtio" -drive "file=$work/bad-prov.img,format=raw,if=virtio"
bad_pid=$qpid
if wait_for "$work/bad.status" '^[0-9.]+ BOOTED' "$ready_timeout" "$bad_pid" &&
	grep -q 'PROVISION-FAILED EDGEPLANE_HUB_URL' "$work/bad.status" &&
	grep -q 'NOT PROVISIONED: EDGEPLANE_HUB_URL' "$work/bad.console"; then
	check "malformed provision.conf: gateway waits, says why" PASS "on the console and the status port"
	# The gateway user's manager says so when it skips edgeplaned.
	if wait_journal bad 'select(.USER_UNIT == "edgeplaned.service" and (.MESSAGE|tostring|test("unmet condition")))' 120 "$bad_pid"; then
		check "malformed provision.conf: edgeplaned skipped" PASS "unmet ConditionPathExists"
	else
		check "malformed provision.conf: edgeplaned skipped" FAIL "no 'skipped' line for edgeplaned.service"
		failed=1
	fi
	if grep -q READY "$work/bad.status"; then
		check "malformed provision.conf: no READY" FAIL "edgeplaned reported READY"
		failed=1
	fi
else
	check "malformed provision.conf: gateway waits, says why" FAIL "$(grep PROVISION "$work/bad.status" || echo "no marker")"
	show_console bad
	failed=1
fi
kill "$bad_pid" 2>/dev/null || true
wait "$bad_pid" 2>/dev/null || true

# 4. No provisioning file at all: the image's own EPPROV partition is empty
# as built, and no second disk is attached.
log "boot 4/4: no provision.conf anywhere"
qemu-img create -q -f qcow2 -b "$out/edgeplane.qcow2" -F qcow2 "$work/none.qcow2"
boot none -drive "file=$work/none.qcow2,format=qcow2,if=virtio"
none_pid=$qpid
if wait_for "$work/none.status" '^[0-9.]+ BOOTED' "$ready_timeout" "$none_pid" &&
	grep -q 'PROVISION-FAILED no provision.conf' "$work/none.status" &&
	grep -q 'NOT PROVISIONED: no provision.conf' "$work/none.console"; then
	check "no provision.conf: gateway waits, says why" PASS "on the console and the status port"
	if grep -q READY "$work/none.status"; then
		check "no provision.conf: no READY" FAIL "edgeplaned reported READY"
		failed=1
	fi
else
	check "no provision.conf: gateway waits, says why" FAIL "$(grep PROVISION "$work/none.status" || echo "no marker")"
	show_console none
	failed=1
fi
kill "$none_pid" 2>/dev/null || true
wait "$none_pid" 2>/dev/null || true

# --- summary --------------------------------------------------------------------
pass=0 fail=0
echo
echo "image boot test checks:"
for c in "${order[@]}"; do
	printf '  %-50s %s\n' "$c" "${result[$c]}"
	case ${result[$c]} in PASS*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done
echo "image-test: $pass passed, $fail failed"
echo
echo "figures (QEMU TCG, 2 vCPUs, 2 GiB, OVMF):"
printf '  %-40s %8s\n' "image raw (MiB)" "$raw_mib" "image qcow2 (MiB)" "$qcow_mib" "image raw.zst (MiB)" "$zst_mib"
printf '  %-40s %8s\n' "baseline: power-on to shell (s)" "$baseline_s"
printf '  %-40s %8s\n' "power-on to multi-user.target (s)" "${booted_s:-?}"
printf '  %-40s %8s\n' "power-on to edgeplaned READY (s)" "$ready_s"
printf '  %-40s %8s\n' "whole boot test (s)" "$SECONDS"
[ "$fail" = 0 ] || exit 1
