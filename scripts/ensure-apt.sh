#!/usr/bin/env bash
# Make sure system tools the tests need are on PATH, installing the Debian packages
# that provide them when they are missing. Idempotent and quick when everything is
# there (no apt call at all). Needs root (or sudo) only when something is missing.
#
# Usage: scripts/ensure-apt.sh COMMAND:PACKAGE [COMMAND:PACKAGE ...]
#   e.g. scripts/ensure-apt.sh ffmpeg:ffmpeg ffprobe:ffmpeg chromium:chromium
set -euo pipefail
missing=()
for pair in "$@"; do
  command="${pair%%:*}"
  package="${pair#*:}"
  if ! command -v "$command" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
# Deduplicate (ffmpeg provides both ffmpeg and ffprobe).
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-apt: missing ${packages[*]}; install them (apt-get install -y ${packages[*]}) or run as root" >&2
    exit 1
  fi
  SUDO=sudo
else
  SUDO=
fi
echo "ensure-apt: installing ${packages[*]} (Debian packages)…" >&2
export DEBIAN_FRONTEND=noninteractive
# A concurrent apt run holds the dpkg lock: wait for it rather than fail.
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "ensure-apt: installed ${packages[*]}" >&2
