#!/usr/bin/env bash
# Start a private Redis server on 127.0.0.1 for embedkit's job queue (tests,
# benchmarks, and users without a Redis), installing Debian's redis-server with
# apt first when it is missing (scripts/ensure-apt.sh: one `apt-get update`,
# then `apt-get install -y redis-server`). Idempotent: if DATA_DIR's server is
# already running, only its URL is printed.
#
# Usage: scripts/redis-start.sh [DATA_DIR]
#   DATA_DIR  where the server's pid file, log, AOF and URL live
#             (default: <repo>/.cache/redis/data)
# Prints:  the URL (redis://127.0.0.1:<port>) on stdout, also saved in DATA_DIR/url.
# Env:     EMBEDKIT_REDIS_PORT  fixed port (default: a free random port)
# Stop with scripts/redis-stop.sh DATA_DIR.
#
# Persistence: append-only file on (appendfsync everysec) in DATA_DIR, so a
# restart of the same DATA_DIR keeps the queued jobs; no RDB snapshots.
# `maxmemory-policy noeviction`, as BullMQ requires.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${1:-$repo_dir/.cache/redis/data}"

"$repo_dir/scripts/ensure-apt.sh" redis-server:redis-server

mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

if [[ -f "$data_dir/redis.pid" && -f "$data_dir/url" ]]; then
  pid="$(cat "$data_dir/redis.pid")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server"; then
    cat "$data_dir/url"
    exit 0
  fi
fi

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=""
for _ in 1 2 3 4 5 6 7 8; do
  port="${EMBEDKIT_REDIS_PORT:-$((20000 + RANDOM % 40000))}"
  port_is_free "$port" || { [[ -n "${EMBEDKIT_REDIS_PORT:-}" ]] && break; continue; }
  rm -f "$data_dir/redis.pid"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --dir "$data_dir" --daemonize yes --pidfile "$data_dir/redis.pid" \
    --logfile "$data_dir/redis.log" --save "" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction >&2 || true
  for _ in $(seq 1 50); do
    if [[ -s "$data_dir/redis.pid" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      started=1
      break
    fi
    sleep 0.1
  done
  [[ -n "$started" ]] && break
  [[ -n "${EMBEDKIT_REDIS_PORT:-}" ]] && break
done
if [[ -z "$started" ]]; then
  echo "redis-start: could not start redis-server (see $data_dir/redis.log):" >&2
  tail -20 "$data_dir/redis.log" >&2 || true
  exit 1
fi

url="redis://127.0.0.1:$port"
printf '%s\n' "$url" >"$data_dir/url"
echo "$url"
