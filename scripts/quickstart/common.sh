# Shared settings and helpers of the quick start scripts. Source it.

QS_DIR=${QS_DIR:-$ROOT/.quickstart}
# Terraform reads no user configuration here; tf_apply writes its own.
export TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE:-/dev/null}
BIN=${BIN:-$ROOT/bin}
HUB_PORT=${HUB_PORT:-18080}
REG_PORT=${REG_PORT:-18500}
UP_PORT=${UP_PORT:-18830}
HUB_URL=http://127.0.0.1:$HUB_PORT
REG_USER=edgeplane
read -r -a GATEWAYS <<<"${QS_GATEWAYS:-gw-1 gw-2}"

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' Y=$'\e[33m' R=$'\e[31m' N=$'\e[0m'; else B= G= Y= R= N=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
ok() { printf '    %s✓%s %s\n' "$G" "$N" "$*"; }
warn() { printf '    %s!%s %s\n' "$Y" "$N" "$*" >&2; }
die() {
	printf '%serror:%s %s\n' "$R" "$N" "$*" >&2
	exit 1
}

# gw_user GATEWAY names the Unix user a gateway runs as.
gw_user() { echo "ep-$1"; }

# find_terraform prints the Terraform binary to use: the project's 1.5.7
# when built, else one on PATH.
find_terraform() {
	local c
	for c in "${TF_ACC_TERRAFORM_PATH:-}" "$HOME/.cache/edgeplane/bin/terraform" "$(command -v terraform || true)"; do
		[ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}

# start_bg NAME LOG CMD... starts CMD in the background in its own process
# group and records its pid for down.sh.
start_bg() {
	local name=$1 log=$2
	shift 2
	setsid "$@" >"$log" 2>&1 </dev/null &
	echo $! >"$QS_DIR/pids/$name"
}

# wait_for WHAT SECONDS CMD... polls CMD once a second until it succeeds,
# showing progress (a live counter on a terminal, a line every 15 s in a
# log), and fails after SECONDS.
wait_for() {
	local what=$1 limit=$2 start=$SECONDS last=-1 now
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		now=$((SECONDS - start))
		if ((now >= limit)); then
			[ -t 1 ] && printf '\n'
			die "gave up waiting for $what after ${limit}s (logs in $QS_DIR/logs)"
		fi
		if [ -t 1 ]; then
			printf '\r    … %s (%ds)' "$what" "$now"
		elif ((now / 15 != last)); then
			last=$((now / 15))
			printf '    … %s (%ds)\n' "$what" "$now"
		fi
		sleep 1
	done
	if [ -t 1 ]; then printf '\r\033[K'; fi
}

# tf_apply [ARGS...] applies examples/quickstart with the locally built
# provider (dev_overrides: no registry needed). The quick start's values go
# to terraform.tfvars (0600: it holds the hub token), so that a person can
# run `terraform apply` in $QS_DIR/tf by hand afterwards.
tf_apply() {
	mkdir -p "$QS_DIR/tf"
	cp "$ROOT"/examples/quickstart/*.tf "$QS_DIR/tf/"
	cat >"$QS_DIR/tf/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "edgeplane/edgeplane" = "$BIN"
  }
  direct {}
}
EOF
	local gws
	gws=$(printf '"%s", ' "${GATEWAYS[@]}")
	(
		umask 077
		cat >"$QS_DIR/tf/terraform.tfvars" <<EOF
hub_endpoint      = "$HUB_URL"
hub_token         = "$(cat "$QS_DIR/hub-token")"
registry          = "127.0.0.1:$REG_PORT"
registry_password = "$(cat "$QS_DIR/registry-password")"
upstream_url      = "mqtt://127.0.0.1:$UP_PORT"
gateways          = [${gws%, }]
EOF
	)
	TF_CLI_CONFIG_FILE="$QS_DIR/tf/terraformrc" TF_IN_AUTOMATION=1 \
		"$TF" -chdir="$QS_DIR/tf" apply -auto-approve -input=false -no-color "$@" \
		>"$QS_DIR/logs/terraform.log" 2>&1 ||
		{ tail -30 "$QS_DIR/logs/terraform.log" >&2; die "terraform apply failed (log: $QS_DIR/logs/terraform.log)"; }
	grep -E '^Apply complete' "$QS_DIR/logs/terraform.log" | sed 's/^/    /'
}

# tf_out NAME prints a Terraform output as JSON.
tf_out() {
	TF_CLI_CONFIG_FILE="$QS_DIR/tf/terraformrc" "$TF" -chdir="$QS_DIR/tf" output -json "$1"
}

# start_gateway GATEWAY sets up the gateway's user, its Podman API service
# and edgeplaned, configured with the key Terraform generated.
start_gateway() {
	local gw=$1 user home uid key
	user=$(gw_user "$gw")
	rootless_user "$user"
	rootless_insecure_registry "$user" "127.0.0.1:$REG_PORT"
	home=$(getent passwd "$user" | cut -d: -f6)
	uid=$(id -u "$user")
	key=$(tf_out device_keys | jq -r --arg gw "$gw" '.[$gw]')
	install -d -m 0700 -o "$user" -g "$user" "$home/.config/edgeplane" "$home/data"
	(
		umask 077
		cat >"$home/.config/edgeplane/edgeplaned.yaml" <<EOF
hub_url: $HUB_URL
device_id: $gw
device_key: $key
data_dir: $home/data
podman_socket: unix:///run/user/$uid/podman/podman.sock
fast_route_plugin: $QS_DIR/edgeplane-fastroute.so
EOF
	)
	chown "$user:$user" "$home/.config/edgeplane/edgeplaned.yaml"
	install -d -m 0700 -o "$user" -g "$user" "/run/user/$uid/podman"
	user_cmd "$user"
	start_bg "podman-$gw" "$QS_DIR/logs/podman-$gw.log" \
		"${USER_CMD[@]}" podman system service --time=0 "unix:///run/user/$uid/podman/podman.sock"
	wait_for "$gw Podman API" 60 test -S "/run/user/$uid/podman/podman.sock"
	install -m 0755 "$BIN/edgeplaned" "$QS_DIR/edgeplaned"
	install -m 0644 "$BIN/edgeplane-fastroute.so" "$QS_DIR/edgeplane-fastroute.so"
	# edgeplaned's output goes to the journal, as under systemd.
	start_bg "edgeplaned-$gw" "$QS_DIR/logs/edgeplaned-$gw.log" \
		"${USER_CMD[@]}" systemd-cat --identifier="edgeplaned-$gw" --stderr-priority=warning \
		"$QS_DIR/edgeplaned" --config "$home/.config/edgeplane/edgeplaned.yaml"
}

# cli runs the edgeplane CLI against the quick start's hub. The token goes
# through the environment, never the command line, where any user of the
# machine could read it with ps.
cli() {
	EDGEPLANE_ENDPOINT=$HUB_URL EDGEPLANE_TOKEN=$(cat "$QS_DIR/hub-token") "$BIN/edgeplane" "$@"
}

# device_json GATEWAY prints the device's reported status.
device_json() {
	cli device show "$1" --json
}

fleet_online() {
	local gw
	for gw in "${GATEWAYS[@]}"; do
		device_json "$gw" | jq -e '.status.online == true' >/dev/null || return 1
	done
}

fleet_running() {
	local gw
	for gw in "${GATEWAYS[@]}"; do
		device_json "$gw" | jq -e '[.status.modules[]?.status] | length == 2 and all(. == "running")' >/dev/null || return 1
	done
}

# all_gateways_upstream succeeds once every gateway has sent an alert.
all_gateways_upstream() {
	local gw
	for gw in "${GATEWAYS[@]}"; do
		grep -q "^edgeplane/$gw/messages/filter/" "$QS_DIR/upstream/received.log" || return 1
	done
}

show_upstream_sample() {
	local n
	n=$(wc -l <"$QS_DIR/upstream/received.log")
	ok "$n alerts received upstream so far; the latest:"
	tail -3 "$QS_DIR/upstream/received.log" | cut -c1-160 | sed 's/^/      /'
}

# filters_report_threshold T succeeds when every filter reports threshold T.
filters_report_threshold() {
	local gw
	for gw in "${GATEWAYS[@]}"; do
		# The header from standard input, not the command line (see cli).
		printf 'Authorization: Bearer %s\n' "$(cat "$QS_DIR/hub-token")" |
			curl -fsS -H @- "$HUB_URL/v1/devices/$gw/modules/filter/twin" |
			jq -e --argjson t "$1" '.reported.threshold == $t' >/dev/null || return 1
	done
}

# reading_between_after LO HI LINE succeeds when a reading with LO < t <= HI
# arrived upstream after line LINE of the received log.
reading_between_after() {
	tail -n +"$(($3 + 1))" "$QS_DIR/upstream/received.log" | cut -d' ' -f2- |
		jq -e --argjson lo "$1" --argjson hi "$2" 'select(.temperature > $lo and .temperature <= $hi)' 2>/dev/null |
		grep -q .
}

# module_starts prints each gateway's module containers with their ids and
# start times, as Podman sees them: a restart changes the start time, a
# re-creation the id.
module_starts() {
	local gw
	for gw in "${GATEWAYS[@]}"; do
		as_user "$(gw_user "$gw")" podman ps --all --filter label=edgeplane.managed=true \
			--format "$gw {{.Names}} {{.ID}} {{.StartedAt}}" | sort
	done
}

summary() {
	cat <<EOF

${B}The fleet is running.${N} Look further with:

  export EDGEPLANE_ENDPOINT=$HUB_URL EDGEPLANE_TOKEN=\$(cat $QS_DIR/hub-token)
  bin/edgeplane device list                  # every gateway: online, versions, module health
  bin/edgeplane device show ${GATEWAYS[0]}              # one gateway's modules and their runtime status
  journalctl -t edgeplaned-${GATEWAYS[0]} -f            # the gateway daemon's log
  journalctl CONTAINER_NAME=filter -f        # a module's log, from every gateway
  tail -f $QS_DIR/upstream/received.log   # alerts arriving in the "cloud"

Change the filters' threshold and watch the alerts change, no module restarts:

  cd $QS_DIR/tf
  export TF_CLI_CONFIG_FILE=\$PWD/terraformrc
  $TF apply -var threshold=33
  $TF output devices

Stop everything with: make quickstart-down (as root)
EOF
}
