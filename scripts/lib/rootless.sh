# Helpers to run rootless Podman for a dedicated unprivileged user on a host
# without a systemd user session (see docs/troubleshooting.md). Source it;
# every function is idempotent.

# rootless_user NAME creates NAME with subordinate ids and a runtime
# directory, and writes its Podman configuration (runc, overlay storage,
# journald logs). It prints nothing on success.
rootless_user() {
	local user=$1 uid home rt
	if ! id -u "$user" >/dev/null 2>&1; then
		useradd --create-home --shell /usr/sbin/nologin "$user"
	fi
	uid=$(id -u "$user")
	home=$(getent passwd "$user" | cut -d: -f6)
	# useradd adds subordinate ids only when the login.defs ranges allow it;
	# make sure they exist, since rootless Podman needs them.
	grep -q "^$user:" /etc/subuid || echo "$user:$((100000 + uid * 65536)):65536" >>/etc/subuid
	grep -q "^$user:" /etc/subgid || echo "$user:$((100000 + uid * 65536)):65536" >>/etc/subgid
	rt=/run/user/$uid
	# /run/user stays root's; only the user's own directory is theirs.
	install -d -m 0755 -o root -g root /run/user
	install -d -m 0700 -o "$user" -g "$user" "$rt"
	install -d -m 0755 -o "$user" -g "$user" "$home/.config" "$home/.config/containers"
	# This host's cgroups are hybrid v1+v2, where crun fails; runc works.
	cat >"$home/.config/containers/containers.conf" <<CONF
[containers]
log_driver = "journald"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
	cat >"$home/.config/containers/storage.conf" <<CONF
[storage]
driver = "overlay"
CONF
	chown -R "$user:$user" "$home/.config"
	# slirp4netns needs the tun device; bus-only modules run without network.
	[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun || true
}

# rootless_insecure_registry NAME HOST:PORT lets NAME pull from a plain-HTTP
# registry on loopback.
rootless_insecure_registry() {
	local user=$1 reg=$2 home
	home=$(getent passwd "$user" | cut -d: -f6)
	cat >"$home/.config/containers/registries.conf" <<CONF
unqualified-search-registries = []

[[registry]]
location = "$reg"
insecure = true
CONF
	chown "$user:$user" "$home/.config/containers/registries.conf"
}

# user_cmd NAME sets USER_CMD to the command prefix that runs a program as
# NAME with a clean environment and its runtime directory, for callers that
# need it as words (setsid, timeout) rather than as a shell function.
user_cmd() {
	local user=$1
	USER_CMD=(runuser -u "$user" -- env -i HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user"
		XDG_RUNTIME_DIR="/run/user/$(id -u "$user")" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin)
}

# as_user NAME CMD... runs CMD as NAME (see user_cmd).
as_user() {
	user_cmd "$1"
	shift
	"${USER_CMD[@]}" "$@"
}

# journal_alive succeeds when systemd-journald answers. The socket file alone
# proves nothing: a journald that died leaves it behind, and every write to it
# is then refused. systemd-cat connects to journald's stream socket (bound with
# the native one Podman writes to) and, running true, logs nothing.
journal_alive() {
	[ -S /run/systemd/journal/socket ] && systemd-cat -t edgeplane-check true 2>/dev/null
}

# start_journald starts systemd-journald when no journal answers, so that
# Podman's journald log driver and journalctl work on hosts whose PID 1 is
# not systemd. JOURNALD_PID is the journald it started, or empty when one
# was running already (and so is not the caller's to stop).
JOURNALD_PID=''
start_journald() {
	journal_alive && return 0
	mkdir -p /run/systemd/journal
	setsid /lib/systemd/systemd-journald >/dev/null 2>&1 < /dev/null &
	JOURNALD_PID=$!
	local i
	for i in $(seq 100); do journal_alive && return 0; sleep 0.1; done
	echo "systemd-journald did not answer on /run/systemd/journal/socket within 10s" >&2
	return 1
}
