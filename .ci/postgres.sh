#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the monitor store's tests (issue 13), from Debian's `postgresql`
# package (initdb / pg_ctl / createdb in /usr/lib/postgresql/NN/bin).
#
#   eval "$(bash .ci/postgres.sh start)"    # prints: export SLAPOLICY_TEST_PG=...; export SLAPOLICY_PG_DIR=...
#   bash .ci/postgres.sh stop [DIR]          # stops the cluster in DIR (default $SLAPOLICY_PG_DIR), removes DIR
#
# `start` creates a cluster in a fresh temp directory, listening on 127.0.0.1 on a free port (and on a
# unix socket inside that directory), trust authentication for the local superuser `slapolicy`, and a
# database `slapolicy_test`. initdb refuses to run as root: as root, the cluster runs as the system user
# $SLAPOLICY_PG_USER (default `postgres`, which the Debian package creates; `slapolicy-ci` is created
# with useradd if neither exists). Durability is off (fsync=off): the cluster is thrown away.
# Only the export lines go to stdout; progress and errors go to stderr. Exit 1 if it cannot start.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bin() {
  if [ -n "${SLAPOLICY_PG_BIN:-}" ]; then echo "$SLAPOLICY_PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
  echo "$d"
}

as_user() {  # as_user USER CMD...: run CMD as USER (or as ourselves when not root)
  local user=$1; shift
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u "$user" -- "$@"
    else setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; fi
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local bin user dir port
  bin=$(pg_bin)
  user=$(id -un)
  if [ "$(id -u)" = 0 ]; then
    user=${SLAPOLICY_PG_USER:-postgres}
    if ! id "$user" >/dev/null 2>&1; then
      user=slapolicy-ci
      id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user" \
        || die "cannot create the system user $user"
    fi
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/slapolicy-pg.XXXXXX")
  [ "$(id -u)" = 0 ] && chown "$user" "$dir"
  chmod 700 "$dir"
  cd "$dir"  # the cluster's user must be able to stand in the working directory
  as_user "$user" "$bin/initdb" -D "$dir/data" -U slapolicy --auth=trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  local tries=0
  while :; do
    port=$(free_port)
    if as_user "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
        start >&2; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then cat "$dir/server.log" >&2 || true; rm -rf "$dir"; die "pg_ctl start failed"; fi
  done
  as_user "$user" "$bin/createdb" -h 127.0.0.1 -p "$port" -U slapolicy slapolicy_test >&2 \
    || { stop "$dir"; die "createdb failed"; }
  echo "$user" >"$dir/user"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" -V | awk '{print $3}') on 127.0.0.1:$port as $user in $dir" >&2
  echo "export SLAPOLICY_TEST_PG=postgresql://slapolicy@127.0.0.1:$port/slapolicy_test"
  echo "export SLAPOLICY_PG_DIR=$dir"
}

stop() {
  local dir=${1:-${SLAPOLICY_PG_DIR:-}}
  [ -n "$dir" ] || die "stop: no directory (argument or \$SLAPOLICY_PG_DIR)"
  case "$dir" in */slapolicy-pg.*) ;; *) die "stop: $dir is not a directory made by postgres.sh start";; esac
  if [ -d "$dir/data" ]; then
    local user; user=$(cat "$dir/user" 2>/dev/null || id -un)
    (cd "$dir" && as_user "$user" "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >&2) || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac
