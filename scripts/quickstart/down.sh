#!/usr/bin/env bash
# Stops everything the quick start started and removes its users, containers
# and state, so that nothing it started outlives it.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/scripts/lib/rootless.sh"
. "$ROOT/scripts/quickstart/common.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make quickstart-down)"

step "Stopping the quick start"
# Gateways first: edgeplaned, then every container and process of the user.
for gw in "${GATEWAYS[@]}"; do
	user=$(gw_user "$gw")
	id -u "$user" >/dev/null 2>&1 || continue
	uid=$(id -u "$user")
	if [ -f "$QS_DIR/pids/edgeplaned-$gw" ]; then
		kill -TERM -- "-$(cat "$QS_DIR/pids/edgeplaned-$gw")" 2>/dev/null
	fi
	home=$(getent passwd "$user" | cut -d: -f6)
	user_cmd "$user"
	timeout 60 "${USER_CMD[@]}" podman rm --all --force --time 5 >/dev/null 2>&1
	pkill -KILL -u "$user" 2>/dev/null
	sleep 0.5
	# Rootless storage holds files owned by sub-ids; as root, userdel removes them.
	userdel --remove "$user" 2>/dev/null || rm -rf "$home"
	rm -rf "/run/user/$uid"
	ok "$gw stopped, user $user removed"
done

for f in "$QS_DIR"/pids/*; do
	[ -e "$f" ] || continue
	pid=$(cat "$f")
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "-$pid" 2>/dev/null
	ok "$(basename "$f") stopped"
	rm -f "$f"
done

rm -rf "$QS_DIR"
ok "state removed ($QS_DIR)"
