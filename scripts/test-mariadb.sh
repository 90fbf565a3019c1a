#!/usr/bin/env bash
# The way up to a server, tested against a real one: a 100,000-row, multi-table minno database is
# exported with `minno export --format sql`, loaded into MariaDB with its own client, and every
# row is read back (binary protocol: exact doubles) and compared with minno's scans
# (scripts/mariadb-roundtrip.ts). Installs Debian's mariadb-server if it is missing (needs root),
# starts a private server on a Unix socket in a temp directory (no TCP), stops it at the end.
#
#   bash scripts/test-mariadb.sh            # or: npm run test:mariadb
#   bash scripts/test-mariadb.sh --rows 10000
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mariadbd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-mariadb: mariadbd is not installed; run as root (apt-get install mariadb-server mariadb-client)" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi

dir="$(mktemp -d /tmp/minno-mariadb.XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

user="$(id -un)"
mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
  --user="$user" --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mariadb.sock" --skip-networking \
  --user="$user" --pid-file="$dir/mariadb.pid" --log-error="$dir/error.log" \
  --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 &
pid=$!
for _ in $(seq 1 120); do
  [ -S "$dir/mariadb.sock" ] && break
  sleep 0.5
done
[ -S "$dir/mariadb.sock" ] || { echo "test-mariadb: the server did not start" >&2; cat "$dir/error.log" >&2; exit 1; }

npx tsx scripts/mariadb-roundtrip.ts --socket "$dir/mariadb.sock" --work "$dir" "$@"
