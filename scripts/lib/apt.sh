# apt_install PKG... installs the Debian packages that are missing. It runs
# apt-get update at most once per boot and waits for a held dpkg lock instead
# of failing, because several set-up scripts may run one after another.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]}; run 'sudo make deps' or install them" >&2
		return 1
	fi
	local stamp=/run/edgeplane-apt-updated
	if [ ! -e "$stamp" ]; then
		apt-get -o DPkg::Lock::Timeout=600 update -qq
		touch "$stamp"
	fi
	echo "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
