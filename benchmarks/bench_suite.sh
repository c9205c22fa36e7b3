#!/usr/bin/env bash
# The full test suite's wall time against an earlier version's, in one run on this machine.
#
#   bash benchmarks/bench_suite.sh BASE_TREE BASE_VENV
#
# BASE_TREE: a git worktree of the earlier version (git worktree add ../wt-base REV); BASE_VENV: the venv .ci/run
# made for it (~/.cache/dogbreed-ci/venv-<sha of its pyproject.toml>). Each suite runs as its README says
# (`python -m pytest`, with its own pytest settings), with DOGBREED_DATA set, the earlier one first.
set -euo pipefail
base_tree=$(cd "$1" && pwd)
base_venv=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
export DOGBREED_DATA="${DOGBREED_DATA:-$here/../shared/data/dog-breed-identification}" QT_QPA_PLATFORM=offscreen

suite() {  # tree python -> "seconds summary"
    local start end summary
    start=$(date +%s.%N)
    summary=$(cd "$1" && PYTHONPATH="$1" "$2" -m pytest -q -p no:cacheprovider 2>&1 | tail -1)
    end=$(date +%s.%N)
    echo "$(python3 -c "print($end - $start)") $summary"
}

read -r base_s base_sum <<<"$(suite "$base_tree" "$base_venv/bin/python")"
read -r now_s now_sum <<<"$(suite "$here" "$here/.venv/bin/python")"
echo
echo "| suite | wall time | result | vs earlier |"
echo "|---|---|---|---|"
printf '| earlier (%s) | %.0f s | %s | 1.00x |\n' "$(git -C "$base_tree" rev-parse --short HEAD)" "$base_s" "$base_sum"
printf '| this version (%s) | %.0f s | %s | %.2fx |\n' "$(git -C "$here" rev-parse --short HEAD)" "$now_s" "$now_sum" \
    "$(python3 -c "print($now_s / $base_s)")"
