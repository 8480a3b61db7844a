#!/usr/bin/env bash
# Make sure `ffmpeg` and `ffprobe` are on PATH (Debian package `ffmpeg`).
# Idempotent: does nothing when both are already installed. Used by the audio and
# video code (decoding, resampling, frame sampling) and by their tests.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/ensure-apt.sh" ffmpeg:ffmpeg ffprobe:ffmpeg
