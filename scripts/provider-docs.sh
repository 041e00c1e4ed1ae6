#!/usr/bin/env bash
# Generate the provider's Registry docs (docs/index.md, docs/resources,
# docs/data-sources) with tfplugindocs from templates/ and examples/,
# offline: the provider schema comes from a local build through the local
# Terraform binary, so tfplugindocs never downloads anything.
#
# tfplugindocs cleans every directory it manages in its output (guides too),
# so it renders into a temporary directory and only the three generated
# parts are copied into docs/; hand-written pages in docs/ are left alone.
#
# Usage: provider-docs.sh generate   rewrite the generated parts of docs/
#        provider-docs.sh check      fail when docs/ is out of date
# Environment: TERRAFORM (default: terraform on PATH), TFPLUGINDOCS
# (default: tfplugindocs on PATH).
set -euo pipefail

mode=${1:-generate}
root=$(cd "$(dirname "$0")/.." && pwd)
terraform=${TERRAFORM:-terraform}
tfplugindocs=${TFPLUGINDOCS:-tfplugindocs}
generated=(index.md resources data-sources)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The provider's schema, through a dev override of a local build. The
#    override uses the implied hashicorp/ namespace because that is the
#    address tfplugindocs looks up in the schema file.
mkdir -p "$tmp/plugins" "$tmp/config"
go build -o "$tmp/plugins/terraform-provider-edgeplane" "$root"
cat >"$tmp/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/hashicorp/edgeplane" = "$tmp/plugins"
  }
  direct {}
}
RC
echo 'provider "edgeplane" {}' >"$tmp/config/main.tf"
(cd "$tmp/config" && TF_CLI_CONFIG_FILE="$tmp/terraformrc" CHECKPOINT_DISABLE=1 \
	"$terraform" providers schema -json >"$tmp/schema.json" 2>"$tmp/schema.log") || {
	cat "$tmp/schema.log" >&2
	exit 1
}

# 2. Render into a scratch directory (tfplugindocs wants it relative to the
#    provider directory).
render=$(realpath --relative-to="$root" "$tmp/render")
"$tfplugindocs" generate --provider-dir "$root" --provider-name edgeplane \
	--rendered-provider-name Edgeplane --providers-schema "$tmp/schema.json" \
	--rendered-website-dir "$render" --website-temp-dir "$tmp/website" >"$tmp/docs.log" 2>&1 || {
	cat "$tmp/docs.log" >&2
	exit 1
}

# 3. Install or compare the generated parts.
case $mode in
generate)
	for g in "${generated[@]}"; do
		rm -rf "${root:?}/docs/$g"
		cp -r "$tmp/render/$g" "$root/docs/$g"
	done
	echo "provider docs generated in docs/ (${generated[*]})"
	;;
check)
	status=0
	for g in "${generated[@]}"; do
		if ! diff -ru "$root/docs/$g" "$tmp/render/$g" >"$tmp/diff" 2>&1; then
			cat "$tmp/diff"
			status=1
		fi
	done
	if [ "$status" -ne 0 ]; then
		echo "docs/ is out of date with the provider's schema, templates/ or examples/:" >&2
		echo "run 'make docs' and commit the result" >&2
	fi
	exit "$status"
	;;
*)
	echo "usage: $0 generate|check" >&2
	exit 2
	;;
esac
