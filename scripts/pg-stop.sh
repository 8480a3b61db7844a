#!/usr/bin/env bash
# Stop the PostgreSQL server that scripts/pg-start.sh started in DATA_DIR.
# Idempotent: a stopped or missing server is not an error.
#
# Usage: scripts/pg-stop.sh [DATA_DIR] [--remove]
#   DATA_DIR  as given to pg-start.sh (default: <repo>/.cache/pgvector/data)
#   --remove  delete DATA_DIR afterwards (for throw-away test clusters); the
#             server then gets an immediate shutdown (no final checkpoint)
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="$repo_dir/.cache/pgvector/data"
remove=""
for arg in "$@"; do
  case "$arg" in
    --remove) remove=1 ;;
    *) data_dir="$arg" ;;
  esac
done
cluster="$data_dir/pgdata"

if [[ -f "$cluster/postmaster.pid" ]]; then
  # The server's own pid (first line of postmaster.pid): SIGINT is PostgreSQL's
  # "fast" shutdown (roll back open transactions, checkpoint, exit); SIGQUIT the
  # "immediate" one, fine for a cluster about to be deleted. Signalling the pid
  # works whatever user the server runs as and needs no pg_ctl.
  signal=INT
  [[ -n "$remove" ]] && signal=QUIT
  pid="$(head -1 "$cluster/postmaster.pid")"
  # A stale pid file (after a crash) may name a pid now used by another program.
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "postgres.*$cluster" &&
    kill -"$signal" "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pg-stop: server $pid still running after 10s; sending SIGQUIT (immediate shutdown)" >&2
      kill -QUIT "$pid" 2>/dev/null || true
    fi
  fi
fi
if [[ -n "$remove" ]]; then
  rm -rf "$data_dir"
fi
