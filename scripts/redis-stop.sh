#!/usr/bin/env bash
# Stop the Redis server that scripts/redis-start.sh started in DATA_DIR.
# Idempotent: a stopped or missing server is not an error.
#
# Usage: scripts/redis-stop.sh [DATA_DIR] [--remove]
#   DATA_DIR  as given to redis-start.sh (default: <repo>/.cache/redis/data)
#   --remove  delete DATA_DIR afterwards (throw-away test servers)
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="$repo_dir/.cache/redis/data"
remove=""
for arg in "$@"; do
  case "$arg" in
    --remove) remove=1 ;;
    *) data_dir="$arg" ;;
  esac
done

if [[ -f "$data_dir/redis.pid" ]]; then
  pid="$(cat "$data_dir/redis.pid")"
  # A stale pid file may name a pid now used by another program: check it is redis.
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server" &&
    kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "redis-stop: server $pid still running after 10s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
fi
if [[ -n "$remove" ]]; then
  rm -rf "$data_dir"
fi
