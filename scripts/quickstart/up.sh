#!/usr/bin/env bash
# Quick start: brings up a hub, a local registry, an upstream broker standing
# in for the cloud and two gateways, each as real processes on this machine,
# applies examples/quickstart with Terraform and shows the fleet come alive.
# `make quickstart` runs it after building; `make quickstart-down` undoes it.
#
# Everything it starts is recorded under $QS_DIR (default .quickstart/) so
# that down.sh can stop it. It must run as root: it creates one unprivileged
# user per gateway for rootless Podman.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/lib/rootless.sh"
. "$ROOT/scripts/quickstart/common.sh"

# Bounded waits: every wait below gives up after this many seconds.
QS_TIMEOUT=${QS_TIMEOUT:-180}

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make quickstart): each gateway gets its own unprivileged user"
for b in edgeplane edgeplaned terraform-provider-edgeplane edgeplane-fastroute.so; do
	[ -f "$BIN/$b" ] || die "$BIN/$b is missing; run 'make build' first"
done
TF=$(find_terraform) || die "terraform not found; run 'make tools-terraform'"
if [ -e "$QS_DIR/pids" ] && [ -n "$(ls -A "$QS_DIR/pids" 2>/dev/null)" ]; then
	die "a quick start is already running (state in $QS_DIR); run 'make quickstart-down' first"
fi
mkdir -p "$QS_DIR/pids" "$QS_DIR/logs"
# The gateways' users run edgeplaned from here; secrets inside are 0600.
chmod 0755 "$QS_DIR"
# Stop what was started if any step fails, so nothing half-started remains.
# (QS_KEEP_ON_FAIL=1 keeps it for a look; quickstart-down removes it later.)
on_exit() {
	local rc=$?
	[ $rc -eq 0 ] && return
	echo
	if [ -x "$BIN/edgeplane" ] && [ -f "$QS_DIR/hub-token" ]; then
		cli device list 2>/dev/null || true
	fi
	if [ "${QS_KEEP_ON_FAIL:-0}" = 1 ]; then
		warn "quick start failed; left running for a look (QS_KEEP_ON_FAIL=1): logs in $QS_DIR/logs"
		return
	fi
	warn "quick start failed; stopping what it started"
	"$ROOT/scripts/quickstart/down.sh" >/dev/null 2>&1 || true
}
trap on_exit EXIT

step "Starting the system journal (if none runs)"
start_journald
# One we started is ours to stop (down.sh stops every pid in pids/); the
# journal files it wrote stay readable with journalctl after it stops.
if [ -n "$JOURNALD_PID" ]; then
	echo "$JOURNALD_PID" >"$QS_DIR/pids/journald"
	ok "journald started (stopped again by make quickstart-down)"
else
	ok "journald already running"
fi

# ---------------------------------------------------------------------------
step "Starting the hub (SQLite) on 127.0.0.1:$HUB_PORT"
HUB_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
echo "$HUB_TOKEN" >"$QS_DIR/hub-token"
chmod 0600 "$QS_DIR/hub-token"
mkdir -p "$QS_DIR/hub"
start_bg hub "$QS_DIR/logs/hub.log" \
	"$BIN/edgeplane" hub --listen "127.0.0.1:$HUB_PORT" --data-dir "$QS_DIR/hub" --token-file "$QS_DIR/hub-token"
wait_for "hub ready" "$QS_TIMEOUT" curl -fsS "http://127.0.0.1:$HUB_PORT/readyz"
ok "hub ready at $HUB_URL"

# ---------------------------------------------------------------------------
step "Starting a local registry on 127.0.0.1:$REG_PORT and pushing the example modules"
REG_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
echo "$REG_PASS" >"$QS_DIR/registry-password"
chmod 0600 "$QS_DIR/registry-password"
mkdir -p "$QS_DIR/registry/data"
htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$QS_DIR/registry/htpasswd"
cat >"$QS_DIR/registry/config.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $QS_DIR/registry/data
http:
  addr: 127.0.0.1:$REG_PORT
auth:
  htpasswd:
    realm: edgeplane-quickstart
    path: $QS_DIR/registry/htpasswd
EOF
start_bg registry "$QS_DIR/logs/registry.log" docker-registry serve "$QS_DIR/registry/config.yml"
wait_for "registry ready" "$QS_TIMEOUT" bash -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$REG_PORT/v2/ | grep -q 401"
for m in tempsensor filter; do
	podman push --quiet --tls-verify=false --creds "$REG_USER:$REG_PASS" \
		"localhost/edgeplane/$m:dev" "docker://127.0.0.1:$REG_PORT/edgeplane/$m:dev"
	ok "pushed edgeplane/$m:dev"
done

# ---------------------------------------------------------------------------
step "Starting the upstream broker (the cloud) on 127.0.0.1:$UP_PORT"
mkdir -p "$QS_DIR/upstream"
cat >"$QS_DIR/upstream/mosquitto.conf" <<EOF
listener $UP_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stdout
EOF
chmod 0644 "$QS_DIR/upstream/mosquitto.conf"
start_bg upstream "$QS_DIR/logs/upstream.log" mosquitto -c "$QS_DIR/upstream/mosquitto.conf"
wait_for "upstream broker ready" "$QS_TIMEOUT" mosquitto_pub -h 127.0.0.1 -p "$UP_PORT" -t ping -m ping
# Record every reading that reaches the cloud, with its topic.
start_bg upstream-sub "$QS_DIR/upstream/received.log" \
	mosquitto_sub -h 127.0.0.1 -p "$UP_PORT" -t 'edgeplane/#' -v
ok "upstream broker ready; received messages go to $QS_DIR/upstream/received.log"

# ---------------------------------------------------------------------------
step "Applying examples/quickstart with Terraform ($("$TF" version | head -1))"
tf_apply
ok "applied: $(tf_out devices | tr -d '[]\n ' )"

# ---------------------------------------------------------------------------
step "Starting ${#GATEWAYS[@]} gateways (edgeplaned + rootless Podman, one user each)"
for gw in "${GATEWAYS[@]}"; do
	start_gateway "$gw"
	ok "$gw: edgeplaned started as user $(gw_user "$gw")"
done

# ---------------------------------------------------------------------------
step "Waiting for the fleet"
wait_for "every gateway online" "$QS_TIMEOUT" fleet_online
ok "all gateways online"
wait_for "every module running" "$QS_TIMEOUT" fleet_running
cli device list

step "Waiting for filtered readings to arrive upstream"
wait_for "alerts from every gateway" "$QS_TIMEOUT" all_gateways_upstream
show_upstream_sample

# ---------------------------------------------------------------------------
step "Changing the filter's threshold twin from 30 to 20 and watching the effect"
starts_before=$(module_starts)
[ "$(grep -c . <<<"$starts_before")" -eq $((2 * ${#GATEWAYS[@]})) ] ||
	die "expected 2 module containers per gateway, Podman shows: $starts_before"
tf_apply -var threshold=20
wait_for "filters report threshold 20" "$QS_TIMEOUT" filters_report_threshold 20
: >"$QS_DIR/upstream/received.log.mark"
mark=$(wc -l <"$QS_DIR/upstream/received.log")
echo "$mark" >"$QS_DIR/upstream/received.log.mark"
wait_for "a reading between 20 and 30 upstream (blocked before the change)" "$QS_TIMEOUT" reading_between_after 20 30 "$mark"
[ "$(module_starts)" = "$starts_before" ] || die "a module restarted when only its twin changed"
ok "the new threshold is in effect, and no module restarted"

trap - EXIT
summary
