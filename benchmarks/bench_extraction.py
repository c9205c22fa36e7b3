"""Fast-mode feature extraction (what the Train tab waits on before its first epoch), against an earlier version.

    python benchmarks/bench_extraction.py --data ../shared/data/dog-breed-identification \
        [--base-tree ../wt-base --base-python ~/.cache/dogbreed-ci/venv-<key>/bin/python] [--images 256] [--rounds 2]

In one run, on the same uncached photos (the first N of the training split, decode + backbone), each in a fresh
process: the earlier version's extraction (a git worktree of it, with its own venv: `--base-tree`), this version
on torch (DOGBREED_ENGINE=torch) and this version on its own engine (ONNX Runtime on a CPU). Each measurement is
the best of `--rounds`, run in turn, so a busy moment of the machine does not fall on one side only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from stamp import add_write_option, recording

ROOT = Path(__file__).resolve().parents[1]

# Runs inside the tree under test, with that tree's own bench_training helpers: it prints images/s as JSON.
PROBE = textwrap.dedent("""
    import inspect, json, sys
    sys.path.insert(0, "benchmarks")
    import bench_training as b
    from training.config import make_config, preprocessing_for
    from training.preflight import preflight
    from training.split import stratified_split
    data, n = sys.argv[1], int(sys.argv[2])
    report = preflight(data)
    config = make_config(data, mode="fast", device="cpu")
    split = stratified_split(report.samples, config.val_fraction, config.seed)
    got = b.extraction_speed(split.train, config.backbone, preprocessing_for(config), b.resolve_device("cpu"), n)
    speed, engine = got if isinstance(got, tuple) else (got, "torch")
    print(json.dumps({"speed": speed, "engine": engine}))
""")


def probe(tree: Path, python: str, data: str, n: int, env: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), **env}
    r = subprocess.run([python, "-c", PROBE, data, str(n)], cwd=tree, env=env, capture_output=True, text=True,
                       timeout=1800)
    if r.returncode != 0:
        sys.exit(f"{tree}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--base-tree", help="a worktree of the earlier version")
    ap.add_argument("--base-python", help="the earlier version's venv python")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    add_write_option(ap, "bench_extraction")
    args = ap.parse_args()
    with recording(args.write):
        data = str(Path(args.data).resolve())
        runs = []
        if args.base_tree:
            runs.append(("earlier version", Path(args.base_tree).resolve(), args.base_python or sys.executable, {}))
        runs += [("this version, torch", ROOT, sys.executable, {"DOGBREED_ENGINE": "torch"}),
                 ("this version", ROOT, sys.executable, {})]
        best: dict[str, dict] = {}
        for r in range(args.rounds):
            for label, tree, python, env in runs:
                got = probe(tree, python, data, args.images, env)
                print(f"round {r + 1}: {label}: {got['speed']:.1f} img/s ({got['engine']})", file=sys.stderr, flush=True)
                if label not in best or got["speed"] > best[label]["speed"]:
                    best[label] = got
        base = best[runs[0][0]]["speed"]
        print(f"\n{args.images} uncached photos, decode + backbone, best of {args.rounds} rounds\n")
        print("| extraction | engine | images/s | vs first row |")
        print("|---|---|---|---|")
        for label, *_ in runs:
            print(f"| {label} | {best[label]['engine']} | {best[label]['speed']:.1f} | {best[label]['speed'] / base:.2f}x |")


if __name__ == "__main__":
    main()
