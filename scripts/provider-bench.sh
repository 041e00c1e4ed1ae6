#!/usr/bin/env bash
# Provider figures, measured in one run on this machine:
#   - terraform apply of DEVICES devices x (3 modules, 3 twins, 2 routes)
#     against a real hub,
#   - terraform apply of as many terraform_data resources (the baseline:
#     Terraform's own overhead),
#   - a no-change terraform plan of the fleet.
# Prints the figures side by side and the ratio (goal: apply <= 2x baseline).
#
# Environment: TERRAFORM (default terraform), EDGEPLANE_BIN and PROVIDER_BIN
# (default: built here), DEVICES (default 200).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
terraform=${TERRAFORM:-terraform}
devices=${DEVICES:-200}
export CHECKPOINT_DISABLE=1

work=$(mktemp -d)
hub_pid=
cleanup() {
	if [ -n "$hub_pid" ]; then
		kill "$hub_pid" 2>/dev/null || true
		wait "$hub_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1. Binaries.
mkdir -p "$work/plugins"
if [ -n "${EDGEPLANE_BIN:-}" ]; then
	cp "$EDGEPLANE_BIN" "$work/edgeplane"
else
	(cd "$root" && go build -tags "${GO_TAGS:-}" -o "$work/edgeplane" ./cmd/edgeplane)
fi
if [ -n "${PROVIDER_BIN:-}" ]; then
	cp "$PROVIDER_BIN" "$work/plugins/terraform-provider-edgeplane"
else
	(cd "$root" && go build -o "$work/plugins/terraform-provider-edgeplane" .)
fi

# 2. A hub on a free port with a fresh data directory and a random token.
token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
EDGEPLANE_HUB_TOKENS=$token "$work/edgeplane" hub --listen 127.0.0.1:0 \
	--data-dir "$work/hub-data" --addr-file "$work/hub.addr" >"$work/hub.log" 2>&1 &
hub_pid=$!
for _ in $(seq 1 300); do
	if [ -s "$work/hub.addr" ]; then
		addr=$(cat "$work/hub.addr")
		case $addr in *://*) ;; *) addr=http://$addr ;; esac
		if curl -fsS "$addr/readyz" >/dev/null 2>&1; then break; fi
	fi
	if ! kill -0 "$hub_pid" 2>/dev/null; then
		cat "$work/hub.log" >&2
		exit 1
	fi
	sleep 0.1
done
export EDGEPLANE_ENDPOINT=$addr EDGEPLANE_TOKEN=$token

# 3. Terraform uses the local provider build.
cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/edgeplane/edgeplane" = "$work/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1
cp -r "$root/provider/bench/fleet" "$root/provider/bench/baseline" "$work/"

seconds() { # run a command, print its wall time in seconds
	local start end
	start=$(date +%s.%N)
	"$@" >>"$work/terraform.log" 2>&1 || {
		tail -40 "$work/terraform.log" >&2
		return 1
	}
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

resources=$((devices * 9))
echo "provider bench: $devices devices, $resources resources, $(nproc) CPUs, $("$terraform" version | head -n1)"
base=$(cd "$work/baseline" && seconds "$terraform" apply -auto-approve -input=false -var "devices=$devices")
fleet=$(cd "$work/fleet" && seconds "$terraform" apply -auto-approve -input=false -var "devices=$devices")
plan=$(cd "$work/fleet" && seconds "$terraform" plan -detailed-exitcode -input=false -var "devices=$devices")
ratio=$(awk -v a="$fleet" -v b="$base" 'BEGIN { printf "%.2f", a / b }')

printf '%-46s %8.1f s\n' "apply, $resources terraform_data (baseline)" "$base"
printf '%-46s %8.1f s\n' "apply, $devices devices x (3 mod, 3 twin, 2 route)" "$fleet"
printf '%-46s %8.1f s\n' "plan, no change, same fleet" "$plan"
printf '%-46s %8s x   (goal <= 2x)\n' "apply ratio fleet/baseline" "$ratio"
