#!/usr/bin/env bash
# The hub's tests start a real PostgreSQL 15 (initdb, pg_ctl) from Debian's
# package. Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib/apt.sh"
apt_install postgresql postgresql-15
