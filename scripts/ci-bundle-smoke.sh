#!/usr/bin/env bash
# CI step: build the cpu app with scripts/build-app.sh (its build venv is cached outside the clone, in
# ${DOGBREED_BUILD_CACHE:-~/.cache/dogbreed-build}, keyed by pyproject.toml) and smoke-test the real binary.
# About 5 minutes with a cached build venv, 7 without, on 2 cores. Writes build/smoke-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
bash scripts/qt-system-libs.sh
export DOGBREED_DATA="${DOGBREED_DATA:-$ROOT/../shared/data/dog-breed-identification}"
[ -f "$DOGBREED_DATA/labels.csv" ] || unset DOGBREED_DATA  # then a synthetic picture is used
mkdir -p build
python3 scripts/smoke-test-app.py --build cpu --report build/smoke-report.json
