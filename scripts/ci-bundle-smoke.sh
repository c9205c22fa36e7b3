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
# gcc and binutils: the classify build strips debug information and assembles its ICU data subset with them
# (without them it still builds, about 20 MB larger).
bash scripts/qt-system-libs.sh gcc binutils
export DOGBREED_DATA="${DOGBREED_DATA:-$ROOT/../shared/data/dog-breed-identification}"
[ -f "$DOGBREED_DATA/labels.csv" ] || unset DOGBREED_DATA  # then synthetic pictures are used
mkdir -p build
# A phone photo (HEIC): a real photo re-encoded by the dev venv's pillow-heif; the cpu app must classify it and
# the classify-only app (no pillow-heif) must say in one line that it cannot read HEIC.
if [ -n "${DOGBREED_DATA:-}" ] && [ -x .venv/bin/python ]; then
    .venv/bin/python - "$DOGBREED_DATA" build/smoke-phone.heic <<'EOF' && export DOGBREED_SMOKE_HEIC="$ROOT/build/smoke-phone.heic"
import sys, pathlib, pillow_heif
from PIL import Image
photo = sorted(pathlib.Path(sys.argv[1], "train").glob("*.jpg"))[0]
pillow_heif.register_heif_opener()
Image.open(photo).convert("RGB").save(sys.argv[2], format="HEIF", quality=90)
EOF
fi
status=0
python3 scripts/smoke-test-app.py --build cpu --report build/smoke-report.json || status=1
python3 scripts/smoke-test-app.py --build classify --report build/smoke-report-classify.json || status=1
exit $status
