#!/usr/bin/env bash
# Make sure `ffmpeg` and `ffprobe` are on PATH (Debian package `ffmpeg`).
# Idempotent: does nothing when both are already installed. Used by the audio and
# video code (decoding, resampling, frame sampling) and by their tests.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
ffmpeg -hide_banner -version | head -n 1
