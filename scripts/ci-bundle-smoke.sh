#!/usr/bin/env bash
# CI step: build both apps with scripts/build-app.sh (their build venvs are cached outside the clone, in
# ${DOGBREED_BUILD_CACHE:-~/.cache/dogbreed-build}, keyed by pyproject.toml) and smoke-test each real binary:
#   cpu       dist/DogBreedStudio            (the full app; about 5 minutes with a cached venv, 7 without)
#   classify  dist/classify/DogBreedStudio   (no torch; about 3 minutes with a cached venv)
# on 2 cores. Writes build/smoke-report.json, build/smoke-report-classify.json and the classify build's Train tab
# screenshot, build/smoke-classify-train-tab.png. Both run even when the first fails; the step fails if either did.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
bash scripts/qt-system-libs.sh
export DOGBREED_DATA="${DOGBREED_DATA:-$ROOT/../shared/data/dog-breed-identification}"
[ -f "$DOGBREED_DATA/labels.csv" ] || unset DOGBREED_DATA  # then synthetic pictures are used
mkdir -p build
status=0
python3 scripts/smoke-test-app.py --build cpu --report build/smoke-report.json || status=1
python3 scripts/smoke-test-app.py --build classify --report build/smoke-report-classify.json || status=1
exit $status
