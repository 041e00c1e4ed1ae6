#!/usr/bin/env bash
# End-to-end test of the quick start: up.sh must end with alerts arriving
# upstream and a twin change taking effect (it fails otherwise), and
# down.sh must leave no process, user or container behind.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export QS_DIR=${QS_DIR:-$(mktemp -d /tmp/edgeplane-qs-test.XXXXXX)}
# Ports of their own, so a developer's running quick start is not disturbed.
export HUB_PORT=${HUB_PORT:-28080} REG_PORT=${REG_PORT:-28500} UP_PORT=${UP_PORT:-28830}
export QS_GATEWAYS=${QS_GATEWAYS:-qs-gw-1 qs-gw-2}
. "$ROOT/scripts/quickstart/common.sh"

fail=0
# A journal that runs before the quick start is not its to stop; one that
# the quick start started must be gone after it.
journal_before=0
[ -S /run/systemd/journal/socket ] && systemd-cat -t edgeplane-check true 2>/dev/null && journal_before=1
# Keep the logs of a failed run until they are printed below. What up.sh
# prints is kept too, to check that it never shows the hub token.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! QS_KEEP_ON_FAIL=1 bash "$ROOT/scripts/quickstart/up.sh" 2>&1 | tee "$out"; then
	echo "--- quick start failed; its logs:"
	for f in "$QS_DIR"/logs/*; do echo "--- $f"; tail -40 "$f"; done
	for gw in "${GATEWAYS[@]}"; do
		echo "--- journal of edgeplaned-$gw"
		journalctl -t "edgeplaned-$gw" --no-pager -n 60 2>/dev/null
	done
	fail=1
fi
if [ -s "$QS_DIR/hub-token" ] && grep -qF "$(cat "$QS_DIR/hub-token")" "$out"; then
	echo "FAIL: the quick start printed the hub token"
	fail=1
fi
bash "$ROOT/scripts/quickstart/down.sh" || fail=1

# Nothing the quick start started may outlive it.
for gw in "${GATEWAYS[@]}"; do
	user=$(gw_user "$gw")
	if id -u "$user" >/dev/null 2>&1; then echo "FAIL: user $user still exists"; fail=1; fi
	if pgrep -u "$user" >/dev/null 2>&1; then echo "FAIL: processes of $user still run"; fail=1; fi
	if grep -qs "^$user:" /etc/subuid /etc/subgid; then echo "FAIL: subordinate ids of $user remain"; fail=1; fi
done
if [ $journal_before = 0 ] && pgrep -x systemd-journal >/dev/null; then
	echo "FAIL: the quick start started systemd-journald and left it running"
	fail=1
fi
for p in "$HUB_PORT" "$REG_PORT" "$UP_PORT"; do
	if ss -Hltn "sport = :$p" | grep -q .; then echo "FAIL: port $p still listens"; fail=1; fi
done
[ -e "$QS_DIR" ] && { echo "FAIL: $QS_DIR still exists"; fail=1; }

if [ $fail -eq 0 ]; then echo "quickstart: 1 passed, 0 failed"; else echo "quickstart: 0 passed, 1 failed"; fi
exit $fail
